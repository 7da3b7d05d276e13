"""A real HTTPS static server on loopback serving a ``publicacion/`` directory, as the
institute's site (or its contingency site) would: the standard library's file server
behind TLS with a self-signed certificate the difusor is given as its CA."""

from __future__ import annotations

import functools
import gzip
import http.server
import ssl
import threading
from pathlib import Path
from typing import Any

from tests.harness.netns_targets import TlsIdentity
from tests.harness.netns_targets import make_identity


class _Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real static server
    disable_nagle_algorithm = True  # headers and body go in two writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        """Serve the file, unless the test set a misbehaviour for this path: a redirect
        (``("redirigir", location)``) or an answer cut halfway through its body
        (``("cortar", "")``: the full Content-Length, half the bytes, connection closed),
        or one that stalls there (``("detener", "")``: half the bytes, then nothing until
        the test sets :attr:`OrigenHttps.liberar`, :attr:`OrigenHttps.detener_s` at most),
        or the whole file with no Content-Length, in chunks (``("trozos", "")``, as nginx
        answers what it compresses on the fly; ``("gzip", "")``: the same,
        gzip-compressed)."""
        rule = getattr(self.server, "reglas", {}).get(self.path)
        if rule is None:
            super().do_GET()
            return
        kind, value = rule
        if kind == "crudo":  # bytes and headers as the test gives them (a gzip bomb)
            self._crudo(*self.server.crudos[self.path])  # type: ignore[attr-defined]
            return
        if kind == "goteo":
            self._goteo()
            return
        if kind in ("trozos", "gzip"):
            self._chunked(Path(self.translate_path(self.path)).read_bytes(), kind == "gzip")
            return
        if kind == "redirigir":
            self.send_response(302)
            self.send_header("Location", value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        if kind == "detener":
            self.wfile.flush()
            self.server.detenido.set()  # type: ignore[attr-defined]
            self.server.liberar.wait(self.server.detener_s)  # type: ignore[attr-defined]
        self.close_connection = True


    def _crudo(self, headers: dict[str, str], body: bytes) -> None:
        self.send_response(200)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _goteo(self) -> None:
        """A megabyte announced, then one byte every :attr:`OrigenHttps.goteo_s`, each
        within any read timeout, until the client leaves or the test sets ``liberar``."""
        self.send_response(200)
        self.send_header("Content-Length", str(2**20))
        self.end_headers()
        self.wfile.flush()
        self.server.goteando.set()  # type: ignore[attr-defined]
        try:
            while not self.server.liberar.wait(self.server.goteo_s):  # type: ignore[attr-defined]
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass  # the client gave up: what the test expects
        self.close_connection = True

    def _chunked(self, data: bytes, comprimir: bool) -> None:
        self.send_response(200)
        if comprimir:
            data = gzip.compress(data, mtime=0)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for k in range(0, len(data), 4096):
            part = data[k:k + 4096]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")


class OrigenHttps:
    """``https://127.0.0.1:<port>/prep/`` → ``directory`` (started at once)."""

    def __init__(self, directory: Path, identity: TlsIdentity) -> None:
        self.directory = directory
        self.identity = identity
        handler = functools.partial(_Quiet, directory=str(directory.parent))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        #: URL path → misbehaviour (see ``_Quiet.do_GET``), changed by tests at will.
        self.reglas: dict[str, tuple[str, str]] = {}
        self._server.reglas = self.reglas  # type: ignore[attr-defined]
        #: Set when a ``detener`` answer stalls; set ``liberar`` to let it end.
        self.detenido = threading.Event()
        self.liberar = threading.Event()
        self._server.detenido = self.detenido  # type: ignore[attr-defined]
        self._server.liberar = self.liberar  # type: ignore[attr-defined]
        self._server.detener_s = 120.0  # type: ignore[attr-defined]
        #: URL path → (headers, body) of a ``crudo`` answer.
        self.crudos: dict[str, tuple[dict[str, str], bytes]] = {}
        self._server.crudos = self.crudos  # type: ignore[attr-defined]
        #: Set when a ``goteo`` answer started; seconds between its bytes.
        self.goteando = threading.Event()
        self._server.goteando = self.goteando  # type: ignore[attr-defined]
        self._server.goteo_s = 1.0  # type: ignore[attr-defined]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(identity.cert_file, identity.key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}/{directory.name}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def detener_s(self) -> float:
        """Seconds a ``detener`` answer stalls unless :attr:`liberar` is set first."""
        return float(self._server.detener_s)  # type: ignore[attr-defined]

    @detener_s.setter
    def detener_s(self, seconds: float) -> None:
        self._server.detener_s = seconds  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Down: the port refuses connections from now on."""
        if not self._thread.is_alive():
            return
        self.liberar.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def identidad(directory: Path) -> TlsIdentity:
    directory.mkdir(parents=True, exist_ok=True)
    return make_identity(directory, "origen-prep")
