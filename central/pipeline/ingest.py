"""Central ingest of station batches: the eight steps of docs/protocol.md ("Central
ingest"), in one PostgreSQL transaction per batch.

A batch is applied entirely or not at all; a refusal rolls the transaction back and then
leaves its trace (audit event, anomaly, quarantined body) through
:func:`central.audit.anomalies.record_refusal`. The signed receipt is stored with the batch,
so the same batch sent again gets the same bytes back.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import NamedTuple
from typing import cast

from sqlalchemy import Engine
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit.anomalies import add_anomaly
from central.db.auditoria import Anomaly
from central.db.blobs import BlobStore
from central.db.estaciones import Station
from central.db.lotes import StoredBatch
from central.db.lotes import StoredRecord
from central.node.config import Identity
from central.node.crash import crash_point
from central.node.errors import Quarantine
from central.node.errors import Refused
from central.node.errors import unparsed_batch
from central.node.metrics import instruments as metrics
from central.pipeline.apply import NO_WORK
from central.pipeline.apply import WorkMade
from central.pipeline.apply import apply_batch
from central.pipeline.apply import audit_contradicciones
from central.pipeline.apply import audit_cotejos
from central.pipeline.authorize import Sender
from central.stations.health import note_batch
from prep.canonical import sha256_hex
from prep.crypto import VerifyKey
from prep.logsetup import fields
from prep.protocol import Batch
from prep.protocol import ProtocolError
from prep.protocol import Receipt
from prep.protocol import SignedBatch
from prep.protocol import read_signed_batch
from prep.protocol import sign_receipt
from prep.records import Kind
from prep.records import format_time

CLOCK_SKEW_LIMIT = timedelta(minutes=2)
CLOCK_SKEW_REPEAT = timedelta(hours=1)
NOTIFY_CHANNEL = "prep_ingest"
#: Work a batch left for operators, for the other ``serve`` nodes of this database
#: (issue 31): their waiting asks are woken as this node's are. JSON payload: the
#: process that ingested (``o``: each node skips its own), the sending station's role
#: and site (``r``, ``s``) and the actas that entered captura and verificación.
WORK_CHANNEL = "prep_trabajo"
#: This process's name on :data:`WORK_CHANNEL`.
ORIGIN = uuid.uuid4().hex

log = logging.getLogger("central.ingest")

_STATIONS = cast(Table, Station.__table__)
_BATCHES = cast(Table, StoredBatch.__table__)
# The statements of every batch, built once (building them and their cache keys was a
# good part of an ingest's CPU).
_STATION_LOCK = select(func.pg_advisory_xact_lock(
    func.hashtextextended(bindparam("station", type_=String), 0)))
_STATION = select(_STATIONS.c.enabled, _STATIONS.c.public_key, _STATIONS.c.last_batch,
                  _STATIONS.c.last_batch_sha256, _STATIONS.c.last_seq, _STATIONS.c.role,
                  _STATIONS.c.sitio, _STATIONS.c.intake).where(
    _STATIONS.c.id == bindparam("station"))
_KEY = select(_STATIONS.c.enabled, _STATIONS.c.public_key).where(
    _STATIONS.c.id == bindparam("station"))
_UNKNOWN_STATION = ("Este equipo no está dado de alta en el nodo central o fue "
                    "deshabilitado. Avise al coordinador.")
_STORED = select(_BATCHES.c.sha256, _BATCHES.c.receipt).where(
    _BATCHES.c.station == bindparam("station"), _BATCHES.c.number == bindparam("number"))
_STORE_BATCH = insert(_BATCHES)
_ADVANCE_STATION = update(_STATIONS).where(_STATIONS.c.id == bindparam("s_id")).values(
    last_batch=bindparam("s_batch"), last_batch_sha256=bindparam("s_sha256"),
    last_seq=bindparam("s_seq"), last_seen_at=bindparam("s_seen"))
_NOTIFY = select(func.pg_notify(NOTIFY_CHANNEL, bindparam("payload", type_=String)))
_NOTIFY_WORK = select(func.pg_notify(WORK_CHANNEL, bindparam("payload", type_=String)))
# Without RETURNING, SQLAlchemy hands the rows to psycopg's pipelined executemany
# (several times faster here than one huge multi-VALUES statement); the summed rowcount
# says whether any id was already taken.
_INSERT_RECORDS = (insert(StoredRecord).on_conflict_do_nothing(index_elements=["id"])
                   .execution_options(preserve_rowcount=True))


@dataclass(frozen=True)
class Cursor:
    """Where a station's history stands at the central (``GET …/cursor``)."""

    last_batch: int
    last_sha256: str
    last_seq: int

    def to_json(self) -> dict[str, Any]:
        return {"last_batch": self.last_batch, "last_sha256": self.last_sha256,
                "last_seq": self.last_seq}


@dataclass(frozen=True)
class _Incoming:
    """One batch request being ingested (its SHA-256 computed once: it is costly)."""

    batch: Batch
    signature: bytes
    body: bytes
    sha256: str
    received_at: datetime
    station_clock: datetime | None  # the station's clock as it sent (X-Prep-Clock)

    def refused(self, status: int, code: str, message: str, *, anomaly: bool = True,
                quarantine: bool = False, **detail: Any) -> Refused:
        batch = self.batch
        return Refused(status, code, message, event="batch_refused", actor=batch.station,
                       detail={"number": batch.number, "sha256": self.sha256, **detail},
                       anomaly=anomaly, station=batch.station,
                       quarantine=Quarantine(batch.station, batch.number, self.body)
                       if quarantine else None)


#: Told, after a batch's commit, the site of the station that sent it (``(role,
#: sitio)``) and the work its records made (the server wakes operators waiting for work).
WorkListener = Callable[[tuple[str, str], WorkMade], None]


class _Made(NamedTuple):
    site: tuple[str, str]  # (role, sitio) of the sending station
    work: WorkMade


class Ingestor:
    """Applies batches to the database and answers with signed receipts."""

    def __init__(self, engine: Engine, identity: Identity, blobs: BlobStore,
                 on_work: WorkListener | None = None) -> None:
        self.engine = engine
        self.identity = identity
        self.blobs = blobs
        self.on_work = on_work

    def ingest(self, body: bytes, station_clock: datetime | None = None) -> bytes:
        """Apply the batch request ``body``; return the signed receipt body.

        Raises :class:`Refused` for anything the station sent that cannot be accepted.
        """
        received_at = datetime.now(UTC)
        started = time.perf_counter()
        incoming: _Incoming | None = None
        try:
            try:
                signed = read_signed_batch(body)  # step 1, as far as the signature
            except ProtocolError as exc:  # traced per source, never echoing the body
                raise unparsed_batch(exc, len(body)) from None
            with Session(self.engine) as session, session.begin():
                incoming = _signed_by_station(session, signed, body, received_at,
                                              station_clock)
                batch = incoming.batch
                receipt, made = self._apply(session, incoming)
                if made is not None:
                    crash_point("mid_ingest_transaction")
        except Refused as refused:
            _answered(metrics.REFUSED, started, incoming, refused.code)
            raise
        except Exception:
            _answered(metrics.ERROR, started, incoming)
            raise
        _answered(metrics.REPEATED if made is None else metrics.ACCEPTED, started, incoming)
        if made is not None:
            log.info("lote %s:%d aceptado (%d registros)", batch.station, batch.number,
                     len(batch.records), extra=fields(station=batch.station,
                                                      batch=batch.number))
            if self.on_work is not None and made.work != NO_WORK:
                try:  # committed already: telling the waiters must not fail the batch
                    self.on_work(made.site, made.work)
                except Exception:
                    log.exception("no se pudo avisar del trabajo nuevo del lote %s:%d",
                                  batch.station, batch.number,
                                  extra=fields(station=batch.station, batch=batch.number))
            crash_point("after_commit_before_response")
        return receipt

    def _apply(self, session: Session, incoming: _Incoming) -> tuple[bytes, _Made | None]:
        """The receipt, and what a batch not seen before made (``None`` for a repeat)."""
        batch = incoming.batch
        # Step 3's lock first, so that steps 2-8 all see a settled cursor.
        session.execute(_STATION_LOCK, {"station": batch.station})
        station = session.execute(_STATION, {"station": batch.station}).one_or_none()
        if station is None or not station.enabled:  # step 2 (disabled meanwhile)
            raise incoming.refused(403, "unknown_station", _UNKNOWN_STATION)
        stored = session.execute(_STORED, {"station": batch.station,
                                           "number": batch.number}).one_or_none()
        if stored is not None:  # step 3
            if stored.sha256 == incoming.sha256:
                return stored.receipt, None
            # Only a body the station really signed is worth keeping (checked before the
            # lock): anyone who knows a station id could otherwise fill the quarantine.
            raise incoming.refused(409, "conflicting_batch",
                                   f"El lote {batch.number} ya se había recibido con otro "
                                   "contenido; se guardó en cuarentena. Avise al coordinador.",
                                   quarantine=True, stored_sha256=stored.sha256)
        self._check(incoming, station)  # steps 4-5
        new = _insert_records(session, incoming)  # step 6
        _check_clock(session, incoming)  # step 7
        # Station health for the dashboard (central/stations/health.py), in this transaction.
        note_batch(session, batch, incoming.received_at, incoming.station_clock)
        # Acta pipeline (central/pipeline, docs/pipeline.md): each record is checked
        # against what its station and operator may do (quarantined if not), then
        # advances the acta states and completes its work lease, in this transaction.
        blob_types = {sha: self.blobs.media_type(sha) for sha in _images(batch)}
        applied = apply_batch(session, batch, incoming.received_at,
                              Sender(batch.station, station.role, station.sitio,
                                     station.intake, blob_types))
        receipt = sign_receipt(self.identity.key, Receipt(  # step 8
            batch.station, batch.number, incoming.sha256, len(batch.records), new,
            incoming.received_at, self.identity.node))
        session.execute(_STORE_BATCH, {
            "station": batch.station, "number": batch.number, "sha256": incoming.sha256,
            "body": incoming.body, "receipt": receipt, "records": len(batch.records),
            "received_at": incoming.received_at})
        session.execute(_ADVANCE_STATION, {
            "s_id": batch.station, "s_batch": batch.number, "s_sha256": incoming.sha256,
            "s_seq": batch.records[-1].seq, "s_seen": incoming.received_at})
        session.execute(_NOTIFY, {"payload": f"{batch.station}:{batch.number}"})
        if applied.work != NO_WORK:
            session.execute(_NOTIFY_WORK, {"payload": json.dumps({
                "o": ORIGIN, "r": station.role, "s": station.sitio,
                "c": applied.work.captura, "v": applied.work.verificacion})})
        # Last: the audit lock after every row lock this batch takes (apply.py says why).
        audit_contradicciones(session, applied.contradicciones)
        audit_cotejos(session, applied.cotejos)
        return receipt, _Made((station.role, station.sitio), applied.work)

    def _check(self, incoming: _Incoming, station: Any) -> None:
        """Steps 4-5. ``station``: the station's :data:`_STATION` row."""
        batch = incoming.batch
        # The signature was checked before the lock (_signed_by_station): an
        # out-of-order refusal is attributed to the station that signed it.
        if batch.number != station.last_batch + 1:
            raise incoming.refused(409, "out_of_order",
                                   f"El lote {batch.number} llegó antes que el lote "
                                   f"{station.last_batch + 1}; el equipo reenviará desde el "
                                   "último lote confirmado.", anomaly=False,
                                   last_batch=station.last_batch)
        if batch.prev != station.last_batch_sha256:
            raise incoming.refused(409, "broken_chain",
                                   f"El lote {batch.number} no continúa la cadena del lote "
                                   "anterior; se rechazó. Avise al coordinador.",
                                   reason=f"prev {batch.prev[:12]}… does not follow "
                                          f"{station.last_batch_sha256[:12]}…")
        self._check_blobs(incoming, _images(batch))
        self._check_seq(incoming, station)

    def _check_blobs(self, incoming: _Incoming, images: set[str]) -> None:
        batch = incoming.batch
        missing = sorted(sha for sha in images if not self.blobs.exists(sha))
        if missing:
            raise incoming.refused(400, "missing_blob",
                                   f"Faltan {len(missing)} imágenes del lote {batch.number} "
                                   "en el nodo central; el equipo debe subirlas antes de "
                                   "reenviar el lote.", anomaly=False, missing=missing[:20])

    def _check_seq(self, incoming: _Incoming, station: Any) -> None:
        batch = incoming.batch
        expected = station.last_seq + 1
        if [r.seq for r in batch.records] != list(range(expected, expected + len(batch.records))):
            raise incoming.refused(409, "seq_gap",
                                   f"Los registros del lote {batch.number} no continúan la "
                                   f"numeración del equipo (se esperaba el {expected}). "
                                   "Avise a soporte técnico.",
                                   first_seq=batch.records[0].seq, expected_seq=expected)


def _signed_by_station(session: Session, signed: SignedBatch, body: bytes,
                       received_at: datetime, station_clock: datetime | None) -> _Incoming:
    """Steps 2 and 4's signature, before the station's lock is taken and before the
    batch's records are read: a request no enabled station signed costs the central a
    key lookup and its JSON, and never makes a real station's batches wait."""
    key = session.execute(_KEY, {"station": signed.station}).one_or_none()
    sha256 = sha256_hex(signed.canonical)
    if key is None or not key.enabled:
        raise _unsigned(signed, sha256, 403, "unknown_station", _UNKNOWN_STATION)
    try:
        signed.verify(VerifyKey.from_raw(key.public_key))
    except ProtocolError:
        raise _unsigned(signed, sha256, 401, "bad_signature",
                        f"La firma del lote {signed.number} no corresponde a la llave de "
                        "este equipo; se rechazó. Avise al coordinador.") from None
    try:
        batch = signed.batch()
        if batch.canonical() != signed.canonical:  # stored exactly as it was signed
            raise ProtocolError("malformed", "the batch is not in canonical form")
    except ProtocolError as exc:
        raise unparsed_batch(exc, len(body)) from None
    return _Incoming(batch, signed.signature, body, sha256, received_at, station_clock)


def _answered(outcome: str, started: float, incoming: _Incoming | None,
              reason: str = metrics.NONE) -> None:
    """Count a batch request answered (:mod:`central.node.metrics.instruments`)."""
    records = len(incoming.batch.records) if incoming is not None else None
    metrics.batch_answered(outcome, time.perf_counter() - started, records, reason)


def _unsigned(signed: SignedBatch, sha256: str, status: int, code: str,
              message: str) -> Refused:
    """The refusal of a batch that no enabled station signed (counted by source,
    :data:`central.node.errors.UNSIGNED_CODES`; the station is only the one it names)."""
    return Refused(status, code, message, event="batch_refused", actor=signed.station,
                   detail={"number": signed.number, "sha256": sha256}, anomaly=True,
                   station=signed.station)


def _images(batch: Batch) -> set[str]:
    """The blobs (sha256) the batch's image records name."""
    return {str(r.body["sha256"]) for r in batch.records if r.kind is Kind.IMAGEN}


def _insert_records(session: Session, incoming: _Incoming) -> int:
    batch = incoming.batch
    rows = [{"id": r.id, "station": r.station, "seq": r.seq, "kind": r.kind.value,
             "operator": r.operator, "at": r.at, "replaces": r.replaces, "body": dict(r.body),
             "sha256": r.sha256, "batch_number": batch.number,
             "received_at": incoming.received_at} for r in batch.records]
    new: int = session.connection().execute(_INSERT_RECORDS, rows).rowcount
    if new < len(rows):
        # Seq continues the cursor, so an id already taken is not this very record again
        # but another record under the same id (stored before, or twice in this batch).
        ids = [r.id for r in batch.records]
        taken = set(session.scalars(select(StoredRecord.id).where(
            StoredRecord.id.in_(ids), or_(StoredRecord.station != batch.station,
                                          StoredRecord.batch_number != batch.number))))
        twice = {i for i, n in Counter(ids).items() if n > 1}
        raise incoming.refused(409, "record_conflict",
                               f"{len(rows) - new} registros del lote {batch.number} ya "
                               "existen con otro contenido; se rechazó el lote. Avise al "
                               "coordinador.", records=sorted(taken | twice)[:20])
    return new


def _check_clock(session: Session, incoming: _Incoming) -> None:
    """Step 7: warn (once an hour per station) when the station's clock is off.

    Skew is the station's clock as it sent minus the arrival time. Record times are not
    used: after an outage they are legitimately hours old. Without the clock header
    (older stations) only records stamped in the future are evidence of a wrong clock.
    """
    batch, received_at = incoming.batch, incoming.received_at
    if incoming.station_clock is not None:
        skew = incoming.station_clock - received_at
    else:
        skew = max((r.at for r in batch.records), default=received_at) - received_at
        skew = max(skew, timedelta(0))
    if abs(skew) <= CLOCK_SKEW_LIMIT:
        return
    recent = session.scalar(select(Anomaly.id).where(
        Anomaly.type == "clock_skew", Anomaly.station == batch.station,
        Anomaly.at > received_at - CLOCK_SKEW_REPEAT).limit(1))
    if recent is None:
        seconds = round(skew.total_seconds())
        log.warning("reloj de %s desfasado %+d s", batch.station, seconds,
                    extra=fields(station=batch.station, batch=batch.number))
        add_anomaly(session, "clock_skew", batch.station, {
            "number": batch.number, "skew_seconds": seconds,
            "received_at": format_time(received_at)})


def read_cursor(engine: Engine, station_id: str) -> Cursor:
    with Session(engine) as session:
        row = session.execute(select(Station.last_batch, Station.last_batch_sha256,
                                     Station.last_seq).where(Station.id == station_id)).one()
    return Cursor(row.last_batch, row.last_batch_sha256, row.last_seq)

