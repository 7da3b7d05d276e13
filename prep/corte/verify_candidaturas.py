"""``prep verify-corte``'s check of the candidaturas files against the catalog's rules
(issue 61), from the published files alone.

A coalition or candidatura común registers one person per contest, so every party of it
names the same CANDIDATURA_PROPIETARIA and CANDIDATURA_SUPLENTE in that contest's rows of
``<ELECCIÓN>_CANDIDATURAS.csv``; and an office without suplente (the site's election data
says ``"suplente": false``: Jefatura de Gobierno, alcaldías) has every SUPLENTE empty.
Which parties a coalition joins is in the site's election data (``asociaciones``, each with
its ``partidos``); where it competes, in the election CSV (its column is not ``N/A`` in
that contest's rows).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prep.corte.anexo import NO_APLICA
from prep.corte.anexo import es_fuera
from prep.corte.candidaturas import CANDIDATURAS_AMBITO
from prep.corte.reader import CsvEleccion
from prep.corte.simulacro import PREFIJO
from prep.corte.simulacro import sin_titulo

#: The column of each ámbito's contest, in the election CSV and the candidaturas file
#: (the first of the candidaturas file's contest columns; none for the entidad).
_CONTIENDA = {str(ambito): columnas[0] if columnas else None
              for ambito, columnas in CANDIDATURAS_AMBITO.items()}
_MAX = 20


def problemas_candidaturas(directory: Path, csv_eleccion: str, tabla: CsvEleccion,
                           datos: Mapping[str, Any]) -> list[str]:
    """What ``csv_eleccion``'s candidaturas file breaks of the one-person-per-coalition and
    no-suplente rules (``datos``: the election's site data)."""
    nombre = csv_eleccion.removesuffix(".csv") + "_CANDIDATURAS.csv"
    titulo = f"CANDIDATURAS DE {tabla.eleccion.removeprefix(PREFIJO)}"
    try:
        filas = _filas(directory / nombre, titulo)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [f"{nombre}: no se pudo leer ({exc})"]
    columna = _CONTIENDA.get(str(datos.get("ambito")))
    out: list[str] = []
    if datos.get("suplente") is False:
        out += [f"{nombre}: {f.get('PARTIDO_CI')} tiene suplente "
                f"({f.get('CANDIDATURA_SUPLENTE')!r}) aunque el cargo no tiene suplente"
                for f in filas if f.get("CANDIDATURA_SUPLENTE", "")][:_MAX]
    coaliciones = [(str(a.get("clave")), [str(p) for p in a.get("partidos", ())])
                   for a in datos.get("asociaciones", ())
                   if isinstance(a, dict) and len(a.get("partidos", ())) > 1]
    compiten = _compiten(tabla, columna, [c for c, _ in coaliciones])
    por_contienda: dict[str, dict[str, tuple[str, str]]] = {}
    for f in filas:
        contienda = "" if columna is None else f.get(columna, "")
        por_contienda.setdefault(contienda, {})[f.get("PARTIDO_CI", "")] = (
            f.get("CANDIDATURA_PROPIETARIA", ""), f.get("CANDIDATURA_SUPLENTE", ""))
    for contienda, personas in sorted(por_contienda.items()):
        for clave, partidos in coaliciones:
            if clave not in compiten.get(contienda, ()):
                continue
            distintas = {personas[p] for p in partidos if p in personas}
            if len(distintas) > 1:
                donde = f" ({columna} {contienda})" if columna else ""
                out.append(f"{nombre}{donde}: la coalición {clave} registra a más de una "
                           f"persona: " + "; ".join(
                               f"{p}: {personas[p][0]}" for p in partidos if p in personas))
            if len(out) >= _MAX:
                return out
    return out


def _filas(path: Path, titulo: str) -> list[dict[str, str]]:
    rows = sin_titulo(list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"),
                                                  newline=""))), titulo)
    if not rows:
        raise ValueError("no tiene encabezado")
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def _compiten(tabla: CsvEleccion, columna: str | None, claves: list[str]
              ) -> dict[str, set[str]]:
    """Per contest, the coalitions whose column applies in its rows."""
    out: dict[str, set[str]] = {}
    for fila in tabla.filas:
        if es_fuera(fila):
            continue
        contienda = "" if columna is None else fila.get(columna, "")
        out.setdefault(contienda, set()).update(
            c for c in claves if fila.get(c, NO_APLICA) != NO_APLICA)
    return out
