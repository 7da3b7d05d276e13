"""The process that writes a corte's whole files (central.publication.escritor): every
file written with its SHA-256 in the manifest's digests, the shared ring bounded and
reused, and a write it cannot make, or the process dying, fails the corte with its
message and publishes nothing. A real child process, real files, real signals."""

from __future__ import annotations

import hashlib
import os
import select
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from central.publication import escritor as escritor_module
from central.publication.escritor import EscritorError
from central.publication.staging import Staging
from tests.harness.espera import esperar
from tests.harness.espera import holgado

ANILLO = 64 * 1024  # a small ring: files up to 16 KiB go through it, larger by threads


@pytest.fixture(autouse=True)
def _anillo_chico(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(escritor_module, "ANILLO", ANILLO)


def _proceso(staging: Staging) -> int:
    escritor = staging._escritor
    assert escritor is not None, "Linux: the corte's files go to a process of their own"
    return escritor._proceso.pid


def test_the_writing_process_writes_every_file_with_its_sha256(tmp_path: Path) -> None:
    staging = Staging(tmp_path, "20270607_2000")
    pid = _proceso(staging)
    assert pid != os.getpid()
    files = {f"sitio/datos/e{k % 3}/d{k:03d}.js": os.urandom(1 + (k * 977) % 20_000)
             for k in range(300)}  # 3 MB through a 64 KiB ring; some too large for it
    for name, data in files.items():
        staging.put(name, data)
    staging.put("MANIFIESTO.sha256.sig", b"firma", listed=False)
    with staging.stream("HISTORIAL.csv") as write:
        write(b"CLAVE_ACTA\r\n")
    final = staging.publish()
    for name, data in files.items():
        assert (final / name).read_bytes() == data
        assert staging.digests[name] == hashlib.sha256(data).hexdigest()
    assert (final / "MANIFIESTO.sha256.sig").read_bytes() == b"firma"
    assert "MANIFIESTO.sha256.sig" not in staging.digests  # not listed: the manifest's own
    assert set(staging.digests) == {*files, "HISTORIAL.csv"}
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)  # ended and reaped by publish


def test_a_file_the_process_cannot_write_fails_the_corte(tmp_path: Path) -> None:
    (tmp_path / "publicacion").mkdir()
    staging = Staging(tmp_path / "publicacion", "20270607_2000")
    staging.put("sitio/a.js", b"uno")
    staging.put("sitio/a.js/b.js", b"dos")  # under a file: the system refuses it
    staging.put("sitio/c.js", b"tres")
    with pytest.raises(OSError, match=r"sitio/a\.js/b\.js"):
        staging.wait()
    staging.discard()
    assert not any((tmp_path / "publicacion").iterdir())


def test_a_killed_writing_process_fails_the_corte_with_its_message(tmp_path: Path) -> None:
    (tmp_path / "publicacion").mkdir()
    staging = Staging(tmp_path / "publicacion", "20270607_2000")
    staging.put("sitio/a.js", b"uno")
    staging.wait()
    os.kill(_proceso(staging), signal.SIGKILL)
    with pytest.raises(EscritorError, match="terminó antes de escribirlos todos"):
        for k in range(100):
            staging.put(f"sitio/b{k}.js", b"x" * 1_000)
        staging.wait()
    staging.discard()
    assert not any((tmp_path / "publicacion").iterdir())


def test_the_corte_waits_while_the_ring_is_full(tmp_path: Path) -> None:
    staging = Staging(tmp_path, "20270607_2000")
    pid = _proceso(staging)
    staging.put("sitio/primero.js", b"0")
    staging.wait()  # the process is up and has answered once
    os.kill(pid, signal.SIGSTOP)  # a disk that takes nothing
    puestos: list[int] = []

    def poner() -> None:
        for k in range(20):
            staging.put(f"sitio/s{k}.js", bytes([k]) * 10_000)
            puestos.append(k)

    hilo = threading.Thread(target=poner)
    hilo.start()
    # 64 KiB hold six files of 10,000 bytes (the seventh would pass the ring's end)
    esperar(lambda: len(puestos) >= 6, holgado(60), "no se pusieron seis archivos")
    time.sleep(0.5)  # and no more while the writer is stopped
    assert len(puestos) == 6 and hilo.is_alive()
    os.kill(pid, signal.SIGCONT)
    hilo.join(holgado(60))
    assert not hilo.is_alive() and len(puestos) == 20
    final = staging.publish()
    assert all((final / f"sitio/s{k}.js").read_bytes() == bytes([k]) * 10_000
               for k in range(20))


def test_names_outside_the_corte_are_refused_by_the_process_too(tmp_path: Path) -> None:
    raiz = tmp_path / "corte"
    raiz.mkdir()
    escritor = escritor_module.Escritor(raiz)
    try:
        escritor.put("../fuera.js", b"no")
        with pytest.raises(OSError, match="nombre de archivo inválido"):
            escritor.wait()
    finally:
        escritor.kill()
    assert not (tmp_path / "fuera.js").exists()


def test_without_a_writing_process_the_threads_write_the_corte(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        ) -> None:
    """A system that cannot start the process (out of memory or processes) still
    publishes: the corte's threads write the files, and the log says why."""
    def sin_procesos(*args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(escritor_module.subprocess, "Popen", sin_procesos)
    staging = Staging(tmp_path, "20270607_2000")
    assert staging._escritor is None
    staging.put("sitio/a.js", b"uno")
    final = staging.publish()
    assert (final / "sitio/a.js").read_bytes() == b"uno"
    assert staging.digests["sitio/a.js"] == hashlib.sha256(b"uno").hexdigest()
    assert "no se pudo iniciar el proceso que escribe" in caplog.text


def test_the_module_imports_where_there_is_no_fcntl() -> None:
    """The frozen bundle's launcher imports it in ``prep`` on the stations' Windows too,
    where fcntl and O_CLOEXEC do not exist: only a central's corte needs them."""
    import subprocess
    import sys

    codigo = ("import os, sys; sys.modules['fcntl'] = None; del os.O_CLOEXEC; "
              "import central.publication.escritor as e; print(e.ARGUMENTO)")
    hecho = subprocess.run([sys.executable, "-c", codigo], capture_output=True, text=True,
                           check=False, cwd=Path(__file__).parents[3])
    assert hecho.returncode == 0, hecho.stderr
    assert hecho.stdout.strip() == escritor_module.ARGUMENTO


def _residentes(path: Path) -> int:
    """How many of ``path``'s pages are in the system's memory (mincore(2))."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long)
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    tamano = path.stat().st_size
    vector = (ctypes.c_ubyte * ((tamano + mmap.PAGESIZE - 1) // mmap.PAGESIZE))()
    with path.open("rb") as f:
        direccion = libc.mmap(None, tamano, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
        assert direccion not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            assert libc.mincore(direccion, tamano, vector) == 0, os.strerror(ctypes.get_errno())
        finally:
            libc.munmap(direccion, tamano)
    return sum(v & 1 for v in vector)


@pytest.mark.parametrize("proceso", [True, False], ids=["proceso", "hilos"])
def test_the_previous_cortes_pages_go_to_the_new_corte_and_its_files_stay(
        tmp_path: Path, proceso: bool) -> None:
    """A corte writing over a previous one drops from memory the cached pages of the
    previous corte's file of each name as it writes its own (the kernel reuses them),
    and changes nothing in that corte: its files keep their bytes, read from disk."""
    publicacion = tmp_path / "publicacion"
    publicacion.mkdir()
    previos = {"sitio/datos/h0001.js": os.urandom(12_000),  # by the process (ring 64 KiB)
               "sitio/datos/s0001.js": os.urandom(300_000),  # too large: by threads
               "HISTORIAL.csv": os.urandom(3_000_000)}  # a stream
    primero = Staging(publicacion, "20270607_2000", proceso=proceso)
    for name in ("sitio/datos/h0001.js", "sitio/datos/s0001.js"):
        primero.put(name, previos[name])
    with primero.stream("HISTORIAL.csv") as write:
        for k in range(0, 3_000_000, 1_000_000):
            write(previos["HISTORIAL.csv"][k:k + 1_000_000])
    anterior = primero.publish()  # flushed to the disk: its pages can be dropped
    for name, data in previos.items():
        assert (anterior / name).read_bytes() == data  # and in memory again
        assert _residentes(anterior / name) > 0
    nuevos = {name: os.urandom(len(data)) for name, data in previos.items()}
    staging = Staging(publicacion, "20270607_2005", proceso=proceso, anterior=anterior)
    for name in ("sitio/datos/h0001.js", "sitio/datos/s0001.js"):
        staging.put(name, nuevos[name])
    with staging.stream("HISTORIAL.csv") as write:
        for k in range(0, 3_000_000, 1_000_000):
            write(nuevos["HISTORIAL.csv"][k:k + 1_000_000])
    final = staging.publish()
    for name, data in previos.items():
        assert _residentes(anterior / name) == 0, name
        assert (anterior / name).read_bytes() == data, name
        assert (final / name).read_bytes() == nuevos[name]
        assert staging.digests[name] == hashlib.sha256(nuevos[name]).hexdigest()
    abiertos = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert not {str(anterior / name) for name in previos} & abiertos  # none held open


def test_a_wait_whose_answer_another_thread_read_does_not_sleep_for_ever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by the corte's differential (issue 65; bench.corte_diferencial, seed 628): a
    # corte hung for ever, holding the corte lock. Its writing thread waited for the
    # process's answers (Staging.put_file), looked, found them not there yet, let go of
    # the lock, and before it slept on the answers' pipe the corte's own thread (a put)
    # read them: nothing more came down the pipe, and nothing woke it. The interleaving
    # is made here at the one place it can happen: the waiter's first sleep.
    root = tmp_path / "corte"
    root.mkdir()
    escritor = escritor_module.Escritor(root)
    pid = escritor._proceso.pid
    os.kill(pid, signal.SIGSTOP)  # it answers once let go, below
    real = select.select
    primera: list[bool] = []

    def select_(leer: list[int], escribir: list[int], errores: list[int],
                *espera: float) -> tuple[list[int], list[int], list[int]]:
        if not primera:
            primera.append(True)
            os.kill(pid, signal.SIGCONT)
            real(leer, [], [], holgado(30))  # its answer arrived…
            with escritor._lock:
                escritor._leer()  # …and another thread of the corte read it first
        return real(leer, escribir, errores, *espera)

    monkeypatch.setattr(escritor_module, "select", SimpleNamespace(select=select_))
    try:
        escritor.put("sitio/a.js", b"uno")
        hilo = threading.Thread(target=escritor.wait, args=(1,), daemon=True)
        hilo.start()
        hilo.join(holgado(30))
        assert primera and not hilo.is_alive(), \
            "the wait slept on a pipe that nothing more would come down"
        assert escritor.digests["sitio/a.js"] == hashlib.sha256(b"uno").hexdigest()
    finally:
        os.kill(pid, signal.SIGCONT)
        escritor.close()  # its pipe's end wakes a wait still asleep
