"""Synthetic Acta PREP images for drills and tests (issue 9): what a digitalizador's
scanner, or a CAE's phone, would produce.

The page is letter size at the chosen resolution: a header (entidad, distrito, sección,
casilla, elección), the acta's QR in the public simulacro generator's pipe form (the
form :mod:`prep.qr` reads), and one row per captured field with the number and the
number in Spanish words, as the funcionarios write them. Ilegible fields are smudged
over, Sin dato fields left empty. Then what a scanner adds: a slight skew, faint
grain and specks of dust; or, for a PREP Casilla photo, perspective, uneven light and
the table around the sheet. Rendering is fast enough to feed a full-scale drill
(``bench/acta_image.py`` measures it): fonts, glyphs, the grain layer and a few grained
copies of each blank form are made once per process, and the page is drawn in 8-bit
grayscale.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import zxingcpp
from PIL import Image
from PIL import ImageChops
from PIL import ImageDraw
from PIL import ImageFont

from prep.catalog.model import TIPOS_CASILLA
from prep.catalog.model import Acta
from prep.catalog.model import Catalog
from prep.qr import ENTIDAD_CAPACITACION
from prep.qr import training_qr_text
from prep.values import Marca
from prep.values import Valor

LETTER_INCHES = (8.5, 11.0)
MIN_DPI, MAX_DPI = 72, 600
INK = 20  # printed form: near black
PEN = 45  # handwriting: dark, a little lighter than print
GRAIN_MAX = 14  # at most this much darker than the paper, per pixel
GRAIN_VARIANTS = 3  # grained copies of each blank form, each a different grain window
LIGHT_VARIANTS = 16  # directions the light of a PREP Casilla photo comes from

ImageFormat = Literal["JPEG", "PNG"]

CAMPO_ETIQUETAS: dict[str, str] = {
    "TOTAL_BOLETAS_SOBRANTES": "BOLETAS SOBRANTES",
    "TOTAL_PERSONAS_VOTARON": "PERSONAS QUE VOTARON",
    "TOTAL_REP_PARTIDO_CI_VOTARON": "REPRESENTANTES QUE VOTARON",
    "TOTAL_VOTOS_SACADOS": "VOTOS SACADOS DE LA URNA",
    "NO_REGISTRADAS": "CANDIDATURAS NO REGISTRADAS",
    "NULOS": "VOTOS NULOS",
    "TOTAL_VOTOS_ASENTADO": "TOTAL DE VOTOS",
}


@dataclass(frozen=True)
class ActaImageOptions:
    """How to render one acta image.

    ``qr_text``: ``None`` prints the acta's own QR (:func:`acta_qr_text`); a string
    prints that instead (another acta's, or garbage, for tests and incidents); ``""``
    prints no QR. ``photo`` renders a PREP Casilla phone photo (RGB JPEG, no dpi
    metadata, as phones write none worth trusting) instead of a scan.
    """

    dpi: int = 200
    skew_degrees: float = 0.0
    image_format: ImageFormat = "JPEG"
    jpeg_quality: int = 85
    noise: bool = True
    photo: bool = False
    seed: int = 0
    qr_text: str | None = None


def acta_qr_text(acta: Acta) -> str:
    """The QR the acta carries, in the public simulacro generator's pipe form:
    ``ID_ENTIDAD|ID_DISTRITO|TIPO_ACTA|SECCION|ID_CASILLA|TIPO_CASILLA|EXT_CONTIGUA|
    ID_TIPO_CANDIDATURA``."""
    c, e = acta.casilla, acta.eleccion
    pipe = "|".join((f"{c.entidad_id:02d}", f"{c.distrito_id:03d}", acta.tipo_acta,
                     f"{c.seccion:04d}", f"{c.id_casilla:02d}", c.tipo,
                     f"{c.ext_contigua:02d}", e.codigo))
    # A practice acta's QR carries the training mark (issue 62).
    return training_qr_text(pipe) if c.entidad_id == ENTIDAD_CAPACITACION else pipe


def render_acta_image(acta: Acta, valores: Mapping[str, Valor],
                      options: ActaImageOptions = ActaImageOptions(),
                      catalog: Catalog | None = None) -> bytes:
    """The encoded image (JPEG or PNG bytes) of ``acta`` filled in with ``valores``
    (fields absent from ``valores`` are left empty, like Sin dato). ``catalog`` only
    adds the entidad's name to the header."""
    _check(options)
    rng = random.Random(options.seed)
    page = _draw_form(acta, valores, options, rng, catalog)
    if options.photo:
        return _encode(_photograph(page, rng), options, dpi=None)
    if options.noise:
        _dust(page, rng)
    if options.skew_degrees:
        # Nearest-neighbour keeps the page crisp like a 1-pass scan and is 4× faster
        # than bilinear on a full page.
        page = page.rotate(options.skew_degrees, resample=Image.Resampling.NEAREST,
                           fillcolor=250)
    return _encode(page, options, dpi=options.dpi)


def blank_page(options: ActaImageOptions = ActaImageOptions()) -> bytes:
    """A sheet with nothing on it (a scan of the back side, a blank page fed twice),
    with the same scanner grain as an acta."""
    _check(options)
    rng = random.Random(options.seed)
    w, h = _page_size(options.dpi)
    page = Image.new("L", (w, h), 250)
    if options.noise:
        page = _scanner_grain(page, rng)
    return _encode(page, options, dpi=options.dpi)


def numero_en_letras(n: int) -> str:
    """``n`` (0–9999) in Spanish words as written on an acta: 120 → ``ciento veinte``."""
    if not 0 <= n <= 9999:
        raise ValueError(f"{n} fuera de 0–9999")
    if n == 0:
        return "cero"
    miles, resto = divmod(n, 1000)
    partes: list[str] = []
    if miles:
        partes.append("mil" if miles == 1 else f"{_UNIDADES[miles]} mil")
    if resto:
        partes.append(_centenas(resto))
    return " ".join(partes)


_UNIDADES = ("", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
             "diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete",
             "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés",
             "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho",
             "veintinueve")
_DECENAS = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta",
            "noventa")
_CENTENAS = ("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos",
             "seiscientos", "setecientos", "ochocientos", "novecientos")


def _centenas(n: int) -> str:
    if n == 100:
        return "cien"
    c, r = divmod(n, 100)
    partes = [_CENTENAS[c]] if c else []
    if r < 30:
        if r:
            partes.append(_UNIDADES[r])
    else:
        d, u = divmod(r, 10)
        partes.append(_DECENAS[d] + (f" y {_UNIDADES[u]}" if u else ""))
    return " ".join(partes)


# drawing ----------------------------------------------------------------------------

def _check(options: ActaImageOptions) -> None:
    if not MIN_DPI <= options.dpi <= MAX_DPI:
        raise ValueError(f"dpi {options.dpi} fuera de {MIN_DPI}–{MAX_DPI}")
    if options.image_format not in ("JPEG", "PNG"):
        raise ValueError(f"formato {options.image_format!r}: use JPEG o PNG")


def _page_size(dpi: int) -> tuple[int, int]:
    return round(LETTER_INCHES[0] * dpi), round(LETTER_INCHES[1] * dpi)


@functools.lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:  # DejaVu missing (not a Debian station): Pillow's own font
        return ImageFont.load_default(size)


def _draw_form(acta: Acta, valores: Mapping[str, Valor], options: ActaImageOptions,
               rng: random.Random, catalog: Catalog | None) -> Image.Image:
    dpi = options.dpi
    w, _ = _page_size(dpi)
    u = dpi / 100  # one "unit" = 1/100 inch
    margin = round(50 * u)
    c, e = acta.casilla, acta.eleccion
    # The printed form (title, boxes, labels) is the same for every acta of a layout:
    # drawn once, copied per acta; only what the acta says is drawn on the copy.
    form = _form(e.nombre, acta.layout.campos, dpi)
    if options.noise and not options.photo:
        # The scanner's grain is on the paper before the ink: one of a few grained
        # copies of the blank form, instead of a grain pass over every page.
        page = _grained(e.nombre, acta.layout.campos, dpi,
                        rng.randrange(GRAIN_VARIANTS)).copy()
    else:
        page = form.page.copy()
    casilla = f"{TIPOS_CASILLA.get(c.tipo, c.tipo).upper()} {c.id_casilla:02d}"
    if c.ext_contigua:
        casilla += f" EXT. {c.ext_contigua:02d}"
    entidad = f"{c.entidad_id:02d}" + (f" {catalog.entidad}" if catalog else "")
    values = (entidad, f"{c.distrito_id:02d}", f"{c.seccion:04d}", casilla)
    value_size = round(14 * u)
    for (x, y), value in zip(form.header_values, values, strict=True):
        _text(page, (x, y), value, value_size, True, INK)

    qr_text = acta_qr_text(acta) if options.qr_text is None else options.qr_text
    if qr_text:
        qr = _qr_image(qr_text, module_px=max(2, round(dpi / 28)))
        page.paste(qr, (w - margin - qr.width, margin))
    _fill_fields(page, form, valores, u, rng)
    if c.entidad_id == ENTIDAD_CAPACITACION:
        page = _training_mark(page, u)
    return page


TRAINING_MARK = "CAPACITACIÓN"
TRAINING_BANNER = "CAPACITACIÓN · ACTA DE PRÁCTICA SIN VALIDEZ"


def _training_mark(page: Image.Image, u: float) -> Image.Image:
    """A practice acta says CAPACITACIÓN so that a person and a scanner see it: large
    grey letters across the page (under the ink, clear of the QR) and a banner along
    its foot."""
    w, h = page.size
    font = _font(round(80 * u), True)
    probe = ImageDraw.Draw(page)
    left, top, right, bottom = (round(v) for v in probe.textbbox((0, 0), TRAINING_MARK,
                                                                font=font))
    pad = round(10 * u)
    letters = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(letters).text((pad - left, pad - top), TRAINING_MARK, font=font,
                                 fill=160)
    turned = letters.rotate(30, expand=True, resample=Image.Resampling.BICUBIC,
                            fillcolor=255)
    layer = Image.new("L", (w, h), 255)
    layer.paste(turned, ((w - turned.width) // 2, (h - turned.height) // 2 + round(60 * u)))
    page = ImageChops.darker(page, layer)
    # Along the foot, below the last row of the form.
    _text(page, (round(50 * u), h - round(30 * u)), TRAINING_BANNER, round(14 * u), True,
          INK)
    return page


@dataclass(frozen=True)
class _Form:
    """A blank printed form and where its handwritten parts go."""

    page: Image.Image
    header_values: tuple[tuple[float, float], ...]
    rows: tuple[tuple[str, float, float], ...]  # (campo, y0, y1)
    row: float
    box: tuple[int, int, int, int]


@functools.lru_cache(maxsize=16)
def _form(eleccion: str, campos: tuple[str, ...], dpi: int) -> _Form:
    w, h = _page_size(dpi)
    u = dpi / 100
    page = Image.new("L", (w, h), 250)
    draw = ImageDraw.Draw(page)
    margin = round(50 * u)
    _text(page, (margin, margin), "ACTA PREP", round(28 * u), True, INK)
    _text(page, (margin, margin + 40 * u), f"ELECCIÓN: {eleccion}", round(15 * u), True, INK)
    small = round(9 * u)
    y = margin + 75 * u
    line = max(1, dpi // 100)
    spots: list[tuple[float, float]] = []
    for label in ("ENTIDAD", "DISTRITO LOCAL", "SECCIÓN", "CASILLA"):
        draw.rectangle((margin, y, margin + 480 * u, y + 34 * u), outline=INK, width=line)
        _text(page, (margin + 6 * u, y + 3 * u), label, small, False, INK)
        spots.append((margin + 150 * u, y + 8 * u))
        y += 38 * u
    box = (margin, round(y + 25 * u), w - margin, h - margin)
    left, top, right, bottom = box
    row = min((bottom - top) / max(1, len(campos)), 48 * u)
    line = max(1, round(u))
    label_size = round(11 * u)
    col_number, col_words = left + 330 * u, left + 480 * u
    rows: list[tuple[str, float, float]] = []
    for i, campo in enumerate(campos):
        y0 = top + i * row
        y1 = y0 + row - 4 * u
        draw.rectangle((left, y0, right, y1), outline=INK, width=line)
        draw.line((col_number, y0, col_number, y1), fill=INK, width=line)
        draw.line((col_words, y0, col_words, y1), fill=INK, width=line)
        _text(page, (left + 8 * u, y0 + 6 * u), CAMPO_ETIQUETAS.get(campo, campo), label_size,
              True, INK)
        rows.append((campo, y0, y1))
    return _Form(page, tuple(spots), tuple(rows), row, box)


def _fill_fields(page: Image.Image, form: _Form, valores: Mapping[str, Valor], u: float,
                 rng: random.Random) -> None:
    left, _, right, _ = form.box
    row = form.row
    number_size = round(min(24, row / u * 0.55) * u)
    words_size = round(min(15, row / u * 0.38) * u)
    col_number, col_words = left + 330 * u, left + 480 * u
    draw: ImageDraw.ImageDraw | None = None
    for campo, y0, y1 in form.rows:
        valor = valores.get(campo, Marca.SIN_DATO)
        if valor is Marca.SIN_DATO:
            continue
        number = str(valor) if isinstance(valor, int) else str(rng.randint(0, 400))
        words = numero_en_letras(int(number))
        jitter = rng.uniform(-3, 3) * u
        _text(page, (col_number + 20 * u + jitter, y0 + (row - 24 * u) / 2 - 4 * u), number,
              number_size, False, PEN)
        _text(page, (col_words + 12 * u + jitter, y0 + (row - 15 * u) / 2 - 4 * u), words,
              words_size, False, PEN)
        if valor is Marca.ILEGIBLE:
            draw = draw or ImageDraw.Draw(page)
            _smudge(draw, (col_number, y0, right, y1), u, rng)


def _text(page: Image.Image, xy: tuple[float, float], text: str, size: int, bold: bool,
          fill: int) -> None:
    """``text`` at ``xy`` (its top-left, as ``ImageDraw.text`` places it): the glyphs are
    rasterized once per (text, size) and pasted after, which is what makes a drill's
    tens of thousands of pages cheap (numbers and their words repeat)."""
    mask, (dx, dy) = _glyphs(text, size, bold)
    if mask is not None:
        page.paste(fill, (round(xy[0]) + dx, round(xy[1]) + dy), mask)


@functools.lru_cache(maxsize=8192)
def _glyphs(text: str, size: int, bold: bool) -> tuple[Image.Image | None, tuple[int, int]]:
    font = _font(size, bold)
    x0, y0, x1, y1 = (round(v) for v in font.getbbox(text))
    if x1 <= x0 or y1 <= y0:
        return None, (0, 0)
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).text((-x0, -y0), text, font=font, fill=255)
    return mask, (x0, y0)


def _smudge(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], u: float,
            rng: random.Random) -> None:
    """Ink spilled over both the number and the words: nobody can read them."""
    x0, y0, x1, y1 = box
    for _ in range(7):
        rx, ry = rng.uniform(30, 90) * u, rng.uniform(6, 14) * u
        cx, cy = rng.uniform(x0 + rx, x1 - rx), rng.uniform(y0 + ry, y1 - ry)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=rng.randint(40, 90))
    for _ in range(12):
        draw.line((rng.uniform(x0, x1), rng.uniform(y0, y1), rng.uniform(x0, x1),
                   rng.uniform(y0, y1)), fill=PEN, width=max(2, round(4 * u)))


def _qr_image(text: str, module_px: int) -> Image.Image:
    """The QR at an exact whole number of pixels per module, with its quiet zone."""
    # zxing-cpp's writer (the reader the stations use): 0.12 ms a code, against 0.5 ms
    # for segno even with its mask fixed; a drill makes one per acta image.
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    matrix = code.to_image(scale=1, add_quiet_zones=False)  # 0 dark, 255 light
    side = matrix.shape[1]
    pixels = bytes(memoryview(matrix))  # type: ignore[arg-type]  # zxingcpp.Image is a buffer
    small = Image.frombytes("L", (side, side), pixels)
    border = 4
    quiet = Image.new("L", (side + 2 * border, side + 2 * border), 255)
    quiet.paste(small, (border, border))
    return quiet.resize((quiet.width * module_px, quiet.height * module_px),
                        Image.Resampling.NEAREST)


# what scanners and phones add -------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _grain(size: tuple[int, int]) -> Image.Image:
    """A grain layer a little larger than the page (0 = no change, darker specks up to
    GRAIN_MAX); each image takes a random window of it, so no two look alike."""
    w, h = size
    noise = Image.effect_noise((w + 97, h + 89), 32)
    return noise.point([max(0, min(GRAIN_MAX, (v - 150) // 6)) for v in range(256)])


@functools.lru_cache(maxsize=16 * GRAIN_VARIANTS)  # as many layouts as _form
def _grained(eleccion: str, campos: tuple[str, ...], dpi: int, variant: int) -> Image.Image:
    """The blank form of a layout with grain window ``variant`` on it."""
    return _scanner_grain(_form(eleccion, campos, dpi).page,
                          random.Random(variant), dust=False)


def _scanner_grain(page: Image.Image, rng: random.Random, dust: bool = True) -> Image.Image:
    grain = _grain(page.size)
    dx, dy = rng.randrange(97), rng.randrange(89)
    page = ImageChops.subtract(page, grain.crop((dx, dy, dx + page.width, dy + page.height)))
    if dust:
        _dust(page, rng)
    return page


def _dust(page: Image.Image, rng: random.Random) -> None:
    draw = ImageDraw.Draw(page)
    for _ in range(rng.randint(5, 25)):  # dust on the glass
        x, y, r = rng.randrange(page.width), rng.randrange(page.height), rng.uniform(1, 3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(60, 160))


def _photograph(page: Image.Image, rng: random.Random) -> Image.Image:
    """The sheet on a table seen by a phone: tilted, in perspective, lit from one side."""
    w, h = page.size
    out_w, out_h = round(w * 1.12), round(h * 1.12)
    jitter = 0.035
    corners = [(out_w * 0.06 + rng.uniform(-jitter, jitter) * w,
                out_h * 0.06 + rng.uniform(-jitter, jitter) * h),
               (out_w * 0.94 + rng.uniform(-jitter, jitter) * w,
                out_h * 0.06 + rng.uniform(-jitter, jitter) * h),
               (out_w * 0.94 + rng.uniform(-jitter, jitter) * w,
                out_h * 0.94 + rng.uniform(-jitter, jitter) * h),
               (out_w * 0.06 + rng.uniform(-jitter, jitter) * w,
                out_h * 0.94 + rng.uniform(-jitter, jitter) * h)]
    coeffs = _perspective_coeffs(corners, [(0, 0), (w, 0), (w, h), (0, h)])
    # Warped and lit in grayscale (a third of the work), tinted warm at the end. Nearest
    # neighbour: the stepped edges of a cheap phone's photo, the QR as readable (400 of
    # 400 at 100 and 200 dpi), and 6 ms less per 100 dpi photo than bilinear (17.6 →
    # 11.6 ms for the warp; the drill's process renders ~4,800 photos at full scale).
    photo = page.transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs,
                           Image.Resampling.NEAREST, fillcolor=70)
    photo = ImageChops.multiply(photo, _light((out_w, out_h), rng.randrange(LIGHT_VARIANTS)))
    return Image.merge("RGB", (photo, photo.point(_GREEN), photo.point(_BLUE)))


@functools.lru_cache(maxsize=4 * LIGHT_VARIANTS)
def _light(size: tuple[int, int], variant: int) -> Image.Image:
    """The light falling on the sheet from one of ``LIGHT_VARIANTS`` sides (made once
    per size and side: scaling the gradient up to the page was a sixth of a photo)."""
    angle = variant * 360 / LIGHT_VARIANTS
    light = Image.linear_gradient("L").rotate(angle).resize(size)
    return light.point([175 + v * 80 // 255 for v in range(256)])


_GREEN = [v * 96 // 100 for v in range(256)]
_BLUE = [v * 86 // 100 for v in range(256)]


def _perspective_coeffs(dst: Sequence[tuple[float, float]],
                        src: Sequence[tuple[float, float]]) -> tuple[float, ...]:
    """Pillow's PERSPECTIVE coefficients mapping output points ``dst`` to input points
    ``src`` (8 equations, solved by Gaussian elimination)."""
    rows: list[list[float]] = []
    for (x, y), (sx, sy) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -sx * x, -sx * y, sx])
        rows.append([0, 0, 0, x, y, 1, -sy * x, -sy * y, sy])
    n = 8
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                f = rows[r][col] / rows[col][col]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[col], strict=True)]
    return tuple(rows[i][n] / rows[i][i] for i in range(n))


def _encode(image: Image.Image, options: ActaImageOptions, dpi: int | None) -> bytes:
    out = io.BytesIO()
    extra: dict[str, object] = {} if dpi is None else {"dpi": (dpi, dpi)}
    if options.image_format == "JPEG":
        image.save(out, "JPEG", quality=options.jpeg_quality, **extra)
    else:
        image.save(out, "PNG", compress_level=1, **extra)
    return out.getvalue()
