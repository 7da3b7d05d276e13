"""A real central node for tests and benchmarks: ``prep central init`` then
``prep central serve`` as a subprocess (so a test can SIGKILL it), on a fresh database.

Use :func:`running_central` (or the ``central_node`` fixture)::

    with running_central(tmp_path, pg_dsn) as node:
        code = node.enroll_code(catd=7)
        ...  # talk HTTPS to node.url, pinning node.cert_pem
        node.kill(); node.restart()

``CentralNode(base_dir, None)`` runs the node on its own embedded PostgreSQL (in
``base_dir/central/pgdata``, as an installed node without ``--dsn`` does); ``dsn`` is
then that server's socket, as the node's account reaches it.

Also here: a TLS context that trusts exactly the node's certificate, an aiohttp session
using it, and a synchronous request helper for simple tests.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from psycopg.conninfo import make_conninfo

from central.api.server import SHUTDOWN_SECONDS
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import Identity
from central.node.config import load_identity
from central.stations.enrollment import Site
from central.stations.enrollment import create_code
from prep.crypto import VerifyKey
from tests.harness.postgres import temporary_database

REPO = Path(__file__).resolve().parents[2]
#: How long ``serve`` may take to print its listening line: a few seconds alone, minutes on
#: a machine loaded by other work (its embedded PostgreSQL starts first).
START_TIMEOUT = 300.0


def pinned_ssl_context(cert_pem: bytes) -> ssl.SSLContext:
    """A client context trusting exactly ``cert_pem`` (the node's self-signed
    certificate). Pinning is by certificate, so the host name is not checked."""
    context = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    context.check_hostname = False
    return context


class CentralNode:
    """A central subprocess and what a test needs to talk to it."""

    def __init__(self, base_dir: Path, dsn: str | None,
                 env: Mapping[str, str] | None = None,
                 extra_args: Sequence[str] = (),
                 preexec_fn: Callable[[], None] | None = None,
                 serve_dsn: str | None = None) -> None:
        self.base_dir = base_dir
        self.data_dir = base_dir / "central"
        self.embedded = dsn is None
        self._dsn_args = [] if dsn is None else ["--dsn", dsn]
        # serve's DSN (docs/seguridad.md: its own login); the owner's by default
        self._serve_dsn = serve_dsn
        self.env = dict(env or {})
        self.extra_args = list(extra_args)
        self.preexec_fn = preexec_fn  # run in the child before serve (e.g. setrlimit)
        self.port = 0
        self.url = ""
        self.metrics_url = ""  # serve's Prometheus endpoint, with --metrics-port
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0
        identity = _init(self.data_dir, self._dsn_args)
        self.dsn = dsn if dsn is not None else embedded_dsn(self.data_dir)  # the owner's
        self.serve_dsn = self._serve_dsn or self.dsn
        self.node = identity.node
        self.cert_pem = identity.cert_pem
        self.cert_sha256 = identity.cert_sha256
        self.central_key: VerifyKey = identity.key.public

    @property
    def _serve_args(self) -> list[str]:
        """serve's ``--dsn`` (none on its own embedded server, unless a login is given)."""
        return self._dsn_args if self._serve_dsn is None else ["--dsn", self._serve_dsn]

    @property
    def log_path(self) -> Path:
        """The subprocess's stderr (its log) of the latest start."""
        return self.base_dir / f"central-{self._starts}.log"

    def start(self, crash_at: str | None = None) -> None:
        """Start ``prep central serve`` (on the port of the previous start, if any, so the
        URL stays the same across restarts) and wait until it answers ``/v1/health``."""
        self._starts += 1
        env = {**os.environ, **self.env}
        env.pop("PREP_CRASH_AT", None)
        if crash_at:
            env["PREP_CRASH_AT"] = crash_at
        stdout = self.base_dir / f"central-{self._starts}.json"
        with stdout.open("wb") as out, self.log_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prep", "central", "serve", "--data-dir",
                 str(self.data_dir), *self._serve_args, "--host", "127.0.0.1",
                 "--port", str(self.port), *self.extra_args], stdout=out, stderr=err,
                cwd=REPO, env=env, preexec_fn=self.preexec_fn)
        info = self._read_listening_line(stdout)
        self.url = info["url"]
        self.metrics_url = info.get("metrics_url", "")
        self.port = urlsplit(self.url).port or 0
        assert info["cert_sha256"] == self.cert_sha256 and info["node"] == self.node
        status, body = self.request("GET", "/v1/health")
        assert status == 200 and json.loads(body)["status"] == "ok", body

    def _read_listening_line(self, stdout: Path) -> dict[str, str]:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = stdout.read_bytes().split(b"\n", 1)
            if len(line) == 2:
                return dict(json.loads(line[0]))
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        ended = self.process.poll() is not None
        self.kill()
        waited = "it ended first" if ended else f"still starting after {START_TIMEOUT:.0f} s"
        raise RuntimeError(f"the central did not print its listening line ({waited}); its "
                           f"log:\n{self.log_path.read_text()}")

    def wait_for_log(self, text: str, bound_s: float = 120.0) -> str:
        """Until the latest start's log says ``text`` (a line may be written just after
        what the test waited for); the log. Fails with its end after ``bound_s``."""
        deadline = time.monotonic() + bound_s
        while text not in (log := self.log_path.read_text(encoding="utf-8",
                                                         errors="replace")):
            if time.monotonic() > deadline:
                raise AssertionError(f"the central's log did not say {text!r} in "
                                     f"{bound_s:.0f} s; it ends:\n{log[-3000:]}")
            time.sleep(0.1)
        return log

    def restart(self, crash_at: str | None = None) -> None:
        """Stop the node if it runs (SIGTERM) and start it again."""
        self.stop()
        self.start(crash_at)

    def kill(self) -> None:
        """SIGKILL the node, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.wait_exit()

    def stop(self) -> None:
        """Stop the node in an orderly way (SIGTERM), SIGKILL if it has not ended once its
        own budget for requests in progress (``SHUTDOWN_SECONDS``) and a margin for the
        rest of its stop (mDNS goodbye, audit, threads) are over: a loaded machine made
        a 10 s wait kill a node that was stopping in order."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(SHUTDOWN_SECONDS + 20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.wait_exit()

    def wait_exit(self, timeout: float = 30) -> int | None:
        """Wait for the process to end (e.g. after a crash point); its exit status."""
        if self.process is None:
            return None
        return self.process.wait(timeout)

    def enroll_code(self, catd: int | None = 7, role: str = "catd") -> str:
        """A one-time enrollment code for CATD ``catd`` (``None``: the CCV)."""
        engine = make_engine(self.dsn, pool_size=1)
        try:
            return create_code(engine, Site.of(catd, role), actor="pruebas",
                               ttl=timedelta(hours=24))
        finally:
            engine.dispose()

    def ssl_context(self) -> ssl.SSLContext:
        return pinned_ssl_context(self.cert_pem)

    def session(self) -> aiohttp.ClientSession:
        """An aiohttp session pinned to this node's certificate (use ``async with``)."""
        return aiohttp.ClientSession(base_url=self.url,
                                     connector=aiohttp.TCPConnector(ssl=self.ssl_context()))

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None,
                timeout: float = 30, source: str | None = None) -> tuple[int, bytes]:
        """One synchronous HTTPS request to the node: (status, body). ``source``: the
        loopback address to send from (the central counts unsigned refusals per
        address, central.api.refusals)."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.ssl_context(),
            source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


@contextmanager
def running_central(base_dir: Path, admin_dsn: str,
                    env: Mapping[str, str] | None = None,
                    crash_at: str | None = None,
                    extra_args: Sequence[str] = (),
                    preexec_fn: Callable[[], None] | None = None,
                    serve_user: str | None = None,
                    before_start: Callable[[CentralNode], object] | None = None
                    ) -> Iterator[CentralNode]:
    """A central node on a fresh database of ``admin_dsn``'s server, data in
    ``base_dir/central``; stopped and its database dropped on exit. ``extra_args`` go
    to ``prep central serve`` (e.g. ``--mdns``: only inside a network namespace);
    ``serve_user``: the login serve connects as (init and the tests use the owner's);
    ``before_start``: done to the initialised node before serve starts (a catalog
    loaded, so a schedule that starts with serve finds it whatever the machine's pace)."""
    base_dir.mkdir(parents=True, exist_ok=True)
    with temporary_database(admin_dsn, prefix="prep_central") as dsn:
        serve_dsn = make_conninfo(dsn, user=serve_user) if serve_user else None
        node = CentralNode(base_dir, dsn, env, extra_args, preexec_fn, serve_dsn)
        try:
            if before_start is not None:
                before_start(node)
            node.start(crash_at)
            yield node
        finally:
            node.stop()


def embedded_dsn(data_dir: Path) -> str:
    """The DSN of the embedded PostgreSQL of central data directory ``data_dir`` (its
    owner role through its private socket: for the account that runs the node)."""
    from central.db.embedded import socket_dir_for
    from central.db.engine import EMBEDDED_DATABASE

    pgdata = DataDir(data_dir).pgdata.resolve()
    return make_conninfo(host=str(socket_dir_for(pgdata)), user="postgres",
                         dbname=EMBEDDED_DATABASE)


def _init(data_dir: Path, dsn_args: Sequence[str]) -> Identity:
    done = subprocess.run([sys.executable, "-m", "prep", "central", "init", "--data-dir",
                           str(data_dir), *dsn_args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"prep central init failed:\n{done.stderr}")
    return load_identity(DataDir(data_dir))
