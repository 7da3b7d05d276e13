"""A station's work queue against a real central: an operator prefetches leased actas
with their images, keeps capturing through an outage of the link and a restart of the
station program, and the captures reach the central and validate the actas; an
unreadable image goes back to digitalización; a released lease goes to someone else."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.records import parse_time
from prep.station.models import WorkLeaseRow
from prep.station.station import Station
from prep.station.sync import SyncOptions
from prep.station.work import WorkError
from prep.station.work import WorkQueue
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.espera import holgado
from tests.harness.proxy import FaultProxy
from tests.harness.work import WorkStation
from tests.harness.work import actas_of
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import png
from tests.harness.work import truth

FAST = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                   heartbeat_interval=0.01, bundle_interval=0)


@pytest.fixture(scope="module")
def node(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    with running_central(tmp_path_factory.mktemp("work-central"), pg_dsn) as central:
        yield central


@pytest.fixture(scope="module")
def catalog(node: CentralNode) -> Catalog:
    return load_catalog(node)


def _digitize(node: CentralNode, actas: list[Acta]) -> None:
    """A scanning station of the actas' own CATD sends their acopio and image (the
    central takes them from no other)."""
    for distrito in sorted({a.casilla.distrito_id for a in actas}):
        _digitize_catd(node, [a for a in actas if a.casilla.distrito_id == distrito],
                       distrito)


def _digitize_catd(node: CentralNode, actas: list[Acta], catd: int) -> None:
    async def run() -> None:
        async with WorkStation.enroll(node, catd) as scanner:
            await scanner.digitize(actas)
    asyncio.run(run())


def _estado(node: CentralNode, clave: str) -> str:
    return str(query(node.dsn, "SELECT estado FROM acta_states WHERE clave_acta = %s",
                     clave)[0][0])


def _station(node: CentralNode, data_dir: Path, url: str | None = None,
             catd: int = 2) -> Station:
    station = Station.open(data_dir)
    station.enroll(url or node.url, node.enroll_code(catd=catd), node.cert_sha256)
    return station


def test_an_operator_captures_through_an_outage_and_a_restart(
        node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    actas = actas_of(catalog, 2, 3)
    _digitize(node, actas)
    ana, beto = add_operators(node, [("Ana Work", "capturista", "02"),
                                     ("Beto Work", "capturista", "02")])
    with FaultProxy("127.0.0.1", node.port) as link:
        station = _station(node, tmp_path / "st", link.url_for(node.url))
        queue = WorkQueue(station, ana, prefetch=3)
        first = queue.refill()
        assert first.online and first.granted == 3 and first.pending == 3
        held = queue.pending()
        assert [i.clave_acta for i in held] == [a.clave for a in actas]
        assert first.ready == tuple(held)  # the answer names them, oldest first
        for item in held:  # the images are here, byte for byte
            assert queue.image(item) == png(f"CATD:{item.clave_acta}")
            assert hashlib.sha256(queue.image(item)).hexdigest() == item.image_sha256

        link.cut()
        offline = queue.refill()
        assert not offline.online and offline.pending == 3 and offline.ready == tuple(held)
        assert "siga trabajando" in offline.message
        queue.submit(held[0], truth(actas[0]))
        assert queue.current() == held[1]
        station.close()

        # The station program restarts, still offline: the work is still there.
        station = Station.open(tmp_path / "st")
        queue = WorkQueue(station, ana, prefetch=3)
        assert [i.clave_acta for i in queue.pending()] == [a.clave for a in actas[1:]]
        with pytest.raises(WorkError, match="ya no está asignada"):
            queue.submit(held[0], truth(actas[0]))  # the same acta twice: refused here
        for item, acta in zip(queue.pending(), actas[1:], strict=True):
            queue.submit(item, truth(acta))
        assert queue.pending() == []

        link.restore()
        assert station.sync_until_drained(30, FAST)
        station.stop_sync()
    assert {_estado(node, a.clave) for a in actas} == {"captura_1"}
    assert dict(query(node.dsn, "SELECT operator, count(*) FROM leases WHERE status = "
                      "'completed' GROUP BY operator")) == {ana: 3}
    assert query(node.dsn, "SELECT count(*) FROM anomalies WHERE type = "
                 "'captura_sin_lease'") == [(0,)]

    # A second operator at another station of the same CATD completes them.
    other = _station(node, tmp_path / "st2")
    second = WorkQueue(other, beto, prefetch=5)
    assert second.refill().pending == 3
    assert {i.slot for i in second.pending()} == {2}
    for item in second.pending():
        acta = next(a for a in actas if a.clave == item.clave_acta)
        second.submit(item, truth(acta))
    assert other.sync_until_drained(30, FAST)
    other.stop_sync()
    other.close()
    station.close()
    assert {_estado(node, a.clave) for a in actas} == {"validada"}
    assert central_cli(node, "rebuild-state", "--check").returncode == 0


def test_unreadable_image_and_release(node: CentralNode, catalog: Catalog,
                                      tmp_path: Path) -> None:
    unreadable, given_back = actas_of(catalog, 3, 2)
    _digitize(node, [unreadable, given_back])
    carla, dario = add_operators(node, [("Carla Work", "capturista", "03"),
                                        ("Dario Work", "capturista", "03")])
    station = _station(node, tmp_path / "st", catd=3)
    queue = WorkQueue(station, carla, prefetch=2)
    assert queue.refill().pending == 2
    first, second = queue.pending()
    assert (first.clave_acta, second.clave_acta) == (unreadable.clave, given_back.clave)
    with pytest.raises(WorkError, match="faltan"):
        queue.submit(first, {})
    queue.ilegible(first, "La imagen está cortada por la mitad")
    queue.release(second)
    assert queue.pending() == []
    assert queue.refill().online  # sends the release
    assert station.sync_until_drained(30, FAST)
    station.stop_sync()
    assert _estado(node, unreadable.clave) == "redigitalizacion"
    statuses = dict(query(node.dsn, "SELECT clave_acta, status FROM leases WHERE "
                          "operator = %s", carla))
    assert statuses == {unreadable.clave: "ilegible", given_back.clave: "released"}
    [motivo] = query(node.dsn, "SELECT body->>'motivo' FROM records WHERE kind = 'ilegible'")
    assert motivo == ("La imagen está cortada por la mitad",)

    other = WorkQueue(station, dario)
    assert [i.clave_acta for i in (other.refill(), other.pending())[1]] == [given_back.clave]
    station.close()


def test_a_refusal_is_explained(node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    [verificadora] = add_operators(node, [("Vera Work", "verificador", "02")])
    station = _station(node, tmp_path / "st")
    wrong_role = WorkQueue(station, verificadora, "captura")
    with pytest.raises(WorkError) as refused:
        wrong_role.refill()
    assert str(refused.value) == f"El operador {verificadora} no tiene el rol de capturista."
    nothing = WorkQueue(station, verificadora, "verificacion").refill()
    assert nothing.online and nothing.pending == 0
    assert nothing.message == "No hay actas por verificar en este momento."
    station.close()
    assert json.loads(central_cli(node, "rebuild-state", "--check").stdout)["differences"] == 0


def test_a_kept_session_survives_a_central_restart(node: CentralNode, catalog: Catalog,
                                                   tmp_path: Path) -> None:
    """The queue keeps its HTTPS connection between asks for work; when the central
    restarts in between, the next ask still works (the operator never sees «sin
    conexión» for a connection the central closed)."""
    first, second = actas_of(catalog, 4, 2)
    _digitize(node, [first])
    [elena] = add_operators(node, [("Elena Work", "capturista", "04")])
    station = _station(node, tmp_path / "st", catd=4)
    with contextlib.closing(WorkQueue(station, elena, prefetch=1)) as queue:
        assert queue.refill().pending == 1
        queue.submit(queue.pending()[0], truth(first))
        assert station.sync_until_drained(30, FAST)
        node.restart()
        _digitize(node, [second])
        again = queue.refill()
        assert again.online, again.message
        assert [i.clave_acta for i in queue.pending()] == [second.clave]
    station.close()


def test_a_renewed_lease_stays_on_screen_past_its_first_expiry(
        node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    """A lease renewed at the central keeps showing after the time it was first given
    for (the renewal moves the row's expiry; the lease text keeps the first one)."""
    [acta] = actas_of(catalog, 5, 1)
    _digitize(node, [acta])
    [fausto] = add_operators(node, [("Fausto Work", "capturista", "05")])
    station = _station(node, tmp_path / "st", catd=5)
    with contextlib.closing(WorkQueue(station, fausto, prefetch=1)) as queue:
        assert queue.refill().pending == 1
        [item] = queue.pending()
        first_expiry = item.expires_at
        # The operator has been on it for 7 minutes: the next ask renews it.
        station.store.clock = lambda: first_expiry - timedelta(minutes=3)
        assert queue.refill().online
        with station.store.read() as session:
            renewed = parse_time(session.scalars(select(WorkLeaseRow.expires_at)).one())
        assert renewed > first_expiry
        station.store.clock = lambda: first_expiry + (renewed - first_expiry) / 2
        assert [i.clave_acta for i in queue.pending()] == [acta.clave]
        assert queue.current() is not None and queue.current().expires_at == renewed
        queue.submit(queue.pending()[0], truth(acta))
    station.close()


def test_an_operator_gets_the_next_actas_before_the_finished_ones_are_delivered(
        node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    """Captures finished at the station wait in its outbox; the operator asking for more
    meanwhile gets the next actas at once (the station tells the central which leases
    are done here), and every capture counts when the outbox delivers."""
    actas = actas_of(catalog, 7, 4)
    _digitize_catd(node, actas, 7)
    [gil] = add_operators(node, [("Gil Work", "capturista", "07")])
    station = _station(node, tmp_path / "st", catd=7)
    with contextlib.closing(WorkQueue(station, gil, prefetch=2)) as queue:
        assert queue.refill().pending == 2
        first = {i.clave_acta for i in queue.pending()}
        for item in queue.pending():
            queue.submit(item, truth(next(a for a in actas if a.clave == item.clave_acta)))
        assert queue.pending() == []  # both in the outbox; the sync agent is not running
        more = queue.refill()
        assert more.online and more.granted == 2 and more.pending == 2
        assert {i.clave_acta for i in queue.pending()} == {a.clave for a in actas} - first
        for item in queue.pending():
            queue.submit(item, truth(next(a for a in actas if a.clave == item.clave_acta)))
    assert station.sync_until_drained(30, FAST)
    station.stop_sync()
    station.close()
    assert {_estado(node, a.clave) for a in actas} == {"captura_1"}
    assert query(node.dsn, "SELECT count(*) FROM leases WHERE operator = %s AND status = "
                 "'completed'", gil) == [(4,)]


def test_an_idle_operator_waits_at_the_central_until_the_program_stops(
        pg_dsn: str, tmp_path: Path) -> None:
    # A central of its own: the module's shared one has other tests' actas in its queue.
    with running_central(tmp_path / "central", pg_dsn) as node:
        catalog = load_catalog(node)
        [acta] = actas_of(catalog, 8, 1)
        [hugo] = add_operators(node, [("Hugo Work", "capturista", "08")])
        station = _station(node, tmp_path / "st", catd=8)
        queue = WorkQueue(station, hugo, prefetch=2)
        try:
            with ThreadPoolExecutor(1) as worker:
                waiting = worker.submit(queue.refill, 30)
                time.sleep(1.0)
                assert not waiting.done()  # nothing to do yet: the ask waits there
                _digitize_catd(node, [acta], 8)
                # It comes back with the scanned acta (that the scan's batch wakes the
                # wait, not its timer, is tests/central/api/test_work_wait.py's).
                outcome = waiting.result(holgado(120))
            assert outcome.online and outcome.granted == 1
            assert [i.clave_acta for i in outcome.ready] == [acta.clave]
            queue.submit(outcome.ready[0], truth(acta))
            # Nothing more: the next ask waits, until the program stops (another thread).
            with ThreadPoolExecutor(1) as worker:
                waiting = worker.submit(queue.refill, 30)
                time.sleep(1.0)
                assert not waiting.done()
                queue.abort()
                outcome = waiting.result(holgado(30))
            assert not outcome.online and outcome.ready == ()
            assert outcome.message == ("La solicitud de trabajo se canceló porque el "
                                       "programa se está cerrando.")
            assert not queue.refill().online  # nothing more is asked once stopping
        finally:
            queue.close()
            station.close()
