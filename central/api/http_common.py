"""What the API's route modules share: the :class:`Central` every handler reaches
through ``request.app[CENTRAL]``, the request body read with a size limit and an idle
timeout, the JSON answer of a refusal and an audit event written on its own.
:mod:`central.api.server` builds the application and serves it; the route modules
(``central/api/*_api.py``, one per role) add their routes to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import ParamSpec
from typing import TypeVar

from aiohttp import web
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.api.connections import ConnectionLimits
from central.api.enroll_limit import EnrollmentLimiter
from central.api.enroll_limit import EnrollmentLimits
from central.api.refusals import WINDOW_SECONDS
from central.api.refusals import UnsignedRefusals
from central.api.work_wait import WorkWaiters
from central.continuity.fencing import Fence
from central.db.blobs import BlobStore
from central.node.config import DataDir
from central.node.config import Identity
from central.node.errors import ApiError
from central.node.ratelog import Throttle
from central.pipeline.ingest import Ingestor
from central.pipeline.leases import DEFAULT_LEASE_TIME
from central.stations.auth import SIGNATURE_HEADER
from central.stations.auth import STATION_HEADER
from central.stations.auth import RecentKeys
from central.stations.auth import authenticate
from prep.canonical import sha256_hex

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = 8
log = logging.getLogger("central.http")
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Central:
    """What the request handlers share: identity, database, blobs, the worker pool."""

    identity: Identity
    engine: Engine
    blobs: BlobStore
    ingestor: Ingestor
    executor: ThreadPoolExecutor
    # Asks for work waiting; the ingestor wakes them (no default: a second instance
    # would be one that no batch ever wakes).
    waiters: WorkWaiters
    lease_time: timedelta = DEFAULT_LEASE_TIME  # work leases (central.pipeline.leases)
    recent_keys: RecentKeys = field(default_factory=RecentKeys)  # image uploads' keys
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)  # connections
    refusals: UnsignedRefusals = field(default_factory=UnsignedRefusals)  # by source
    #: Failed enrollment attempts per source and in all (central.api.enroll_limit).
    enroll_limiter: EnrollmentLimiter = field(default_factory=EnrollmentLimiter)
    #: The PostgreSQL timeline of the database served, on every answer
    #: (:data:`prep.protocol.TIMELINE_HEADER`; 0: not said): stations never send to a
    #: node of an older timeline than one they worked with (a replaced primary).
    timeline: int = 0
    #: What this node knows of a higher timeline (central.continuity.fencing); None:
    #: nothing is checked (tests that serve no PostgreSQL of their own).
    fence: Fence | None = None
    #: When a request answered 503 because PostgreSQL cannot be reached gets a log line:
    #: the first, then one a minute with how many were not logged (an outage of a few
    #: seconds, every station retrying, wrote thousands of identical lines).
    database_down_log: Throttle = field(default_factory=Throttle)

    @classmethod
    def open(cls, data_dir: DataDir, identity: Identity, engine: Engine,
             lease_time: timedelta = DEFAULT_LEASE_TIME,
             limits: ConnectionLimits | None = None,
             refusal_window: float = WINDOW_SECONDS, timeline: int = 0,
             enroll_limits: EnrollmentLimits | None = None) -> Central:
        blobs = BlobStore(data_dir.blobs, engine=engine)  # images replicated too (0018)
        waiters = WorkWaiters()
        return cls(identity, engine, blobs,
                   Ingestor(engine, identity, blobs, on_work=waiters.wake_threadsafe),
                   ThreadPoolExecutor(WORKERS, thread_name_prefix="central-db"), waiters,
                   lease_time, limits=limits or ConnectionLimits(),
                   refusals=UnsignedRefusals(refusal_window), timeline=timeline,
                   fence=Fence(data_dir.root, timeline, identity.key.public)
                   if timeline else None,
                   enroll_limiter=EnrollmentLimiter(enroll_limits))

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking ``fn`` (database work) in the worker pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))


CENTRAL = web.AppKey("central", Central)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole request body, refusing (413) past ``limit`` without reading it all."""
    if (request.content_length or 0) > limit:
        raise ApiError(413, "too_large", f"La solicitud excede {limit // 1024} KiB.")
    data = bytearray()
    async for chunk in body_chunks(request):
        data += chunk
        if len(data) > limit:
            raise ApiError(413, "too_large", f"La solicitud excede {limit // 1024} KiB.")
    return bytes(data)



async def signed_station(request: web.Request, method: str) -> str:
    """The station that signed ``request`` (a body of 1 KiB at most, signed as a
    ``method`` of its path), checked; refused otherwise."""
    central = request.app[CENTRAL]
    return await central.run(authenticate, central.engine,
                             request.headers.get(STATION_HEADER),
                             request.headers.get(SIGNATURE_HEADER), method, request.path,
                             sha256_hex(await read_body(request, 1024)))

async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The request body as it arrives, refusing (408) a client that sends nothing for
    :attr:`ConnectionLimits.body_idle_seconds`: a body trickled byte by byte must not
    hold a connection (and a descriptor) for ever."""
    idle = request.app[CENTRAL].limits.body_idle_seconds
    while True:
        try:
            async with asyncio.timeout(idle):
                chunk = await request.content.read(CHUNK)
        except TimeoutError:
            raise ApiError(408, "timeout", "La solicitud tardó demasiado en llegar; el "
                                           "equipo la reintentará.") from None
        if not chunk:
            return
        yield chunk


async def send_file(request: web.Request, path: Path, who: str) -> web.StreamResponse:
    """``path`` to the client in :data:`CHUNK` pieces read off the event loop.

    Not aiohttp's ``FileResponse``: over TLS it falls back from ``sendfile`` to asyncio's
    own copy loop, which logs «SSL connection is closed» for every piece written after
    the client left and then an ``AttributeError`` traceback (``_set_app_protocol``):
    hundreds of lines per station killed mid-download. A client leaving early (``who``:
    a killed station, a cut link) is normal on election night: one line, at INFO."""
    size = (await asyncio.to_thread(path.stat)).st_size
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = size
    sent = 0
    try:
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        with await asyncio.to_thread(path.open, "rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK):
                await response.write(chunk)
                sent += len(chunk)
    except ConnectionError:  # aiohttp's ClientConnectionResetError is one
        log.info("%s cerró la conexión a mitad de la descarga de %s (%d de %d bytes)",
                 who, path.name, sent, size)
    return response


def write_audit(engine: Engine, write: Callable[[Session], object]) -> None:
    """Run ``write`` (an audit event) in a transaction of its own."""
    with Session(engine) as session, session.begin():
        write(session)


def error_response(error: ApiError) -> web.Response:
    """The JSON answer ``{"error", "message"}`` of a refusal."""
    response = web.json_response(error.to_json(), status=error.status,
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))
    if error.status == 408:  # the rest of a stalled body is not waited for
        response.force_close()
    return response
