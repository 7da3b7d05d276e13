"""The central's HTTPS API for stations (docs/protocol.md, "Endpoints").

aiohttp on the event loop for the network; every database call runs in a thread pool
(SQLAlchemy sync sessions), so a slow transaction never stalls other stations' requests.
Errors are JSON ``{"error","message"}`` with the message in Spanish for the operator.
This module builds the application, its error middleware and the node's own health
answer, and serves it; each role's routes are a module beside it (``*_api.py``).
"""

from __future__ import annotations

import asyncio
import faulthandler
import ipaddress
import logging
import signal
import ssl
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

from aiohttp import web
from sqlalchemy import Engine
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from zeroconf import InterfaceChoice

from central.api.advertise import AdvertiseError
from central.api.advertise import CentralAdvertiser
from central.api.advertise import Interfaces
from central.api.advertise import serve_label
from central.api.connections import GuardedSite
from central.api.difusores_api import add_difusor_routes
from central.api.http_common import CENTRAL
from central.api.http_common import Central
from central.api.http_common import error_response
from central.api.http_common import write_audit
from central.api.intake_api import add_intake_routes
from central.api.stations_api import add_station_routes
from central.api.stations_api import limited
from central.api.sync_api import add_sync_routes
from central.api.work_api import add_work_routes
from central.audit import audit
from central.audit.anomalies import record_refusal
from central.db.engine import database_unreachable
from central.db.locks import DatabaseBusy
from central.node import ratelog
from central.node.config import DataDir
from central.node.config import Identity
from central.node.errors import ApiError
from central.node.errors import Refused
from prep.logsetup import fields
from prep.protocol import MAX_BATCH_BYTES
from prep.protocol import PROTOCOL_VERSION
from prep.protocol import TIMELINE_HEADER
from prep.records import format_time

#: On SIGTERM, requests in progress get this long to finish (then they are cancelled;
#: a station repeats what got no answer). aiohttp's default is 60 s.
SHUTDOWN_SECONDS = 10.0
#: A stop still going after this long writes every thread's stack to the log.
STOP_REPORT_SECONDS = 25.0

log = logging.getLogger("central.server")


def build_app(central: Central) -> web.Application:
    app = web.Application(client_max_size=MAX_BATCH_BYTES, middlewares=[_errors])
    app[CENTRAL] = central
    if central.timeline:
        app.on_response_prepare.append(_timeline_header)
    app.router.add_get("/v1/health", _health)
    add_sync_routes(app)  # linea, blobs, batches, cursor
    add_station_routes(app)  # enrollment, bundle
    add_work_routes(app)  # capture/verification leases (issue 4)
    add_intake_routes(app)  # the CCV's intake panel (issue 6)
    add_difusor_routes(app, limited)  # its registration spends a code: same limits (30)
    return app


async def _timeline_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[TIMELINE_HEADER] = str(request.app[CENTRAL].timeline)


def server_ssl_context(data_dir: DataDir) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(data_dir.cert, data_dir.tls_key)
    return context


async def serve(central: Central, data_dir: DataDir, host: str, port: int,
                on_listening: Callable[[str], None], mdns: Interfaces | None = None) -> None:
    """Serve until SIGTERM or SIGINT; call ``on_listening`` with the URL once bound and,
    with ``mdns`` (zeroconf's interface choice or IPs), once advertised there too. The
    advertisement is withdrawn before the listener closes. Raises
    :class:`~central.api.advertise.AdvertiseError` if it cannot be made."""
    # Floods must not turn into one log line (or traceback) each.
    ratelog.install()
    asyncio.get_running_loop().set_exception_handler(ratelog.loop_exception_handler())
    runner = web.AppRunner(build_app(central), handle_signals=False,
                           shutdown_timeout=SHUTDOWN_SECONDS,
                           keepalive_timeout=central.limits.idle_seconds)
    await runner.setup()
    advertiser: CentralAdvertiser | None = None
    flusher = asyncio.create_task(central.refusals.run_flusher(central.engine, central.run))
    try:
        site = GuardedSite(runner, host, port, server_ssl_context(data_dir), central.limits)
        await site.start()
        bound_port = runner.addresses[0][1]
        url = f"https://{host}:{bound_port}"
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if mdns is not None:
            advertiser = await _advertise(central.identity, host, bound_port, mdns)
        started = {"url": url, "cert_sha256": central.identity.cert_sha256,
                   "mdns": advertiser.name if advertiser is not None else None}
        await central.run(write_audit, central.engine, lambda session: audit.emit(
            session, "central_started", actor="central", detail=started))
        on_listening(url)
        await stop.wait()
        log.info("deteniendo el nodo central")
        # Should stopping ever hang, the log gets every thread's stack.
        faulthandler.dump_traceback_later(STOP_REPORT_SECONDS, exit=False)
        central.waiters.close()  # asks for work waiting at the central answer now
        if advertiser is not None:
            await advertiser.stop()  # stations stop finding it before it stops answering
        await site.stop()
        await central.refusals.flush(central.engine, central.run, everything=True)
        await central.run(write_audit, central.engine, lambda session: audit.emit(
            session, "central_stopped", actor="central", detail={"url": url}))
    finally:
        flusher.cancel()
        if advertiser is not None:
            await advertiser.stop()
        await runner.cleanup()
        await _last_refusals(central)
        central.executor.shutdown(wait=True)
        central.blobs.clean_tmp()  # a sibling serve's partial uploads, if it was killed
        faulthandler.cancel_dump_traceback_later()


async def _advertise(identity: Identity, host: str, port: int,
                     interfaces: Interfaces) -> CentralAdvertiser:
    """Start advertising the central listening on ``host``:``port``. A listener bound to
    one address is announced at that address only."""
    try:
        listening = ipaddress.ip_address(host)
    except ValueError:  # a host name: announce the interfaces' addresses
        listening = None
    addresses = None if listening is None or listening.is_unspecified else [host]
    if listening is not None and listening.is_loopback and (
            isinstance(interfaces, InterfaceChoice)
            or not all(ipaddress.ip_address(i).is_loopback for i in interfaces)):
        log.warning("se anuncia %s, donde escucha el nodo central: los equipos de otras "
                    "máquinas no podrán conectarse (use --host con la IP de la red)", host)
    # Each serve node is its own instance (machine name and port in its label): stations
    # see every node of the central and take those whose certificate they accept.
    advertiser = CentralAdvertiser(identity.node, port, identity.cert_sha256,
                                   interfaces=interfaces, addresses=addresses,
                                   label=serve_label(port))
    try:
        await advertiser.start()
    except OSError as exc:  # no such interface, multicast not possible…
        raise AdvertiseError(str(exc)) from exc
    return advertiser


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        central = request.app[CENTRAL]
        if refused.unsigned:  # counted by source, never attributed (central.api.refusals)
            await central.refusals.refuse(refused, request.remote, central.engine,
                                          central.run)
            return error_response(refused)
        log.warning("%s %s rechazado: %s", request.method, request.path, refused,
                    extra=fields(station=refused.station))
        try:
            await central.run(record_refusal, central.engine, refused)
        except SQLAlchemyError:
            # No refusal without its trace: the station retries and gets it recorded then.
            log.exception("no se pudo registrar el rechazo")
            return error_response(ApiError(503, "database_unavailable", _DB_DOWN))
        return error_response(refused)
    except ApiError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_ERRORS.get(exc.status, ("http_error", "Solicitud rechazada."))
        return error_response(ApiError(exc.status, code, message))
    except DatabaseBusy as busy:
        # A lock held too long (a stuck corte, a rebuild): one line, no traceback; the
        # station sends the very same request again after Retry-After.
        log.warning("%s %s: %s", request.method, request.path, busy)
        response = error_response(ApiError(503, "database_busy", str(busy)))
        response.headers["Retry-After"] = str(busy.retry_after)
        return response
    except SQLAlchemyError as exc:
        if database_unreachable(exc):
            # PostgreSQL down or restarting (central.db.embedded.Watchdog): a line, not a
            # traceback, and not one per request; the station retries the same request.
            throttle = request.app[CENTRAL].database_down_log
            skipped = throttle.due("postgresql")
            if skipped is not None:
                log.warning("%s", ratelog.quieted(
                    f"{request.method} {request.path}: PostgreSQL no disponible "
                    f"({_first_line(getattr(exc, 'orig', None) or exc)}); se responde 503 y "
                    f"los equipos reintentan", skipped, throttle.interval))
        else:
            log.exception("%s %s: error de base de datos", request.method, request.path)
        return error_response(ApiError(503, "database_unavailable", _DB_DOWN))
    except ConnectionResetError:
        # The station's link dropped mid-request (a flaky CATD line): nothing was kept
        # and the station retries; not an internal error for the control room's logs.
        log.info("%s %s: el equipo cortó la conexión", request.method, request.path)
        return error_response(ApiError(400, "connection_lost", "Se perdió la conexión "
                                                                "durante el envío."))
    except Exception:
        log.exception("%s %s: error interno", request.method, request.path)
        return error_response(ApiError(500, "internal", "Error interno del nodo central; "
                                                         "el equipo reintentará."))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


_DB_DOWN = "La base de datos del nodo central no responde; el equipo reintentará."
_HTTP_ERRORS = {
    404: ("not_found", "Esa dirección no existe en el nodo central."),
    405: ("method_not_allowed", "Método no permitido en esa dirección."),
    413: ("too_large", "La solicitud es demasiado grande."),
}


async def _health(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    await central.run(_ping, central.engine)
    return web.json_response({"status": "ok", "node": central.identity.node,
                              "version": PROTOCOL_VERSION,
                              "time": format_time(datetime.now(UTC))})


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _last_refusals(central: Central) -> None:
    """Write what the refusal windows still hold, once no request runs any more."""
    try:
        await central.refusals.flush(central.engine, central.run, everything=True)
    except SQLAlchemyError:
        log.error("no se pudieron escribir los últimos resúmenes de rechazos sin firma")
