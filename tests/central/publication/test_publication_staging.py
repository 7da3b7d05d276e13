"""The staging directory a corte is written into (central.publication.staging): what it
queues for its writing threads is bounded, so a corte that makes its files faster than
the disk takes them waits instead of holding them all in memory; and a write that fails
neither loses the error nor leaves the corte waiting forever. Real files, real threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from central.publication import staging as staging_module
from central.publication.staging import Cupo
from central.publication.staging import Staging
from tests.harness.espera import esperar
from tests.harness.espera import holgado


def test_a_cupo_lets_out_at_most_its_limit_and_a_large_piece_alone() -> None:
    cupo = Cupo(100)
    cupo.tomar(60)
    cupo.tomar(40)  # exactly the limit
    paso = threading.Event()

    def otro() -> None:
        cupo.tomar(30)
        paso.set()

    hilo = threading.Thread(target=otro)
    hilo.start()
    assert not paso.wait(0.3)  # 130 > 100: it waits
    cupo.soltar(60)
    assert paso.wait(holgado(60))
    hilo.join()
    cupo.soltar(40)
    cupo.soltar(30)
    cupo.tomar(500)  # larger than the limit, with nothing else out: it goes
    cupo.soltar(500)


def test_staging_queues_no_more_than_its_limit(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging_module, "EN_VUELO", 10_000)
    staging = Staging(tmp_path, "corte", proceso=False)  # the threads' way
    lento = threading.Event()
    escribir = staging_module._escribir
    en_cola: list[int] = []

    def despacio(path: str, data: bytes) -> None:
        lento.wait(5)
        escribir(path, data)

    monkeypatch.setattr(staging_module, "_escribir", despacio)
    hecho = threading.Event()

    def hacer() -> None:
        for i in range(20):
            staging.put(f"sitio/datos/a{i}.js", bytes([i]) * 3_000)
            en_cola.append(i)
        with staging.stream("HISTORIAL.csv") as write:
            for _ in range(10):
                write(b"x" * 3_000)
        hecho.set()

    hilo = threading.Thread(target=hacer)
    hilo.start()
    # The disk is stalled: the corte stopped after three files (9,000 bytes), not 20.
    esperar(lambda: len(en_cola) >= 3, holgado(60), "no se encolaron tres archivos")
    time.sleep(0.5)  # and no more while the disk is stalled
    assert len(en_cola) == 3 and not hecho.is_set()
    lento.set()
    assert hecho.wait(holgado(60))
    hilo.join()
    staging.wait()
    final = staging.publish()
    assert all((final / f"sitio/datos/a{i}.js").read_bytes() == bytes([i]) * 3_000
               for i in range(20))
    assert (final / "HISTORIAL.csv").read_bytes() == b"x" * 30_000
    assert len(staging.digests) == 21


def test_a_failed_write_releases_its_bytes_and_is_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging_module, "EN_VUELO", 10_000)
    staging = Staging(tmp_path, "corte", proceso=False)  # the threads' way
    escribir = staging_module._escribir

    def lleno(path: str, data: bytes) -> None:
        if path.endswith("a1.js"):
            raise OSError(28, "No space left on device")
        escribir(path, data)

    monkeypatch.setattr(staging_module, "_escribir", lleno)

    def hacer() -> None:
        for i in range(10):
            staging.put(f"a{i}.js", b"y" * 6_000)

    hilo = threading.Thread(target=hacer, daemon=True)
    hilo.start()
    hilo.join(10)
    assert not hilo.is_alive()  # the failed write let its 6,000 bytes go
    with pytest.raises(OSError, match="No space left"):
        staging.wait()
    staging.discard()
    assert not any(tmp_path.iterdir())


def test_a_failed_flush_publishes_nothing(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk refuses the corte's data as publish flushes it (write-back error): the
    corte is not renamed into place, and discarding it leaves nothing."""
    staging = Staging(tmp_path, "corte")
    staging.put("a.csv", b"x" * 1_000)
    with staging.stream("HISTORIAL.csv") as write:
        write(b"y" * 1_000)

    def falla(fd: int, directory: Path) -> None:
        raise OSError(5, f"syncfs {directory}: Input/output error")

    monkeypatch.setattr(staging_module, "sync_tree", falla)
    with pytest.raises(OSError, match="Input/output error"):
        staging.publish()
    assert not (tmp_path / "corte").exists()
    staging.discard()
    assert not any(tmp_path.iterdir())


def _blobs(tmp_path: Path, n: int) -> dict[str, str]:
    """``n`` images in a blob store under ``tmp_path/blobs``: path in the corte → SHA-256."""
    import hashlib
    images: dict[str, str] = {}
    for k in range(n):
        data = f"imagen {k}".encode()
        sha = hashlib.sha256(data).hexdigest()
        blob = tmp_path / "blobs" / sha[:2] / sha[2:]
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        images[f"imagenes/{sha}.jpg"] = sha
    return images


def test_images_are_placed_by_a_thread_of_their_own_and_stop_with_a_discard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A national corte links half a million images: they go in while the corte goes on,
    # in tasks a discarded corte stops between.
    monkeypatch.setattr(staging_module, "_IMAGENES_POR_TAREA", 3)
    hilos: set[str] = set()
    colocar = staging_module._place_image

    def en_hilo(*args: object) -> None:
        hilos.add(threading.current_thread().name)
        colocar(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(staging_module, "_place_image", en_hilo)
    images = _blobs(tmp_path, 10)
    (tmp_path / "publicacion").mkdir()
    staging = Staging(tmp_path / "publicacion", "20270607_2000")
    staging.images(images, tmp_path / "blobs", None)
    staging.wait()
    for name, sha in images.items():
        assert (staging.tmp / name).read_bytes() == f"imagen {list(images).index(name)}".encode()
        assert staging.digests[name] == sha
    assert {h.rsplit("_", 1)[0] for h in hilos} == {"corte-imagenes"}
    final = staging.publish()
    assert (final / next(iter(images))).is_file()
    assert not [t for t in threading.enumerate() if t.name.startswith("corte-imagenes")]

    # A damaged blob fails the corte at wait(), with its message; the discard leaves
    # neither the directory nor the thread.
    otro = Staging(tmp_path / "publicacion", "20270607_2005")
    name, sha = next(iter(images.items()))
    (tmp_path / "blobs" / sha[:2] / sha[2:]).write_bytes(b"otra cosa")
    otro.images(images, tmp_path / "blobs", None)
    with pytest.raises(staging_module.CorteError, match="no coincide con su SHA-256"):
        otro.wait()
    otro.discard()
    assert not otro.tmp.exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("corte-imagenes")]
