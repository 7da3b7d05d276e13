"""Issue 3 end to end over mDNS: a real central advertises itself, a real station
enrolls finding it on the local network, records acopios, a sin acta and images, and
delivers them after the central has moved, finding it again with mDNS.

The whole run happens inside a private network namespace (only ``lo``), through
``run_in_netns`` (the body is ``tests/harness/e2e_targets.py``); PostgreSQL is reached
over its Unix socket. This test checks what the namespace reports back and the files
it left: the central's blobs and the original images.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from psycopg.conninfo import conninfo_to_dict

from central.api.advertise import instance_name
from central.api.advertise import serve_label
from tests.conftest import in_ci
from tests.harness.e2e_targets import ACOPIOS
from tests.harness.e2e_targets import EXPECT_CERT_DIGITS
from tests.harness.e2e_targets import IMAGES
from tests.harness.e2e_targets import SIN_ACTA
from tests.harness.e2e_targets import enroll_and_sync_via_mdns
from tests.harness.netns import run_in_netns

TARGET = f"{enroll_and_sync_via_mdns.__module__}:{enroll_and_sync_via_mdns.__name__}"


def _needs_unix_socket(dsn: str) -> None:
    """A network namespace reaches PostgreSQL only through a Unix socket."""
    host = str(conninfo_to_dict(dsn).get("host") or "")
    if host and not all(h.startswith("/") for h in host.split(",")):
        reason = (f"PostgreSQL at {host!r} is reached over TCP, which a private network "
                  "namespace cannot reach; point PREP_TEST_DSN at its Unix socket")
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def _service_name(node: str, url: str) -> str:
    # Each serve node is its own instance: the machine's name and its port (issue 31).
    return instance_name(node, serve_label(int(url.rsplit(":", 1)[1])))


@pytest.mark.netns
def test_station_enrolls_and_syncs_finding_the_central_with_mdns(
    pg_dsn: str, tmp_path: Path
) -> None:
    _needs_unix_socket(pg_dsn)
    facts: dict[str, Any] = run_in_netns(TARGET, pg_dsn, str(tmp_path), timeout=120)
    central, enroll = facts["central"], facts["enroll"]
    node, cert = central["node"], central["cert_sha256"]

    assert facts["interfaces"] == ["lo"]
    assert "anunciado en la red local (mDNS)" in central["first_log"]

    # Enrollment: found with mDNS, chosen by the fingerprint prefix, certificate pinned.
    assert enroll["returncode"] == 0, enroll["stderr"]
    answer = enroll["answer"]
    assert answer["found_via"] == "mDNS"
    assert answer["chosen_by"] == "huella"
    assert answer["candidates"] == [
        {"node": node, "cert_sha256": cert, "url": central["first_url"]}
    ]
    assert answer["central_url"] == central["first_url"]
    assert answer["node"] == node
    assert answer["cert_sha256"] == cert
    assert f"nodo {node}, huella {cert}, en {central['first_url']}" in enroll["stderr"]
    assert "empieza por la indicada" in enroll["stderr"]
    assert cert[:EXPECT_CERT_DIGITS] != cert  # a real prefix was typed, not the whole

    # The central stopped cleanly (withdrawing its advertisement) and came back elsewhere.
    assert facts["stop_exit_code"] == 0
    assert facts["removed_seen"], facts["service_events"]
    assert facts["added_again_seen"], facts["service_events"]
    assert ["Removed", _service_name(node, central["first_url"])] in facts["service_events"]
    assert central["second_url"] != central["first_url"]
    audit = facts["db"]["audit"]
    assert [event for event, _ in audit] == ["central_started", "central_stopped",
                                             "central_started"]
    assert [detail["mdns"] for event, detail in audit if event == "central_started"] == [
        _service_name(node, central["first_url"]), _service_name(node, central["second_url"])]

    # Sync found the moved central with mDNS, under the pin, and drained the backlog.
    station = facts["station"]
    assert station["pinned_cert_sha256"] == cert
    assert facts["drained"], station["last_error"]
    assert station["found_via"] == "mDNS"
    assert station["enrolled_url"] == central["first_url"]
    assert station["sync_url"] == central["second_url"]
    assert station["backlog_records"] == 0
    assert station["backlog_bytes"] == 0
    assert station["batches"] == station["batches_delivered"] >= 1

    # Every record is in PostgreSQL exactly once, as the station made it.
    local = station["records"]
    assert Counter(r["kind"] for r in local) == {
        "acopio": len(ACOPIOS), "sin_acta": len([SIN_ACTA]), "imagen": len(IMAGES)}
    db = facts["db"]
    assert db["count_by_id"] == {r["id"]: 1 for r in local}
    assert [{k: r[k] for k in ("id", "seq", "kind", "sha256")} for r in db["records"]] == local

    # Every image is byte-identical in the central's blob directory.
    images = facts["images"]
    assert sorted(i["sha256"] for i in images) == sorted(
        r["image_sha256"] for r in db["records"] if r["kind"] == "imagen")
    for image in images:
        original = Path(image["original"]).read_bytes()
        sha256 = image["sha256"]
        blob = Path(central["blob_dir"], sha256[:2], sha256[2:]).read_bytes()
        assert blob == original
        assert hashlib.sha256(blob).hexdigest() == sha256
        with Image.open(io.BytesIO(blob)) as picture:
            assert f"image/{str(picture.format).lower()}" == image["media_type"]

    assert facts["final_exit_code"] == 0
