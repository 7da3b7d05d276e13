"""The station health table the control-room dashboard reads (``station_health``).

Ingest calls :func:`note_batch` inside each batch's transaction: every batch refreshes
when the station was last heard from, its last batch and its clock skew (from
``X-Prep-Clock``); a heartbeat record in it also sets the software version, the backlog
and the last error the station reported. The bundle endpoint notes which bundle
version the station holds (:func:`note_bundle`). ``prep central stations`` prints
:func:`station_table`.
"""

from __future__ import annotations

import functools
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import cast

from sqlalchemy import Engine
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit.audited_builds import check_station_build
from central.catalog import catalog_store
from central.db.estaciones import Station
from central.db.estaciones import StationHealth
from central.stations.operators import operators_version
from prep.protocol import Batch
from prep.records import Kind
from prep.records import format_time

_HEALTH = cast(Table, StationHealth.__table__)


def note_batch(session: Session, batch: Batch, received_at: datetime,
               station_clock: datetime | None) -> None:
    """Upsert the station's health row from one accepted batch (ingest's transaction)."""
    values: dict[str, Any] = {"station": batch.station, "last_seen": received_at,
                              "last_batch": batch.number}
    if station_clock is not None:
        values["clock_skew_seconds"] = round((station_clock - received_at).total_seconds(), 3)
    heartbeat = next((r for r in reversed(batch.records) if r.kind is Kind.HEARTBEAT), None)
    if heartbeat is not None:
        body = heartbeat.body
        build = body.get("build")
        values.update(heartbeat_at=heartbeat.at, version=body["version"],
                      backlog=body["backlog"], backlog_bytes=body["backlog_bytes"],
                      last_error=body["last_error"] or None,
                      build=build if isinstance(build, str) else None)
        check_station_build(session, batch.station, values["build"])
    _upsert(session, values)


def note_bundle(engine: Engine, station_id: str, version: int) -> None:
    """The station now holds bundle ``version`` (it was sent, or it said it has it)."""
    with Session(engine) as session, session.begin():
        _upsert(session, {"station": station_id, "bundle_version": version,
                          "bundle_at": datetime.now(UTC)})


def station_table(session: Session) -> list[dict[str, Any]]:
    """Every enrolled station with its health, for the dashboard (JSON-ready)."""
    current = catalog_store.current_version(session) + operators_version(session)
    rows = session.execute(select(Station, StationHealth)
                           .outerjoin(StationHealth, StationHealth.station == Station.id)
                           .order_by(Station.sitio, Station.id))
    table = []
    for station, health in rows:
        h = health or StationHealth()
        table.append({
            "station": station.id, "role": station.role, "sitio": station.sitio,
            "hostname": station.hostname, "enabled": station.enabled,
            "enrolled_at": _time(station.enrolled_at), "last_seen": _time(h.last_seen),
            "heartbeat_at": _time(h.heartbeat_at), "version": h.version, "build": h.build,
            "backlog": h.backlog, "backlog_bytes": h.backlog_bytes,
            "last_error": h.last_error, "clock_skew_seconds": h.clock_skew_seconds,
            "last_batch": h.last_batch if h.last_batch is not None else station.last_batch,
            "bundle_version": h.bundle_version, "bundle_at": _time(h.bundle_at),
            "bundle_current": h.bundle_version == current})
    return table


def _upsert(session: Session, values: dict[str, Any]) -> None:
    session.execute(_upsert_of(frozenset(values)), values)


@functools.lru_cache(maxsize=16)
def _upsert_of(columns: frozenset[str]) -> Insert:
    """The upsert of the health row's ``columns`` (a handful of sets, one per kind of
    call): built once each, since every batch makes one."""
    statement = insert(_HEALTH)
    return statement.on_conflict_do_update(
        index_elements=[_HEALTH.c.station],
        set_={k: statement.excluded[k] for k in sorted(columns) if k != "station"})


def _time(value: datetime | None) -> str | None:
    return format_time(value) if value is not None else None
