"""What became of one scanner file, as the digitalización screen lists it: its tone,
short title and message (:class:`ScanItem`, built from the hot folder's and the
service's results), the review of its quality (:func:`quality_checks`) and the line
the list shows (:func:`result_text`). No widgets here: the presenter builds items and
the view draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from catd.acopio.presenter import Tone
from prep.catalog import Acta
from prep.station.formatting import size_label
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.quality import Motivo
from prep.station.scan.quality import Problem
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.quality import QualityReport
from prep.station.scan.service import MANUAL_OVERRIDES
from prep.station.scan.service import DigitalizacionResult

#: Short titles of each outcome (the service's ``mensaje`` says what to do).
TITLES: dict[str, str] = {
    "guardada": "Imagen guardada",
    "reemplazo": "Imagen guardada · reemplaza a la anterior",
    "ya_guardada": "Esta imagen ya estaba guardada",
    "vacia": "Archivo vacío",
    "demasiado_grande": "Imagen demasiado grande",
    "tipo_no_admitido": "Formato no admitido",
    "tipo_no_coincide": "La extensión no corresponde al formato",
    "datos_anexos": "Imagen con contenido añadido",
    "enlace_simbolico": "Enlace simbólico: no se toma",
    "no_decodifica": "Archivo dañado",
    "incompleta": "Imagen incompleta",
    "resolucion_baja": "Resolución insuficiente",
    "en_blanco": "Página en blanco",
    "negra": "Imagen negra",
    "sin_qr": "QR ilegible",
    "qr_no_es_acta": "El QR no es de un acta",
    "qr_varias_actas": "QR de varias actas",
    "qr_otra_acta": "QR de otra acta",
    "acta_de_capacitacion": "Acta de capacitación: no se toma",
    "inclinada": "Acta inclinada",
    "clave_no_valida": "CLAVE_ACTA no válida",
    "sin_catalogo": "En espera del catálogo",
    "no_guardada": "No se guardó",
    "archivo": "Archivo no válido",
}


@dataclass
class ScanItem:
    """One file the hot folder dealt with (or is retrying), as the list shows it."""

    id: int
    name: str
    at: datetime
    tone: Tone
    title: str
    mensaje: str
    motivo: str
    path: Path | None
    acta: Acta | None = None
    sin_acopio: bool = False
    replaces: str | None = None
    manual: bool = False
    record_seq: int | None = None
    blob_sha256: str | None = None
    quality: QualityReport | None = None

    @property
    def stored(self) -> bool:
        return self.tone in (Tone.OK, Tone.WARN) and self.motivo in (
            "guardada", "reemplazo", "ya_guardada")

    @property
    def associable(self) -> bool:
        """A readable image whose only fault is its QR, still in ``rechazadas/``."""
        if self.stored or self.path is None or self.tone is not Tone.ERROR:
            return False
        motivos = self.quality.motivos if self.quality is not None else frozenset()
        return bool(motivos) and motivos <= MANUAL_OVERRIDES


@dataclass(frozen=True)
class Check:
    """One line of the image's review: ``ok`` ``None`` when it could not be checked."""

    label: str
    ok: bool | None
    value: str


def item_from(item_id: int, result: HotFileResult, detail: DigitalizacionResult | None,
               now: datetime) -> ScanItem:
    if detail is not None:
        return item_from_result(item_id, result.shown_name, now, detail, result.path,
                                 result.disposition)
    # Rejected before the service saw it: the file is not a whole image, or too large.
    problem = result.detail
    motivo = problem.motivo.value if isinstance(problem, Problem) else "archivo"
    return ScanItem(item_id, result.shown_name, now, Tone.ERROR,
                    TITLES.get(motivo, TITLES["archivo"]), result.mensaje, motivo, result.path)


def item_from_result(item_id: int, name: str, at: datetime, result: DigitalizacionResult,
                      path: Path | None,
                      disposition: Disposition = Disposition.PROCESADA) -> ScanItem:
    if result.ok:
        tone = Tone.WARN if result.sin_acopio else Tone.OK
    elif disposition is Disposition.REINTENTAR or result.retry:
        tone = Tone.PENDING
    else:
        tone = Tone.ERROR
    title = TITLES.get(result.motivo, TITLES["no_guardada"])
    if result.ok and result.manual and result.motivo != "ya_guardada":
        title = "Asociada a mano · " + title[0].lower() + title[1:]
    if result.ok and result.sin_acopio:
        title += " · sin acopio"
    mensaje = result.mensaje
    if tone is Tone.PENDING:
        mensaje += " Se reintentará en unos segundos; no quite el archivo de la carpeta."
    record = result.record
    sha256 = record.body.get("sha256") if record is not None else None
    return ScanItem(item_id, name, at, tone, title, mensaje, result.motivo, path,
                    result.acta, result.sin_acopio, result.replaces, result.manual,
                    record.seq if record is not None else None,
                    sha256 if isinstance(sha256, str) else None, result.quality)


def quality_checks(item: ScanItem, policy: QualityPolicy) -> list[Check]:
    """File, resolution, content, QR and skew: what passed and what did not."""
    report = item.quality
    if report is None or not report.width:
        why = TITLES.get(item.motivo, TITLES["archivo"]).lower()
        return [Check("Archivo", False, why)] if item.tone is Tone.ERROR else []
    motivos = report.motivos
    kind = (report.media_type or "").removeprefix("image/").upper()
    checks = [Check("Archivo", True, f"{kind} completo · {size_label(report.bytes)} · "
                                     f"{report.width} × {report.height} px")]
    if report.dpi is not None:
        estimated = " (estimada)" if report.dpi_estimated else ""
        dpi_ok = Motivo.RESOLUCION_BAJA not in motivos
        checks.append(Check("Resolución", dpi_ok, f"{report.dpi:.0f} dpi{estimated}" + (
            "" if dpi_ok else f" · mínimo {policy.min_dpi:.0f}")))
    if Motivo.EN_BLANCO in motivos:
        checks.append(Check("Contenido", False, "página en blanco"))
    elif Motivo.NEGRA in motivos:
        checks.append(Check("Contenido", False, "imagen casi negra"))
    else:
        checks.append(Check("Contenido", True, "página con texto"))
    checks.append(_qr_check(item, motivos))
    if report.skew_degrees is None:
        checks.append(Check("Inclinación", None, "sin QR para medirla"))
    else:
        skew_ok = Motivo.INCLINADA not in motivos
        checks.append(Check("Inclinación", skew_ok, f"{abs(report.skew_degrees):.1f}°" + (
            "" if skew_ok else f" · máximo {policy.max_skew_degrees:g}°")))
    return checks


def _qr_check(item: ScanItem, motivos: frozenset[Motivo]) -> Check:
    if item.manual and item.stored:
        return Check("Código QR", None, "ilegible · asociada a mano")
    for motivo, text in ((Motivo.SIN_QR, "no se pudo leer"),
                         (Motivo.QR_NO_ES_ACTA, "no es de un acta de este PREP"),
                         (Motivo.QR_VARIAS_ACTAS, "varias actas en la imagen"),
                         (Motivo.QR_OTRA_ACTA, "es de otra acta")):
        if motivo in motivos:
            return Check("Código QR", False, text)
    if item.acta is not None:
        return Check("Código QR", True, f"acta {item.acta.clave}")
    return Check("Código QR", None, "no se revisó")


def result_text(item: ScanItem) -> str:
    """The list's line: ``✓ 090123B010001 · reemplazo`` or ``✗ Página en blanco``."""
    if item.acta is not None and item.stored:
        extra = {"reemplazo": " · reemplazo", "ya_guardada": " · ya estaba"}.get(
            item.motivo, "")
        if item.manual:
            extra += " · a mano"
        if item.sin_acopio:
            extra += " · sin acopio"
        return f"✓ {item.acta.clave}{extra}"
    mark = "…" if item.tone is Tone.PENDING else "✗"
    return f"{mark} {item.title}"
