"""The hidden directory a corte is written into, then renamed into place
(:class:`Staging`), and the images it links from the previous corte or the blob store.

Split from :mod:`central.publication.publicar`, which decides what a corte holds; this
module only writes it: hashed, in background threads, flushed to the disk once, published
atomically.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from pathlib import PurePosixPath
from typing import BinaryIO

from central.publication.escritor import Escritor
from prep.corte.nombres import IMAGENES as IMAGENES
from prep.durable import fsync_dir as _fsync_dir
from prep.durable import soltar_archivo
from prep.durable import start_writeback
from prep.durable import sync_tree
from prep.filehash import sha256_file

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
#: Threads writing whole files at once.
_FILE_WRITERS = 8
#: Bytes a corte queues for its writing threads at most; past it, the corte waits for
#: them. A national corte makes its files faster than they are hashed, written and
#: fsynced (its tramos' texts are read back, not made), and every queued byte is
#: memory: unbounded, the queues held hundreds of megabytes at its peak. The corte's
#: history is queued twice (its file, and its deflate into the zip), each up to this.
EN_VUELO = 32 * 1024 * 1024
#: Images placed per task of the images' thread (a discarded corte stops between them).
_IMAGENES_POR_TAREA = 5_000


class Cupo:
    """Bytes handed to other threads and not yet done with: :meth:`tomar` waits while
    more than ``limite`` are out (a piece larger than that goes when nothing else is
    out); the thread done with them calls :meth:`soltar`."""

    def __init__(self, limite: int) -> None:
        self.limite = limite
        self._fuera = 0
        self._cambio = threading.Condition()

    def tomar(self, n: int) -> None:
        with self._cambio:
            while self._fuera and self._fuera + n > self.limite:
                self._cambio.wait()
            self._fuera += n

    def soltar(self, n: int) -> None:
        with self._cambio:
            self._fuera -= n
            self._cambio.notify_all()


class CorteError(RuntimeError):
    """A corte could not be published (nothing was published); Spanish message."""


class Staging:
    """The hidden temporary directory a corte is written into, then renamed.

    Files are hashed and written in the background (hashing, zlib and disk writes
    release the GIL), overlapping the Python work of the next files: streams and files
    made from earlier ones by one ordered thread, whole files given as bytes by a few
    threads at once. None is fsynced alone: :meth:`publish` flushes the whole directory
    to the disk in one call (:func:`prep.durable.sync_tree`) before renaming it into
    place: a national corte writes ten thousand files, and an fsync each committed the
    file system's journal ten thousand times where one flush commits it once. Each
    file's write-back is started as it is written (:func:`prep.durable.start_writeback`),
    so that little is left for that flush."""

    def __init__(self, publicacion: Path, name: str, proceso: bool = True,
                 anterior: Path | None = None) -> None:
        self.publicacion = publicacion
        #: The previous corte: the cached pages of each of its files are dropped as
        #: this corte writes the file of the same name (``prep.durable.soltar_cache``),
        #: and the kernel gives them to this corte's file.
        self.anterior = anterior
        self.final = publicacion / name
        self.tmp = publicacion / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        self.tmp.mkdir()
        # Opened before anything is written in it: publish's flush reports every
        # write-back error from here on (prep.durable.sync_tree).
        self._fd = os.open(self.tmp, os.O_RDONLY | os.O_DIRECTORY)
        self.digests: dict[str, str] = {}  # what the manifest lists
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="corte-escritura")
        self._files = ThreadPoolExecutor(_FILE_WRITERS, thread_name_prefix="corte-archivos")
        self._pending: list[Future[None]] = []
        self._streams: list[BinaryIO] = []  # closed by their last write, or by discard
        self._discards: list[Callable[[], None]] = []
        self._raiz = str(self.tmp)
        self._directorios: set[str] = set()  # made already
        self._cupo = Cupo(EN_VUELO)  # what the threads have yet to write
        self._imagenes: ThreadPoolExecutor | None = None  # places the images (images)
        #: The process writing the whole files (None: the threads above write them).
        self._escritor = _escritor(self.tmp, self.digests, anterior) if proceso else None

    def put(self, name: str, data: bytes, listed: bool = True) -> None:
        """Write ``name`` (in the background; see :meth:`wait`). Waits while the threads
        have more than :data:`EN_VUELO` bytes yet to write."""
        if _NOMBRE_LLANO.fullmatch(name) and ".." not in name.split("/"):
            path = f"{self._raiz}/{name}"  # ten thousand site files: checked as text
        else:
            path = str(_inside(self.tmp, name))
        if self._escritor is not None and self._escritor.cabe(len(data)):
            self._escritor.put(name, data, listed)
            return
        self._cupo.tomar(len(data))
        self._pending.append(self._files.submit(self._put, name, path, lambda: data, listed,
                                                len(data)))

    def path(self, name: str) -> Path:
        """Where ``name`` is written."""
        return _inside(self.tmp, name)

    def put_file(self, name: str, make: Callable[[Path], str | None]) -> None:
        """Write ``name`` with ``make(path)``, run in the background after every file
        queued before it is on disk (it may read them); ``make`` returns the file's
        SHA-256 if it hashed what it wrote (else the file is read again to hash it)."""
        before = list(self._pending)
        enviados = None if self._escritor is None else self._escritor.enviados
        self._pending.append(self._writer.submit(self._put_file, name, self.path(name), make,
                                                 before, enviados))

    def _put_file(self, name: str, path: Path, make: Callable[[Path], str | None],
                  before: Sequence[Future[None]], enviados: int | None) -> None:
        for future in before:  # the whole files, written by the other threads
            future.result()
        if enviados is not None:  # and by the writing process
            assert self._escritor is not None
            self._escritor.wait(enviados)
        hecho = make(path)
        digest = hashlib.sha256()
        with path.open("rb") as f:
            start_writeback(f.fileno())
            while hecho is None and (chunk := f.read(CHUNK)):
                digest.update(chunk)
        self.digests[name] = digest.hexdigest() if hecho is None else hecho

    def al_descartar(self, on_discard: Callable[[], None]) -> None:
        """Call ``on_discard`` if the corte is discarded (after the writing threads
        stop)."""
        self._discards.append(on_discard)

    def run(self, task: Callable[[], None],
            on_discard: Callable[[], None] | None = None) -> None:
        """Run ``task`` in the writing thread, in order with the streams' pieces;
        ``on_discard`` if the corte is discarded."""
        if on_discard is not None:
            self.al_descartar(on_discard)
        self._pending.append(self._writer.submit(task))

    @contextmanager
    def stream(self, name: str, also: Callable[[bytes], None] | None = None
               ) -> Iterator[Callable[[bytes], None]]:
        """Write ``name`` piece by piece: the ``with`` block gets a function that queues
        each piece for the writing thread (hashed and written in order, then given to
        ``also``), so a file of hundreds of megabytes never sits in memory whole (nor
        queued whole: the function waits as :meth:`put` does)."""
        path = _inside(self.tmp, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("wb")
        self._streams.append(f)
        digest = hashlib.sha256()
        viejo = None if self.anterior is None else f"{self.anterior}/{name}"
        escritos = 0

        def write(data: bytes) -> None:
            nonlocal escritos
            try:
                digest.update(data)
                escritos += len(data)
                if viejo is not None:  # as much of the previous corte's file (from its
                    soltar_archivo(viejo, escritos)  # start: pages cut at the ends)
                f.write(data)
                start_writeback(f.fileno())  # its pieces are about a megabyte
                if also is not None:
                    also(data)
            finally:
                self._cupo.soltar(len(data))

        def queue(data: bytes) -> None:
            self._cupo.tomar(len(data))
            self._pending.append(self._writer.submit(write, data))

        def close() -> None:
            f.flush()
            start_writeback(f.fileno())
            f.close()
            if viejo is not None:
                soltar_archivo(viejo)
            self.digests[name] = digest.hexdigest()

        yield queue
        self._pending.append(self._writer.submit(close))

    def _put(self, name: str, path: str, make: Callable[[], bytes], listed: bool,
             tomados: int = 0) -> None:
        try:
            data = make()
            if self.anterior is not None:
                soltar_archivo(f"{self.anterior}/{name}")
            directorio = os.path.dirname(path)
            if directorio not in self._directorios:
                os.makedirs(directorio, exist_ok=True)
                self._directorios.add(directorio)
            _escribir(path, data)
            if listed:
                self.digests[name] = hashlib.sha256(data).hexdigest()
        finally:
            self._cupo.soltar(tomados)

    def wait(self) -> None:
        """Every file written so far is on disk (raises what a write raised)."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        if self._escritor is not None:
            self._escritor.wait()  # its answers put their digests in self.digests

    def images(self, images: Mapping[str, str], blobs: Path, anterior: Path | None) -> None:
        """Place ``images`` (path → SHA-256) in the corte, by a thread of its own, while
        the corte goes on (a national corte links half a million: seconds of system
        calls); :meth:`wait` waits for them and raises what placing one raised."""
        (self.tmp / IMAGENES).mkdir(exist_ok=True)
        if self._imagenes is None:
            self._imagenes = ThreadPoolExecutor(1, thread_name_prefix="corte-imagenes")
        items = list(images.items())
        for k in range(0, len(items), _IMAGENES_POR_TAREA):  # a discard stops between
            self._pending.append(self._imagenes.submit(
                self._place_images, items[k:k + _IMAGENES_POR_TAREA], blobs, anterior))

    def _place_images(self, items: Sequence[tuple[str, str]], blobs: Path,
                      anterior: Path | None) -> None:
        for name, sha in items:
            _place_image(self.tmp / name, sha, blobs, anterior / name if anterior else None)
            self.digests[name] = sha

    def publish(self) -> Path:
        """:meth:`preparar`, then :meth:`colocar`."""
        self.preparar()
        return self.colocar()

    def preparar(self) -> None:
        """Every file written and flushed to the disk, still under the hidden name."""
        self.wait()
        self._writer.shutdown()
        self._files.shutdown()
        if self._imagenes is not None:
            self._imagenes.shutdown()
        if self._escritor is not None:
            self._escritor.close()
        try:
            sync_tree(self._fd, self.tmp)  # every file and directory on disk
        finally:
            self._cerrar()

    def colocar(self) -> Path:
        """The prepared directory renamed into place (published to whoever lists the
        publication directory)."""
        if self.final.exists():  # only one corte writer runs at a time (advisory lock)
            raise CorteError(f"el corte {self.final.name} ya existe; no se sobrescribe")
        os.rename(self.tmp, self.final)
        _fsync_dir(self.publicacion)
        return self.final

    def _cerrar(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        self._writer.shutdown(wait=True, cancel_futures=True)
        self._files.shutdown(wait=True, cancel_futures=True)
        if self._imagenes is not None:
            self._imagenes.shutdown(wait=True, cancel_futures=True)
        if self._escritor is not None:
            self._escritor.kill()
        for f in self._streams:
            f.close()
        self._cerrar()
        for discard in self._discards:
            discard()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _escritor(root: Path, digests: dict[str, str], anterior: Path | None
              ) -> Escritor | None:
    """A process writing ``root``'s whole files (their SHA-256 into ``digests``), where
    the system can share memory with one (Linux); None: the corte's threads write them."""
    if not hasattr(os, "memfd_create"):
        return None
    try:
        return Escritor(root, digests=digests, anterior=anterior)
    except OSError as exc:  # no process or shared memory to be had: the threads write
        log.warning("no se pudo iniciar el proceso que escribe los archivos del corte "
                    "(%s); los escriben los hilos del nodo central", exc)
        return None


def _escribir(path: str, data: bytes) -> None:
    """Write ``path`` (to the kernel: Staging.publish flushes them all to the disk)."""
    with open(path, "wb") as f:  # a str path: ten thousand per corte
        f.write(data)
        f.flush()
        start_writeback(f.fileno())  # publish's flush then finds it written


#: A file name inside a corte made of plain parts (as every name the corte makes is).
_NOMBRE_LLANO = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


def _inside(root: Path, name: str) -> Path:
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "" in parts:
        raise CorteError(f"nombre de archivo inválido en el corte: {name!r}")
    return root.joinpath(*parts)


def _place_image(dest: Path, sha256: str, blobs: Path, previous: Path | None) -> None:
    """Hard-link the image (already checked when it was first published) from the
    previous corte; otherwise re-hash the blob and link or copy it."""
    if previous is not None and previous.is_file():
        try:
            os.link(previous, dest)
            return
        except OSError:
            pass  # another file system, or no hard links there: take it from the blob
    blob = blobs / sha256[:2] / sha256[2:]
    try:
        actual = sha256_file(blob)
    except FileNotFoundError:
        raise CorteError(f"falta la imagen {sha256} en el almacén del nodo central; no "
                         "se publicó el corte") from None
    if actual != sha256:
        raise CorteError(f"la imagen {sha256} del almacén no coincide con su SHA-256 "
                         f"(dañada: {actual}); no se publicó el corte")
    try:
        os.link(blob, dest)
    except OSError:
        shutil.copyfile(blob, dest)
        with dest.open("rb") as f:
            os.fsync(f.fileno())


