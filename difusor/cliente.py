"""A small HTTPS client for one origin: bounded answers, timeouts, no redirect off-origin.

Plain :mod:`http.client` over one kept-alive connection per thread: a difusor fetches
thousands of small files from one static server, and needs nothing else (no cookies, no
proxies). gzip, which nginx applies to text, is undone as it arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from difusor.errores import DifusorError
from difusor.errores import OrigenNoDisponible
from difusor.errores import PlazoVencido
from difusor.errores import Rechazo
from prep import __version__

_CHUNK = 256 * 1024
_MAX_REDIRECTS = 3
#: Bytes a gzip answer may reach whatever its ratio (a small file compresses well).
_HOLGURA = 1024 * 1024


class NoEncontrado(DifusorError):
    """404 (or 410) for a path of the origin."""


def ssl_context(ca: Path | None) -> ssl.SSLContext:
    """Verified TLS: the system's CAs, or only those of ``ca``."""
    return ssl.create_default_context(cafile=str(ca) if ca is not None else None)


class Origen:
    """``https://host[:port]/base/``: every path asked is relative to ``base``."""

    def __init__(self, url: str, context: ssl.SSLContext, timeout: float,
                 expansion: int = 100) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise DifusorError(f"origen inválido {url!r}")
        self.url = url if url.endswith("/") else url + "/"
        self.host = parts.hostname
        self.port = parts.port or 443
        self.base = urlsplit(self.url).path or "/"
        self._context = context
        self._timeout = timeout
        self._expansion = expansion
        #: Why every request to this origin now fails at once (a deadline passed).
        self._vencido: str | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._abiertas: list[http.client.HTTPSConnection] = []
        #: Bytes received from this origin (compressed, as they crossed the network).
        self.bytes_red = 0

    @contextlib.contextmanager
    def plazo(self, segundos: float, que: str) -> Iterator[None]:
        """What is asked of the origin inside ends within ``segundos``, however slowly
        the origin sends its bytes (each read's timeout alone lets one byte every few
        seconds hold a poll for ever): past it, every read in flight fails at once with
        :class:`PlazoVencido` and no request starts."""
        timer = threading.Timer(segundos, self._vencer,
                                (f"{self.url}: {que} tardó más de {segundos:g} s "
                                 "(plazo de la consulta); se deja este origen",))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _vencer(self, mensaje: str) -> None:
        self.abort(mensaje)

    def _vigente(self) -> None:
        if self._vencido is not None:
            raise PlazoVencido(self._vencido)

    def get(self, rel: str, limite: int) -> bytes:
        """The whole body of ``rel``, at most ``limite`` bytes (else :class:`Rechazo`)."""
        return b"".join(self._body(rel, limite, f"{rel}: excede el límite de {limite:,} "
                                                "bytes"))

    def save(self, rel: str, out: BinaryIO, limite: int) -> tuple[int, str]:
        """Write the body of ``rel`` to ``out`` (fsynced); its size and SHA-256."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self._body(rel, limite, f"{rel}: excede el límite de {limite:,} bytes "
                                             "por archivo"):
            size += len(chunk)
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
        return size, digest.hexdigest()

    def _body(self, rel: str, limite: int, excede: str) -> Iterator[bytes]:
        """The body of ``rel`` as stored on the origin (gzip undone), in chunks, at most
        ``limite`` bytes of it however small the compressed answer; adds the bytes that
        crossed the network to :attr:`bytes_red`."""
        size = wire = 0
        bomba = (f"{rel}: su compresión gzip crece más de {self._expansion} veces al "
                 "deshacerla (posible bomba de compresión); se rechaza")
        try:
            with self._open(rel, limite) as response:
                encoding = (response.getheader("Content-Encoding") or "identity").lower()
                if encoding not in ("identity", "gzip"):
                    raise Rechazo(f"{rel}: codificación {encoding[:40]!r} no admitida")
                decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) \
                    if encoding == "gzip" else None
                while chunk := self._read(response, rel):
                    wire += len(chunk)
                    if decoder is None:
                        size += len(chunk)
                        if size > limite:
                            raise Rechazo(excede)
                        yield chunk
                        continue
                    # Undone a piece at a time, never more than the file's limit nor
                    # than the ratio allows for the bytes received so far: a bomb is
                    # stopped before its output is made, not after.
                    tope = min(limite, self._expansion * wire + _HOLGURA)
                    while chunk:
                        try:
                            out = decoder.decompress(chunk, min(tope + 1 - size, _CHUNK))
                        except zlib.error:
                            raise Rechazo(f"{rel}: gzip inválido") from None
                        chunk = decoder.unconsumed_tail
                        size += len(out)
                        if size > limite:
                            raise Rechazo(excede)
                        if size > tope:
                            raise Rechazo(bomba)
                        yield out
                self._vigente()  # a deadline ends a read as an end of file would
                if decoder is not None:
                    tail = decoder.flush()
                    size += len(tail)
                    if size > limite:
                        raise Rechazo(excede)
                    if not decoder.eof:
                        raise Rechazo(f"{rel}: respuesta gzip truncada")
                    if tail:
                        yield tail
                _check_complete(response, wire, rel)
        except (DifusorError, OSError, http.client.HTTPException):
            self.close()  # an answer left half read cannot carry the next request
            self._vigente()  # the deadline is why, whatever the read said
            raise
        except BaseException:
            self.close()
            raise
        finally:
            with self._lock:
                self.bytes_red += wire

    def _read(self, response: http.client.HTTPResponse, rel: str) -> bytes:
        try:
            return response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self._vigente()
            raise OrigenNoDisponible(f"{rel}: la descarga se interrumpió "
                                     f"({exc or type(exc).__name__})") from None

    def close(self) -> None:
        """Close this thread's connection (the next request opens another)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close_all(self) -> None:
        """Close the connections of every thread (when done with the origin)."""
        with self._lock:
            abiertas, self._abiertas = self._abiertas, []
        for conn in abiertas:
            conn.close()

    def abort(self, mensaje: str) -> None:
        """End every download in progress now (Ctrl+C, a deadline, or another file
        refused the corte): each thread's read fails at once instead of at its timeout,
        and every request after fails with ``mensaje`` (:class:`PlazoVencido`), one
        whose connection was still opening included. The connections stay listed, so
        :meth:`close_all` still closes them."""
        if self._vencido is None:
            self._vencido = mensaje
        with self._lock:
            abiertas = list(self._abiertas)
        for conn in abiertas:
            if conn.sock is not None:
                # The plain socket's shutdown: the TLS layer's own would also drop its
                # state under a thread that is reading through it.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)

    def _open(self, rel: str, limite: int) -> http.client.HTTPResponse:
        path = self.base + quote(rel)
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._request(path)
            if response.status in (301, 302, 303, 307, 308):
                path = self._redirect(response, rel)
                continue
            if response.status == 200:
                length = response.getheader("Content-Length")
                if length is not None and length.isdigit() and int(length) > limite \
                        and response.getheader("Content-Encoding") is None:
                    self.close()
                    raise Rechazo(f"{rel}: excede el límite de {limite:,} bytes por archivo "
                                  f"(el origen anuncia {int(length):,})")
                return response
            response.read(64 * 1024)
            if response.status in (404, 410):
                raise NoEncontrado(f"{rel}: no está en el origen (HTTP {response.status})")
            if response.status >= 500 or response.status == 429:
                raise OrigenNoDisponible(f"el origen respondió HTTP {response.status} a {rel}")
            raise DifusorError(f"el origen respondió HTTP {response.status} a {rel}")
        raise Rechazo(f"{rel}: demasiadas redirecciones")

    def _redirect(self, response: http.client.HTTPResponse, rel: str) -> str:
        response.read(64 * 1024)
        location = response.getheader("Location") or ""
        target = urlsplit(urljoin(f"https://{self.host}:{self.port}{self.base}", location))
        if (target.scheme, target.hostname, target.port or 443) != \
                ("https", self.host, self.port):
            raise Rechazo(f"{rel}: el origen redirige fuera de sí mismo ({location!r}); no "
                          "se sigue")
        return target.path + (f"?{target.query}" if target.query else "")

    def _request(self, path: str) -> http.client.HTTPResponse:
        headers = {"User-Agent": f"prep-difusor/{__version__}", "Accept-Encoding": "gzip"}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("GET", path, headers=headers)
                # An abort that came while this connection was opening found no socket
                # to shut down: it is seen here, before a slow origin's answer is read.
                self._vigente()
                return conn.getresponse()
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise OrigenNoDisponible(f"el certificado TLS de {self.url} no es válido: "
                                         f"{exc.verify_message}") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                self._vigente()
                # A kept-alive connection the server closed meanwhile: one new try.
                if attempt == 2 or not isinstance(
                        exc, http.client.RemoteDisconnected | ConnectionResetError
                        | BrokenPipeError):
                    raise OrigenNoDisponible(f"no se pudo consultar {self.url}: "
                                             f"{exc or type(exc).__name__}") from None
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPSConnection:
        self._vigente()
        conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self._timeout,
                                               context=self._context)
            self._local.conn = conn
            with self._lock:
                self._abiertas.append(conn)
        return conn


def _check_complete(response: http.client.HTTPResponse, size: int, rel: str) -> None:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) != size:
        raise Rechazo(f"{rel}: respuesta truncada ({size:,} de {int(length):,} bytes)")
