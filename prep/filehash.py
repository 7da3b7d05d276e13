"""The SHA-256 of a file, read a mebibyte at a time (an image, a corte's package, a
bundle's file): the one way every part of PREP hashes what is on disk."""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 (hex) of the bytes of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
