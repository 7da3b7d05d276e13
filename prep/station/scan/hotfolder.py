"""The scanner's hot folder: images written by the scanner's own software are picked up,
handed to a handler (the :class:`~prep.station.scan.service.DigitalizacionService`), and
moved out of the way.

Scanner software writes a file over seconds, sometimes in pauses, sometimes under its
final name from the first byte, so a file is taken only when its size and modification
time have not changed for ``stable_seconds`` *and* it decodes as a whole image. A file
that is stable but does not decode is given ``unreadable_grace_seconds`` more (a slow
network share, a paused writer) before it is rejected as incomplete. Then:

- ``procesadas/``: the handler stored it (or it was already stored);
- ``rechazadas/``: with ``<name>.motivo.txt`` saying why, in Spanish;
- left in place: the handler asked to retry later (disk full, no catalog yet): nothing
  is lost, it is tried again after ``retry_seconds``.

Polling (not inotify) because it works the same on Linux, Windows and network shares.
Files that vanish at any step are forgotten; names starting with ``.`` or ending like a
temporary file are ignored; a file larger than ``max_bytes`` is rejected unread.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prep.station.scan.quality import (
    MAX_IMAGE_BYTES,
    UNREADABLE,
    Motivo,
    Problem,
    decode_problem,
)

log = logging.getLogger("prep.station.scan")

PROCESADAS = "procesadas"
RECHAZADAS = "rechazadas"
MOTIVO_SUFFIX = ".motivo.txt"
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")


class Disposition(enum.StrEnum):
    """What became of a file."""

    PROCESADA = "procesada"
    RECHAZADA = "rechazada"
    REINTENTAR = "reintentar"


@dataclass(frozen=True)
class HotFolderOutcome:
    """A handler's verdict on one file; ``detail`` travels to the result untouched (the
    service puts its :class:`DigitalizacionResult` there)."""

    disposition: Disposition
    mensaje: str
    detail: object = None


#: ``handler(file_name, original_bytes)``: store the image or say why not.
Handler = Callable[[str, bytes], HotFolderOutcome]


@dataclass(frozen=True)
class HotFileResult:
    """One file dealt with: where it ended (``None``: left in place or vanished)."""

    name: str
    disposition: Disposition
    mensaje: str
    path: Path | None
    detail: object = None


@dataclass(frozen=True)
class HotFolderOptions:
    """Timing and limits of a hot folder (seconds)."""

    stable_seconds: float = 2.0
    poll_seconds: float = 0.5
    unreadable_grace_seconds: float = 10.0
    retry_seconds: float = 10.0
    max_bytes: int = MAX_IMAGE_BYTES


@dataclass
class _Seen:
    signature: tuple[int, int]  # size, mtime_ns
    since: float  # when this signature was first seen
    not_before: float = 0.0


@dataclass
class HotFolder:
    """Polls ``directory``; :meth:`poll` once, or :meth:`run`/:meth:`start` in a thread."""

    directory: Path
    handler: Handler
    on_result: Callable[[HotFileResult], None] | None = None
    options: HotFolderOptions = field(default_factory=HotFolderOptions)
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def poll(self) -> list[HotFileResult]:
        """Look at the folder once; return (and report) the files dealt with."""
        self.directory.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        present: set[str] = set()
        results: list[HotFileResult] = []
        for name, signature in self._candidates():
            present.add(name)
            seen = self._seen.get(name)
            if seen is None or seen.signature != signature:
                self._seen[name] = _Seen(signature, now)
                continue
            if now - seen.since < self.options.stable_seconds or now < seen.not_before:
                continue
            result = self._take(name, seen, now)
            if result is not None:
                results.append(result)
                self._report(result)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return results

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; a failure of one poll is logged, never fatal."""
        while not stop.is_set():
            try:
                self.poll()
            except OSError as exc:  # the folder unmounted or removed: keep trying
                log.warning("hot folder %s: %s", self.directory, exc)
            stop.wait(self.options.poll_seconds)

    def start(self) -> threading.Thread:
        """Run in a daemon thread (idempotent); :meth:`stop` ends it."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, args=(self._stop,),
                                            name=f"hotfolder:{self.directory.name}",
                                            daemon=True)
            self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ------------------------------------------------------------------------------

    def _candidates(self) -> list[tuple[str, tuple[int, int]]]:
        found = []
        with os.scandir(self.directory) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append((name, (st.st_size, st.st_mtime_ns)))
        return sorted(found)

    def _take(self, name: str, seen: _Seen, now: float) -> HotFileResult | None:
        path = self.directory / name
        size = seen.signature[0]
        if size > self.options.max_bytes:
            mensaje = (f"El archivo mide {size / 2**20:.1f} MiB y el máximo es "
                       f"{self.options.max_bytes / 2**20:.0f} MiB: digitalice en escala de "
                       "grises, JPEG, a 200–300 dpi.")
            return self._reject(name, mensaje, Problem(Motivo.DEMASIADO_GRANDE, mensaje))
        try:
            data = path.read_bytes()
            st = path.stat()
        except FileNotFoundError:
            del self._seen[name]
            return None
        if (len(data), st.st_mtime_ns) != seen.signature or st.st_size != len(data):
            self._seen[name] = _Seen((st.st_size, st.st_mtime_ns), now)  # still changing
            return None
        problem = decode_problem(data)
        if problem is not None and problem.motivo in UNREADABLE \
                and now - seen.since < self.options.unreadable_grace_seconds:
            return None  # maybe still being written: look again next poll
        if problem is not None:
            return self._reject(name, problem.mensaje, problem)
        try:
            outcome = self.handler(name, data)
        except Exception as exc:  # a bug or a broken disk: keep the file, say so, retry
            log.exception("hot folder handler failed on %s", name)
            outcome = HotFolderOutcome(Disposition.REINTENTAR,
                                       f"No se pudo procesar {name} ({exc}); se reintentará.")
        if outcome.disposition is Disposition.REINTENTAR:
            seen.not_before = now + self.options.retry_seconds
            return HotFileResult(name, outcome.disposition, outcome.mensaje, None,
                                 outcome.detail)
        if outcome.disposition is Disposition.RECHAZADA:
            return self._reject(name, outcome.mensaje, outcome.detail)
        moved = self._move(name, PROCESADAS)
        return HotFileResult(name, outcome.disposition, outcome.mensaje, moved, outcome.detail)

    def _reject(self, name: str, mensaje: str, detail: object = None) -> HotFileResult:
        moved = self._move(name, RECHAZADAS)
        if moved is not None:
            try:
                moved.with_name(moved.name + MOTIVO_SUFFIX).write_text(mensaje + "\n",
                                                                        encoding="utf-8")
            except OSError as exc:
                log.warning("could not write the reason for %s: %s", moved, exc)
        return HotFileResult(name, Disposition.RECHAZADA, mensaje, moved, detail)

    def _move(self, name: str, subdir: str) -> Path | None:
        target_dir = self.directory / subdir
        target_dir.mkdir(exist_ok=True)
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        for n in range(10_000):  # scanners reuse names (scan0001.jpg) after a restart
            candidate = target_dir / (name if n == 0 else f"{stem}-{n}{dot}{ext}")
            if not candidate.exists():
                break
        try:
            os.replace(self.directory / name, candidate)
        except FileNotFoundError:
            candidate_or_none: Path | None = None
        else:
            candidate_or_none = candidate
        self._seen.pop(name, None)
        return candidate_or_none

    def _report(self, result: HotFileResult) -> None:
        log.info("hot folder %s: %s %s", self.directory, result.name, result.disposition)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # the watcher must outlive a broken callback
                log.exception("hot folder callback failed for %s", result.name)
