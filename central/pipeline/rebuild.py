"""Recomputing every acta state from the facts, to check or to repair the stored ones.

The facts are the records of every journaled batch, in ``pipeline_journal`` order (the
order their batches were applied), less those ingest quarantined (``quarantined_records``,
written with the record: :mod:`central.pipeline.authorize`), and nothing else. Every
catalog acta starts *esperada*. ``prep central rebuild-state --check`` compares without
writing (in one REPEATABLE READ snapshot, so ingest goes on); without ``--check`` the
differing actas are rewritten under the exclusive pipeline lock. Loading a catalog runs
the same rewrite (:func:`seed`): it seeds the new catalog's actas and re-derives any
acta the change moved in or out.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import String
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from central.audit import audit
from central.catalog import catalog_store
from central.catalog.catalog_store import LoadedCatalog
from central.pipeline.apply import PIPELINE_LOCK
from central.pipeline.state import PIPELINE_KINDS
from central.pipeline.state import ActaState
from central.pipeline.state import Folded
from central.pipeline.state import Fuera
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from central.pipeline.state import initial
from central.pipeline.store import CAPTURES
from central.pipeline.store import FUERA
from central.pipeline.store import IMAGES
from central.pipeline.store import STATES
from central.pipeline.store import catalog_lookup
from central.pipeline.store import load_all
from central.pipeline.store import load_fuera
from central.pipeline.store import save
from central.pipeline.store import save_fuera
from prep.catalog import Catalog
from prep.records import Kind

_KINDS = ", ".join(f"'{k.value}'" for k in sorted(PIPELINE_KINDS))
_EVENTS = text(f"""
    SELECT r.id, r.station, r.operator, r.kind, r.at, r.received_at, r.body, r.replaces
    FROM pipeline_journal AS j
    JOIN records AS r ON r.station = j.station AND r.batch_number = j.batch_number
         AND r.kind IN ({_KINDS})
    WHERE NOT EXISTS (SELECT 1 FROM quarantined_records AS q WHERE q.record_id = r.id)
    ORDER BY j.pos, r.seq
""")  # noqa: S608 - the IN list is the constant PIPELINE_KINDS
SAMPLE = 20


@dataclass(frozen=True)
class Difference:
    """One acta whose stored state is not what the facts give."""

    clave: str
    fields: tuple[str, ...]  # the ActaState fields that differ ("estado", "imagenes"…)
    stored: str | None  # stored estado (None: no row)
    computed: str | None  # computed estado (None: no such acta should exist)

    def to_json(self) -> dict[str, Any]:
        return {"clave_acta": self.clave, "fields": list(self.fields),
                "stored": self.stored, "computed": self.computed}


@dataclass(frozen=True)
class Report:
    """Outcome of :func:`check` or :func:`rebuild`."""

    catalog_version: int
    actas: int
    fuera: int
    differences: tuple[Difference, ...]
    fuera_differences: int
    written: bool

    @property
    def ok(self) -> bool:
        return not self.differences and not self.fuera_differences

    def to_json(self) -> dict[str, Any]:
        return {"catalog_version": self.catalog_version, "actas": self.actas,
                "fuera_de_catalogo": self.fuera, "differences": len(self.differences),
                "fuera_differences": self.fuera_differences, "written": self.written,
                "sample": [d.to_json() for d in self.differences[:SAMPLE]]}


def recompute(session: Session, catalog: Catalog | None) -> Folded:
    """Every acta state as the facts give it (nothing written)."""
    lookup = catalog_lookup(catalog)
    start = {} if catalog is None else {
        a.clave: initial(a.clave, lookup(a.clave)) for a in catalog.iter_actas()}
    return fold(journal_events(session), lookup, start)


def journal_events(session: Session) -> Iterator[RecordEvent]:
    """The journaled records in the order they were applied."""
    for r in session.execute(_EVENTS.execution_options(yield_per=5000)):
        yield RecordEvent(str(r.id), r.station, r.operator, Kind(r.kind), r.at,
                          r.received_at, r.body,
                          None if r.replaces is None else str(r.replaces))


def check(engine: Engine) -> Report:
    """Compare the stored states with the recomputed ones, in one snapshot."""
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(snapshot) as session, session.begin():
        version, catalog = _current(session)
        folded = recompute(session, catalog)
        stored, stored_fuera = load_all(session), load_fuera(session)
    return _report(version, folded, stored, stored_fuera, written=False)


def rebuild(session: Session, catalog: Catalog | None, version: int, *, actor: str,
            reason: str) -> Report:
    """Rewrite every acta whose stored state differs from the recomputed one, inside
    ``session``'s transaction, and audit it."""
    lock_exclusive(session)
    folded = recompute(session, catalog)
    stored, stored_fuera = load_all(session), load_fuera(session)
    report = _report(version, folded, stored, stored_fuera, written=True)
    claves = [d.clave for d in report.differences]
    if claves:
        listed = bindparam("claves", claves, type_=ARRAY(String))
        for table in (IMAGES, CAPTURES, STATES):
            session.execute(delete(table).where(table.c.clave_acta == any_(listed)))
        save(session, {}, {c: folded.actas[c] for c in claves if c in folded.actas})
    if report.fuera_differences:
        session.execute(delete(FUERA))
        save_fuera(session, folded.fuera.values())
    audit.emit(session, "acta_states_rebuilt", actor=actor, detail={
        "reason": reason, "catalog_version": version, "actas": report.actas,
        "changed": len(claves), "fuera_changed": report.fuera_differences})
    return report


def lock_exclusive(session: Session) -> None:
    """Hold the pipeline lock exclusively until the transaction ends (no batch is folded
    meanwhile). Whoever also writes the audit log takes this lock first (ingest holds
    it shared and audits only last, :func:`central.pipeline.apply.audit_contradicciones`;
    rebuilds and catalog loads lock the pipeline, then audit), so the two locks are
    always taken in the same order."""
    session.execute(select(func.pg_advisory_xact_lock(*PIPELINE_LOCK)))


def rebuild_current(engine: Engine, *, actor: str) -> Report:
    """:func:`rebuild` with the current catalog (``prep central rebuild-state``)."""
    with Session(engine) as session, session.begin():
        version, catalog = _current(session)
        return rebuild(session, catalog, version, actor=actor, reason="rebuild-state")


def seed(session: Session, catalog: Catalog, version: int, *, actor: str) -> Report:
    """One *esperada* row per acta of a newly loaded catalog (idempotent: loading the
    same or a new version again rewrites only what the change affects)."""
    return rebuild(session, catalog, version, actor=actor, reason="catalog_load")


def load_catalog(session: Session, directory: Path, *, actor: str, confirmed: bool = False,
                 force_reason: str | None = None) -> LoadedCatalog:
    """``prep central catalog load``: store the catalog in ``directory`` as the next
    version (:func:`central.catalog.catalog_store.load`, which checks the change against the
    results already held) and seed its acta states, in ``session``'s transaction."""
    lock_exclusive(session)  # before the audit row catalog_store.load writes
    loaded = catalog_store.load(session, directory, actor=actor, confirmed=confirmed,
                                force_reason=force_reason)
    seed(session, loaded.catalog, loaded.version, actor=actor)
    return loaded


def _current(session: Session) -> tuple[int, Catalog | None]:
    current = catalog_store.current(session)
    return (0, None) if current is None else current


def _report(version: int, folded: Folded, stored: Mapping[str, ActaState],
            stored_fuera: Mapping[str, Fuera], *, written: bool) -> Report:
    differences = []
    for clave in sorted(stored.keys() | folded.actas.keys()):
        mine, theirs = stored.get(clave), folded.actas.get(clave)
        if mine == theirs:
            continue
        differing = tuple(f.name for f in fields(ActaState)
                          if mine is None or theirs is None
                          or getattr(mine, f.name) != getattr(theirs, f.name))
        differences.append(Difference(clave, differing,
                                      mine.estado.value if mine else None,
                                      theirs.estado.value if theirs else None))
    fuera_differences = len(stored_fuera.keys() ^ folded.fuera.keys()) + sum(
        1 for k in stored_fuera.keys() & folded.fuera.keys()
        if stored_fuera[k] != folded.fuera[k])
    return Report(version, len(folded.actas), len(folded.fuera), tuple(differences),
                  fuera_differences, written)
