"""Is a scanned acta image good enough to store and capture from? (issue 5, item 3)

:func:`check_image` looks at the original bytes and never changes them (the station
stores and hashes exactly what the scanner wrote). It checks, in order:

1. **size and type**: at most :data:`MAX_IMAGE_BYTES`; JPEG, PNG or TIFF by its first
   bytes, Pillow must agree, and so must the type the file name declares (if given);
2. **a whole image and nothing else**: :func:`prep.image_check.verify_image`, the check
   the central repeats on every upload: the structure up to its end marker with nothing
   after it, at most :data:`MAX_PIXELS`, then a full decode, which is what finds a file
   cut short (a scanner still writing, a copy interrupted); a colour JPEG is decoded to
   its luminance only (every later check is on gray);
3. **resolution** ≥ ``min_dpi``: from the file's own metadata (JFIF/PNG pHYs/TIFF tags).
   When a file carries none (phones, some scanner software) it is *estimated* from the
   pixel size assuming the image spans a letter page (11 in on its long side): an Acta
   PREP is letter size or smaller, so the estimate never overstates the resolution of
   an acta that fills the image;
4. **not blank**: the share of ink pixels (darker than :data:`INK_LEVEL`) in a sample
   of the page; below ``min_ink`` the page is blank (a back side, an empty feed), above
   ``max_ink`` it is black (lid open, wrong exposure);
5. **the QR**: read with zxing-cpp (dark on light only, as printed); every QR found is
   reported (an acopio label stuck on the acta adds a second one). With a codec, each
   must name a catalog acta;
6. **skew**: the angle of the QR's top edge (zxing-cpp returns its corners), as a
   deviation from the nearest right angle; an image without a readable QR has no
   skew estimate (and already fails on its QR).

Every failure is a :class:`Problem` with a stable ``motivo`` and a Spanish message.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass
from dataclasses import field
from typing import cast

import zxingcpp
from PIL import Image

from prep import image_check
from prep.catalog.model import Acta
from prep.image_check import MAX_PIXELS
from prep.image_check import ImageRejected
from prep.image_check import sniff_media_type
from prep.image_check import verify_image
from prep.protocol import MAX_BLOB_BYTES
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.qr import Motivo as QrMotivo

__all__ = ["MAX_PIXELS", "sniff_media_type"]  # re-exported: the station's screens use them

MAX_IMAGE_BYTES = MAX_BLOB_BYTES  # what the station and the central accept at all
LETTER_LONG_SIDE_INCHES = 11.0
INK_LEVEL = 110
ANALYSIS_SIDE = 400  # pixels on the long side of the sample used for statistics

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

MEDIA_TYPES: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff"}


class Motivo(enum.StrEnum):
    """Why an image was not accepted (stable ids for audit events and the UI)."""

    VACIA = "vacia"
    DEMASIADO_GRANDE = "demasiado_grande"
    TIPO_NO_ADMITIDO = "tipo_no_admitido"
    TIPO_NO_COINCIDE = "tipo_no_coincide"
    DATOS_ANEXOS = "datos_anexos"
    NO_DECODIFICA = "no_decodifica"
    INCOMPLETA = "incompleta"
    RESOLUCION_BAJA = "resolucion_baja"
    EN_BLANCO = "en_blanco"
    NEGRA = "negra"
    SIN_QR = "sin_qr"
    QR_NO_ES_ACTA = "qr_no_es_acta"
    QR_VARIAS_ACTAS = "qr_varias_actas"
    QR_OTRA_ACTA = "qr_otra_acta"
    ACTA_DE_CAPACITACION = "acta_de_capacitacion"  # a practice acta (issue 62)
    INCLINADA = "inclinada"
    ENLACE_SIMBOLICO = "enlace_simbolico"  # the hot folder's: it never follows one


#: Failures that mean the file itself is unusable (as opposed to a readable image of
#: the wrong thing): the hot folder waits a little longer on these, since a scanner
#: may still be writing.
UNREADABLE = frozenset({Motivo.VACIA, Motivo.NO_DECODIFICA, Motivo.INCOMPLETA})


@dataclass(frozen=True)
class Problem:
    """One reason an image is not accepted; ``mensaje`` is for the operator."""

    motivo: Motivo
    mensaje: str


@dataclass(frozen=True)
class QualityPolicy:
    """The thresholds (defaults: issue 5; a site may tighten them)."""

    min_dpi: float = 200.0
    max_skew_degrees: float = 4.0
    min_ink: float = 0.004
    max_ink: float = 0.85
    max_bytes: int = MAX_IMAGE_BYTES
    #: What the operator does about a file that is not a whole image.
    again: str = "vuelva a digitalizar el acta"
    #: The images come from a scanner (the CATD) rather than a phone camera (PREP
    #: Casilla): the remedies then speak of the scanner's lid, glass and settings.
    scanner: bool = True


DEFAULT_POLICY = QualityPolicy()


@dataclass(frozen=True)
class QualityReport:
    """What :func:`check_image` found. ``ok`` when there are no problems."""

    bytes: int
    media_type: str | None = None
    width: int = 0
    height: int = 0
    dpi: float | None = None
    dpi_estimated: bool = False
    ink: float | None = None
    skew_degrees: float | None = None
    qr_texts: tuple[str, ...] = ()
    acta: Acta | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def motivos(self) -> frozenset[Motivo]:
        return frozenset(p.motivo for p in self.problems)

    @property
    def mensaje(self) -> str:
        """All problems, one sentence each (empty when ok)."""
        return " ".join(p.mensaje for p in self.problems)

    @property
    def readable(self) -> bool:
        """Whether the file decoded at all (whatever else is wrong with it)."""
        return not (self.motivos & (UNREADABLE | _NOT_AN_IMAGE))


_NOT_AN_IMAGE = frozenset({Motivo.TIPO_NO_ADMITIDO, Motivo.TIPO_NO_COINCIDE,
                           Motivo.DATOS_ANEXOS, Motivo.DEMASIADO_GRANDE})


def check_image(data: bytes, *, policy: QualityPolicy = DEFAULT_POLICY,
                codec: ActaCodec | None = None, expected_clave: str | None = None,
                declared: str | None = None) -> QualityReport:
    """Check one image's original bytes (see the module docstring).

    With ``codec``, the QR must name a catalog acta (``report.acta``); with
    ``expected_clave`` too (a re-scan of a chosen acta), it must name that one.
    ``declared``: the type the file claims (:func:`prep.image_check.declared_by_name`).
    """
    image, problem = _open(data, policy, declared)
    if image is None:
        assert problem is not None
        return QualityReport(len(data), sniff_media_type(data), problems=(problem,))
    with image:
        return _inspect(image, len(data), MEDIA_TYPES[image.format or ""], policy, codec,
                        expected_clave)


def decode_problem(data: bytes, policy: QualityPolicy = DEFAULT_POLICY,
                   declared: str | None = None) -> Problem | None:
    """Only steps 1–2 (size, type, a whole image): ``None`` when ``data`` is a whole
    image (of the ``declared`` type, if given). Cheap enough to ask again and again
    while a scanner may still be writing."""
    image, problem = _open(data, policy, declared)
    if image is not None:
        # The hot folder asks this first and then checks the very same bytes: the
        # decoded page is kept for that check (one per thread) instead of decoding twice.
        _handover.last = (data, image)
    return problem


_handover = threading.local()


def _handed_over(data: bytes) -> Image.Image | None:
    """The page :func:`decode_problem` decoded from this very ``data`` object on this
    thread, if it was the last one; any other is closed."""
    last = getattr(_handover, "last", None)
    _handover.last = None
    if last is None:
        return None
    if last[0] is data:
        return cast(Image.Image, last[1])
    last[1].close()
    return None


def _open(data: bytes, policy: QualityPolicy,
          declared: str | None = None) -> tuple[Image.Image | None, Problem | None]:
    decoded = _handed_over(data)
    image, problem = _checked(data, policy, decoded, declared)
    if image is None and decoded is not None:  # it decodes, but this policy refuses it
        decoded.close()
    return image, problem


def _checked(data: bytes, policy: QualityPolicy, decoded: Image.Image | None,
             declared: str | None) -> tuple[Image.Image | None, Problem | None]:
    size = len(data)
    if not data:
        return None, Problem(Motivo.VACIA, f"El archivo está vacío (0 bytes): {policy.again}.")
    if size > policy.max_bytes:
        return None, Problem(
            Motivo.DEMASIADO_GRANDE, f"La imagen mide {size / 2**20:.1f} MiB y el máximo es "
            f"{policy.max_bytes / 2**20:.0f} MiB: digitalice en escala de grises, JPEG, a "
            "200–300 dpi.")
    if decoded is not None:
        return decoded, None
    try:
        verified = verify_image(data, declared=declared, keep_page=True)
    except ImageRejected as exc:
        return None, Problem(Motivo(exc.motivo), _with_remedy(exc, policy))
    return verified.page, None


def _with_remedy(exc: ImageRejected, policy: QualityPolicy) -> str:
    """The shared check says what is wrong with the file; this adds what to do."""
    remedy = {
        image_check.TIPO_NO_ADMITIDO: "configure el escáner para guardar en uno de esos "
                                      "formatos" if policy.scanner else policy.again,
        image_check.TIPO_NO_COINCIDE: "el nombre del archivo debe llevar la extensión de "
                                      f"su formato (.jpg, .png o .tif); {policy.again}",
        image_check.DEMASIADO_GRANDE: "digitalice a 200–300 dpi" if policy.scanner
                                      else policy.again,
    }.get(exc.motivo, policy.again)
    return f"{exc.mensaje.removesuffix('.')}: {remedy}."


def _inspect(image: Image.Image, size: int, media_type: str, policy: QualityPolicy,
             codec: ActaCodec | None, expected_clave: str | None) -> QualityReport:
    problems: list[Problem] = []
    dpi, estimated = _resolution(image)
    if dpi < policy.min_dpi:
        how = "estimada por su tamaño en píxeles" if estimated else "según el archivo"
        problems.append(Problem(Motivo.RESOLUCION_BAJA, f"La resolución es de {dpi:.0f} dpi "
                                f"({how}) y se necesitan al menos {policy.min_dpi:.0f}: "
                                "configure el escáner a 200 o 300 dpi y vuelva a digitalizar."))
    gray = image.convert("L") if image.mode != "L" else image
    ink = _ink(gray)
    if ink < policy.min_ink:
        problems.append(Problem(Motivo.EN_BLANCO, "La página está en blanco: " + (
            "revise que el acta esté cara abajo en el escáner y vuelva a digitalizar."
            if policy.scanner else f"{policy.again}.")))
    elif ink > policy.max_ink:
        problems.append(Problem(Motivo.NEGRA, "La imagen salió casi negra: " + (
            "cierre la tapa del escáner y vuelva a digitalizar." if policy.scanner
            else f"{policy.again}, tomada con luz.")))
    barcodes = _read_qrs(gray)
    texts = tuple(b.text for b in barcodes)
    skew = _skew(barcodes[0]) if barcodes else None
    if skew is not None and abs(skew) > policy.max_skew_degrees:
        problems.append(Problem(Motivo.INCLINADA, f"El acta está inclinada {abs(skew):.1f}° "
                                f"(máximo {policy.max_skew_degrees:g}°): " + (
                                    "acomódela derecha en el escáner y vuelva a digitalizar."
                                    if policy.scanner else f"{policy.again}.")))
    acta = None
    if not texts:
        if policy.min_ink <= ink <= policy.max_ink:  # a blank page has no QR to mention
            problems.append(Problem(Motivo.SIN_QR, "No se pudo leer el QR del acta: vuelva a "
                                    "digitalizarla o asóciela a mano escribiendo su "
                                    "CLAVE_ACTA."))
    elif codec is not None:
        acta, problem = _resolve(codec, texts, expected_clave)
        if problem is not None:
            problems.append(problem)
    return QualityReport(size, media_type, image.width, image.height, dpi, estimated, ink,
                         skew, texts, acta, tuple(problems))


def _resolution(image: Image.Image) -> tuple[float, bool]:
    raw = image.info.get("dpi")
    if isinstance(raw, tuple) and len(raw) == 2:
        try:
            dpi = min(float(raw[0]), float(raw[1]))
        except (TypeError, ValueError):
            dpi = 0.0
        if dpi >= 1:  # some writers store 0/0 for "unknown"
            # PNG stores pixels per metre: 200 dpi comes back as 199.9996.
            return round(dpi, 1), False
    return round(max(image.width, image.height) / LETTER_LONG_SIDE_INCHES, 1), True


def _ink(gray: Image.Image) -> float:
    # A sample of the page, every n-th pixel (nearest neighbour, straight from the page:
    # no copy first). The share is a statistic: 400 px on the long side (≈125,000
    # pixels) put it within half a point of an 800 px sample, and the histogram, most
    # of the cost, is a quarter (100 dpi page: 1.45 → 0.38 ms; 200 dpi: 2.0 → 0.6).
    # numpy would count faster still, but the installed programs leave it out (≈70 MB).
    width, height = gray.size
    scale = ANALYSIS_SIDE / max(width, height)
    sample = gray if scale >= 1 else gray.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))),
        Image.Resampling.NEAREST)
    histogram = sample.histogram()
    total = sum(histogram) or 1
    return sum(histogram[:INK_LEVEL]) / total


def _read_qrs(gray: Image.Image) -> list[zxingcpp.Barcode]:
    """Every valid QR code on the page. Dark on light only: an acta's QR (and an acopio
    label's) is printed dark on light, and looking for light-on-dark codes was a second
    pass over every page. zxing-cpp's downscaled copies of the page are searched too,
    whatever the full-resolution pass found: a coarse or blurred second code (a label in
    a phone photo) may be readable only there, and it must still be reported."""
    return [b for b in zxingcpp.read_barcodes(gray, formats=_QR, try_invert=False)
            if b.valid]


def _skew(barcode: zxingcpp.Barcode) -> float:
    """Degrees, positive when the page is turned clockwise as seen on screen."""
    pos = barcode.position
    dx = pos.top_right.x - pos.top_left.x
    dy = pos.top_right.y - pos.top_left.y
    angle = math.degrees(math.atan2(dy, dx))
    # Deviation from the nearest right angle: a page fed sideways is turned, not skewed.
    return (angle + 45.0) % 90.0 - 45.0


def _resolve(codec: ActaCodec, texts: tuple[str, ...],
             expected_clave: str | None) -> tuple[Acta | None, Problem | None]:
    actas: dict[str, Acta] = {}
    rejected: list[CodeRejected] = []
    for text in texts:
        try:
            acta = codec.decode(text)
        except CodeRejected as exc:
            rejected.append(exc)
            continue
        actas[acta.clave] = acta
    training = [r for r in rejected if r.motivo is QrMotivo.CAPACITACION]
    if training:  # whatever else the page holds: practice material is never stored
        return None, Problem(Motivo.ACTA_DE_CAPACITACION, f"No se guardó: {training[0].mensaje}")
    if not actas:
        return None, Problem(Motivo.QR_NO_ES_ACTA, f"El QR leído no es el de un acta de este "
                             f"PREP: {rejected[0].mensaje}")
    if len(actas) > 1:
        claves = ", ".join(sorted(actas))
        return None, Problem(Motivo.QR_VARIAS_ACTAS, f"La imagen tiene QR de varias actas "
                             f"({claves}): digitalice cada acta por separado.")
    (clave, acta), = actas.items()
    if expected_clave is not None and clave != expected_clave:
        return acta, Problem(Motivo.QR_OTRA_ACTA, f"El QR es del acta {clave}, no de la "
                             f"{expected_clave} que se iba a digitalizar: revise el papel.")
    return acta, None
