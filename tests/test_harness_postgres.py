"""The PostgreSQL harness gives a real server and isolated throwaway databases."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from psycopg.conninfo import conninfo_to_dict

from tests.harness.postgres import temporary_database


@pytest.fixture
def other_database(pg_dsn: str) -> Iterator[str]:
    """A second throwaway database, to check isolation against ``pg_database``."""
    with temporary_database(pg_dsn) as dsn:
        yield dsn


def _database_exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def test_round_trip_through_a_real_server(pg_database: str) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE acta (id integer PRIMARY KEY, casilla text NOT NULL)")
        conn.execute("INSERT INTO acta VALUES (%s, %s)", (1, "0123 B"))
        conn.commit()
    with psycopg.connect(pg_database) as conn:
        rows = conn.execute("SELECT id, casilla FROM acta").fetchall()
    assert rows == [(1, "0123 B")]


def test_sqlalchemy_url_reaches_the_same_database(pg_database: str, pg_database_url: str) -> None:
    assert pg_database_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(pg_database_url)
    try:
        with engine.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert name == conninfo_to_dict(pg_database)["dbname"]


def test_throwaway_databases_are_isolated(pg_database: str, other_database: str) -> None:
    assert pg_database != other_database
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE only_here (x integer)")
        conn.commit()
    with psycopg.connect(other_database) as conn:
        found = conn.execute("SELECT to_regclass('only_here') IS NOT NULL").fetchone()
    assert found == (False,)


def test_throwaway_database_is_dropped_even_with_open_sessions(pg_dsn: str) -> None:
    with temporary_database(pg_dsn) as dsn:
        name = conninfo_to_dict(dsn)["dbname"]
        leftover = psycopg.connect(dsn)
        assert _database_exists(pg_dsn, str(name))
    try:
        assert not _database_exists(pg_dsn, str(name))
        with pytest.raises(psycopg.OperationalError):
            leftover.execute("SELECT 1")
    finally:
        leftover.close()
