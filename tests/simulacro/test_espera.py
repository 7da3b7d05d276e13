"""The drill's waits (``simulacro/espera.py``, issue 64): bounded by the work they wait for
at this machine's pace; one that runs out names the event that did not come and how long
it waited, apart from a wrong result; a real fault still fails at once.

The waits run against real processes: one that never says it is up, a difusor that never
polls, and one that polls but never refuses what it must."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulacro import cli
from simulacro import difusores as difusores_module
from simulacro import espera
from simulacro import nodo
from simulacro.difusores import Difusores
from simulacro.difusores import IncidenteFallido
from simulacro.espera import EsperaAgotada
from simulacro.espera import Ritmo
from simulacro.espera import esperar
from simulacro.informe import DrillReport

#: A difusor that polls every half second and never refuses anything: the state file
#: ``prep difusor run`` writes after each poll, without a refusal.
NEVER_REFUSES = textwrap.dedent("""
    import json, os, sys, time
    from datetime import UTC, datetime
    datos = sys.argv[1]
    while True:
        estado = {"ultimo_intento": datetime.now(UTC).isoformat(timespec="seconds"),
                  "error": None, "rechazos": 0}
        tmp = os.path.join(datos, ".estado.json.tmp")
        with open(tmp, "w") as out:
            json.dump(estado, out)
        os.replace(tmp, os.path.join(datos, "estado.json"))
        time.sleep(0.5)
""")


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounds of a few seconds instead of minutes: the same waits, sooner out."""
    monkeypatch.setattr(espera, "PISO_S", 0.5)
    monkeypatch.setattr(espera, "MARGEN", 2.0)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_a_child_that_never_says_it_is_up_is_an_espera_agotada_naming_it(
        small_bounds: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        processes: list[subprocess.Popen[bytes]]) -> None:
    monkeypatch.setattr(nodo, "ARRANQUE_S", 0.5)
    stdout, log = tmp_path / "central-1.json", tmp_path / "central-1.log"
    log.write_text("arrancando PostgreSQL…\n", encoding="utf-8")
    with stdout.open("wb") as out:
        silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                  stdout=out)
    processes.append(silent)
    with pytest.raises(EsperaAgotada) as caught:
        nodo._first_json_line(stdout, silent, log)
    message = str(caught.value)
    assert message.startswith("espera agotada: central-1 dice que está listo")
    assert caught.value.segundos > 0 and "se esperó" in message
    assert "arrancando PostgreSQL" in message  # its log, to see where it stood
    assert silent.poll() is not None  # not left behind


def test_a_child_that_ends_before_it_is_up_is_a_failure_not_a_wait(
        tmp_path: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    stdout, log = tmp_path / "origen-1.json", tmp_path / "origen.log"
    log.write_text("OSError: la dirección ya está en uso\n", encoding="utf-8")
    with stdout.open("wb") as out:
        ended = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"], stdout=out)
    processes.append(ended)
    with pytest.raises(nodo.NodoError, match=r"(?s)no arrancó.*ya está en uso"):
        nodo._first_json_line(stdout, ended, log)


def _difusor(tmp_path: Path, processes: list[subprocess.Popen[bytes]],
             program: str) -> Difusores:
    difusores = Difusores(tmp_path / "sim", 1, tmp_path / "bitacoras")
    [difusor] = difusores.lista
    difusor.datos.mkdir(parents=True)
    difusor.process = subprocess.Popen([sys.executable, "-c", program, str(difusor.datos)])
    processes.append(difusor.process)
    return difusores


def test_a_difusor_that_never_polls_is_an_espera_agotada_naming_it_and_the_event(
        small_bounds: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        processes: list[subprocess.Popen[bytes]]) -> None:
    monkeypatch.setattr(difusores_module, "INTERVALO", 0.1)
    difusores = _difusor(tmp_path, processes, "import time; time.sleep(600)")
    with pytest.raises(EsperaAgotada) as caught:
        difusores._esperar(lambda _d, e: e.rechazos > 0, "rechaza el primer índice "
                           "firmado de la noche, repetido (reversión)", desde=time.time())
    message = str(caught.value)
    assert "difusor1 (última consulta ninguna): rechaza el primer índice" in message
    assert "se esperó" in message and "límite" in message


def test_a_difusor_that_polls_and_does_not_refuse_a_rollback_fails_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        processes: list[subprocess.Popen[bytes]]) -> None:
    """A real fault is told by what the difusor did, not by the clock: with a bound of
    hours the wait still ends, as a wrong result, on the first poll after the rollback."""
    monkeypatch.setattr(espera, "PISO_S", 10_000.0)
    difusores = _difusor(tmp_path, processes, NEVER_REFUSES)
    with pytest.raises(IncidenteFallido) as caught:
        difusores._esperar(lambda _d, e: e.rechazos > 0, "rechaza la reversión",
                           desde=time.time())
    assert "difusor1 no cumplió «rechaza la reversión»" in str(caught.value)
    assert "empezó después de que el origen cambiara" in str(caught.value)


def test_a_wait_that_comes_returns_and_a_stop_ends_it() -> None:
    assert esperar(lambda: True, "nada", 1.0) >= 0
    import threading
    stop = threading.Event()
    stop.set()
    with pytest.raises(EsperaAgotada, match="espera agotada: el primer corte"):
        esperar(lambda: False, "el primer corte", 1_000.0, detener=stop)


def test_the_bound_grows_with_the_work_and_never_below_the_floor() -> None:
    ritmo = Ritmo()
    assert ritmo.factor() >= 1.0
    assert ritmo.limite(0.0) == ritmo.limite(espera.PISO_S) >= espera.MARGEN * espera.PISO_S
    assert ritmo.limite(1_000.0) > ritmo.limite(100.0)
    ritmo.calibrar(espera.REFERENCIA_MS * 3)  # a processor three times slower
    assert ritmo.factor() >= 3.0 or ritmo._medido > 0  # measured before: next round


def test_esperas_agotadas_are_inconclusive_not_reprobado(
        capsys: pytest.CaptureFixture[str]) -> None:
    report = DrillReport(esperas_agotadas=["espera agotada: difusor1: rechaza X; se esperó "
                                           "412 s"])
    assert not report.ok
    assert cli._veredicto(report.ok, report.failures, "", report.esperas_agotadas) == \
        cli.INCONCLUSO
    err = capsys.readouterr().err
    assert "Veredicto: INCONCLUSO" in err and "REPROBADO" not in err
    assert "difusor1: rechaza X; se esperó 412 s" in err
    report.failures.append("difusor1: su último corte no es idéntico")
    assert cli._veredicto(report.ok, report.failures, "", report.esperas_agotadas) == 1
    err = capsys.readouterr().err
    assert "Veredicto: REPROBADO (1 problemas; además 1 esperas agotadas)" in err
    assert err.index("no es idéntico") < err.index("Esperas agotadas")
