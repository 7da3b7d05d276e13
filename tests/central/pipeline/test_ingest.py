"""Ingest as the coordinator sees it: what a station sends is in PostgreSQL exactly once
with a receipt it can verify, and whatever is wrong is refused, leaves nothing applied,
and raises what the protocol promises (anomaly, quarantine, audit event)."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import psycopg

from central.stations.auth import KEY_CACHE_SECONDS
from prep.crypto import SigningKey
from prep.protocol import MAX_BLOB_BYTES
from prep.protocol import Batch
from prep.protocol import make_batch
from prep.protocol import verify_receipt
from prep.records import Kind
from prep.records import Record
from tests.central.station import CLAVE
from tests.central.station import PNG
from tests.central.station import Station
from tests.central.station import error_of
from tests.central.station import image_body
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.images import tiny_png


def _records_of(node: CentralNode, station: Station) -> list[tuple[str, int, str]]:
    return [(str(r[0]), r[1], r[2]) for r in query(
        node.dsn, "SELECT id, seq, sha256 FROM records WHERE station = %s ORDER BY seq",
        station.id)]


def _anomalies(node: CentralNode, station: str, type_: str) -> list[dict[str, object]]:
    return [r[0] for r in query(node.dsn, "SELECT detail FROM anomalies WHERE station = %s "
                                "AND type = %s ORDER BY id", station, type_)]


def _refusals(node: CentralNode, station: str, code: str) -> int:
    return query(node.dsn, "SELECT count(*) FROM audit_log WHERE actor = %s AND "
                 "event = 'batch_refused' AND detail->>'code' = %s", station, code)[0][0]


def _nothing_stored(node: CentralNode, station: Station) -> bool:
    batches = query(node.dsn, "SELECT count(*) FROM batches WHERE station = %s", station.id)
    return not _records_of(node, station) and batches[0][0] == 0


def test_records_and_blob_arrive_once_with_a_receipt_that_verifies(
        shared_central: CentralNode) -> None:
    node = shared_central
    station = Station.enroll(node)
    status, body = station.put_blob(PNG)
    assert status == 200 and json.loads(body)["new"] is True, body
    records = [*station.records(2), *station.records(1, Kind.IMAGEN, image_body())]
    batch, request = station.batch(records)

    status, receipt_body = station.post(request)

    assert status == 200, receipt_body
    receipt = verify_receipt(receipt_body, node.central_key, batch)
    assert (receipt.records, receipt.new, receipt.node) == (3, 3, node.node)
    assert _records_of(node, station) == [(r.id, r.seq, r.sha256) for r in records]
    blob = node.data_dir / "blobs" / batch.records[2].body["sha256"][:2] / \
        str(batch.records[2].body["sha256"])[2:]
    assert blob.read_bytes() == PNG
    stored_body = query(node.dsn, "SELECT body FROM records WHERE id = %s", records[2].id)[0][0]
    assert stored_body == dict(records[2].body)

    # A retry sends the same bytes: same receipt, nothing doubled.
    assert station.post(request) == (200, receipt_body)
    assert station.put_blob(PNG)[0] == 200
    assert len(_records_of(node, station)) == 3
    assert station.cursor() == {"last_batch": 1, "last_sha256": batch.sha256, "last_seq": 3}


def test_a_later_batch_first_is_refused_until_the_earlier_one_arrives(
        shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    _, first = station.batch(station.records(2))
    _, second = station.batch(station.records(2))

    status, body = station.post(second)
    assert status == 409 and error_of(body)[0] == "out_of_order"
    assert "lote 1" in error_of(body)[1]
    assert _nothing_stored(shared_central, station)
    assert _refusals(shared_central, station.id, "out_of_order") == 1

    assert station.post(first)[0] == 200
    assert station.post(second)[0] == 200
    assert [r[1] for r in _records_of(shared_central, station)] == [1, 2, 3, 4]


def test_a_tampered_batch_is_refused_and_raises_an_anomaly(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    _, request = station.batch(station.records(3))
    tampered = request.replace(CLAVE.encode(), b"090001B010002", 1)
    assert tampered != request

    status, body = station.post(tampered)

    assert status == 401 and error_of(body)[0] == "bad_signature"
    assert _nothing_stored(shared_central, station)
    # Nothing proves the station sent it: traced by source, never pinned on the station
    # (issue 36; tests/central/api/test_flood.py counts the trace).
    assert _anomalies(shared_central, station.id, "bad_signature") == []
    assert _refusals(shared_central, station.id, "bad_signature") == 0
    # The genuine batch still goes through.
    assert station.post(request)[0] == 200


def test_a_batch_signed_by_another_key_is_refused(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    _, request = make_batch(SigningKey.generate(), station.id, 1, station.prev,
                            station.records(2))

    status, body = station.post(request)

    assert status == 401 and error_of(body)[0] == "bad_signature"
    assert _nothing_stored(shared_central, station)
    assert _anomalies(shared_central, station.id, "bad_signature") == []


def test_a_station_that_never_enrolled_is_refused(shared_central: CentralNode) -> None:
    station = Station(shared_central, "catd-07-ffff", SigningKey.generate())
    status, body = station.post(station.batch(station.records(1))[1])
    assert status == 403 and error_of(body)[0] == "unknown_station"
    assert _anomalies(shared_central, station.id, "unknown_station") == []


def _enrolled_with_one_batch(node: CentralNode) -> tuple[Station, Batch]:
    """A new station whose first batch (two records) ``node`` accepted; that batch."""
    station = Station.enroll(node)
    first, request = station.batch(station.records(2))
    assert station.post(request)[0] == 200
    return station, first


def test_other_content_under_a_used_number_goes_to_quarantine(
        shared_central: CentralNode) -> None:
    node = shared_central
    station, first = _enrolled_with_one_batch(node)
    # The same number again with other records (say, a station restored from a backup).
    station.number, station.prev, station.seq = 0, first.prev, 0
    _, impostor = station.batch(station.records(2))

    status, body = station.post(impostor)

    assert status == 409 and error_of(body)[0] == "conflicting_batch"
    assert "cuarentena" in error_of(body)[1]
    assert query(node.dsn, "SELECT number, body, reason FROM quarantine WHERE station = %s",
                 station.id) == [(1, impostor, "conflicting_batch")]
    [anomaly] = _anomalies(node, station.id, "conflicting_batch")
    assert anomaly["stored_sha256"] == first.sha256
    assert [r[2] for r in _records_of(node, station)] == [r.sha256 for r in first.records]


def test_a_forged_batch_under_a_used_number_is_refused_not_quarantined(
        shared_central: CentralNode) -> None:
    node = shared_central
    station, first = _enrolled_with_one_batch(node)
    # Someone who only knows the station id signs batch 1 again with another key: its
    # body must not take space in the quarantine.
    forger = Station(node, station.id, SigningKey.generate())
    _, forged = forger.batch(forger.records(2))

    status, body = forger.post(forged)

    assert status == 401 and error_of(body)[0] == "bad_signature"
    assert query(node.dsn, "SELECT count(*) FROM quarantine WHERE station = %s",
                 station.id) == [(0,)]
    assert _anomalies(node, station.id, "bad_signature") == []
    assert [r[2] for r in _records_of(node, station)] == [r.sha256 for r in first.records]


def test_a_record_id_reused_with_other_content_refuses_the_batch(
        shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    [original] = station.records(1)
    assert station.post(station.batch([original])[1])[0] == 200
    station.seq += 1
    reused = Record(original.id, station.id, station.seq, Kind.COTEJO, "op2",
                    datetime.now(UTC), {"clave_acta": CLAVE, "coincide": True})

    status, body = station.post(station.batch([reused])[1])

    assert status == 409 and error_of(body)[0] == "record_conflict"
    assert _records_of(shared_central, station) == [(original.id, 1, original.sha256)]
    assert len(_anomalies(shared_central, station.id, "record_conflict")) == 1


def test_records_that_skip_a_seq_are_refused(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    station.seq = 4
    status, body = station.post(station.batch(station.records(2))[1])
    assert status == 409 and error_of(body)[0] == "seq_gap"
    assert _nothing_stored(shared_central, station)


def test_malformed_batch_is_refused_with_an_audit_row(shared_central: CentralNode) -> None:
    # From an address of its own: the first unsigned refusals of a source are written
    # one by one, by that source (central.api.refusals).
    before = query(shared_central.dsn, "SELECT count(*) FROM audit_log WHERE "
                   "event = 'batch_refused' AND detail->>'code' = 'malformed' AND "
                   "actor = 'origen:127.0.0.41'")[0][0]
    status, body = shared_central.request("POST", "/v1/batches", b'{"batch": 1.5}',
                                          source="127.0.0.41")
    assert status == 400 and error_of(body)[0] == "malformed"
    after = query(shared_central.dsn, "SELECT count(*) FROM audit_log WHERE "
                  "event = 'batch_refused' AND detail->>'code' = 'malformed' AND "
                  "actor = 'origen:127.0.0.41'")[0][0]
    assert after == before + 1


def test_an_image_record_needs_its_blob_first(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    image = tiny_png("missing")
    _, request = station.batch(station.records(1, Kind.IMAGEN, image_body(image)))

    status, body = station.post(request)
    assert status == 400 and error_of(body)[0] == "missing_blob"
    assert _nothing_stored(shared_central, station)

    assert station.put_blob(image)[0] == 200
    assert station.post(request)[0] == 200


def test_a_blob_whose_bytes_do_not_match_its_hash_is_refused(
        shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    claimed = hashlib.sha256(b"the real image").hexdigest()

    status, body = station.put_blob(b"something else", claimed)

    assert status == 400 and error_of(body)[0] == "hash_mismatch"
    assert not (shared_central.data_dir / "blobs" / claimed[:2] / claimed[2:]).exists()
    assert query(shared_central.dsn, "SELECT detail->>'received_sha256' FROM audit_log WHERE "
                 "event = 'blob_refused' AND actor = %s", station.id) == [
        (hashlib.sha256(b"something else").hexdigest(),)]


def test_a_blob_over_the_cap_is_refused(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    data = bytes(MAX_BLOB_BYTES + 1)
    status, body = station.put_blob(data)
    assert status == 413 and error_of(body)[0] == "blob_too_large"
    sha = hashlib.sha256(data).hexdigest()
    assert not (shared_central.data_dir / "blobs" / sha[:2] / sha[2:]).exists()


def _refuse_forged_upload(central: CentralNode, station: Station, data: bytes) -> str:
    """Upload ``data`` signed with a key that is not the station's: refused as a bad
    signature, never pinned on the station. Returns the data's SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    path = f"/v1/blobs/{sha}"
    forged = station.signed("PUT", path, sha, key=SigningKey.generate())
    status, body = central.request("PUT", path, data, forged)
    assert status == 401 and error_of(body)[0] == "bad_signature"
    assert _anomalies(central, station.id, "bad_signature") == []  # not pinned on it
    return sha


def test_signed_requests_need_the_station_key(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    other = Station.enroll(shared_central)
    path = f"/v1/blobs/{_refuse_forged_upload(shared_central, station, PNG)}"
    status, body = shared_central.request("PUT", path, PNG)
    assert status == 401 and error_of(body)[0] == "unauthenticated"

    path = f"/v1/stations/{other.id}/cursor"
    empty = hashlib.sha256().hexdigest()
    status, body = shared_central.request("GET", path, b"", station.signed("GET", path, empty))
    assert status == 403 and error_of(body)[0] == "forbidden"


def test_image_uploads_trust_a_station_key_for_seconds_only(
        shared_central: CentralNode) -> None:
    """Image uploads (one request per image) reuse the key the database gave for a
    station for KEY_CACHE_SECONDS: meanwhile a forged upload is still refused, and a
    station disabled in the database is refused once that time is up."""
    station = Station.enroll(shared_central)
    assert station.put_blob(tiny_png("primera imagen"))[0] == 200  # the key, read from the database
    sha = _refuse_forged_upload(shared_central, station, b"imagen falsificada")
    assert not (shared_central.data_dir / "blobs" / sha[:2] / sha[2:]).exists()
    assert station.put_blob(tiny_png("segunda imagen"))[0] == 200

    with psycopg.connect(shared_central.dsn, autocommit=True) as conn:
        conn.execute("UPDATE stations SET enabled = false WHERE id = %s", (station.id,))
    time.sleep(KEY_CACHE_SECONDS + 0.5)
    status, body = station.put_blob(tiny_png("tercera imagen"))
    assert status == 403 and error_of(body)[0] == "unknown_station"
    assert _anomalies(shared_central, station.id, "unknown_station") == []


def test_a_station_clock_ten_minutes_off_is_accepted_and_reported(
        shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    late = datetime.now(UTC) - timedelta(minutes=10)

    for _ in range(2):
        status, _ = station.post(station.batch(station.records(2, at=late))[1], clock=late)
        assert status == 200

    assert len(_records_of(shared_central, station)) == 4
    [anomaly] = _anomalies(shared_central, station.id, "clock_skew")  # once per hour
    assert -660 < int(str(anomaly["skew_seconds"])) < -540


def test_old_records_after_an_outage_are_not_a_clock_problem(
        shared_central: CentralNode) -> None:
    """Records made during a 3-hour outage arrive 3 hours old from a station whose clock
    is right: that is a backlog, not skew."""
    station = Station.enroll(shared_central)
    during_outage = datetime.now(UTC) - timedelta(hours=3)

    status, _ = station.post(station.batch(station.records(3, at=during_outage))[1],
                             clock=datetime.now(UTC))

    assert status == 200
    assert _anomalies(shared_central, station.id, "clock_skew") == []


def test_without_the_clock_header_only_future_records_reveal_skew(
        shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    old = datetime.now(UTC) - timedelta(hours=1)
    assert station.post(station.batch(station.records(1, at=old))[1])[0] == 200
    assert _anomalies(shared_central, station.id, "clock_skew") == []

    future = datetime.now(UTC) + timedelta(minutes=15)
    assert station.post(station.batch(station.records(1, at=future))[1])[0] == 200
    [anomaly] = _anomalies(shared_central, station.id, "clock_skew")
    assert 840 < int(str(anomaly["skew_seconds"])) < 960


def test_listeners_are_notified_of_each_batch(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central)
    with psycopg.connect(shared_central.dsn, autocommit=True) as listener:
        listener.execute("LISTEN prep_ingest")
        assert station.post(station.batch(station.records(1))[1])[0] == 200
        payloads = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
    assert payloads == [f"{station.id}:1"]
