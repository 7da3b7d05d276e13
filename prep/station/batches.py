"""The outbox side of the store: freezing records into signed batches and recording
their delivery.

A batch is built once (:func:`prep.protocol.make_batch`) and its request body stored
before the first send; every retry sends those bytes. Outbox rows become delivered only
with a receipt the central signed (or, after a lost receipt, when the central's cursor
proves it holds our very batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from prep.canonical import sha256_hex
from prep.crypto import SigningKey
from prep.protocol import GENESIS
from prep.protocol import MAX_BATCH_BYTES
from prep.protocol import MAX_BATCH_RECORDS
from prep.protocol import Batch
from prep.protocol import batch_canonical
from prep.protocol import read_batch
from prep.protocol import signed_body
from prep.records import Kind
from prep.station.crash import crash_point
from prep.station.errors import StationError
from prep.station.models import BatchRow
from prep.station.models import BlobRow
from prep.station.models import OutboxRow
from prep.station.models import RecordRow
from prep.station.store import BlobRef
from prep.station.store import Store
from prep.station.store import database_error

DEFAULT_BATCH_RECORDS = 200

# Room for the batch envelope and signature around the records' own bytes.
_BATCH_BYTES_BUDGET = MAX_BATCH_BYTES - 64 * 1024


@dataclass(frozen=True)
class FrozenBatch:
    """A persisted batch: its number, hash and the exact request body."""

    number: int
    sha256: str
    body: bytes
    records: int
    blocked: str | None = None
    #: Frozen with every record that was waiting (not cut short by the record or byte
    #: limit): whatever is unbatched now came after it.
    took_all: bool = False

    def parsed(self) -> Batch:
        """The batch object (to check a receipt against)."""
        return read_batch(self.body)[0]


@dataclass(frozen=True)
class OutboxSummary:
    """Batch counts for the status display."""

    batches: int
    delivered: int
    blocked: str | None
    last_receipt_at: str | None


@dataclass(frozen=True)
class CursorOutcome:
    """What :meth:`Outbox.apply_cursor` did with the central's cursor."""

    ok: bool
    marked_delivered: int = 0
    resent: int = 0
    message: str = ""


class Outbox:
    """Batches of one station: freeze, list pending, record delivery."""

    def __init__(self, store: Store, key: SigningKey) -> None:
        self.store = store
        self.key = key

    def freeze(self, max_records: int = DEFAULT_BATCH_RECORDS) -> FrozenBatch | None:
        """Put the oldest unbatched records (up to ``max_records``, in ``seq`` order)
        into the next batch and persist it; ``None`` if there is nothing to freeze."""
        max_records = max(1, min(max_records, MAX_BATCH_RECORDS))
        station = self.store.require_identity().station_id
        try:
            with self.store.write_plain() as conn:
                rows = conn.execute(_UNBATCHED, {"limit": max_records}).all()
                if not rows:
                    return None
                # The records as stored (validated and encoded when they were written),
                # not decoded and encoded again: each checked against its stored hash, so
                # a damaged row is never signed into a batch.
                records: list[bytes] = []
                size = 0
                for row in rows:
                    size += row.size
                    if records and size > _BATCH_BYTES_BUDGET:
                        break
                    if not isinstance(row.canonical, bytes) \
                            or sha256_hex(row.canonical) != row.sha256:
                        raise StationError(f"Error interno del almacén: el registro {row.seq} "
                                           "no coincide con su código de integridad; no se "
                                           "enviará. Avise a soporte técnico.")
                    records.append(row.canonical)
                first_seq, end_seq = rows[0].seq, rows[len(records) - 1].seq
                last = conn.execute(_LAST_BATCH).first()
                number, prev, last_seq = (last.number + 1, last.sha256, last.last_seq) \
                    if last else (1, GENESIS, 0)
                if first_seq != last_seq + 1:
                    raise StationError(f"Error interno del almacén: el lote {number} "
                                       f"empezaría en el registro {first_seq} y el "
                                       f"anterior terminó en {last_seq}.")
                canonical = batch_canonical(station, number, prev, self.store.clock(), records)
                body = signed_body(self.key, canonical)
                sha256 = sha256_hex(canonical)
                conn.execute(_INSERT_BATCH, {
                    "number": number, "sha256": sha256, "prev": prev, "body": body,
                    "records": len(records), "first_seq": first_seq, "last_seq": end_seq,
                    "frozen_at": self.store.now(), "receipt": None, "delivered_at": None,
                    "blocked": None})
                conn.execute(_BATCH_OUTBOX, {"o_first": first_seq, "o_last": end_seq,
                                             "o_number": number})
        except OperationalError as exc:
            raise database_error(exc, "el lote") from exc
        crash_point("after_freeze")
        took_all = len(rows) < max_records and len(records) == len(rows)
        return FrozenBatch(number, sha256, body, len(records), took_all=took_all)

    def freeze_all(self, max_records: int = DEFAULT_BATCH_RECORDS) -> int:
        """Freeze every unbatched record; return how many batches were made."""
        made = 0
        while self.freeze(max_records) is not None:
            made += 1
        return made

    def pending(self) -> list[FrozenBatch]:
        """Frozen batches without a receipt, in number order."""
        with self.store.query_one() as conn:  # every pass of the agent: a plain connection
            return [_frozen(row) for row in conn.execute(_PENDING)]

    def batch(self, number: int) -> FrozenBatch | None:
        with self.store.read() as session:
            row = session.get(BatchRow, number)
            return None if row is None else _frozen(row)

    def blobs_to_upload(self, number: int) -> list[BlobRef]:
        """Images named by batch ``number``'s records that the central does not have yet."""
        with self.store.query_one() as conn:
            rows = conn.execute(_TO_UPLOAD, {"number": number})
            unique = {r.sha256: BlobRef(r.sha256, r.size, r.media_type, r.path) for r in rows}
            return list(unique.values())

    def mark_uploaded(self, sha256s: Sequence[str]) -> None:
        """The central has these images (one transaction for a batch's worth)."""
        if not sha256s:
            return
        with self.store.write_plain() as conn:
            conn.execute(_MARK_UPLOADED, {"sha256s": list(sha256s)})

    def deliver(self, number: int, receipt: bytes | None) -> None:
        """Store the receipt and mark the batch's outbox rows delivered, together."""
        with self.store.write_plain() as conn:
            conn.execute(_DELIVERED, {"d_number": number, "d_receipt": receipt,
                                      "d_at": self.store.now()})
            conn.execute(_OUTBOX_DELIVERED, {"d_number": number})

    def block(self, number: int, message: str) -> None:
        """Stop sending batch ``number`` (and those after it) until :meth:`unblock`."""
        with self.store.write() as session:
            session.execute(update(BatchRow).where(BatchRow.number == number)
                            .values(blocked=message))

    def unblock(self) -> int:
        """A coordinator reviewed the refusal: let the agent try again. Returns how many
        batches were blocked."""
        with self.store.write() as session:
            result = session.execute(update(BatchRow).where(BatchRow.blocked.is_not(None))
                                     .values(blocked=None))
            return int(getattr(result, "rowcount", 0) or 0)

    def backlog(self) -> tuple[int, int]:
        """Undelivered records and their bytes, plus images not uploaded yet: what the
        status bar shows as pending."""
        with self.store.query() as conn:
            count, size = conn.execute(_BACKLOG_RECORDS).one()
            blob_bytes = conn.scalar(_BACKLOG_BLOBS)
            return int(count), int(size) + int(blob_bytes or 0)

    def has_undelivered(self, kind: Kind) -> bool:
        with self.store.query_one() as conn:
            return conn.scalar(_UNDELIVERED_OF_KIND, {"kind": kind.value}) is not None

    def summary(self) -> OutboxSummary:
        with self.store.read() as session:
            batches, delivered, last = session.execute(
                select(func.count(), func.count(BatchRow.delivered_at),
                       func.max(BatchRow.delivered_at))).one()
            blocked = session.scalar(select(BatchRow.blocked)
                                     .where(BatchRow.blocked.is_not(None))
                                     .order_by(BatchRow.number).limit(1))
            return OutboxSummary(int(batches), int(delivered), blocked, last)

    def last_delivery(self) -> str | None:
        """When (station clock) the last receipt arrived."""
        with self.store.read() as session:
            return session.scalar(select(func.max(BatchRow.delivered_at)))

    def last_delivered(self) -> int:
        """The highest batch number the central receipted (0: none)."""
        with self.store.read() as session:
            return int(session.scalar(select(func.max(BatchRow.number))
                                      .where(BatchRow.delivered_at.is_not(None))) or 0)

    def apply_cursor(self, last_batch: int, last_sha256: str) -> CursorOutcome:
        """Align with the central's cursor (after a 409 ``out_of_order``).

        Our batches up to ``last_batch`` count as delivered only if the central's hash of
        batch ``last_batch`` is ours; batches after it that we thought delivered are
        sent again (the central lost them, e.g. restored from a backup).
        """
        with self.store.write() as session:
            top = session.scalar(select(func.max(BatchRow.number))) or 0
            if last_batch > 0:
                ours = session.get(BatchRow, last_batch)
                if ours is None or ours.sha256 != last_sha256:
                    return CursorOutcome(False, message=(
                        f"El nodo central dice tener el lote {last_batch} de esta estación "
                        f"con otra huella ({last_sha256[:12]}…)"
                        + ("" if ours is None else f"; el de la estación es "
                           f"{ours.sha256[:12]}…") + ": posible alteración de datos. "
                        f"Avise a su coordinador; la estación tiene {top} lotes."))
            now = self.store.now()
            done = session.execute(
                update(BatchRow).where(BatchRow.number <= last_batch,
                                       BatchRow.delivered_at.is_(None))
                .values(delivered_at=now, blocked=None))
            session.execute(update(OutboxRow).where(OutboxRow.batch_number <= last_batch)
                            .values(delivered=True))
            again = session.execute(
                update(BatchRow).where(BatchRow.number > last_batch,
                                       BatchRow.delivered_at.is_not(None))
                .values(delivered_at=None, receipt=None))
            session.execute(update(OutboxRow).where(OutboxRow.batch_number > last_batch)
                            .values(delivered=False))
            resent = int(getattr(again, "rowcount", 0) or 0)
            if resent:
                images = select(RecordRow.blob_sha256).join(
                    OutboxRow, OutboxRow.record_id == RecordRow.id).where(
                    OutboxRow.batch_number > last_batch, RecordRow.blob_sha256.is_not(None))
                session.execute(update(BlobRow).where(BlobRow.sha256.in_(images))
                                .values(uploaded=False))
            return CursorOutcome(True, int(getattr(done, "rowcount", 0) or 0), resent)


# Built once: the sync agent asks these on every pass.
_PENDING = (select(BatchRow.number, BatchRow.sha256, BatchRow.body, BatchRow.records,
                   BatchRow.blocked)
            .where(BatchRow.delivered_at.is_(None)).order_by(BatchRow.number))
_TO_UPLOAD = (select(BlobRow.sha256, BlobRow.size, BlobRow.media_type, BlobRow.path)
              .join(RecordRow, RecordRow.blob_sha256 == BlobRow.sha256)
              .join(OutboxRow, OutboxRow.record_id == RecordRow.id)
              .where(OutboxRow.batch_number == bindparam("number"),
                     BlobRow.uploaded.is_(False), RecordRow.kind == Kind.IMAGEN.value)
              .order_by(RecordRow.seq))
_BACKLOG_RECORDS = (select(func.count(), func.coalesce(func.sum(RecordRow.size), 0))
                    .select_from(OutboxRow)
                    .join(RecordRow, RecordRow.id == OutboxRow.record_id)
                    .where(OutboxRow.delivered.is_(False)))
_BACKLOG_BLOBS = (select(func.coalesce(func.sum(BlobRow.size), 0))
                  .where(BlobRow.uploaded.is_(False)))
_UNBATCHED = (select(RecordRow.seq, RecordRow.canonical, RecordRow.size, RecordRow.sha256)
              .join(OutboxRow, OutboxRow.record_id == RecordRow.id)
              .where(OutboxRow.batch_number.is_(None), OutboxRow.delivered.is_(False))
              .order_by(OutboxRow.seq).limit(bindparam("limit")))
_LAST_BATCH = (select(BatchRow.number, BatchRow.sha256, BatchRow.last_seq)
               .order_by(BatchRow.number.desc()).limit(1))
_INSERT_BATCH = insert(BatchRow)
_BATCH_OUTBOX = (update(OutboxRow)
                 .where(OutboxRow.seq.between(bindparam("o_first"), bindparam("o_last")))
                 .values(batch_number=bindparam("o_number")))
_MARK_UPLOADED = (update(BlobRow).where(BlobRow.sha256.in_(bindparam("sha256s", expanding=True)))
                  .values(uploaded=True))
_DELIVERED = (update(BatchRow).where(BatchRow.number == bindparam("d_number"))
              .values(receipt=bindparam("d_receipt"), delivered_at=bindparam("d_at"),
                      blocked=None))
_OUTBOX_DELIVERED = (update(OutboxRow).where(OutboxRow.batch_number == bindparam("d_number"))
                     .values(delivered=True))
_UNDELIVERED_OF_KIND = (select(OutboxRow.seq)
                        .join(RecordRow, RecordRow.id == OutboxRow.record_id)
                        .where(OutboxRow.delivered.is_(False),
                               RecordRow.kind == bindparam("kind"))
                        .limit(1))


def _frozen(row: Any) -> FrozenBatch:
    """The batch of a :class:`BatchRow` or of a plain row with its columns (``_PENDING``)."""
    return FrozenBatch(row.number, row.sha256, row.body, row.records, row.blocked)
