"""A coordinator disables a station (a stolen key, a lost machine) with
``prep central station disable ID --motivo …`` and enables it again (issue 36): from
then on the central refuses everything that station signs, its active leases go back
to the queue at once, the change is audited with who and why, and enabling it lets its
batches in again. Real central over HTTPS on PostgreSQL; the station is the protocol
client of ``tests/harness/work.py``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from central.db import make_engine
from central.stations.auth import KEY_CACHE_SECONDS
from central.stations.stations_admin import UnknownStation
from central.stations.stations_admin import set_station_enabled
from prep.bundle import BUNDLE_PATH
from prep.protocol import make_batch
from prep.records import Kind
from prep.records import new_record
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.coordinador import coordinador
from tests.harness.work import Answer
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog
from tests.harness.work import png


def _audit(node: CentralNode, event: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r[0], r[1]) for r in query(node.dsn, "SELECT actor, detail FROM audit_log "
                                        "WHERE event = %s ORDER BY id", event)]


def test_a_disabled_station_is_refused_wherever_it_signs_until_enabled(
        central_node: CentralNode) -> None:
    node = central_node
    catalog = load_catalog(node)
    ana, beto = capturistas(node)
    actas = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 1][:3]

    async def before() -> tuple[WorkStation, WorkStation, dict[str, Any]]:
        stolen, other = WorkStation.enroll(node, 1), WorkStation.enroll(node, 1)
        async with stolen:
            await stolen.digitize(actas[:2])
            [lease] = (await _next(stolen, ana)).body["leases"]
        return stolen, other, lease

    stolen, other, lease = asyncio.run(before())

    done = central_cli(node, "station", "disable", stolen.id, "--motivo",
                       "llave robada\n(equipo extraviado)", coordinador=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"station": stolen.id, "enabled": False}
    assert done.stderr.startswith(f"Equipo {stolen.id} deshabilitado: desde ahora el nodo "
                                  "central rechaza todo lo que firme")
    [(actor, detail)] = _audit(node, "station_disabled")
    assert actor == coordinador(node.dsn)  # the account that logged in, not LOGNAME
    assert detail == {"station": stolen.id, "role": "catd", "sitio": "01",
                      "reason": "llave robada (equipo extraviado)", "leases_ended": 1}

    time.sleep(KEY_CACHE_SECONDS)  # an image upload may use a key read just before
    image = png("después")
    sha = hashlib.sha256(image).hexdigest()

    async def refused() -> dict[str, Any]:
        async with stolen, other:
            answers = {
                "batch": await _batch(stolen, actas[0].clave),
                "blob_put": await stolen.call("PUT", f"/v1/blobs/{sha}", raw=image),
                "blob_get": await stolen.call("GET", f"/v1/blobs/{lease['image_sha256']}"),
                "cursor": await stolen.call("GET", f"/v1/stations/{stolen.id}/cursor"),
                "bundle": await stolen.call("GET", BUNDLE_PATH),
                "work_next": await _next(stolen, ana),
                "renew": await stolen.lease_action(lease["lease_id"], "renew"),
                "release": await stolen.lease_action(lease["lease_id"], "release"),
            }
            # The acta the stolen station held is someone else's at once.
            given = await _next(other, beto, prefetch=2)
        assert given.status == 200, given.body
        return {"answers": {k: (a.status, a.body.get("error") if isinstance(a.body, dict)
                                else a.body) for k, a in answers.items()},
                "given": [g["clave_acta"] for g in given.body["leases"]]}

    outcome = asyncio.run(refused())
    assert outcome["answers"] == {k: (403, "unknown_station") for k in outcome["answers"]}
    assert lease["clave_acta"] in outcome["given"]
    assert query(node.dsn, "SELECT status FROM leases WHERE id = %s",
                 lease["lease_id"]) == [("expired",)]
    assert not (node.data_dir / "blobs" / sha[:2] / sha[2:]).exists()

    again = central_cli(node, "station", "disable", stolen.id, "--motivo", "otra vez",
                        coordinador=True)
    assert again.returncode == 0 and "ya estaba deshabilitado" in again.stderr
    assert len(_audit(node, "station_disabled")) == 1  # nothing changed, nothing audited

    enabled = central_cli(node, "station", "enable", stolen.id, coordinador=True)
    assert enabled.returncode == 0, enabled.stderr
    assert "habilitado de nuevo" in enabled.stderr
    assert [d["station"] for _, d in _audit(node, "station_enabled")] == [stolen.id]

    async def after() -> int:
        async with stolen:
            return (await _batch(stolen, actas[2].clave)).status

    assert asyncio.run(after()) == 200


async def _next(station: WorkStation, operator: str, prefetch: int = 1) -> Answer:
    """Ask for capture work (a fresh nonce: a signed ask is never replayed)."""
    return await station.call("POST", "/v1/work/next", {
        "operator": operator, "kind": "captura", "prefetch": prefetch,
        "nonce": str(uuid.uuid4())})


async def _batch(station: WorkStation, clave: str) -> Answer:
    """The station's next batch (one acopio), as it sends it; the central's answer. The
    chain advances only when the batch is taken."""
    record = new_record(station.id, station.seq + 1, Kind.ACOPIO, "acopio",
                        {"clave_acta": clave}, at=datetime.now(UTC))
    batch, body = make_batch(station.key, station.id, station.number + 1, station.prev,
                             [record])
    answer = await station.call("POST", "/v1/batches", raw=body)
    if answer.status == 200:
        station.seq, station.number, station.prev = record.seq, batch.number, batch.sha256
    return answer


def test_the_domain_function_refuses_an_unknown_id_and_a_disable_without_reason(
        shared_central: CentralNode, tmp_path: Path) -> None:
    engine = make_engine(shared_central.dsn, pool_size=1)
    try:
        with pytest.raises(UnknownStation) as unknown:
            set_station_enabled(engine, "catd-99-nadie", False, actor="pruebas",
                                reason="prueba")
        assert isinstance(unknown.value, LookupError)
        assert str(unknown.value).startswith("No existe el equipo «catd-99-nadie»")
        station = WorkStation.enroll(shared_central, 7)
        with pytest.raises(ValueError, match="Indique el motivo"):
            set_station_enabled(engine, station.id, False, actor="pruebas", reason=" \n ")
        assert query(shared_central.dsn, "SELECT enabled FROM stations WHERE id = %s",
                     station.id) == [(True,)]
        # What a person typed reaches the log as one printable line (jsonb refuses NUL).
        set_station_enabled(engine, station.id, False, actor="pruebas",
                            reason="robada\x00\x1b[2J\r\nhoy")
    finally:
        engine.dispose()
    [(_, detail)] = [(a, d) for a, d in _audit(shared_central, "station_disabled")
                     if d["station"] == station.id]
    assert detail["reason"] == "robada [2J hoy"
    done = central_cli(shared_central, "station", "disable", "catd-99-nadie", "--motivo", "x",
                       coordinador=True)
    assert done.returncode == 2
    assert "error: No existe el equipo «catd-99-nadie» en el nodo central" in done.stderr
