"""When cortes happen: the publication window's ticks, the refusal of a corte interval
above 20 minutes or a window over 24 hours, and scheduled cortes made beside a running
event loop (the last one of the window marked as such)."""

from __future__ import annotations

import asyncio
import time as clock
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from central.db import make_engine
from central.publication.corte import CorteSettings
from central.publication.schedule import Scheduler
from central.publication.schedule import Ventana
from central.publication.schedule import cortes_while
from central.publication.schedule import parse_inicio
from central.publication.ventana import fijar_ventana
from prep.catalog import generate_catalog
from prep.cli import main
from prep.corte.anexo import TZ
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.central.station import query
from tests.harness.central import running_central
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states
from tests.harness.work import load_catalog

#: Seconds ahead of now a test's window starts (the scheduler is made after it is stored).
WINDOW_LEAD_S = 5
START = datetime(2027, 6, 7, 2, 0, tzinfo=UTC)  # 20:00 in Mexico City


def test_the_window_ticks_every_interval_and_ends_with_the_last_corte() -> None:
    ventana = Ventana(START, 24, timedelta(minutes=5))
    assert ventana.siguiente(START - timedelta(hours=1)) == (START, False)
    assert ventana.siguiente(START) == (START, False)
    assert ventana.siguiente(START + timedelta(minutes=1)) == (
        START + timedelta(minutes=5), False)
    assert ventana.siguiente(START + timedelta(hours=23, minutes=57)) == (
        START + timedelta(hours=24), True)
    assert ventana.siguiente(START + timedelta(hours=24, seconds=1)) is None
    odd = Ventana(START, 1, timedelta(minutes=7))
    assert odd.siguiente(START + timedelta(minutes=57)) == (START + timedelta(hours=1), True)


def test_a_start_without_offset_is_mexico_city_time() -> None:
    assert parse_inicio("2027-06-06T20:00") == datetime(2027, 6, 6, 20, 0, tzinfo=TZ)
    assert parse_inicio("ahora", START) == START
    with pytest.raises(ValueError, match="no es una fecha y hora"):
        parse_inicio("mañana temprano")


@pytest.mark.parametrize(("options", "message"), [
    (["--corte-every", "25"], "el máximo es 20 minutos entre cortes"),
    (["--corte-every", "0.5"], "al menos 1 minuto"),
    (["--publicacion-inicio", "ahora", "--publicacion-horas", "30"], "hasta 24 horas"),
])
def test_serve_refuses_a_corte_schedule_out_of_bounds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str],
        message: str) -> None:
    code = main(["central", "serve", "--data-dir", str(tmp_path / "nada"), *options])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "nada").exists()  # refused before anything started


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    catalog = generate_catalog(8, 0.005)
    prepare_database(pg_database, catalog)
    corte = datetime.now(UTC)
    write_states(pg_database, catalog, simulate(catalog, 8, corte), blobs=None)
    engine = make_engine(pg_database)
    yield engine
    engine.dispose()


def test_scheduled_cortes_run_beside_the_event_loop(engine: Engine, tmp_path: Path) -> None:
    # A window of two seconds: a corte at its start and the último corte at its end. It
    # starts far enough ahead that the scheduler, made after the window is stored, sees
    # its start still to come on a loaded machine (a start already past is skipped).
    ventana = Ventana(datetime.now(UTC) + timedelta(seconds=WINDOW_LEAD_S), 2 / 3600,
                      timedelta(minutes=1))
    fijar_ventana(engine, ventana.inicio, ventana.horas, actor="pruebas")  # the Consejo's
    settings = CorteSettings(tmp_path / "publicacion", blobs=None, sitio=False)
    scheduler = Scheduler(engine, SigningKey.generate(), settings, ventana)
    ticks = 0

    async def server() -> int:
        nonlocal ticks
        while not scheduler.terminado:
            ticks += 1
            await asyncio.sleep(0.01)
        return ticks

    assert asyncio.run(cortes_while(server(), scheduler)) > 0
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT directorio, motivo, ultimo FROM cortes "
                                    "ORDER BY id").all()
    assert [(r[1], r[2]) for r in rows] == [("programado", False), ("programado", True)]
    assert all((tmp_path / "publicacion" / r[0] / "MANIFIESTO.sha256.sig").is_file()
               for r in rows)


def test_the_schedule_stops_with_the_server(engine: Engine, tmp_path: Path) -> None:
    ventana = Ventana(datetime.now(UTC) + timedelta(hours=1), 24, timedelta(minutes=5))
    scheduler = Scheduler(engine, SigningKey.generate(),
                          CorteSettings(tmp_path / "publicacion", None, sitio=False), ventana)
    assert asyncio.run(cortes_while(asyncio.sleep(0.05, result="fin"), scheduler)) == "fin"
    assert scheduler.hechos == 0
    assert not (tmp_path / "publicacion").exists()


def test_an_on_demand_corte_without_a_catalog_is_refused_and_audited(
        pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "central"
    assert main(["central", "init", "--data-dir", str(data_dir), "--dsn", pg_database]) == 0
    assert main(["central", "ventana", "--inicio", "ahora", "--data-dir", str(data_dir),
                 "--dsn", pg_database]) == 0
    capsys.readouterr()
    code = main(["central", "corte", "--data-dir", str(data_dir), "--dsn", pg_database])
    assert code == 1
    assert "no hay catálogo cargado" in capsys.readouterr().err
    assert not (data_dir / "publicacion").exists()
    engine = make_engine(pg_database)
    try:
        with engine.connect() as conn:
            reasons = conn.exec_driver_sql("SELECT detail->>'reason' FROM audit_log WHERE "
                                           "event = 'corte_failed'").scalars().all()
    finally:
        engine.dispose()
    assert len(reasons) == 1 and "no hay catálogo cargado" in reasons[0]


def test_prep_central_serve_publishes_the_window_s_cortes(pg_dsn: str, tmp_path: Path) -> None:
    # The window opens when serve starts («ahora»), however long its start takes, and its
    # catalog is there before: a window fixed by the clock closed before a slow start.
    publicacion = tmp_path / "publicacion"
    args = ["--publicacion-inicio", "ahora", "--publicacion-horas", "0.002",
            "--corte-every", "1", "--publicacion", str(publicacion)]
    with running_central(tmp_path / "node", pg_dsn, extra_args=args,
                         before_start=load_catalog) as node:
        deadline = clock.monotonic() + 300
        rows: list[tuple[object, ...]] = []
        while clock.monotonic() < deadline:
            rows = query(node.dsn, "SELECT directorio, motivo, ultimo FROM cortes ORDER BY id")
            if any(r[2] for r in rows):
                break
            clock.sleep(0.5)
        fingerprint = node.central_key.fingerprint()
    assert rows and rows[-1][1:] == ("programado", True), rows
    for directorio, _, _ in rows:
        result = verify_corte(publicacion / str(directorio), huella=fingerprint)
        assert result.ok, result.report()
