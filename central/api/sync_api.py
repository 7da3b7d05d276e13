"""The sync agent's requests (docs/protocol.md, "Endpoints"; :mod:`prep.station.sync`):
``GET /v1/linea`` (the node's timeline, signed for the station's nonce, checked before
anything is sent), ``PUT /v1/blobs/{sha256}`` (an image, re-hashed as it arrives),
``POST /v1/batches`` (a signed batch, :mod:`central.pipeline.ingest`) and ``GET
/v1/stations/{station}/cursor`` (what the central holds of a station). A node that knows
it was replaced answers none of the writes (:func:`refuse_if_fenced`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiohttp import web

from central.api.http_common import CENTRAL
from central.api.http_common import Central
from central.api.http_common import body_chunks
from central.api.http_common import read_body
from central.api.http_common import signed_station
from central.api.http_common import write_audit
from central.audit import audit
from central.db.blobs import BlobTooLarge
from central.db.blobs import HashMismatch
from central.db.blobs import NotAnImage
from central.db.blobs import is_sha256
from central.node.errors import ApiError
from central.node.errors import Refused
from central.pipeline.ingest import read_cursor
from central.stations.auth import SIGNATURE_HEADER
from central.stations.auth import STATION_HEADER
from central.stations.auth import SignedRequest
from central.stations.auth import authenticated_key
from prep.linea import KNOWN_HEADER
from prep.linea import LINEA_PATH
from prep.linea import MAX_STATEMENT_BYTES
from prep.linea import Linea
from prep.linea import is_nonce
from prep.linea import sign_linea
from prep.protocol import CLOCK_HEADER
from prep.protocol import MAX_BATCH_BYTES
from prep.records import RecordError
from prep.records import parse_time

OLD_PRIMARY_CODE = "old_primary"  # prep.station.client.OLD_PRIMARY

log = logging.getLogger("central.server")


def add_sync_routes(app: web.Application) -> None:
    app.router.add_get(LINEA_PATH, _linea)
    app.router.add_put("/v1/blobs/{sha256}", _put_blob)
    app.router.add_post("/v1/batches", _post_batch)
    app.router.add_get("/v1/stations/{station}/cursor", _cursor)


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
            await central.run(write_audit, central.engine, lambda session: audit.emit(
                session, "central_fenced", actor="central", detail=detail))
    linea = Linea(central.timeline, central.identity.node, nonce,
                  fence is None or not fence.fenced)
    return web.Response(body=sign_linea(central.identity.key, linea),
                        content_type="application/json")


def refuse_if_fenced(central: Central) -> None:
    """409 ``old_primary`` on a node that knows it was replaced: no receipt from it."""
    if central.fence is not None and central.fence.fenced:
        raise ApiError(409, OLD_PRIMARY_CODE, central.fence.message())


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
