"""Debian's nginx with installer/nginx/prep-difusor.conf, edited as a sysadmin edits it
(name, certificates, root) and moved to loopback ports, as a real process: for the
tests and ``bench.sitio``."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.netns_targets import TlsIdentity
from tests.harness.tools import require_tool

CONF = Path(__file__).parents[2] / "installer" / "nginx" / "prep-difusor.conf"


def _nginx() -> str:
    return require_tool("nginx", "nginx", "/usr/sbin/nginx")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _edited(raiz: Path, identity: TlsIdentity, port: int, port_http: int) -> str:
    """The shipped file with the lines a sysadmin edits, and loopback ports."""
    text = CONF.read_text()
    edits = {"listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
             "listen [::]:443 ssl http2;": "", "listen [::]:80;": "",
             "listen 80;": f"listen 127.0.0.1:{port_http};",
             "/etc/ssl/prep/fullchain.pem": str(identity.cert_file),
             "/etc/ssl/prep/privkey.pem": str(identity.key_file),
             "/var/www/prep-difusor": str(raiz)}
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def nginx_serving(root: Path, identity: TlsIdentity, work: Path) -> Iterator[int]:
    """Debian's nginx with the shipped configuration serving ``root`` on loopback
    (files under ``work``); its HTTPS port. ``nginx -t`` must accept it first."""
    binary = _nginx()
    work.mkdir()
    port = _free_port()
    (work / "site.conf").write_text(_edited(root, identity, port, _free_port()))
    temp = " ".join(f"{kind}_temp_path {work / kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (work / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'};\n"
        "worker_processes 1;\nevents {}\n"
        "http {\n include /etc/nginx/mime.types;\n default_type application/octet-stream;\n"
        f" access_log off;\n {temp}\n include {work / 'site.conf'};\n}}\n")
    command = [binary, "-p", str(work), "-c", str(work / "nginx.conf"),
               "-e", str(work / "error.log")]
    test = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert test.returncode == 0, test.stderr
    assert "syntax is ok" in test.stderr
    server = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        esperar(lambda: _listens(port), holgado(60), "nginx no empezó a escuchar",
                vivo=lambda: None if server.poll() is None
                else (work / "error.log").read_text(), cada_s=0.1)
        yield port
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
