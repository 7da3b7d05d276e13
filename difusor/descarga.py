"""Bring one corte into the staging area, fetching only the files the difusor lacks.

The manifest must be the one the signed index announces and carry the pinned key's
signature before any file it names is fetched; each path is checked before anything is
written; each file is hashed as it arrives and kept only if it has the manifest's
SHA-256. A file the difusor already serves with that SHA-256 (an image of the previous
corte, the site's assets) is hard-linked instead of fetched.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from difusor.cliente import Origen
from difusor.config import Limites
from difusor.errores import Rechazo
from difusor.indice import EntradaCorte
from difusor.indice import sha256
from difusor.raiz import MANIFEST
from difusor.raiz import Raiz
from prep import cadena
from prep.crypto import SignatureError
from prep.crypto import VerifyKey
from prep.filehash import sha256_file

FIRMA = MANIFEST + ".sig"
SIMULACRO_PREFIJO = "# SIMULACRO"
_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\:*?\"<>|]")
_HILOS = 4


@dataclass(frozen=True)
class Descarga:
    """What bringing a corte cost."""

    archivos: int
    descargados: int
    bytes_descargados: int
    bytes_red: int  # as they crossed the network (gzip)
    reutilizados: int
    segundos: float


def descargar(origen: Origen, entrada: EntradaCorte, llave: VerifyKey, raiz: Raiz,
              limites: Limites) -> Descarga:
    """Fill ``raiz.staging(entrada.nombre)`` with the corte (not yet verified)."""
    started = time.monotonic()
    red = origen.bytes_red
    nombre = entrada.nombre
    # The signed index says how big the manifest (and the whole corte) is: no answer,
    # compressed or not, makes the difusor hold more than that (a gzip bomb).
    manifest = origen.get(f"{nombre}/{MANIFEST}", min(
        limites.manifiesto, entrada.bytes,
        limites.manifiesto if entrada.manifiesto_bytes is None
        else entrada.manifiesto_bytes))
    if sha256(manifest) != entrada.manifiesto_sha256:
        raise Rechazo(f"{nombre}/{MANIFEST} no es el que anuncia el índice firmado "
                      "(alterado o reemplazado)")
    firma = origen.get(f"{nombre}/{FIRMA}", 1024)
    try:
        llave.verify(firma, manifest)
    except SignatureError:
        raise Rechazo(f"{nombre}/{FIRMA}: el manifiesto no está firmado con la llave del "
                      "instituto") from None
    archivos = leer_manifiesto(manifest, nombre, limites)
    staging = raiz.staging(nombre)
    staging.mkdir(parents=True, exist_ok=True)
    _write(staging / MANIFEST, manifest)
    _write(staging / FIRMA, firma)
    _limpiar(staging, archivos)
    tenidos = raiz.por_huella()
    faltan = _colocar(staging, archivos, tenidos)
    total = len(archivos)
    contador = _Contador(limites.corte)
    with ThreadPoolExecutor(_HILOS, thread_name_prefix="difusor-descarga") as pool:
        futures = [pool.submit(_bajar, origen, nombre, rel, archivos[rel], staging,
                               limites.archivo, contador) for rel in faltan]
        try:
            for future in futures:
                future.result()
        except BaseException:  # one refusal refuses the corte; Ctrl+C stops it now
            pool.shutdown(wait=False, cancel_futures=True)
            # The files in flight end at once, not at their timeout; none starts after.
            origen.abort(f"{origen.url}: descarga del corte {nombre} interrumpida")
            pool.shutdown(wait=True)
            raise
    return Descarga(total, len(faltan), contador.bytes, origen.bytes_red - red,
                    total - len(faltan),
                    round(time.monotonic() - started, 3))


def leer_manifiesto(manifest: bytes, nombre: str, limites: Limites) -> dict[str, str]:
    """Relative path → SHA-256 for every file the manifest lists; any path that could
    leave the corte (or clash with the difusor's hidden files) refuses the corte."""
    try:
        text = manifest.decode("utf-8")
    except UnicodeDecodeError:
        raise Rechazo(f"{nombre}/{MANIFEST} no es UTF-8") from None
    archivos: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if number == 1 and line.startswith(SIMULACRO_PREFIJO):
            continue
        if line.startswith(cadena.PREFIJO):  # the audit chain's head (prep.cadena)
            try:
                cadena.leer_linea(line)
            except ValueError:
                raise Rechazo(f"{nombre}/{MANIFEST}, línea {number}: cabeza de la "
                              "bitácora mal formada") from None
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise Rechazo(f"{nombre}/{MANIFEST}, línea {number}: no tiene la forma "
                          "«<sha256>  <archivo>»")
        digest, rel = match.groups()
        if not ruta_segura(rel) or rel in (MANIFEST, FIRMA) or rel in archivos:
            raise Rechazo(f"{nombre}/{MANIFEST}, línea {number}: ruta no permitida "
                          f"{rel[:200]!r} (fuera del corte, oculta o repetida)")
        archivos[rel] = digest
        if len(archivos) > limites.archivos:
            raise Rechazo(f"{nombre}: más de {limites.archivos:,} archivos")
    carpetas = {rel[:i] for rel in archivos for i, c in enumerate(rel) if c == "/"}
    for rel in sorted(carpetas & set(archivos))[:1]:
        raise Rechazo(f"{nombre}/{MANIFEST}: {rel[:200]!r} es a la vez archivo y carpeta")
    return archivos


def ruta_segura(rel: str) -> bool:
    """A relative path that stays inside the corte: no ``..``, no absolute path, no
    hidden part, no control or Windows-reserved character."""
    parts = rel.split("/")
    return (len(rel.encode("utf-8")) <= 1024 and not _UNSAFE.search(rel)
            and all(p and not p.startswith(".") and len(p.encode("utf-8")) <= 255
                    for p in parts))


def _colocar(staging: Path, archivos: dict[str, str], tenidos: dict[str, Path]) -> list[str]:
    """Keep what a previous attempt left whole, link what is already served; the paths
    still to fetch."""
    faltan: list[str] = []
    for rel, digest in archivos.items():
        dest = staging / rel
        if dest.is_file() and not dest.is_symlink() and sha256_file(dest) == digest:
            continue
        held = tenidos.get(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if held is not None and _link(held, dest):
            continue
        faltan.append(rel)
    return faltan


def _limpiar(staging: Path, archivos: dict[str, str]) -> None:
    """Remove from a previous attempt's staging whatever this manifest does not list
    (partial downloads, files of another manifest)."""
    for directory, _, files in os.walk(staging):
        for file in files:
            rel = os.path.relpath(os.path.join(directory, file), staging).replace(os.sep, "/")
            if rel not in archivos and rel not in (MANIFEST, FIRMA):
                os.unlink(os.path.join(directory, file))


def _link(held: Path, dest: Path) -> bool:
    dest.unlink(missing_ok=True)
    try:
        os.link(held, dest)
    except FileNotFoundError:
        return False  # pruned meanwhile: fetch it
    except OSError:
        try:
            shutil.copyfile(held, dest)
        except OSError:
            return False
    return True


class _Contador:
    """Bytes fetched for this corte, against the corte's limit (several threads)."""

    def __init__(self, limite: int) -> None:
        self.limite = limite
        self.bytes = 0
        self._lock = threading.Lock()

    def sumar(self, size: int, nombre: str) -> None:
        with self._lock:
            self.bytes += size
            if self.bytes > self.limite:
                raise Rechazo(f"{nombre}: excede el límite de {self.limite:,} bytes por corte")


def _bajar(origen: Origen, nombre: str, rel: str, digest: str, staging: Path,
           limite: int, contador: _Contador) -> None:
    dest = staging / rel
    tmp = dest.parent / f".{dest.name}.parcial"
    try:
        with tmp.open("wb") as out:
            size, actual = origen.save(f"{nombre}/{rel}", out, limite)
        contador.sumar(size, nombre)
        if actual != digest:
            raise Rechazo(f"{nombre}/{rel}: su SHA-256 no es el del manifiesto firmado "
                          "(archivo truncado o alterado)")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
