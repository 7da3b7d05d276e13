"""Several ``prep central serve`` nodes on one database (issue 31): an operator waiting
at one node is woken by a batch another node ingests (PostgreSQL LISTEN/NOTIFY, not an
in-process signal), and the scheduled cortes are made by one node at a time (an
advisory lock its session holds), taken over when that node's session dies."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from central.db import make_engine
from central.db.migrate import upgrade
from central.node.config import DataDir
from central.node.config import load_identity
from central.publication.corte import CorteSettings
from central.publication.schedule import Scheduler
from central.publication.schedule import Ventana
from prep.catalog import Catalog
from tests.central.lease_work import ask_for_work
from tests.harness.central import CentralNode
from tests.harness.espera import holgado
from tests.harness.work import WorkStation
from tests.harness.work import actas_of
from tests.harness.work import add_operators


@pytest.fixture
def second(node: CentralNode, tmp_path: Path) -> Iterator[CentralNode]:
    """Another serve node of the same central: the institute's identity, copied as
    ``standby init`` does, and the same database."""
    data_dir = tmp_path / "b" / "central"
    (data_dir / "tls").mkdir(parents=True)
    for name in ("central.toml", "central.key", "tls/cert.pem", "tls/key.pem"):
        shutil.copy2(node.data_dir / name, data_dir / name)
    other = CentralNode(tmp_path / "b", node.dsn)
    assert other.cert_sha256 == node.cert_sha256
    other.start()
    try:
        yield other
    finally:
        other.stop()


def test_a_wait_at_one_node_is_woken_by_a_batch_at_another(
        node: CentralNode, second: CentralNode, catalog: Catalog) -> None:
    [acta] = actas_of(catalog, 1, 1)
    [ana] = add_operators(node, [("Ana", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as waiting, \
                WorkStation.enroll(second, 1) as sending:
            ask = ask_for_work(waiting, ana, espera=60)
            await asyncio.sleep(1.0)
            assert not ask.done()  # nothing yet: it waits at node A
            await sending.digitize([acta])  # ingested by node B
            # Woken by B's batch, not by the end of its 60 s: the bound is that timer's.
            bound = holgado(15, tope_s=50)
            try:
                answer = await asyncio.wait_for(ask, bound)
            except TimeoutError:
                raise AssertionError(f"en {bound:.0f} s, la espera en el nodo A no despertó "
                                     "con el lote del nodo B") from None
            [lease] = answer.body["leases"]
            assert lease["clave_acta"] == acta.clave

    asyncio.run(scenario())


def test_one_scheduler_at_a_time_and_another_takes_over(pg_database: str,
                                                         tmp_path: Path) -> None:
    engine = make_engine(pg_database, pool_size=2)
    upgrade(engine)
    start = datetime.now(UTC)
    ventana = Ventana.desde(start, start + timedelta(hours=1), timedelta(minutes=5))
    key = load_identity(_identity(tmp_path)).key
    settings = CorteSettings(tmp_path / "publicacion", tmp_path / "blobs")
    first, other = (Scheduler(engine, key, settings, ventana) for _ in range(2))
    try:
        assert first.holds_lock()
        assert not other.holds_lock()
        assert first.holds_lock()  # still its own
        # The first node dies: its session ends, and with it the lock (waited for: the
        # backend exits after the call returns, late on a loaded machine).
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid, 30000) FROM pg_locks "
                         "WHERE locktype = 'advisory' AND objid = 71 AND granted")
        assert other.holds_lock()
        assert not first.holds_lock()
    finally:
        first._release()
        other._release()
        engine.dispose()


def _identity(tmp_path: Path) -> DataDir:
    from central.node.config import initialize

    data_dir = DataDir(tmp_path / "central")
    initialize(data_dir)
    return data_dir
