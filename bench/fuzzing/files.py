"""Fuzz targets of files from outside: a catalog directory an institute filled, and
image files handed over as acta images (scanner, PREP Casilla, blob uploads)."""

from __future__ import annotations

import functools
import io
import struct
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from PIL import Image

from bench.fuzzing.core import Target
from bench.fuzzing.core import Violation
from bench.fuzzing.core import mutated
from bench.fuzzing.core import spanish
from bench.fuzzing.parsers import small_catalog
from prep.catalog import CatalogError
from prep.catalog import load_catalog
from prep.catalog import write_catalog
from prep.catalog.files import FILES

# catalog ----------------------------------------------------------------------------

_HOSTILE_CELLS = [b"", b" ", b"0", b"-1", b"999999", b"1e3", b"\xef\xbc\x91", b"=1+1",
                  b"@SUM(A1)", b'"', b'"a""b"', b"\x00", b"\r", b"a;b", b"S", b"X" * 200,
                  b"NULOS", b"01;02", b"E;F", b"\xff\xfe", b"2", b"99", b"1000"]


@functools.cache
def _catalog_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="fuzz-catalogo-") as tmp:
        write_catalog(small_catalog(), Path(tmp))
        return {name: (Path(tmp) / name).read_bytes() for name in FILES}


def _replace_cell(data: bytes, line: int, column: int, cell: bytes) -> bytes:
    lines = data.split(b"\n")
    index = line % len(lines)
    cells = lines[index].split(b",")
    cells[column % len(cells)] = cell
    lines[index] = b",".join(cells)
    return b"\n".join(lines)


def _catalog_strategy(_: Any) -> st.SearchStrategy[tuple[str, bytes]]:
    files = _catalog_files()
    names = st.sampled_from(FILES)
    return st.one_of(
        names.flatmap(lambda n: st.tuples(st.just(n), mutated([files[n]]))),
        names.flatmap(lambda n: st.tuples(st.just(n), st.builds(
            _replace_cell, st.just(files[n]), st.integers(0, 10_000), st.integers(0, 20),
            st.sampled_from(_HOSTILE_CELLS) | st.binary(max_size=12)))),
        st.tuples(st.just("catalogo.toml"), st.builds(
            lambda key, value: files["catalogo.toml"].replace(key, key[:-2] + b"= " + value
                                                              + b"\n#", 1),
            st.sampled_from([b"id = ", b"nombre = ", b"codigo = ", b"ambito = ",
                             b"tipo_acta = ", b"formato = "]),
            st.sampled_from([b"[]", b"{}", b"1.5", b"-1", b"true", b'"\\u0000"', b"1979-05-27",
                             b'"01"', b'"99"', b"99999999999999999999", b'"=x"', b"{ S = 4 }",
                             b'"0"', b'"municipio"']))))


@contextmanager
def _catalog_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-catalogo-") as tmp:
        yield Path(tmp)


def _catalog_check(directory: Path, case: tuple[str, bytes]) -> None:
    name, data = case
    for each, original in _catalog_files().items():
        (directory / each).write_bytes(data if each == name else original)
    try:
        catalog = load_catalog(directory)
    except CatalogError as exc:
        if not spanish(str(exc)):
            raise Violation(f"catalog refused in English: {exc}") from None
        return
    # What stations and the central do with a loaded catalog at once.
    for eleccion in catalog.elecciones:
        for acta in catalog.actas(eleccion):
            acta.layout  # noqa: B018 (computed on first use)
    catalog.total_actas  # noqa: B018


CATALOG = Target("catalog", "prep.catalog.load_catalog of a generated catalog directory "
                 "with one file mutated (bytes, hostile cells, TOML values)",
                 _catalog_strategy, _catalog_check, setup=_catalog_dir)


# images -----------------------------------------------------------------------------

def _png_fix_crcs(data: bytes) -> bytes:
    """``data`` with every PNG chunk's CRC made right, so a mutation gets past the
    structure walk into the decoder."""
    out, pos = bytearray(data), 8
    while pos + 12 <= len(out):
        length = int.from_bytes(out[pos:pos + 4], "big")
        end = pos + 12 + length
        if end > len(out):
            break
        out[end - 4:end] = zlib.crc32(out[pos + 4:end - 4]).to_bytes(4, "big")
        pos = end
    return bytes(out)


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (len(payload).to_bytes(4, "big") + kind + payload
                + zlib.crc32(kind + payload).to_bytes(4, "big"))
    rows = zlib.compress(b"\x00" * (1 + width) * min(height, 64), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8,
                                                              0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@functools.cache
def image_seeds() -> list[bytes]:
    """Real images: the synthetic acta (a JPEG scan at 72 dpi and a PNG), small
    Pillow-made PNG, JPEG and TIFF, and crafted bombs."""
    from prep.sintetico.acta_image import ActaImageOptions
    from prep.sintetico.acta_image import render_acta_image

    acta = next(iter(small_catalog().iter_actas()))
    valores = dict.fromkeys(acta.layout.campos, 7)
    seeds = [render_acta_image(acta, valores, ActaImageOptions(dpi=72)),
             render_acta_image(acta, valores, ActaImageOptions(dpi=72, image_format="PNG",
                                                               noise=False))]
    for fmt, mode in (("PNG", "L"), ("JPEG", "L"), ("TIFF", "L"), ("PNG", "RGB"),
                      ("JPEG", "RGB"), ("TIFF", "1")):
        out = io.BytesIO()
        Image.new(mode, (24, 16), 128).save(out, fmt)
        seeds.append(out.getvalue())
    seeds += [_png_bomb(60_000, 60_000), _png_bomb(8000, 7000), _png_bomb(1, 1)]
    return seeds


_MOTIVOS = frozenset({"vacia", "tipo_no_admitido", "tipo_no_coincide", "no_decodifica",
                      "incompleta", "datos_anexos", "demasiado_grande"})


def _image_strategy(_: Any) -> st.SearchStrategy[tuple[bytes, str | None]]:
    seeds = image_seeds()
    data = st.one_of(mutated(seeds, fixups=_png_fix_crcs), st.sampled_from(seeds),
                     st.binary(max_size=64))
    declared = st.sampled_from([None, "image/png", "image/jpeg", "image/tiff", "", "text/html"])
    return st.tuples(data, declared)


def _image_check(_: Any, case: tuple[bytes, str | None]) -> None:
    from prep.image_check import MAX_PIXELS
    from prep.image_check import ImageRejected
    from prep.image_check import sniff_media_type
    from prep.image_check import verify_image

    data, declared = case
    try:
        found = verify_image(data, declared=declared)
    except ImageRejected as exc:
        if exc.motivo not in _MOTIVOS or not spanish(exc.mensaje):
            raise Violation(f"image refused with motivo {exc.motivo!r}: {exc.mensaje}"
                            ) from None
        return
    if found.width * found.height > MAX_PIXELS:
        raise Violation("an image over the pixel limit was accepted")
    if found.media_type != sniff_media_type(data):
        raise Violation("accepted as another type than its first bytes say")


IMAGE = Target("image", "prep.image_check.verify_image (hot folder, blob upload, PREP "
               "Casilla) on mutated real images, bombs and declared types",
               _image_strategy, _image_check)
