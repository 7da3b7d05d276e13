"""The difusor as a witness of the log of cortes (issue 67): it checks each checkpoint
includes the corte it serves and extends the one it accepted, cosigns it once
registered, mirrors the log, and refuses (loudly, across restarts) a checkpoint of a
rewritten history: a fork. The central's side (storing and publishing cosignatures, a
lying witness) is tests/central/stations/test_testigos.py."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from difusor import registro as inscripcion
from difusor import testigo as testigos
from difusor.config import Config
from difusor.errores import DifusorError
from difusor.metricas import REGISTRY
from difusor.seguir import consultar
from prep.corte.package import MANIFEST
from prep.transparencia import nota
from tests.difusor.conftest import config_para
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.difusor.registro_cortes import ORIGEN
from tests.harness.netns_targets import TlsIdentity


@pytest.fixture
def publicacion(tmp_path: Path) -> Publicacion:
    return Publicacion(tmp_path / "central", registro=True)


def _registrado(datos: Path, identity: TlsIdentity,
                difusor: str = "difusor-abc123") -> None:
    """A registration as ``prep difusor registrar`` leaves it, naming a central that
    does not answer: reports fail (logged), cosigning does not depend on them."""
    inscripcion.llave(datos)
    inscripcion.guardar(datos, inscripcion.Registro(
        difusor, "Universidad", "https://prep.uni.mx/", "https://127.0.0.1:9",
        identity.cert_file.read_text(), "0" * 64))


def _metric(name: str) -> float:
    found = REGISTRY.get_sample_value(name, {})
    assert found is not None, name
    return found


def test_each_checkpoint_is_checked_cosigned_and_mirrored(
        publicacion: Publicacion, config: Config, datos: Path,
        identity: TlsIdentity) -> None:
    _registrado(datos, identity)
    publicacion.corte()
    assert consultar(config, datos).ok
    segundo = publicacion.corte()
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte == segundo.name, hecho.mensaje

    testigo = testigos.cargar(datos)
    cofirma = testigo.cofirma()
    assert cofirma is not None and cofirma["tamano"] == 2
    assert publicacion.registro is not None
    cp = publicacion.registro.checkpoint()
    firma = nota.leer(cp.texto().encode() + b"\n" + cofirma["linea"].encode()).firmas[0]
    llave = inscripcion.llave(datos).public
    assert nota.cofirma_valida(cp, firma, "difusor-abc123", llave) is not None
    assert base64.b64decode(cofirma["raiz"]) == cp.raiz
    assert _metric("prep_difusor_log_checkpoint_size") == 2
    # the difusor's site serves the log it checked: the same files as the origin's
    espejo = config.raiz / "transparencia"
    origen = publicacion.path / "transparencia"
    for rel in ("checkpoint", "llave", "checkpoints/1", "checkpoints/2", "entradas/0",
                "entradas/1", "pruebas/inclusion/1", "pruebas/consistencia/2",
                "cofirmas/2"):
        assert (espejo / rel).read_bytes() == (origen / rel).read_bytes(), rel
    # nothing new: the same checkpoint, the same cosignature
    assert not consultar(config, datos).nuevo
    assert testigos.cargar(datos).cofirma() == cofirma
    # registered again with a new key (the old one lost): the head is cosigned again
    (datos / inscripcion.KEY).unlink()
    nueva = inscripcion.llave(datos).public
    assert not consultar(config, datos).nuevo
    otra = testigos.cargar(datos).cofirma()
    assert otra is not None and otra["linea"] != cofirma["linea"]
    firma = nota.leer(cp.texto().encode() + b"\n" + otra["linea"].encode()).firmas[0]
    assert nota.cofirma_valida(cp, firma, "difusor-abc123", nueva) is not None


def test_an_unregistered_difusor_checks_but_does_not_cosign(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    publicacion.corte()
    assert consultar(config, datos).ok
    testigo = testigos.cargar(datos)
    assert testigo.cofirma() is None
    assert testigo.registros[ORIGEN].tamano == 1
    assert not (datos / inscripcion.KEY).exists()


def test_a_corte_the_log_does_not_include_is_not_published(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    primero = publicacion.corte()
    assert consultar(config, datos).ok
    assert publicacion.registro is not None
    guardado = publicacion.registro.entradas[:]
    segundo = publicacion.corte()
    publicacion.registro.entradas = guardado  # the log did not take the new corte
    publicacion.registro.escribir()
    hecho = consultar(config, datos)
    assert not hecho.ok and hecho.corte == primero.name
    assert f"no incluye el corte {segundo.name}" in hecho.mensaje
    assert os.readlink(config.raiz / "latest") == primero.name


def prep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "difusor", *args],
                          capture_output=True, text=True, timeout=180)


def test_a_rewritten_history_is_a_fork_refused_across_restarts(
        publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path) -> None:
    """Each ``run --una-vez`` is a new process: what it accepted survives in
    ``testigo.json``, so a restarted difusor refuses the forked history too."""
    datos = tmp_path / "datos"
    config = config_para(tmp_path, identity, origen.url)
    done = prep("init", "--datos", str(datos), "--origen", origen.url, "--huella",
                config.huella, "--raiz", str(config.raiz), "--ca", str(identity.cert_file))
    assert done.returncode == 0, done.stdout + done.stderr
    _registrado(datos, identity)
    publicacion.corte()
    segundo = publicacion.corte()
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 0, done.stdout + done.stderr
    assert publicacion.registro is not None
    aceptado = publicacion.registro.checkpoint()

    # The origin rewrites the past: corte 0's manifest replaced, every checkpoint and
    # proof signed again with the institute's key, and a new corte on top of it.
    otro = hashlib.sha256(b"otro manifiesto").hexdigest()
    publicacion.registro.reescribir(0, otro)
    tercero = publicacion.corte()
    forjado = publicacion.registro.checkpoint()
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BIFURCACIÓN del registro de cortes" in done.stdout
    raiz_aceptada = base64.b64encode(aceptado.raiz).decode()
    raiz_forjada = base64.b64encode(forjado.raiz).decode()
    # both heads named, in the log line and in what run says
    for salida in (done.stdout, done.stderr):
        assert raiz_aceptada in salida and raiz_forjada in salida
    assert "ERROR" in done.stderr
    assert os.readlink(config.raiz / "latest") == segundo.name  # what it served stays
    assert not (config.raiz / tercero.name).exists()  # nothing of the fork downloaded
    assert not (config.raiz / ".staging" / tercero.name).exists()

    # a restarted difusor still refuses; status says so and exits 1
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 1 and "BIFURCACIÓN" in done.stdout
    status = prep("status", "--datos", str(datos))
    assert status.returncode == 1
    assert "BIFURCACIÓN" in status.stdout and raiz_forjada in status.stdout
    estado = json.loads(prep("status", "--datos", str(datos), "--json").stdout)
    fork = estado["testigo"]["bifurcacion"]
    assert fork["aceptado"] == {"tamano": 2, "raiz": raiz_aceptada}
    assert fork["recibido"] == {"tamano": 3, "raiz": raiz_forjada}
    # what it cosigned is still the honest head: never the forked one
    assert estado["testigo"]["registros"][ORIGEN]["tamano"] == 2
    mirrored = nota.checkpoint(nota.leer(
        (config.raiz / "transparencia" / "checkpoint").read_bytes()))
    assert mirrored == aceptado


def test_the_same_size_with_another_root_is_a_fork(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    publicacion.corte()
    segundo = publicacion.corte()
    assert consultar(config, datos).ok
    assert publicacion.registro is not None
    publicacion.registro.reescribir(1, hashlib.sha256(
        (segundo / MANIFEST).read_bytes() + b"x").hexdigest())
    hecho = consultar(config, datos)
    assert not hecho.ok and "BIFURCACIÓN" in hecho.mensaje and "mismo tamaño" in \
        hecho.mensaje
    assert _metric("prep_difusor_log_fork") == 1
    assert testigos.cargar(datos).bifurcaciones == 1


def test_a_damaged_testigo_json_stops_the_difusor_rather_than_starting_over(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    primero = publicacion.corte()
    assert consultar(config, datos).ok
    (datos / testigos.TESTIGO).write_text("{dañado")
    publicacion.corte()
    with pytest.raises(DifusorError, match="es la base con que se comprueba"):
        consultar(config, datos)
    assert os.readlink(config.raiz / "latest") == primero.name
