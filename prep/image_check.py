"""Is this file really the image it says it is? (issue 36)

The central publishes every acta image byte for byte next to its SHA-256, so the bytes
a station or PREP Casilla hands over must be a plain image of one of the accepted types
and nothing else: a page of HTML after a PNG, or a JPEG announced as PNG, would be
served to the public from the PREP's own site. :func:`verify_image` is the one check
the scanner's hot folder, the central's blob upload and the PREP Casilla intake share.
It never changes the bytes (the published bytes are the hashed bytes); it:

1. recognises the type by the first bytes (JPEG, PNG, TIFF) and, when the caller knows
   a declared type (a file's extension, a ``Content-Type``), requires the two to agree;
2. walks the file's structure to its end marker (PNG ``IEND``, JPEG ``EOI``; for TIFF,
   the furthest byte its directories point at) and refuses anything after it, and a
   PNG chunk whose CRC is wrong;
3. reads the header's size and refuses more than :data:`MAX_PIXELS` before decoding
   (a decompression bomb is a few kilobytes that decode to gigabytes);
4. decodes every pixel with Pillow (a JPEG at 1/8 scale unless the caller keeps the
   page: the whole entropy-coded stream is still read, the inverse DCT mostly skipped).

Failures raise :class:`ImageRejected` with a stable ``motivo`` and a Spanish sentence
saying what is wrong with the file; each caller adds what its operator should do.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from PIL import Image
from PIL import UnidentifiedImageError

#: A letter page at 600 dpi is 34 Mpx; more is a mistake or a decompression bomb.
MAX_PIXELS = 60_000_000

JPEG, PNG, TIFF = "image/jpeg", "image/png", "image/tiff"
_PILLOW_FORMATS = {"JPEG": JPEG, "PNG": PNG, "TIFF": TIFF}
_NAMES = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF"}
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG),
    (b"II*\x00", TIFF), (b"MM\x00*", TIFF))
#: File extensions scanners and phones use, by the type they announce.
EXTENSIONS: dict[str, str] = {
    ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".jfif": JPEG, ".png": PNG,
    ".tif": TIFF, ".tiff": TIFF}

# motivos (stable ids: audit events, anomalies, the station's reasons)
VACIA = "vacia"
TIPO_NO_ADMITIDO = "tipo_no_admitido"
TIPO_NO_COINCIDE = "tipo_no_coincide"
NO_DECODIFICA = "no_decodifica"
INCOMPLETA = "incompleta"
DATOS_ANEXOS = "datos_anexos"
DEMASIADO_GRANDE = "demasiado_grande"

_MAX_PNG_CHUNKS = 100_000
_MAX_TIFF_IFDS = 64


class ImageRejected(ValueError):
    """The bytes are not a whole image of an accepted (and the declared) type."""

    def __init__(self, motivo: str, mensaje: str) -> None:
        super().__init__(mensaje)
        self.motivo = motivo
        self.mensaje = mensaje


@dataclass(frozen=True)
class VerifiedImage:
    """What :func:`verify_image` found; ``page`` is the decoded page in gray (only when
    asked to keep it; the caller closes it)."""

    media_type: str
    width: int
    height: int
    page: Image.Image | None = None


def sniff_media_type(data: bytes) -> str | None:
    """The image type the first bytes announce, or ``None``."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    return None


def declared_by_name(name: str) -> str | None:
    """The type a file name announces by its extension: ``None`` without an extension,
    ``""`` for an extension that is not an image's (``.txt``, ``.html``)."""
    suffix = PurePath(name).suffix.lower()
    if not suffix:
        return None
    return EXTENSIONS.get(suffix, "")


def verify_image(data: bytes, *, declared: str | None = None, keep_page: bool = False,
                 max_pixels: int = MAX_PIXELS) -> VerifiedImage:
    """Check ``data`` (see the module docstring); ``declared``: the type the file is
    said to be (``""``: said to be something that is no image). With ``keep_page`` the
    page is decoded at full size in gray and returned open."""
    if not data:
        raise ImageRejected(VACIA, "El archivo está vacío (0 bytes).")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise ImageRejected(TIPO_NO_ADMITIDO, "El archivo no es una imagen JPEG, PNG ni "
                            "TIFF.")
    kind = _NAMES[media_type]
    if declared is not None and declared != media_type:
        said = (f"una imagen {_NAMES[declared]}" if declared in _NAMES
                else f"«{declared}»" if declared else "un archivo que no es imagen")
        raise ImageRejected(TIPO_NO_COINCIDE, f"El archivo se presenta como {said} pero su "
                            f"contenido es {kind}.")
    end = _STRUCTURE_END[media_type](data, kind)
    if end < len(data):
        raise ImageRejected(DATOS_ANEXOS, f"La imagen {kind} trae {len(data) - end:,} bytes "
                            "de otro contenido pegados después de su fin.")
    return _decode(data, media_type, kind, keep_page, max_pixels)


def _decode(data: bytes, media_type: str, kind: str, keep_page: bool,
            max_pixels: int) -> VerifiedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            try:
                if _PILLOW_FORMATS.get(image.format or "") != media_type:
                    raise UnidentifiedImageError(f"Pillow reads {image.format}")
                width, height = image.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                # A colour JPEG (a phone photo) is decoded straight to its luminance; when
                # the page is not kept, at 1/8 scale: libjpeg still reads every coded
                # block (a stream cut short still fails) but skips most of the IDCT.
                image.draft("L", image.size if keep_page else (width // 8, height // 8))
                image.load()
            except BaseException:
                image.close()
                raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(DEMASIADO_GRANDE, f"La imagen tiene más de "
                            f"{max_pixels // 1_000_000} millones de píxeles.") from None
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, struct.error) as exc:
        text = str(exc).lower()
        if "truncated" in text or "broken data stream" in text or "unexpected end" in text:
            raise _incomplete(kind) from None
        raise _damaged(kind) from None
    if not keep_page:
        image.close()
        return VerifiedImage(media_type, width, height)
    return VerifiedImage(media_type, width, height, image)


def _incomplete(kind: str) -> ImageRejected:
    return ImageRejected(INCOMPLETA, f"La imagen {kind} está incompleta (el archivo termina "
                         "antes de tiempo).")


def _damaged(kind: str) -> ImageRejected:
    return ImageRejected(NO_DECODIFICA, f"El archivo {kind} está dañado y no se puede abrir "
                         "como imagen.")


# structure walks: each returns the offset just past the image's last byte -------------

def _png_end(data: bytes, kind: str) -> int:
    """Chunks from the signature to ``IEND``, each CRC checked (zlib: C speed)."""
    pos, size = 8, len(data)
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 12 > size:
            raise _incomplete(kind)
        length = int.from_bytes(data[pos:pos + 4], "big")
        end = pos + 12 + length
        if length > 0x7FFFFFFF:
            raise _damaged(kind)
        if end > size:
            raise _incomplete(kind)
        crc = int.from_bytes(data[end - 4:end], "big")
        if zlib.crc32(memoryview(data)[pos + 4:end - 4]) != crc:
            raise _damaged(kind)
        if data[pos + 4:pos + 8] == b"IEND":
            return end
        pos = end
    raise _damaged(kind)


# In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte) or a restart marker;
# anything else is the next marker (0xFF 0xFF: fill bytes before one).
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def _jpeg_end(data: bytes, kind: str) -> int:
    """Segments from SOI to EOI, skipping each scan's entropy-coded data."""
    pos, size = 2, len(data)
    while True:
        if pos + 2 > size:
            raise _incomplete(kind)
        if data[pos] != 0xFF:
            raise _damaged(kind)
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart markers, TEM: no length
            pos += 2
            continue
        if marker in (0x00, 0xD8):
            raise _damaged(kind)
        if pos + 4 > size:
            raise _incomplete(kind)
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            raise _damaged(kind)
        pos += 2 + length
        if pos > size:
            raise _incomplete(kind)
        if marker == 0xDA:  # SOS: the scan's data runs to the next marker
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                raise _incomplete(kind)
            pos = found.start()


_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4,
                    12: 8, 13: 4}
_TIFF_DATA = {273: 279, 324: 325, 513: 514}  # offsets tag → byte counts tag
_TIFF_SUB_IFDS = frozenset({330, 34665, 34853, 40965})  # SubIFDs, Exif, GPS, Interop


def _tiff_end(data: bytes, kind: str) -> int:
    """TIFF has no end marker: the furthest byte any directory, tag value, strip or
    tile reaches is its end (one padding byte allowed: writers align to words)."""
    order = "<" if data[:2] == b"II" else ">"
    walker = _TiffWalker(data, order, kind)
    extent = walker.walk(walker.u32(4))
    if len(data) - extent == 1 and data[-1] == 0:
        return len(data)
    return extent


class _TiffWalker:
    def __init__(self, data: bytes, order: str, kind: str) -> None:
        self.data, self.order, self.kind = data, order, kind
        self.extent = 8

    def u32(self, offset: int) -> int:
        return int(self._unpack("I", offset, 1)[0])

    def _unpack(self, code: str, offset: int, count: int) -> tuple[int, ...]:
        size = struct.calcsize(code) * count
        self._reach(offset, size)
        return struct.unpack_from(f"{self.order}{count}{code}", self.data, offset)

    def _reach(self, offset: int, size: int) -> None:
        if offset + size > len(self.data):
            raise _incomplete(self.kind)
        self.extent = max(self.extent, offset + size)

    def walk(self, first: int) -> int:
        pending, seen = [first], set[int]()
        while pending:
            offset = pending.pop()
            if offset == 0 or offset in seen:
                continue
            if len(seen) >= _MAX_TIFF_IFDS:
                raise _damaged(self.kind)
            seen.add(offset)
            pending.extend(self._directory(offset))
        return self.extent

    def _directory(self, offset: int) -> list[int]:
        """Reach everything one IFD points at; return the IFDs it links to."""
        (count,) = self._unpack("H", offset, 1)
        values: dict[int, tuple[int, ...]] = {}
        links: list[int] = []
        for n in range(count):
            entry = offset + 2 + 12 * n
            tag, kind, number = self._unpack("H", entry, 2) + self._unpack("I", entry + 4, 1)
            size = _TIFF_TYPE_SIZES.get(kind, 1) * number
            at = entry + 8 if size <= 4 else self.u32(entry + 8)
            self._reach(at, size)
            if kind in (3, 4, 13) and (tag in _TIFF_DATA or tag in _TIFF_DATA.values()
                                       or tag in _TIFF_SUB_IFDS):
                values[tag] = self._unpack("H" if kind == 3 else "I", at, number)
            if tag in _TIFF_SUB_IFDS:
                links.extend(values.get(tag, ()))
        links.append(self.u32(offset + 2 + 12 * count))
        for offsets_tag, counts_tag in _TIFF_DATA.items():
            for start, length in zip(values.get(offsets_tag, ()), values.get(counts_tag, ()),
                                     strict=False):
                self._reach(start, length)
        return links


_STRUCTURE_END: dict[str, Callable[[bytes, str], int]] = {
    PNG: _png_end, JPEG: _jpeg_end, TIFF: _tiff_end}
