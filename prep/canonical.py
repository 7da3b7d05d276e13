"""Canonical JSON: one byte sequence per value, so hashes and signatures are reproducible.

Keys sorted, no insignificant whitespace, UTF-8 (not ``\\u`` escapes), and only JSON types
with a single spelling: objects with string keys, arrays, strings, integers, booleans
and null. Floats are refused: ``0.1`` has several spellings and no exact value.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable
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
    """A value that has no canonical JSON form. ``code``: ``malformed``, or
    ``control_character`` for a text holding U+0000 (as the record validator calls
    every control character)."""

    def __init__(self, message: str, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


def canonical_bytes(value: JsonValue) -> bytes:
    """The canonical JSON encoding of ``value``."""
    _check(value, 0)
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 spelling
        raise CanonicalError("a text holds a lone surrogate") from None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: JsonValue) -> str:
    """SHA-256 (hex) of the canonical encoding."""
    return sha256_hex(canonical_bytes(value))


def parse_json(data: bytes, max_bytes: int) -> JsonValue:
    """Parse untrusted JSON bytes: size-capped, strict UTF-8, no floats, no duplicate
    keys, at most :data:`MAX_DEPTH` levels, integers in the 64-bit range, and no text
    PostgreSQL cannot store (U+0000, lone surrogates). Anything else raises
    :class:`CanonicalError`, whose message never repeats the input (it goes to logs and
    the audit log)."""
    if len(data) > max_bytes:
        raise CanonicalError(f"{len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_float=_no_float, parse_constant=_no_float,
                           object_pairs_hook=_no_duplicates, parse_int=_parse_int())
    except UnicodeDecodeError as exc:
        raise CanonicalError(f"not valid JSON: not UTF-8 at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not valid JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # "[[[[…": the decoder's own recursion limit
        raise CanonicalError("nested too deeply") from None
    except CanonicalError:
        raise
    except ValueError:  # Python's limit on the digits of an integer (sys.int_info)
        raise CanonicalError("integer out of the 64-bit range") from None
    _check(value, 0)
    if "\\u" in text:  # only an escape can spell U+0000 or a lone surrogate
        _check_texts(value)
    return value


def _parse_int() -> Callable[[str], int] | None:
    """The decoder's integer reader: the C one while Python caps the digits an integer
    may have (so a 5,000-digit number fails fast), else one that refuses long ones
    before converting (the conversion's time grows with the square of the digits)."""
    limit = sys.get_int_max_str_digits()
    return None if 0 < limit <= _MAX_INT_DIGITS_CAP else _bounded_int


def _bounded_int(text: str) -> int:
    if len(text) > 20:  # "-9223372036854775808" is the longest in range
        raise CanonicalError("integer out of the 64-bit range")
    return int(text)


def _no_float(text: str) -> None:
    raise CanonicalError("non-integer number is not allowed (no fractions, exponents, "
                         "NaN or Infinity)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CanonicalError("duplicate key in an object")
        out[key] = value
    return out


def _check_texts(value: JsonValue) -> None:
    """Refuse a parsed value holding U+0000 or a lone surrogate in any key or text:
    PostgreSQL refuses both (and UTF-8 cannot encode a surrogate), so such a value would
    fail at the database on every retry instead of being refused once."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise CanonicalError("a text holds a lone surrogate")
            if "\x00" in item:
                raise CanonicalError("a text holds U+0000", code="control_character")
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


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
                    raise CanonicalError("object key is not a string")
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
_MAX_INT_DIGITS_CAP = 4300  # Python's default digits limit; above it, _bounded_int
_SURROGATE = re.compile("[\ud800-\udfff]")
