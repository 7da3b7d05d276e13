"""Canonical JSON, records, batches and receipts: what both sides of the wire rely on."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from prep.canonical import CanonicalError
from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.protocol import GENESIS
from prep.protocol import Batch
from prep.protocol import BatchRef
from prep.protocol import ProtocolError
from prep.protocol import Receipt
from prep.protocol import batch_canonical
from prep.protocol import make_batch
from prep.protocol import read_batch
from prep.protocol import sign_receipt
from prep.protocol import verify_batch
from prep.protocol import verify_receipt
from prep.records import Kind
from prep.records import Record
from prep.records import RecordError
from prep.records import new_record

pytestmark = pytest.mark.rapido

STATION = "catd-07-ab12"
CLAVE = "090001B010001"


def _records(n: int = 3, start: int = 1) -> list[Record]:
    return [new_record(STATION, start + i, Kind.ACOPIO, "op1", {"clave_acta": CLAVE})
            for i in range(n)]


@pytest.mark.parametrize("raw, reason", [
    (b'{"a":1.5}', "non-integer"),
    (b'{"a":1,"a":2}', "duplicate key"),
    (b'{"a":NaN}', "non-integer"),
    (b"\xff", "not valid JSON"),
    (b"[" * 40 + b"]" * 40, "nested too deeply"),
])
def test_untrusted_json_is_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(CanonicalError, match=reason):
        parse_json(raw, 1024)


def _nested(depth: int, leaf: object) -> object:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("leaf", [1, "x", None, True, [], {}])
def test_nesting_is_refused_past_the_limit_whatever_the_innermost_value(leaf: object) -> None:
    """Plain leaves are checked inside their container's loop: the depth limit must
    still count them (16 levels of containers, not 17)."""
    assert canonical_bytes(_nested(16, leaf))
    with pytest.raises(CanonicalError, match="nested too deeply"):
        canonical_bytes(_nested(17, leaf))


@pytest.mark.parametrize("value, reason", [
    ({"a": 2**63}, "64-bit range"), ([-(2**63) - 1], "64-bit range"),
    ({"a": [1, {"b": 0.5}]}, "float"), ({"a": (1,)}, "tuple"), ({1: "x"}, "not a string"),
])
def test_values_without_a_canonical_form_are_refused_inside_containers(
        value: object, reason: str) -> None:
    with pytest.raises(CanonicalError, match=reason):
        canonical_bytes(value)


def test_oversized_json_is_refused_before_parsing() -> None:
    with pytest.raises(CanonicalError, match="exceeds the limit"):
        parse_json(b"[" + b"1," * 1000 + b"1]", 100)


# Texts without U+0000 nor lone surrogates: canonical_bytes and parse_json refuse them
# (PostgreSQL cannot store them; UTF-8 cannot spell a surrogate), as tested above.
_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | _TEXT,
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=20))
@settings(max_examples=100, deadline=None)
def test_canonical_round_trip_is_stable(value: object) -> None:
    data = canonical_bytes(value)
    assert canonical_bytes(parse_json(data, 1 << 20)) == data


WORK = {"clave_acta": CLAVE, "imagen_sha256": "ab" * 32,
        "lease": "00000000-0000-4000-8000-000000000001"}


@pytest.mark.parametrize("kind, body, message", [
    (Kind.ACOPIO, {"clave_acta": "09001B010001"}, "13-character"),
    (Kind.ACOPIO, {"clave_acta": CLAVE, "extra": 1}, "exactly"),
    (Kind.SIN_ACTA, {"clave_acta": CLAVE, "causa": "lluvia"}, "causa"),
    (Kind.IMAGEN, {"clave_acta": CLAVE, "sha256": "AB" * 32, "bytes": 10,
                   "media_type": "image/png", "origen": "CATD",
                   "digitalizacion": "Escáner"}, "lower-case hex"),
    (Kind.IMAGEN, {"clave_acta": CLAVE, "sha256": "ab" * 32, "bytes": 10,
                   "media_type": "application/pdf", "origen": "CATD",
                   "digitalizacion": "Escáner"}, "media_type"),
    (Kind.CAPTURA, {**WORK, "valores": {"PAN": 10000}}, "PAN"),
    (Kind.CAPTURA, {**WORK, "valores": {"PAN": True}}, "PAN"),
    (Kind.CAPTURA, {**WORK, "valores": {}}, "valores"),
    (Kind.CAPTURA, {"clave_acta": CLAVE, "valores": {"PAN": 1}}, "exactly"),
    (Kind.CAPTURA, {**WORK, "imagen_sha256": "x", "valores": {"PAN": 1}}, "imagen_sha256"),
    (Kind.VERIFICACION, {**WORK, "lease": "7", "valores": {"PAN": 1}, "motivo": "x"},
     "lease"),
    (Kind.VERIFICACION, {**WORK, "valores": {"PAN": 1}}, "exactly"),  # no motivo
    (Kind.ILEGIBLE, {**WORK, "motivo": "x" * 501}, "motivo"),
    (Kind.COTEJO, {"clave_acta": CLAVE, "coincide": 1}, "coincide"),
    (Kind.HEARTBEAT, {"version": "1", "backlog": -1, "backlog_bytes": 0,
                      "last_error": ""}, "backlog"),
])
def test_malformed_bodies_are_refused(kind: Kind, body: dict[str, object],
                                      message: str) -> None:
    with pytest.raises(RecordError, match=message):
        new_record(STATION, 1, kind, "op1", body)


def test_valid_bodies_of_every_kind() -> None:
    bodies = {
        Kind.ACOPIO: {"clave_acta": CLAVE},
        Kind.SIN_ACTA: {"clave_acta": CLAVE, "causa": "casilla_no_instalada"},
        Kind.IMAGEN: {"clave_acta": CLAVE, "sha256": "ab" * 32, "bytes": 10,
                      "media_type": "image/jpeg", "origen": "CASILLA",
                      "digitalizacion": "Móvil"},
        Kind.CAPTURA: {**WORK, "valores": {"PAN": 3, "PRI": "Ilegible",
                                           "NULOS": "Sin dato"}},
        Kind.VERIFICACION: {**WORK, "lease": None, "valores": {"PAN": 3},
                            "motivo": "Valores leídos en la imagen del acta"},
        Kind.ILEGIBLE: {**WORK, "motivo": "La imagen está cortada"},
        Kind.COTEJO: {"clave_acta": CLAVE, "coincide": True},
        Kind.HEARTBEAT: {"version": "0.1.0", "backlog": 3, "backlog_bytes": 10,
                         "last_error": ""},
    }
    for kind, body in bodies.items():
        record = new_record(STATION, 1, kind, "op1", body)
        assert Record.from_json(record.to_json()) == record


def test_a_correction_names_the_record_it_replaces() -> None:
    first = _records(1)[0]
    fix = new_record(STATION, 2, Kind.ACOPIO, "op1", {"clave_acta": CLAVE},
                     replaces=first.id)
    assert fix.replaces == first.id and fix.id != first.id


def test_batch_round_trip_verifies() -> None:
    key = SigningKey.generate()
    batch, body = make_batch(key, STATION, 1, GENESIS, _records())
    parsed, signature = read_batch(body)
    verify_batch(parsed, signature, key.public, GENESIS)
    assert parsed.sha256 == batch.sha256
    assert [r.id for r in parsed.records] == [r.id for r in batch.records]


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_any_flipped_byte_is_refused(data: st.DataObject) -> None:
    key = SigningKey.generate()
    _, body = make_batch(key, STATION, 1, GENESIS, _records())
    position = data.draw(st.integers(0, len(body) - 1))
    flipped = bytearray(body)
    flipped[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ProtocolError):
        parsed, signature = read_batch(bytes(flipped))
        verify_batch(parsed, signature, key.public, GENESIS)


@pytest.mark.parametrize("where", ["batch", "record"])
def test_a_version_written_true_is_refused(where: str) -> None:
    """Found by bench/fuzz.py: ``"v": true`` passed as version 1 (``True == 1``), and
    the batch rebuilt from it was no longer the bytes signed, so a station's own batch
    got ``bad_signature``. A record or batch is refused as not canonical instead."""
    key = SigningKey.generate()
    batch, _ = make_batch(key, STATION, 1, GENESIS, _records())
    raw = batch.to_json()
    if where == "batch":
        raw["v"] = True
    else:
        raw["records"][0]["v"] = True
        with pytest.raises(RecordError):
            Record.from_json(raw["records"][0])
    canonical = canonical_bytes(raw)
    body = canonical_bytes({"batch": raw, "signature": b64encode(key.sign(canonical))})
    with pytest.raises(ProtocolError) as error:
        read_batch(body)
    assert error.value.code == ("version" if where == "batch" else "malformed")


@pytest.mark.parametrize("at", ["2027-06-07T02:7:11.123456Z", "2027-06-07T02:07:11.5Z",
                                "2027-6-07T02:07:11.123456Z", "2027-06-07T02:07:11.123456z"])
def test_a_time_spelled_otherwise_is_refused(at: str) -> None:
    """Found by bench/fuzz.py: strptime took ``02:7:11`` and ``.5``; the record then
    re-encoded as ``02:07:11``/``.500000``, other bytes than the station signed."""
    raw = _records(1)[0].to_json()
    raw["at"] = at
    with pytest.raises(RecordError, match="a time is not"):
        Record.from_json(raw)


def test_unknown_key_and_broken_chain_are_refused() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    first, _ = make_batch(key, STATION, 1, GENESIS, _records())
    _, body = make_batch(key, STATION, 2, first.sha256, _records(start=4))
    parsed, signature = read_batch(body)
    with pytest.raises(ProtocolError) as bad:
        verify_batch(parsed, signature, other.public, first.sha256)
    assert bad.value.code == "bad_signature"
    with pytest.raises(ProtocolError) as chain:
        verify_batch(parsed, signature, key.public, GENESIS)
    assert chain.value.code == "broken_chain"


def test_records_of_another_station_are_refused_in_a_batch() -> None:
    key = SigningKey.generate()
    stranger = new_record("catd-08-cd34", 1, Kind.ACOPIO, "op", {"clave_acta": CLAVE})
    _, body = make_batch(key, STATION, 1, GENESIS, [stranger])
    with pytest.raises(ProtocolError) as error:
        read_batch(body)
    assert error.value.code == "foreign_record"


def test_receipt_must_be_signed_by_the_central_and_for_this_batch() -> None:
    station, central, impostor = (SigningKey.generate() for _ in range(3))
    batch, _ = make_batch(station, STATION, 1, GENESIS, _records())
    other, _ = make_batch(station, STATION, 2, batch.sha256, _records(start=4))
    receipt = Receipt(STATION, 1, batch.sha256, 3, 3, datetime.now(UTC), "node")
    assert verify_receipt(sign_receipt(central, receipt), central.public, batch) == receipt
    with pytest.raises(ProtocolError, match="receipt rejected"):
        verify_receipt(sign_receipt(impostor, receipt), central.public, batch)
    with pytest.raises(ProtocolError, match="not this one"):
        verify_receipt(sign_receipt(central, receipt), central.public, other)
    # A station names the batch it froze by station, number and hash (no parse).
    assert verify_receipt(sign_receipt(central, receipt), central.public,
                          BatchRef(STATION, 1, batch.sha256)) == receipt
    for wrong in (BatchRef("catd-08-cd34", 1, batch.sha256), BatchRef(STATION, 2, batch.sha256),
                  BatchRef(STATION, 1, other.sha256)):
        with pytest.raises(ProtocolError, match="not this one"):
            verify_receipt(sign_receipt(central, receipt), central.public, wrong)


def test_the_batch_body_is_the_canonical_encoding_of_batch_and_signature() -> None:
    """The body is put together around the batch's canonical bytes: byte for byte what
    encoding the whole request would give, non-ASCII text included, and the signature
    verifies over the batch it carries."""
    key = SigningKey.generate()
    records = [*_records(), new_record(STATION, 4, Kind.ILEGIBLE, "op", {
        "clave_acta": CLAVE, "imagen_sha256": "c" * 64, "lease": str(uuid.uuid4()),
        "motivo": "Imagen borrosa: «señal» débil en la esquina"})]
    batch, body = make_batch(key, STATION, 7, "ab" * 32, records)
    signature = b64encode(key.sign(batch.canonical()))
    assert body == canonical_bytes({"batch": batch.to_json(), "signature": signature})
    parsed, raw_signature = read_batch(body)
    verify_batch(parsed, raw_signature, key.public, "ab" * 32)
    assert parsed.sha256 == batch.sha256


def test_a_batch_put_together_from_stored_records_is_the_batch_itself() -> None:
    """A station freezes a batch from its records' stored canonical bytes without
    decoding them: the result must be byte for byte the batch's own canonical form."""
    records = [*_records(), new_record(STATION, 4, Kind.ILEGIBLE, "op", {
        "clave_acta": CLAVE, "imagen_sha256": "c" * 64, "lease": str(uuid.uuid4()),
        "motivo": "Imagen borrosa: «señal» débil en la esquina"})]
    created = datetime(2027, 6, 7, 2, 3, 4, 567000, tzinfo=UTC)
    batch = Batch(STATION, 12, "ab" * 32, created, tuple(records))
    assert batch_canonical(STATION, 12, "ab" * 32, created,
                           [r.canonical() for r in records]) == batch.canonical()
    with pytest.raises(ProtocolError, match="1 to"):
        batch_canonical(STATION, 12, "ab" * 32, created, [])


def test_station_time_survives_a_skewed_clock() -> None:
    skewed = datetime.now(UTC) - timedelta(minutes=10)
    record = new_record(STATION, 1, Kind.ACOPIO, "op", {"clave_acta": CLAVE}, at=skewed)
    assert Record.from_json(record.to_json()).at == skewed
