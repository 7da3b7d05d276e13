"""A station through a failover, with real processes: the primary's serve and
PostgreSQL are SIGKILLed, the synchronous standby is promoted and serves at the same
address; the station delivers there without a new enrollment (same identity and
certificate) and learns the new timeline. When the replaced primary comes back at that
address, the station sends it nothing more and says why; when the promoted node answers
again, everything is delivered, each record once (docs/continuidad.md)."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

import psycopg

from central.db import make_engine
from central.db.embedded import start_server
from central.node.config import DataDir
from central.node.config import load_identity
from central.stations.operators import add_operator
from prep.station.client import OLD_PRIMARY
from prep.station.station import Station
from prep.station.station import wait_until
from simulacro.nodo import kill_postmaster
from tests.central.continuity.test_standby_cli import _background
from tests.central.continuity.test_standby_cli import _first_line
from tests.central.continuity.test_standby_cli import _prep
from tests.central.continuity.test_standby_cli import base  # noqa: F401  (the fixture)
from tests.harness.espera import holgado
from tests.prep.station.support import clave
from tests.prep.station.test_network_faults import FAST


def _dsn(data_dir: Path) -> str:
    return str(start_server(data_dir / "pgdata").get_uri("prep_central"))


def _records(data_dir: Path, station_id: str) -> tuple[int, int]:
    with psycopg.connect(_dsn(data_dir)) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT id) FROM records "
                           "WHERE station = %s", (station_id,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_station_follows_the_promoted_node_and_never_the_old_primary(base: Path  # noqa: F811
                                                                       ) -> None:
    a, b = base / "primario", base / "standby"
    _prep("init", "--data-dir", str(a))
    serve_a, out = _background(base, "serve-a", "serve", "--data-dir", str(a), "--port", "0")
    url = str(_first_line(serve_a, out)["url"])
    port = url.rsplit(":", 1)[1]
    engine = make_engine(_dsn(a), pool_size=1)
    acopiador = add_operator(engine, "Acopiador 07", "acopiador", "07",
                             "contraseña de prueba larga", actor="pruebas").id
    engine.dispose()
    _prep("standby", "init", "--data-dir", str(b), "--primario-datos", str(a))
    run_b, out = _background(base, "standby-run", "standby", "run", "--data-dir", str(b))
    _first_line(run_b, out)
    _prep("standby", "sincrono", "--data-dir", str(a))
    code = _prep("enroll-code", "--data-dir", str(a), "--catd", "7").stdout.split()[-1]

    station = Station.open(base / "estacion")
    station.enroll(url, code, load_identity(DataDir(a)).cert_sha256)
    ident = station.store.require_identity().station_id
    with station:
        agent = station.start_sync(dataclasses.replace(FAST, cursor_interval=0.5))
        for i in range(10):
            station.acopio(clave(i), acopiador)
        assert wait_until(lambda: station.status().backlog_records == 0, holgado(60))
        assert station.store.highest_timeline() == 1

        # The primary's machine is lost; the standby is promoted at the same address.
        serve_a.kill()
        serve_a.wait(30)
        kill_postmaster(a / "pgdata")
        _prep("promote", "--data-dir", str(b), "--motivo", "se perdió el primario")
        serve_b, out = _background(base, "serve-b", "serve", "--data-dir", str(b),
                                   "--port", port)
        _first_line(serve_b, out)
        for i in range(10, 20):
            station.acopio(clave(i), acopiador)
        assert wait_until(lambda: station.status().backlog_records == 0, holgado(60)), agent.state()
        assert station.store.highest_timeline() == 2
        assert _records(b, ident) == (20, 20)

        # The promoted node stops; the replaced primary comes back at that address. As
        # it still names its standby as synchronous it could not even start (its first
        # audit row would wait for a standby that is now the primary): someone makes it
        # asynchronous by hand and serves it. The station sends it nothing.
        serve_b.send_signal(signal.SIGTERM)
        serve_b.wait(30)
        _prep("standby", "asincrono", "--data-dir", str(a), "--motivo",
              "alguien reinició el servidor A")
        serve_old, out = _background(base, "serve-old", "serve", "--data-dir", str(a),
                                     "--port", port)
        _first_line(serve_old, out)
        for i in range(20, 30):
            station.acopio(clave(i), acopiador)
        assert wait_until(lambda: agent.state().last_error_code == OLD_PRIMARY, holgado(60)), \
            agent.state()
        assert "línea de tiempo anterior" in agent.state().last_error
        assert station.status().backlog_records > 0  # nothing counted as delivered there
        with psycopg.connect(_dsn(a)) as conn:  # and nothing of it reached the old primary
            row = conn.execute("SELECT count(*) FROM records WHERE station = %s",
                               (ident,)).fetchone()
        assert row is not None and row[0] == 10

        # The promoted node answers again: everything reaches it, each record once.
        serve_old.kill()
        serve_old.wait(30)
        serve_b, out = _background(base, "serve-b2", "serve", "--data-dir", str(b),
                                   "--port", port)
        _first_line(serve_b, out)
        assert wait_until(lambda: station.status().backlog_records == 0, holgado(60)), agent.state()
        station.stop_sync()
    assert _records(b, ident) == (30, 30)
