"""The public log of cortes (issue 67) over a real central: each corte appended in its
row's transaction and published under ``transparencia/`` before ``latest`` moves; a
difusor's cosignatures (stored as the central stores them) published with the next
corte; ``prep verify-corte --testigos`` and ``prep testigo guardar|comprobar`` (real
processes, a directory and HTTPS) pass on a good night, and fail naming the conflict on
a past corte rewritten and re-signed with the institute's own key, and on a damaged
cosignature."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from central.publication.transparencia import RegistroError
from central.publication.transparencia import escribir
from difusor.registro import llave as llave_difusor
from prep.corte.package import DIFERENCIAS
from prep.corte.package import MANIFEST
from prep.corte.package import SIGNATURE
from prep.crypto import SigningKey
from prep.transparencia import merkle
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada
from prep.transparencia.entrada import leer_entrada
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.station import central_cli
from tests.central.station import query
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog

T = "transparencia"


def _prep(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _difusor(node: CentralNode, datos: Path) -> tuple[str, SigningKey]:
    """A difusor given alta and registered (real ``prep difusor registrar``)."""
    done = central_cli(node, "difusor", "alta", "--nombre", "Universidad de Prueba",
                       "--url", "https://prep.prueba.example/")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    registro = _prep("difusor", "registrar", "--datos", datos, "--central", node.url,
                     "--codigo", answer["codigo"], "--cert-sha256", node.cert_sha256)
    assert registro.returncode == 0, registro.stdout + registro.stderr
    return answer["difusor"], llave_difusor(datos)


def _cofirmar(node: CentralNode, publicacion: Path, difusor: str, key: SigningKey) -> int:
    """The difusor cosigns the latest checkpoint and the central stores it, as the
    report of issue 67 does once checked (the row in ``cofirmas``); its size."""
    cp = nota.checkpoint(nota.leer((publicacion / T / "checkpoint").read_bytes()))
    firma = nota.cofirmar(cp, difusor, key, int(time.time()))
    query(node.dsn, "INSERT INTO cofirmas (difusor, tamano, linea, hora_cofirma) "
          "VALUES (%s, %s, %s, %s) RETURNING tamano", difusor, cp.tamano, firma.linea(),
          int(time.time()))
    return cp.tamano


def test_the_log_of_a_night_is_checked_by_anyone_and_a_rewrite_is_caught(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    load_catalog(node, scale=0.005)
    publicacion = tmp_path / "publicacion"
    cabezas = tmp_path / "representante"
    difusor, clave_difusor = _difusor(node, tmp_path / "difusor")

    cortes = [corte_in_window(node, publicacion)]
    # A party's representative keeps the head seen after each corte (a directory here,
    # over HTTPS below).
    guardada = _prep("testigo", "guardar", publicacion, "--dir", cabezas)
    assert guardada.returncode == 0, guardada.stdout + guardada.stderr
    assert "Guardada:" in guardada.stdout and "1 cortes" in guardada.stdout
    assert _cofirmar(node, publicacion, difusor, clave_difusor) == 1
    origen = OrigenHttps(publicacion, identidad(tmp_path / "tls"))
    try:
        for _ in range(3):
            cortes.append(make_corte(node, publicacion))
            assert _cofirmar(node, publicacion, difusor, clave_difusor) == len(cortes)
            https = _prep("testigo", "guardar", origen.url, "--dir", cabezas, "--ca",
                          origen.identity.cert_file)
            assert https.returncode == 0, https.stdout + https.stderr
    finally:
        origen.stop()
    cortes.append(make_corte(node, publicacion))  # publishes the cosignature of size 4

    # The database: one leaf per corte, in order, gapless, its root the tree's.
    filas = query(node.dsn, "SELECT indice, corte, hoja, raiz FROM registro_cortes "
                  "ORDER BY indice")
    assert [(i, c) for i, c, _, _ in filas] == [(i, c.name) for i, c in enumerate(cortes)]
    hojas = [bytes(h) for _, _, h, _ in filas]
    assert [bytes(r) for *_, r in filas] == [merkle.raiz(hojas[:k]) for k in range(1, 6)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="solo admite inserciones"):
        query(node.dsn, "UPDATE registro_cortes SET corte = corte RETURNING indice")
    with pytest.raises(psycopg.Error, match="sigue en la entrada 5"):
        query(node.dsn, "INSERT INTO registro_cortes (indice, corte, hora, manifiesto_sha256,"
              " hoja, raiz) SELECT 7, corte, hora, manifiesto_sha256, hoja, raiz FROM "
              "registro_cortes WHERE indice = 0 RETURNING indice")

    # The files: each entry is its corte (name and signed manifest), the head includes all.
    raiz_t = publicacion / T
    for i, corte in enumerate(cortes):
        entrada = leer_entrada((raiz_t / "entradas" / str(i)).read_bytes())
        assert (entrada.nombre, entrada.manifiesto) == (
            corte.name, hashlib.sha256((corte / MANIFEST).read_bytes()).hexdigest())
    head = nota.leer((raiz_t / "checkpoint").read_bytes())
    llave_central = load_identity(DataDir(node.data_dir)).key
    assert nota.firmada_por(head, nota.checkpoint(head).origen, llave_central.public)
    assert nota.checkpoint(head).tamano == 5 and nota.checkpoint(head).raiz == merkle.raiz(hojas)
    assert (raiz_t / "llave").read_text().strip() == nota.llave_texto(
        nota.checkpoint(head).origen, llave_central.public)
    assert nota.checkpoint(head).origen.startswith("prep-")

    # Every file is the database's: written again on an empty disk (a promoted standby,
    # a new origin) it is byte for byte what was published.
    engine = make_engine(node.dsn, pool_size=1)
    try:
        assert escribir(tmp_path / "otra", engine, llave_central,
                        nota.checkpoint(head).origen) == 5
    finally:
        engine.dispose()
    assert _arbol(tmp_path / "otra" / T) == _arbol(raiz_t)

    # Anyone checks each corte: in the log, extending the kept heads, cosigned.
    kept = sorted(cabezas.glob("*.checkpoint"))
    assert len(kept) == 4
    for i, corte in enumerate(cortes):
        done = _prep("verify-corte", corte, "--testigos",
                     *[a for k in kept for a in ("--cabeza", k)])
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"el corte es la entrada {i}" in done.stdout
        firmantes = "1 difusores: Universidad de Prueba" if i < 4 else "0 difusores"
        assert f"verificado y firmado por {firmantes}" in done.stdout, done.stdout
    comprobada = _prep("testigo", "comprobar", publicacion, "--dir", cabezas)
    assert comprobada.returncode == 0, comprobada.stdout + comprobada.stderr
    assert comprobada.stdout.count(": OK") == 4
    assert "extiende las 4 cabezas guardadas" in comprobada.stdout

    # A past corte (the second) replaced and re-signed with the institute's own key, and
    # the whole tree rebuilt and re-signed: each file alone is «valid», the witnesses'
    # cosignatures and the kept heads are not.
    falsa = tmp_path / "falsa" / "publicacion"
    shutil.copytree(publicacion, falsa, symlinks=True)
    reescrita = falsa / cortes[1].name
    _reescribir_corte(reescrita, llave_central)
    _reescribir_registro(falsa, [Entrada(c.name, leer_entrada(
        (raiz_t / "entradas" / str(i)).read_bytes()).hora,
        hashlib.sha256((falsa / c.name / MANIFEST).read_bytes()).hexdigest())
        for i, c in enumerate(cortes)], llave_central)
    # The central itself never writes its log over another history (here: a database
    # restored from an older backup, or another installation's directory, would do it).
    engine = make_engine(node.dsn, pool_size=1)
    try:
        with pytest.raises(RegistroError, match="ya publica otro registro"):
            escribir(falsa, engine, llave_central, nota.checkpoint(head).origen)
    finally:
        engine.dispose()
    sola = _prep("verify-corte", reescrita)
    assert sola.returncode == 0, sola.stdout  # signed by the institute: alone, it passes
    done = _prep("verify-corte", reescrita, "--testigos", "--cabeza", kept[1])
    assert done.returncode == 1, done.stdout
    assert f"cofirmas/2: la cofirma de {difusor} no es válida" in done.stdout
    assert "CONFLICTO en el tamaño 2" in done.stdout
    fuera = _prep("testigo", "comprobar", falsa, "--dir", cabezas)
    assert fuera.returncode == 1, fuera.stdout
    lineas = fuera.stdout.splitlines()
    assert sum("CONFLICTO en el tamaño" in line for line in lineas) == 3  # sizes 2, 3, 4
    assert any(kept[0].name in line and line.endswith(": OK") for line in lineas)

    # A damaged cosignature line in cofirmas/<n> is named, with its witness.
    danada = tmp_path / "danada" / "publicacion"
    shutil.copytree(publicacion, danada, symlinks=True)
    path = danada / T / "cofirmas" / "3"
    texto = path.read_text()
    linea = next(line for line in texto.splitlines() if line.startswith(f"— {difusor} "))
    b64 = linea.split(" ")[2]
    crudo = bytearray(base64.b64decode(b64))
    crudo[12] ^= 0x01  # the signature's first byte (after the key id and the time)
    otra = base64.b64encode(bytes(crudo)).decode()
    path.write_text(texto.replace(b64, otra))
    done = _prep("verify-corte", danada / cortes[2].name, "--testigos")
    assert done.returncode == 1, done.stdout
    assert f"cofirmas/3: la cofirma de {difusor} no es válida para el checkpoint de 3 " \
        "cortes" in done.stdout


def _arbol(raiz: Path) -> dict[str, bytes]:
    return {str(p.relative_to(raiz)): p.read_bytes() for p in raiz.rglob("*") if p.is_file()}


def _reescribir_corte(directorio: Path, llave: SigningKey) -> None:
    """What whoever holds the institute's key could do: change a file, then its manifest
    line, then sign the manifest again."""
    cambiado = directorio / DIFERENCIAS
    cambiado.write_bytes(cambiado.read_bytes() + b"\n")
    nuevo = hashlib.sha256(cambiado.read_bytes()).hexdigest()
    lineas = [f"{nuevo}  {DIFERENCIAS}" if line.endswith(f"  {DIFERENCIAS}") else line
              for line in (directorio / MANIFEST).read_text().splitlines()]
    manifiesto = ("\n".join(lineas) + "\n").encode()
    (directorio / MANIFEST).write_bytes(manifiesto)
    (directorio / SIGNATURE).write_bytes(llave.sign(manifiesto))


def _reescribir_registro(publicacion: Path, entradas: list[Entrada], llave: SigningKey
                         ) -> None:
    """The log rebuilt over ``entradas`` and signed again; each cofirmas/<k> keeps the
    cosignature lines the central received (for the old heads)."""
    t = publicacion / T
    origen = nota.checkpoint(nota.leer((t / "checkpoint").read_bytes())).origen
    hojas = [e.hash() for e in entradas]
    for i, entrada in enumerate(entradas):
        (t / "entradas" / str(i)).write_bytes(entrada.datos())
        (t / "pruebas/inclusion" / str(i)).write_bytes(b"".join(
            base64.b64encode(h) + b"\n" for h in merkle.prueba_inclusion(i, hojas[:i + 1])))
        if i:
            (t / "pruebas/consistencia" / str(i + 1)).write_bytes(b"".join(
                base64.b64encode(h) + b"\n"
                for h in merkle.prueba_consistencia(i, hojas[:i + 1])))
        cp = nota.Checkpoint(origen, i + 1, merkle.raiz(hojas[:i + 1]))
        firmada = nota.firmar(cp.texto(), origen, llave)
        (t / "checkpoints" / str(i + 1)).write_bytes(firmada.codificar())
        cofirmas = t / "cofirmas" / str(i + 1)
        if cofirmas.exists():
            viejas = nota.leer(cofirmas.read_bytes()).firmas[1:]
            cofirmas.write_bytes(firmada.con(*viejas).codificar())
        if i == len(entradas) - 1:
            (t / "checkpoint").write_bytes(firmada.codificar())
