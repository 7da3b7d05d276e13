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
temporary file are ignored; a file larger than ``max_bytes`` is rejected unread. A
file's extension is the type it declares: a JPEG named ``.png`` is rejected.

Whoever can write in the folder must not make the station read or write elsewhere
(issue 36): a symbolic link in it is never followed (reported once, left where it is),
a file is opened with ``O_NOFOLLOW``, ``procesadas/`` and ``rechazadas/`` must be real
directories of the station's own user (:class:`UnsafeFolder` otherwise), files are
moved into them through a descriptor of the checked directory, and a reason file is
created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` next to a name that had none.
"""

from __future__ import annotations

import enum
import errno
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from prep.image_check import declared_by_name
from prep.station.scan.quality import DEFAULT_POLICY
from prep.station.scan.quality import MAX_IMAGE_BYTES
from prep.station.scan.quality import UNREADABLE
from prep.station.scan.quality import Motivo
from prep.station.scan.quality import Problem
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.quality import decode_problem

log = logging.getLogger("prep.station.scan")

PROCESADAS = "procesadas"
RECHAZADAS = "rechazadas"
MOTIVO_SUFFIX = ".motivo.txt"
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has none (and links need privileges)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_DIR_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_DIRECTORY", 0)
_REASON_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
_DIR_FD = os.rename in os.supports_dir_fd and os.open in os.supports_dir_fd


class UnsafeFolder(OSError):
    """``procesadas/`` or ``rechazadas/`` is a symbolic link, not a directory or not the
    station's: nothing is moved (the files stay in the folder) until someone fixes it.
    The message, in Spanish, completes «No se puede usar la carpeta … (…)»."""


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

    @property
    def shown_name(self) -> str:
        """:attr:`name` as text that can be stored and shown (:func:`readable`)."""
        return readable(self.name)


def readable(name: str) -> str:
    """A file name or path as valid text: the bytes of a name that is not UTF-8 (a
    phone or USB stick naming «año» in Latin-1 gives ``os.listdir`` lone surrogates,
    which no database, JSON or screen takes) written as ``\\xf1``; other names as
    they are."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


@dataclass(frozen=True)
class HotFolderOptions:
    """Timing and limits of a hot folder (seconds)."""

    stable_seconds: float = 2.0
    poll_seconds: float = 0.5
    unreadable_grace_seconds: float = 10.0
    retry_seconds: float = 10.0
    max_bytes: int = MAX_IMAGE_BYTES
    #: The thresholds the whole-image check words its advice with (PREP Casilla's own).
    policy: QualityPolicy = DEFAULT_POLICY


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
    _links: set[str] = field(default_factory=set, init=False, repr=False)
    _last_error: str = field(default="", init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def poll(self) -> list[HotFileResult]:
        """Look at the folder once; return (and report) the files dealt with."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for subdir in (PROCESADAS, RECHAZADAS):
            safe_subdir(self.directory, subdir)  # refused before any file is taken
        now = self.clock()
        present: set[str] = set()
        results: list[HotFileResult] = []
        candidates, links = self._candidates()
        for name in sorted(links - self._links):
            results.append(self._refuse_link(name))
        self._links = links
        for name, signature in candidates:
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
                self._last_error = ""
            except OSError as exc:  # the folder unmounted or removed: keep trying
                if str(exc) != self._last_error:  # once per condition, not per poll
                    log.warning("hot folder %s: %s", self.directory, exc)
                    self._last_error = str(exc)
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

    def _candidates(self) -> tuple[list[tuple[str, tuple[int, int]]], set[str]]:
        """Regular files to consider (sorted) and the names of symbolic links."""
        found, links = [], set()
        with os.scandir(self.directory) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES):
                    continue
                try:
                    if entry.is_symlink():
                        links.add(name)
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append((name, (st.st_size, st.st_mtime_ns)))
        return sorted(found), links

    def _refuse_link(self, name: str) -> HotFileResult:
        mensaje = (f"«{name}» es un enlace simbólico: no se sigue ni se mueve. Copie a la "
                   "carpeta el archivo mismo (no un enlace) y borre el enlace.")
        log.warning("hot folder %s: %r is a symbolic link, left alone", self.directory, name)
        result = HotFileResult(name, Disposition.RECHAZADA, mensaje, None,
                               Problem(Motivo.ENLACE_SIMBOLICO, mensaje))
        self._report(result)
        return result

    def _take(self, name: str, seen: _Seen, now: float) -> HotFileResult | None:
        size = seen.signature[0]
        if size > self.options.max_bytes:
            mensaje = (f"El archivo mide {size / 2**20:.1f} MiB y el máximo es "
                       f"{self.options.max_bytes / 2**20:.0f} MiB: digitalice en escala de "
                       "grises, JPEG, a 200–300 dpi.")
            return self._reject(name, mensaje, Problem(Motivo.DEMASIADO_GRANDE, mensaje))
        read = _read_regular(self.directory / name, self.options.max_bytes)
        if read is None:  # vanished, or swapped for a link or something else meanwhile
            del self._seen[name]
            return None
        data, st = read
        if (len(data), st.st_mtime_ns) != seen.signature or st.st_size != len(data):
            self._seen[name] = _Seen((st.st_size, st.st_mtime_ns), now)  # still changing
            return None
        problem = decode_problem(data, self.options.policy, declared_by_name(name))
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
        moved = self._move(name, RECHAZADAS, reason=mensaje)
        return HotFileResult(name, Disposition.RECHAZADA, mensaje, moved, detail)

    def _move(self, name: str, subdir: str, reason: str | None = None) -> Path | None:
        """Move ``name`` into ``subdir`` under a free name (scanners reuse names such as
        scan0001.jpg after a restart); with ``reason``, write it beside the file."""
        self._seen.pop(name, None)
        with _OpenDir(safe_subdir(self.directory, subdir)) as target:
            new_name = target.free_name(name, MOTIVO_SUFFIX if reason is not None else None)
            try:
                target.move_in(self.directory / name, new_name)
            except FileNotFoundError:
                return None
            if reason is not None:
                try:
                    target.create(new_name + MOTIVO_SUFFIX, (reason + "\n").encode("utf-8"))
                except OSError as exc:
                    log.warning("could not write the reason for %s: %s", new_name, exc)
            return target.path / new_name

    def _report(self, result: HotFileResult) -> None:
        log.info("hot folder %s: %s %s", self.directory, result.name, result.disposition)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # the watcher must outlive a broken callback
                log.exception("hot folder callback failed for %s", result.name)


def safe_subdir(directory: Path, name: str) -> Path:
    """``directory/name``, created if missing; :class:`UnsafeFolder` if it is a
    symbolic link, not a directory, or (where there are users) not this user's."""
    path = directory / name
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    _check_dir(os.lstat(path), name)
    return path


def _check_dir(st: os.stat_result, name: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFolder(f"«{name}» es un enlace simbólico, que no se sigue: bórrelo para "
                           "que se vuelva a crear como carpeta")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolder(f"«{name}» no es una carpeta: quítelo para que se cree la carpeta")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UnsafeFolder(f"la carpeta «{name}» es de otro usuario del sistema (uid "
                           f"{st.st_uid}): bórrela para que se vuelva a crear")


def _read_regular(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result] | None:
    """The bytes of ``path`` if it is still a regular file (never through a link; a
    FIFO put in its place does not block the poll: O_NONBLOCK)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO):  # a link, a socket
            return None
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        return f.read(max_bytes + 1), st


class _OpenDir:
    """A checked subdirectory held open, so what is written goes into that very
    directory even if its name is swapped for a link meanwhile."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> _OpenDir:
        if _DIR_FD:
            self.fd = os.open(self.path, _DIR_FLAGS)
            try:
                _check_dir(os.fstat(self.fd), self.path.name)
            except BaseException:
                os.close(self.fd)
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def _exists(self, name: str) -> bool:
        try:
            if self.fd is not None:
                os.lstat(name, dir_fd=self.fd)
            else:
                os.lstat(self.path / name)
        except FileNotFoundError:
            return False
        return True

    def free_name(self, name: str, companion_suffix: str | None) -> str:
        """``name``, or ``stem-N.ext``: the first with no file (nor companion) yet."""
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate = name
        for n in range(10_000):
            candidate = name if n == 0 else f"{stem}-{n}{dot}{ext}"
            if not self._exists(candidate) and not (
                    companion_suffix and self._exists(candidate + companion_suffix)):
                break
        return candidate

    def move_in(self, source: Path, name: str) -> None:
        if self.fd is not None:
            os.replace(source, name, dst_dir_fd=self.fd)
        else:
            os.replace(source, self.path / name)

    def create(self, name: str, data: bytes) -> None:
        """A new file (never an existing one, never through a link)."""
        if self.fd is not None:
            fd = os.open(name, _REASON_FLAGS, 0o644, dir_fd=self.fd)
        else:
            fd = os.open(self.path / name, _REASON_FLAGS, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
