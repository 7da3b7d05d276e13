"""What changed from the previous corte (``diferencias.json``).

Compared row by row on the published CSV text of each election, so the difference is
exactly what a reader of both cortes would see:

- ``agregadas``: actas that had no published data in the previous corte and have now;
- ``modificadas``: actas whose published data changed, with the columns (before, now)
  and the reason (:func:`motivo`); an acta whose new data a correction round validated
  (a cotejo found the published data different from the paper acta) also carries
  ``correccion``: that cotejo's record, the fields it named and its reason. The corte
  in which the data changed is the file's own (``corte``);
- ``retiradas``: actas that had published data and no longer do (a catalog change);
- ``acopiadas_sin_datos``: how many actas only gained their acopio time;
- fuera de catálogo: how many rows before and now.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from itertools import compress
from operator import ne
from pathlib import Path
from typing import Any

from central.publication.snapshot import Correccion
from prep.corte.anexo import LINEAS_ENCABEZADO
from prep.corte.archivos import CAMBIO_ELECCIONES as _CAMBIO
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion

SIN_DATO = "-"
#: What counts as a change of an election CSV is its file's declaration in the registry
#: (``_CAMBIO``: prep.corte.archivos.ELECCIONES; the columns are the Anexo's).


def csv_lines(data: bytes) -> tuple[list[str], list[str]]:
    """(column names of line 7, the acta lines after it) of an election CSV as written
    by :mod:`prep.corte.anexo` (no field of the first seven lines spans lines)."""
    lines = data.decode("utf-8-sig").split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < LINEAS_ENCABEZADO:
        return [], []
    return next(csv.reader([lines[LINEAS_ENCABEZADO - 1]])), lines[LINEAS_ENCABEZADO:]


def _key(line: str) -> str:
    # CLAVE_CASILLA and CLAVE_ACTA come first and never hold a comma or a quote mark
    # that csv would need.
    return line.split(",", 2)[1]


def _fuera(line: str) -> bool:
    """A fuera-de-catálogo row: CLAVE_CASILLA '-' (its CLAVE_ACTA is the code as read,
    prep.corte.anexo.es_fuera)."""
    return line.startswith(SIN_DATO + ",")


#: An election's acta lines that differ from the previous corte's, already known (a
#: running central's tramos, prep.corte.tramos): their positions, the lines now and
#: before, and the fuera-de-catálogo rows before.
Cambios = tuple[list[int], list[str], list[str], int]


def diferencias(tablas: Sequence[TablaEleccion], nombres: Sequence[str],
                nuevo: Path, anterior: Path | None,
                verificadas: Collection[str] = frozenset(),
                corregidas: Mapping[str, Correccion] | None = None,
                cambios: Mapping[str, Cambios] | None = None) -> dict[str, Any]:
    """The difference per election between the new CSVs (files ``nombres`` in directory
    ``nuevo``, ``tablas`` in the same order; each read only when compared whole, one at
    a time) and those of the corte in ``anterior``.
    ``verificadas``: the actas whose data now published a verificador decided;
    ``corregidas``: those whose data now published a correction round validated;
    ``cambios``: per election code, its lines that differ from ``anterior``'s, when the
    caller made both cortes from the same catalog and knows them (the files are then
    not read)."""
    out: dict[str, Any] = {}
    for tabla, name in zip(tablas, nombres, strict=True):
        conocidos = None if cambios is None else cambios.get(tabla.eleccion.codigo)
        if conocidos is not None:
            out[tabla.eleccion.nombre] = _eleccion(tabla, b"", b"", verificadas,
                                                   corregidas or {}, conocidos)
            continue
        old_path = anterior / name if anterior is not None else None
        if old_path is None or not old_path.is_file():
            # Nothing to compare with: every acta with data is new (the new CSV's lines
            # are not needed).
            out[tabla.eleccion.nombre] = _sin_anterior(tabla)
            continue
        out[tabla.eleccion.nombre] = _eleccion(tabla, (nuevo / name).read_bytes(),
                                               old_path.read_bytes(),
                                               verificadas, corregidas or {})
    return out


def _sin_anterior(tabla: TablaEleccion) -> dict[str, Any]:
    """:func:`_eleccion` against no previous CSV."""
    return {"agregadas": [f.acta.clave for f in tabla.filas if f.resultado is not None],
            "modificadas": [], "retiradas": [], "acopiadas_sin_datos": 0,
            "fuera_de_catalogo": {"antes": 0, "ahora": len(tabla.fuera)}}


def _alineadas(filas: int, new_lines: Sequence[str], old_lines: Sequence[str]
               ) -> list[int] | None:
    """The positions of the acta lines that differ, when the previous corte listed the
    same actas in the same order (the same catalog: every line's key where it was, the
    fuera-de-catálogo rows after them); ``None`` otherwise. Most lines are the same from
    one corte to the next: they are compared in one C-level pass, and only the few that
    differ are read."""
    if len(new_lines) < filas or len(old_lines) < filas \
            or not all(map(_fuera, old_lines[filas:])) \
            or (filas and _fuera(old_lines[filas - 1])):
        return None
    distintas = list(compress(range(filas), map(ne, new_lines[:filas], old_lines[:filas])))
    if any(_key(new_lines[i]) != _key(old_lines[i]) for i in distintas):
        return None
    return distintas


def _eleccion(tabla: TablaEleccion, new: bytes, old: bytes, verificadas: Collection[str],
              corregidas: Mapping[str, Correccion], conocidos: Cambios | None = None,
              ) -> dict[str, Any]:
    previous: dict[str, str] = {}
    fuera_antes = 0
    filas = tabla.filas
    pares: Iterable[tuple[Fila, str]]
    if conocidos is not None:  # the differing lines known: the same catalog
        new_columns = old_columns = list(_CAMBIO.columnas(tabla.eleccion))
        posiciones, lineas_ahora, lineas_antes, fuera_antes = conocidos
        previous = {_key(line): line for line in lineas_antes}
        pares = ((filas[i], line) for i, line in zip(posiciones, lineas_ahora, strict=True))
    else:
        new_columns, new_lines = csv_lines(new)
        old_columns, old_lines = csv_lines(old)
        distintas = _alineadas(len(filas), new_lines, old_lines) \
            if new_columns == old_columns and len(new_lines) >= len(filas) else None
        if distintas is None:  # another catalog: matched by CLAVE_ACTA
            for line in old_lines:
                if _fuera(line):
                    fuera_antes += 1
                else:
                    previous[_key(line)] = line
            pares = zip(filas, new_lines, strict=False)
        else:
            fuera_antes = len(old_lines) - len(filas)
            previous = {_key(old_lines[i]): old_lines[i] for i in distintas}
            pares = ((filas[i], new_lines[i]) for i in distintas)
    agregadas: list[str] = []
    modificadas: list[dict[str, Any]] = []
    retiradas: list[dict[str, str]] = []
    acopiadas = 0
    for fila, line in pares:
        key = _key(line)
        before = previous.pop(key, None)
        if before == line:
            continue
        con_datos = fila.resultado is not None
        if before is None:
            if con_datos:
                agregadas.append(fila.acta.clave)
            continue
        antes = dict(zip(old_columns, next(csv.reader([before])), strict=False))
        ahora = dict(zip(new_columns, next(csv.reader([line])), strict=False))
        tenia_datos = antes.get("CONTABILIZADA", SIN_DATO) != SIN_DATO
        if con_datos and not tenia_datos:
            agregadas.append(fila.acta.clave)
        elif tenia_datos and not con_datos:
            retiradas.append({"clave_acta": fila.acta.clave,
                              "motivo": "el acta dejó de tener datos publicados"})
        elif tenia_datos:
            cambios = {c: [antes.get(c, SIN_DATO), ahora.get(c, SIN_DATO)]
                       for c in dict.fromkeys([*old_columns, *new_columns])
                       if antes.get(c, SIN_DATO) != ahora.get(c, SIN_DATO)}
            # The correction's validation is newly published when the time the data
            # was validated changed (every validation has its own).
            correccion = corregidas.get(fila.acta.clave) \
                if "FECHA_HORA_VERIFICACION" in cambios else None
            razon = motivo(antes, ahora, cambios, verificada=fila.acta.clave in verificadas,
                           correccion=correccion)
            modificada: dict[str, Any] = {"clave_acta": fila.acta.clave, "motivo": razon,
                                          "cambios": cambios}
            if correccion is not None:
                modificada["correccion"] = correccion.to_json()
            modificadas.append(modificada)
        else:
            acopiadas += 1
    for key, line in previous.items():  # actas the current catalog no longer holds
        antes = dict(zip(old_columns, next(csv.reader([line])), strict=False))
        if antes.get("CONTABILIZADA", SIN_DATO) != SIN_DATO:
            retiradas.append({"clave_acta": key.strip("'"),
                              "motivo": "el acta ya no está en el catálogo"})
    return {"agregadas": agregadas, "modificadas": modificadas, "retiradas": retiradas,
            "acopiadas_sin_datos": acopiadas,
            "fuera_de_catalogo": {"antes": fuera_antes, "ahora": len(tabla.fuera)}}


def motivo(antes: Mapping[str, str], ahora: Mapping[str, str],
           cambios: Mapping[str, Sequence[str]], *, verificada: bool = False,
           correccion: Correccion | None = None) -> str:
    """Why an acta's published data changed, in Spanish, from what changed.
    ``verificada``: a verificador decided the data now published. FECHA_HORA_VERIFICACION
    is when the data was validated, by a verificador or by two matching captures: its
    change says the acta went through verification only with ``verificada``.
    ``correccion``: a correction round opened by a cotejo validated the data now
    published (its fields and reason are named)."""
    razones: list[str] = []
    if antes.get("OBSERVACIONES", "").startswith("Sin Acta") \
            and ahora.get("CODIGO_INTEGRIDAD", SIN_DATO) not in (SIN_DATO, "N/A"):
        razones.append("llegó el acta después de registrarse sin acta")
    elif ahora.get("OBSERVACIONES", "").startswith("Sin Acta") \
            and antes.get("CODIGO_INTEGRIDAD", SIN_DATO) not in (SIN_DATO, "N/A"):
        razones.append("el acta se registró sin acta (corrección)")
    elif "OBSERVACIONES" in cambios and antes.get("OBSERVACIONES", "").startswith("Sin Acta"):
        razones.append("se corrigió la causa de sin acta")
    else:
        if "CODIGO_INTEGRIDAD" in cambios:
            razones.append("se publica otra imagen del acta")
        # A captured field changed: any column the Anexo does not declare as another
        # (prep.corte.anexo; a previous layout's asociación too).
        valores = any(c not in _CAMBIO.no_capturadas for c in cambios)
        if correccion is not None:
            razones.append(_por_cotejo(correccion, valores))
        elif valores:
            razones.append("se corrigieron los datos capturados")
        if verificada and "FECHA_HORA_VERIFICACION" in cambios:
            razones.append("el acta pasó por verificación")
        if "COTEJADA" in cambios:
            razones.append("el acta se cotejó contra el papel")
    if not razones:
        razones.append("cambió: " + ", ".join(cambios))
    return "; ".join(razones)


def _por_cotejo(correccion: Correccion, valores: bool) -> str:
    """The reason of a change a correction round made, in Spanish."""
    texto = ("se corrigieron los datos tras el cotejo contra el acta en papel" if valores
             else "se capturó de nuevo el acta tras el cotejo contra el papel, sin cambio "
                  "en los votos")
    if correccion.campos:
        texto += " (campos señalados: " + ", ".join(correccion.campos) + ")"
    if correccion.motivo:
        texto += f": {correccion.motivo}"
    return texto
