"""The central's real aiohttp application served over HTTPS from a thread of the test's
own process, on a fresh database made by ``prep central init``: for tests that must
reach into it (a clock to move, a limiter to set) where a subprocess
(:mod:`tests.harness.central`) cannot be reached.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from central.api.enroll_limit import EnrollmentLimiter
from central.api.http_common import Central
from central.api.server import build_app
from central.api.server import server_ssl_context
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from prep.crypto import SigningKey
from tests.harness.central import CentralNode
from tests.harness.central import pinned_ssl_context
from tests.harness.postgres import temporary_database


class Clock:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class InProcessCentral:
    """The application listening at ``url``; ``node`` holds its data dir and database."""

    node: CentralNode
    port: int
    central: Central

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def enroll(self, code: str, source: str, hostname: str = "equipo-prueba",
               path: str = "/v1/enroll", field: str = "code"
               ) -> tuple[int, bytes, str | None]:
        """``POST /v1/enroll`` from the loopback address ``source``: (status, body,
        Retry-After). A difusor's registration: ``path`` and ``field`` (``codigo``)."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=30,
            context=pinned_ssl_context(self.node.cert_pem), source_address=(source, 0))
        try:
            conn.request("POST", path, body=json.dumps({
                field: code, "public_key": SigningKey.generate().public.b64(),
                "hostname": hostname}).encode(), headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read(), response.getheader("Retry-After")
        finally:
            conn.close()


@contextmanager
def inprocess_central(admin_dsn: str, base_dir: Path,
                      enroll_limiter: EnrollmentLimiter | None = None
                      ) -> Iterator[InProcessCentral]:
    """Serve the application until the block ends; ``enroll_limiter`` replaces the
    default one (e.g. with a :class:`Clock`)."""
    with temporary_database(admin_dsn, prefix="prep_inproc") as dsn:
        node = CentralNode(base_dir, dsn)  # `prep central init`, not started
        data_dir = DataDir(node.data_dir)
        engine = make_engine(dsn)
        central = Central.open(data_dir, load_identity(data_dir), engine)
        if enroll_limiter is not None:
            central = replace(central, enroll_limiter=enroll_limiter)
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(build_app(central))
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(data_dir))
        loop.run_until_complete(site.start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield InProcessCentral(node, runner.addresses[0][1], central)
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()
            central.executor.shutdown()
            engine.dispose()
