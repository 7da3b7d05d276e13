"""``prep verify-corte``'s check that no published participación ciudadana passes 100 %.

A participación over 100 % says more people voted than could: a reviewer rejects it at
any level. The entity's (line 5 of each election CSV) may count the casillas especiales
in the último corte (INE's rule, ``resources/reglas.toml``); below the entity the site
divides the votes *without* especiales, because an especial has no lista nominal of its
own (:meth:`prep.corte.site_areas.Area.resumen`). So this checks, from the files alone:

- line 5 of every election CSV;
- the participación each distrito, demarcación and sección would have from the CSV rows
  (TOTAL_VOTOS_S_CS of its counted actas over their LISTA_NOMINAL): what the site shows;
- every summary the site's data files publish (any ``resumen`` of an area).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from prep.corte.anexo import NO_APLICA
from prep.corte.anexo import es_fuera
from prep.corte.reader import CsvEleccion
from prep.corte.summary import RESUMEN_COLUMNS
from prep.corte.summary import percentage

PARTICIPACION = "PORCENTAJE_PARTICIPACION_CIUDADANA"
_INDICE = RESUMEN_COLUMNS.index(PARTICIPACION)
_CIEN = Decimal(100)
_MAX = 20
#: The territories a row names, by the column that holds each (DEMARCACION only in an
#: election decided per demarcación).
_NIVELES = (("distrito", "ID_DISTRITO_LOCAL"), ("demarcación", "ID_DEMARCACION"),
            ("sección", "SECCION"))


def _excede(valor: object) -> bool:
    try:
        return Decimal(str(valor)) > _CIEN
    except InvalidOperation:
        return False  # not a number: the summary check reports it


def problemas_csv(name: str, parsed: CsvEleccion) -> list[str]:
    """Participaciones over 100 % in an election CSV: line 5, and each territory's as its
    rows give it."""
    out: list[str] = []
    entidad = parsed.resumen.get(PARTICIPACION, "")
    if _excede(entidad):
        out.append(f"{name}: la participación ciudadana de la entidad (línea 5) es "
                   f"{entidad} %, más de 100 %")
    sumas: dict[tuple[str, str], list[int]] = {}
    niveles = [(n, c) for n, c in _NIVELES if c in parsed.columnas]
    for fila in parsed.filas:
        if es_fuera(fila) or fila.get("CONTABILIZADA") != "1":
            continue
        try:
            lista = int(fila["LISTA_NOMINAL"])
            votos = 0 if fila["TIPO_CASILLA"] == "S" else int(fila["TOTAL_VOTOS_CALCULADO"])
        except (KeyError, ValueError):
            continue  # a row the summary check cannot read either
        for nivel, columna in niveles:
            if fila[columna] == NO_APLICA:
                continue  # a mesa's sección: it is in none
            suma = sumas.setdefault((nivel, fila[columna]), [0, 0])
            suma[0] += votos
            suma[1] += lista
    for (nivel, area), (votos, lista) in sorted(sumas.items()):
        if len(out) >= _MAX:
            out.append(f"{name}: … y quizá más participaciones de más de 100 %")
            break
        if lista and votos > lista:
            out.append(f"{name}: la participación ciudadana de {nivel} {area} sería "
                       f"{percentage(votos, lista)} % (TOTAL_VOTOS_S_CS {votos} sobre "
                       f"LISTA_NOMINAL {lista}), más de 100 %")
    return out


def problemas_datos(name: str, data: Any) -> list[str]:
    """Participaciones over 100 % in any summary of one of the site's data files."""
    out = []
    for donde, resumen in _resumenes(data, ""):
        valor = resumen[_INDICE]
        if _excede(valor):
            out.append(f"{name}: la participación ciudadana de {donde or 'la entidad'} es "
                       f"{valor} %, más de 100 %")
            if len(out) >= _MAX:
                break
    return out


def _resumenes(data: Any, donde: str) -> Iterator[tuple[str, list[Any]]]:
    """Every ``resumen`` list of the summary's width in ``data``, with where it is."""
    if isinstance(data, dict):
        for key, value in data.items():
            aqui = donde
            if key == "resumen" and isinstance(value, list) \
                    and len(value) == len(RESUMEN_COLUMNS):
                yield donde, value
                continue
            if isinstance(value, (dict, list)):
                if "id" in data and isinstance(data["id"], (int, str)):
                    aqui = f"{donde} {data['id']}".strip()
                elif "seccion" in data:
                    aqui = f"sección {data['seccion']}"
                yield from _resumenes(value, aqui)
    elif isinstance(data, list):
        for item in data:
            yield from _resumenes(item, _donde(item, donde))


def _donde(item: Any, donde: str) -> str:
    if isinstance(item, dict):
        if "seccion" in item:
            return f"sección {item['seccion']}"
        if "id" in item:
            return f"área {item['id']}"
    return donde
