"""Refusals the central answers with: an HTTP status, a stable code and a Spanish
message for the operator (docs/protocol.md, "Errors")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prep.canonical import CodedError
from prep.canonical import JsonValue


class ApiError(Exception):
    """A request the central refuses (4xx) or cannot serve right now (5xx).

    ``code`` is stable and machine-readable; ``message`` is what the station shows its
    operator, in Spanish.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


#: Refusals of requests that no station proved it sent: not parsed (``malformed``,
#: ``control_character``), naming no enrolled and enabled station
#: (``unknown_station``), not signed by the key of the station named
#: (``bad_signature``), or an enrollment code that does not work. Anyone on the network
#: can send those by the thousand, naming any station: their trace is counted per
#: source address and interval (:mod:`central.api.refusals`) and never attributed to the
#: station named. A refusal of what a station did sign (a broken chain, a conflicting
#: batch, a missing image) stays attributed to it.
UNSIGNED_CODES = frozenset({
    "malformed", "control_character", "unknown_station", "bad_signature", "unknown_code",
    "used_code", "expired_code"})
#: Longest text a refusal's detail keeps from what the request said (e.g. the reason a
#: batch is malformed): the audit log is append-only, so what goes in stays for good.
MAX_DETAIL_TEXT = 200


class Refused(ApiError):
    """A refusal that leaves a trace: an audit event, and maybe an anomaly for the
    coordinator and a quarantined body.

    Raised inside the transaction that was doing the work (which then rolls back);
    :func:`central.audit.anomalies.record_refusal` writes the trace in a transaction of its own,
    or, for an ``unsigned`` refusal (by default, one whose code is in
    :data:`UNSIGNED_CODES`), :class:`central.api.refusals.UnsignedRefusals` counts it.
    """

    def __init__(self, status: int, code: str, message: str, *, event: str, actor: str,
                 detail: Mapping[str, JsonValue], anomaly: bool = False,
                 station: str | None = None, quarantine: Quarantine | None = None,
                 unsigned: bool | None = None) -> None:
        super().__init__(status, code, message)
        self.event = event
        self.actor = actor
        self.detail = {"code": code, **detail}
        self.anomaly = anomaly
        self.station = station
        self.quarantine = quarantine
        self.unsigned = code in UNSIGNED_CODES if unsigned is None else unsigned


def bounded(text: str, limit: int = MAX_DETAIL_TEXT) -> str:
    """``text`` cut to ``limit`` characters (marked with «…»), for what a refusal keeps."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def unparsed_batch(error: CodedError, size: int) -> Refused:
    """The refusal of a batch request that could not be read (``error`` from
    :func:`prep.protocol.read_batch`): 400 with the error's code. Its detail keeps the
    reason, bounded, and the body's size, never the body."""
    code = error.code if error.code in _UNPARSED else "malformed"
    return Refused(400, code, _UNPARSED[code], event="batch_refused", actor="desconocido",
                   detail={"reason": bounded(str(error)), "bytes": size}, unsigned=True)


_UNPARSED = {
    "malformed": "El lote está mal formado y se rechazó. Avise a soporte técnico.",
    "control_character": "Un registro del lote tiene caracteres de control (saltos de "
                         "línea, tabuladores u otros invisibles) en un texto y se rechazó "
                         "el lote. Avise a soporte técnico: el programa de este equipo "
                         "debe actualizarse.",
}


@dataclass(frozen=True)
class Quarantine:
    """A batch body set aside for the coordinator instead of being applied."""

    station: str
    number: int
    body: bytes
