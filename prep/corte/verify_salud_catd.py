"""``prep verify-corte``'s check of AVANCE_CATD.csv (:mod:`prep.corte.salud_catd`).

What the election CSVs also say must agree with them: per CATD, with its
DISTRITOS_LOCALES, its ACTAS_ESPERADAS, ACTAS_ACOPIADAS (rows with FECHA_HORA_ACOPIO) and
ACTAS_PUBLICADAS (rows with data) are counted again on their rows; every distrito of the
CSVs belongs to exactly one CATD; the sums over CATDs are the summaries' ACTAS_ESPERADAS
and ACTAS_CAPTURADAS. What only the central knows is checked for consistency:
ACTAS_DIGITALIZADAS and ACTAS_CON_CAPTURA are at least the actas published with an
image and at most the esperadas; the percentage, the median's window count and format,
and the values of EN_LINEA."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path

from prep.corte.anexo import es_fuera
from prep.corte.reader import CsvEleccion
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import CCV
from prep.corte.salud_catd import COLUMNS
from prep.corte.salud_catd import CONTEOS
from prep.corte.salud_catd import NO_APLICA
from prep.corte.salud_catd import NO_PUBLICADO
from prep.corte.salud_catd import TITULO
from prep.corte.simulacro import sin_titulo
from prep.corte.summary import percentage

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DURACION = re.compile(r"\d+:[0-5]\d:[0-5]\d")
_EN_LINEA = frozenset({"0", "1", NO_PUBLICADO})


def problemas_salud(directory: Path, tablas: Mapping[str, CsvEleccion]) -> list[str]:
    """What AVANCE_CATD.csv in ``directory`` contradicts in the parsed election CSVs."""
    path = directory / AVANCE_CATD
    if not path.is_file():
        return []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return [f"{AVANCE_CATD}: no es UTF-8"]
    try:
        rows = list(sin_titulo(list(csv.reader(io.StringIO(text, newline=""))), TITULO))
    except ValueError as exc:
        return [f"{AVANCE_CATD}: {exc}"]
    if not rows or tuple(rows[0]) != COLUMNS:
        return [f"{AVANCE_CATD}: el encabezado no es {','.join(COLUMNS)}"]
    # distrito → [esperadas, acopiadas, publicadas, con imagen], from the election CSVs.
    por_distrito: dict[str, list[int]] = {}
    esperadas_csv = capturadas_csv = 0
    for tabla in tablas.values():
        esperadas_csv += int(tabla.resumen.get("ACTAS_ESPERADAS", "0"))
        capturadas_csv += int(tabla.resumen.get("ACTAS_CAPTURADAS", "0"))
        for fila in tabla.filas:
            if es_fuera(fila):
                continue
            c = por_distrito.setdefault(fila.get("ID_DISTRITO_LOCAL", ""), [0, 0, 0, 0])
            c[0] += 1
            # Received at the CATD: an acopio, not the photo of an acta published from
            # PREP Casilla whose paquete has not arrived (MECANISMOS_TRASLADO '-').
            c[1] += fila.get("FECHA_HORA_ACOPIO", "-") != "-" and not (
                fila.get("ORIGEN") == "CASILLA" and fila.get("MECANISMOS_TRASLADO") == "-")
            c[2] += fila.get("CONTABILIZADA", "-") != "-"
            c[3] += bool(_SHA256.fullmatch(fila.get("CODIGO_INTEGRIDAD", "")))
    out: list[str] = []
    vistos: dict[str, str] = {}
    sumas = [0, 0]
    for number, row in enumerate(rows[1:], start=3):
        if len(row) != len(COLUMNS):
            out.append(f"{AVANCE_CATD}, fila {number}: {len(row)} columnas")
            continue
        r = dict(zip(COLUMNS, row, strict=True))
        catd = r["ID_CATD"]
        if r["EN_LINEA"] not in _EN_LINEA:
            out.append(f"{AVANCE_CATD}, {catd}: EN_LINEA inválido {r['EN_LINEA']!r}")
        if catd == CCV:
            if any(v != NO_APLICA for c, v in r.items() if c not in ("ID_CATD", "EN_LINEA")):
                out.append(f"{AVANCE_CATD}, {CCV}: sus columnas de actas deben ser {NO_APLICA}")
            continue
        try:
            n = {c: int(r[c]) for c in (*CONTEOS, "ACTAS_ULTIMA_HORA")}
        except ValueError:
            out.append(f"{AVANCE_CATD}, CATD {catd}: un conteo no es un número")
            continue
        distritos = r["DISTRITOS_LOCALES"].split(";")
        esperado = [0, 0, 0, 0]
        for d in distritos:
            if d in vistos:
                out.append(f"{AVANCE_CATD}: el distrito {d} está en los CATD {vistos[d]} "
                           f"y {catd}")
            vistos[d] = catd
            for i, v in enumerate(por_distrito.get(d, [0, 0, 0, 0])):
                esperado[i] += v
        for columna, valor in (("ACTAS_ESPERADAS", esperado[0]),
                               ("ACTAS_ACOPIADAS", esperado[1]),
                               ("ACTAS_PUBLICADAS", esperado[2])):
            if n[columna] != valor:
                out.append(f"{AVANCE_CATD}, CATD {catd}: {columna} {n[columna]}, pero los "
                           f"CSV de las elecciones dan {valor} en los distritos "
                           f"{', '.join(distritos)}")
        for columna in ("ACTAS_DIGITALIZADAS", "ACTAS_CON_CAPTURA"):
            if not esperado[3] <= n[columna] <= esperado[0]:
                out.append(f"{AVANCE_CATD}, CATD {catd}: {columna} {n[columna]} fuera de "
                           f"[{esperado[3]}, {esperado[0]}] (publicadas con imagen, "
                           "esperadas)")
        if r["PORCENTAJE_ACTAS_PUBLICADAS"] != percentage(n["ACTAS_PUBLICADAS"],
                                                          n["ACTAS_ESPERADAS"]):
            out.append(f"{AVANCE_CATD}, CATD {catd}: PORCENTAJE_ACTAS_PUBLICADAS no es "
                       "ACTAS_PUBLICADAS × 100 / ACTAS_ESPERADAS")
        mediana = r["MEDIANA_ACOPIO_PUBLICACION"]
        if n["ACTAS_ULTIMA_HORA"] > n["ACTAS_PUBLICADAS"] or \
                (mediana == "-") != (n["ACTAS_ULTIMA_HORA"] == 0) or \
                (mediana != "-" and not _DURACION.fullmatch(mediana)):
            out.append(f"{AVANCE_CATD}, CATD {catd}: ACTAS_ULTIMA_HORA "
                       f"{n['ACTAS_ULTIMA_HORA']} y MEDIANA_ACOPIO_PUBLICACION {mediana!r} "
                       "no concuerdan")
        sumas[0] += n["ACTAS_ESPERADAS"]
        sumas[1] += n["ACTAS_PUBLICADAS"]
    faltan = sorted(set(por_distrito) - set(vistos))
    if faltan:
        out.append(f"{AVANCE_CATD}: ningún CATD recibe los distritos {', '.join(faltan)}")
    if tablas and sumas != [esperadas_csv, capturadas_csv]:
        out.append(f"{AVANCE_CATD}: la suma de ACTAS_ESPERADAS y ACTAS_PUBLICADAS {sumas} no "
                   f"es la de los resúmenes de las elecciones "
                   f"{[esperadas_csv, capturadas_csv]} (ACTAS_ESPERADAS, ACTAS_CAPTURADAS)")
    return out
