"""Is a scanned acta image good enough to store and capture from? (issue 5, item 3)

:func:`check_image` looks at the original bytes and never changes them (the station
stores and hashes exactly what the scanner wrote). It checks, in order:

1. **size and type**: at most :data:`MAX_IMAGE_BYTES`; JPEG, PNG or TIFF by its first
   bytes, and Pillow must agree;
2. **decodes**: Pillow's ``verify`` (structure, PNG checksums) and then a full decode,
   which is what finds a file cut short (a scanner still writing, a copy interrupted);
   a colour JPEG is decoded to its luminance only (every later check is on gray);
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
import io
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import cast

import zxingcpp
from PIL import Image, UnidentifiedImageError

from prep.catalog.model import Acta
from prep.protocol import MAX_BLOB_BYTES
from prep.qr import ActaCodec, CodeRejected

MAX_IMAGE_BYTES = MAX_BLOB_BYTES  # what the station and the central accept at all
MAX_PIXELS = 60_000_000  # a letter page at 600 dpi is 34 Mpx; more is a mistake or a bomb
LETTER_LONG_SIDE_INCHES = 11.0
INK_LEVEL = 110
ANALYSIS_SIDE = 400  # pixels on the long side of the sample used for statistics

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

MEDIA_TYPES: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff"}
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"))


class Motivo(enum.StrEnum):
    """Why an image was not accepted (stable ids for audit events and the UI)."""

    VACIA = "vacia"
    DEMASIADO_GRANDE = "demasiado_grande"
    TIPO_NO_ADMITIDO = "tipo_no_admitido"
    NO_DECODIFICA = "no_decodifica"
    INCOMPLETA = "incompleta"
    RESOLUCION_BAJA = "resolucion_baja"
    EN_BLANCO = "en_blanco"
    NEGRA = "negra"
    SIN_QR = "sin_qr"
    QR_NO_ES_ACTA = "qr_no_es_acta"
    QR_VARIAS_ACTAS = "qr_varias_actas"
    QR_OTRA_ACTA = "qr_otra_acta"
    INCLINADA = "inclinada"


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
        return not (self.motivos & UNREADABLE or Motivo.TIPO_NO_ADMITIDO in self.motivos
                    or Motivo.DEMASIADO_GRANDE in self.motivos)


def sniff_media_type(data: bytes) -> str | None:
    """The image type the first bytes announce, or ``None``."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    return None


def check_image(data: bytes, *, policy: QualityPolicy = DEFAULT_POLICY,
                codec: ActaCodec | None = None,
                expected_clave: str | None = None) -> QualityReport:
    """Check one image's original bytes (see the module docstring).

    With ``codec``, the QR must name a catalog acta (``report.acta``); with
    ``expected_clave`` too (a re-scan of a chosen acta), it must name that one.
    """
    image, problem = _open(data, policy)
    if image is None:
        assert problem is not None
        return QualityReport(len(data), sniff_media_type(data), problems=(problem,))
    with image:
        return _inspect(image, len(data), MEDIA_TYPES[image.format or ""], policy, codec,
                        expected_clave)


def decode_problem(data: bytes, policy: QualityPolicy = DEFAULT_POLICY) -> Problem | None:
    """Only steps 1–2 (size, type, decodes): ``None`` when ``data`` is a whole image.
    Cheap enough to ask again and again while a scanner may still be writing."""
    image, problem = _open(data, policy)
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


def _open(data: bytes, policy: QualityPolicy) -> tuple[Image.Image | None, Problem | None]:
    decoded = _handed_over(data)
    image, problem = _checked(data, policy, decoded)
    if image is None and decoded is not None:  # it decodes, but this policy refuses it
        decoded.close()
    return image, problem


def _checked(data: bytes, policy: QualityPolicy,
             decoded: Image.Image | None) -> tuple[Image.Image | None, Problem | None]:
    size = len(data)
    if not data:
        return None, Problem(Motivo.VACIA, "El archivo está vacío (0 bytes): vuelva a "
                             "digitalizar el acta.")
    if size > policy.max_bytes:
        return None, Problem(
            Motivo.DEMASIADO_GRANDE, f"La imagen mide {size / 2**20:.1f} MiB y el máximo es "
            f"{policy.max_bytes / 2**20:.0f} MiB: digitalice en escala de grises, JPEG, a "
            "200–300 dpi.")
    media_type = sniff_media_type(data)
    if media_type is None:
        return None, Problem(
            Motivo.TIPO_NO_ADMITIDO, "El archivo no es una imagen JPEG, PNG ni TIFF: "
            "configure el escáner para guardar en uno de esos formatos.")
    if decoded is not None:
        return decoded, None
    return _decode(data, media_type)


def _decode(data: bytes, media_type: str) -> tuple[Image.Image | None, Problem | None]:
    kind = media_type.removeprefix("image/").upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if MEDIA_TYPES.get(probe.format or "") != media_type:
                    raise UnidentifiedImageError(f"Pillow reads {probe.format}")
                if probe.width * probe.height > MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                probe.verify()
            image = Image.open(io.BytesIO(data))
            # Every check looks at the gray page: a colour JPEG (a phone photo) is decoded
            # straight to its luminance, a third of the work; the whole stream is still
            # read, so a file cut short is still found.
            image.draft("L", image.size)
            image.load()  # a file cut short fails here ("image file is truncated")
            return image, None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, Problem(Motivo.DEMASIADO_GRANDE, f"La imagen tiene más de "
                             f"{MAX_PIXELS // 1_000_000} millones de píxeles: digitalice a "
                             "200–300 dpi.")
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as exc:
        # Pillow says "truncated" for a file that ends early (and SyntaxError for
        # some broken PNG chunks): both mean the bytes are not a whole image.
        text = str(exc).lower()
        if "truncated" in text or "broken data stream" in text or "unexpected end" in text:
            return None, Problem(Motivo.INCOMPLETA, f"La imagen {kind} está incompleta (el "
                                 "archivo termina antes de tiempo): vuelva a digitalizar el "
                                 "acta.")
        return None, Problem(Motivo.NO_DECODIFICA, f"El archivo {kind} está dañado y no se "
                             "puede abrir como imagen: vuelva a digitalizar el acta.")


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
        problems.append(Problem(Motivo.EN_BLANCO, "La página está en blanco: revise que el "
                                "acta esté cara abajo en el escáner y vuelva a digitalizar."))
    elif ink > policy.max_ink:
        problems.append(Problem(Motivo.NEGRA, "La imagen salió casi negra: cierre la tapa del "
                                "escáner y vuelva a digitalizar."))
    barcodes = _read_qrs(gray)
    texts = tuple(b.text for b in barcodes)
    skew = _skew(barcodes[0]) if barcodes else None
    if skew is not None and abs(skew) > policy.max_skew_degrees:
        problems.append(Problem(Motivo.INCLINADA, f"El acta está inclinada {abs(skew):.1f}° "
                                f"(máximo {policy.max_skew_degrees:g}°): acomódela derecha "
                                "en el escáner y vuelva a digitalizar."))
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
