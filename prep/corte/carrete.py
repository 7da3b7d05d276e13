"""Where a running central keeps its tramos' published text between cortes (issue 30: a
national corte in 1 GB).

A tramo's piece (:class:`prep.corte.tramos.Pieza`) carries four texts: its lines of the
election's CSV and of HISTORIAL.csv, its rows on the site and its entries in the site's
history. Nationally they are about a gigabyte, and a corte reuses almost all of them as
they are. So once a corte has made one of those texts for every tramo of an election,
the texts go to a *generación*: a file holding every tramo's text in tramo order, and
each piece then points at it instead of holding bytes. A later corte reads a run of
unchanged tramos back with one read, and writes a generación of only the texts it made
again (a few percent); the other pieces keep pointing where they did. Every so often
(:func:`completa`: when the tramos are spread over :data:`GENERACIONES` generaciones,
or cut in too many runs) the new generación holds every tramo again, copying the
unchanged runs in the kernel (``copy_file_range``), and the old ones close as no piece
points at them any more.

A generación is a file without a name (``O_TMPFILE``, mode 0600) in the directory the
process was given (``prep central serve``: its data directory): no other process can
open it by a name, and it disappears with the process, as the rest of the memo does. It
is not the published files: whoever could alter those on disk would have their bytes
re-signed in the next corte. Writing happens in a thread of its own while the corte goes
on; the next corte waits for it (:meth:`Carrete.esperar`). If it fails (a full disk),
the pieces keep their bytes: the cortes are the same, the memory is what it was before.
"""

from __future__ import annotations

import logging
import os
import tempfile
import weakref
from array import array
from bisect import bisect_left
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO
from typing import Any

log = logging.getLogger(__name__)

#: Buffers per ``pwritev`` (Linux's IOV_MAX is 1024).
_IOV = 1000
#: A read shorter than this reads this much of its generación, and the next reads are
#: taken from those bytes while they fall within them.
BLOQUE = 1 << 20
#: How many generaciones keep their last block read (the others' are dropped).
_BLOQUES = 8


class Generacion:
    """One text of one election's tramos, written by one corte: the file's bytes
    ``[limites[j], limites[j + 1])`` are the text of its ``j``-th tramo, followed by
    ``sep`` when it is not empty (texts a reader joins by commas are stored with their
    comma, so that a run of tramos read at once is itself such a list). A generación
    holds every tramo (``tramos`` None: its ``j``-th is tramo ``j``) or only those a
    corte made again (``tramos``: which, in order; the others stay in earlier ones)."""

    __slots__ = ("__weakref__", "_archivo", "_bloque", "_fd", "limites", "sep", "tramos")

    def __init__(self, archivo: IO[bytes], limites: array[int], sep: bytes,
                 tramos: array[int] | None = None) -> None:
        self._archivo = archivo
        self._fd = archivo.fileno()
        self.limites = limites
        self.sep = sep
        self.tramos = tramos
        #: Its last block read (offset, bytes), or None.
        self._bloque: tuple[int, bytes] | None = None

    def indice(self, a: int) -> int:
        """Where tramo ``a`` is in :attr:`limites` (it must be here)."""
        if self.tramos is None:
            return a
        j = bisect_left(self.tramos, a)
        if j == len(self.tramos) or self.tramos[j] != a:
            raise KeyError(f"el tramo {a} no está en esta generación del carrete")
        return j

    def leer(self, a: int, b: int) -> bytes:
        """The texts of tramos ``[a, b)`` (all in this generación, so one after the
        other in it), each but the last followed by ``sep``."""
        j = self.indice(a)
        inicio, fin = self.limites[j], self.limites[j + b - a]
        if fin > inicio:
            fin -= len(self.sep)
        bloque = self._bloque
        if bloque is not None and bloque[0] <= inicio and fin <= bloque[0] + len(bloque[1]):
            desde = inicio - bloque[0]
            return bloque[1][desde:desde + fin - inicio]
        if fin - inicio >= BLOQUE:
            return _pread(self._fd, fin - inicio, inicio)
        # A corte reads a generación's runs in order, between the texts it made again:
        # tens of thousands of short reads. Each system call lets the corte's other
        # threads take the GIL, which the main thread then waits to get back (a national
        # corte's 57,000 reads took 3.7 s for 0.5 s of CPU). So a short read reads a
        # block, and the next reads within it are slices of it.
        datos = _pread(self._fd, min(inicio + BLOQUE, self.limites[-1]) - inicio, inicio)
        self._bloque = (inicio, datos)
        _recordar(self)
        return datos[:fin - inicio]

    def soltar(self) -> None:
        """Drop its block."""
        self._bloque = None

    def __del__(self) -> None:  # no piece points here any more: the space goes back
        self._archivo.close()


#: A piece's text: its bytes, the generación holding it (at the piece's tramo), or None
#: (not made).
Texto = bytes | Generacion | None


def texto(valor: bytes | Generacion, i: int) -> bytes:
    """Tramo ``i``'s text, given its piece's value."""
    return valor if isinstance(valor, bytes) else valor.leer(i, i + 1)


def partes(valores: Sequence[bytes | Generacion], inicio: int = 0,
           tope: int | None = None) -> Iterator[bytes]:
    """The non-empty texts of tramos ``inicio, inicio + 1, …`` (``valores[k]`` is the
    value of tramo ``inicio + k``), in order, in few pieces: a run of tramos in one
    generación comes as one read (of at most about ``tope`` bytes, cut between tramos),
    each tramo but the run's last followed by its generación's ``sep``."""
    for k, fin, valor in _rachas(valores):
        if isinstance(valor, bytes):
            if valor:
                yield valor
            continue
        a, b = inicio + k, inicio + fin
        if tope is None:
            leido = valor.leer(a, b)
            if leido:
                yield leido
            continue
        limites = valor.limites
        d = valor.indice(a) - a  # tramo t's text starts at limites[t + d]
        while a < b:
            # the last tramo ending within ``tope`` bytes of ``a``, at least one
            corte = bisect_right(limites, limites[a + d] + tope, a + d, b + d + 1) - 1 - d
            corte = min(b, max(a + 1, corte))
            leido = valor.leer(a, corte)
            if leido:
                yield leido
            a = corte


def _rachas(valores: Sequence[bytes | Generacion]
            ) -> Iterator[tuple[int, int, bytes | Generacion]]:
    """``valores`` as runs ``[k, fin)``: each text given as bytes alone, each run of
    consecutive tramos in one generación together (one read, one copy)."""
    k, n = 0, len(valores)
    while k < n:
        valor = valores[k]
        fin = k + 1
        if not isinstance(valor, bytes):
            while fin < n and valores[fin] is valor:
                fin += 1
        yield k, fin, valor
        k = fin


def escribir(directorio: Path | str | None, valores: Sequence[bytes | Generacion],
             sep: bytes, completa: bool = True) -> Generacion:
    """A new generación of ``valores`` (tramo ``i``'s value at ``i``): each text given
    as bytes written; ``completa``: every tramo, each run held by a generación copied
    from it by the kernel; otherwise only the texts given as bytes."""
    archivo = tempfile.TemporaryFile(dir=directorio)
    try:
        fd = archivo.fileno()
        limites = array("q", [0])
        tramos = None if completa else array("q")
        pos = desde_bufs = 0
        bufs: list[bytes] = []
        for k, fin, valor in _rachas(valores):
            if isinstance(valor, bytes):
                if valor:
                    bufs += (valor, sep) if sep else (valor,)
                    pos += len(valor) + len(sep)
                limites.append(pos)
                if tramos is not None:
                    tramos.append(k)
                if len(bufs) >= _IOV:
                    _pwritev(fd, bufs, desde_bufs)
                    bufs.clear()
                    desde_bufs = pos
                continue
            if tramos is not None:  # left where it is
                continue
            if bufs:
                _pwritev(fd, bufs, desde_bufs)
                bufs.clear()
            origen = valor.limites
            j = valor.indice(k)
            desde, hasta = origen[j], origen[j + fin - k]
            _copiar(valor._fd, fd, hasta - desde, desde, pos)
            limites.extend(pos + origen[i] - desde for i in range(j + 1, j + fin - k + 1))
            pos += hasta - desde
            desde_bufs = pos
        if bufs:
            _pwritev(fd, bufs, desde_bufs)
        return Generacion(archivo, limites, sep, tramos)
    except BaseException:
        archivo.close()
        raise


#: When the next generación of a text holds every tramo again (the others stay where they
#: are): once its tramos would be in more than this many generaciones (each open, and
#: each holding the texts later ones replaced), in more runs than a ``1/RACHAS`` of
#: the tramos (each run is one read in every corte), or once the generaciones of only
#: some tramos would take more than the last one of them all (so the disk holds at most
#: twice the texts).
GENERACIONES = 8
RACHAS = 8


def completa(valores: Sequence[bytes | Generacion]) -> bool:
    """Whether the next generación of ``valores`` should hold every tramo (see
    :data:`GENERACIONES`): a corte that made few tramos again writes only those."""
    vivas: dict[int, Generacion] = {}
    rachas = 0
    nuevos = 0
    previa: object = None
    for valor in valores:
        if isinstance(valor, bytes):
            clave: object = bytes  # the new ones, one after the other in the new one
            nuevos += len(valor)
        else:
            clave = valor
            vivas[id(valor)] = valor
        if clave is not previa:
            rachas += 1
            previa = clave
    if not vivas or len(vivas) >= GENERACIONES or rachas > max(64, len(valores) // RACHAS):
        return True
    # And before the texts written since the last whole one take more than it does.
    enteras = sum(g.limites[-1] for g in vivas.values() if g.tramos is None)
    return nuevos + sum(g.limites[-1] for g in vivas.values() if g.tramos is not None) \
        > enteras


_CON_BLOQUE: deque[weakref.ref[Generacion]] = deque()


def _recordar(generacion: Generacion) -> None:
    """``generacion`` holds a block: the oldest holder beyond :data:`_BLOQUES` drops
    its."""
    _CON_BLOQUE.append(weakref.ref(generacion))
    while len(_CON_BLOQUE) > _BLOQUES:
        vieja = _CON_BLOQUE.popleft()()
        if vieja is not None and vieja is not generacion \
                and not any(r() is vieja for r in _CON_BLOQUE):
            vieja.soltar()


def soltar_bloques() -> None:
    """Every generación drops its block (a corte is over: nothing is read until the
    next)."""
    while _CON_BLOQUE:
        generacion = _CON_BLOQUE.popleft()()
        if generacion is not None:
            generacion.soltar()


def _pread(fd: int, n: int, offset: int) -> bytes:
    leido = os.pread(fd, n, offset)
    if len(leido) == n:
        return leido
    partes_ = [leido]
    falta = n - len(leido)
    while falta:
        mas = os.pread(fd, falta, offset + n - falta)
        if not mas:
            raise OSError(f"el carrete terminó antes de lo esperado ({falta} bytes)")
        partes_.append(mas)
        falta -= len(mas)
    return b"".join(partes_)


def _pwritev(fd: int, bufs: list[bytes], offset: int) -> None:
    escrito = os.pwritev(fd, bufs, offset)
    total = sum(map(len, bufs))
    if escrito < total:  # a short write: the rest, plainly
        resto = memoryview(b"".join(bufs))[escrito:]
        offset += escrito
        while resto:
            hecho = os.pwrite(fd, resto, offset)
            resto, offset = resto[hecho:], offset + hecho


def _copiar(origen: int, destino: int, n: int, desde: int, hacia: int) -> None:
    while n > 0:
        try:
            hecho = os.copy_file_range(origen, destino, n, desde, hacia)
        except OSError:  # a file system that cannot: through this process
            hecho = os.pwrite(destino, _pread(origen, min(n, 1 << 24), desde), hacia)
        if hecho <= 0:
            raise OSError(f"el carrete no pudo copiar {n} bytes")
        n, desde, hacia = n - hecho, desde + hecho, hacia + hecho


class Carrete:
    """A process's generaciones: where they go (``directorio``; None: the system's
    temporary directory) and the thread that writes them."""

    def __init__(self, directorio: Path | str | None = None) -> None:
        self.directorio = directorio
        self._hilo: ThreadPoolExecutor | None = None
        self._pendientes: list[Future[None]] = []
        #: Generaciones that could not be written since the process started (logged).
        self.fallos = 0

    def guardar(self, piezas: Sequence[Any], campo: str, sep: bytes) -> None:
        """Write the text ``campo`` of every piece of ``piezas`` (an election's, in tramo
        order) to a new generación, in the background, and point the pieces at it. Not
        when a piece lacks it (None: that text was not made)."""
        valores = [getattr(p, campo) for p in piezas]
        if any(v is None for v in valores):
            return
        if all(v is valores[0] for v in valores) and isinstance(valores[0], Generacion):
            return  # every piece is in one generación already
        if self._hilo is None:
            self._hilo = ThreadPoolExecutor(1, thread_name_prefix="carrete")
        self._pendientes.append(self._hilo.submit(
            self._guardar, list(piezas), campo, valores, sep))

    def _guardar(self, piezas: list[Any], campo: str, valores: list[bytes | Generacion],
                 sep: bytes) -> None:
        todas = completa(valores)
        generacion = escribir(self.directorio, valores, sep, todas)
        for pieza, valor in zip(piezas, valores, strict=True):
            if (todas or type(valor) is bytes) and getattr(pieza, campo) is valor:
                setattr(pieza, campo, generacion)

    def esperar(self) -> None:
        """Wait for the generaciones being written. One that failed is logged and left:
        its pieces keep their bytes."""
        pendientes, self._pendientes = self._pendientes, []
        for futuro in pendientes:
            error = futuro.exception()
            if error is not None:
                self.fallos += 1
                log.warning("no se pudo guardar el texto de los tramos en %s (%s); el "
                            "nodo lo conserva en memoria", self.directorio
                            or tempfile.gettempdir(), error)
