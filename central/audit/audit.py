"""The hash-chained, append-only audit log (docs/protocol.md, "Audit log").

Each row's ``sha256`` is the SHA-256 of canonical ``{"at","actor","event","detail",
"prev"}``, where ``prev`` is the previous row's ``sha256`` (64 zeros for the first), so
removing, reordering or editing a row breaks every hash after it. The database refuses
UPDATE and DELETE on the table (a trigger in the first migration).

Every event is declared once, with its meaning and emitter, in ``audit_events.toml``;
:func:`emit` refuses an undeclared one and a test checks every ``emit`` call in the
source names a declared event.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.auditoria import AuditEntry
from prep.canonical import JsonValue
from prep.canonical import canonical_hash
from prep.protocol import GENESIS
from prep.records import format_time

EVENTS_FILE = Path(__file__).with_name("audit_events.toml")

AUDIT_LOCK = (0x50524550, 1)  # "PREP", 1: serializes writers so the chain never forks


@dataclass(frozen=True)
class EventSpec:
    """One declared audit event."""

    name: str
    meaning: str
    emitter: str


@functools.cache
def declared_events() -> Mapping[str, EventSpec]:
    """The events of ``audit_events.toml`` by name."""
    with EVENTS_FILE.open("rb") as f:
        data = tomllib.load(f)
    return {name: EventSpec(name, str(spec["meaning"]), str(spec["emitter"]))
            for name, spec in data["events"].items()}


def entry_sha256(at: datetime, actor: str, event: str, detail: Mapping[str, JsonValue],
                 prev: str) -> str:
    """The hash a row with these values must carry."""
    return canonical_hash({"at": format_time(at), "actor": actor, "event": event,
                           "detail": dict(detail), "prev": prev})


def emit(session: Session, event: str, *, actor: str,
         detail: Mapping[str, JsonValue]) -> AuditEntry:
    """Append ``event`` to the chain inside ``session``'s transaction.

    Writers queue on a transaction-scoped advisory lock, so the row read as ``prev`` is
    still the last one when this row commits.
    """
    return _append(session, event, actor, [detail])[0]


def emit_many(session: Session, event: str, *, actor: str,
              details: Sequence[Mapping[str, JsonValue]]) -> list[AuditEntry]:
    """Append one ``event`` per item of ``details``, in order: the rows :func:`emit`
    would append one after the other, with one lock, one read of the last row and one
    flush (a corte records each corrected acta it publishes, hundreds at once).

    One event name for the whole batch, so that the test of declared events finds it
    at the call as it finds :func:`emit`'s.
    """
    return _append(session, event, actor, details)


def _append(session: Session, event: str, actor: str,
            details: Sequence[Mapping[str, JsonValue]]) -> list[AuditEntry]:
    if event not in declared_events():
        raise ValueError(f"audit event {event!r} is not declared in {EVENTS_FILE.name}")
    if not details:
        return []
    session.execute(select(func.pg_advisory_xact_lock(*AUDIT_LOCK)))
    prev = session.scalar(select(AuditEntry.sha256).order_by(AuditEntry.id.desc()).limit(1))
    prev = prev or GENESIS
    entries: list[AuditEntry] = []
    for detail in details:
        at = datetime.now(UTC)
        sha256 = entry_sha256(at, actor, event, detail, prev)
        entries.append(AuditEntry(at=at, actor=actor, event=event, detail=dict(detail),
                                  prev_sha256=prev, sha256=sha256))
        prev = sha256
    session.add_all(entries)  # inserted in this order, so the ids follow the chain
    session.flush()
    return entries


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of :func:`verify_chain`: how many rows, and the first broken one."""

    rows: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every row's hash and link, oldest first."""
    prev = GENESIS
    rows = 0
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    for entry in session.scalars(query):
        rows += 1
        if entry.prev_sha256 != prev:
            return ChainCheck(rows, entry.id, "prev no coincide con el evento anterior")
        expected = entry_sha256(entry.at, entry.actor, entry.event, entry.detail, prev)
        if entry.sha256 != expected:
            return ChainCheck(rows, entry.id, "el contenido no coincide con su huella")
        prev = entry.sha256
    return ChainCheck(rows)


def chain_rows(session: Session) -> list[tuple[int, str]]:
    """Every row's id and hash, in chain order: what published heads are held
    against (:func:`prep.cadena.contrastar`)."""
    query = select(AuditEntry.id, AuditEntry.sha256).order_by(AuditEntry.id)
    return [(int(i), str(h)) for i, h in session.execute(query)]
