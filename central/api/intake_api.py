"""``GET /v1/ccv/intake``: the PREP Casilla intake at a glance, for the CCV panel
(``docs/ccv.md``). Signed like every station request; only CCV stations may ask."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Engine
from sqlalchemy import text
from sqlalchemy.orm import Session

from central.api.http_common import CENTRAL
from central.api.http_common import signed_station
from central.db.estaciones import Station
from central.node.errors import ApiError
from central.pipeline.intake import ANOMALY
from prep.records import format_time

INTAKE_PATH = "/v1/ccv/intake"

_COUNTS = text("""
    SELECT count(*) AS aceptadas,
           count(*) FILTER (WHERE s.estado IN ('digitalizada', 'captura_1', 'captura_2',
                                               'verificacion')) AS en_captura,
           count(*) FILTER (WHERE s.estado = 'redigitalizacion') AS redigitalizacion,
           count(*) FILTER (WHERE s.estado = 'validada') AS validadas,
           count(*) FILTER (WHERE s.estado = 'validada'
                            AND s.validada_origen = 'CASILLA') AS validadas_con_foto
    FROM (SELECT DISTINCT clave_acta FROM acta_images WHERE origen = 'CASILLA') AS i
    JOIN acta_states AS s USING (clave_acta)
""")
_REJECTED = text("""
    SELECT detail->>'motivo' AS motivo, count(*) AS n FROM anomalies
    WHERE type = :type GROUP BY 1 ORDER BY 1
""")


def add_intake_routes(app: web.Application) -> None:
    app.router.add_get(INTAKE_PATH, _intake)


def intake_counts(engine: Engine) -> dict[str, Any]:
    """Actas that came as PREP Casilla photos, where they stand, and the files refused
    by reason (one REPEATABLE READ snapshot, so the numbers add up)."""
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(snapshot) as session, session.begin():
        counts = session.execute(_COUNTS).one()._asdict()
        rejected = {str(r.motivo): int(r.n)
                    for r in session.execute(_REJECTED, {"type": ANOMALY})}
    aceptadas = int(counts["aceptadas"])
    return {**{k: int(v) for k, v in counts.items()},
            "rechazadas": rejected, "total_rechazadas": sum(rejected.values()),
            "recibidas": aceptadas + sum(rejected.values()),
            "at": format_time(datetime.now(UTC))}


def _ccv_only(engine: Engine, station_id: str) -> None:
    with Session(engine) as session:
        station = session.get(Station, station_id)
    if station is None or station.role != "ccv":
        raise ApiError(403, "ccv_only", "Este panel es solo para los equipos del CCV.")


async def _intake(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    station_id = await signed_station(request, request.method)
    await central.run(_ccv_only, central.engine, station_id)
    return web.json_response(await central.run(intake_counts, central.engine))
