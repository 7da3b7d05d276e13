"""The public site's data files: how one is written and read, and the bloques of
secciones that split a distrito's.

A data file is a small JavaScript file under ``sitio/datos/``,
``PREP.recibir("<ruta>", <JSON>);`` (:func:`data_file`, read back by
:func:`parse_data_file`), naming its corte (:data:`NOMBRE_CORTE`). A distrito's acta rows
and history go in files of whole secciones, *bloques* (:func:`bloques`). Also here, for
every module that writes acta rows: their JSON text (:func:`row_json`) and their IMAGEN
column (:func:`image_column`). Shared by :mod:`prep.corte.site` and the modules it is
made of, and read by ``prep verify-corte`` (:mod:`prep.corte.verify_sitio`). Format:
``docs/sitio.md``.
"""
from __future__ import annotations

import json
import re
import weakref
from bisect import bisect_right
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import cast

import orjson

from prep.catalog.model import Catalog
from prep.corte.summary import Fila

SITE_DIR = "sitio"
DATA_PREFIX = "PREP.recibir("
DATA_SUFFIX = ");\n"
#: The member of every data file naming its corte: the page checks it (docs/sitio.md).
NOMBRE_CORTE = "nombre_corte"

#: A distrito's acta rows and history go in files of whole secciones (*bloques*) of at most
#: this many casillas (a sección with more is a bloque by itself): one file per sección
#: would be ≈33,000 files per corte (5,526 secciones × 3 elections × rows and history)
#: at any scale, each written and fsynced; bloques bound the count by the actas instead
#: (≈840 at scale 1, ≈8,300 at national scale) and keep a sección page's download small.
BLOQUE_CASILLAS = 128

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_PATH = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
MAX_PATH = 300


#: An ``encoded`` member of :func:`data_file`: its JSON text, or (opening, JSON texts,
#: closing), e.g. ``("[", rows, "]")``: the texts (str, or UTF-8 bytes) joined by commas
#: between the two.
Codificado = str | tuple[str, Sequence[str] | Sequence[bytes], str]


def data_file(ruta: str, data: Mapping[str, Any],
              encoded: Mapping[str, Codificado] | None = None, *,
              corte: str | None = None) -> bytes:
    """A data file of the site: ``PREP.recibir("<ruta>", <JSON object>);``.

    ``encoded`` adds members whose values are already JSON text (the acta rows);
    ``corte`` (the corte's directory name) goes first as ``nombre_corte``. The file is
    put together as UTF-8 pieces: a national corte's bloque files hold hundreds of
    megabytes of rows, each copy of which costs (a text made whole, then encoded,
    was copied six times).
    """
    if corte is not None:
        data = {NOMBRE_CORTE: corte, **data}
    payload = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    if not encoded:
        return b"".join((_PREFIJO, orjson.dumps(ruta), b",", payload, _SUFIJO))
    parts = [_PREFIJO, orjson.dumps(ruta), b",", payload[:-1]]
    coma = b"," if data else b""
    for key, value in encoded.items():
        parts += (coma, orjson.dumps(key), b":")
        if isinstance(value, str):
            parts.append(value.encode())
        else:
            abre, textos, cierra = value
            parts += (abre.encode(), _unidos(textos), cierra.encode())
        coma = b","
    parts += (b"}", _SUFIJO)
    return b"".join(parts)


_PREFIJO, _SUFIJO = DATA_PREFIX.encode(), DATA_SUFFIX.encode()


def _unidos(textos: Sequence[str] | Sequence[bytes]) -> bytes:
    """``textos`` joined by commas, as UTF-8."""
    if textos and isinstance(textos[0], bytes):
        return b",".join(cast("Sequence[bytes]", textos))
    return ",".join(cast("Sequence[str]", textos)).encode()


def compact_json(data: Any) -> str:
    """Compact JSON, UTF-8 text as is; the same text :func:`json.dumps` with
    ``separators=(",", ":"), ensure_ascii=False`` writes (integer keys as strings), about
    seven times faster on a corte's ~150 data files."""
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


#: Text that can go between JSON quotes as is: no quote, backslash or control character.
PLAIN_JSON = re.compile(r'[^"\\\x00-\x1f]*')


def row_json(values: Sequence[str]) -> str:
    """A row of strings as a JSON array. Published values are plain text (digits, dates,
    labels), so joining them is exact and several times faster than :func:`json.dumps`
    for the ~40,000 rows of a corte; anything else goes through :func:`json.dumps`."""
    if PLAIN_JSON.fullmatch("".join(values)):
        return '["' + '","'.join(values) + '"]'
    return compact_json(list(values))


def parse_data_file(data: bytes) -> tuple[str, Any]:
    """The (ruta, JSON data) of a file written by :func:`data_file`."""
    text = data.decode("utf-8")
    if not text.startswith(DATA_PREFIX) or not text.endswith(DATA_SUFFIX):
        raise ValueError("no es un archivo de datos del sitio del PREP")
    body = text[len(DATA_PREFIX):-len(DATA_SUFFIX)]
    ruta, end = json.JSONDecoder().raw_decode(body)
    if not isinstance(ruta, str) or body[end:end + 1] != ",":
        raise ValueError("archivo de datos del sitio sin ruta")
    return ruta, json.loads(body[end + 1:])


def bloques(catalog: Catalog, casillas: int = BLOQUE_CASILLAS) -> dict[int, list[int]]:
    """distrito id → the first sección of each of its bloques, in order.

    A bloque is a run of consecutive secciones of the distrito (in catalog order) with at
    most ``casillas`` casillas together; a sección with more is a bloque by itself. The
    same for every election (it depends on the catalog only), so the page finds the file
    of any sección from ``secciones.js`` alone (``bloques``)."""
    if casillas < 1:
        raise ValueError("un bloque de secciones debe admitir al menos una casilla")
    # A running central's cortes ask it of the same catalog again and again (a national
    # catalog's half a million casillas: a third of a second each time).
    hecho = _BLOQUES.get(id(catalog))
    if hecho is not None and hecho[0]() is catalog and hecho[1] == casillas:
        return hecho[2]
    out = _bloques(catalog, casillas)
    _BLOQUES.clear()  # one catalog at a time
    _BLOQUES[id(catalog)] = (weakref.ref(catalog), casillas, out)
    return out


_BLOQUES: dict[int, tuple[weakref.ref[Catalog], int, dict[int, list[int]]]] = {}


def _bloques(catalog: Catalog, casillas: int) -> dict[int, list[int]]:
    por_seccion: dict[tuple[int, int], int] = dict.fromkeys(catalog.secciones, 0)
    for c in catalog.casillas:
        por_seccion[(c.distrito_id, c.seccion)] += 1
    out: dict[int, list[int]] = {}
    llenas: dict[int, int] = {}
    for (d, s), n in sorted(por_seccion.items()):
        if d not in out or llenas[d] + n > casillas:
            out.setdefault(d, []).append(s)
            llenas[d] = 0
        llenas[d] += n
    return out


def bloque_de(catalog: Catalog, inicios: Mapping[int, Sequence[int]]
              ) -> dict[tuple[int, int], int]:
    """(distrito, sección) → the first sección of its bloque (``inicios``: :func:`bloques`)."""
    out: dict[tuple[int, int], int] = {}
    for d, s in sorted(catalog.secciones):
        starts = inicios[d]
        out[(d, s)] = starts[bisect_right(starts, s) - 1]
    return out


def image_column(fila: Fila, imagenes: Mapping[str, tuple[str, str]]) -> str:
    """The IMAGEN column of an acta row.

    The site shows an image only beside the SHA-256 the CSV publishes for it as
    CODIGO_INTEGRIDAD: an acta the CSV gives no code for (no published data yet, sin acta)
    gets no image, and an image whose hash is not the published one is an error, since
    the site would contradict the CSV.
    """
    clave = fila.acta.clave
    imagen = imagenes.get(clave)
    if imagen is None:
        return ""
    sha, path = imagen
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"{clave}: el SHA-256 de la imagen no es de 64 dígitos "
                         f"hexadecimales en minúsculas: {sha!r}")
    check_path(path, f"{clave}: imagen")
    estado = fila.estado
    if fila.resultado is None or estado is None or estado.captura is None or \
            estado.sha256 is None:
        return ""
    if estado.sha256 != sha:
        raise ValueError(f"{clave}: la imagen ({sha}) no es la del CODIGO_INTEGRIDAD "
                         f"publicado ({estado.sha256})")
    return f"../{path}"


def check_path(path: str, what: str) -> None:
    """Raise unless ``path`` is a plain relative path inside the corte (``what``: what it
    is, for the message)."""
    if len(path) > MAX_PATH or not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValueError(f"{what}: ruta no válida dentro del corte: {path!r}")
