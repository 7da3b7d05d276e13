"""``prep verify-corte``'s check of HISTORIAL.csv (:mod:`prep.corte.historial`): every
acta it lists is in the election CSVs with data, its validation names the published
image (CODIGO_INTEGRIDAD), its acopio or sin acta is the row's FECHA_HORA_ACOPIO, and
each published correction names the corte that published it; every acta with data
has its history, and an acta published as cotejada a cotejo that coincided."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path

from prep.corte.anexo import SIN_DATO
from prep.corte.anexo import es_fuera
from prep.corte.historial import COLUMNS
from prep.corte.historial import COTEJO_COINCIDE
from prep.corte.historial import HISTORIAL
from prep.corte.historial import TITULO
from prep.corte.historial import Evento
from prep.corte.model import Origen
from prep.corte.nombres import NOMBRE_CORTE
from prep.corte.reader import CsvEleccion
from prep.corte.simulacro import es_titulo

_MAX = 50
#: DETALLE of a CORRECCION_PUBLICADA: the corte that published it (AAAAMMDD_HHMM, maybe
#: with its number in that minute), a colon, the reason.
_CORRECCION = re.compile(NOMBRE_CORTE.pattern + r": \S")


def problemas_historial(directory: Path, tablas: Mapping[str, CsvEleccion]) -> list[str]:
    """What HISTORIAL.csv in ``directory`` contradicts in the parsed election CSVs."""
    path = directory / HISTORIAL
    if not path.is_file():
        return []
    filas = {f["CLAVE_ACTA"]: f for t in tablas.values() for f in t.filas
             if not es_fuera(f)}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return [f"{HISTORIAL}: no es UTF-8"]
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines)
    if not es_titulo(next(reader, None), TITULO):
        return [f"{HISTORIAL}: la línea 1 no es el título «{TITULO}»"]
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        return [f"{HISTORIAL}: el encabezado no es {','.join(COLUMNS)}"]
    out: list[str] = []
    eventos = {e.value for e in Evento}
    #: The actas with a PUBLICACION row, and those with a cotejo that coincided.
    publicadas: set[str] = set()
    coincidieron: set[str] = set()
    #: Per acta its last VALIDACION (row, image) and, for one published from a PREP
    #: Casilla photo, its images' times: its FECHA_HORA_ACOPIO is the photo's.
    validaciones: dict[str, tuple[int, str]] = {}
    imagenes: dict[str, dict[str, str]] = {}
    for number, row in enumerate(reader, start=3):
        if len(out) >= _MAX:
            out.append(f"{HISTORIAL}: … y quizá más problemas")
            break
        if len(row) != len(COLUMNS):
            out.append(f"{HISTORIAL}, fila {number}: {len(row)} columnas")
            continue
        r = dict(zip(COLUMNS, row, strict=True))
        clave, evento = r["CLAVE_ACTA"], r["EVENTO"]
        if evento == Evento.PUBLICACION:
            publicadas.add(clave)
        elif (evento == Evento.COTEJO and r["DETALLE"] == COTEJO_COINCIDE) \
                or evento == Evento.CORRECCION_PUBLICADA:
            coincidieron.add(clave)  # confirmed, or corrected from the paper: cotejada
        acta = filas.get(clave)
        if evento not in eventos:
            out.append(f"{HISTORIAL}, fila {number}: evento desconocido {evento!r}")
        elif acta is None or acta.get("CONTABILIZADA", "-") == "-":
            out.append(f"{HISTORIAL}, fila {number}: el acta {clave} no tiene datos en "
                       "los CSV de las elecciones")
        elif evento == Evento.VALIDACION:
            # Its last one is what the CSV publishes (a corrected acta keeps the earlier).
            validaciones[clave] = (number, r["CODIGO_INTEGRIDAD"])
        elif evento == Evento.DIGITALIZACION and acta.get("ORIGEN") == Origen.CASILLA:
            imagenes.setdefault(clave, {})[r["CODIGO_INTEGRIDAD"]] = r["FECHA_HORA"]
        elif evento in (Evento.ACOPIO, Evento.SIN_ACTA) and \
                acta.get("ORIGEN") != Origen.CASILLA and \
                r["FECHA_HORA"] != acta.get("FECHA_HORA_ACOPIO"):
            out.append(f"{HISTORIAL}, fila {number}: {clave}: {evento} a las "
                       f"{r['FECHA_HORA']}, pero FECHA_HORA_ACOPIO dice "
                       f"{acta.get('FECHA_HORA_ACOPIO')}")
        elif evento == Evento.CORRECCION_PUBLICADA and \
                _CORRECCION.match(r["DETALLE"]) is None:
            out.append(f"{HISTORIAL}, fila {number}: {clave}: una corrección publicada debe "
                       "empezar con el nombre del corte que la publicó y dos puntos "
                       f"(dice {r['DETALLE'][:80]!r})")
    for clave, (number, codigo) in validaciones.items():
        if (codigo or SIN_DATO) != filas[clave].get("CODIGO_INTEGRIDAD"):
            # An empty cell is «no image» in HISTORIAL; the election CSV says '-'.
            out.append(f"{HISTORIAL}, fila {number}: {clave}: la imagen validada "
                       f"({codigo}) no es el CODIGO_INTEGRIDAD publicado")
    for clave, fotos in imagenes.items():
        acta = filas[clave]
        foto = fotos.get(acta.get("CODIGO_INTEGRIDAD", SIN_DATO))
        if foto is not None and foto != acta.get("FECHA_HORA_ACOPIO"):
            out.append(f"{HISTORIAL}: {clave}: publicada de la foto del PREP Casilla de las "
                       f"{foto}, pero FECHA_HORA_ACOPIO dice {acta.get('FECHA_HORA_ACOPIO')}")
    if len(out) < _MAX:
        out += _sin_historial(filas, publicadas, coincidieron)
    return out


def _sin_historial(filas: Mapping[str, Mapping[str, str]], publicadas: set[str],
                   coincidieron: set[str]) -> list[str]:
    """Every acta with data in the CSVs has its history (its PUBLICACION row at least),
    and an acta published as cotejada (COTEJADA 1) a cotejo that found the data as the
    paper says, or a published correction (its figures come from the paper acta). Not that it
    is the last in the file: the history orders cotejos by the
    clocks of the stations that made them, the fold by their arrival, and a station's
    clock may be behind another's."""
    out: list[str] = []
    faltan = sorted(c for c, f in filas.items()
                    if f.get("CONTABILIZADA", "-") != "-" and c not in publicadas)
    if faltan:
        out.append(f"{HISTORIAL}: {len(faltan)} actas con datos en los CSV no tienen "
                   f"historial (su evento PUBLICACION), por ejemplo {', '.join(faltan[:3])}")
    sin_cotejo = sorted(c for c, f in filas.items() if f.get("COTEJADA") == "1"
                        and c not in coincidieron)
    if sin_cotejo:
        out.append(f"{HISTORIAL}: {len(sin_cotejo)} actas publicadas como cotejadas "
                   "(COTEJADA 1) no tienen en su historial un cotejo que coincide con el "
                   "acta en papel ni una corrección publicada, por ejemplo"
                   f" {', '.join(sin_cotejo[:3])}")
    return out
