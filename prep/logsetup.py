"""Logging, set up once at program start for every program of the suite.

Log messages carry texts that came from outside: file names in a hot folder, a station's
error text, a request path, a catalog name. A line break or a terminal escape in one of
them would forge log lines (``…\\n2027-06-07 INFO central: corte publicado``) or rewrite
the terminal of whoever reads the log. :class:`EscapingFormatter` writes every control
character of a message, and the Unicode line separators and direction overrides, as a
visible escape (``\\n``, ``\\x1b``, ``\\u202e``), so one call to ``log`` is one line. The
traceback of an exception, which the program itself writes over several lines, is left
as it is.
"""

from __future__ import annotations

import logging
import re
from typing import IO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: C0 and C1 controls and DEL, line/paragraph separators, bidirectional overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` with each unsafe character (see the module) written as an escape."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class EscapingFormatter(logging.Formatter):
    """A formatter whose message part never spans lines nor holds terminal escapes."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def setup_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Configure the root logger once, as :func:`logging.basicConfig` does (which it
    calls: nothing changes if the root logger has handlers already), with a handler on
    ``stream`` (standard error by default) using the :class:`EscapingFormatter`, so
    every logger of the program benefits."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EscapingFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
