"""``prep central init --simulacro``: the flag lives in the central's database, and
once the database holds results it can change neither way, whoever tries (the
command, or SQL straight to PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from datetime import time
from pathlib import Path

import psycopg
import pytest

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.sintetico.capturas import simulate
from tests.harness.central import REPO
from tests.harness.corte_data import day_after
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states

SEED = 5


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.01)


def _init(data: Path, dsn: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "central", "init", "--data-dir",
                           str(data), "--dsn", dsn, *flags], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)


def _flag(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT simulacro FROM installation").fetchall()
    assert len(rows) == 1
    return bool(rows[0][0])


def _results(dsn: str, catalog: Catalog, tmp_path: Path) -> None:
    """An election night's data: acopios, sin acta, captured actas with their images,
    fuera de catálogo (as the pipeline stores them)."""
    corte = day_after(catalog, time(6, 0))
    write_states(dsn, catalog, simulate(catalog, SEED, corte, pendientes=0.1),
                 tmp_path / "blobs")


def _sql_error(dsn: str, statement: str) -> str:
    with psycopg.connect(dsn) as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute(statement)
    return str(raised.value)


def test_init_simulacro_sets_the_flag_and_a_later_init_keeps_it(
        tmp_path: Path, pg_database: str) -> None:
    data = tmp_path / "central"
    done = _init(data, pg_database, "--simulacro")
    assert done.returncode == 0, done.stderr
    assert "modo:                        SIMULACRO" in done.stdout
    assert _flag(pg_database) is True

    again = _init(data, pg_database)  # re-running init never unmarks a drill
    assert again.returncode == 0, again.stderr
    assert "SIMULACRO" in again.stdout
    assert _flag(pg_database) is True
    with psycopg.connect(pg_database) as conn:
        details = [r[0] for r in conn.execute(
            "SELECT detail FROM audit_log WHERE event = 'central_initialized' ORDER BY id")]
    assert [(d["simulacro"], d["simulacro_cambiado"]) for d in details] == [
        (True, True), (True, False)]


def test_a_plain_init_is_a_real_central(tmp_path: Path, pg_database: str) -> None:
    done = _init(tmp_path / "central", pg_database)
    assert done.returncode == 0, done.stderr
    assert "real (los cortes no dicen SIMULACRO)" in done.stdout
    assert _flag(pg_database) is False


def test_before_any_result_the_flag_can_be_taken_back(tmp_path: Path, pg_database: str,
                                                      catalog: Catalog) -> None:
    data = tmp_path / "central"
    assert _init(data, pg_database, "--simulacro").returncode == 0
    prepare_database(pg_database, catalog)  # a loaded catalog is not a result

    done = _init(data, pg_database, "--real")

    assert done.returncode == 0, done.stderr
    assert _flag(pg_database) is False


def test_a_drill_with_results_stays_a_drill(tmp_path: Path, pg_database: str,
                                            catalog: Catalog) -> None:
    data = tmp_path / "central"
    assert _init(data, pg_database, "--simulacro").returncode == 0
    prepare_database(pg_database, catalog)
    _results(pg_database, catalog, tmp_path)

    done = _init(data, pg_database, "--real")

    assert done.returncode == 2
    assert "ya tiene resultados de un simulacro" in done.stderr
    assert "no se puede quitar" in done.stderr and "base de datos nueva" in done.stderr
    assert "Traceback" not in done.stderr
    assert _flag(pg_database) is True
    # Nor behind the command's back: PostgreSQL itself refuses.
    refused = _sql_error(pg_database, "UPDATE installation SET simulacro = false")
    assert "SIMULACRO no se puede cambiar (quitar)" in refused
    assert "no se borra" in _sql_error(pg_database, "DELETE FROM installation")
    assert "no se borra" in _sql_error(pg_database, "TRUNCATE installation")
    assert _flag(pg_database) is True


def test_a_real_central_with_results_cannot_become_a_drill(tmp_path: Path, pg_database: str,
                                                           catalog: Catalog) -> None:
    data = tmp_path / "central"
    assert _init(data, pg_database).returncode == 0
    prepare_database(pg_database, catalog)
    _results(pg_database, catalog, tmp_path)

    done = _init(data, pg_database, "--simulacro")

    assert done.returncode == 2
    assert "ya tiene resultados de la elección" in done.stderr
    assert "no se puede marcar como SIMULACRO" in done.stderr
    assert _flag(pg_database) is False
    refused = _sql_error(pg_database, "UPDATE installation SET simulacro = true")
    assert "SIMULACRO no se puede cambiar (poner)" in refused
    assert _flag(pg_database) is False


def test_only_one_installation_row(tmp_path: Path, pg_database: str) -> None:
    assert _init(tmp_path / "central", pg_database, "--simulacro").returncode == 0
    error = _sql_error(pg_database, "INSERT INTO installation (id, simulacro) VALUES (2, false)")
    assert "ck_installation_single_row" in error
    assert "no se borra" in _sql_error(pg_database, "DELETE FROM installation")
    assert _flag(pg_database) is True


def test_simulacro_and_real_together_are_refused(tmp_path: Path, pg_database: str) -> None:
    done = _init(tmp_path / "central", pg_database, "--simulacro", "--real")
    assert done.returncode == 2
    assert "--real" in done.stderr and "--simulacro" in done.stderr
