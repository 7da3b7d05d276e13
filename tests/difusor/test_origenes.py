"""A difusor follows the institute's site and, when it is down or serves something the
pinned key did not sign, its contingency site; and a reader of the difusor's web root
never sees a partial corte while cortes come in and old ones are removed."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.publication.feed import actualizar_indice
from difusor.config import Config
from difusor.errores import DifusorError
from difusor.estado import cargar
from difusor.seguir import consultar
from tests.difusor.conftest import config_para
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.harness.netns_targets import TlsIdentity


class Contingencia:
    """The contingency site: a copy of ``publicacion/`` kept in step (as an rsync would)."""

    def __init__(self, publicacion: Publicacion, base: Path, identity: TlsIdentity) -> None:
        self.publicacion = publicacion
        self.path = base / "publicacion"
        self.path.mkdir(parents=True)
        self.server = OrigenHttps(self.path, identity)

    def sincronizar(self) -> None:
        shutil.copytree(self.publicacion.path, self.path, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("latest", "latest.txt"))


@pytest.fixture
def contingencia(publicacion: Publicacion, tmp_path: Path,
                 identity: TlsIdentity) -> Iterator[Contingencia]:
    site = Contingencia(publicacion, tmp_path / "contingencia", identity)
    yield site
    site.server.stop()


def test_when_the_institute_site_is_down_the_contingency_site_is_followed(
        publicacion: Publicacion, origen: OrigenHttps, contingencia: Contingencia,
        identity: TlsIdentity, tmp_path: Path, datos: Path) -> None:
    config = config_para(tmp_path, identity, origen.url, contingencia.server.url)
    primero = publicacion.corte()
    contingencia.sincronizar()
    assert consultar(config, datos).corte == primero.name
    assert cargar(datos).origen == origen.url

    origen.stop()
    segundo = publicacion.corte()
    contingencia.sincronizar()
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte == segundo.name, hecho.mensaje
    estado = cargar(datos)
    assert estado.origen == contingencia.server.url and estado.error is None
    assert estado.errores[-1]["origen"] == origen.url
    assert "no se pudo consultar" in estado.errores[-1]["mensaje"]
    # images already held are linked, not fetched again from the other site
    assert estado.descargas[segundo.name]["reutilizados"] > 0


def test_a_hijacked_institute_site_is_refused_and_the_contingency_site_followed(
        publicacion: Publicacion, origen: OrigenHttps, contingencia: Contingencia,
        identity: TlsIdentity, tmp_path: Path, datos: Path) -> None:
    config = config_para(tmp_path, identity, origen.url, contingencia.server.url)
    publicacion.corte()
    contingencia.sincronizar()
    actualizar_indice(publicacion.path, Publicacion(tmp_path / "x").key.generate())
    hecho = consultar(config, datos)
    assert hecho.ok and cargar(datos).origen == contingencia.server.url, hecho.mensaje
    assert "firmado con otra llave" in cargar(datos).errores[-1]["mensaje"]


def test_both_sites_down_keeps_the_served_corte_and_says_so(
        publicacion: Publicacion, origen: OrigenHttps, contingencia: Contingencia,
        identity: TlsIdentity, tmp_path: Path, datos: Path) -> None:
    config = config_para(tmp_path, identity, origen.url, contingencia.server.url)
    primero = publicacion.corte()
    assert consultar(config, datos).ok
    origen.stop()
    contingencia.server.stop()
    hecho = consultar(config, datos)
    assert not hecho.ok and hecho.corte == primero.name
    assert origen.url in hecho.mensaje and contingencia.server.url in hecho.mensaje
    assert os.readlink(config.raiz / "latest") == primero.name


def test_a_reader_never_sees_a_partial_corte_while_cortes_switch(
        publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path, datos: Path) -> None:
    """A reader that follows ``latest`` as a web server does finds, every time, a corte
    with every file its manifest lists and the hash it lists, while four cortes come in
    and the oldest are removed (two kept)."""
    config = config_para(tmp_path, identity, origen.url, conservar=2)
    publicacion.corte()
    assert consultar(config, datos).ok
    vistos: list[str] = []
    problemas: list[str] = []
    listo = threading.Event()

    def leer() -> None:
        while not listo.is_set():
            nombre = (config.raiz / "latest.txt").read_text().strip()
            enlace = os.readlink(config.raiz / "latest")
            problemas.extend(_incompleto(config.raiz / enlace))
            vistos.append(nombre)

    lector = threading.Thread(target=leer)
    lector.start()
    try:
        publicados = []
        for _ in range(4):
            publicados.append(publicacion.corte().name)
            assert consultar(config, datos).ok
    finally:
        listo.set()
        lector.join()
    assert not problemas, problemas[:5]
    assert len(set(vistos)) >= 2
    assert sorted(n for n in os.listdir(config.raiz) if n[0].isdigit()) == publicados[-2:]


def _incompleto(corte: Path) -> list[str]:
    """What a reader of ``corte`` would miss (listed files absent or different)."""
    try:
        lines = (corte / "MANIFIESTO.sha256").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return [f"{corte.name}: sin manifiesto"]
    missing = []
    for line in lines:
        digest, rel = line[:64], line[66:]
        try:
            actual = hashlib.sha256((corte / rel).read_bytes()).hexdigest()
        except FileNotFoundError:
            missing.append(f"{corte.name}/{rel}: falta")
            continue
        if actual != digest:
            missing.append(f"{corte.name}/{rel}: incompleto")
    return missing


def test_config_rejects_an_origin_without_https(tmp_path: Path) -> None:
    with pytest.raises(DifusorError, match="https"):
        Config(origenes=("http://ejemplo.mx/prep/",), huella="0" * 64, raiz=tmp_path)
