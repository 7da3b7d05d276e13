"""The corte's zip (``PREP_<corte>.zip``): its CSVs and LEEME, byte-identical for
identical contents.

HISTORIAL.csv is most of a national zip (hundreds of megabytes to deflate), and the
CSVs of the elections another hundred and fifty: deflating them one after another was,
after the Python work, what a national corte waited for. So the zip is made while the
corte goes on (:class:`ZipConHistorial`): its first member is the history, each piece
deflated into the zip as it is written to disk (its sizes and CRC in a data descriptor
after it, so the zip is written from start to end and hashed as it is written), while
every other member is deflated at once in threads of its own (deflate releases the
GIL); they follow the history, in name order, at the end. :func:`write_zip` makes the
very same bytes from the finished files: every member is given to the deflater in
blocks of :data:`BLOQUE_DEFLATE` bytes whatever pieces it came in, since ISA-L's output
depends on how its input is divided among calls (tests/central/publication/test_publication_zip.py).

This writer knows no zip64: a zip that could reach 4 GB (a history of gigabytes) is
written with :mod:`zipfile` instead, by both paths (the choice depends on the sizes
alone: still the same bytes for the same contents).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import IO

from isal import isal_zlib

from central.publication.staging import EN_VUELO
from central.publication.staging import Cupo
from prep.corte.anexo import TZ
from prep.corte.package import LEEME

# ISA-L's level 1 (python-isal; national cortes deflate 165 MB of CSV and 270 MB of
# history every few minutes): on the scale-1 corte's HISTORIAL.csv 583 MB/s and 5.83
# times smaller, against zlib-ng's level 2, which this zip used before, 217 MB/s and
# 5.82 (an election CSV: 335 MB/s and 3.09 against 101 MB/s and 3.07). Any deflate
# reader reads it; its bytes are ISA-L's own, the same for the same contents.
ZIP_LEVEL = 1
#: What the deflater is given at a time (the last block of a member may be shorter).
BLOQUE_DEFLATE = 1024 * 1024
_CHUNK = 1024 * 1024
#: Threads deflating the members other than the history.
_DEFLATERS = 2
#: Past this many bytes of members (uncompressed), the zip is written by zipfile (zip64).
LIMITE = 0xFFFFFFFF // 2
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_DESCRIPTOR = struct.Struct("<4sLLL")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_FLAG_DESCRIPTOR = 0x08  # sizes and CRC after the data
_VERSION = 20  # 2.0: deflate
_UNIX = 3
_ATTRS = 0o644 << 16


class _Deflate:
    """Raw deflate at :data:`ZIP_LEVEL` of the pieces given, and their CRC-32 and size:
    the same bytes however the same content is cut into pieces (the deflater gets
    blocks of :data:`BLOQUE_DEFLATE`)."""

    def __init__(self) -> None:
        self._compressor = isal_zlib.compressobj(ZIP_LEVEL, isal_zlib.DEFLATED, -15)
        self._resto = bytearray()  # less than a block, not given to the deflater yet
        self.crc = 0
        self.size = 0

    def compress(self, data: bytes) -> bytes:
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += len(data)
        vista = memoryview(data)
        salida = []
        if self._resto:
            falta = BLOQUE_DEFLATE - len(self._resto)
            self._resto += vista[:falta]
            vista = vista[falta:]
            if len(self._resto) < BLOQUE_DEFLATE:
                return b""
            salida.append(self._compressor.compress(self._resto))
            self._resto.clear()
        completos = len(vista) - len(vista) % BLOQUE_DEFLATE
        for k in range(0, completos, BLOQUE_DEFLATE):
            salida.append(self._compressor.compress(vista[k:k + BLOQUE_DEFLATE]))
        self._resto += vista[completos:]
        return b"".join(salida)

    def flush(self) -> bytes:
        resto = self._compressor.compress(self._resto) if self._resto else b""
        self._resto.clear()
        return resto + self._compressor.flush()


def _deflate(data: bytes) -> tuple[int, bytes]:
    """(CRC-32, raw deflate at :data:`ZIP_LEVEL`) of ``data``."""
    deflate = _Deflate()
    comprimido = deflate.compress(data) + deflate.flush()
    return deflate.crc, comprimido


class _Escritor:
    """A zip written from start to end into ``fp`` (hashed as it is written)."""

    def __init__(self, fp: IO[bytes], corte: datetime) -> None:
        self._fp = fp
        self.sha256 = hashlib.sha256()
        self._at = 0
        self._central: list[bytes] = []
        local = corte.astimezone(TZ)
        self._date = (local.year - 1980) << 9 | local.month << 5 | local.day
        self._time = local.hour << 11 | local.minute << 5

    def _write(self, data: bytes) -> None:
        self._fp.write(data)
        self.sha256.update(data)
        self._at += len(data)

    def _entrada(self, name: bytes, flags: int, crc: int, csize: int, size: int,
                 offset: int) -> None:
        self._central.append(_CENTRAL.pack(
            b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, flags, zipfile.ZIP_DEFLATED,
            self._time, self._date, crc, csize, size, len(name), 0, 0, 0, 0, _ATTRS,
            offset) + name)

    def miembro(self, name: str, crc: int, deflated: bytes | IO[bytes], size: int) -> None:
        """A member whose deflated bytes are known: given, or in a file (from its start to
        its end)."""
        encoded = name.encode("ascii")
        offset = self._at
        if isinstance(deflated, bytes):
            csize = len(deflated)
        else:
            csize = deflated.seek(0, 2)
            deflated.seek(0)
        self._write(_LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, zipfile.ZIP_DEFLATED,
                                self._time, self._date, crc, csize, size,
                                len(encoded), 0) + encoded)
        if isinstance(deflated, bytes):
            self._write(deflated)
        else:
            while chunk := deflated.read(_CHUNK):
                self._write(chunk)
        self._entrada(encoded, 0, crc, csize, size, offset)

    def abrir(self, name: str) -> _Flujo:
        """A member written piece by piece (:meth:`_Flujo.write`, then ``close``)."""
        encoded = name.encode("ascii")
        offset = self._at
        self._write(_LOCAL.pack(b"PK\x03\x04", _VERSION, 0, _FLAG_DESCRIPTOR,
                                zipfile.ZIP_DEFLATED, self._time, self._date, 0, 0, 0,
                                len(encoded), 0) + encoded)
        return _Flujo(self, encoded, offset)

    def cerrar(self) -> None:
        """The central directory and its end."""
        start = self._at
        for entry in self._central:
            self._write(entry)
        count = len(self._central)
        self._write(_END.pack(b"PK\x05\x06", 0, 0, count, count, self._at - start, start, 0))


class _Flujo:
    def __init__(self, escritor: _Escritor, name: bytes, offset: int) -> None:
        self._escritor = escritor
        self._name = name
        self._offset = offset
        self._deflate = _Deflate()
        self._csize = 0

    def write(self, data: bytes) -> None:
        deflated = self._deflate.compress(data)
        if deflated:
            self._csize += len(deflated)
            self._escritor._write(deflated)

    def close(self) -> None:
        deflated = self._deflate.flush()
        self._csize += len(deflated)
        self._escritor._write(deflated)
        crc, size = self._deflate.crc, self._deflate.size
        self._escritor._write(_DESCRIPTOR.pack(b"PK\x07\x08", crc, self._csize, size))
        self._escritor._entrada(self._name, _FLAG_DESCRIPTOR, crc, self._csize, size,
                                self._offset)


def _grande(tamanos: Mapping[str, int], en_disco: int) -> bool:
    """Whether the members (of these sizes, plus ``en_disco`` bytes on disk) could need
    zip64."""
    return sum(tamanos.values()) + en_disco > LIMITE or len(tamanos) > 0xFFF0


def write_zip(path: Path, *, files: Mapping[str, bytes], en_disco: Mapping[str, Path],
              corte: datetime) -> str:
    """The CSVs and LEEME in one zip at ``path``, the files on disk (``en_disco``:
    HISTORIAL.csv) first; returns its SHA-256."""
    miembros = _miembros(files)
    tamanos = {name: source.stat().st_size for name, source in en_disco.items()}
    if _grande({n: len(d) for n, d in miembros.items()}, sum(tamanos.values())):
        return _write_zip64(path, miembros, en_disco, corte)
    with path.open("wb") as fp:
        escritor = _Escritor(fp, corte)
        for name in sorted(en_disco):
            flujo = escritor.abrir(name)
            with en_disco[name].open("rb") as f:
                while chunk := f.read(_CHUNK):
                    flujo.write(chunk)
            flujo.close()
        for name in sorted(miembros):
            crc, deflated = _deflate(miembros[name])
            escritor.miembro(name, crc, deflated, len(miembros[name]))
        escritor.cerrar()
    return escritor.sha256.hexdigest()


def _miembros(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """What of ``files`` goes in the zip: the CSVs and LEEME."""
    return {n: d for n, d in files.items() if n.endswith(".csv") or n == LEEME}


def _write_zip64(path: Path, files: Mapping[str, bytes], en_disco: Mapping[str, Path],
                 corte: datetime) -> str:
    """:func:`write_zip` of a zip too large for this module's writer: by zipfile."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for name in sorted(en_disco):
            info = _info(name, corte)
            info.file_size = en_disco[name].stat().st_size
            with en_disco[name].open("rb") as f, archive.open(info, "w",
                                                                force_zip64=True) as dest:
                shutil.copyfileobj(f, dest, _CHUNK)
        for name in sorted(files):
            archive.writestr(_info(name, corte), files[name])
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ZipConHistorial:
    """:func:`write_zip` of ``files`` plus ``historial`` (a file being written), made
    while it is written: :meth:`start`, :meth:`write` each piece, :meth:`finish`; all
    in one thread, in that order. The history's pieces are deflated into the zip by a
    thread of its own, in order, while the caller hashes and writes the next ones (one
    thread doing both was what a national corte waited for at its end); the other
    members are deflated meanwhile by threads of their own, started by :meth:`start`.

    A member can also be given before :meth:`start`, as soon as it is made
    (:meth:`agregar`): it is deflated at once and its bytes are not kept, for a file the
    caller writes beside the history before :meth:`finish` (a national election's CSV
    is fifty megabytes; zipfile's path reads it back from there)."""

    def __init__(self, path: Path, files: Mapping[str, bytes], historial: Path,
                 corte: datetime) -> None:
        self.path = path
        self._files = _miembros(files)
        #: Every member's size: those not in ``_files`` were given by agregar or abrir
        #: (on disk beside the history by finish).
        self._tamanos = {n: len(d) for n, d in self._files.items()}
        self._en_partes_miembros: dict[str, _EnPartes] = {}
        self._abiertos: set[str] = set()  # abrir members not closed yet
        self._en_partes: ThreadPoolExecutor | None = None  # deflates the abrir members
        self._historial = historial
        self._corte = corte
        self._fp: IO[bytes] | None = None
        self._escritor: _Escritor | None = None
        self._flujo: _Flujo | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._historia: ThreadPoolExecutor | None = None  # deflates the history's pieces
        self._pendientes: list[Future[None]] = []
        self._deflated: dict[str, Future[tuple[int, bytes | IO[bytes]]]] = {}
        self._size = 0
        self._cupo = Cupo(EN_VUELO)  # the history's pieces not deflated yet

    def agregar(self, name: str, data: bytes) -> None:
        """Deflate ``data`` as member ``name`` now (if the zip holds such a file), keeping
        only the result: the caller writes it to ``name`` beside the history before
        :meth:`finish`. Called before :meth:`start`, from the thread that calls it."""
        if name not in _miembros({name: data}):
            return
        if name in self._tamanos:
            raise ValueError(f"{name} ya está en el zip")
        self._tamanos[name] = len(data)
        self._deflated[name] = self._deflaters().submit(_deflate, data)

    def abrir(self, name: str) -> Callable[[bytes], None]:
        """Member ``name`` given piece by piece before :meth:`start` (each election's CSV
        as its tramos are read): a function that queues each piece to be deflated, in
        order, by a thread of its own (waiting while more than
        :data:`~central.publication.staging.EN_VUELO` bytes wait), and :meth:`cerrar`
        after the last one. The caller writes the same pieces to ``name`` beside the
        history before :meth:`finish`; nothing of them is kept but their deflate."""
        if name in self._tamanos:
            raise ValueError(f"{name} ya está en el zip")
        if self._en_partes is None:
            self._en_partes = ThreadPoolExecutor(1, thread_name_prefix="corte-zip-csv")
        miembro = _EnPartes(self._en_partes, self._cupo, self._historial.parent)
        self._tamanos[name] = 0
        self._en_partes_miembros[name] = miembro
        self._abiertos.add(name)
        self._deflated[name] = miembro.resultado
        return miembro.write

    def cerrar(self, name: str) -> None:
        """After the last piece of member ``name`` was queued (:meth:`abrir`), from the
        thread that queued them."""
        self._abiertos.remove(name)
        self._en_partes_miembros[name].cerrar()

    def _deflaters(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_DEFLATERS, thread_name_prefix="corte-zip")
        return self._pool

    def start(self) -> None:
        """Open the zip and its history's member; start deflating the other members."""
        pool = self._deflaters()
        # The largest first: the threads end together.
        for name in sorted(self._files, key=lambda n: -len(self._files[n])):
            self._deflated[name] = pool.submit(_deflate, self._files[name])
        self._fp = self.path.open("wb")
        self._escritor = _Escritor(self._fp, self._corte)
        self._flujo = self._escritor.abrir(self._historial.name)
        self._historia = ThreadPoolExecutor(1, thread_name_prefix="corte-zip-historial")

    def write(self, data: bytes) -> None:
        """One more piece of the history, as written to its file (waits while more than
        :data:`~central.publication.staging.EN_VUELO` bytes wait to be deflated)."""
        assert self._flujo is not None and self._historia is not None
        self._cupo.tomar(len(data))
        self._pendientes.append(self._historia.submit(self._deflate, self._flujo, data))
        self._size += len(data)

    def _deflate(self, flujo: _Flujo, data: bytes) -> None:
        try:
            flujo.write(data)
        finally:
            self._cupo.soltar(len(data))

    def finish(self, path: Path) -> str:
        """Write the other members and the directory (``path``: this zip's); return the
        zip's SHA-256."""
        assert self._escritor is not None and self._flujo is not None and path == self.path
        pendientes, self._pendientes = self._pendientes, []
        try:
            for future in pendientes:  # the history deflated (raises what that raised)
                future.result()
        except BaseException:
            self.abort()
            raise
        try:
            if self._abiertos:  # a member never closed would be cut short
                raise RuntimeError(f"miembros del zip sin cerrar: {sorted(self._abiertos)}")
            for hecho in self._deflated.values():  # every member deflated, sizes known
                hecho.result()
            for name, miembro in self._en_partes_miembros.items():
                self._tamanos[name] = miembro.size
        except BaseException:
            self.abort()
            raise
        if _grande(self._tamanos, self._size):  # write_zip would use zipfile
            self.abort()
            carpeta = self._historial.parent
            return write_zip(path, files={**self._files, **{
                n: (carpeta / n).read_bytes() for n in self._tamanos if n not in self._files}},
                en_disco={self._historial.name: self._historial}, corte=self._corte)
        self._flujo.close()
        for name in sorted(self._tamanos):
            crc, deflated = self._deflated.pop(name).result()
            self._escritor.miembro(name, crc, deflated, self._tamanos[name])
            if not isinstance(deflated, bytes):
                deflated.close()
        self._escritor.cerrar()
        digest = self._escritor.sha256.hexdigest()
        self.close()
        return digest

    def abort(self) -> None:
        """Drop what was written (the file stays, to be replaced or discarded)."""
        self._flujo = None
        self._escritor = None
        for future in self._deflated.values():
            future.cancel()
        self._deflated.clear()
        self.close()

    def close(self) -> None:
        if self._historia is not None:  # nothing writes to the file any more
            self._historia.shutdown(wait=True, cancel_futures=True)
            self._historia = None
        self._pendientes.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._en_partes is not None:
            self._en_partes.shutdown(wait=True, cancel_futures=True)
            self._en_partes = None
        for miembro in self._en_partes_miembros.values():
            miembro.descartar()
        if self._fp is not None:
            with contextlib.suppress(OSError):
                self._fp.close()
            self._fp = None


class _EnPartes:
    """One member deflated piece by piece in ``hilo`` (one thread: in order); the same
    bytes as :func:`_deflate` of the whole (nothing is flushed between pieces). Its
    ``resultado``: (CRC-32, a file holding the deflate), or what deflating raised;
    ``size``: the bytes given. The file is anonymous, in ``carpeta``: a national
    election's deflated CSV (tens of megabytes) waits there for the history, not in
    memory."""

    def __init__(self, hilo: ThreadPoolExecutor, cupo: Cupo, carpeta: Path) -> None:
        self._hilo = hilo
        self._cupo = cupo
        self._compresor = _Deflate()
        self._deflate: IO[bytes] = tempfile.TemporaryFile(dir=carpeta)
        self._pendientes: list[Future[None]] = []
        self.resultado: Future[tuple[int, bytes | IO[bytes]]] = Future()

    def write(self, data: bytes) -> None:
        self._cupo.tomar(len(data))
        try:
            self._pendientes.append(self._hilo.submit(self._comprimir, data))
        except BaseException:
            self._cupo.soltar(len(data))
            raise

    def _comprimir(self, data: bytes) -> None:
        try:
            deflated = self._compresor.compress(data)
            if deflated:
                self._deflate.write(deflated)
        finally:
            self._cupo.soltar(len(data))

    def cerrar(self) -> None:
        self._hilo.submit(self._final)

    def _final(self) -> None:
        try:
            for future in self._pendientes:  # done (one thread, in order): what it raised
                future.result()
            self._deflate.write(self._compresor.flush())
            self._deflate.flush()
            self.resultado.set_result((self._compresor.crc, self._deflate))
        except BaseException as exc:
            self.resultado.set_exception(exc)

    def descartar(self) -> None:
        """Close its file (the zip was written or abandoned)."""
        self._deflate.close()

    @property
    def size(self) -> int:
        return self._compresor.size


def _info(name: str, corte: datetime) -> zipfile.ZipInfo:
    local = corte.astimezone(TZ)
    info = zipfile.ZipInfo(name, (local.year, local.month, local.day, local.hour,
                                  local.minute, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # What writestr(compresslevel=) sets; ``compress_level`` from Python 3.13 (zipfile
    # deflates with zlib: only a zip of gigabytes, both paths alike).
    info._compresslevel = ZIP_LEVEL  # type: ignore[attr-defined]
    info.external_attr = 0o644 << 16
    return info
