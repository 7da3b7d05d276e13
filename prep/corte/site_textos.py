"""The public site's acta rows from the texts the CSV's rows were made as
(:func:`prep.corte.anexo.acta_textos`, a corte rendered with a per-acta memo): each
row's JSON put together from its text instead of from the row again. The same JSON as
:mod:`prep.corte.site` makes of the CSV row (it falls back to that row where a value
would need escaping); plain rendering, no cache: the texts are the CSV's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.corte.anexo import SEP
from prep.corte.anexo import CasillaColumns
from prep.corte.anexo import casilla_columns
from prep.corte.anexo import columns
from prep.corte.anexo import columns_before
from prep.corte.anexo import full_row
from prep.corte.site_datos import PLAIN_JSON
from prep.corte.site_datos import image_column
from prep.corte.summary import TablaEleccion


def textos_json(catalog: Catalog, tabla: TablaEleccion,
                textos: Sequence[str | tuple[str, ...]],
                imagenes: Mapping[str, tuple[str, str]], cache: dict[str, CasillaColumns],
                keep: Sequence[int], add_demarcacion: bool,
                partes: dict[tuple[str, bool], tuple[str, str] | None],
                ) -> Iterator[str | tuple[str, ...]]:
    """Each acta's row on the site from its text (:func:`prep.corte.anexo.acta_textos`,
    which holds no value JSON escapes): the JSON :mod:`prep.corte.site` makes of its
    CSV row, when no key column needs escaping either; the CSV row otherwise.
    ``partes``: each casilla's shown key columns, kept for the corte's elections."""
    n = len(columns_before(tabla.eleccion))  # the key columns, TIPO_ACTA the last
    width = len(columns(tabla.eleccion))
    claves = [i for i in keep if i < n]
    # The layout this takes: both claves first and TIPO_ACTA last of the key columns
    # shown, some between them, then every column after them.
    if claves[:2] != [0, 1] or claves[-1:] != [n - 1] or len(claves) < 4 \
            or list(keep[len(claves):]) != list(range(n, width)):
        for fila, texto in zip(tabla.filas, textos, strict=True):
            yield full_row(catalog, tabla, fila, texto, cache)
        return
    demarcacion = tabla.eleccion.ambito is Ambito.DEMARCACION
    # The shown ones between CLAVE_ACTA and TIPO_ACTA, in the casilla's columns (those
    # after CLAVE_ACTA).
    ubicacion = [i - 2 for i in claves[2:-1]]
    for fila, texto in zip(tabla.filas, textos, strict=True):
        acta = fila.acta
        if isinstance(texto, str):
            casilla = acta.casilla
            parte = partes.get((casilla.clave, demarcacion), _FALTA)
            if parte is _FALTA:
                cols = casilla_columns(catalog, casilla, cache)
                lugar = cols[2] if demarcacion else cols[1]
                valores = [cols[0].strip("'"), *(lugar[i] for i in ubicacion)]
                parte = partes[(casilla.clave, demarcacion)] = (
                    valores[0], "".join(f'","{v}' for v in valores[1:])) \
                    if PLAIN_JSON.fullmatch("".join(valores)) else None
            clave = f"'{acta.clave}'".strip("'")
            imagen = image_column(fila, imagenes)
            fin = f'{casilla.demarcacion_id}","{imagen}' if add_demarcacion else imagen
            if parte is not None and PLAIN_JSON.fullmatch(clave + acta.tipo_acta + imagen):
                yield (f'["{parte[0]}","{clave}{parte[1]}","{acta.tipo_acta}",'
                       f'"{texto.replace(SEP, _COMA_JSON)}","{fin}"]')
                continue
        yield full_row(catalog, tabla, fila, texto, cache)


_COMA_JSON = '","'
_FALTA = ("", "")  # not looked up yet
