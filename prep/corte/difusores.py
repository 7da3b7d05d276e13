"""DIFUSORES.csv: the official difusores a corte lists (issue 30; docs/difusores.md).

A difusor the institute gave alta and that registered its key with the central
(``prep central difusor alta``, ``prep difusor registrar``) and was not given baja is
*official*: each corte lists it by name and public URL, in this file (signed in the
manifest like every file, in the zip with the other CSVs) and on the site's page
``#/difusores``, so a reader who cannot reach the institute knows where else the PREP
is, and that what those sites serve can be checked with ``prep verify-corte``. A corte
made while no difusor is official carries no such file.

:func:`problemas` is what ``prep verify-corte`` checks: the file is well formed, every
URL is an ``https://`` address, none repeats, and the site's ``datos/difusores.js``
lists the very same.

Since issue 67 each row also carries the difusor's witness key (``LLAVE_TESTIGO``: the
verifier key of its cosignatures of the public log of cortes, ``<id>+<hex>+<base64>``
as :func:`prep.transparencia.nota.llave_texto` writes it, type 0x04): ``prep
verify-corte --testigos`` checks the cosignatures the central published against these
keys, which the corte's own signed manifest covers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from prep.corte.simulacro import linea_titulo
from prep.corte.simulacro import sin_titulo
from prep.corte.simulacro import tabla_csv
from prep.transparencia.nota import COFIRMA
from prep.transparencia.nota import NotaError
from prep.transparencia.nota import leer_llave_texto

DIFUSORES = "DIFUSORES.csv"
COLUMNS = ("NOMBRE", "URL", "LLAVE_TESTIGO")
#: One official difusor: its name, its public URL and its witness key (one line).
Fila = tuple[str, str, str]
TITULO = "DIFUSORES OFICIALES DEL PREP"
#: The site's data file (under ``sitio/``) and its route name.
DATOS = "datos/difusores.js"
RUTA = "difusores"
MAX_NOMBRE = 120
MAX_URL = 300
_DATA = re.compile(r'PREP\.recibir\("difusores",(.*)\);\s*', re.DOTALL)


#: What makes a spreadsheet read a cell as a formula (CSV injection): a name may not
#: start with one.
FORMULA = ("=", "+", "-", "@")


def nombre_valido(nombre: str) -> str:
    """The institution's name as published: spaces folded, 1–120 printable characters,
    not starting as a spreadsheet formula does (``ValueError`` otherwise)."""
    nombre = " ".join(nombre.split())
    if not nombre or len(nombre) > MAX_NOMBRE or not nombre.isprintable():
        raise ValueError(f"el nombre del difusor debe tener de 1 a {MAX_NOMBRE} caracteres "
                         "visibles")
    if nombre.startswith(FORMULA):
        raise ValueError(f"el nombre del difusor no puede empezar con {' '.join(FORMULA)}: "
                         "una hoja de cálculo lo tomaría como fórmula al abrir "
                         f"{DIFUSORES}")
    return nombre


def publicable(nombre: str) -> str:
    """``nombre`` as a corte lists it: one given alta before names were checked for
    formulas is published after an apostrophe (what a spreadsheet shows as text)."""
    return "'" + nombre if nombre.startswith(FORMULA) else nombre


def url_valida(url: str) -> str:
    """A difusor's public address: ``https://host[:port][/path]`` in plain ASCII, no user,
    query nor fragment, at most 300 characters (``ValueError`` otherwise): the site
    shows it as a link."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if (not port_ok or len(url) > MAX_URL or parts.scheme != "https" or not parts.hostname
            or parts.username or parts.password or parts.query or parts.fragment
            or not url.isascii() or not url.isprintable()
            or any(c in url for c in ' "\'<>\\`')):
        shown = url[:80] if url.isprintable() else ascii(url[:80])
        raise ValueError(f"dirección inválida «{shown}»: debe ser https://servidor[/ruta], "
                         f"sin usuario, consulta ni fragmento, de hasta {MAX_URL} caracteres")
    return url


def difusores_csv(filas: Sequence[Fila], simulacro: bool = False) -> bytes:
    """DIFUSORES.csv (UTF-8 with BOM, CRLF; a drill's opens with a SIMULACRO line)."""
    return tabla_csv(TITULO, COLUMNS, filas, simulacro)


def datos_sitio(filas: Sequence[Fila]) -> dict[str, object]:
    """The site's ``datos/difusores.js``: each difusor's name, URL and witness key, in
    the CSV's order."""
    return {"difusores": [{"nombre": n, "url": u, "llave_testigo": k} for n, u, k in filas]}


def llave_testigo(texto: str) -> str:
    """The difusor's id a witness key names (``ValueError`` when it is not a well-formed
    cosignature key, type 0x04)."""
    try:
        nombre, tipo, _ = leer_llave_texto(texto)
    except NotaError as exc:
        raise ValueError(f"la llave de testigo no es válida: {exc}") from None
    if tipo != COFIRMA or texto != texto.strip():
        raise ValueError("la llave de testigo no es una llave de cofirma (tipo 0x04)")
    return nombre


def leeme_difusores(simulacro: bool = False) -> str:
    """The LEEME section that describes DIFUSORES.csv."""
    linea = linea_titulo(TITULO, simulacro)
    return f"""\
{DIFUSORES}: los difusores oficiales del PREP al momento de este corte (universidades y
medios que replican cada corte en sus propios sitios, registrados ante el instituto).
Una fila por difusor, en el orden en que se dieron de alta. UTF-8 con BOM, CRLF; {linea}.
  Columnas: {", ".join(COLUMNS)}.
  NOMBRE: la institución. URL: la dirección https:// de su sitio.
  LLAVE_TESTIGO: la llave pública con que el difusor cofirma el registro público de
  cortes (transparencia/ junto a indice.json); «prep verify-corte CARPETA --testigos»
  comprueba con ella sus cofirmas.
  Lo que sirve un difusor es este mismo corte: compruébelo con «prep verify-corte
  CARPETA --huella HUELLA» y la huella de la llave pública que publica el instituto."""


def leer(data: bytes) -> list[Fila]:
    """The rows of a DIFUSORES.csv (``ValueError`` with the problem otherwise)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("no es UTF-8") from None
    rows = list(sin_titulo(list(csv.reader(io.StringIO(text, newline=""))), TITULO))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise ValueError(f"el encabezado no es {','.join(COLUMNS)}")
    out = []
    for number, row in enumerate(rows[1:], start=3):
        if len(row) != len(COLUMNS):
            raise ValueError(f"línea {number}: {len(row)} campos en vez de {len(COLUMNS)}")
        out.append((row[0], row[1], row[2]))
    return out


def problemas(directory: Path, names: Sequence[str]) -> list[str]:
    """What is wrong with DIFUSORES.csv in ``directory`` and the site's list of it
    (``names``: the manifest's files), one Spanish line each."""
    out: list[str] = []
    try:
        filas = leer((directory / DIFUSORES).read_bytes())
    except (OSError, ValueError) as exc:
        return [f"{DIFUSORES}: {exc}"]
    vistas: set[str] = set()
    testigos: set[str] = set()
    for number, (nombre, url, llave) in enumerate(filas, start=2):
        for check, value in ((nombre_valido, nombre), (url_valida, url)):
            try:
                if check(value) != value:
                    raise ValueError(f"«{value[:80]}» no está escrito como se publica")
            except ValueError as exc:
                out.append(f"{DIFUSORES}, fila {number}: {exc}")
        if url in vistas:
            out.append(f"{DIFUSORES}, fila {number}: la dirección {url[:80]} se repite")
        vistas.add(url)
        try:
            testigo = llave_testigo(llave)
            if testigo in testigos:
                out.append(f"{DIFUSORES}, fila {number}: el testigo {testigo} se repite")
            testigos.add(testigo)
        except ValueError as exc:
            out.append(f"{DIFUSORES}, fila {number}: {exc}")
    sitio = next((n for n in names if n.endswith("/" + DATOS)), None)
    if sitio is not None:
        out += _sitio(directory / sitio, sitio, filas)
    return out


def _sitio(path: Path, name: str, filas: list[Fila]) -> list[str]:
    match = _DATA.fullmatch(path.read_text(encoding="utf-8", errors="replace"))
    try:
        data = json.loads(match.group(1)) if match else None
        listed = [(d["nombre"], d["url"], d["llave_testigo"])
                  for d in data["difusores"]] if data else None
    except (ValueError, KeyError, TypeError):
        listed = None
    if listed is None:
        return [f"{name}: no es un archivo de datos del sitio con la lista de difusores"]
    if listed != filas:
        return [f"{name}: no lista los mismos difusores que {DIFUSORES}"]
    return []
