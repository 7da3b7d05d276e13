"""``prep difusor init|run|status`` as an operator runs them: real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from difusor.raiz import MANIFEST
from tests.difusor.cortes import HUELLA
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.harness.espera import esperar
from tests.harness.netns_targets import TlsIdentity


@pytest.fixture(autouse=True)
def ctrl_c_as_at_a_terminal() -> Iterator[None]:
    """The programs these tests start get SIGINT as an operator's terminal gives it.
    A test run started in the background (``pytest … &`` from a script) ignores SIGINT,
    and a process inherits an ignored signal: its Ctrl+C would never arrive. One the
    test process handles is reset to the default in its children."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def prep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "difusor", *args],
                          capture_output=True, text=True, timeout=120)


def test_init_run_and_status_from_the_command_line(
        publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path) -> None:
    datos, www = tmp_path / "datos", tmp_path / "www"
    huella = ":".join(HUELLA[i:i + 4].upper() for i in range(0, 64, 4))  # as people copy it
    done = prep("init", "--datos", str(datos), "--origen", origen.url, "--huella", huella,
                "--raiz", str(www), "--ca", str(identity.cert_file), "--intervalo", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert HUELLA in done.stdout

    status = prep("status", "--datos", str(datos))
    assert "Corte servido: (ninguno aún)" in status.stdout

    primero = publicacion.corte()
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"corte {primero.name} verificado y publicado" in done.stdout
    status = prep("status", "--datos", str(datos))
    assert status.returncode == 0
    assert f"Corte servido: {primero.name}" in status.stdout
    assert origen.url in status.stdout
    generado = json.loads((publicacion.path / "indice.json").read_bytes())["generado"]
    assert f"escrito por el nodo central: {generado}" in status.stdout

    # the origin goes down: run says so and exits 1; status shows the error, the corte
    # stays served
    origen.stop()
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 1
    assert f"se sigue sirviendo {primero.name}" in done.stdout
    status = prep("status", "--datos", str(datos))
    assert status.returncode == 1
    assert "ERROR en la última consulta" in status.stdout and "no se pudo consultar" in \
        status.stdout
    assert json.loads(prep("status", "--datos", str(datos), "--json").stdout)["corte"] == \
        primero.name
    assert os.readlink(www / "latest") == primero.name


def test_run_keeps_following_until_stopped(publicacion: Publicacion, origen: OrigenHttps,
                                          identity: TlsIdentity, tmp_path: Path) -> None:
    datos, www = tmp_path / "datos", tmp_path / "www"
    assert prep("init", "--datos", str(datos), "--origen", origen.url, "--huella", HUELLA,
                "--raiz", str(www), "--ca", str(identity.cert_file),
                "--intervalo", "0.2").returncode == 0
    publicacion.corte()
    runner = subprocess.Popen([sys.executable, "-m", "prep", "difusor", "run", "--datos",
                               str(datos)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        for _ in range(3):
            nuevo = publicacion.corte().name
            _wait_for(lambda n=nuevo: (www / "latest.txt").is_file()
                      and (www / "latest.txt").read_text() == f"{n}\n")
    finally:
        err = _ctrl_c(runner)
    assert runner.returncode == 0, err
    assert "verificado y publicado" in err  # the log
    assert sorted(n for n in os.listdir(www) if n[0].isdigit())[-1] == nuevo


def test_ctrl_c_stops_a_download_in_flight_at_once(
        publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path) -> None:
    """An operator's Ctrl+C while a file of the corte hangs halfway (the origin under
    attack, say) stops the difusor then, not when that read times out: the file in
    flight is dropped and nothing half-downloaded is served. The read's timeout is set
    to a day, and the origin's stall too, so a difusor that waited for either would
    outlast the test's bound (:data:`CTRL_C_BOUND_S`) by far:
    no measurement of how long it took (which a loaded machine stretches)."""
    datos, www = tmp_path / "datos", tmp_path / "www"
    assert prep("init", "--datos", str(datos), "--origen", origen.url, "--huella", HUELLA,
                "--raiz", str(www), "--ca", str(identity.cert_file)).returncode == 0
    with (datos / "difusor.toml").open("a", encoding="utf-8") as config:
        config.write("[limites]\nsegundos = 86400.0\n")
    origen.detener_s = 86400.0  # the origin's stalled answer does not end on its own
    corte = publicacion.corte()
    mayor = max((p for p in corte.rglob("*") if p.is_file()  # not what the poll reads
                 and not p.name.startswith(MANIFEST)), key=lambda p: p.stat().st_size)
    origen.reglas[f"/{publicacion.path.name}/{mayor.relative_to(publicacion.path)}"] = (
        "detener", "")
    runner = subprocess.Popen([sys.executable, "-m", "prep", "difusor", "run", "--datos",
                               str(datos)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        assert origen.detenido.wait(300), "el difusor no llegó a pedir el archivo detenido"
    finally:
        err = _ctrl_c(runner)
    assert runner.returncode == 0, err
    assert not (www / "latest").exists()  # the corte was not published half-downloaded


#: ``prep difusor run`` started as a script's ``prep difusor run &`` starts it: SIGINT
#: ignored, which the process inherits (what the full suite launched with ``&`` gave
#: tests/central/node/test_metrics.py's difusor, whose Ctrl+C then never arrived).
_COMO_EN_SEGUNDO_PLANO = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                          "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


@pytest.mark.parametrize(("senal", "lento"), [
    (signal.SIGINT, "archivo"), (signal.SIGTERM, "archivo"), (signal.SIGINT, "indice")],
    ids=["sigint-descarga", "sigterm-descarga", "sigint-indice"])
def test_a_signal_stops_a_trickling_poll_whatever_the_process_inherited(
        publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path, senal: signal.Signals, lento: str) -> None:
    """SIGINT to a difusor started in the background (SIGINT ignored, inherited), or a
    service manager's SIGTERM, while a file of the corte (read by the download's
    threads) or the signed index (read by the main thread) trickles in one byte a second
    (each read within its timeout, the poll's deadlines set to a day): the difusor stops
    then, with its normal code and a line in its log saying so, and serves nothing
    half-downloaded. Before, the ignored SIGINT never arrived and SIGTERM killed it
    with no word."""
    datos, www = tmp_path / "datos", tmp_path / "www"
    assert prep("init", "--datos", str(datos), "--origen", origen.url, "--huella", HUELLA,
                "--raiz", str(www), "--ca", str(identity.cert_file)).returncode == 0
    with (datos / "difusor.toml").open("a", encoding="utf-8") as config:
        config.write("[limites]\nsegundos = 86400.0\nplazo_indice = 86400.0\n"
                     "plazo = 86400.0\n")
    corte = publicacion.corte()
    mayor = max((p for p in corte.rglob("*") if p.is_file()
                 and not p.name.startswith(MANIFEST)), key=lambda p: p.stat().st_size)
    rel = mayor.relative_to(publicacion.path) if lento == "archivo" else "indice.json"
    origen.reglas[f"/{publicacion.path.name}/{rel}"] = ("goteo", "")
    runner = subprocess.Popen([sys.executable, "-c", _COMO_EN_SEGUNDO_PLANO, "-m", "prep",
                               "difusor", "run", "--datos", str(datos)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert origen.goteando.wait(300), "el difusor no llegó a pedir el archivo lento"
    finally:
        err = _ctrl_c(runner, senal)
    assert runner.returncode == 0, err
    assert f"difusor detenido por {senal.name}" in err
    assert not (www / "latest").exists()  # the corte was not published half-downloaded


#: How long a ``prep difusor run`` may take to end after Ctrl+C before the test calls it
#: stuck: a fraction of a second alone, far more on a loaded machine.
CTRL_C_BOUND_S = 300


def _ctrl_c(runner: subprocess.Popen[str], senal: signal.Signals = signal.SIGINT) -> str:
    """Ctrl+C (or ``senal``) to a running ``prep difusor run``; its log. One that
    outlives it by :data:`CTRL_C_BOUND_S` is killed, its pipes read to the end (none is
    left open for the next test), and the test fails with the end of its log."""
    runner.send_signal(senal)
    try:
        _, err = runner.communicate(timeout=CTRL_C_BOUND_S)
    except subprocess.TimeoutExpired:
        runner.kill()
        _, err = runner.communicate()
        raise AssertionError(f"«prep difusor run» no terminó {CTRL_C_BOUND_S} s después de "
                             f"{senal.name}:\n{err[-3000:]}") from None
    return err


def _wait_for(condition: object, seconds: float = 300.0) -> None:
    assert callable(condition)
    esperar(condition, seconds, "el difusor no publicó el corte nuevo", cada_s=0.1)


def test_the_difusor_loads_neither_qt_nor_the_central() -> None:
    code = ("import sys, difusor.cli, difusor.seguir; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6') or m.split('.')[0] == 'central'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
