"""The SIMULACRO stamp of a drill's corte (issue 28; docs/simulacro.md).

A corte of a drill's central (``prep central init --simulacro``) must never be taken for
results, wherever one of its files ends up, and must have exactly the shape of the real
night's, so that what difusores, media and parties program against during the simulacros
reads the real cortes unchanged (issue 61). So the mark goes only where the format has
room in both modes: every CSV opens with a title line in both (the election's name, or
the table's title, :func:`tabla_csv`), which a drill's starts with ``SIMULACRO — ``; so
does the LEEME's first line; the signed manifest opens with a ``#`` line saying so
(``sha256sum -c`` skips lines that start with ``#``), ``diferencias.json`` says
``"simulacro": true``, and every page of the site carries a banner before anything
else. File names (the zip's included) and line counts are the same in both modes.

:func:`problemas` is what ``prep verify-corte`` checks: the files agree with the
manifest, either way.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path

MARCA = "SIMULACRO"
PREFIJO = f"{MARCA} — "
AVISO = ("Este corte es de un simulacro: sus datos no son resultados de ninguna "
         "elección.")
#: Line 1 of a drill's manifest (without its line end).
LINEA_MANIFIESTO = f"# {PREFIJO}{AVISO}"
#: The banner's element id: what :func:`problemas` looks for in every page.
BANNER_ID = "aviso-simulacro"
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_TITLE = re.compile(r"<title>", re.IGNORECASE)
_BOM = "\ufeff"


def titulo(texto: str, simulacro: bool) -> str:
    """``texto`` as line 1 of a file: ``SIMULACRO — texto`` in a drill."""
    return f"{PREFIJO}{texto}" if simulacro else texto


def tabla_csv(texto: str, columnas: Sequence[str], filas: Iterable[Sequence[str]],
              simulacro: bool) -> bytes:
    """A table of the corte as CSV (UTF-8 with BOM, CRLF): the title line ``texto``
    (``SIMULACRO — texto`` in a drill), then ``columnas`` and ``filas``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow((titulo(texto, simulacro),))
    w.writerow(columnas)
    w.writerows(filas)
    return buf.getvalue().encode("utf-8-sig")


def linea_titulo(texto: str, simulacro: bool) -> str:
    """What a LEEME says of the first lines of a table :func:`tabla_csv` wrote."""
    return (f"la línea 1 es el título «{titulo(texto, simulacro)}» y el encabezado va en "
            "la línea 2")


def es_titulo(fila: Sequence[str] | None, texto: str) -> bool:
    """Whether ``fila`` is the title line ``texto`` of a table :func:`tabla_csv` wrote,
    with or without the SIMULACRO mark (:func:`problemas` checks the mark against the
    manifest)."""
    return fila is not None and len(fila) == 1 and fila[0].removeprefix(PREFIJO) == texto


def sin_titulo(rows: Sequence[Sequence[str]], texto: str) -> Sequence[Sequence[str]]:
    """``rows`` of a table :func:`tabla_csv` wrote, after its title line ``texto``;
    ``ValueError`` in Spanish when line 1 is not that title."""
    if not rows or not es_titulo(rows[0], texto):
        raise ValueError(f"la línea 1 no es el título «{texto}»")
    return rows[1:]


def zip_name(corte: str) -> str:
    """The name of the corte's zip, ``PREP_<corte>.zip``, in a drill too: a drill
    publishes the real night's file names."""
    return f"PREP_{corte}.zip"


def banner_html() -> str:
    """The banner every page of a drill's site opens with (styled by ``estilo.css``,
    ``.simulacro``; readable without it)."""
    return (f'<div class="simulacro" id="{BANNER_ID}" role="note" '
            f'aria-label="{MARCA}"><strong>{MARCA}</strong> '
            f"<span>{html.escape(AVISO)}</span></div>")


def stamp_html(page: bytes, simulacro: bool) -> bytes:
    """A page of the site with the banner right after ``<body>`` and ``SIMULACRO ·``
    before its title (unchanged for a real corte)."""
    if not simulacro:
        return page
    text = page.decode("utf-8")
    body = _BODY.search(text)
    if body is None:
        raise ValueError("la página del sitio no tiene <body>: no se puede marcar SIMULACRO")
    text = f"{text[:body.end()]}\n  {banner_html()}{text[body.end():]}"
    text = _TITLE.sub(f"<title>{MARCA} · ", text, count=1)
    return text.encode("utf-8")


def problemas(directory: Path, names: Iterable[str], simulacro: bool) -> list[str]:
    """Where the corte's files (``names``, relative to ``directory``) contradict what
    its manifest says (``simulacro``): an unmarked file in a drill, a marked one in a
    real corte (Spanish, one line per file)."""
    falta = "no dice SIMULACRO aunque el manifiesto es de un simulacro"
    sobra = "dice SIMULACRO pero el manifiesto no es de un simulacro"
    out: list[str] = []
    for name in sorted(names):
        top = "/" not in name
        if top and (name.endswith(".csv") or name.endswith(".txt")):
            marked = _first_line(directory / name).startswith(PREFIJO)
            where = f"{name}, línea 1"
        elif name.endswith(".html"):
            page = (directory / name).read_text(encoding="utf-8", errors="replace")
            marked, where = f'id="{BANNER_ID}"' in page, f"{name} (aviso de la página)"
        else:
            continue
        if marked != simulacro:
            out.append(f"{where}: {falta if simulacro else sobra}")
    return out


def _first_line(path: Path) -> str:
    with path.open("rb") as f:
        line = f.readline(4096)
    return line.decode("utf-8", errors="replace").removeprefix(_BOM)
