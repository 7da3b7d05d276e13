"""The work endpoints of the central's API (``docs/pipeline.md``, "Work API").

``POST /v1/work/next``, ``POST /v1/work/{lease}/renew|release`` and ``GET
/v1/blobs/{sha256}`` (an image a lease points at, so a station can prefetch it). All
carry the signed station headers, like the other station requests.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from central.api.http_common import CENTRAL
from central.api.http_common import read_body
from central.api.http_common import send_file
from central.api.http_common import signed_station
from central.api.work_wait import Waited
from central.db.blobs import is_sha256
from central.node.errors import ApiError
from central.pipeline.leases import COTEJO
from central.pipeline.leases import MAX_REQUEST_BYTES
from central.pipeline.leases import WorkRequest
from central.pipeline.leases import next_work
from central.pipeline.leases import release
from central.pipeline.leases import release_volver
from central.pipeline.leases import renew
from central.stations.auth import SIGNATURE_HEADER
from central.stations.auth import STATION_HEADER
from central.stations.auth import SignedRequest
from prep.canonical import sha256_hex

WORK_PATH = "/v1/work"


def add_work_routes(app: web.Application) -> None:
    app.router.add_post(f"{WORK_PATH}/next", _next)
    app.router.add_post(WORK_PATH + "/{lease}/renew", _renew)
    app.router.add_post(WORK_PATH + "/{lease}/release", _release)
    app.router.add_get("/v1/blobs/{sha256}", _get_blob)


def _signed(request: web.Request, body: bytes) -> SignedRequest:
    """The request's signature headers; checked inside the work's own transaction."""
    return SignedRequest(request.headers.get(STATION_HEADER),
                         request.headers.get(SIGNATURE_HEADER), request.method,
                         request.path, sha256_hex(body))


async def _next(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    body = await read_body(request, MAX_REQUEST_BYTES)
    signed = _signed(request, body)
    station = signed.station_id()  # missing headers: 401 before anything else
    work = WorkRequest.parse(body)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + work.espera
    key = (station, work.operator)

    def connected() -> bool:
        return request.transport is not None and not request.transport.is_closing()
    woken, first = False, True
    while True:
        # Every ask is checked in full (signature, operator, station enabled), the
        # first and each one after a wait; the first spends the request's nonce.
        made = central.waiters.made(work.kind)
        leases, site, capped = await central.run(next_work, central.engine, signed, work,
                                                 central.lease_time, first=first)
        first = False
        if not leases and woken:
            # Woken for work this operator may not take (or another took it first):
            # the next waiter gets the chance.
            central.waiters.pass_on(work.kind, site, key)
        left = deadline - loop.time()
        # At its cap, only the operator's own records free room: no point waiting here.
        # Cotejo work is answered at once: nobody is woken for it (the operator checks
        # published actas at their own pace).
        if leases or capped or left <= 0 or central.waiters.closed or not connected() \
                or work.kind == COTEJO:
            return web.json_response({"leases": leases})
        waited = await central.waiters.wait(work.kind, site, left, since=made, key=key,
                                            alive=connected)
        if waited is Waited.ENDED:
            return web.json_response({"leases": []})
        woken = waited is Waited.WOKEN


async def _renew(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    signed = _signed(request, await read_body(request, MAX_REQUEST_BYTES))
    return web.json_response(await central.run(renew, central.engine, signed,
                                               request.match_info["lease"],
                                               central.lease_time))


async def _release(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    body = await read_body(request, MAX_REQUEST_BYTES)
    signed = _signed(request, body)
    return web.json_response(await central.run(release, central.engine, signed,
                                               request.match_info["lease"],
                                               release_volver(body)))


async def _get_blob(request: web.Request) -> web.StreamResponse:
    central = request.app[CENTRAL]
    sha256 = request.match_info["sha256"]
    station = await signed_station(request, request.method)
    if not is_sha256(sha256) or not central.blobs.exists(sha256):
        raise ApiError(404, "unknown_blob", "Esa imagen no está en el nodo central.")
    return await send_file(request, central.blobs.path(sha256), f"la estación {station}")
