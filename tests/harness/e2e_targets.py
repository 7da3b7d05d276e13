"""End-to-end runs that ``run_in_netns`` calls inside a private network namespace.

A real central (``prep central serve --mdns`` subprocess on PostgreSQL) and a real
station that finds it only through mDNS. Each target takes and returns JSON values;
the test asserts on the facts returned and on the files left in the work directory.
Nothing here may run outside the namespace: the central and the station multicast.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.harness.netns import interface_names
from tests.harness.station_cli import station_cmd

LOOPBACK = "127.0.0.1"
CENTRAL_MDNS_ARGS = ("--mdns", "--mdns-interface", LOOPBACK)
ACOPIOS = ("090001B010001", "090001B010002", "090002B010001")
SIN_ACTA = ("090003B010001", "casilla_no_instalada")
IMAGES = (("090001B010001", "PNG"), ("090001B010002", "JPEG"), ("090002B010001", "PNG"))
EXPECT_CERT_DIGITS = 16
SYNC_TIMEOUT = 30.0


def enroll_and_sync_via_mdns(admin_dsn: str, work_dir: str) -> dict[str, Any]:
    """Issue 3 end to end. The central advertises itself; the station enrolls finding it
    with mDNS (``prep station enroll --mdns --expect-cert …`` as a process) and records
    acopios, a sin acta and images. The central then comes back on another port (its
    old advertisement withdrawn, a new one made) and the station's sync agent, started
    with discovery, must find it through mDNS and deliver everything."""
    from prep.canonical import parse_json
    from prep.station.station import Station
    from prep.station.station import wait_until
    from prep.station.sync import SyncOptions
    from tests.harness.central import running_central

    interfaces = interface_names()
    if interfaces != ["lo"]:  # run_in_netns checked it too; never multicast elsewhere
        raise RuntimeError(f"not in a private network namespace: {interfaces}")
    work = Path(work_dir)
    station_dir = work / "station"
    fast = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                       heartbeat_interval=0, request_timeout=10, locate_after=3)
    facts: dict[str, Any] = {"interfaces": interfaces}
    with running_central(work / "central-node", admin_dsn,
                         extra_args=CENTRAL_MDNS_ARGS) as node:
        facts["central"] = {"node": node.node, "cert_sha256": node.cert_sha256,
                            "first_url": node.url, "blob_dir": str(node.data_dir / "blobs"),
                            "first_log": node.log_path.read_text()}
        started = time.monotonic()
        enrolled = station_cmd("enroll", "--data-dir", str(station_dir), "--code",
                               node.enroll_code(catd=7), "--mdns", "--expect-cert",
                               node.cert_sha256[:EXPECT_CERT_DIGITS])
        facts["enroll"] = {"returncode": enrolled.returncode, "stderr": enrolled.stderr,
                           "answer": json.loads(enrolled.stdout) if enrolled.returncode == 0
                           else None, "seconds": time.monotonic() - started}
        if enrolled.returncode != 0:
            return facts

        with Station.open(station_dir) as station:
            facts["images"] = _record_everything(station, work / "originals")
            # The central moves: SIGTERM (withdraws its advertisement), then it starts
            # again on another port, so the enrolled URL no longer answers.
            with _service_events() as events:
                mark = len(events)
                node.stop()
                facts["stop_exit_code"] = node.process.returncode if node.process else None
                facts["removed_seen"] = _wait_for(events, "Removed", mark, 5.0)
                mark = len(events)
                node.port = 0
                node.start()
                facts["added_again_seen"] = _wait_for(events, "Added", mark, 5.0)
            facts["service_events"] = list(events)
            facts["central"]["second_url"] = node.url

            started = time.monotonic()
            agent = station.start_sync(fast, discover=True)
            facts["drained"] = wait_until(
                lambda: agent.state().found_via == "mDNS"
                and station.outbox().backlog() == (0, 0), SYNC_TIMEOUT, interval=0.1)
            facts["sync_seconds"] = time.monotonic() - started
            state = agent.state()
            station.stop_sync()
            status = station.status()
            identity = station.store.require_identity()
            facts["station"] = {
                "station_id": identity.station_id, "pinned_cert_sha256": identity.cert_sha256,
                "enrolled_url": identity.central_url, "found_via": state.found_via,
                "sync_url": state.central_url, "last_error": state.last_error,
                "backlog_records": status.backlog_records,
                "backlog_bytes": status.backlog_bytes, "batches": status.batches,
                "batches_delivered": status.batches_delivered,
                "records": [_local_record(parse_json(canonical, 1 << 16), seq, sha)
                            for seq, sha, canonical in station.store.records(limit=100_000)],
            }
        facts["db"] = _central_facts(node.dsn, identity.station_id)
    facts["final_exit_code"] = node.process.returncode if node.process else None
    return facts


def _image(kind: str) -> bytes:
    """A real PNG or JPEG of random pixels (distinct every call)."""
    from PIL import Image

    width, height = 96, 64
    picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    picture.save(buffer, format=kind, **({"quality": 90} if kind == "JPEG" else {}))
    return buffer.getvalue()


def _record_everything(station: Any, originals: Path) -> list[dict[str, str]]:
    """Acopios, one sin acta and images; each image's original bytes are kept in
    ``originals`` so the test can compare them with the central's blob."""
    originals.mkdir(parents=True, exist_ok=True)
    for clave in ACOPIOS:
        station.acopio(clave, "op-acopio-1")
    station.sin_acta(*SIN_ACTA, "op-acopio-1")
    images = []
    for clave, kind in IMAGES:
        data = _image(kind)
        media_type = f"image/{kind.lower()}"
        record = station.imagen(clave, data, media_type, "op-digitaliza-1")
        original = originals / f"{record.id}.{kind.lower()}"
        original.write_bytes(data)
        images.append({"record": record.id, "sha256": record.body["sha256"],
                       "media_type": media_type, "original": str(original)})
    return images


def _local_record(record: dict[str, Any], seq: int, sha256: str) -> dict[str, Any]:
    return {"id": record["id"], "seq": seq, "kind": record["kind"], "sha256": sha256}


def _central_facts(dsn: str, station_id: str) -> dict[str, Any]:
    """What the central's PostgreSQL holds about the station, plus its start/stop
    audit events."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        records = [{"id": i, "seq": q, "kind": k, "sha256": s, "image_sha256": b}
                   for i, q, k, s, b in conn.execute(
                       "SELECT id::text, seq, kind, sha256, body->>'sha256' FROM records "
                       "WHERE station = %s ORDER BY seq", (station_id,))]
        per_id: dict[str, int] = dict(conn.execute(
            "SELECT id::text, count(*) FROM records GROUP BY id").fetchall())
        audit = [[event, detail] for event, detail in conn.execute(
            "SELECT event, detail FROM audit_log WHERE event IN ('central_started', "
            "'central_stopped') ORDER BY id")]
    return {"records": records, "count_by_id": per_id, "audit": audit}


@contextmanager
def _service_events() -> Iterator[list[list[Any]]]:
    """Watch ``_prep-central._tcp.local.`` on loopback: ``[change, name]`` as it happens."""
    from zeroconf import ServiceBrowser
    from zeroconf import ServiceStateChange
    from zeroconf import Zeroconf

    from prep.protocol import SERVICE_TYPE

    events: list[list[Any]] = []
    lock = threading.Lock()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str,
                  state_change: ServiceStateChange) -> None:
        with lock:
            events.append([state_change.name, name])

    zeroconf = Zeroconf(interfaces=[LOOPBACK])
    try:
        browser = ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[on_change])
        if not _wait_for(events, "Added", 0, 5.0):
            raise RuntimeError("the central is not advertised on loopback")
        try:
            yield events
        finally:
            browser.cancel()
    finally:
        zeroconf.close()


def _wait_for(events: list[list[Any]], change: str, after: int, timeout: float) -> bool:
    """Whether ``change`` is among ``events[after:]`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if any(event[0] == change for event in events[after:]):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
