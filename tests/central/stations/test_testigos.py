"""The difusores as witnesses of a real central's log of cortes (issue 67): a registered
difusor cosigns each checkpoint it checked and reports it; the central keeps each
cosignature once and publishes it with the next corte (``transparencia/cofirmas/<n>``),
verifiable with the witness key DIFUSORES.csv lists. A difusor whose origin serves a
rewritten history (a past corte replaced, everything signed again with the central's
own key) refuses it and reports the evidence: the coordinators get an anomaly. A
difusor key that cosigns a head the log never had is refused, with an anomaly."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from central.publication.feed import INDICE
from difusor import testigo as testigos
from difusor.config import Config
from difusor.estado import cargar as cargar_estado
from difusor.registro import llave
from difusor.seguir import consultar
from prep.corte.difusores import DIFUSORES
from prep.corte.difusores import leer
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.transparencia import nota
from prep.transparencia.entrada import leer_entrada
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.station import error_of
from tests.central.station import query
from tests.central.stations.test_difusores import _alta
from tests.central.stations.test_difusores import _registrar
from tests.central.stations.test_difusores import _reporte
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.difusor.registro_cortes import RegistroPublicado
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog

HORA = "2027-06-07T05:00:00.000000Z"


def _checkpoint(publicacion: Path, rel: str) -> tuple[nota.Nota, nota.Checkpoint]:
    leida = nota.leer((publicacion / "transparencia" / rel).read_bytes())
    return leida, nota.checkpoint(leida)


def test_a_difusor_cosigns_each_checkpoint_the_central_keeps_and_publishes_them(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    load_catalog(node, scale=0.02)
    publicacion = tmp_path / "publicacion"
    difusor_id, codigo = _alta(node, "Universidad Testigo", "https://prep.testigo.mx/")
    datos = tmp_path / "difusor"
    assert _registrar(node, datos, codigo).returncode == 0
    primero = corte_in_window(node, publicacion)
    llave_central = VerifyKey.from_b64(json.loads((publicacion / INDICE).read_bytes())["llave"])
    identity = identidad(tmp_path / "tls")
    origen = OrigenHttps(publicacion, identity)
    config = Config(origenes=(origen.url,), huella=llave_central.fingerprint(),
                    raiz=tmp_path / "www", ca=identity.cert_file)
    try:
        hecho = consultar(config, datos)
        assert hecho.ok and hecho.corte == primero.name, hecho.mensaje
        assert cargar_estado(datos).reporte_falla is None
        assert query(node.dsn, "SELECT difusor, tamano FROM cofirmas") == [(difusor_id, 1)]

        segundo = make_corte(node, publicacion)
        # The next corte publishes the cosignature, checkable with the witness key the
        # corte's DIFUSORES.csv lists for that difusor.
        filas = leer((segundo / DIFUSORES).read_bytes())
        assert [f[0] for f in filas] == ["Universidad Testigo"]
        nombre, tipo, testigo = nota.leer_llave_texto(filas[0][2])
        assert (nombre, tipo) == (difusor_id, nota.COFIRMA)
        assert testigo == llave(datos).public
        leida, cp = _checkpoint(publicacion, "cofirmas/1")
        assert nota.firmada_por(leida, cp.origen, llave_central)
        cofirmas = [f for f in leida.firmas if f.nombre == difusor_id]
        assert len(cofirmas) == 1
        assert nota.cofirma_valida(cp, cofirmas[0], difusor_id, testigo) is not None

        assert consultar(config, datos).corte == segundo.name
        assert query(node.dsn, "SELECT tamano FROM cofirmas WHERE difusor = %s "
                     "ORDER BY tamano", difusor_id) == [(1,), (2,)]
        # reported again (every few minutes, or a retry): kept once
        cofirma = testigos.cargar(datos).cofirma()
        assert cofirma is not None and cofirma["tamano"] == 2
        status, body = _reporte(node, difusor_id, llave(datos), {
            "corte": segundo.name, "manifiesto_sha256": hashlib.sha256(
                (segundo / "MANIFIESTO.sha256").read_bytes()).hexdigest(),
            "error": None, "hora": HORA, "cofirma": cofirma})
        assert status == 200, body
        assert query(node.dsn, "SELECT count(*) FROM cofirmas") == [(2,)]

        # A lying witness: the difusor's key cosigns a head of size 2 with another root,
        # and one of a size the log never reached. Both refused, with an anomaly.
        _, cp2 = _checkpoint(publicacion, "checkpoint")
        for falso in (nota.Checkpoint(cp2.origen, 2, hashlib.sha256(b"otra").digest()),
                      nota.Checkpoint(cp2.origen, 9, cp2.raiz)):
            linea = nota.cofirmar(falso, difusor_id, llave(datos), 1_800_000_000).linea()
            status, body = _reporte(node, difusor_id, llave(datos), {
                "corte": None, "manifiesto_sha256": None, "error": None, "hora": HORA,
                "cofirma": {"tamano": falso.tamano,
                            "raiz": base64.b64encode(falso.raiz).decode(), "linea": linea}})
            assert status == 409 and error_of(body)[0] == "registro_bifurcado", body
            assert "nunca tuvo" in error_of(body)[1]
        anomalias = query(node.dsn, "SELECT detail->>'tamano', detail->>'firma_valida' "
                          "FROM anomalies WHERE type = 'registro_bifurcado' ORDER BY id")
        assert anomalias[0] == ("2", "true"), anomalias  # one a minute per difusor
        assert query(node.dsn, "SELECT count(*) FROM audit_log WHERE event = "
                     "'difusor_cofirma_rechazada'") == [(len(anomalias),)]
        assert query(node.dsn, "SELECT count(*) FROM cofirmas") == [(2,)]

        # Anyone checks a corte against the log: its witness is named. The difusor's
        # site serves the log it checked, and a corte of it checks against that mirror.
        tercero = make_corte(node, publicacion)
        done = _verify(segundo, "--testigos")
        assert done.returncode == 0, done.stdout
        assert f"verificado y firmado por 1 difusores: Universidad Testigo ({difusor_id})" \
            in done.stdout
        done = _verify(config.raiz / segundo.name, "--testigos")
        assert done.returncode == 0 and "Registro público de cortes" in done.stdout, \
            done.stdout
        # A lying witness's cosignature, had a central published it, fails the check.
        cofirmas = publicacion / "transparencia" / "cofirmas" / "2"
        honesta = cofirmas.read_bytes()
        mentira = nota.cofirmar(nota.Checkpoint(cp2.origen, 2, hashlib.sha256(
            b"otra").digest()), difusor_id, llave(datos), 1_800_000_000)
        cofirmas.write_bytes(honesta.replace(
            next(f.linea() for f in nota.leer(honesta).firmas
                 if f.nombre == difusor_id).encode(), mentira.linea().encode()))
        done = _verify(segundo, "--testigos")
        assert done.returncode == 1 and difusor_id in done.stdout, done.stdout
        cofirmas.write_bytes(honesta)

        # The origin rewrites the past: corte 0's manifest replaced and every file of
        # the log signed again with the central's own key, a new corte on top.
        forjado = _forjar(node, publicacion)
        hecho = consultar(config, datos)
        assert not hecho.ok and "BIFURCACIÓN" in hecho.mensaje, hecho.mensaje
        assert hecho.corte == segundo.name and not (config.raiz / tercero.name).exists()
        assert cargar_estado(datos).reporte_falla is None  # the report was accepted
        evento = query(node.dsn, "SELECT detail->>'tamano', detail->>'tamano_recibido', "
                       "detail->>'raiz_recibida', detail->>'firmado_por_el_nodo_central', "
                       "detail->>'recibido_en_registro' FROM audit_log WHERE event = "
                       "'difusor_bifurcacion' AND actor = %s", difusor_id)
        assert evento == [("2", "3", base64.b64encode(forjado.raiz).decode(), "true",
                           "false")]
        assert query(node.dsn, "SELECT count(*) FROM anomalies WHERE type = "
                     "'registro_bifurcado' AND detail->>'tamano_recibido' = '3'") == [(1,)]
        assert query(node.dsn, "SELECT error LIKE '%%BIFURCACIÓN%%' FROM difusores "
                     "WHERE id = %s", difusor_id) == [(True,)]
        assert query(node.dsn, "SELECT max(tamano) FROM cofirmas") == [(2,)]
        # verify-corte finds it too: the replaced corte, and the head the difusor kept
        done = _verify(primero, "--testigos")
        assert done.returncode == 1 and "reemplazado" in done.stdout, done.stdout
        done = _verify(tercero, "--testigos", "--cabeza",
                       str(config.raiz / "transparencia" / "checkpoint"))
        assert done.returncode == 1 and "cabeza guardada" in done.stdout, done.stdout
    finally:
        origen.stop()


def _verify(corte: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "verify-corte", str(corte), *args],
                          capture_output=True, text=True, timeout=300, check=False)


def _forjar(node: CentralNode, publicacion: Path) -> nota.Checkpoint:
    """publicacion/transparencia/ rewritten with leaf 0 replaced, signed again with the
    central's key under its own origin; the forged head."""
    key = SigningKey.load(node.data_dir / "central.key")
    _, cp = _checkpoint(publicacion, "checkpoint")
    registro = RegistroPublicado(publicacion, key, cp.origen)
    registro.entradas = [leer_entrada((publicacion / "transparencia" / "entradas" /
                                       str(i)).read_bytes()) for i in range(cp.tamano)]
    assert registro.checkpoint() == cp  # the same log, rebuilt
    registro.reescribir(0, hashlib.sha256(b"otro manifiesto").hexdigest())
    return registro.checkpoint()
