"""The central's HTTPS API for stations (docs/protocol.md, "Endpoints").

aiohttp on the event loop for the network; every database call runs in a thread pool
(SQLAlchemy sync sessions), so a slow transaction never stalls other stations' requests.
Errors are JSON ``{"error","message"}`` with the message in Spanish for the operator.
"""

from __future__ import annotations

import asyncio
import faulthandler
import ipaddress
import json
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
from sqlalchemy.orm import Session
from zeroconf import InterfaceChoice

from central.api.advertise import AdvertiseError
from central.api.advertise import CentralAdvertiser
from central.api.advertise import Interfaces
from central.api.advertise import serve_label
from central.api.connections import GuardedSite
from central.api.enroll_limit import GLOBAL
from central.api.enroll_limit import Blocked
from central.api.http_common import CENTRAL
from central.api.http_common import Central
from central.api.http_common import body_chunks
from central.api.http_common import read_body
from central.api.http_common import signed_station
from central.api.refusals import source_of
from central.audit import audit
from central.audit.anomalies import record_refusal
from central.audit.anomalies import source_actor
from central.db.blobs import BlobTooLarge
from central.db.blobs import HashMismatch
from central.db.blobs import NotAnImage
from central.db.blobs import is_sha256
from central.db.engine import database_unreachable
from central.db.locks import DatabaseBusy
from central.node import ratelog
from central.node.config import DataDir
from central.node.config import Identity
from central.node.errors import ApiError
from central.node.errors import Refused
from central.pipeline.ingest import read_cursor
from central.stations.auth import SIGNATURE_HEADER
from central.stations.auth import STATION_HEADER
from central.stations.auth import SignedRequest
from central.stations.auth import authenticated_key
from central.stations.bundle import etag
from central.stations.bundle import parse_etag
from central.stations.bundle import station_bundle
from central.stations.enrollment import enroll
from central.stations.enrollment import read_enrollment
from prep.bundle import BUNDLE_PATH
from prep.linea import KNOWN_HEADER
from prep.linea import LINEA_PATH
from prep.linea import MAX_STATEMENT_BYTES
from prep.linea import Linea
from prep.linea import is_nonce
from prep.linea import sign_linea
from prep.logsetup import fields
from prep.protocol import CLOCK_HEADER
from prep.protocol import MAX_BATCH_BYTES
from prep.protocol import PROTOCOL_VERSION
from prep.protocol import TIMELINE_HEADER
from prep.records import RecordError
from prep.records import format_time
from prep.records import parse_time

#: On SIGTERM, requests in progress get this long to finish (then they are cancelled;
#: a station repeats what got no answer). aiohttp's default is 60 s.
SHUTDOWN_SECONDS = 10.0
#: A stop still going after this long writes every thread's stack to the log.
STOP_REPORT_SECONDS = 25.0
MAX_ENROLL_BYTES = 16 * 1024
OLD_PRIMARY_CODE = "old_primary"  # prep.station.client.OLD_PRIMARY

log = logging.getLogger("central.server")


def build_app(central: Central) -> web.Application:
    app = web.Application(client_max_size=MAX_BATCH_BYTES, middlewares=[_errors])
    app[CENTRAL] = central
    if central.timeline:
        app.on_response_prepare.append(_timeline_header)
    app.router.add_get("/v1/health", _health)
    app.router.add_get(LINEA_PATH, _linea)
    app.router.add_post("/v1/enroll", _limited(_enroll))
    app.router.add_put("/v1/blobs/{sha256}", _put_blob)
    app.router.add_post("/v1/batches", _post_batch)
    app.router.add_get("/v1/stations/{station}/cursor", _cursor)
    app.router.add_get(BUNDLE_PATH, _bundle)
    from central.api.work_api import add_work_routes  # capture/verification leases (issue 4)

    add_work_routes(app)
    from central.api.intake_api import add_intake_routes  # the CCV's intake panel (issue 6)

    add_intake_routes(app)
    from central.api.difusores_api import add_difusor_routes  # difusores' reports (issue 30)

    add_difusor_routes(app, _limited)  # its registration spends a code: same limits
    return app


async def _timeline_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[TIMELINE_HEADER] = str(request.app[CENTRAL].timeline)


async def _linea(request: web.Request) -> web.Response:
    """The node's timeline, signed for the station's nonce (:mod:`prep.linea`): what a
    station checks before it sends anything. A signed statement of a higher timeline
    that the station shows fences this node (:mod:`central.continuity.fencing`)."""
    central = request.app[CENTRAL]
    nonce = request.query.get("nonce")
    if not is_nonce(nonce):
        raise ApiError(400, "bad_nonce", "La consulta de línea de tiempo necesita un nonce "
                                         "de 32 dígitos hexadecimales.")
    assert nonce is not None
    fence = central.fence
    known = request.headers.get(KNOWN_HEADER)
    if fence is not None and known is not None and len(known) <= MAX_STATEMENT_BYTES:
        learned = await asyncio.to_thread(fence.learn, known.encode("ascii", "replace"))
        if learned is not None:
            log.error("%s", fence.message())
            detail = {"linea": fence.timeline, "linea_superior": learned.linea,
                      "nodo": learned.nodo}
            await central.run(_audit, central.engine, lambda session: audit.emit(
                session, "central_fenced", actor="central", detail=detail))
    linea = Linea(central.timeline, central.identity.node, nonce,
                  fence is None or not fence.fenced)
    return web.Response(body=sign_linea(central.identity.key, linea),
                        content_type="application/json")


def refuse_if_fenced(central: Central) -> None:
    """409 ``old_primary`` on a node that knows it was replaced: no receipt from it."""
    if central.fence is not None and central.fence.fenced:
        raise ApiError(409, OLD_PRIMARY_CODE, central.fence.message())


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
        await central.run(_audit, central.engine, lambda session: audit.emit(
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
        await central.run(_audit, central.engine, lambda session: audit.emit(
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


def _audit(engine: Engine, write: Callable[[Session], object]) -> None:
    with Session(engine) as session, session.begin():
        write(session)


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
            return _error_response(refused)
        log.warning("%s %s rechazado: %s", request.method, request.path, refused,
                    extra=fields(station=refused.station))
        try:
            await central.run(record_refusal, central.engine, refused)
        except SQLAlchemyError:
            # No refusal without its trace: the station retries and gets it recorded then.
            log.exception("no se pudo registrar el rechazo")
            return _error_response(ApiError(503, "database_unavailable", _DB_DOWN))
        return _error_response(refused)
    except ApiError as error:
        return _error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_ERRORS.get(exc.status, ("http_error", "Solicitud rechazada."))
        return _error_response(ApiError(exc.status, code, message))
    except DatabaseBusy as busy:
        # A lock held too long (a stuck corte, a rebuild): one line, no traceback; the
        # station sends the very same request again after Retry-After.
        log.warning("%s %s: %s", request.method, request.path, busy)
        response = _error_response(ApiError(503, "database_busy", str(busy)))
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
        return _error_response(ApiError(503, "database_unavailable", _DB_DOWN))
    except ConnectionResetError:
        # The station's link dropped mid-request (a flaky CATD line): nothing was kept
        # and the station retries; not an internal error for the control room's logs.
        log.info("%s %s: el equipo cortó la conexión", request.method, request.path)
        return _error_response(ApiError(400, "connection_lost", "Se perdió la conexión "
                                                                "durante el envío."))
    except Exception:
        log.exception("%s %s: error interno", request.method, request.path)
        return _error_response(ApiError(500, "internal", "Error interno del nodo central; "
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


def _error_response(error: ApiError) -> web.Response:
    response = web.json_response(error.to_json(), status=error.status,
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))
    if error.status == 408:  # the rest of a stalled body is not waited for
        response.force_close()
    return response


async def _health(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    await central.run(_ping, central.engine)
    return web.json_response({"status": "ok", "node": central.identity.node,
                              "version": PROTOCOL_VERSION,
                              "time": format_time(datetime.now(UTC))})


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _limited(handler: Handler) -> Handler:
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
            await central.run(_audit, central.engine, lambda session: audit.emit(
                session, "enrollment_rate_limited", actor=source_actor(blocked.scope),
                detail=detail))
        except SQLAlchemyError:
            log.error("no se pudo registrar en la bitácora el límite de intentos de alta")
    response = _error_response(ApiError(429, "too_many_attempts", message))
    response.headers["Retry-After"] = str(blocked.retry_after)
    return response


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minuto" if minutes == 1 else f"{minutes} minutos"


async def _put_blob(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    refuse_if_fenced(central)
    sha256 = request.match_info["sha256"]
    if not is_sha256(sha256):
        raise ApiError(400, "bad_sha256", "El identificador de la imagen no es un SHA-256 "
                                          "válido.")
    # The body must hash to the path's SHA-256, so the station signs that; the bytes are
    # checked against it as they arrive.
    signed = SignedRequest(request.headers.get(STATION_HEADER),
                           request.headers.get(SIGNATURE_HEADER), "PUT", request.path, sha256)
    station = signed.station_id()
    key = central.recent_keys.get(station)
    if key is None:
        read_at = central.recent_keys.clock()
        key = await central.run(authenticated_key, central.engine, signed)
        central.recent_keys.put(station, key, read_at)
    else:
        signed.verify(key, True)  # a bad signature is refused (and audited) as ever
    too_large = Refused(413, "blob_too_large", "La imagen excede el tamaño máximo de "
                        f"{central.blobs.max_bytes // (1024 * 1024)} MiB.",
                        event="blob_refused", actor=station,
                        detail={"sha256": sha256, "max_bytes": central.blobs.max_bytes})
    if (request.content_length or 0) > central.blobs.max_bytes:
        raise too_large
    declared = request.content_type if request.content_type.startswith("image/") else None
    try:
        stored = await central.blobs.receive(sha256, body_chunks(request), declared)
    except NotAnImage as exc:  # never stored, so never published (issue 36)
        raise Refused(415, "not_an_image", f"{exc.mensaje} El nodo central no la guardó; "
                      "vuelva a digitalizar el acta.", event="blob_refused", actor=station,
                      anomaly=True, station=station, detail={
                          "sha256": sha256, "motivo": exc.motivo, "bytes": exc.size,
                          "declared": declared}) from None
    except BlobTooLarge:
        raise too_large from None
    except HashMismatch as exc:
        raise Refused(400, "hash_mismatch", "La imagen llegó alterada (su huella SHA-256 no "
                      "coincide); el equipo la volverá a enviar.", event="blob_refused",
                      actor=station, detail={"sha256": sha256, "received_sha256": exc.actual,
                                             "bytes": exc.size}) from None
    return web.json_response({"sha256": sha256, "bytes": stored.bytes, "new": stored.new})


async def _post_batch(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    refuse_if_fenced(central)
    body = await read_body(request, MAX_BATCH_BYTES)
    receipt = await central.run(central.ingestor.ingest, body,
                                _station_clock(request.headers.get(CLOCK_HEADER)))
    return web.Response(body=receipt, content_type="application/json")


def _station_clock(header: str | None) -> datetime | None:
    """The station's clock from its request; unreadable or absent → None (not an error:
    the clock is only used to warn about skew)."""
    if header is None:
        return None
    try:
        return parse_time(header)
    except RecordError:
        return None


async def _cursor(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    station = await signed_station(request, "GET")
    if station != request.match_info["station"]:
        raise ApiError(403, "forbidden", "Un equipo solo puede consultar su propio cursor.")
    cursor = await central.run(read_cursor, central.engine, station)
    return web.json_response(cursor.to_json())


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


async def _last_refusals(central: Central) -> None:
    """Write what the refusal windows still hold, once no request runs any more."""
    try:
        await central.refusals.flush(central.engine, central.run, everything=True)
    except SQLAlchemyError:
        log.error("no se pudieron escribir los últimos resúmenes de rechazos sin firma")
