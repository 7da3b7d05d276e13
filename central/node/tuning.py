"""The process tuning of a central that makes cortes: the C allocator, the cyclic garbage
collector and the interpreter's thread switch interval.

None of it happens when a module is imported: ``prep central serve``, ``prep central
corte`` and the benchmarks that time cortes enter :class:`CentralTuning` once, at their
start, and pass it to the cortes they make (``CorteSettings.tuning``); each corte then
runs inside :meth:`CentralTuning.corte`. A tool or a test that makes cortes without it
leaves its process as it was (slower cortes, the same bytes).
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from prep.libc import c_function
from prep.memory import keep_freed_memory

#: The interpreter's thread switch interval during a corte (Python's default: 5 ms). A
#: corte's own threads (deflating, hashing and writing its files, reading the
#: snapshot's rows) take the GIL back thousands of times from its Python work, and each
#: time waited up to the interval: a deflate beside a busy Python thread took 4 to 15
#: times as long as alone at 5 ms, 1.3 to 2.5 times at 0.5 ms.
INTERVALO_HILOS = 0.0005

# glibc's mallopt parameters (malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: Blocks from this size on are mapped apart and given back as soon as freed: a corte's
#: megabyte pieces, lists and tables of half a million entries.
MMAP_THRESHOLD = 256 * 1024
#: The most heaps the corte's threads share.
ARENA_MAX = 2


class Recolector:
    """The cyclic garbage collector around a process's cortes.

    What a corte keeps for the next (the memo: the snapshot, every tramo's pieces) is
    frozen at its end (``gc.freeze``): the collector no longer walks it after every corte
    (0.3 s of a CDMX corte's 1.8 s, seconds nationally). Reference counting still frees
    it when the next corte replaces it, and a corte makes no reference cycles (a full
    collection after one finds none, measured). Before each corte, what the process made
    since (ingest, the control room) is collected; every :attr:`cada` cortes (an hour at
    five minutes) the frozen objects are collected too, so that a cycle frozen while it
    was alive (a request in flight during a corte) is not kept for the whole night.
    """

    cada = 12

    def __init__(self) -> None:
        self.cortes = 0
        self._al_salir = False

    def antes(self) -> None:
        self.cortes += 1
        if self.cortes >= self.cada:
            self.cortes = 0
            gc.unfreeze()
        gc.collect()

    def despues(self) -> None:
        if not self._al_salir:  # the interpreter's last collection sees them too
            atexit.register(gc.unfreeze)
            self._al_salir = True
        gc.freeze()
        gc.enable()
        devolver_memoria()

    def olvidar(self) -> None:
        """The process no longer makes cortes: nothing stays frozen."""
        gc.unfreeze()
        if self._al_salir:
            atexit.unregister(gc.unfreeze)
            self._al_salir = False


def ajustar_malloc() -> bool:
    """The central's allocator: large freed blocks kept for reuse as every program keeps
    them (:func:`prep.memory.keep_freed_memory`, its images), except that blocks from
    :data:`MMAP_THRESHOLD` on are mapped apart and given back as soon as freed, and the
    threads share :data:`ARENA_MAX` heaps. By default glibc raises its mmap threshold
    up to 32 MB as large blocks are freed, after which blocks of that size come from its
    heaps and stay there, and each thread that allocates may get a heap of its own (up
    to eight per core), which the others cannot reuse: measured on the national
    benchmark, the next corte's peak was about 140 MB higher and its time the same.
    ``False`` where the C library is not glibc (nothing changes there). glibc has no way
    to read these parameters back: they stay for the life of the process."""
    keep_freed_memory()
    mallopt = c_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) \
        and bool(mallopt(M_ARENA_MAX, ARENA_MAX))


def devolver_memoria() -> None:
    """Give the system back what a corte freed: glibc keeps freed memory for the process
    to reuse (about 300 MB after a national corte, measured), which a central waiting
    minutes for its next corte would hold for nothing."""
    malloc_trim = c_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim(0)


class CentralTuning:
    """The tuning of a process that makes cortes, as a context: entering it sets the
    allocator (:func:`ajustar_malloc`); each corte then runs in :meth:`corte`; leaving
    it gives back the collector and the switch interval as they were (the allocator's
    parameters cannot be read back, so they stay)."""

    def __init__(self) -> None:
        self.recolector = Recolector()
        self.malloc = False
        self._dentro = False
        self._gc: bool | None = None
        self._intervalo: float | None = None

    def __enter__(self) -> CentralTuning:
        if self._dentro:
            raise RuntimeError("el ajuste del proceso ya está en vigor")
        self._dentro = True
        self._gc = gc.isenabled()
        self._intervalo = sys.getswitchinterval()
        self.malloc = ajustar_malloc()
        return self

    def __exit__(self, tipo: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._dentro = False
        self.recolector.olvidar()
        if self._gc:
            gc.enable()
        if self._intervalo is not None:
            sys.setswitchinterval(self._intervalo)

    @contextmanager
    def corte(self) -> Iterator[None]:
        """Around one corte: the cyclic collector paused, the switch interval short.

        A corte allocates millions of objects that live until it ends; the cyclic
        garbage collector would traverse them again and again (a quarter of a national
        corte's time). Reference counting still frees everything. If the collector was
        already paused (by whoever called), it is left to them."""
        if not self._dentro:
            raise RuntimeError("un corte con ajuste del proceso fuera de su contexto")
        collecting = gc.isenabled()
        if collecting:
            self.recolector.antes()
        gc.disable()
        intervalo = sys.getswitchinterval()
        sys.setswitchinterval(min(intervalo, INTERVALO_HILOS))
        try:
            yield
        finally:
            sys.setswitchinterval(intervalo)
            if collecting:
                self.recolector.despues()
