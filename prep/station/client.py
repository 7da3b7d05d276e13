"""HTTP calls from a station to the central node (docs/protocol.md, "Endpoints").

One :class:`CentralClient` per sync run, used from the sync agent's event loop only.
TLS is pinned (:mod:`prep.station.tls`); requests other than batches carry the signed
headers ``X-Prep-Station`` and ``X-Prep-Signature``. Network trouble becomes a
retryable :class:`SyncError` and a refusal of the station itself (403
``unknown_station``, whatever the request) a :class:`StationDisabledError`; deciding
what any other HTTP status means is the agent's job.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from collections.abc import AsyncIterator
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any
from typing import Protocol
from typing import Self

import aiohttp

from prep.bundle import BUNDLE_PATH
from prep.canonical import sha256_hex
from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.linea import KNOWN_HEADER
from prep.linea import LINEA_PATH
from prep.linea import Linea
from prep.linea import LineaError
from prep.linea import new_nonce
from prep.linea import parse_header
from prep.linea import verify_linea
from prep.protocol import CLOCK_HEADER
from prep.protocol import TIMELINE_HEADER
from prep.protocol import request_message
from prep.records import format_time
from prep.station.crash import armed
from prep.station.crash import crash_point
from prep.station.errors import StationDisabledError
from prep.station.errors import SyncError
from prep.station.nodes import held_linea
from prep.station.store import StationIdentity
from prep.station.store import Store
from prep.station.store import system_clock
from prep.station.tls import SPOOF_CODE
from prep.station.tls import is_certificate_failure
from prep.station.tls import pinned_context
from prep.station.tls import spoof_leaf_message
from prep.station.tls import spoof_list_message
from prep.station.tls import spoof_message

BATCHES_PATH = "/v1/batches"
UNKNOWN_STATION = "unknown_station"
OLD_PRIMARY = "old_primary"  # a central of an older timeline answered (TimelineFence)
UNCONFIRMED = "timeline_unconfirmed"  # no signed timeline from the node (prep.linea)
BEYOND_LIST = "timeline_beyond_list"  # a signed timeline the held node list does not allow
"""The central's error code for a request signed by a station it does not accept
(never enrolled, or disabled by a coordinator)."""

# Before CPython 3.12.8/3.13.1 a TLS connection closed while its peer is slow to answer
# (a request cancelled when the agent stops) outlives the event loop; aiohttp then
# aborts such transports when the session closes.
_SSL_CLOSE_LEAKS = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)


class WorkApi(Protocol):
    """What an operator's work needs from a central (:mod:`prep.station.work`, the CCV
    intake panel): a :class:`CentralClient`, or a training station's in-process
    practice central (:mod:`prep.capacitacion.central`), which no network reaches."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    async def work(self, path: str, payload: dict[str, Any] | None = None,
                   longer: float = 0.0) -> tuple[int, Any]: ...

    async def get_json(self, path: str) -> tuple[int, Any]: ...

    async def get_blob(self, sha256: str) -> tuple[int, bytes]: ...


class CentralClient:
    """A pinned HTTPS session to one central URL (``trust_pem``: the certificates it
    accepts, ``pins`` of them; default the one pinned at enrollment)."""

    def __init__(self, identity: StationIdentity, key: SigningKey, url: str,
                 timeout: float = 30.0, connections: int = 4,
                 clock: Callable[[], datetime] = system_clock,
                 fence: TimelineFence | None = None, trust_pem: str | None = None,
                 pins: int = 1, leaf_sha256: str | None = None) -> None:
        self.identity = identity
        # The certificates this station accepts: the one pinned at enrollment, or every
        # node of the signed list (prep.station.nodes).
        self.trust_pem = trust_pem or identity.cert_pem
        self._pins = pins
        # The one certificate this URL must present (the signed list pins each node's
        # own certificate to its own URL); None: any of trust_pem (a node found by mDNS).
        self.leaf_sha256 = leaf_sha256
        self.clock = clock
        self.fence = fence
        self.key = key
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._connections = connections
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> CentralClient:
        tls: ssl.SSLContext | aiohttp.Fingerprint = (
            aiohttp.Fingerprint(bytes.fromhex(self.leaf_sha256)) if self.leaf_sha256
            else pinned_context(self.trust_pem))
        connector = aiohttp.TCPConnector(ssl=tls,
                                         limit=self._connections + 1,
                                         enable_cleanup_closed=_SSL_CLOSE_LEAKS)
        self._http = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def post_batch(self, body: bytes) -> tuple[int, bytes]:
        """Send a batch's stored request body exactly as it is."""
        # The station's clock as it sends, so the central measures skew now, not from
        # record times that may be hours old after an outage.
        return await self._request("POST", BATCHES_PATH, body,
                                   {"Content-Type": "application/json",
                                    CLOCK_HEADER: format_time(self.clock())})

    async def put_blob(self, sha256: str, data: bytes) -> tuple[int, bytes]:
        """Upload an image (its SHA-256 is the hash the signature covers)."""
        path = f"/v1/blobs/{sha256}"
        headers = self._signed("PUT", path, sha256)
        headers["Content-Type"] = "application/octet-stream"
        payload: bytes | AsyncIterator[bytes] = data
        if armed("mid_blob_upload"):
            headers["Content-Length"] = str(len(data))
            payload = _halves_then_crash(data)
        return await self._request("PUT", path, payload, headers)

    async def confirm_timeline(self) -> Linea:
        """Ask the node its timeline, signed for a fresh nonce, before sending it anything
        (:mod:`prep.linea`); the station's :class:`TimelineFence` decides. Shows the node
        the highest signed statement this station holds, so a replaced primary learns it
        was replaced. Raises :class:`SyncError` when the node cannot prove a current
        timeline."""
        nonce = new_nonce()
        headers: dict[str, str] = {}
        known = self.fence.store.timeline_statement() if self.fence is not None else None
        if known is not None:
            headers[KNOWN_HEADER] = known.decode("ascii")
        status, body = await self._request("GET", f"{LINEA_PATH}?nonce={nonce}", None,
                                           headers)
        try:
            if status != 200:
                raise LineaError(f"HTTP {status}")
            linea = verify_linea(body, self.identity.central_key, nonce)
        except LineaError as exc:
            raise SyncError(UNCONFIRMED, (
                f"El servidor en {self.url} no demostró con la firma del nodo central en qué "
                f"línea de tiempo está ({exc}). La estación no le envía nada y lo reintentará; "
                "si se repite, avise a su coordinador."), retry=True) from None
        if self.fence is not None:
            self.fence.confirm(linea, body, self.url)
        return linea

    async def cursor(self) -> tuple[int, Any]:
        """``GET /v1/stations/{id}/cursor``: the central's last batch of this station."""
        return await self.get_json(f"/v1/stations/{self.identity.station_id}/cursor")

    async def bundle(self, held_etag: str | None) -> tuple[int, bytes]:
        """``GET /v1/station/bundle``: 304 (empty) when the bundle held (its content
        hash, ``held_etag``) is the central's now."""
        headers = self._signed("GET", BUNDLE_PATH, sha256_hex(b""))
        if held_etag is not None:
            headers["If-None-Match"] = f'"{held_etag}"'
        return await self._request("GET", BUNDLE_PATH, None, headers)

    async def work(self, path: str, payload: dict[str, Any] | None = None,
                   longer: float = 0.0) -> tuple[int, Any]:
        """``POST /v1/work/…`` (next, renew, release) with a signed JSON body; the
        answer parsed (``None`` if it is not JSON). ``longer``: seconds the central may
        take on top of the usual time-out (an ask for work that waits there)."""
        body = json.dumps(payload or {}).encode()
        headers = self._signed("POST", path, sha256_hex(body))
        headers["Content-Type"] = "application/json"
        status, answer = await self._request("POST", path, body, headers, longer)
        try:
            return status, json.loads(answer)
        except ValueError:
            return status, None

    async def get_json(self, path: str) -> tuple[int, Any]:
        """A signed ``GET`` of a JSON resource (e.g. ``/v1/ccv/intake``)."""
        status, body = await self._request("GET", path, None,
                                           self._signed("GET", path, sha256_hex(b"")))
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    async def get_blob(self, sha256: str) -> tuple[int, bytes]:
        """``GET /v1/blobs/{sha256}``: an image a lease points at."""
        path = f"/v1/blobs/{sha256}"
        return await self._request("GET", path, None,
                                   self._signed("GET", path, sha256_hex(b"")))

    def _signed(self, method: str, path: str, body_sha256: str) -> dict[str, str]:
        signature = self.key.sign(request_message(method, path, body_sha256))
        return {"X-Prep-Station": self.identity.station_id,
                "X-Prep-Signature": b64encode(signature)}

    async def _request(self, method: str, path: str, data: bytes | AsyncIterator[bytes] | None,
                       headers: dict[str, str], longer: float = 0.0) -> tuple[int, bytes]:
        if self._http is None:
            raise RuntimeError("CentralClient used outside its async with block")
        # The session's time-out unless this request may take longer (None would mean
        # no time-out at all to aiohttp).
        more: dict[str, Any] = ({"timeout": aiohttp.ClientTimeout(total=self._timeout + longer)}
                                if longer > 0 else {})
        try:
            async with self._http.request(method, self.url + path, data=data,
                                          headers=headers, **more) as response:
                status, body = response.status, await response.read()
                line = response.headers.get(TIMELINE_HEADER, "")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if is_certificate_failure(exc):
                message = (spoof_leaf_message(self.url, self.leaf_sha256) if self.leaf_sha256
                           and self._pins > 1
                           else spoof_message(self.url, self.identity.cert_sha256)
                           if self._pins < 2 else spoof_list_message(self.url, self._pins))
                raise SyncError(SPOOF_CODE, message, retry=True) from exc
            raise SyncError("unreachable", f"Sin conexión con el nodo central ({self.url}: "
                                           f"{_describe(exc)}). Los registros están a salvo en "
                                           "la estación y se enviarán al volver la conexión.",
                            retry=True) from exc
        claimed = parse_header(line)  # bounded: never more than nine digits
        if self.fence is not None and claimed is not None:
            self.fence.check(claimed, self.url)
        if status == 409 and central_error(body)[0] == OLD_PRIMARY:
            # A node that learned it was replaced: nothing was kept there; not a refusal
            # of what was sent (the batch is not blocked), but a node to leave.
            raise SyncError(OLD_PRIMARY, (
                f"El nodo central de {self.url} fue reemplazado por otro de una línea de "
                "tiempo posterior y no recibe nada. La estación sigue buscando el nodo "
                "central vigente; avise a su coordinador."), retry=True)
        if status == 403 and central_error(body)[0] == UNKNOWN_STATION:
            # Whatever was asked, the central refuses this station itself: say that,
            # not that one batch or image is wrong (nothing is blocked for it).
            raise StationDisabledError()
        return status, body


class TimelineFence:
    """Never send to a central node of an older PostgreSQL timeline than one this
    station already worked with: after a failover that is the replaced primary, come
    back (docs/continuidad.md). The highest timeline is kept in the station's store and
    only a statement signed with the central's key raises it (:meth:`confirm`), never
    beyond the ``linea`` of the signed node list the station holds (the timeline of the
    database that signed its last bundle): one answer signed with a key every node and
    backup carries cannot lock the station out of the genuine node (issue 62). A bare
    ``X-Prep-Linea`` header can only make the station refuse a node (:meth:`check`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.highest = store.highest_timeline()

    def check(self, timeline: int, url: str) -> None:
        """A node that says it serves ``timeline``: refused if lower than the highest."""
        if timeline < self.highest:
            raise SyncError(OLD_PRIMARY, (
                f"El nodo central de {url} responde desde una línea de tiempo anterior "
                f"({timeline}; esta estación ya trabajó con la {self.highest}): es un "
                "primario que ya fue reemplazado. La estación no le envía nada y sigue "
                "buscando el nodo central vigente; avise a su coordinador."), retry=True)

    def confirm(self, linea: Linea, statement: bytes, url: str) -> None:
        """A verified statement of the node at ``url``: refused when it is behind or
        knows it was replaced; a higher timeline is remembered with its proof."""
        self.check(linea.linea, url)
        if not linea.vigente:
            raise SyncError(OLD_PRIMARY, (
                f"El nodo central de {url} sabe que fue reemplazado por otro de una línea de "
                f"tiempo posterior a la suya ({linea.linea}). La estación no le envía nada "
                "y sigue buscando el nodo central vigente; avise a su coordinador."),
                retry=True)
        with self.store.read() as session:
            bound = held_linea(session)
        if linea.linea > bound:
            raise SyncError(BEYOND_LIST, (
                f"El nodo central de {url} dice estar en la línea de tiempo {linea.linea}, "
                f"pero la lista firmada de nodos que tiene esta estación solo admite hasta "
                f"la {bound}. La estación no le envía nada ni cambia la línea que recuerda "
                f"({self.highest}); pedirá la lista vigente y, si se repite, avise a su "
                "coordinador (posible nodo falso con una llave copiada de un respaldo)."),
                retry=True)
        if linea.linea > self.highest and statement.isascii():
            self.store.note_timeline(linea.linea, statement)
            self.highest = linea.linea


def central_error(body: bytes) -> tuple[str, str]:
    """``(code, message)`` of a central error answer (``{"error","message"}``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    code, message = data.get("error", ""), data.get("message", "")
    return (code if isinstance(code, str) else "", message if isinstance(message, str) else "")


async def _halves_then_crash(data: bytes) -> AsyncIterator[bytes]:
    # Test-only path (PREP_CRASH_AT=mid_blob_upload): half the bytes go out, then the
    # process dies with the upload unfinished.
    half = len(data) // 2
    yield data[:half]
    await asyncio.sleep(0.2)
    crash_point("mid_blob_upload")
    yield data[half:]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__
