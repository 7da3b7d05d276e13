"""The trainer's summary as PDF: one line per trainee (``prep capacitacion informe``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm

from prep.capacitacion.practica import Practica
from prep.capacitacion.puntaje import Puntaje
from prep.papel.pdf import write
from prep.pdf_look import BAD
from prep.pdf_look import INK
from prep.pdf_look import SMALL
from prep.pdf_look import TITLE
from prep.pdf_look import gap
from prep.pdf_look import paragraph
from prep.pdf_look import table
from prep.station.formatting import local_datetime

AVISO = "Documento de capacitación: sus actas son de práctica, no de ninguna elección."
COLUMNAS = ("Operador", "Rol", "Actas", "Tiempo", "Actas/h", "Campos", "Errores",
            "Err./campo", "Ilegibles", "Teclas/acta", "Más errores en")
CELDA = ParagraphStyle("celda", parent=SMALL, fontSize=6.5, leading=8, textColor=INK)
#: A trainee whose errors per field pass this share is shaded for the trainer.
UMBRAL_ERRORES = Decimal("0.02")


def write_informe(practica: Practica, scores: Sequence[Puntaje], path: Path,
                  now: datetime | None = None) -> None:
    """The PDF at ``path``."""
    now = now or datetime.now(UTC)
    rows: list[list[Any]] = [list(COLUMNAS)]
    tones = {}
    for i, s in enumerate(scores, start=1):
        # The name and the fields wrap inside their cells; the numbers never need to.
        rows.append([paragraph(escape(f"{s.nombre} ({s.operador})"), CELDA), s.rol,
                     str(s.actas), _duration(s.segundos), _number(s.actas_por_hora),
                     str(s.campos), str(s.errores), _percent(s.errores_por_campo),
                     str(s.ilegibles), _number(s.teclas_por_acta),
                     paragraph(escape(", ".join(f"{c} ({n})" for c, n
                                                in s.por_campo.most_common(2)) or "—"),
                               CELDA)])
        if s.errores_por_campo is not None and s.errores_por_campo > UMBRAL_ERRORES:
            tones[i] = BAD
    where = ("CCV" if practica.role == "ccv" else f"CATD {practica.sitio}")
    story = [
        paragraph("Resultados de la capacitación", TITLE),
        paragraph(f"Estación de práctica {practica.station_id} ({where}), "
                  f"{len(practica.actas)} actas de práctica con valores conocidos. "
                  f"Informe del {local_datetime(now)}.", SMALL),
        gap(),
        table(rows, widths=[3.6 * cm, 1.7 * cm, 1.0 * cm, 1.6 * cm, 1.1 * cm, 1.1 * cm,
                            1.2 * cm, 1.4 * cm, 1.2 * cm, 1.4 * cm, 2.6 * cm],
              numeric_from=2, font_size=6.5, tones=tones),
        gap(),
        paragraph("Actas: capturas y verificaciones de actas de práctica (acopios, sin acta e "
                  "imágenes para acopiadores y digitalizadores). Tiempo: desde que la primera "
                  "acta llegó a su pantalla hasta la última registrada. Errores: campos "
                  "cuyo valor difiere del verdadero; en rojo quien pasa de "
                  f"{_percent(UMBRAL_ERRORES)} de campos errados. Ilegibles: actas "
                  "marcadas como imagen ilegible (todas las de práctica son legibles). "
                  "Teclas/acta: teclas pulsadas en la sesión por acta registrada.", SMALL),
    ]
    write(path, "Capacitación", story, subtitle=where, marca="CAPACITACIÓN", aviso=AVISO,
          author="PREP, modo de capacitación")


def _number(value: Decimal | None) -> str:
    return "—" if value is None else str(value)


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{(value * 100).quantize(Decimal('0.01'))} %"


def _duration(seconds: int) -> str:
    if not seconds:
        return "—"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
