"""What the station tells its operator when its own SQLite store interrupts a sync pass
(the soak's full disks): a full disk is called a full disk, not a busy database. Real
SQLite errors: a database that cannot grow, and one another connection holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from prep.station.sync import STORE_BUSY_MESSAGE
from prep.station.sync import store_problem

pytestmark = pytest.mark.rapido


def test_a_full_disk_is_said_to_be_full(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'estacion.db'}")
    with engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.exec_driver_sql("CREATE TABLE registros (cuerpo BLOB)")
        conn.exec_driver_sql("PRAGMA max_page_count = 8")  # no room to grow: SQLITE_FULL
        for _ in range(100):
            conn.exec_driver_sql("INSERT INTO registros VALUES (zeroblob(4096))")
    engine.dispose()
    said = store_problem(refused.value)
    assert "El disco de la estación está lleno" in said
    assert "el avance del envío" in said and "Libere espacio" in said
    assert "ocupada" not in said


def test_a_busy_database_is_tried_again(tmp_path: Path) -> None:
    path = tmp_path / "estacion.db"
    holder = create_engine(f"sqlite:///{path}")
    other = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with holder.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE registros (cuerpo BLOB)")
        conn.commit()
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the database
        with other.connect() as second, pytest.raises(DBAPIError) as refused:
            second.exec_driver_sql("INSERT INTO registros VALUES (x'00')")
        conn.rollback()
    holder.dispose()
    other.dispose()
    assert store_problem(refused.value) == STORE_BUSY_MESSAGE
