"""A real loopback TCP proxy that breaks the link between a station and the central on
command: cut it, slow it down, reset connections in the middle of an upload.

It forwards bytes and nothing else, so TLS goes through untouched and the station's
certificate pin still applies end to end::

    with FaultProxy("127.0.0.1", node.port) as proxy:
        station.enroll(proxy.url_for(node.url), code, node.cert_sha256)  # via the proxy
        proxy.cut()                 # every open connection reset, new ones refused
        proxy.restore()
        proxy.delay(0.2)            # each chunk delivered 200 ms late, both directions
        proxy.reset_after(16_384)   # each connection reset after 16 KiB more upstream
        proxy.stats()               # connections, bytes, resets…

The proxy runs its own asyncio loop in a background thread; every control method is
synchronous and thread-safe: when it returns, the change is in effect (``cut`` returns
once the open connections are gone).

"Refused" means the connection is accepted and reset at once (RST): the port stays
bound, so a cut never gives it away (a closed listener could see its port taken, even
by a self-connect of the very client that is retrying).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from dataclasses import field
from types import TracebackType
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

T = TypeVar("T")

CHUNK = 64 * 1024
_QUEUED_CHUNKS = 64
_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN
_CONTROL_TIMEOUT = 10.0


@dataclass(frozen=True)
class ProxyStats:
    """Counters since the proxy started (a snapshot)."""

    connections: int
    """Connections accepted and forwarded to the target."""
    active: int
    """Forwarded connections open right now."""
    refused: int
    """Connections reset on arrival (while cut, or when the target refused them)."""
    cut: int
    """Open connections reset by :meth:`FaultProxy.cut`."""
    resets: int
    """Connections reset by the :meth:`FaultProxy.reset_after` rule."""
    bytes_up: int
    """Bytes forwarded client → target."""
    bytes_down: int
    """Bytes forwarded target → client."""


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client's side and the target's side."""

    client: asyncio.StreamWriter
    target: asyncio.StreamWriter
    budget: int | None = None
    """Upstream bytes left before the reset rule fires (``None``: no rule)."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False

    def reset(self) -> None:
        """Abort both sides with RST (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for writer in (self.client, self.target):
            _reset(writer.transport)


def _reset(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
    transport.abort()  # type: ignore[attr-defined]


class FaultProxy:
    """A TCP proxy on 127.0.0.1 towards ``target_host:target_port``, started at once."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._cut = False
        self._delay = 0.0
        self._reset_bytes: int | None = None
        self._reset_times: int | None = None
        self._counts = dict.fromkeys(("connections", "refused", "cut", "resets", "bytes_up",
                                      "bytes_down"), 0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        try:
            self._server = self._call(self._listen(port))
        except BaseException:
            self._stop_loop()
            raise
        self.port: int = self._server.sockets[0].getsockname()[1]

    # control (any thread) ----------------------------------------------------------

    def url_for(self, central_url: str) -> str:
        """``central_url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(central_url)
        return urlunsplit(parts._replace(netloc=f"{self.host}:{self.port}"))

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until :meth:`restore`."""
        self._call(self._cut_all())

    def restore(self) -> None:
        """Accept and forward connections again (after :meth:`cut`)."""
        self._call(self._set(cut=False))

    def delay(self, seconds: float) -> None:
        """Deliver every chunk ``seconds`` after it was read, in both directions (a link
        with that latency; chunks keep their order). ``0`` removes the delay."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        self._call(self._set(delay=float(seconds)))

    def reset_after(self, n_bytes: int | None, times: int | None = None) -> None:
        """Reset (RST, both sides) each connection once it has forwarded ``n_bytes``
        more bytes client → target, counted from now for open connections and from
        their start for new ones: a cut in the middle of an upload. After ``times``
        resets the rule lifts by itself; ``None`` lifts it now."""
        if n_bytes is not None and n_bytes < 0:
            raise ValueError("n_bytes must be >= 0")
        self._call(self._arm(n_bytes, times))

    def stats(self) -> ProxyStats:
        with self._lock:
            return ProxyStats(active=len(self._links), **self._counts)

    def close(self) -> None:
        """Stop listening, reset what is still open and stop the proxy's thread."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError, TimeoutError):
            self._call(self._shutdown())
        self._stop_loop()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # inside the proxy's loop ---------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CONTROL_TIMEOUT)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CONTROL_TIMEOUT)
        self._loop.close()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    async def _listen(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._handle, self.host, port, reuse_address=True)

    async def _set(self, *, cut: bool | None = None, delay: float | None = None) -> None:
        if cut is not None:
            self._cut = cut
        if delay is not None:
            self._delay = delay

    async def _arm(self, n_bytes: int | None, times: int | None) -> None:
        self._reset_bytes, self._reset_times = n_bytes, times
        for link in self._links:
            link.budget = n_bytes

    async def _cut_all(self) -> None:
        self._cut = True
        links = list(self._links)
        for link in links:
            link.reset()
        self._count("cut", len(links))
        await self._settle(links)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        links = list(self._links)
        for link in links:
            link.reset()
        await self._settle(links)
        if self._server is not None:
            await self._server.wait_closed()
        current = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not current]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    async def _settle(self, links: list[_Link]) -> None:
        """Let the pumps of reset links finish, so their sockets are really closed."""
        tasks = [t for link in links for t in link.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=_CONTROL_TIMEOUT)
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self._count("refused")
            _reset(writer.transport)
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(
                self.target_host, self.target_port)
        except OSError:
            self._count("refused")
            _reset(writer.transport)
            return
        if self._cut:  # cut while we were connecting
            self._count("refused")
            _reset(writer.transport)
            _reset(target_writer.transport)
            return
        link = _Link(writer, target_writer, budget=self._reset_bytes)
        with self._lock:
            self._links.add(link)
            self._counts["connections"] += 1
        link.tasks = [asyncio.create_task(self._pump(link, reader, target_writer, up=True)),
                      asyncio.create_task(self._pump(link, target_reader, writer, up=False))]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            with self._lock:
                self._links.discard(link)
            if not link.closed:
                link.closed = True
                for side in (writer, target_writer):
                    side.close()

    async def _pump(self, link: _Link, source: asyncio.StreamReader,
                    sink: asyncio.StreamWriter, up: bool) -> None:
        """One direction: a reader stamps each chunk with its due time, a writer
        delivers it then (latency without losing throughput)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUED_CHUNKS)

        async def read() -> None:
            while True:
                try:
                    data = await source.read(CHUNK)
                except OSError:
                    link.reset()  # a reset on one side is passed on to the other
                    data = b""
                await queue.put((loop.time() + self._delay, data))
                if not data:
                    return

        reading = asyncio.create_task(read())
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if link.closed:
                    return
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                fire = up and link.budget is not None and len(data) >= link.budget
                if fire and link.budget is not None:
                    data = data[:link.budget]
                if data:
                    sink.write(data)
                    self._count("bytes_up" if up else "bytes_down", len(data))
                    await sink.drain()
                if fire:
                    self._fire(link)
                    return
                if up and link.budget is not None:
                    link.budget -= len(data)
        except OSError:
            link.reset()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    def _fire(self, link: _Link) -> None:
        link.reset()
        self._count("resets")
        if self._reset_times is not None:
            self._reset_times -= 1
            if self._reset_times <= 0:
                self._reset_bytes = self._reset_times = None
                for other in self._links:
                    other.budget = None
