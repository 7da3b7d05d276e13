"""A strict reader of the published election CSV: anything off-format is an error.

Used to check our own output (tests, the drill's verdict) and by anyone verifying a corte:
it parses exactly the layout :mod:`prep.corte.anexo` writes, never guesses.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from prep.corte.anexo import es_fuera
from prep.corte.summary import RESUMEN_COLUMNS
from prep.corte.summary import Resumen
from prep.rules import DEFAULT_RULES
from prep.rules import Base
from prep.rules import RuleSet

BOM = b"\xef\xbb\xbf"
_MAX_HEAD_LINE = 4096  # bytes: a line of the header is far shorter
_BARE_NEWLINE = re.compile(r"(?<!\r)\n|\r(?!\n)")


class CsvFormatError(ValueError):
    """The file is not a well-formed election CSV; the message says where."""


@dataclass(frozen=True)
class CsvEleccion:
    """A parsed election CSV."""

    eleccion: str
    corte: str
    resumen: dict[str, str]
    columnas: tuple[str, ...]
    filas: tuple[dict[str, str], ...]


def read_eleccion_csv(data: bytes) -> CsvEleccion:
    """Parse an election CSV, checking BOM, CRLF line ends and the fixed line layout."""
    if not data.startswith(BOM):
        raise CsvFormatError("falta el BOM de UTF-8 al inicio del archivo")
    try:
        text = data[len(BOM):].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"no es UTF-8 válido (byte {exc.start})") from None
    if not text.endswith("\r\n"):
        raise CsvFormatError("el archivo no termina en CRLF")
    crlf = text.count("\r\n")
    # Every \n and every \r in a CRLF pair (counting is fast on a 40,000-row file; the
    # pattern only runs to say where the first stray one is).
    bare = None if text.count("\n") == crlf == text.count("\r") \
        else _BARE_NEWLINE.search(text)
    if bare is not None:
        line = text.count("\n", 0, bare.start()) + 1
        raise CsvFormatError(f"línea {line}: fin de línea distinto de CRLF")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise CsvFormatError(f"línea {reader.line_num}: {exc}") from None
    if len(lines) < 7:
        raise CsvFormatError(f"solo {len(lines)} líneas; se esperan al menos 7")
    if len(lines[0]) != 1 or len(lines[1]) != 1 or lines[2] or lines[5]:
        raise CsvFormatError("las líneas 1–3 y 6 no tienen la forma esperada")
    if tuple(lines[3]) != RESUMEN_COLUMNS:
        raise CsvFormatError("la línea 4 no es el encabezado del resumen")
    if len(lines[4]) != len(RESUMEN_COLUMNS):
        raise CsvFormatError("la línea 5 no tiene un valor por columna del resumen")
    columnas = tuple(lines[6])
    if len(set(columnas)) != len(columnas):
        raise CsvFormatError("la línea 7 repite una columna")
    filas = []
    for number, values in enumerate(lines[7:], start=8):
        if len(values) != len(columnas):
            raise CsvFormatError(f"línea {number}: {len(values)} campos, se esperan "
                                 f"{len(columnas)}")
        filas.append(dict(zip(columnas, values, strict=True)))
    return CsvEleccion(lines[0][0], lines[1][0], dict(zip(RESUMEN_COLUMNS, lines[4],
                                                          strict=True)),
                       columnas, tuple(filas))


def read_resumen(path: Path) -> dict[str, str]:
    """Line 5 of an election CSV (its summary), checking lines 1–5 as
    :func:`read_eleccion_csv` does without reading the acta rows: for watching the
    latest corte's progress, where the whole file is 40,000 rows."""
    with path.open("rb") as f:
        head = [f.readline(_MAX_HEAD_LINE) for _ in range(5)]
    if not head[0].startswith(BOM):
        raise CsvFormatError("falta el BOM de UTF-8 al inicio del archivo")
    head[0] = head[0][len(BOM):]
    if not all(line.endswith(b"\r\n") for line in head):
        raise CsvFormatError("las líneas 1–5 no están completas o no terminan en CRLF")
    try:
        lines = list(csv.reader(io.StringIO(b"".join(head).decode("utf-8"), newline=""),
                                strict=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvFormatError(f"las líneas 1–5 no se pueden leer ({exc})") from None
    if len(lines) != 5 or lines[2] or tuple(lines[3]) != RESUMEN_COLUMNS \
            or len(lines[4]) != len(RESUMEN_COLUMNS):
        raise CsvFormatError("las líneas 1–5 no tienen la forma esperada")
    return dict(zip(RESUMEN_COLUMNS, lines[4], strict=True))


def resumen_desde_filas(parsed: CsvEleccion, base: Base = Base.SIN_ESPECIALES,
                        rules: RuleSet = DEFAULT_RULES) -> dict[str, str]:
    """Recompute line 5 from the acta rows alone, as anyone checking a corte would
    (``rules`` say which OBSERVACIONES are inconsistencias)."""
    esperadas = fuera = capturadas = contabilizadas = inconsistencias = 0
    lista = c_cs = s_cs = 0
    for fila in parsed.filas:
        if es_fuera(fila):
            fuera += 1
            continue
        esperadas += 1
        if fila["CONTABILIZADA"] == "-":
            continue
        capturadas += 1
        if rules.inconsistente(fila["OBSERVACIONES"]):
            inconsistencias += 1
        if fila["CONTABILIZADA"] == "1":
            contabilizadas += 1
            total = int(fila["TOTAL_VOTOS_CALCULADO"])
            lista += int(fila["LISTA_NOMINAL"])
            c_cs += total
            if fila["TIPO_CASILLA"] != "S":
                s_cs += total
    resumen = Resumen(esperadas, fuera, capturadas, contabilizadas, inconsistencias, lista,
                      c_cs, s_cs, base)
    return dict(zip(RESUMEN_COLUMNS, resumen.values(), strict=True))
