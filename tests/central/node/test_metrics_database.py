"""The database collector of the central's metrics (issue 68) on a real PostgreSQL: what
a scrape reads is held a few seconds (two Prometheus servers never double the load), a
reading that runs out of its time budget or finds PostgreSQL down answers
``prep_database_up 0`` instead of hanging the scrape, and nothing it does writes."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine
from sqlalchemy import text

from central.db import make_engine
from central.db import upgrade
from central.node.metrics.database import DatabaseCollector
from tests.harness.postgres import temporary_database
from tests.harness.standby import primary_with_standby


def _value(families: Iterable[Metric], name: str) -> float | None:
    for family in families:
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    return None


def _anomaly(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO anomalies (type, detail) VALUES ('clock_skew', '{}')"))


def _open_skews(families: Iterable[Metric]) -> float:
    return sum(float(s.value) for f in families for s in f.samples
               if s.name == "prep_anomalies_open" and s.labels == {"type": "clock_skew"})


def test_a_reading_is_held_for_its_interval(migrated: Engine, pg_database: str) -> None:
    now = [100.0]
    collector = DatabaseCollector(pg_database, every=5.0, clock=lambda: now[0])
    try:
        first = list(collector.collect())
        assert _value(first, "prep_database_up") == 1
        assert _open_skews(first) == 0
        _anomaly(migrated)
        now[0] += 4.0  # within the interval: the same reading
        assert _open_skews(collector.collect()) == 0
        now[0] += 1.0  # past it: read again
        assert _open_skews(collector.collect()) == 1
    finally:
        collector.close()


def test_a_spent_budget_answers_down_and_the_next_reading_recovers(
        migrated: Engine, pg_database: str) -> None:
    now = [0.0]
    starved = DatabaseCollector(pg_database, budget=1e-9, clock=lambda: now[0])
    try:
        families = list(starved.collect())
        assert _value(families, "prep_database_up") == 0
        assert _value(families, "prep_database_scrape_failures_total") == 1
        assert not [f for f in families if f.name == "prep_actas"]  # nothing half-read
    finally:
        starved.close()
    fed = DatabaseCollector(pg_database)
    try:
        assert _value(fed.collect(), "prep_database_up") == 1
    finally:
        fed.close()


def test_postgresql_down_answers_down(tmp_path: object) -> None:
    collector = DatabaseCollector(f"host={tmp_path} port=1 dbname=nada connect_timeout=2")
    families = list(collector.collect())
    assert _value(families, "prep_database_up") == 0
    assert _value(families, "prep_database_scrape_failures_total") == 1


def test_the_reading_is_read_only(migrated: Engine, pg_database: str) -> None:
    collector = DatabaseCollector(pg_database)
    try:
        collector.collect()
        conn = collector._connection()
        assert conn.read_only is True
        with conn.cursor() as cur:
            assert cur.execute("SHOW transaction_read_only").fetchone() == ("on",)
        conn.rollback()
    finally:
        collector.close()


def test_a_streaming_standby_is_seen_with_its_lag() -> None:
    with primary_with_standby() as replicated, \
            temporary_database(replicated.primary) as dsn:
        engine = make_engine(dsn)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        collector = DatabaseCollector(dsn)
        try:
            families = list(collector.collect())
        finally:
            collector.close()
    assert _value(families, "prep_database_up") == 1
    assert _value(families, "prep_replication_standbys_streaming") == 1
    assert _value(families, "prep_replication_synchronous") == 0  # asynchronous here
    lags = [s for f in families for s in f.samples if s.name == "prep_replication_lag_bytes"]
    assert len(lags) == 1 and lags[0].labels["sync"] == "async" and lags[0].value >= 0
    assert [s.labels for f in families for s in f.samples
            if s.name == "prep_replication_lag_seconds"] == [lags[0].labels]
