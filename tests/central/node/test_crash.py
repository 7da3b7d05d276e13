"""The central killed (SIGKILL) at its named crash points: a batch is applied entirely or
not at all, and the station's retry of the same bytes settles it without doubling."""

from __future__ import annotations

import http.client
import signal

import pytest

from prep.protocol import Batch
from prep.protocol import verify_receipt
from tests.central.station import Station
from tests.central.station import query
from tests.harness.central import CentralNode


def _killed_at(node: CentralNode, point: str) -> tuple[Station, Batch, bytes]:
    """A station's batch of four records posted to ``node`` set to crash at ``point``:
    killed there (SIGKILL, as the log says), then started again. The station, its batch
    and the request's bytes."""
    station = Station.enroll(node)
    batch, request = station.batch(station.records(4))
    node.restart(crash_at=point)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        station.post(request)
    assert node.wait_exit() == -signal.SIGKILL
    assert f"PREP_CRASH_AT={point}" in node.log_path.read_text()
    node.start()
    return station, batch, request


def test_killed_mid_transaction_applies_nothing_and_the_retry_succeeds(
        central_node: CentralNode) -> None:
    station, batch, request = _killed_at(central_node, "mid_ingest_transaction")

    assert query(central_node.dsn, "SELECT count(*) FROM records WHERE station = %s",
                 station.id) == [(0,)]
    assert station.cursor()["last_batch"] == 0
    status, body = station.post(request)
    assert status == 200
    assert verify_receipt(body, central_node.central_key, batch).new == 4
    assert query(central_node.dsn, "SELECT count(*) FROM records WHERE station = %s",
                 station.id) == [(4,)]


def test_killed_after_commit_the_retry_gets_the_stored_receipt(
        central_node: CentralNode) -> None:
    station, batch, request = _killed_at(central_node, "after_commit_before_response")

    status, body = station.post(request)
    assert status == 200
    assert query(central_node.dsn, "SELECT receipt FROM batches WHERE station = %s",
                 station.id) == [(body,)]
    assert verify_receipt(body, central_node.central_key, batch).records == 4
    assert query(central_node.dsn, "SELECT count(*) FROM records WHERE station = %s",
                 station.id) == [(4,)]
    # The node goes on: the next batch is accepted as usual.
    assert station.post(station.batch(station.records(1))[1])[0] == 200
