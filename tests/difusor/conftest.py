"""Fixtures of the difusor tests: the institute's publication served over real HTTPS on
loopback, and a difusor's settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from difusor.config import Config
from difusor.config import Limites
from tests.difusor.cortes import HUELLA
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.harness.netns_targets import TlsIdentity


@pytest.fixture
def identity(tmp_path: Path) -> TlsIdentity:
    return identidad(tmp_path / "tls")


@pytest.fixture
def publicacion(tmp_path: Path) -> Publicacion:
    return Publicacion(tmp_path / "central")


@pytest.fixture
def origen(publicacion: Publicacion, identity: TlsIdentity) -> Iterator[OrigenHttps]:
    server = OrigenHttps(publicacion.path, identity)
    yield server
    server.stop()


def config_para(tmp_path: Path, identity: TlsIdentity, *urls: str,
                limites: Limites | None = None, conservar: int = 3) -> Config:
    return Config(origenes=urls, huella=HUELLA, raiz=tmp_path / "difusor" / "www",
                  conservar=conservar, ca=identity.cert_file,
                  limites=limites or Limites(segundos=10.0))


@pytest.fixture
def config(tmp_path: Path, identity: TlsIdentity, origen: OrigenHttps) -> Config:
    return config_para(tmp_path, identity, origen.url)


@pytest.fixture
def datos(tmp_path: Path) -> Path:
    return tmp_path / "difusor" / "datos"
