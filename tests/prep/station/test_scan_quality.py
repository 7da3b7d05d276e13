"""Quality checks of a scanned acta: each bad image fails with its own reason (and a
Spanish message an operator can act on), a good one passes, and the original bytes are
what the report describes (nothing is re-encoded)."""

from __future__ import annotations

import io
import random

import pytest
import segno
import zxingcpp
from PIL import Image

from prep.catalog import Catalog
from prep.qr import ActaCodec
from prep.sintetico.acta_image import acta_qr_text
from prep.sintetico.acta_image import blank_page
from prep.station.scan.quality import ANALYSIS_SIDE
from prep.station.scan.quality import INK_LEVEL
from prep.station.scan.quality import Motivo
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.quality import check_image
from prep.station.scan.quality import decode_problem
from tests.prep.station.scan_support import acta_jpeg
from tests.prep.station.scan_support import nth_acta

pytestmark = pytest.mark.rapido


def test_a_good_scan_passes_and_names_its_acta(small: Catalog) -> None:
    acta = nth_acta(small, 4)
    report = check_image(acta_jpeg(acta, skew_degrees=-2.0), codec=ActaCodec(small))
    assert report.ok, report.mensaje
    assert report.acta is acta and report.media_type == "image/jpeg"
    assert report.mensaje == ""
    assert decode_problem(acta_jpeg(acta)) is None


def test_a_file_checked_after_another_was_looked_at_is_read_for_itself(
        small: Catalog) -> None:
    """The hot folder first asks whether a file decodes, then checks it: the page
    decoded by the first question serves the check of those same bytes only, never
    another file's (a check of the wrong page would store an image under the wrong
    acta), and a policy's size limit still applies to it."""
    first, second = nth_acta(small, 1), nth_acta(small, 3)
    codec = ActaCodec(small)
    a, b = acta_jpeg(first), acta_jpeg(second)
    assert decode_problem(a) is None
    assert check_image(b, codec=codec).acta is second
    assert decode_problem(a) is None
    assert check_image(a, codec=codec).acta is first
    assert check_image(a, codec=codec).acta is first  # handed over once, then decoded
    assert decode_problem(b) is None
    tight = check_image(b, codec=codec, policy=QualityPolicy(max_bytes=len(b) - 1))
    assert tight.motivos == {Motivo.DEMASIADO_GRANDE}
    assert check_image(b[:150_000], codec=codec).motivos == {Motivo.INCOMPLETA}


def test_a_colour_phone_photo_is_read_and_one_cut_short_is_incomplete(
        small: Catalog) -> None:
    """A PREP Casilla photo (colour JPEG, perspective, uneven light) is checked on its
    luminance: its QR is read and its ink measured as on the colour image; the same
    photo cut short is still found incomplete."""
    acta = nth_acta(small, 5)
    photo = acta_jpeg(acta, photo=True)
    with Image.open(io.BytesIO(photo)) as colour:
        assert colour.mode == "RGB"
        gray = colour.convert("L")
    report = check_image(photo, codec=ActaCodec(small), policy=QualityPolicy(min_dpi=150))
    assert report.acta is acta and report.media_type == "image/jpeg", report.mensaje
    scale = ANALYSIS_SIDE / max(report.width, report.height)
    histogram = gray.resize((round(report.width * scale), round(report.height * scale)),
                            Image.Resampling.NEAREST).histogram()
    assert report.ink == pytest.approx(sum(histogram[:110]) / sum(histogram), abs=0.005)
    cut = check_image(photo[:len(photo) * 2 // 3], codec=ActaCodec(small))
    assert cut.motivos == {Motivo.INCOMPLETA}


@pytest.mark.parametrize(("name", "make", "motivo", "words"), [
    ("blank", lambda a: blank_page(), Motivo.EN_BLANCO, "en blanco"),
    ("truncated jpeg", lambda a: acta_jpeg(a)[:150_000], Motivo.INCOMPLETA, "incompleta"),
    ("truncated png", lambda a: acta_jpeg(a, image_format="PNG")[:150_000],
     Motivo.INCOMPLETA, "incompleta"),
    ("150 dpi", lambda a: acta_jpeg(a, dpi=150), Motivo.RESOLUCION_BAJA, "150 dpi"),
    ("too skewed", lambda a: acta_jpeg(a, skew_degrees=9.0), Motivo.INCLINADA, "inclinada"),
    ("not a PREP QR", lambda a: acta_jpeg(a, qr_text="https://example.org/promo"),
     Motivo.QR_NO_ES_ACTA, "no es el de un acta"),
    ("another entidad", lambda a: acta_jpeg(a, qr_text="15|001|1|0001|01|B|00|01"),
     Motivo.QR_NO_ES_ACTA, "entidad 15"),
    ("no QR", lambda a: acta_jpeg(a, qr_text=""), Motivo.SIN_QR, "CLAVE_ACTA"),
    ("a PDF", lambda a: b"%PDF-1.7\n" + bytes(2000), Motivo.TIPO_NO_ADMITIDO, "JPEG, PNG ni TIFF"),
    ("empty", lambda a: b"", Motivo.VACIA, "vacío"),
])
def test_each_bad_image_fails_with_its_reason(small: Catalog, name: str, make: object,
                                              motivo: Motivo, words: str) -> None:
    acta = nth_acta(small, 2)
    data = make(acta)  # type: ignore[operator]
    report = check_image(data, codec=ActaCodec(small))
    assert not report.ok
    assert report.problems[0].motivo is motivo, report.mensaje
    assert words in report.mensaje
    assert len(report.problems) == 1, report.mensaje


def test_a_qr_of_another_acta_than_the_one_expected(small: Catalog) -> None:
    acta, other = nth_acta(small, 1), nth_acta(small, 2)
    report = check_image(acta_jpeg(other), codec=ActaCodec(small), expected_clave=acta.clave)
    assert report.motivos == {Motivo.QR_OTRA_ACTA}
    assert f"del acta {other.clave}, no de la {acta.clave}" in report.mensaje


def test_two_qr_of_different_actas_are_refused(small: Catalog) -> None:
    first, second = nth_acta(small, 1), nth_acta(small, 2)
    page = Image.open(io.BytesIO(acta_jpeg(first, image_format="PNG")))
    other = Image.open(io.BytesIO(acta_jpeg(second, image_format="PNG")))
    qr_box = (other.width - 420, 0, other.width, 420)  # the other acta's QR corner
    page.paste(other.crop(qr_box), (other.width - 420, 900))
    out = io.BytesIO()
    page.save(out, "PNG", dpi=(200, 200))
    report = check_image(out.getvalue(), codec=ActaCodec(small))
    assert report.motivos == {Motivo.QR_VARIAS_ACTAS}
    assert first.clave in report.mensaje and second.clave in report.mensaje


def _coarse_grained_qr(text: str) -> Image.Image:
    """A QR with coarse modules under heavy grain (a close-up photo of a label): zxing-cpp
    reads it only on its downscaled copies of the page (seeded noise: the same image in
    every run)."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=16, border=4)
    qr = Image.open(png).convert("L")
    noise = Image.frombytes("L", qr.size, random.Random(7).randbytes(qr.width * qr.height))
    return Image.blend(qr, noise, 0.5)


def _full_resolution_qrs(page: Image.Image) -> list[str]:
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in zxingcpp.read_barcodes(page, formats=formats, try_invert=False,
                                                   try_downscale=False) if b.valid]


def _png(page: Image.Image, dpi: int) -> bytes:
    data = io.BytesIO()
    page.save(data, "PNG", dpi=(dpi, dpi))
    return data.getvalue()


def test_a_qr_found_only_on_a_downscaled_page_is_still_read(small: Catalog) -> None:
    """A page whose QR full resolution cannot read (coarse modules under grain, as a
    phone takes) is read on zxing-cpp's downscaled copies, and names its acta."""
    acta = nth_acta(small, 2)
    page = Image.new("L", (850, 1100), 255)
    page.paste(_coarse_grained_qr(acta_qr_text(acta)), (160, 200))
    assert _full_resolution_qrs(page) == []
    report = check_image(_png(page, 100), codec=ActaCodec(small),
                         policy=QualityPolicy(min_dpi=100))
    assert report.ok and report.acta is acta, report.mensaje
    assert report.qr_texts == (acta_qr_text(acta),)


def test_a_second_qr_read_only_downscaled_still_refuses_the_page(small: Catalog) -> None:
    """An acta whose own QR reads at full resolution, with another acta's code stuck on
    it that only the downscaled copies read: both are reported and the page refused,
    not stored under the first."""
    first, second = nth_acta(small, 1), nth_acta(small, 2)
    page = Image.open(io.BytesIO(acta_jpeg(first, dpi=100, image_format="PNG"))).convert("L")
    page.paste(_coarse_grained_qr(acta_qr_text(second)), (120, 450))
    assert _full_resolution_qrs(page) == [acta_qr_text(first)]
    report = check_image(_png(page, 100), codec=ActaCodec(small),
                         policy=QualityPolicy(min_dpi=100))
    assert report.motivos == {Motivo.QR_VARIAS_ACTAS}, report.mensaje
    assert set(report.qr_texts) == {acta_qr_text(first), acta_qr_text(second)}


def test_resolution_without_metadata_is_estimated_from_a_letter_page(small: Catalog) -> None:
    acta = nth_acta(small)
    image = Image.open(io.BytesIO(acta_jpeg(acta, image_format="PNG")))
    small_copy = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    for size, expected_ok in ((image, True), (small_copy, False)):
        out = io.BytesIO()
        size.save(out, "PNG")  # no pHYs chunk: no dpi in the file
        report = check_image(out.getvalue())
        assert report.dpi_estimated
        assert (Motivo.RESOLUCION_BAJA not in report.motivos) is expected_ok, report.mensaje
    assert "estimada por su tamaño" in report.mensaje


def test_an_all_black_page_is_refused() -> None:
    out = io.BytesIO()
    Image.new("L", (1700, 2200), 10).save(out, "JPEG", dpi=(200, 200))
    report = check_image(out.getvalue())
    assert report.motivos == {Motivo.NEGRA}


def test_a_tiff_scan_is_accepted(small: Catalog) -> None:
    acta = nth_acta(small, 6)
    out = io.BytesIO()
    Image.open(io.BytesIO(acta_jpeg(acta, image_format="PNG"))).save(
        out, "TIFF", compression="tiff_lzw", dpi=(300, 300))
    report = check_image(out.getvalue(), codec=ActaCodec(small))
    assert report.ok, report.mensaje
    assert report.media_type == "image/tiff" and report.dpi == 300


def test_a_site_may_tighten_the_policy(small: Catalog) -> None:
    data = acta_jpeg(nth_acta(small), skew_degrees=2.0)
    strict = QualityPolicy(min_dpi=300, max_skew_degrees=1.0, max_bytes=100_000)
    assert check_image(data, policy=strict).motivos == {Motivo.DEMASIADO_GRANDE}
    report = check_image(data, policy=QualityPolicy(min_dpi=300, max_skew_degrees=1.0))
    assert report.motivos == {Motivo.RESOLUCION_BAJA, Motivo.INCLINADA}


@pytest.mark.parametrize("shade", [0, 60, 109, 110, 200, 255])
def test_the_ink_share_counts_the_pixels_darker_than_the_ink_level(shade: int) -> None:
    """The report's ink share is the fraction of the reduced page darker than
    INK_LEVEL: a page half of one shade and half white gives half or nothing."""
    page = Image.new("L", (850, 1100), 255)
    page.paste(shade, (0, 0, 850, 550))
    data = io.BytesIO()
    page.save(data, "PNG", dpi=(100, 100))
    report = check_image(data.getvalue())
    assert report.ink == pytest.approx(0.5 if shade < INK_LEVEL else 0.0, abs=0.002)
