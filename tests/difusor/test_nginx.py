"""installer/nginx/prep-difusor.conf as a sysadmin installs it, in front of a
``publicacion/`` directory: Debian's nginx accepts it (``nginx -t``) and serves the
cortes with a year's cache, the moving names with none, compressed text, no listing, no
hidden paths and nothing but GET/HEAD; a difusor follows that nginx as its origin (gzip
undone as it arrives) and its own root is served the same way."""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from difusor.estado import cargar
from difusor.seguir import consultar
from prep.corte.verify import verify_corte
from tests.difusor.conftest import config_para
from tests.difusor.cortes import HUELLA, Publicacion
from tests.harness.netns_targets import TlsIdentity

CONF = Path(__file__).parents[2] / "installer" / "nginx" / "prep-difusor.conf"


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if found is None:
        pytest.skip("nginx no está instalado (scripts/bootstrap.sh --test lo instala)")
    return found


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


@pytest.fixture
def nginx(tmp_path: Path, identity: TlsIdentity, publicacion: Publicacion) -> Iterator[int]:
    binary = _nginx()
    work = tmp_path / "nginx"
    work.mkdir()
    port = _free_port()
    publicacion.path.mkdir(parents=True, exist_ok=True)
    (work / "site.conf").write_text(_edited(publicacion.path, identity, port, _free_port()))
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
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, (work / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx no empezó a escuchar"
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _get(port: int, identity: TlsIdentity, path: str, method: str = "GET",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context(cafile=str(identity.cert_file))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_nginx_serves_published_cortes_with_the_shipped_configuration(
        publicacion: Publicacion, identity: TlsIdentity, nginx: int) -> None:
    corte = publicacion.corte()
    (publicacion.path / ".staging").mkdir()
    (publicacion.path / ".staging" / "secreto.txt").write_text("no")
    name = corte.name

    status, headers, body = _get(nginx, identity, f"/{name}/LEEME.txt")
    assert status == 200 and body == (corte / "LEEME.txt").read_bytes()
    assert "immutable" in headers["cache-control"] and "31536000" in headers["cache-control"]

    for moving in ("/latest.txt", "/indice.json", "/indice.json.sig"):
        status, headers, body = _get(nginx, identity, moving)
        assert status == 200 and body == (publicacion.path / moving[1:]).read_bytes()
        assert headers["cache-control"] == "no-cache"

    status, headers, body = _get(nginx, identity, "/latest/MANIFIESTO.sha256")
    assert status == 200 and body == (corte / "MANIFIESTO.sha256").read_bytes()
    assert headers["cache-control"] == "public, max-age=5"

    csv = f"/{name}/JEFATURA_DE_GOBIERNO.csv"
    status, headers, body = _get(nginx, identity, csv, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert headers["content-type"].startswith("text/csv")
    assert gzip.decompress(body) == (corte / "JEFATURA_DE_GOBIERNO.csv").read_bytes()

    image = next((corte / "imagenes").iterdir())
    assert _get(nginx, identity, f"/{name}/imagenes/{image.name}")[0] == 200
    assert _get(nginx, identity, f"/{name}/imagenes/")[0] in (403, 404)  # no listing
    assert _get(nginx, identity, "/.staging/secreto.txt")[0] == 404
    assert _get(nginx, identity, f"/{name}/LEEME.txt", method="POST")[0] == 405
    status, headers, _ = _get(nginx, identity, "/")
    assert status == 302 and headers["location"].endswith("/latest/sitio/")


def test_a_difusor_follows_an_nginx_origin_and_text_crosses_the_network_compressed(
        publicacion: Publicacion, identity: TlsIdentity, nginx: int, tmp_path: Path,
        datos: Path) -> None:
    config = config_para(tmp_path, identity, f"https://127.0.0.1:{nginx}/")
    publicacion.corte()
    segundo = publicacion.corte()
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte == segundo.name, hecho.mensaje
    assert verify_corte(config.raiz / "latest", huella=HUELLA).ok
    descarga = cargar(datos).descargas[segundo.name]
    assert descarga["bytes_red"] < descarga["bytes_descargados"] / 2
