"""Canonical JSON: one byte sequence per value, so hashes and signatures are reproducible.

Keys sorted, no insignificant whitespace, UTF-8 (not ``\\u`` escapes), and only JSON types
with a single spelling: objects with string keys, arrays, strings, integers, booleans
and null. Floats are refused: ``0.1`` has several spellings and no exact value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

JsonValue = Any  # dict[str, JsonValue] | list[JsonValue] | str | int | bool | None

MAX_DEPTH = 16


class CodedError(ValueError):
    """An error with a stable ``code`` (for audit rows, anomalies and API answers) and a
    message saying why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CanonicalError(ValueError):
    """A value that has no canonical JSON form."""


def canonical_bytes(value: JsonValue) -> bytes:
    """The canonical JSON encoding of ``value``."""
    _check(value, 0)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: JsonValue) -> str:
    """SHA-256 (hex) of the canonical encoding."""
    return sha256_hex(canonical_bytes(value))


def parse_json(data: bytes, max_bytes: int) -> JsonValue:
    """Parse untrusted JSON bytes: size-capped, UTF-8, no floats, no duplicate keys."""
    if len(data) > max_bytes:
        raise CanonicalError(f"{len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_float=_no_float, parse_constant=_no_float,
                           object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalError(f"not valid JSON: {exc}") from None
    _check(value, 0)
    return value


def _no_float(text: str) -> None:
    raise CanonicalError(f"non-integer number {text!r} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CanonicalError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _check(value: JsonValue, depth: int) -> None:
    # Every record and batch goes through here on both sides of the wire (millions of
    # values a night): a container's plain leaves are checked in its own loop, by exact
    # type, instead of one call and a chain of isinstance each. Anything else (a str or
    # int subclass, a nested container, a wrong type) is checked by its own call.
    if depth > MAX_DEPTH:
        raise CanonicalError("nested too deeply")
    if isinstance(value, dict | list):
        if value and depth >= MAX_DEPTH:  # its items would be too deep
            raise CanonicalError("nested too deeply")
        items: Iterable[JsonValue] = value
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise CanonicalError(f"object key {key!r} is not a string")
            items = value.values()
        for item in items:
            leaf = type(item)
            if leaf is str or leaf is bool or item is None \
                    or (leaf is int and _MIN_INT <= item <= _MAX_INT):
                continue
            _check(item, depth + 1)
        return
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not _MIN_INT <= value <= _MAX_INT:
            raise CanonicalError("integer out of the 64-bit range")
        return
    raise CanonicalError(f"{type(value).__name__} has no canonical JSON form")


_MIN_INT, _MAX_INT = -(2**63), 2**63 - 1
