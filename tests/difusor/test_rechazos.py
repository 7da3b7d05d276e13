"""What a difusor refuses, and that the corte it already serves stays online each time:
an index or a manifest signed by another key, an altered index, a rollback to an older
corte, a truncated or altered file, a path outside the corte, an oversized file, and a
corte whose hashes match but whose content fails ``prep verify-corte``."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest

from central.publication.feed import INDICE
from central.publication.feed import actualizar_indice
from difusor.config import Config
from difusor.config import Limites
from difusor.estado import cargar
from difusor.indice import es_corte
from difusor.indice import orden
from difusor.seguir import Consulta
from difusor.seguir import consultar
from prep.corte.package import MANIFEST
from prep.crypto import SigningKey
from tests.difusor.conftest import config_para
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.harness.netns_targets import TlsIdentity

OTRA = SigningKey.generate()


@pytest.fixture
def servido(publicacion: Publicacion, config: Config, datos: Path) -> str:
    """The difusor already serves the first corte; the origin has published a second."""
    primero = publicacion.corte()
    assert consultar(config, datos).ok
    publicacion.corte()
    return primero.name


def refused(config: Config, datos: Path, servido: str, *texts: str) -> Consulta:
    """The poll failed, said why (also in ``status``'s state), and ``servido`` is still
    what readers get, whole; nothing is left half-published."""
    hecho = consultar(config, datos)
    assert not hecho.ok, hecho.mensaje
    assert hecho.corte == servido
    for text in texts:
        assert text in hecho.mensaje
        assert text in (cargar(datos).error or "")
    assert os.readlink(config.raiz / "latest") == servido
    assert (config.raiz / "latest.txt").read_text() == f"{servido}\n"
    served = [n for n in os.listdir(config.raiz) if es_corte(n)]
    assert max(served, key=orden) == servido
    return hecho


def test_an_index_signed_by_another_key_is_refused(
        publicacion: Publicacion, config: Config, datos: Path, servido: str) -> None:
    actualizar_indice(publicacion.path, OTRA)
    refused(config, datos, servido, "firmado con otra llave", OTRA.public.fingerprint())


def test_an_altered_index_is_refused(publicacion: Publicacion, config: Config, datos: Path,
                                     servido: str) -> None:
    indice, firma = publicacion.indice()
    publicacion.poner_indice((indice.replace(b'"bytes": ', b'"bytes": 1'), firma))
    refused(config, datos, servido, "no corresponde a indice.json")


def test_a_manifest_signed_by_another_key_is_refused(
        publicacion: Publicacion, config: Config, datos: Path, servido: str) -> None:
    assert publicacion.ultimo is not None
    publicacion.refirmar(publicacion.ultimo, OTRA)
    refused(config, datos, servido, "no está firmado con la llave del instituto")


def test_a_rollback_to_an_older_corte_is_refused(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    publicacion.corte()
    assert consultar(config, datos).ok
    viejo = publicacion.indice()  # validly signed, and true when it was published
    segundo = publicacion.corte()
    assert consultar(config, datos).corte == segundo.name
    publicacion.poner_indice(viejo)
    refused(config, datos, segundo.name, "se rechaza la reversión")


def test_a_truncated_file_is_refused_and_fetched_again_once_whole(
        publicacion: Publicacion, config: Config, datos: Path, servido: str) -> None:
    assert publicacion.ultimo is not None
    image = _new_image(publicacion.ultimo, config.raiz / servido)
    whole = image.read_bytes()
    image.write_bytes(whole[: len(whole) // 2])
    refused(config, datos, servido, image.name, "truncado o alterado")
    image.write_bytes(whole)
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte == publicacion.ultimo.name, hecho.mensaje
    assert cargar(datos).error is None


def test_an_altered_file_is_refused(publicacion: Publicacion, config: Config, datos: Path,
                                    servido: str) -> None:
    assert publicacion.ultimo is not None
    csv = next(p for p in sorted(publicacion.ultimo.glob("*.csv")))
    data = bytearray(csv.read_bytes())
    data[len(data) // 2] ^= 0x01
    csv.write_bytes(bytes(data))
    refused(config, datos, servido, csv.name, "truncado o alterado")


@pytest.mark.parametrize("ruta", ["../fuera.txt", "sitio/../../../fuera.txt",
                                  "/tmp/fuera.txt", ".staging/fuera.txt", "sitio/.fuera",
                                  "LEEME.txt/fuera"])
def test_a_path_outside_the_corte_is_refused_before_anything_is_written(
        publicacion: Publicacion, config: Config, datos: Path, servido: str,
        tmp_path: Path, ruta: str) -> None:
    """Even in a manifest the institute's key signed (a central with a bug, or a stolen
    key): nothing of that corte is fetched."""
    assert publicacion.ultimo is not None
    publicacion.listar(publicacion.ultimo, ruta, b"fuera\n")
    refused(config, datos, servido, "a la vez archivo y carpeta" if ruta.startswith("LEEME")
            else "ruta no permitida")
    assert not [p for p in tmp_path.rglob("*fuera*") if "central" not in p.parts]


def test_an_oversized_file_is_refused(publicacion: Publicacion, identity: TlsIdentity,
                                      origen: OrigenHttps, datos: Path, tmp_path: Path,
                                      servido: str) -> None:
    assert publicacion.ultimo is not None
    held = _manifest(config_para(tmp_path, identity, origen.url).raiz / servido)
    new = _manifest(publicacion.ultimo)
    largest = max((publicacion.ultimo / rel).stat().st_size for rel, digest in new.items()
                  if digest not in held.values())
    limites = Limites(archivo=largest - 1, segundos=10.0)
    config = config_para(tmp_path, identity, origen.url, limites=limites)
    refused(config, datos, servido, "excede el límite", f"{largest - 1:,} bytes")


@pytest.mark.parametrize("respuesta", ["trozos", "gzip"])
def test_an_oversized_file_sent_without_its_length_is_refused_as_it_arrives(
        respuesta: str, publicacion: Publicacion, identity: TlsIdentity, origen: OrigenHttps,
        datos: Path, tmp_path: Path, servido: str) -> None:
    """An origin that does not announce a file's size (chunked, or compressed on the
    fly: nginx's gzip) is stopped by the bytes it sends, however few on the wire."""
    ultimo = publicacion.ultimo
    assert ultimo is not None
    held = _manifest(config_para(tmp_path, identity, origen.url).raiz / servido)
    new = {rel: (ultimo / rel).stat().st_size for rel, digest in _manifest(ultimo).items()
           if digest not in held.values()}
    limite = max(new.values()) - 1
    for rel, size in new.items():
        if size > limite:
            origen.reglas[f"/publicacion/{ultimo.name}/{rel}"] = (respuesta, "")
    config = config_para(tmp_path, identity, origen.url,
                         limites=Limites(archivo=limite, segundos=10.0))
    hecho = refused(config, datos, servido, "excede el límite", f"{limite:,} bytes")
    assert "el origen anuncia" not in hecho.mensaje  # stopped by what arrived
    # Nothing past the limit stays on the difusor's disk.
    staging = config.raiz / ".staging" / ultimo.name
    for rel, size in new.items():
        if size > limite:
            assert not (staging / rel).exists() or (staging / rel).stat().st_size <= limite
    origen.reglas.clear()
    hecho = consultar(config_para(tmp_path, identity, origen.url), datos)
    assert hecho.ok and hecho.corte == ultimo.name, hecho.mensaje


@pytest.mark.parametrize("limite", ["indice", "manifiesto", "corte", "archivos"])
def test_each_limit_of_the_difusor_refuses_a_corte_just_over_it(
        limite: str, publicacion: Publicacion, identity: TlsIdentity, origen: OrigenHttps,
        datos: Path, tmp_path: Path, servido: str) -> None:
    """docs/difusores.md, «Límites»: the signed index's size, the manifest's, the bytes a
    corte makes the difusor fetch and the files it lists; one less than this corte needs
    refuses it, saying which limit, and the corte served stays online. Within them it is
    taken."""
    ultimo = publicacion.ultimo
    assert ultimo is not None
    held = _manifest(config_para(tmp_path, identity, origen.url).raiz / servido)
    listed = _manifest(ultimo)
    needs = {"indice": (publicacion.path / INDICE).stat().st_size,
             "manifiesto": (ultimo / MANIFEST).stat().st_size,
             "corte": sum((ultimo / rel).stat().st_size for rel, digest in listed.items()
                          if digest not in held.values()),
             "archivos": len(listed)}[limite]
    said = {"indice": f"excede el límite de {needs - 1:,} bytes",
            "manifiesto": f"excede el límite de {needs - 1:,} bytes",
            "corte": f"excede el límite de {needs - 1:,} bytes por corte",
            "archivos": f"más de {needs - 1:,} archivos"}[limite]
    justo = replace(Limites(segundos=10.0), **{limite: needs - 1})
    refused(config_para(tmp_path, identity, origen.url, limites=justo), datos, servido, said)
    cabe = replace(Limites(segundos=10.0), **{limite: needs})
    hecho = consultar(config_para(tmp_path, identity, origen.url, limites=cabe), datos)
    assert hecho.ok and hecho.corte == ultimo.name, hecho.mensaje


def test_a_corte_that_fails_verification_is_never_served_nor_fetched_again(
        publicacion: Publicacion, config: Config, datos: Path, servido: str) -> None:
    """Every file has the hash its signed manifest says, but an election's summary is
    not what its rows give: ``prep verify-corte``'s checks run on the download."""
    corte = publicacion.ultimo
    assert corte is not None
    csv = corte / "JEFATURA_DE_GOBIERNO.csv"
    lines = csv.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b",", b",9", 1)  # line 5: the summary
    csv.write_bytes(b"\n".join(lines))
    manifest = (corte / MANIFEST).read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256(csv.read_bytes()).hexdigest()
    (corte / MANIFEST).write_text("".join(
        (f"{digest}  {csv.name}" if line.endswith(f"  {csv.name}") else line) + "\n"
        for line in manifest), encoding="utf-8")
    publicacion.refirmar(corte)
    refused(config, datos, servido, "no pasó la verificación", csv.name)
    assert not (config.raiz / ".staging" / corte.name).exists()
    refused(config, datos, servido, "ya falló la verificación")


def _new_image(corte: Path, served: Path) -> Path:
    """An image of ``corte`` that the difusor does not hold yet (it must fetch it)."""
    held = {p.name for p in (served / "imagenes").iterdir()}
    return next(p for p in sorted((corte / "imagenes").iterdir()) if p.name not in held)


def _manifest(corte: Path) -> dict[str, str]:
    lines = (corte / MANIFEST).read_text(encoding="utf-8").splitlines()
    return {line[66:]: line[:64] for line in lines}


def test_a_redirect_off_the_origin_is_not_followed(
        publicacion: Publicacion, origen: OrigenHttps, config: Config, datos: Path,
        servido: str) -> None:
    origen.reglas["/publicacion/indice.json"] = ("redirigir",
                                                "https://otro.example/indice.json")
    refused(config, datos, servido, "redirige fuera de sí mismo")
    origen.reglas["/publicacion/indice.json"] = ("redirigir",
                                                "/publicacion/indice.json?mismo=origen")
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte != servido, hecho.mensaje


def test_a_transfer_cut_halfway_keeps_the_served_corte_and_is_retried(
        publicacion: Publicacion, origen: OrigenHttps, config: Config, datos: Path,
        servido: str) -> None:
    assert publicacion.ultimo is not None
    image = _new_image(publicacion.ultimo, config.raiz / servido)
    path = f"/publicacion/{publicacion.ultimo.name}/imagenes/{image.name}"
    origen.reglas[path] = ("cortar", "")
    refused(config, datos, servido, image.name, "respuesta truncada (68 de 136 bytes)")
    del origen.reglas[path]
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte == publicacion.ultimo.name, hecho.mensaje
