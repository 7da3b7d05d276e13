"""The drill's fork incident (issue 67), without a whole drill: the history forged with
the institute's key (``simulacro/bifurcacion.py``) served by the drill's origin to one
difusor alone (``simulacro/origen.py``, its vista), refused by that difusor as a fork
while another follows the genuine one, and what ``prep verify-corte --testigos`` says of
the replaced corte."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from difusor import testigo as testigos
from difusor.config import Config
from difusor.config import Limites
from difusor.seguir import consultar
from prep.corte.package import MANIFEST
from prep.corte.verify import verify_corte
from simulacro.bifurcacion import AVISO
from simulacro.bifurcacion import forjar
from simulacro.difusores import Difusores
from simulacro.difusores import IncidenteFallido
from simulacro.nodo import Nodo
from simulacro.origen import Origen
from simulacro.testigos import Objetivo
from simulacro.testigos import veredicto
from tests.difusor.cortes import HUELLA
from tests.difusor.cortes import KEY
from tests.difusor.cortes import Publicacion
from tests.simulacro.test_espera import NEVER_REFUSES


@pytest.fixture
def publicacion(tmp_path: Path) -> Publicacion:
    return Publicacion(tmp_path, registro=True)  # tmp_path/publicacion, with its log


@pytest.fixture
def origen(publicacion: Publicacion, tmp_path: Path) -> Iterator[Origen]:
    server = Origen(publicacion.path, tmp_path / "origen", tmp_path / "bitacoras")
    server.start()
    yield server
    server.stop()


def _difusor(tmp_path: Path, origen: Origen, nombre: str) -> tuple[Config, Path]:
    config = Config(origenes=(origen.url_de(nombre),), huella=HUELLA,
                    raiz=tmp_path / nombre / "www", conservar=3, ca=origen.cert,
                    limites=Limites(segundos=10.0))
    return config, tmp_path / nombre / "datos"


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "verify-corte", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def test_a_forged_history_served_to_one_difusor_is_refused_and_named_by_verify_corte(
        publicacion: Publicacion, origen: Origen, tmp_path: Path) -> None:
    publicacion.corte()
    segundo = publicacion.corte()
    uno, otro = _difusor(tmp_path, origen, "difusor1"), _difusor(tmp_path, origen, "difusor2")
    assert consultar(*uno).corte == segundo.name
    assert consultar(*otro).corte == segundo.name

    forjada = forjar(publicacion.path, tmp_path / "forjado", KEY, segundo.name)
    assert (forjada.corte, forjada.hoja, forjada.tamano) == (segundo.name, 1, 2)
    reemplazado = forjada.dir / segundo.name
    assert (reemplazado / AVISO).is_file()
    assert forjada.manifiesto == hashlib.sha256(
        (reemplazado / MANIFEST).read_bytes()).hexdigest()
    # Signed with the institute's key, the replaced corte verifies as any corte does.
    assert verify_corte(reemplazado, huella=HUELLA).ok

    origen.alterar(bifurcacion=("difusor1", forjada.dir))
    visto = consultar(*uno)
    assert not visto.ok and "BIFURCACIÓN" in visto.mensaje, visto.mensaje
    assert forjada.raiz_b64 in visto.mensaje
    fork = testigos.cargar(uno[1]).bifurcacion
    assert fork is not None and fork["recibido"] == {"tamano": 2, "raiz": forjada.raiz_b64}
    # It kept serving the genuine corte; the other difusor saw nothing but the genuine.
    assert os.readlink(uno[0].raiz / "latest") == segundo.name
    assert (uno[0].raiz / segundo.name / MANIFEST).read_bytes() == \
        (segundo / MANIFEST).read_bytes()
    assert consultar(*otro).ok and testigos.cargar(otro[1]).bifurcacion is None

    # Against the public log the replaced corte fails, naming the conflict; the forged
    # log alone is consistent: only a witness's memory or the public log tells.
    done = _verify(str(reemplazado), "--testigos", "--registro", str(publicacion.path),
                   "--cabeza", str(forjada.checkpoint))
    assert done.returncode == 1, done.stdout
    assert f"la entrada 1 es el corte {segundo.name} con otro manifiesto" in done.stdout
    assert "reemplazado después de publicarse" in done.stdout
    assert "CONFLICTO en el tamaño 2" in done.stdout
    assert _verify(str(reemplazado), "--testigos").returncode == 0
    assert _verify(str(segundo), "--testigos").returncode == 0

    # The genuine history again: accepted, the fork no longer shown.
    origen.alterar()
    assert consultar(*uno).ok
    testigo = testigos.cargar(uno[1])
    assert testigo.bifurcacion is None and testigo.bifurcaciones == 1


def test_a_difusor_that_does_not_refuse_the_fork_fails_the_incident_at_once(
        publicacion: Publicacion, tmp_path: Path) -> None:
    """The incident with a difusor that ignores the log (it polls, and never notes a
    fork): the first poll after the forgery is served ends the incident as a wrong
    result naming the difusor and what it did not do, whatever the wait's bound; the
    drill's verdict lists an incident that did not happen (dictamen.py)."""
    publicacion.corte()
    segundo = publicacion.corte()
    difusores = Difusores(tmp_path, 1, tmp_path / "bitacoras")  # tmp_path/publicacion
    [difusor] = difusores.lista
    # What it serves and the head it accepted, as a difusor leaves them...
    difusor.datos.mkdir(parents=True)
    shutil.copytree(segundo, difusor.raiz / segundo.name)
    os.symlink(segundo.name, difusor.raiz / "latest")
    assert publicacion.registro is not None
    cabeza = publicacion.registro.checkpoint()
    testigos.guardar(difusor.datos, testigos.Testigo(
        {cabeza.origen: testigos.Registro(cabeza.tamano, base64.b64encode(
            cabeza.raiz).decode(), "2027-06-07T05:10:00+00:00")}, cabeza.origen))
    # ...but then it polls without ever looking at the log.
    difusor.process = subprocess.Popen([sys.executable, "-c", NEVER_REFUSES,
                                        str(difusor.datos)])
    nodo = Nodo(tmp_path / "central", publicacion.path, tmp_path / "bitacoras")
    nodo.data_dir.mkdir()
    KEY.save(nodo.llave)  # the drill's central key: it forges with the institute's own
    difusores.nodo = nodo
    difusores.origen.work.mkdir(parents=True)
    try:
        with pytest.raises(IncidenteFallido) as caught:
            difusores._bifurcacion()
    finally:
        difusor.process.kill()
        difusor.process.wait()
    message = str(caught.value)
    assert "difusor1 no cumplió «rechaza la historia de cortes bifurcada" in message
    assert "empezó después de que el origen cambiara" in message


def test_the_verdict_requires_the_anomaly_for_that_difusor_alone(
        publicacion: Publicacion, tmp_path: Path) -> None:
    publicacion.corte()
    segundo = publicacion.corte()
    forjada = forjar(publicacion.path, tmp_path / "forjado", KEY, segundo.name)
    objetivo = Objetivo("difusor1", "difusor-aaa111")
    anomalia = {"difusor": "difusor-aaa111", "tamano_recibido": 2,
                "firmado_por_el_nodo_central": True, "recibido_en_registro": False}
    registro, failures = veredicto(publicacion.path, {}, forjada, objetivo, [anomalia])
    assert failures == [], failures
    assert registro["bifurcacion"]["anomalia"] is True
    assert len(registro["bifurcacion"]["verify_corte"]) == 2  # both conflicts named
    _, failures = veredicto(publicacion.path, {}, forjada, objetivo, [])
    assert any("no levantó la anomalía registro_bifurcado" in f and "difusor1" in f
               for f in failures), failures
    otra = {**anomalia, "difusor": "difusor-bbb222"}
    _, failures = veredicto(publicacion.path, {}, forjada, objetivo, [anomalia, otra])
    assert any("difusor-bbb222" in f for f in failures), failures


def test_a_corte_is_judged_on_its_witnesses_only_up_to_the_head_seen_cosigned(
        publicacion: Publicacion) -> None:
    """Three cortes and no cosignature published: with the difusores seen cosigning a
    head of 2, the first two lack witnesses (named); a corte made after that wait (a
    scheduled one, here the third, which is also the último) is not judged, so a corte
    landing during the wait cannot flip the verdict, however fast the machine."""
    for _ in range(3):
        publicacion.corte()
    ids = {"difusor1": "difusor-aaa111"}
    _, failures = veredicto(publicacion.path, ids, None, None, [], cubierto=2)
    sin = [f for f in failures if "ningún difusor cofirmó" in f]
    assert len(sin) == 2, failures
    _, failures = veredicto(publicacion.path, ids, None, None, [], cubierto=0)
    assert not [f for f in failures if "ningún difusor cofirmó" in f], failures
