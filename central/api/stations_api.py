"""A station's enrollment and its signed bundle (docs/protocol.md, "Endpoints"):
``POST /v1/enroll`` spends a one-time code with the station's public key
(:mod:`central.stations.enrollment`), behind the limits on failed attempts
(:func:`limited`, :mod:`central.api.enroll_limit`); ``GET /v1/station/bundle`` hands a
station its catalog, accounts and serve nodes (:mod:`central.stations.bundle`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from central.api.enroll_limit import GLOBAL
from central.api.enroll_limit import Blocked
from central.api.http_common import CENTRAL
from central.api.http_common import Central
from central.api.http_common import error_response
from central.api.http_common import read_body
from central.api.http_common import signed_station
from central.api.http_common import write_audit
from central.api.refusals import source_of
from central.audit import audit
from central.audit.anomalies import source_actor
from central.node.errors import ApiError
from central.stations.bundle import etag
from central.stations.bundle import parse_etag
from central.stations.bundle import station_bundle
from central.stations.enrollment import enroll
from central.stations.enrollment import read_enrollment
from prep.bundle import BUNDLE_PATH

MAX_ENROLL_BYTES = 16 * 1024

log = logging.getLogger("central.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_station_routes(app: web.Application) -> None:
    app.router.add_post("/v1/enroll", limited(_enroll))
    app.router.add_get(BUNDLE_PATH, _bundle)


def limited(handler: Handler) -> Handler:
    """``handler`` behind the limits on failed attempts (:mod:`central.api.enroll_limit`): a
    station's enrollment and a difusor's registration spend the same kind of one-time
    code, so their failures count together, per source and in all."""
    async def limited(request: web.Request) -> web.StreamResponse:
        central = request.app[CENTRAL]
        admitted = central.enroll_limiter.admit(source_of(request.remote))
        if isinstance(admitted, Blocked):
            return await _enroll_blocked(central, admitted)
        try:
            response = await handler(request)
        except ApiError as error:
            if error.status >= 500:
                central.enroll_limiter.forgive(admitted)
            raise
        except BaseException:  # a database error, a dropped link: not the sender's failure
            central.enroll_limiter.forgive(admitted)
            raise
        central.enroll_limiter.forgive(admitted)
        return response
    return limited


async def _enroll(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    body = await read_body(request, MAX_ENROLL_BYTES)
    code, hostname, public_key = read_enrollment(
        body, MAX_ENROLL_BYTES, "code", "La solicitud de alta está incompleta o mal formada.")
    enrolled = await central.run(enroll, central.engine, code, public_key, hostname)
    identity = central.identity
    return web.json_response({"station_id": enrolled.station_id, "role": enrolled.role,
                              "sitio": enrolled.sitio, "node": identity.node,
                              "central_key": identity.key.public.b64(),
                              "cert_sha256": identity.cert_sha256})


async def _enroll_blocked(central: Central, blocked: Blocked) -> web.Response:
    """The 429 of an enrollment attempt past a limit (:mod:`central.api.enroll_limit`),
    audited once per block."""
    minutes = _minutes(blocked.retry_after)
    if blocked.scope == GLOBAL:
        message = (f"El nodo central está recibiendo demasiados intentos de alta fallidos y "
                   f"por ahora no acepta más. Espere {minutes} y vuelva a intentarlo; si se "
                   "repite, avise al coordinador.")
    else:
        message = (f"Hubo demasiados intentos de alta fallidos desde este equipo o su red. "
                   f"Espere {minutes} y vuelva a intentarlo con el código completo; si no "
                   "lo tiene o ya venció, pida uno nuevo al coordinador.")
    if blocked.audit:
        limits = central.enroll_limiter.limits
        detail = {"scope": "global" if blocked.scope == GLOBAL else "origen",
                  "source": blocked.scope, "failures": blocked.failures,
                  "limit": limits.total if blocked.scope == GLOBAL else limits.per_source,
                  "window_seconds": round(limits.window), "retry_after": blocked.retry_after,
                  "refused_before": blocked.refused_before}
        log.warning("altas limitadas (%s): %d intentos fallidos en %.0f s; se rechazan "
                    "por %d s", blocked.scope, blocked.failures, limits.window,
                    blocked.retry_after)
        try:
            await central.run(write_audit, central.engine, lambda session: audit.emit(
                session, "enrollment_rate_limited", actor=source_actor(blocked.scope),
                detail=detail))
        except SQLAlchemyError:
            log.error("no se pudo registrar en la bitácora el límite de intentos de alta")
    response = error_response(ApiError(429, "too_many_attempts", message))
    response.headers["Retry-After"] = str(blocked.retry_after)
    return response


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minuto" if minutes == 1 else f"{minutes} minutos"


async def _bundle(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    station = await signed_station(request, "GET")
    answer = await central.run(station_bundle, central.engine, central.identity, station,
                               parse_etag(request.headers.get("If-None-Match")),
                               central.timeline)
    headers = {"ETag": etag(answer.etag)}
    if answer.body is None:
        return web.Response(status=304, headers=headers)
    response = web.Response(body=answer.body, content_type="application/json", headers=headers)
    response.enable_compression()  # catalog CSVs shrink several times over a CATD link
    return response
