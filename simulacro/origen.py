"""The drill's origin: ``OUT/publicacion`` served over HTTPS on loopback, as the
institute's site serves it to the difusores (issue 30), and what a difusor must survive
there: the site down, and what a broken mirror or an attacker would serve instead.

The server is a process of its own (``python -m simulacro.origen``: the standard library's
static file server behind TLS, with a self-signed certificate the difusores get as their
CA), so taking the site down is stopping that process. What it serves altered is read
from a small control file at each request (:meth:`Origen.alterar`):

- ``voltear``: one byte of every CSV of a corte flipped on the way out (the index and the
  manifests stay the institute's, signed);
- ``indice``: ``indice.json`` and its signature served from another directory (an index
  signed by another key, or an old genuine one replayed);
- ``bifurcacion``: to one difusor only, a forged history of cortes (issue 67,
  :mod:`simulacro.bifurcacion`): each difusor follows the site at a path of its own
  (:meth:`Origen.url_de`, ``/vista/<difusor>/publicacion/``), as a site that tells its
  clients apart would; the forged directory's files (and anything under a top-level
  name it has) replace the genuine ones for that difusor alone.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import ssl
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

from simulacro.nodo import _first_json_line
from simulacro.nodo import _terminate

INDICE = "indice.json"
INDICE_FIRMA = "indice.json.sig"
_CSV_DE_CORTE = re.compile(r"[0-9]{8}_[0-9]{4}(?:_[0-9]+)?/[^/]+\.csv")
_VISTA = re.compile(r"/vista/([a-z0-9]{1,32})(/.*)")


class Origen:
    """The origin process serving ``publicacion`` at ``https://127.0.0.1:PORT/publicacion/``
    (the same port across a stop and a start, as a site that comes back)."""

    def __init__(self, publicacion: Path, work: Path, logs: Path) -> None:
        self.publicacion = publicacion
        self.work = work
        self.logs = logs
        self.cert = work / "origen.crt"
        self.key = work / "origen.key"
        self.control = work / "control.json"
        self.port = 0
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/{self.publicacion.name}/"

    def url_de(self, vista: str) -> str:
        """The same site at a path of ``vista``'s own (a difusor's name): what a split
        view serves it may differ (``bifurcacion``)."""
        return f"https://127.0.0.1:{self.port}/vista/{vista}/{self.publicacion.name}/"

    def start(self) -> None:
        """Serve (the previous port on a restart); wait until it listens."""
        if self.starts == 0:
            self.work.mkdir(parents=True, exist_ok=True)
            self.logs.mkdir(parents=True, exist_ok=True)
            _self_signed(self.cert, self.key)
            self.alterar()
        self.starts += 1
        stdout = self.logs / f"origen-{self.starts}.json"
        with stdout.open("wb") as out, (self.logs / "origen.log").open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "simulacro.origen", "--publicacion", str(self.publicacion),
                 "--cert", str(self.cert), "--key", str(self.key), "--port", str(self.port),
                 "--control", str(self.control)], stdout=out, stderr=err)
        info = _first_json_line(stdout, self.process, self.logs / "origen.log")
        self.port = int(info["port"])

    def stop(self) -> None:
        """Down: the port refuses connections until :meth:`start`."""
        _terminate(self.process, timeout=10.0)

    def alterar(self, voltear: bool = False, indice: Path | None = None,
                bifurcacion: tuple[str, Path] | None = None) -> None:
        """What the origin serves from its next request on (nothing altered by default);
        ``bifurcacion``: (vista, forged publication) served to that vista alone."""
        data = json.dumps({"voltear": voltear, "indice": str(indice) if indice else None,
                           "bifurcacion": [bifurcacion[0], str(bifurcacion[1])]
                           if bifurcacion else None})
        tmp = self.control.with_name(f".{self.control.name}.tmp")
        tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, self.control)


def _self_signed(cert_file: Path, key_file: Path) -> None:
    """A fresh self-signed P-256 certificate valid for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "origen-simulacro")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                IPv4Address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)


# the server process ---------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real static server
    disable_nagle_algorithm = True

    def __init__(self, *args: Any, base: str, control: Path, **kwargs: Any) -> None:
        self.base = base
        self.control = control
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        vista = None
        if (match := _VISTA.fullmatch(path)) is not None:
            vista, path = match.group(1), match.group(2)
            self.path = path  # the genuine file, unless the vista is served another
        rel = path[len(self.base):] if path.startswith(self.base) else None
        try:
            control = json.loads(self.control.read_bytes())
        except (OSError, ValueError):
            control = {}
        bifurcacion = control.get("bifurcacion")
        forjado = Path(bifurcacion[1]) if bifurcacion and vista == bifurcacion[0] else None
        if rel and forjado is not None and (forjado / rel.split("/", 1)[0]).exists():
            file = (forjado / rel).resolve()
            if file.is_relative_to(forjado.resolve()):
                self._send(file)
            else:
                self.send_error(404)
        elif rel in (INDICE, INDICE_FIRMA) and control.get("indice"):
            self._send(Path(control["indice"]) / rel)
        elif rel is not None and control.get("voltear") and _CSV_DE_CORTE.fullmatch(rel):
            self._send(Path(self.translate_path(self.path)), voltear=True)
        else:
            super().do_GET()

    def _send(self, file: Path, voltear: bool = False) -> None:
        try:
            data = bytearray(file.read_bytes())
        except OSError:
            self.send_error(404)
            return
        if voltear and data:
            data[len(data) // 2] ^= 0x20
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulacro.origen")
    parser.add_argument("--publicacion", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control", type=Path, required=True)
    args = parser.parse_args(argv)
    publicacion = args.publicacion.resolve()
    handler = functools.partial(_Handler, base=f"/{publicacion.name}/", control=args.control,
                                directory=str(publicacion.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"port": server.server_address[1], "pid": os.getpid()}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
