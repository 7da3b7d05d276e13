"""Refusals the central answers with: an HTTP status, a stable code and a Spanish
message for the operator (docs/protocol.md, "Errors")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


class Refused(ApiError):
    """A refusal that leaves a trace: an audit event, and maybe an anomaly for the
    coordinator and a quarantined body.

    Raised inside the transaction that was doing the work (which then rolls back);
    :func:`central.anomalies.record_refusal` writes the trace in a transaction of its own.
    """

    def __init__(self, status: int, code: str, message: str, *, event: str, actor: str,
                 detail: Mapping[str, JsonValue], anomaly: bool = False,
                 station: str | None = None, quarantine: Quarantine | None = None) -> None:
        super().__init__(status, code, message)
        self.event = event
        self.actor = actor
        self.detail = {"code": code, **detail}
        self.anomaly = anomaly
        self.station = station
        self.quarantine = quarantine


@dataclass(frozen=True)
class Quarantine:
    """A batch body set aside for the coordinator instead of being applied."""

    station: str
    number: int
    body: bytes
