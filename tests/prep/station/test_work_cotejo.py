"""A headless station asks for cotejo work and records a cotejo (issue 29): the queue
of kind ``cotejo`` gets a validated acta of its CATD with the published data, and its
cotejo reaches the central, opens the correction round and completes the lease."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from prep.station.station import Station
from prep.station.sync import SyncOptions
from prep.station.work import WorkError
from prep.station.work import WorkQueue
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth

FAST = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                   heartbeat_interval=0.01, bundle_interval=0)


@pytest.fixture
def node(pg_dsn: str, tmp_path: Path) -> Iterator[CentralNode]:
    with running_central(tmp_path / "central", pg_dsn) as central:
        yield central


def test_a_station_cotejas_an_acta_and_opens_its_correction(node: CentralNode,
                                                            tmp_path: Path) -> None:
    catalog = load_catalog(node)
    [acta] = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 2][:1]
    ana, beto, vera = add_operators(node, [("Ana", "capturista", "02"),
                                           ("Beto", "capturista", "02"),
                                           ("Vera", "verificador", "02")])

    async def validated() -> None:
        async with WorkStation.enroll(node, 2) as s1, WorkStation.enroll(node, 2) as s2:
            await s1.digitize([acta])
            for operator, station in ((ana, s1), (beto, s2)):
                [lease] = await station.next(operator)
                await station.capture(operator, lease, truth(acta))

    asyncio.run(validated())
    station = Station.open(tmp_path / "st")
    station.enroll(node.url, node.enroll_code(catd=2), node.cert_sha256)
    queue = WorkQueue(station, vera, kind="cotejo")
    outcome = queue.refill()
    assert outcome.pending == 1 and "cotejar" in outcome.message
    [item] = queue.pending()
    assert item.clave_acta == acta.clave and item.valores == truth(acta)
    campo = acta.layout.campos[4]
    with pytest.raises(WorkError, match="no son del acta"):
        queue.cotejo(item, False, ["NO_ES_CAMPO"])
    queue.cotejo(item, False, [campo], "El papel dice otra cantidad")
    assert queue.pending() == []
    assert station.sync_until_drained(30, FAST)
    station.stop_sync()
    station.close()
    [(estado, campos, motivo)] = query(
        node.dsn, "SELECT estado, correccion_campos, correccion_motivo FROM acta_states "
        "WHERE clave_acta = %s", acta.clave)
    assert (estado, campos, motivo) == ("digitalizada", [campo],
                                        "El papel dice otra cantidad")
    assert query(node.dsn, "SELECT status FROM leases WHERE kind = 'cotejo'") == [
        ("completed",)]
