"""The process that writes a corte's whole files (``python -m central.publication.escritor``).

A national corte writes about ten thousand files (the public site's), each with half a
dozen system calls. Written by threads of the corte's own process, every one of those
calls gave up Python's lock and took it back, taking it from the thread that makes the
files: measured on the national corte, the writing threads spent about ten seconds of
CPU per corte, and the thread making the corte ran for half of a corte's time (a third
when almost nothing changed). So the corte hands each file to this process instead
(:class:`Escritor`): it copies the bytes into memory both processes share, sends their
place and name down a pipe, and goes on; this process writes the file, starts its
write-back to the disk, hashes it and answers with its SHA-256, in order. The corte's
:meth:`~central.publication.staging.Staging.publish` still flushes the whole directory
to the disk once and renames it into place: nothing is published unless every file was
written and flushed.

It writes only below the directory it is given, names checked again here; it holds no
key and no connection. One process per corte: it ends when the corte closes its pipe,
and is killed if the corte is discarded.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import select
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from prep.durable import soltar_archivo
from prep.durable import start_writeback

#: Bytes shared with the writing process: files wait there to be written. A file larger
#: than a quarter of it is written by the corte's own threads instead.
ANILLO = 32 * 1024 * 1024
#: Per file, to the writer: where its bytes are in the ring, how many, its name's length.
_ORDEN = struct.Struct("<QIH")
#: Per file, back, in order: 0 (written) or an errno, its SHA-256 (or an error message's
#: length, the message following).
_RESPUESTA = struct.Struct("<i32s")
_TUBO = 1024 * 1024  # each pipe's capacity (F_SETPIPE_SZ), as Linux allows
# (getattr: this module is imported by the frozen bundle's launcher on Windows too)
_CREAR = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
_MAXIMO_NOMBRE = 1024
#: Seconds a wait sleeps on the answers' pipe before it looks again: another thread (the
#: corte's puts, a file's wait) may have read the very answers it waits for between its
#: look and its sleep, and then nothing more comes down the pipe to wake it (a corte
#: hung so for ever, holding the corte lock: issue 65's differential).
_VISTAZO = 0.05


class EscritorError(OSError):
    """The writing process failed or ended before answering for every file."""


class Escritor:
    """The corte's side: :meth:`put` a file (waits while the ring is full), :meth:`wait`
    for every answer (raises the first failed write), :meth:`close` or :meth:`kill`."""

    def __init__(self, root: Path, anillo: int | None = None,
                 digests: dict[str, str] | None = None, anterior: Path | None = None
                 ) -> None:
        import fcntl  # Linux's (the central's); not on the stations' Windows

        self.anillo = anillo = ANILLO if anillo is None else anillo
        self._memoria = os.memfd_create("corte-anillo", os.MFD_CLOEXEC)
        cerrar: list[int] = [self._memoria]
        try:
            os.ftruncate(self._memoria, anillo)
            self._mapa = mmap.mmap(self._memoria, anillo)
            orden_r, self._orden = os.pipe()
            cerrar += (orden_r, self._orden)
            self._respuestas, respuesta_w = os.pipe()
            cerrar += (self._respuestas, respuesta_w)
            for fd in (self._orden, self._respuestas):
                try:
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _TUBO)
                except OSError:
                    pass  # the system's limit: smaller pipes only wait more often
            os.set_blocking(self._respuestas, False)
            self._proceso = subprocess.Popen(
                [*_programa(), str(root), str(self._memoria), str(orden_r),
                 str(respuesta_w), str(anillo), "" if anterior is None else str(anterior)],
                pass_fds=(self._memoria, orden_r, respuesta_w), stdin=subprocess.DEVNULL)
        except BaseException:
            if hasattr(self, "_mapa"):
                self._mapa.close()
            for fd in cerrar:
                os.close(fd)
            raise
        os.close(orden_r)
        os.close(respuesta_w)
        self._lock = threading.Lock()
        self._puesto = 0  # bytes placed in the ring since the start (wraps included)
        #: (name, None if not listed; start in the ring) per file sent, not yet answered
        self._pendientes: deque[tuple[str | None, int]] = deque()
        self._recibido = b""  # answers read and not yet whole
        #: SHA-256 of each listed file written (``digests``: the caller's, filled in place).
        self.digests: dict[str, str] = {} if digests is None else digests
        self.error: OSError | None = None
        self._respondidos = 0
        self._cerrado = False

    def cabe(self, n: int) -> bool:
        """Whether a file of ``n`` bytes goes through the ring."""
        return n <= self.anillo // 4

    def put(self, name: str, data: bytes, listed: bool = True) -> None:
        """Queue ``data`` to be written as ``name`` (relative to the root), waiting while
        the ring has no room for it; ``listed``: its SHA-256 goes in :attr:`digests`.
        From one thread at a time."""
        nombre = name.encode()
        n = len(data)
        with self._lock:
            inicio = self._puesto % self.anillo
            if inicio + n > self.anillo:  # to the start: what is left at the end is skipped
                self._puesto += self.anillo - inicio
                inicio = 0
        self._esperar(lambda: self._puesto + n - self._hecho() <= self.anillo)
        with self._lock:
            self._mapa[inicio:inicio + n] = data
            self._pendientes.append((name if listed else None, self._puesto))
            self._puesto += n
            self._enviar(_ORDEN.pack(inicio, n, len(nombre)) + nombre)
            self._leer()

    @property
    def enviados(self) -> int:
        """How many files were sent so far."""
        with self._lock:
            return self._respondidos + len(self._pendientes)

    def wait(self, hasta: int | None = None) -> None:
        """Every file sent is written (``hasta``: the first ``hasta`` files sent); raises
        the first write that failed."""
        self._esperar(lambda: not self._pendientes if hasta is None
                      else self._respondidos >= hasta)
        if self.error is not None:
            raise self.error

    def _esperar(self, listo: Callable[[], bool]) -> None:
        while True:
            with self._lock:
                self._leer()
                if listo() or (self.error is not None and not self._pendientes):
                    return
            select.select([self._respuestas], [], [], _VISTAZO)

    def close(self) -> None:
        """No more files: the process ends once it wrote every one."""
        if self._cerrado:
            return
        self._cerrado = True
        try:
            self.wait()
        finally:
            os.close(self._orden)
            codigo = self._proceso.wait()
            self._cerrar()
        if codigo != 0:
            raise EscritorError(errno.EIO, "el proceso que escribe los archivos del corte "
                                f"terminó con el código {codigo}")

    def kill(self) -> None:
        """Stop now (a discarded corte)."""
        if self._cerrado:
            return
        self._cerrado = True
        self._proceso.kill()
        self._proceso.wait()
        os.close(self._orden)
        self._cerrar()

    def _cerrar(self) -> None:
        self._mapa.close()
        os.close(self._memoria)
        os.close(self._respuestas)

    def _hecho(self) -> int:
        """Where the oldest byte still to be written is (the start of the oldest file
        without an answer; where the next file goes if none waits): the ring is free
        before it."""
        return self._pendientes[0][1] if self._pendientes else self._puesto

    def _enviar(self, datos: bytes) -> None:
        vista = memoryview(datos)
        while vista:
            try:
                escrito = os.write(self._orden, vista)
            except BrokenPipeError:
                raise EscritorError(errno.EPIPE, "el proceso que escribe los archivos del "
                                    "corte terminó antes de escribirlos todos (código "
                                    f"{self._proceso.poll()})") from None
            vista = vista[escrito:]

    def _leer(self) -> None:
        """Read the answers there are (with the lock)."""
        try:
            bloque = os.read(self._respuestas, _TUBO)
        except BlockingIOError:
            return
        if not bloque:
            self.error = self.error or EscritorError(
                errno.EIO, "el proceso que escribe los archivos del corte terminó antes "
                f"de escribirlos todos (código {self._proceso.poll()})")
            self._pendientes.clear()
            return
        datos = self._recibido + bloque
        k = 0
        while len(datos) - k >= _RESPUESTA.size:
            estado, resto = _RESPUESTA.unpack_from(datos, k)
            fin = k + _RESPUESTA.size
            if estado:
                largo = int.from_bytes(resto[:2], "little")
                if len(datos) - fin < largo:
                    break
                if self.error is None:
                    self.error = OSError(estado, datos[fin:fin + largo].decode(
                        "utf-8", "replace"))
                fin += largo
            else:
                name, _ = self._pendientes[0]
                if name is not None:
                    self.digests[name] = resto.hex()
            self._pendientes.popleft()
            self._respondidos += 1
            k = fin
        self._recibido = datos[k:]


#: How the frozen program (installer/launcher.py) is told to be this process.
ARGUMENTO = "--escritor-de-corte"


def _programa() -> list[str]:
    """The command that starts this process: this module run by this Python, or the
    frozen bundle's one executable with :data:`ARGUMENTO` (``prep central serve`` of an
    installed central)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, ARGUMENTO]
    return [sys.executable, "-m", __name__]


def main(argv: list[str]) -> int:
    """The writing process: ``ROOT RING_FD ORDERS_FD ANSWERS_FD RING_SIZE [PREVIOUS]``
    (PREVIOUS: the previous corte's directory, or empty)."""
    memoria, orden, respuesta, anillo = map(int, argv[1:5])
    _escribir(argv[0], memoria, orden, respuesta, anillo, argv[5] if len(argv) > 5 else "")
    return 0


def _escribir(raiz: str, memoria: int, orden: int, respuesta: int, anillo: int,
              anterior: str = "") -> None:
    mapa = mmap.mmap(memoria, anillo, prot=mmap.PROT_READ)
    vista = memoryview(mapa)
    directorios: set[str] = set()
    entrada = os.fdopen(orden, "rb", buffering=_TUBO)
    while cabecera := entrada.read(_ORDEN.size):
        if len(cabecera) < _ORDEN.size:
            raise EOFError("orden incompleta")
        inicio, n, largo = _ORDEN.unpack(cabecera)
        if largo > _MAXIMO_NOMBRE or inicio + n > anillo:
            raise ValueError("orden fuera de los límites")
        nombre = entrada.read(largo).decode()
        datos = vista[inicio:inicio + n]
        try:
            path = _dentro(raiz, nombre)
            if anterior:  # its pages go to this corte's file (Staging.anterior)
                soltar_archivo(f"{anterior}/{nombre}")
            directorio = os.path.dirname(path)
            if directorio not in directorios:
                os.makedirs(directorio, exist_ok=True)
                directorios.add(directorio)
            fd = os.open(path, _CREAR, 0o666)
            try:
                escrito = 0
                while escrito < n:
                    escrito += os.write(fd, datos[escrito:])
                start_writeback(fd)
            finally:
                os.close(fd)
            respuesta_ = _RESPUESTA.pack(0, hashlib.sha256(datos).digest())
        except OSError as exc:
            mensaje = f"{nombre}: {exc.strerror or exc}".encode()[:1_000]
            respuesta_ = _RESPUESTA.pack(exc.errno or errno.EIO,
                                         len(mensaje).to_bytes(2, "little")) + mensaje
        finally:
            datos.release()
        while respuesta_:
            respuesta_ = respuesta_[os.write(respuesta, respuesta_):]


def _dentro(raiz: str, nombre: str) -> str:
    partes = nombre.split("/")
    if not nombre or nombre.startswith("/") or any(p in ("", ".", "..") for p in partes):
        raise OSError(errno.EINVAL, f"nombre de archivo inválido en el corte: {nombre!r}")
    return f"{raiz}/{nombre}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
