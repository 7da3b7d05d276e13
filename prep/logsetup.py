"""Logging, set up once at program start for every program of the suite.

Log messages carry texts that came from outside: file names in a hot folder, a station's
error text, a request path, a catalog name. A line break or a terminal escape in one of
them would forge log lines (``…\\n2027-06-07 INFO central: corte publicado``) or rewrite
the terminal of whoever reads the log. :class:`EscapingFormatter` writes every control
character of a message, and the Unicode line separators and direction overrides, as a
visible escape (``\\n``, ``\\x1b``, ``\\u202e``), so one call to ``log`` is one line. The
traceback of an exception, which the program itself writes over several lines, is left
as it is.

For journald and log collectors, ``--log-format json`` (or ``PREP_LOG_FORMAT=json``) writes
one JSON object per line instead (:class:`JsonFormatter`): time, level, logger, message,
and the fields a log call names with ``extra=fields(station=…, acta=…, batch=…,
corte=…)``, so a technician searches by station or acta instead of reading free text.
The human format stays the default.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC
from datetime import datetime
from typing import IO
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: ``--log-format`` values; the environment variable that sets the default.
TEXTO, JSON = "texto", "json"
FORMATS = (TEXTO, JSON)
ENV_FORMAT = "PREP_LOG_FORMAT"
#: The fields a log call may name (:func:`fields`); each becomes a key of a JSON line.
FIELDS = ("station", "acta", "batch", "corte")

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


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (UTC, ISO 8601), ``level``,
    ``logger``, ``message`` (escaped as :class:`EscapingFormatter` escapes it), the
    :data:`FIELDS` the call named and, for an exception, its ``traceback``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname, "logger": record.name,
            "message": escape_controls(record.getMessage())}
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value if isinstance(value, int | float) else str(value)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["traceback"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def fields(*, station: str | None = None, acta: str | None = None,
           batch: int | None = None, corte: str | None = None) -> dict[str, Any]:
    """The ``extra`` of a log call that concerns a station, an acta, a batch or a corte
    (the JSON format writes them as fields; the human one shows only the message)."""
    named = {"station": station, "acta": acta, "batch": batch, "corte": corte}
    return {k: v for k, v in named.items() if v is not None}


def log_format(requested: str | None = None) -> str:
    """The format asked for: ``requested`` (``--log-format``), else
    :data:`ENV_FORMAT`, else :data:`TEXTO`. An unknown value in the environment is not
    fatal (a program must still start and log): the human format, with a warning."""
    if requested is not None:
        return requested
    value = os.environ.get(ENV_FORMAT, "").strip().lower()
    return value if value in FORMATS else TEXTO


def setup_logging(level: int = logging.INFO, stream: IO[str] | None = None,
                  fmt: str | None = None) -> None:
    """Configure the root logger once, as :func:`logging.basicConfig` does (which it
    calls: nothing changes if the root logger has handlers already), with a handler on
    ``stream`` (standard error by default) using the :class:`EscapingFormatter`, or the
    :class:`JsonFormatter` when ``fmt`` (or :data:`ENV_FORMAT`) says ``json``, so every
    logger of the program benefits."""
    chosen = log_format(fmt)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if chosen == JSON else EscapingFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    unknown = os.environ.get(ENV_FORMAT, "").strip().lower()
    if fmt is None and unknown and unknown not in FORMATS:
        logging.getLogger("prep").warning("%s=%s no es un formato de bitácora (%s); se usa "
                                          "%s", ENV_FORMAT, unknown, ", ".join(FORMATS),
                                          TEXTO)
