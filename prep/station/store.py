"""The station's local store: SQLite (WAL, ``synchronous=FULL``) in its data directory.

Every record is written together with its outbox row in one transaction that starts
with ``BEGIN IMMEDIATE``, so the write lock is taken before the next ``seq`` is read:
concurrent writers (threads, or a second process on the same data directory) queue on
the lock and ``seq`` stays gap-free. A record is durable once :meth:`Store.append`
returns; the sync agent may be offline for hours.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import cast

import platformdirs
from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from prep.canonical import sha256_hex
from prep.crypto import VerifyKey
from prep.records import Kind
from prep.records import Record
from prep.records import RecordError
from prep.records import check_size
from prep.records import format_time
from prep.records import new_record
from prep.station.blobs import DISK_ERROR_MESSAGE
from prep.station.blobs import DISK_FULL_MESSAGE
from prep.station.blobs import storage_error
from prep.station.crash import crash_point
from prep.station.errors import NotEnrolledError
from prep.station.errors import StationInputError
from prep.station.errors import StationStorageError
from prep.station.models import LATER_INDEXES
from prep.station.models import SCHEMA_VERSION
from prep.station.models import Base
from prep.station.models import BlobRow
from prep.station.models import Identity
from prep.station.models import Meta
from prep.station.models import OutboxRow
from prep.station.models import RecordRow

Clock = Callable[[], datetime]
"""Where the station reads the time (UTC, timezone-aware); tests inject a skewed one."""

Guard = Callable[[Connection], None]
"""A check run inside a record's write transaction (e.g. refuse a second acopio)."""

_RECORDS = cast(Table, RecordRow.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)
_BLOBS = cast(Table, BlobRow.__table__)
# Built once: every record of the night runs these (building a statement costs about as
# much as running it on SQLite).
_LAST_SEQ = select(func.max(_RECORDS.c.seq))
_INSERT_BLOB = sqlite_insert(_BLOBS).on_conflict_do_nothing()
_INSERT_RECORD = insert(_RECORDS)
_INSERT_OUTBOX = insert(_OUTBOX)

_DISABLED_SINCE = "disabled_since"  # meta key: the central refuses this station
_TIMELINE = "central_timeline"  # meta key: the highest timeline a central answered from
_TIMELINE_STATEMENT = "central_timeline_statement"  # its signed proof (prep.linea)

DB_NAME = "station.sqlite3"
KEY_NAME = "station.key"
BLOB_DIR = "blobs"

PRAGMAS = (
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)


def system_clock() -> datetime:
    return datetime.now(UTC)


def default_data_dir() -> Path:
    """Where a station keeps its data unless ``--data-dir`` says otherwise."""
    return Path(platformdirs.user_data_dir("prep-station", appauthor=False))


@dataclass(frozen=True)
class StationIdentity:
    """Who the station is and which central it trusts (set once, at enrollment)."""

    station_id: str
    role: str
    sitio: str
    node: str
    central_url: str
    central_key: VerifyKey
    cert_pem: str
    cert_sha256: str
    key_path: Path


@dataclass(frozen=True)
class BlobRef:
    """An image already stored in the blob directory, to be named by a record."""

    sha256: str
    size: int
    media_type: str
    path: str


def open_engine(path: Path) -> Engine:
    """A SQLAlchemy engine on the SQLite file at ``path`` with the station's pragmas on
    every connection, and transactions begun by us (``BEGIN`` or ``BEGIN IMMEDIATE``)."""
    engine = create_engine(f"sqlite:///{path}", pool_size=4, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # sqlite3's own implicit BEGIN would defeat BEGIN IMMEDIATE; we emit our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("station_single", False):
            return  # one statement: SQLite's own implicit transaction (Store.query_one)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("station_immediate", False)
                             else "BEGIN")

    return engine


class Store:
    """One station data directory's database: identity, records, outbox, batches, blobs."""

    def __init__(self, data_dir: Path, clock: Clock = system_clock) -> None:
        self.data_dir = data_dir
        self.clock = clock
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.engine = open_engine(data_dir / DB_NAME)
        self._writer = self.engine.execution_options(station_immediate=True)
        self._single = self.engine.execution_options(station_single=True)
        self._identity: StationIdentity | None = None
        try:
            Base.metadata.create_all(self.engine)
            with self.engine.begin() as conn:  # indexes added since a station's tables
                for index in LATER_INDEXES:     # were made (create_all skips those)
                    index.create(conn, checkfirst=True)
            with self.write() as session:
                if session.get(Meta, "schema") is None:
                    session.add(Meta(key="schema", value=str(SCHEMA_VERSION)))
        except OperationalError as exc:
            self.engine.dispose()
            raise database_error(exc, "la base de datos de la estación") from exc

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (a deferred transaction: sees one snapshot)."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def query(self) -> Iterator[Connection]:
        """Like :meth:`read`, on a plain connection: for the reads made for every acta
        (an ORM session costs more than the query itself)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def query_one(self) -> Iterator[Connection]:
        """Like :meth:`query`, for a single read statement: no ``BEGIN``/``COMMIT``
        around it (SQLite runs a lone statement in a transaction of its own, which sees
        one snapshot). Two statements in it may see two different snapshots: use
        :meth:`query` for those. For the reads made for every scan and every lease."""
        with self._single.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction holding SQLite's write lock from its first statement;
        committed on exit, rolled back on any exception."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write_plain(self) -> Iterator[Connection]:
        """Like :meth:`write`, on a plain connection (``BEGIN IMMEDIATE`` too): for the
        writes made for every record and every batch (an ORM session costs more than
        the statements)."""
        with self._writer.begin() as conn:
            yield conn

    def now(self) -> str:
        return format_time(self.clock())

    # identity ----------------------------------------------------------------------

    def identity(self) -> StationIdentity | None:
        """This station's identity, or ``None`` before enrollment."""
        if self._identity is None:
            with self.read() as session:
                row = session.get(Identity, 1)
                if row is not None:
                    self._identity = _identity_from_row(row)
        return self._identity

    def require_identity(self) -> StationIdentity:
        identity = self.identity()
        if identity is None:
            raise NotEnrolledError("La estación aún no está dada de alta ante el nodo "
                                   "central: pida un código de alta a su coordinador.")
        return identity

    def save_identity(self, identity: StationIdentity) -> None:
        """Store the identity (once: a station never changes who it is)."""
        with self.write() as session:
            if session.get(Identity, 1) is not None:
                raise StationInputError("La estación ya está dada de alta; para darla de "
                                        "alta de nuevo use otro directorio de datos.")
            session.add(Identity(
                id=1, station_id=identity.station_id, role=identity.role,
                sitio=identity.sitio, key_path=str(identity.key_path),
                central_key=identity.central_key.b64(), cert_pem=identity.cert_pem,
                cert_sha256=identity.cert_sha256, central_url=identity.central_url,
                node=identity.node, enrolled_at=self.now()))
        self._identity = identity

    # refused by the central --------------------------------------------------------

    def disabled_since(self) -> str | None:
        """When the central began refusing this station as disabled (403
        ``unknown_station``), or ``None`` while it accepts it. Kept across restarts so
        ``prep station status`` can say it without asking the central."""
        with self.read() as session:
            row = session.get(Meta, _DISABLED_SINCE)
            return row.value if row is not None else None

    def note_disabled(self, disabled: bool) -> None:
        """Remember whether the central refuses this station (see
        :meth:`disabled_since`); the first refusal's time stays."""
        with self.write() as session:
            row = session.get(Meta, _DISABLED_SINCE)
            if disabled and row is None:
                session.add(Meta(key=_DISABLED_SINCE, value=self.now()))
            elif not disabled and row is not None:
                session.delete(row)

    def highest_timeline(self) -> int:
        """The highest PostgreSQL timeline a central node proved to this station with a
        signed statement (0: none yet); kept across restarts."""
        with self.read() as session:
            row = session.get(Meta, _TIMELINE)
            value = row.value if row is not None else ""
            # Bounded: a value from before statements were signed may be anything.
            return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 \
                else 0

    def timeline_statement(self) -> bytes | None:
        """The signed statement of :meth:`highest_timeline` (:mod:`prep.linea`)."""
        with self.read() as session:
            row = session.get(Meta, _TIMELINE_STATEMENT)
            return row.value.encode("ascii") if row is not None else None

    def note_timeline(self, timeline: int, statement: bytes) -> None:
        """Remember ``timeline`` and its signed ``statement`` if it is higher than the
        one kept (the caller verified the statement)."""
        with self.write() as session:
            row = session.get(Meta, _TIMELINE)
            kept = row.value if row is not None else ""
            if kept.isdigit() and len(kept) <= 9 and int(kept) >= timeline:
                return
            if row is None:
                session.add(Meta(key=_TIMELINE, value=str(timeline)))
            else:
                row.value = str(timeline)
            proof = session.get(Meta, _TIMELINE_STATEMENT)
            if proof is None:
                session.add(Meta(key=_TIMELINE_STATEMENT, value=statement.decode("ascii")))
            else:
                proof.value = statement.decode("ascii")

    # records -----------------------------------------------------------------------

    def append(self, kind: Kind, body: Mapping[str, Any], operator: str,
               replaces: str | None = None, blob: BlobRef | None = None,
               guard: Guard | None = None) -> Record:
        """Write a new record and its outbox row in one transaction; return the record.

        ``seq`` is assigned inside the transaction. ``blob`` (already durable on disk)
        gets its row in the same transaction. Raises :class:`StationInputError` for a
        body the central would refuse and :class:`StationStorageError` when the disk
        refuses the write; either way nothing is written.
        """
        draft = self._draft(kind, body, operator, replaces)
        try:
            # A plain connection, not an ORM session: every record of the night passes here.
            with self.write_plain() as conn:
                if guard is not None:
                    guard(conn)
                record = self._insert(conn, draft, blob)
        except RecordError as exc:  # the body only fits with a small seq (never in practice)
            raise StationInputError(f"Registro no válido: {exc}") from exc
        except DBAPIError as exc:
            raise database_error(exc, "el registro") from exc
        except OSError as exc:
            raise storage_error(exc, "el registro") from exc
        crash_point("after_local_commit")
        return record

    def validate(self, kind: Kind, body: Mapping[str, Any], operator: str,
                 replaces: str | None = None) -> str:
        """Check a record before anything is written; return the station id."""
        return self._draft(kind, body, operator, replaces).station

    def _draft(self, kind: Kind, body: Mapping[str, Any], operator: str,
               replaces: str | None) -> Record:
        """The record validated as the central will, before its ``seq`` and time."""
        station = self.require_identity().station_id
        try:
            return new_record(station, 1, kind, operator, body, self.clock(), replaces)
        except RecordError as exc:
            raise StationInputError(f"Registro no válido: {exc}") from exc

    def counts(self) -> tuple[int, int]:
        """How many records are stored, and the last ``seq``."""
        with self.read() as session:
            count, last = session.execute(select(func.count(), func.max(RecordRow.seq))
                                          .select_from(RecordRow)).one()
            return int(count), int(last or 0)

    def _insert(self, conn: Connection, draft: Record, blob: BlobRef | None) -> Record:
        """``draft`` (validated) with the next ``seq`` and the time now, written with its
        outbox row (and ``blob``'s row) in ``conn``'s transaction."""
        # Plain INSERTs: every record of the night passes here, and the ORM's unit of
        # work (three flushes) was most of a record's CPU.
        last = conn.scalar(_LAST_SEQ)
        record = replace(draft, seq=(last or 0) + 1, at=self.clock())
        canonical = record.canonical()
        check_size(len(canonical))  # validated with seq 1: a longer seq adds bytes
        seq, kind, body = record.seq, record.kind, record.body
        if blob is not None:
            conn.execute(_INSERT_BLOB, {
                "sha256": blob.sha256, "size": blob.size, "media_type": blob.media_type,
                "path": blob.path, "uploaded": False, "created": self.now()})
        clave = body.get("clave_acta")
        conn.execute(_INSERT_RECORD, {
            "id": record.id, "seq": seq, "kind": kind.value,
            "clave_acta": clave if isinstance(clave, str) else None,
            "canonical": canonical, "size": len(canonical), "sha256": sha256_hex(canonical),
            "blob_sha256": blob.sha256 if blob is not None else None,
            "created": format_time(record.at)})
        conn.execute(_INSERT_OUTBOX, {"record_id": record.id, "seq": seq,
                                       "batch_number": None, "delivered": False})
        return record

    def records(self, after_seq: int = 0, limit: int = 1000) -> list[tuple[int, str, bytes]]:
        """``(seq, sha256, canonical bytes)`` of stored records, in ``seq`` order."""
        with self.read() as session:
            rows = session.execute(
                select(RecordRow.seq, RecordRow.sha256, RecordRow.canonical)
                .where(RecordRow.seq > after_seq).order_by(RecordRow.seq).limit(limit))
            return [(r.seq, r.sha256, r.canonical) for r in rows]

    def kinds_for(self, clave_acta: str) -> list[str]:
        """Kinds of the records this station made about one acta, in order."""
        with self.read() as session:
            return list(session.scalars(select(RecordRow.kind)
                                        .where(RecordRow.clave_acta == clave_acta)
                                        .order_by(RecordRow.seq)))


def sqlite_code(exc: DBAPIError) -> int | None:
    """SQLite's primary result code behind ``exc`` (``sqlite3.SQLITE_FULL``…), if any."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def database_error(exc: DBAPIError, que: str) -> StationStorageError:
    """The operator's message for a failed SQLite write of ``que``."""
    code = sqlite_code(exc)
    if code == sqlite3.SQLITE_FULL:
        return StationStorageError(DISK_FULL_MESSAGE.format(que=que))
    if code == sqlite3.SQLITE_BUSY:
        return StationStorageError(
            f"La base de datos de la estación está ocupada por otro programa: no se guardó "
            f"{que}. Vuelva a intentarlo; si persiste, cierre los otros programas PREP de "
            f"esta estación.")
    return StationStorageError(DISK_ERROR_MESSAGE.format(detalle=exc.orig, que=que))


def _identity_from_row(row: Identity) -> StationIdentity:
    return StationIdentity(
        station_id=row.station_id, role=row.role, sitio=row.sitio, node=row.node,
        central_url=row.central_url, central_key=VerifyKey.from_b64(row.central_key),
        cert_pem=row.cert_pem, cert_sha256=row.cert_sha256, key_path=Path(row.key_path))


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_NAME


def ensure_private(path: Path) -> None:
    """Make ``path`` readable by its owner only (the station's private key)."""
    os.chmod(path, 0o600)
