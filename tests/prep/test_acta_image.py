"""Synthetic Acta PREP images: their QR reads back (with zxing-cpp, as the station reads
it) as the acta's own code, skewed or not, scan or phone photo; they carry the dpi asked
for; numbers are written in Spanish words; Ilegible and Sin dato fields look so."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from prep.catalog import Catalog
from prep.catalog.model import Acta
from prep.qr import ActaCodec
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import ImageFormat
from prep.sintetico.acta_image import acta_qr_text
from prep.sintetico.acta_image import numero_en_letras
from prep.sintetico.acta_image import render_acta_image
from prep.station.scan.quality import check_image
from prep.values import Marca
from prep.values import Valor

pytestmark = pytest.mark.rapido


def _acta(catalog: Catalog, n: int = 0) -> Acta:
    return list(catalog.iter_actas())[n]


def _valores(acta: Acta) -> dict[str, Valor]:
    return {campo: (i * 37) % 400 for i, campo in enumerate(acta.layout.campos)}


def _qr_texts(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    return [b.text for b in zxingcpp.read_barcodes(image) if b.valid]


@pytest.mark.parametrize(("skew", "image_format", "dpi"), [
    (0.0, "JPEG", 200), (2.0, "JPEG", 200), (-3.0, "JPEG", 200), (2.5, "PNG", 200),
    (-2.0, "JPEG", 300), (3.0, "PNG", 300)])
def test_the_qr_reads_back_as_the_actas_code(small: Catalog, skew: float,
                                            image_format: ImageFormat, dpi: int) -> None:
    acta = _acta(small, 5)
    data = render_acta_image(acta, _valores(acta), ActaImageOptions(
        dpi=dpi, skew_degrees=skew, image_format=image_format, seed=11))
    texts = _qr_texts(data)
    assert texts == [acta_qr_text(acta)]
    assert ActaCodec(small).decode(texts[0]) is acta
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == image_format
        assert round(image.info["dpi"][0]) == dpi
        assert image.size == (round(8.5 * dpi), round(11 * dpi))


def test_the_qr_is_the_public_pipe_form(small: Catalog) -> None:
    acta = _acta(small)
    c = acta.casilla
    assert acta_qr_text(acta) == (f"09|{c.distrito_id:03d}|{acta.eleccion.tipo_acta}|"
                                  f"{c.seccion:04d}|{c.id_casilla:02d}|{c.tipo}|"
                                  f"{c.ext_contigua:02d}|{acta.eleccion.codigo}")


def test_a_good_scan_passes_every_quality_check(small: Catalog) -> None:
    acta = _acta(small, 9)
    report = check_image(render_acta_image(acta, _valores(acta),
                                           ActaImageOptions(skew_degrees=1.5)),
                         codec=ActaCodec(small))
    assert report.ok, report.mensaje
    assert report.acta is acta
    assert report.dpi == 200 and not report.dpi_estimated
    assert report.skew_degrees is not None and 0.5 < abs(report.skew_degrees) < 3


def test_a_phone_photo_is_rgb_without_dpi_and_its_qr_reads(small: Catalog) -> None:
    acta = _acta(small, 3)
    data = render_acta_image(acta, _valores(acta), ActaImageOptions(photo=True, seed=4))
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert "dpi" not in image.info
    report = check_image(data, codec=ActaCodec(small))
    assert report.ok, report.mensaje
    assert report.acta is acta and report.dpi_estimated


def test_ilegible_fields_are_smudged_and_sin_dato_fields_empty(small: Catalog) -> None:
    acta = _acta(small)
    campos = acta.layout.campos

    def ink(valores: dict[str, Valor]) -> float:
        report = check_image(render_acta_image(acta, valores, ActaImageOptions(noise=False)))
        assert report.ink is not None
        return report.ink

    numbers = _valores(acta)
    sin_dato = {**numbers, **dict.fromkeys(campos[:6], Marca.SIN_DATO)}
    ilegible = {**numbers, **dict.fromkeys(campos[:6], Marca.ILEGIBLE)}
    assert ink(sin_dato) < ink(numbers) < ink(ilegible)


def test_the_same_seed_renders_the_same_bytes(small: Catalog) -> None:
    acta = _acta(small)
    options = ActaImageOptions(skew_degrees=1.0, seed=3)
    assert render_acta_image(acta, _valores(acta), options) == \
        render_acta_image(acta, _valores(acta), options)


@pytest.mark.parametrize(("n", "words"), [
    (0, "cero"), (1, "uno"), (15, "quince"), (16, "dieciséis"), (21, "veintiuno"),
    (22, "veintidós"), (30, "treinta"), (31, "treinta y uno"), (100, "cien"),
    (101, "ciento uno"), (120, "ciento veinte"), (199, "ciento noventa y nueve"),
    (500, "quinientos"), (555, "quinientos cincuenta y cinco"), (1000, "mil"),
    (1001, "mil uno"), (2024, "dos mil veinticuatro"),
    (9999, "nueve mil novecientos noventa y nueve")])
def test_numbers_in_spanish_words(n: int, words: str) -> None:
    assert numero_en_letras(n) == words


def test_bad_options_are_refused(small: Catalog) -> None:
    acta = _acta(small)
    with pytest.raises(ValueError, match="dpi"):
        render_acta_image(acta, {}, ActaImageOptions(dpi=10))
    with pytest.raises(ValueError, match="fuera de"):
        numero_en_letras(10000)
