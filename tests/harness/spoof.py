"""An impostor central: a real HTTPS server on loopback with a certificate of its own,
which records every request it gets (a stolen enrollment code shows up in
``requests``) and answers enrollment as a central would, so a station that sends it
the code believes it enrolled::

    with SpoofCentral(tmp_path) as spoof:
        ...  # run `prep station enroll --url {spoof.url} …`
        assert spoof.requests == []   # the code never reached it

It runs its own asyncio loop in a background thread; ``requests`` is safe to read from
the test's thread. Optionally it also advertises itself with mDNS (only inside a
private network namespace: :mod:`tests.harness.netns_targets`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web

from prep.crypto import SigningKey
from prep.linea import LINEA_PATH
from prep.linea import Linea
from prep.linea import sign_linea
from prep.protocol import TIMELINE_HEADER
from tests.harness.netns_targets import LOOPBACK
from tests.harness.netns_targets import TlsIdentity
from tests.harness.netns_targets import make_identity

_START_TIMEOUT = 10.0


@dataclass(frozen=True)
class SpoofedRequest:
    """What the impostor received."""

    method: str
    path: str
    body: bytes


class SpoofCentral:
    """An HTTPS server presenting its own self-signed certificate on 127.0.0.1."""

    def __init__(self, directory: Path, name: str = "prep-central-impostor",
                 identity: TlsIdentity | None = None,
                 signing_key: SigningKey | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # ``identity``: a TLS certificate and key it holds (one copied off a backup).
        self.identity: TlsIdentity = identity or make_identity(directory, name)
        self.cert_sha256 = self.identity.sha256
        self.port = 0
        # ``signing_key``: the central's key copied off a backup; by default one of its
        # own, which no station trusts.
        self._key = signing_key or SigningKey.generate()
        #: Set: the ``X-Prep-Linea`` it writes on every answer (a rogue node's claim of
        #: a higher timeline), and the timeline :attr:`claim` it signs at ``/v1/linea``;
        #: other requests get 503, as a busy node.
        self.linea: str | None = None
        self.claim = 999_999_999
        self._requests: list[SpoofedRequest] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="spoof-central",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def requests(self) -> list[SpoofedRequest]:
        with self._lock:
            return list(self._requests)

    def codes_received(self) -> list[str]:
        """The enrollment codes that reached the impostor."""
        codes = []
        for request in self.requests:
            if request.path == "/v1/enroll":
                try:
                    codes.append(str(json.loads(request.body).get("code")))
                except ValueError:
                    codes.append(request.body.decode("utf-8", "replace"))
        return codes

    def __enter__(self) -> SpoofCentral:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(_START_TIMEOUT)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(
                _START_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_START_TIMEOUT)
        self._loop.close()

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.identity.cert_file, self.identity.key_file)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((LOOPBACK, 0))
        await web.SockSite(self._runner, sock, ssl_context=context).start()
        port: int = sock.getsockname()[1]
        return port

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self._requests.append(SpoofedRequest(request.method, request.path, body))
        if request.path == "/v1/enroll":
            # What a real central answers: the station would pin this impostor.
            return web.json_response({"station_id": "catd-07-impostor", "role": "catd",
                                      "sitio": "07", "node": "impostor",
                                      "central_key": self._key.public.b64(),
                                      "cert_sha256": self.cert_sha256})
        if self.linea is None:
            return web.json_response({"error": "not_found", "message": ""}, status=404)
        headers = {TIMELINE_HEADER: self.linea}
        if request.path == LINEA_PATH:
            claim = Linea(self.claim, "impostor", request.query.get("nonce", ""), True)
            return web.Response(body=sign_linea(self._key, claim), headers=headers,
                                content_type="application/json")
        return web.json_response({"error": "busy", "message": ""}, status=503,
                                 headers=headers)
