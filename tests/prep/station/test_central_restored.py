"""The central comes back without batches it had receipted (restored from a backup to
an earlier point, or a standby promoted before it received them): the station notices
on its own, with nothing new to send, and sends them again, signed as before, images
included; the central ends with every record once (docs/continuidad.md).

The earlier point is made with PostgreSQL's own tools: ``pg_dump`` of the central's
database and a copy of its blob directory while the night goes on, then ``pg_restore``
of that dump over the database and the copy over the blobs, as a restore would leave
them.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import psycopg

from prep.station.station import Station
from prep.station.station import wait_until
from tests.harness.central import running_central
from tests.harness.espera import holgado
from tests.harness.work import site_account
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes
from tests.prep.station.test_network_faults import FAST
from tests.prep.station.test_network_faults import _assert_delivered_exactly_once
from tests.prep.station.test_network_faults import _central_rows
from tests.prep.station.test_network_faults import _local_rows
from tests.prep.station.test_network_faults import _settled

CHECKING = dataclasses.replace(FAST, cursor_interval=0.3)


def _pg_tool(name: str) -> str:
    """The tool of the test server's own version (the pgserver wheel's)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def test_station_resends_what_a_restored_central_lacks(pg_dsn: str, tmp_path: Path) -> None:
    with running_central(tmp_path / "central", pg_dsn) as node:
        acopiador = site_account(node, "acopiador", "07")
        digitalizador = site_account(node, "digitalizador", "07")
        station = Station.open(tmp_path / "station")
        station.enroll(node.url, node.enroll_code(catd=7), node.cert_sha256)
        with station:
            agent = station.start_sync(CHECKING)
            for i in range(20):
                station.acopio(clave(i), acopiador)
            station.imagen(clave(3), jpeg_bytes(200_000), "image/jpeg", digitalizador)
            assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()

            # The backup: the database and the blobs as they are now.
            dump = tmp_path / "central.dump"
            subprocess.run([_pg_tool("pg_dump"), "-Fc", "-f", str(dump), node.dsn],
                           check=True, timeout=120)
            blobs_then = tmp_path / "blobs-backup"
            shutil.copytree(node.data_dir / "blobs", blobs_then)
            identity = station.store.require_identity()
            before = len(_central_rows(node, identity.station_id))

            for i in range(20, 45):  # the night goes on: more batches receipted
                station.acopio(clave(i), acopiador)
            station.imagen(clave(30), jpeg_bytes(250_000), "image/jpeg", digitalizador)
            assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()
            batches_after = station.status().batches
            total = len(_local_rows(station))
            assert len(_central_rows(node, identity.station_id)) == total > before

            # The central is lost and restored to the backup's point.
            node.stop()
            with psycopg.connect(node.dsn, autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
            subprocess.run([_pg_tool("pg_restore"), "--no-owner", "-d", node.dsn,
                            str(dump)], check=True, timeout=120)
            shutil.rmtree(node.data_dir / "blobs")
            shutil.copytree(blobs_then, node.data_dir / "blobs")
            assert len(_central_rows(node, identity.station_id)) == before
            node.start()

            # Nothing new is recorded at the station: it finds out by itself.
            assert wait_until(
                lambda: len(_central_rows(node, identity.station_id)) == total, holgado(60)), \
                agent.state()
            assert wait_until(lambda: _settled(station, agent), holgado(60)), agent.state()
            station.stop_sync()
            done = _assert_delivered_exactly_once(node, station)
            assert (done.records, done.batches, done.images) == (total, batches_after, 2)
