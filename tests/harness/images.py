"""Small real images for tests that only need distinct, valid image bytes: the central
refuses anything that is not a whole image of its type (prep.image_check, issue 36),
so the 'magic number and random bytes' stand-ins of older tests no longer pass."""

from __future__ import annotations

import functools
import hashlib
import io
import os

from PIL import Image

_APP15 = b"\xff\xef"  # an application segment no reader interprets
_MAX_SEGMENT = 65_533  # payload bytes of one JPEG segment


def tiny_png(label: str | bytes) -> bytes:
    """An 8×8 gray PNG whose pixels are the SHA-256 of ``label`` (distinct per label,
    the same on every call)."""
    seed = label.encode() if isinstance(label, str) else label
    pixels = hashlib.sha256(seed).digest() * 2
    out = io.BytesIO()
    Image.frombytes("L", (8, 8), pixels).save(out, "PNG")
    return out.getvalue()


@functools.cache
def _small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("L", (16, 16), 200).save(out, "JPEG", quality=50)
    return out.getvalue()


def padded_jpeg(size: int) -> bytes:
    """A valid JPEG of exactly ``size`` bytes (or the smallest possible), distinct every
    call: random bytes in application segments right after SOI."""
    base = _small_jpeg()
    room = max(size - len(base), 4 + 16)
    segments = []
    while room > 0:
        payload = min(room - 4, _MAX_SEGMENT)
        if 0 < room - payload - 4 < 4:  # too little left for a segment of its own
            payload -= 4
        segments.append(_APP15 + (payload + 2).to_bytes(2, "big") + os.urandom(payload))
        room -= payload + 4
    return base[:2] + b"".join(segments) + base[2:]
