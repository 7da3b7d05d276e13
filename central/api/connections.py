"""The central's listening sockets, with limits so that idle or slow clients cannot
exhaust its file descriptors (docs/protocol.md, "Connections").

With aiohttp's ``TCPSite`` the event loop accepted every connection: 1,100 idle TCP
sockets under the 1,024-descriptor default left no descriptor for a real station (27 s
late) and wrote 112 MB of «Too many open files» tracebacks in 30 s. :class:`GuardedSite`
accepts connections itself and:

- closes at once a new connection beyond :attr:`ConnectionLimits.max_connections` open
  connections, or beyond :attr:`ConnectionLimits.per_source` from one source (an IPv4
  address, an IPv6 /64), so one address cannot take every slot;
- gives the TLS handshake :attr:`ConnectionLimits.handshake_seconds`;
- leaves to aiohttp's keep-alive timer (``keepalive_timeout`` =
  :attr:`ConnectionLimits.idle_seconds`, armed when a connection opens and after each
  answer) both the wait for a request's complete headers and an idle keep-alive
  connection: a connection that has not sent a whole request head by then is closed;
- pauses accepting briefly if the system has no descriptor left, instead of failing in
  a loop;
- logs one line per condition and minute, with counts (:mod:`central.node.ratelog`).

The body of a request then has :attr:`ConnectionLimits.body_idle_seconds` between two
chunks (``central.api.server``).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import resource
import socket
import ssl
import struct
from collections import Counter
from dataclasses import dataclass
from typing import cast

from aiohttp import web

from central.api.refusals import WINDOW_SECONDS
from central.api.refusals import source_of
from central.node.ratelog import Throttle
from central.node.ratelog import quieted

#: Descriptors kept for everything but client sockets: the database pool, blob and log
#: files, the listening sockets, mDNS, the cortes.
RESERVED_DESCRIPTORS = 128
#: Most connections open at once when not set: a full-scale night (33 CATD and the CCV,
#: a few connections per station) uses a few hundred.
DEFAULT_MAX_CONNECTIONS = 2048
DEFAULT_HANDSHAKE_SECONDS = 10.0
DEFAULT_IDLE_SECONDS = 30.0  # above the stations' client keep-alive (aiohttp's 15 s)
DEFAULT_BODY_IDLE_SECONDS = 30.0
#: How long accepting pauses when the system has no descriptor left.
ACCEPT_PAUSE_SECONDS = 0.5
SWEEP_SECONDS = 1.0
#: Connections the kernel completes before they are accepted (no descriptor yet): a
#: burst larger than this is dropped and retried by the clients a second or more later.
BACKLOG = 1024
#: The TLS close of a connection the central ends (a client gone silent gets no more).
SHUTDOWN_SECONDS = 5.0

log = logging.getLogger("central.connections")

_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close with a reset


@dataclass(frozen=True)
class ConnectionLimits:
    """What the listener allows; ``max_connections``/``per_source`` ``None``: derived
    from the descriptors this process may open (:func:`descriptor_budget`)."""

    max_connections: int | None = None
    per_source: int | None = None
    handshake_seconds: float = DEFAULT_HANDSHAKE_SECONDS
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    body_idle_seconds: float = DEFAULT_BODY_IDLE_SECONDS

    def resolved(self) -> ConnectionLimits:
        """These limits with the connection caps filled in (raises the soft descriptor
        limit to the hard one on the way)."""
        most = self.max_connections or min(DEFAULT_MAX_CONNECTIONS, descriptor_budget())
        per_source = self.per_source or max(32, most // 4)
        return ConnectionLimits(most, min(per_source, most), self.handshake_seconds,
                                self.idle_seconds, self.body_idle_seconds)


def descriptor_budget() -> int:
    """Connections this process can hold: its descriptor limit (the soft one raised to
    the hard one first, as a server may) less :data:`RESERVED_DESCRIPTORS`, halved
    (an image upload holds a file besides its socket)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return max(16, (soft - RESERVED_DESCRIPTORS) // 2)


class GuardedSite(web.BaseSite):
    """An aiohttp site on TCP with TLS that accepts connections under
    :class:`ConnectionLimits` (see the module)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int,
                 ssl_context: ssl.SSLContext, limits: ConnectionLimits,
                 backlog: int = BACKLOG) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self.limits = limits.resolved()
        self._listener: _Listener | None = None
        self.open = 0  # connections held: in TLS handshake or established
        self._by_source: Counter[str] = Counter()
        self._established: list[tuple[asyncio.BaseTransport, str]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._throttle = Throttle()
        self.closed_at_cap = 0  # totals, for tests and benchmarks
        self.failed_handshakes = 0

    @property
    def name(self) -> str:
        return f"https://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        sockets = await _listen(loop, self._host, self._port, self._backlog)
        self._listener = _Listener(sockets)
        # aiohttp reads .sockets (runner.addresses) and calls .close() (site.stop).
        self._server = cast(asyncio.AbstractServer, self._listener)
        for sock in sockets:
            self._listener.tasks.append(loop.create_task(self._accept_loop(sock)))
        self._listener.tasks.append(loop.create_task(self._sweep()))
        log.info("conexiones: hasta %d abiertas, %d por origen; saludo TLS %.0f s, "
                 "encabezados e inactividad %.0f s", self.limits.max_connections,
                 self.limits.per_source, self.limits.handshake_seconds,
                 self.limits.idle_seconds)

    async def stop(self) -> None:
        for task in list(self._tasks):  # handshakes in progress: their sockets close
            task.cancel()
        await super().stop()

    async def _accept_loop(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = await loop.sock_accept(listening)
            except (ConnectionAbortedError, InterruptedError):
                continue
            except OSError as exc:
                if listening.fileno() == -1:
                    return  # closed: the site stopped
                if exc.errno in _OUT_OF_DESCRIPTORS:
                    self._note("descriptors", "el sistema no tiene descriptores de archivo "
                               f"libres para aceptar conexiones ({exc.strerror}); se pausa "
                               f"{ACCEPT_PAUSE_SECONDS} s", logging.ERROR)
                else:
                    self._note(f"accept\0{exc.errno}", f"error al aceptar una conexión: "
                               f"{exc}", logging.ERROR)
                await asyncio.sleep(ACCEPT_PAUSE_SECONDS)
                continue
            self._admit(conn, address)

    def _admit(self, conn: socket.socket, address: tuple[str, int] | str) -> None:
        source = source_of(address[0] if isinstance(address, tuple) else None)
        limits = self.limits
        assert limits.max_connections is not None and limits.per_source is not None
        if self.open >= limits.max_connections:
            self._refuse(conn, "cap", f"tope de {limits.max_connections} conexiones "
                         "abiertas alcanzado: se cierran las nuevas")
            return
        if self._by_source[source] >= limits.per_source:
            self._refuse(conn, f"source\0{source}", f"{source} ya tiene "
                         f"{limits.per_source} conexiones abiertas (tope por origen): se "
                         "cierran sus nuevas conexiones")
            return
        self.open += 1
        self._by_source[source] += 1
        task = asyncio.get_running_loop().create_task(self._handshake(conn, source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _refuse(self, conn: socket.socket, key: str, message: str) -> None:
        # RST instead of FIN: nothing lingers on the central's side.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        conn.close()
        self.closed_at_cap += 1
        self._note(key, message, logging.WARNING)

    async def _handshake(self, conn: socket.socket, source: str) -> None:
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        try:
            transport, _ = await loop.connect_accepted_socket(
                server, conn, ssl=self._ssl,
                ssl_handshake_timeout=self.limits.handshake_seconds,
                ssl_shutdown_timeout=SHUTDOWN_SECONDS)
        except BaseException as exc:
            conn.close()
            self._release(source)
            if isinstance(exc, (OSError, ssl.SSLError, TimeoutError, ConnectionError)):
                self.failed_handshakes += 1
                self._note("handshake", "saludos TLS fallidos o vencidos (cliente que no "
                           "completa la conexión)", logging.INFO)
                return
            raise
        self._established.append((transport, source))

    async def _sweep(self) -> None:
        """Count as closed the established connections that closed (every second)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            alive = []
            for transport, source in self._established:
                if transport.is_closing():
                    self._release(source)
                else:
                    alive.append((transport, source))
            self._established = alive

    def _release(self, source: str) -> None:
        self.open -= 1
        self._by_source[source] -= 1
        if self._by_source[source] <= 0:
            del self._by_source[source]

    def _note(self, key: str, message: str, level: int) -> None:
        skipped = self._throttle.due(key)
        if skipped is not None:
            log.log(level, "%s", quieted(message, skipped, self._throttle.interval))


class _Listener:
    """What aiohttp uses of a site's server: its sockets, and ``close()``."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.sockets = sockets
        self.tasks: list[asyncio.Task[None]] = []

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        # Closed once the accept loops are cancelled (never under a pending accept).
        pending = [t for t in self.tasks if not t.done()]
        if not pending:
            self._close_sockets()
            return
        remaining = len(pending)

        def one_done(_: asyncio.Task[None]) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                self._close_sockets()
        for task in pending:
            task.add_done_callback(one_done)

    def _close_sockets(self) -> None:
        for sock in self.sockets:
            sock.close()


async def _listen(loop: asyncio.AbstractEventLoop, host: str, port: int,
                  backlog: int) -> list[socket.socket]:
    """Listening sockets for ``host``:``port`` (one per address it resolves to)."""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """``serve``'s options for :class:`ConnectionLimits`."""
    parser.add_argument("--max-connections", type=int, default=None, metavar="N",
                        help="conexiones abiertas a la vez como máximo (predeterminado: "
                             f"según el límite de archivos del proceso, hasta "
                             f"{DEFAULT_MAX_CONNECTIONS})")
    parser.add_argument("--max-connections-per-source", type=int, default=None,
                        metavar="N", help="conexiones abiertas a la vez desde una misma "
                                          "dirección (predeterminado: la cuarta parte del "
                                          "máximo, al menos 32)")
    parser.add_argument("--idle-seconds", type=float, default=DEFAULT_IDLE_SECONDS,
                        metavar="S", help="segundos que una conexión puede tardar en "
                                          "enviar los encabezados de una solicitud, "
                                          "quedar inactiva o callar a media solicitud "
                                          f"(predeterminado {DEFAULT_IDLE_SECONDS:.0f})")
    parser.add_argument("--tls-handshake-seconds", type=float,
                        default=DEFAULT_HANDSHAKE_SECONDS, metavar="S",
                        help="segundos para completar el saludo TLS (predeterminado "
                             f"{DEFAULT_HANDSHAKE_SECONDS:.0f})")
    parser.add_argument("--refusal-window-seconds", type=float, default=WINDOW_SECONDS,
                        metavar="S", help="los rechazos sin firma válida de una misma "
                                          "dirección se resumen por periodos de S segundos "
                                          f"(predeterminado {WINDOW_SECONDS:.0f})")


def limits_from_args(args: argparse.Namespace) -> ConnectionLimits:
    """The limits ``serve`` was given; raises ValueError with a Spanish message."""
    for name, value in (("--max-connections", args.max_connections),
                        ("--max-connections-per-source", args.max_connections_per_source)):
        if value is not None and value < 1:
            raise ValueError(f"{name} debe ser al menos 1")
    for name, seconds in (("--idle-seconds", args.idle_seconds),
                          ("--tls-handshake-seconds", args.tls_handshake_seconds),
                          ("--refusal-window-seconds", args.refusal_window_seconds)):
        if not 0 < seconds <= 3600:
            raise ValueError(f"{name} debe ser de más de 0 y hasta 3600 segundos")
    return ConnectionLimits(args.max_connections, args.max_connections_per_source,
                            args.tls_handshake_seconds, args.idle_seconds, args.idle_seconds)

