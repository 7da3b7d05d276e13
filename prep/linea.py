"""The central's PostgreSQL timeline as a signed statement (docs/protocol.md, "Timeline";
docs/continuidad.md).

A promoted standby serves a higher timeline than the primary it replaced. Stations must
never send to a node of a lower timeline than the current one, and must never let anyone
but the institute tell them what the current one is: the ``X-Prep-Linea`` header on
every answer is bare (any TLS endpoint can write it), so it only ever *lowers* trust in
a node, never raises what a station remembers. What a station remembers comes from a
statement signed with the central's key (the institute's, which stations pinned at
enrollment) answering the station's own fresh nonce: ``GET /v1/linea?nonce=…``.

The same signed statement, shown to a node of a lower timeline (header
:data:`KNOWN_HEADER` on the probe), proves to that node that it was replaced: it fences
itself (no receipts, no cortes) from then on.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from prep.canonical import CanonicalError
from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.crypto import SignatureError
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.crypto import b64decode
from prep.crypto import b64encode

LINEA_PATH = "/v1/linea"
#: On a probe: the highest signed statement the station holds (compact JSON, ≤ 1 KiB).
KNOWN_HEADER = "X-Prep-Linea-Conocida"
KIND = "linea_central"
#: A timeline is a 32-bit number to PostgreSQL; nine digits is more than any cluster
#: reaches and keeps a hostile header from costing anything to read.
MAX_DIGITS = 9
MAX_STATEMENT_BYTES = 1024
_NONCE = re.compile(r"[0-9a-f]{32}")


class LineaError(ValueError):
    """A timeline statement that does not verify (the reason, for the log)."""


@dataclass(frozen=True)
class Linea:
    """A node's signed word on its timeline: ``vigente`` is False once it knows a higher
    one (it was replaced and no longer receipts nor publishes)."""

    linea: int
    nodo: str
    nonce: str
    vigente: bool

    def body(self) -> dict[str, Any]:
        return {"tipo": KIND, "linea": self.linea, "nodo": self.nodo, "nonce": self.nonce,
                "vigente": self.vigente}


def new_nonce() -> str:
    return secrets.token_hex(16)


def is_nonce(text: str | None) -> bool:
    return text is not None and _NONCE.fullmatch(text) is not None


def sign_linea(key: SigningKey, linea: Linea) -> bytes:
    """The statement as sent: ``{"declaracion": {...}, "firma": b64}`` (canonical)."""
    body = linea.body()
    return canonical_bytes({"declaracion": body,
                            "firma": b64encode(key.sign(canonical_bytes(body)))})


def verify_linea(data: bytes, key: VerifyKey, nonce: str | None = None) -> Linea:
    """The statement in ``data`` signed by ``key`` (answering ``nonce`` when given);
    :class:`LineaError` otherwise."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise LineaError("statement too large")
    try:
        parsed = parse_json(data, MAX_STATEMENT_BYTES)
        if not isinstance(parsed, dict):
            raise TypeError("not an object")
        body, firma = parsed["declaracion"], parsed["firma"]
        if not isinstance(body, dict) or not isinstance(firma, str):
            raise TypeError("bad shape")
        key.verify(b64decode(firma, 64), canonical_bytes(body))
        linea = Linea(body["linea"], body["nodo"], body["nonce"], body["vigente"])
    except (CanonicalError, SignatureError, KeyError, TypeError, ValueError) as exc:
        raise LineaError(f"timeline statement rejected: {exc}") from None
    if body.get("tipo") != KIND or type(linea.linea) is not int \
            or not 0 <= linea.linea < 10 ** MAX_DIGITS or type(linea.vigente) is not bool \
            or not isinstance(linea.nodo, str) or not isinstance(linea.nonce, str):
        raise LineaError("timeline statement of the wrong kind")
    if nonce is not None and linea.nonce != nonce:
        raise LineaError("timeline statement answers another request (stale or replayed)")
    return linea


def parse_header(value: str | None) -> int | None:
    """The timeline a bare ``X-Prep-Linea`` header claims: ASCII digits only, at most
    :data:`MAX_DIGITS` of them; anything else (absent, hostile, 5,000 digits) is None."""
    if value is None or not 0 < len(value) <= MAX_DIGITS or not value.isascii() \
            or not value.isdigit():
        return None
    return int(value)
