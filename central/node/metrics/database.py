"""The Prometheus collector that reads the night's state from PostgreSQL at scrape time.

One scrape is one REPEATABLE READ, READ ONLY transaction on a connection of its own (the
login of ``serve``'s DSN, which sees ``pg_stat_replication`` when it is a superuser, as
with the embedded PostgreSQL, or has ``pg_monitor``: docs/instalacion.md), every
statement under a time budget (:data:`BUDGET_SECONDS`: ``statement_timeout``, and no
further statement once the budget is spent). What was read is kept for
:data:`MIN_INTERVAL` seconds, so two Prometheus servers (or an impatient technician)
never read the database more often than that. When PostgreSQL cannot be read the
scrape still answers: ``prep_database_up 0`` and this process's own metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from central.node.metrics import queries

log = logging.getLogger("central.metrics")

BUDGET_SECONDS = 2.0
MIN_INTERVAL = 5.0
CONNECT_SECONDS = 5

Section = Callable[[queries.Cursor], Iterator[Metric]]
#: Read in this order; replication only on a primary (serve never runs on a standby).
SECTIONS: tuple[Section, ...] = (queries.actas, queries.leases, queries.stations,
                                 queries.cortes, queries.anomalies, queries.casilla,
                                 queries.difusores)


class BudgetSpent(Exception):
    """The scrape's time budget ran out before every section was read."""


class DatabaseCollector(Collector):
    """Reads :mod:`central.node.metrics.queries` from the database at ``dsn``."""

    def __init__(self, dsn: str, *, budget: float = BUDGET_SECONDS,
                 every: float = MIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dsn = dsn
        self._budget = budget
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._held: tuple[float, list[Metric]] | None = None
        self._audit_last_id = 0
        self._audit_rows = 0
        self._failures = 0
        self._up = True

    def describe(self) -> Iterable[Metric]:
        return []  # never read the database when the collector is registered

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = self._clock()
            if self._held is None or now >= self._held[0]:
                self._held = (now + self._every, self._read())
            return list(self._held[1])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _read(self) -> list[Metric]:
        started = time.perf_counter()
        families: list[Metric] = []
        try:
            families = self._sections(started + self._budget)
            up = True
        except (psycopg.Error, BudgetSpent) as exc:
            self._failures += 1
            self._drop_connection()
            if self._up:
                log.warning("métricas: no se pudo leer el estado de PostgreSQL (%s); se "
                            "informa prep_database_up 0", _first_line(exc))
            families, up = [], False
        self._up = up
        families.append(GaugeMetricFamily("prep_database_up", "1 when this scrape read the "
                                          "central's PostgreSQL within its budget",
                                          value=1 if up else 0))
        families.append(GaugeMetricFamily("prep_database_scrape_seconds", "Time the last "
                                          "reading of PostgreSQL for metrics took",
                                          value=time.perf_counter() - started))
        families.append(CounterMetricFamily("prep_database_scrape_failures", "Readings of "
                                            "PostgreSQL for metrics that failed or ran out "
                                            "of budget", value=self._failures))
        return families

    def _sections(self, deadline: float) -> list[Metric]:
        conn = self._connection()
        families: list[Metric] = []
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('statement_timeout', %s, true)",
                            (str(max(1, round(self._budget * 1000))),))
                in_recovery = bool(queries.scalar(cur, "SELECT pg_is_in_recovery()"))
                simulacro = queries.scalar(cur, "SELECT coalesce(bool_or(simulacro), "
                                                 "false) FROM installation")
                families.append(GaugeMetricFamily("prep_simulacro", "1 on a drill's central "
                                                  "(every corte says SIMULACRO)",
                                                  value=1 if simulacro else 0))
                sections = SECTIONS if in_recovery else (*SECTIONS, queries.replication)
                for section in sections:
                    if time.perf_counter() > deadline:
                        raise BudgetSpent(f"se agotaron los {self._budget:g} s de lectura")
                    families.extend(section(cur))
                families.append(self._audit(cur))
        finally:
            conn.rollback()
        return families

    def _audit(self, cur: queries.Cursor) -> Metric:
        """The audit chain's length, counting only the rows added since the last scrape
        (the chain is append-only; a national night's log is long)."""
        row = cur.execute(queries.AUDIT, (self._audit_last_id,)).fetchone()
        if row is not None and row[0]:
            self._audit_rows += int(row[0])
            self._audit_last_id = int(row[1])
        return CounterMetricFamily("prep_audit_events", "Events in the hash-chained audit "
                                   "log (the chain's length)", value=self._audit_rows)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._dsn, connect_timeout=CONNECT_SECONDS,
                                   application_name="prep-metricas")
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None
        # Counted again from the start on the next connection: it may be another server
        # (a promoted standby, a restored node).
        self._audit_last_id = self._audit_rows = 0


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
