"""The night's state as Prometheus metric families, read from PostgreSQL.

Each function runs one or two constant, set-based statements on the cursor it is given
(inside :class:`central.node.metrics.database.DatabaseCollector`'s read-only transaction) and
returns metric families. Labels are bounded: an acta state, a kind of work, a station
(the enrolled ones: about 34), an anomaly type or a PREP Casilla reason (both declared
in TOML files), a difusor (a dozen), a standby's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

Cursor = psycopg.Cursor[Any]

#: Actas waiting for (or in) each kind of work, by the leases' queue conditions
#: (central.pipeline.leases): capture, verification, and validated actas not yet cotejadas.
_ACTAS = """
    SELECT estado, count(*),
           count(*) FILTER (WHERE estado = 'validada' AND cotejo_record IS NULL)
    FROM acta_states WHERE en_catalogo GROUP BY estado ORDER BY estado
"""
_CAPTURA = ("digitalizada", "captura_1", "captura_2")
_LEASES = """
    SELECT kind, count(*) FILTER (WHERE expires_at > now()),
           count(*) FILTER (WHERE expires_at <= now())
    FROM leases WHERE status = 'active' GROUP BY kind ORDER BY kind
"""
_STATIONS = """
    SELECT st.id, st.role, st.sitio, st.enabled,
           extract(epoch FROM coalesce(h.last_seen, st.last_seen_at)),
           h.backlog, h.backlog_bytes, h.clock_skew_seconds
    FROM stations AS st LEFT JOIN station_health AS h ON h.station = st.id
    ORDER BY st.id
"""
_LAST_CORTE = """
    SELECT (SELECT count(*) FROM cortes), extract(epoch FROM corte_at), seconds,
           actas_esperadas, actas_capturadas, actas_contabilizadas, fuera_de_catalogo,
           imagenes
    FROM cortes ORDER BY id DESC LIMIT 1
"""
_WINDOW = """
    SELECT extract(epoch FROM inicio), extract(epoch FROM fin),
           coalesce(now() BETWEEN inicio AND fin, false), ultimo_corte IS NOT NULL
    FROM publicacion
"""
_ANOMALIES = """
    SELECT type, count(*) FILTER (WHERE NOT acknowledged), count(*) FROM anomalies
    GROUP BY type ORDER BY type
"""
_CASILLA = """
    SELECT (SELECT count(*) FROM acta_images WHERE origen = 'CASILLA'),
           (SELECT count(DISTINCT clave_acta) FROM acta_images WHERE origen = 'CASILLA')
"""
_CASILLA_REJECTED = """
    SELECT coalesce(detail->>'motivo', 'desconocido'), count(*) FROM anomalies
    WHERE type = 'casilla_rechazada' GROUP BY 1 ORDER BY 1
"""
# The chain only grows: each scrape counts the rows after the last one it saw.
AUDIT = "SELECT count(*), max(id) FROM audit_log WHERE id > %s"
_REPLICATION = """
    SELECT application_name, state, sync_state,
           coalesce(extract(epoch FROM replay_lag), 0),
           pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)
    FROM pg_stat_replication ORDER BY application_name
"""
# How many cortes the central published after the one each difusor reports serving, and
# the seconds between that corte and the latest (as the control room shows it).
_DIFUSORES = """
    SELECT d.id, d.registrado_at IS NOT NULL, extract(epoch FROM d.reportado_at),
           coalesce(d.error, '') <> '',
           CASE WHEN c.id IS NOT NULL
                THEN (SELECT count(*) FROM cortes AS n WHERE n.id > c.id) END,
           extract(epoch FROM (SELECT max(corte_at) FROM cortes) - c.corte_at)
    FROM difusores AS d LEFT JOIN cortes AS c ON c.directorio = d.corte
    WHERE d.enabled ORDER BY d.id
"""


def actas(cur: Cursor) -> Iterator[Metric]:
    by_state = GaugeMetricFamily("prep_actas", "Catalog actas by pipeline state",
                                 labels=["estado"])
    queue = GaugeMetricFamily("prep_work_queue_depth", "Actas waiting for (or held in) "
                              "each kind of work: captura, verificacion, cotejo",
                              labels=["kind"])
    depth = {"captura": 0, "verificacion": 0, "cotejo": 0}
    for estado, count, sin_cotejo in cur.execute(_ACTAS):
        by_state.add_metric([estado], count)
        if estado in _CAPTURA:
            depth["captura"] += count
        elif estado == "verificacion":
            depth["verificacion"] += count
        depth["cotejo"] += sin_cotejo
    for kind, count in depth.items():
        queue.add_metric([kind], count)
    published = scalar(cur, "SELECT count(*) FROM actas_publicadas")
    yield by_state
    yield queue
    yield GaugeMetricFamily("prep_actas_published", "Actas a corte has published with "
                            "data", value=published)


def leases(cur: Cursor) -> Iterator[Metric]:
    held = GaugeMetricFamily("prep_leases_active", "Unexpired work leases, by kind",
                             labels=["kind"])
    overdue = GaugeMetricFamily("prep_leases_overdue", "Leases past their expiry that "
                                "nobody has taken over yet, by kind", labels=["kind"])
    for kind, live, late in cur.execute(_LEASES):
        held.add_metric([kind], live)
        overdue.add_metric([kind], late)
    yield held
    yield overdue


def stations(cur: Cursor) -> Iterator[Metric]:
    labels = ["station", "sitio", "role"]
    enabled = GaugeMetricFamily("prep_station_enabled", "1 for an enabled station, 0 for "
                                "one disabled", labels=labels)
    contact = GaugeMetricFamily("prep_station_last_contact_timestamp_seconds", "When the "
                                "station was last heard from (Unix time)", labels=labels)
    backlog = GaugeMetricFamily("prep_station_backlog_records", "Records the station "
                                "reported waiting to be sent (last heartbeat)", labels=labels)
    backlog_bytes = GaugeMetricFamily("prep_station_backlog_bytes", "Bytes the station "
                                      "reported waiting to be sent (last heartbeat)",
                                      labels=labels)
    skew = GaugeMetricFamily("prep_station_clock_skew_seconds", "The station's clock "
                             "minus the central's, at its last batch", labels=labels)
    for sid, role, sitio, on, seen, pending, pending_bytes, skew_s in cur.execute(_STATIONS):
        key = [sid, sitio, role]
        enabled.add_metric(key, 1 if on else 0)
        if seen is not None:
            contact.add_metric(key, float(seen))
        if pending is not None:
            backlog.add_metric(key, pending)
        if pending_bytes is not None:
            backlog_bytes.add_metric(key, pending_bytes)
        if skew_s is not None:
            skew.add_metric(key, skew_s)
    yield from (enabled, contact, backlog, backlog_bytes, skew)


def cortes(cur: Cursor) -> Iterator[Metric]:
    row = cur.execute(_LAST_CORTE).fetchone()
    yield CounterMetricFamily("prep_cortes_published", "Cortes the central has published "
                              "(every node, and prep central corte)",
                              value=row[0] if row else 0)
    if row is not None:
        _, at, seconds, esperadas, capturadas, contabilizadas, fuera, imagenes = row
        yield GaugeMetricFamily("prep_corte_last_timestamp_seconds", "Time of the last "
                                "published corte (its snapshot, Unix time)", value=float(at))
        yield GaugeMetricFamily("prep_corte_last_duration_seconds", "How long the last "
                                "published corte took", value=seconds)
        last = GaugeMetricFamily("prep_corte_last_actas", "What the last corte counted",
                                 labels=["count"])
        for name, value in (("esperadas", esperadas), ("capturadas", capturadas),
                            ("contabilizadas", contabilizadas),
                            ("fuera_de_catalogo", fuera), ("imagenes", imagenes)):
            last.add_metric([name], value)
        yield last
    window = cur.execute(_WINDOW).fetchone()
    if window is not None:
        inicio, fin, dentro, cerrada = window
        yield GaugeMetricFamily("prep_publication_window_open", "1 while the Consejo's "
                                "publication window is open and no último corte was made",
                                value=1 if dentro and not cerrada else 0)
        yield GaugeMetricFamily("prep_publication_closed", "1 once the último corte ended "
                                "the publication", value=1 if cerrada else 0)
        if inicio is not None and fin is not None:
            yield GaugeMetricFamily("prep_publication_window_start_timestamp_seconds",
                                    "Start of the publication window (Unix time)",
                                    value=float(inicio))
            yield GaugeMetricFamily("prep_publication_window_end_timestamp_seconds",
                                    "End of the publication window (Unix time)",
                                    value=float(fin))


def anomalies(cur: Cursor) -> Iterator[Metric]:
    open_ = GaugeMetricFamily("prep_anomalies_open", "Anomalies not yet acknowledged in "
                              "the control room, by type", labels=["type"])
    total = CounterMetricFamily("prep_anomalies", "Anomalies raised, by type",
                                labels=["type"])
    for kind, pending, count in cur.execute(_ANOMALIES):
        open_.add_metric([kind], pending)
        total.add_metric([kind], count)
    yield open_
    yield total


def casilla(cur: Cursor) -> Iterator[Metric]:
    row = cur.execute(_CASILLA).fetchone()
    images, actas_ = row if row else (0, 0)
    yield CounterMetricFamily("prep_casilla_images", "PREP Casilla photos accepted into "
                              "the pipeline", value=images)
    yield GaugeMetricFamily("prep_casilla_actas", "Actas with a PREP Casilla photo",
                            value=actas_)
    rejected = CounterMetricFamily("prep_casilla_rejected", "PREP Casilla files rejected "
                                   "(moved to rechazadas/), by reason", labels=["motivo"])
    for motivo, count in cur.execute(_CASILLA_REJECTED):
        rejected.add_metric([motivo], count)
    yield rejected


def replication(cur: Cursor) -> Iterator[Metric]:
    names = scalar(cur, "SELECT current_setting('synchronous_standby_names')")
    yield GaugeMetricFamily("prep_replication_synchronous", "1 when commits wait for a "
                            "synchronous standby (synchronous_standby_names is set)",
                            value=1 if names else 0)
    lag = GaugeMetricFamily("prep_replication_lag_seconds", "Replay lag of each standby "
                            "(0 when it is idle and caught up)", labels=["standby", "sync"])
    lag_bytes = GaugeMetricFamily("prep_replication_lag_bytes", "WAL bytes each standby "
                                  "has yet to replay", labels=["standby", "sync"])
    count = 0
    for name, state, sync, seconds, pending in cur.execute(_REPLICATION):
        count += state == "streaming"
        lag.add_metric([name, sync], float(seconds))
        if pending is not None:
            lag_bytes.add_metric([name, sync], float(pending))
    streaming = GaugeMetricFamily("prep_replication_standbys_streaming", "Standbys "
                                  "streaming from this PostgreSQL", value=count)
    yield from (streaming, lag, lag_bytes)


def difusores(cur: Cursor) -> Iterator[Metric]:
    label = ["difusor"]
    behind = GaugeMetricFamily("prep_difusor_reported_lag_cortes", "Cortes published "
                               "after the one each registered difusor reports serving",
                               labels=label)
    seconds = GaugeMetricFamily("prep_difusor_reported_lag_seconds", "Seconds between "
                                "the corte a difusor reports serving and the latest",
                                labels=label)
    report = GaugeMetricFamily("prep_difusor_last_report_timestamp_seconds", "When each "
                               "difusor last reported (Unix time)", labels=label)
    failing = GaugeMetricFamily("prep_difusor_reported_error", "1 when a difusor's last "
                                "report was an error", labels=label)
    for did, registered, reported, error, cortes_, lag in cur.execute(_DIFUSORES):
        if not registered:
            continue
        failing.add_metric([did], 1 if error else 0)
        if reported is not None:
            report.add_metric([did], float(reported))
        if cortes_ is not None:
            behind.add_metric([did], cortes_)
            seconds.add_metric([did], float(lag or 0))
    yield from (behind, seconds, report, failing)


def scalar(cur: Cursor, statement: str) -> Any:
    row = cur.execute(statement).fetchone()  # constant statements only
    return row[0] if row else None
