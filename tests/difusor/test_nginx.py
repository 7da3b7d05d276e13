"""installer/nginx/prep-difusor.conf as a sysadmin installs it, in front of a
``publicacion/`` directory: Debian's nginx accepts it (``nginx -t``) and serves the
cortes with a year's cache, the moving names with none, compressed text, no listing, no
hidden paths and nothing but GET/HEAD; a difusor follows that nginx as its origin (gzip
undone as it arrives)."""

from __future__ import annotations

import gzip
import http.client
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from difusor.estado import cargar
from difusor.seguir import consultar
from prep.corte.verify import verify_corte
from tests.difusor.conftest import config_para
from tests.difusor.cortes import HUELLA
from tests.difusor.cortes import Publicacion
from tests.difusor.nginx import nginx_serving
from tests.harness.netns_targets import TlsIdentity


@pytest.fixture
def nginx(tmp_path: Path, identity: TlsIdentity, publicacion: Publicacion) -> Iterator[int]:
    publicacion.path.mkdir(parents=True, exist_ok=True)
    with nginx_serving(publicacion.path, identity, tmp_path / "nginx") as port:
        yield port


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


def test_nginx_serves_the_log_of_cortes(tmp_path: Path, identity: TlsIdentity) -> None:
    """Issue 67: ``transparencia/`` beside the cortes (the shipped configuration answered
    404 to anything but cortes and the index): the moving names with no cache, the
    immutable ones for a year, no hidden file; a difusor behind it checks the log and
    mirrors it."""
    publicacion = Publicacion(tmp_path / "central", registro=True)
    publicacion.corte()
    publicacion.corte()
    (publicacion.path / "transparencia" / ".checkpoint.tmp").write_text("no")
    with nginx_serving(publicacion.path, identity, tmp_path / "nginx") as port:
        log = publicacion.path / "transparencia"
        for rel in ("checkpoint", "cofirmas/2", "llave"):
            status, headers, body = _get(port, identity, f"/transparencia/{rel}")
            assert status == 200 and body == (log / rel).read_bytes(), rel
            assert headers["cache-control"] == "no-cache", rel
        for rel in ("checkpoints/2", "entradas/1", "pruebas/inclusion/1",
                    "pruebas/consistencia/2"):
            status, headers, body = _get(port, identity, f"/transparencia/{rel}")
            assert status == 200 and body == (log / rel).read_bytes(), rel
            assert "immutable" in headers["cache-control"], rel
            assert headers.get("strict-transport-security") == "max-age=31536000", rel
        assert _get(port, identity, "/transparencia/.checkpoint.tmp")[0] == 404
        config = config_para(tmp_path, identity, f"https://127.0.0.1:{port}/")
        hecho = consultar(config, tmp_path / "datos")
    assert hecho.ok, hecho.mensaje
    assert (config.raiz / "transparencia" / "checkpoint").read_bytes() == \
        (publicacion.path / "transparencia" / "checkpoint").read_bytes()


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


def test_nginx_serves_no_hidden_file_and_every_answer_carries_hsts_and_no_framing(
        publicacion: Publicacion, identity: TlsIdentity, nginx: int) -> None:
    """Issue 62: ``/latest/`` (a ``^~`` prefix, which skips the regular expressions) served
    hidden files, such as a temporary file left in a corte's directory; and no answer
    told browsers to keep to HTTPS (HSTS) nor forbade framing the site."""
    corte = publicacion.corte()
    (corte / ".borrador.tmp").write_text("no")
    (corte / "sitio" / ".oculto").write_text("no")
    for path in ("/latest/.borrador.tmp", "/latest/sitio/.oculto",
                 f"/{corte.name}/.borrador.tmp", f"/{corte.name}/sitio/.oculto"):
        assert _get(nginx, identity, path)[0] == 404, path
    for path in ("/", "/latest/sitio/index.html", f"/{corte.name}/LEEME.txt",
                 "/indice.json", "/latest.txt", "/no-existe", "/latest/.borrador.tmp"):
        status, headers, _ = _get(nginx, identity, path)
        assert headers.get("strict-transport-security") == "max-age=31536000", (path, status)
        assert headers.get("x-frame-options") == "DENY", (path, status)
