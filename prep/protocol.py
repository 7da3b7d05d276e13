"""The station ↔ central wire protocol (docs/protocol.md): batches, receipts, request
signatures. Both sides use these functions, so what one signs the other can verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import TypeVar

from prep.canonical import CanonicalError
from prep.canonical import CodedError
from prep.canonical import JsonValue
from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.canonical import sha256_hex
from prep.crypto import SignatureError
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.crypto import b64decode
from prep.crypto import b64encode
from prep.records import STATION_ID
from prep.records import Record
from prep.records import RecordError
from prep.records import format_time
from prep.records import parse_time

PROTOCOL_VERSION = 1
#: The mDNS service the central advertises and stations browse (docs/protocol.md).
SERVICE_TYPE = "_prep-central._tcp.local."
#: Header with the station's clock when it sends a batch (for the central's skew check).
CLOCK_HEADER = "X-Prep-Clock"
#: On every answer of a central node: the PostgreSQL timeline of the database it serves
#: (a promoted standby starts a higher one). A station that has seen a higher timeline
#: never sends to a node of a lower one: that is a primary that was replaced
#: (docs/continuidad.md, fencing).
TIMELINE_HEADER = "X-Prep-Linea"
#: A registered difusor's requests (issue 30, docs/difusores.md): its registration with a
#: one-time code, and its reports signed as a station signs (:func:`request_message`),
#: naming itself in this header instead of ``X-Prep-Station``.
DIFUSOR_REGISTRO_PATH = "/v1/difusores/registro"
DIFUSOR_REPORTE_PATH = "/v1/difusores/reporte"
DIFUSOR_HEADER = "X-Prep-Difusor"
GENESIS = "0" * 64
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_BLOB_BYTES = 32 * 1024 * 1024
#: Longest wait (seconds) an ask for work may ask of the central (``espera`` in ``POST
#: /v1/work/next``).
MAX_ESPERA = 60
SIGNATURE_BYTES = 64

T = TypeVar("T")


class ProtocolError(CodedError):
    """A message that is malformed, badly signed or out of order."""


@dataclass(frozen=True)
class Batch:
    """A numbered, hash-chained, signed group of one station's records."""

    station: str
    number: int
    prev: str
    created: datetime
    records: tuple[Record, ...]

    def to_json(self) -> dict[str, JsonValue]:
        return {"v": PROTOCOL_VERSION, "station": self.station, "number": self.number,
                "prev": self.prev, "created": format_time(self.created),
                "records": [r.to_json() for r in self.records]}

    def canonical(self) -> bytes:
        return canonical_bytes(self.to_json())

    @property
    def sha256(self) -> str:
        return sha256_hex(self.canonical())


@dataclass(frozen=True)
class BatchRef:
    """What names a batch to its receipt: station, number and SHA-256 (a station checks
    a receipt against the batch it froze without parsing the batch again)."""

    station: str
    number: int
    sha256: str


def make_batch(key: SigningKey, station: str, number: int, prev: str,
               records: Sequence[Record], created: datetime | None = None) -> tuple[Batch, bytes]:
    """A batch and the exact request body to POST (kept and resent byte for byte)."""
    if not records or len(records) > MAX_BATCH_RECORDS:
        raise ProtocolError("batch_size", f"a batch holds 1 to {MAX_BATCH_RECORDS} records")
    batch = Batch(station, number, prev, created or datetime.now(UTC), tuple(records))
    return batch, signed_body(key, batch.canonical())


def batch_canonical(station: str, number: int, prev: str, created: datetime,
                    records: Sequence[bytes]) -> bytes:
    """:meth:`Batch.canonical` put together from its records' canonical bytes (as a
    station stores them), without decoding and encoding every record again. The keys
    in canonical order; a list is its items' encodings joined by commas."""
    if not records or len(records) > MAX_BATCH_RECORDS:
        raise ProtocolError("batch_size", f"a batch holds 1 to {MAX_BATCH_RECORDS} records")
    if type(number) is not int or number < 1:
        raise ProtocolError("malformed", "batch number must be a positive integer")
    return b"".join((
        b'{"created":', canonical_bytes(format_time(created)),
        b',"number":', str(number).encode(), b',"prev":', canonical_bytes(prev),
        b',"records":[', b",".join(records), b'],"station":', canonical_bytes(station),
        b',"v":', str(PROTOCOL_VERSION).encode(), b"}"))


def signed_body(key: SigningKey, canonical: bytes) -> bytes:
    """The request body of the batch whose canonical bytes are ``canonical``: the
    canonical form of ``{"batch": …, "signature": …}``, put together around them."""
    body = b"".join((b'{"batch":', canonical, b',"signature":',
                     canonical_bytes(b64encode(key.sign(canonical))), b"}"))
    if len(body) > MAX_BATCH_BYTES:
        raise ProtocolError("batch_size", f"batch of {len(body)} bytes exceeds "
                                          f"{MAX_BATCH_BYTES}; freeze fewer records")
    return body


@dataclass(frozen=True)
class SignedBatch:
    """A batch request read as far as checking its signature needs: which station
    claims to have signed which bytes. Its records are not validated yet
    (:meth:`batch`): a request nobody signed costs the central no more than its JSON,
    and takes no lock (central ingest checks the signature first)."""

    station: str
    number: int
    signature: bytes
    canonical: bytes  # the batch's canonical bytes: what the signature covers
    raw: dict[str, JsonValue]

    def verify(self, key: VerifyKey) -> None:
        """Raise :class:`ProtocolError` ``bad_signature`` unless ``key`` signed it."""
        try:
            key.verify(self.signature, self.canonical)
        except SignatureError:
            raise ProtocolError("bad_signature", f"batch {self.number} of {self.station}: "
                                                 "the signature does not verify") from None

    def batch(self) -> Batch:
        """The batch, every record validated (:class:`ProtocolError` if one is not)."""
        raw = self.raw
        try:
            records = raw["records"]
            if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH_RECORDS:
                raise ProtocolError("batch_size",
                                    f"a batch holds 1 to {MAX_BATCH_RECORDS} records")
            prev = raw["prev"]
            if not isinstance(prev, str) or len(prev) != 64:
                raise ProtocolError("malformed", "prev must be a SHA-256")
            created = parse_time(raw["created"])
        except RecordError as exc:
            raise ProtocolError("malformed", str(exc)) from None
        batch = Batch(self.station, self.number, prev, created, _records(records))
        for record in batch.records:
            if record.station != batch.station:
                raise ProtocolError("foreign_record",
                                    f"record {record.id} is from {record.station}, batch "
                                    f"from {batch.station}")
        return batch


def read_signed_batch(body: bytes) -> SignedBatch:
    """Parse an untrusted batch request up to its signature: its size, its JSON, the
    station and number it names and the bytes signed (see :class:`SignedBatch`)."""
    try:
        data = parse_json(body, MAX_BATCH_BYTES)
    except CanonicalError as exc:
        raise ProtocolError(exc.code, f"batch is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != {"batch", "signature"}:
        raise ProtocolError("malformed", "request must be {batch, signature}")
    raw = data["batch"]
    if not isinstance(raw, dict) or set(raw) != {"v", "station", "number", "prev", "created",
                                                 "records"}:
        raise ProtocolError("malformed", "batch fields are v, station, number, prev, "
                                         "created, records")
    # ``true`` equals 1 in Python but is another canonical text: the batch rebuilt
    # from it would not be the bytes the station signed.
    if type(raw["v"]) is not int or raw["v"] != PROTOCOL_VERSION:
        raise ProtocolError("version", f"protocol version not supported (only "
                                       f"{PROTOCOL_VERSION})")
    if not isinstance(raw["station"], str) or not STATION_ID.fullmatch(raw["station"]):
        raise ProtocolError("malformed", "station is not a station id")
    number = raw["number"]
    if type(number) is not int or number < 1:
        raise ProtocolError("malformed", "batch number must be a positive integer")
    try:
        signature = b64decode(data["signature"], SIGNATURE_BYTES)
    except SignatureError as exc:
        raise ProtocolError("malformed", str(exc)) from None
    return SignedBatch(raw["station"], number, signature, canonical_bytes(raw), raw)


def read_batch(body: bytes) -> tuple[Batch, bytes]:
    """Parse an untrusted batch request: (batch, signature). Does not verify anything
    that needs the station's key or history; see :func:`verify_batch`."""
    signed = read_signed_batch(body)
    return signed.batch(), signed.signature


def _records(raw: list[JsonValue]) -> tuple[Record, ...]:
    """The batch's records, validated; a refusal names the record by its place (its
    content stays out of the message) and keeps the record's code (e.g.
    ``control_character``)."""
    records = []
    for index, item in enumerate(raw, 1):
        try:
            records.append(Record.from_json(item))
        except RecordError as exc:
            raise ProtocolError(exc.code, f"record {index} of the batch: {exc}") from None
    return tuple(records)


def verify_batch(batch: Batch, signature: bytes, key: VerifyKey, expected_prev: str) -> None:
    """Check the station's signature and the hash chain."""
    try:
        key.verify(signature, batch.canonical())
    except SignatureError:
        raise ProtocolError("bad_signature", f"batch {batch.number} of {batch.station}: "
                                             "the signature does not verify") from None
    if batch.prev != expected_prev:
        raise ProtocolError("broken_chain", f"batch {batch.number} of {batch.station}: prev "
                                            f"{batch.prev[:12]}… does not follow "
                                            f"{expected_prev[:12]}…")


@dataclass(frozen=True)
class Receipt:
    """The central's signed acknowledgment that a batch is stored."""

    station: str
    number: int
    batch_sha256: str
    records: int
    new: int
    received_at: datetime
    node: str

    def to_json(self) -> dict[str, JsonValue]:
        return {"v": PROTOCOL_VERSION, "station": self.station, "number": self.number,
                "batch_sha256": self.batch_sha256, "records": self.records, "new": self.new,
                "received_at": format_time(self.received_at), "node": self.node}


def sign_receipt(key: SigningKey, receipt: Receipt) -> bytes:
    """The response body carrying ``receipt`` and the central's signature."""
    return canonical_bytes({"receipt": receipt.to_json(),
                            "signature": b64encode(key.sign(canonical_bytes(
                                receipt.to_json())))})


def verify_receipt(body: bytes, key: VerifyKey, batch: Batch | BatchRef) -> Receipt:
    """Parse and verify a receipt for ``batch``; raise :class:`ProtocolError` otherwise."""
    try:
        data = parse_json(body, 64 * 1024)
        raw = data["receipt"]
        signature = b64decode(data["signature"], SIGNATURE_BYTES)
        key.verify(signature, canonical_bytes(raw))
        if raw["v"] != PROTOCOL_VERSION:
            raise TypeError(f"receipt version {raw['v']!r}")
        receipt = Receipt(_typed(raw["station"], str), _typed(raw["number"], int),
                          _typed(raw["batch_sha256"], str), _typed(raw["records"], int),
                          _typed(raw["new"], int), parse_time(raw["received_at"]),
                          _typed(raw["node"], str))
    except (CanonicalError, SignatureError, RecordError, KeyError, TypeError) as exc:
        raise ProtocolError("bad_receipt", f"receipt rejected: {exc}") from None
    if (receipt.station, receipt.number, receipt.batch_sha256) != (
            batch.station, batch.number, batch.sha256):
        raise ProtocolError("bad_receipt", f"receipt is for batch {receipt.number} "
                                           f"{receipt.batch_sha256[:12]}…, not this one")
    return receipt


def _typed(value: object, kind: type[T]) -> T:
    if type(value) is not kind:
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


def request_message(method: str, path: str, body_sha256: str) -> bytes:
    """What a station signs for a non-batch request (header ``X-Prep-Signature``).

    No timestamp on purpose: every such request is idempotent, so a replay does nothing,
    and a station whose clock is off must still be able to sync.
    """
    return f"{method}\n{path}\n{body_sha256}".encode()
