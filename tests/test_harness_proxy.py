"""The fault proxy forwards bytes faithfully and breaks the link exactly as told: cut,
delay, reset after N bytes; checked against a plain TCP sink on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from prep.station.station import wait_until
from tests.harness.espera import holgado
from tests.harness.proxy import FaultProxy


class _Echo:
    """A TCP server echoing what it gets; remembers how each connection ended."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.endings: list[tuple[str, int]] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _echo(self, conn: socket.socket) -> None:
        total, ending = 0, "eof"
        with conn:
            try:
                while data := conn.recv(65536):
                    total += len(data)
                    conn.sendall(data)
            except OSError:
                ending = "reset"
        self.endings.append((ending, total))

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close() alone does not)
        self.sock.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def echo() -> Iterator[_Echo]:
    server = _Echo()
    yield server
    server.close()


def _connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


def test_forwards_cuts_and_restores(echo: _Echo) -> None:
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        assert proxy.url_for("https://10.1.2.3:8443/v1") == f"https://127.0.0.1:{proxy.port}/v1"
        with _connect(proxy) as client:
            client.sendall(b"acta 090001B010001")
            assert client.recv(100) == b"acta 090001B010001"
            proxy.cut()
            with pytest.raises(ConnectionResetError):
                client.recv(100)
        with pytest.raises(ConnectionResetError), _connect(proxy) as refused:
            refused.sendall(b"x")  # reset on arrival: at connect, send or receive
            refused.recv(100)
        proxy.restore()
        with _connect(proxy) as client:
            client.sendall(b"de nuevo")
            assert client.recv(100) == b"de nuevo"
        forwarded = len(b"acta 090001B010001de nuevo")
        assert wait_until(lambda: proxy.stats().bytes_down == forwarded, holgado(60))
        stats = proxy.stats()
        assert (stats.connections, stats.cut, stats.refused) == (2, 1, 1)
        assert stats.bytes_up == stats.bytes_down == forwarded


def test_delay_applies_to_each_direction(echo: _Echo) -> None:
    with FaultProxy("127.0.0.1", echo.port) as proxy, _connect(proxy) as client:
        client.sendall(b"ping")
        assert client.recv(10) == b"ping"
        proxy.delay(0.15)
        started = time.monotonic()
        client.sendall(b"ping")
        assert client.recv(10) == b"ping"
        assert time.monotonic() - started >= 0.3  # 150 ms there, 150 ms back


def test_reset_after_n_bytes_mid_stream(echo: _Echo) -> None:
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        proxy.reset_after(100_000, times=1)
        with _connect(proxy) as client:
            received = bytearray()
            endings: list[str] = []

            def drain() -> None:
                try:
                    while data := client.recv(65536):
                        received.extend(data)
                except ConnectionResetError:
                    endings.append("reset")
                else:
                    endings.append("eof")

            reader = threading.Thread(target=drain)
            reader.start()
            try:
                client.sendall(b"a" * 1_000_000)
            except OSError:
                pass  # the reset may come while sending, or once all of it is buffered
            reader.join(5)
        assert endings == ["reset"]
        assert proxy.stats().resets == 1 and proxy.stats().bytes_up == 100_000
        assert len(received) <= 100_000
        # The target saw the connection reset, not closed: an upload cut short.
        assert wait_until(lambda: len(echo.endings) == 1, holgado(60))
        ending, got = echo.endings[0]
        assert ending == "reset" and got <= 100_000
        # The rule lifted after one reset: the next connection goes through.
        with _connect(proxy) as client:
            client.sendall(b"entero")
            assert client.recv(10) == b"entero"

