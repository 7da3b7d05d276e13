"""``indice.json`` (issue 30): every corte the central publishes is listed in its signed
index, in order and chained, with the SHA-256 of its manifest and its size; a difusor
pinned to the central's key follows it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from central.publication.feed import INDICE
from central.publication.feed import INDICE_FIRMA
from central.publication.feed import actualizar_indice
from difusor.config import Config
from difusor.seguir import consultar
from prep.corte.package import MANIFEST
from prep.crypto import VerifyKey
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.difusor.cortes import KEY
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog


def _indice(publicacion: Path) -> tuple[dict[str, object], VerifyKey]:
    data = (publicacion / INDICE).read_bytes()
    indice = json.loads(data)
    key = VerifyKey.from_b64(indice["llave"])
    key.verify((publicacion / INDICE_FIRMA).read_bytes(), data)
    return indice, key


def test_each_corte_of_the_central_enters_its_signed_index_and_a_difusor_follows_it(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    load_catalog(node, scale=0.02)
    publicacion = tmp_path / "publicacion"
    primero = corte_in_window(node, publicacion)
    segundo = make_corte(node, publicacion)
    indice, key = _indice(publicacion)
    assert f"Huella SHA-256 de la llave pública del nodo central: {key.fingerprint()}" in \
        (segundo / "LEEME.txt").read_text(encoding="utf-8")
    cortes = indice["cortes"]
    assert isinstance(cortes, list)
    assert [c["nombre"] for c in cortes] == [primero.name, segundo.name]
    assert [c["anterior"] for c in cortes] == [None, primero.name]
    for entrada, corte in zip(cortes, (primero, segundo), strict=True):
        manifest = (corte / MANIFEST).read_bytes()
        assert entrada["manifiesto_sha256"] == hashlib.sha256(manifest).hexdigest()
        assert entrada["bytes"] == sum(p.stat().st_size for p in corte.rglob("*")
                                       if p.is_file())
        assert entrada["hora"].startswith(f"{corte.name[:4]}-{corte.name[4:6]}-")

    identity = identidad(tmp_path / "tls")
    origen = OrigenHttps(publicacion, identity)
    try:
        config = Config(origenes=(origen.url,), huella=key.fingerprint(),
                        raiz=tmp_path / "www", ca=identity.cert_file)
        hecho = consultar(config, tmp_path / "difusor")
    finally:
        origen.stop()
    assert hecho.ok and hecho.corte == segundo.name, hecho.mensaje
    assert os.readlink(tmp_path / "www" / "latest") == segundo.name


def test_the_index_skips_unfinished_directories_and_keeps_earlier_entries(
        tmp_path: Path) -> None:
    publicacion = Publicacion(tmp_path)
    primero = publicacion.corte()
    (publicacion.path / f".{primero.name}_2.tmp-1-abcd").mkdir()  # a corte being written
    (publicacion.path / "20991231_2359").mkdir()  # no signed manifest: not a corte
    segundo = publicacion.corte()
    antes, _ = _indice(publicacion.path)
    (primero / "LEEME.txt").write_bytes(b"x")  # entries are computed once, when published
    despues = actualizar_indice(publicacion.path, KEY)
    assert [c["nombre"] for c in despues["cortes"]] == [primero.name, segundo.name]
    assert despues["cortes"] == antes["cortes"]
