"""The process that writes a corte's whole files (central.publication.escritor): every
file written with its SHA-256 in the manifest's digests, the shared ring bounded and
reused, and a write it cannot make, or the process dying, fails the corte with its
message and publishes nothing. A real child process, real files, real signals."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from central.publication import escritor as escritor_module
from central.publication.escritor import EscritorError
from central.publication.staging import Staging

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
    time.sleep(0.5)
    # 64 KiB hold six files of 10,000 bytes (the seventh would pass the ring's end)
    assert len(puestos) == 6 and hilo.is_alive()
    os.kill(pid, signal.SIGCONT)
    hilo.join(10)
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
                           check=False, cwd=Path(__file__).parents[2])
    assert hecho.returncode == 0, hecho.stderr
    assert hecho.stdout.strip() == escritor_module.ARGUMENTO
