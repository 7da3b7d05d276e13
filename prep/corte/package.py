"""The CSV package of a corte: per election its Anexo 18.5 CSV and candidaturas, a LEEME
describing every column, and a manifest with the SHA-256 of every file.

A corte is written into a hidden temporary directory beside its final place, every file
fsynced, then renamed into place in one step: a reader sees the whole corte or none of it.
A published corte is never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Protocol

from prep.catalog.model import Catalog
from prep.corte.anexo import CasillaColumns
from prep.corte.anexo import ClavesCsv
from prep.corte.archivos import registrados
from prep.corte.candidaturas import candidaturas_csv
from prep.corte.leeme import leeme_text
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.corte.nombres import DIFERENCIAS as DIFERENCIAS
from prep.corte.nombres import LEEME as LEEME
from prep.corte.nombres import MANIFEST as MANIFEST
from prep.corte.nombres import NOMBRE_CORTE as NOMBRE_CORTE
from prep.corte.nombres import PUBLIC_KEY as PUBLIC_KEY
from prep.corte.nombres import SIGNATURE as SIGNATURE
from prep.corte.nombres import candidaturas_csv_name as candidaturas_csv_name
from prep.corte.nombres import corte_dirname as corte_dirname
from prep.corte.nombres import csv_name as csv_name
from prep.corte.nombres import slug as slug
from prep.corte.paquete_tramos import eleccion_csv_partes
from prep.corte.paquete_tramos import tabular
from prep.corte.paquete_tramos import write_eleccion_csv
from prep.corte.simulacro import LINEA_MANIFIESTO
from prep.corte.summary import TablaEleccion
from prep.durable import fsync_dir as _fsync_dir
from prep.durable import write_synced as _write_synced
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

#: The largest piece of an election's CSV handed over at once (``build_corte_files``).
TROZO = 1024 * 1024


@dataclass(frozen=True)
class CorteEscrito:
    """A published corte: where it is and what it said per election."""

    path: Path
    tablas: tuple[TablaEleccion, ...]
    files: Mapping[str, str]  # relative path → SHA-256


class Entrega(Protocol):
    """Where a publishing central takes a corte's election CSVs as :func:`build_corte_files`
    makes them, instead of among the files it returns: a national election's CSV is
    fifty megabytes, written, hashed and zipped piece by piece, never whole in memory;
    and the moment each election's rows are at hand, which its public site's files are
    made from before they are dropped (hundreds of megabytes nationally)."""

    def csv(self, nombre: str, partes: Iterator[bytes]) -> None:
        """Take election CSV ``nombre``: ``partes`` are its bytes in order, at most
        :data:`TROZO` each, consumed whole before returning."""

    def hecha(self, tabla: TablaEleccion) -> None:
        """``tabla``'s CSV is made (and taken); its rows are still in ``tabla.derived``."""


# Ten arguments: the corte's parts, all but the first four optional.
def build_corte_files(catalog: Catalog, estado: Mapping[str, ActaEnCorte],  # noqa: PLR0913
                      fuera: Sequence[FueraDeCatalogo], corte: datetime,
                      rules: RuleSet = DEFAULT_RULES, ultimo_corte: bool = False,
                      simulacro: bool = False, manifiesto: bool = True,
                      tablas: Sequence[TablaEleccion] | None = None,
                      memo: MutableMapping[str, Any] | None = None,
                      entrega: Entrega | None = None, completo: bool = True,
                      ) -> tuple[dict[str, bytes], tuple[TablaEleccion, ...]]:
    """The files of a corte package in memory (name → bytes), and the tables behind them.

    ``simulacro``: a drill's corte, every file stamped SIMULACRO (:mod:`prep.corte.simulacro`).
    ``manifiesto``: with its :data:`MANIFEST` (a caller that makes its own leaves it out:
    hashing a national corte's CSVs twice costs a quarter of a second).
    ``tablas``: those of :func:`tabular`, if the caller made them already.
    ``memo``: the per-acta store of :func:`tabular` and
    :func:`prep.corte.anexo.acta_textos` (the same bytes).
    ``entrega``: takes each election's CSV instead of returning it among the files, and
    is told when each table's CSV is made (:class:`Entrega`); the LEEME still lists the
    CSVs. Not with ``manifiesto``. ``completo``: with the candidaturas and the LEEME
    (False: the election CSVs alone; ``publish`` makes the others through the registry,
    :mod:`prep.corte.archivos`).
    """
    if entrega is not None and manifiesto:
        raise ValueError("un paquete con manifiesto no entrega sus CSV aparte")
    files: dict[str, bytes] = {}
    entregados: list[str] = []
    if tablas is None:
        tablas = tabular(catalog, estado, fuera, rules, ultimo_corte, memo)
    keys: dict[str, CasillaColumns] = {}
    claves: ClavesCsv = {}
    # Each election's CSV is hashed for the manifest by another thread while the next
    # one is made (hashlib lets go of the interpreter lock): the same digests, sooner.
    pool = ThreadPoolExecutor(1, "manifiesto") if manifiesto else None
    huellas: dict[str, Future[str]] = {}
    try:
        for tabla in tablas:
            eleccion = tabla.eleccion
            name = csv_name(eleccion)
            if entrega is not None:
                entrega.csv(name, eleccion_csv_partes(catalog, tabla, corte, keys, simulacro,
                                                      memo, claves, TROZO))
                entregados.append(name)
            else:
                files[name] = write_eleccion_csv(catalog, tabla, corte, keys,
                                                 simulacro=simulacro, memo=memo,
                                                 claves=claves)
            if pool is not None:
                huellas[name] = pool.submit(_hexdigest, files[name])
            if completo:
                files[candidaturas_csv_name(eleccion)] = candidaturas_csv(
                    catalog, eleccion, simulacro=simulacro)
            if entrega is not None:
                entrega.hecha(tabla)
        if completo:
            files[LEEME] = leeme_text(catalog, corte, sorted([*files, *entregados]),
                                      simulacro, archivos=registrados(), rules=rules,
                                      ultimo_corte=ultimo_corte).encode("utf-8")
        if manifiesto:
            files[MANIFEST] = manifest(files, simulacro,
                                       {n: h.result() for n, h in huellas.items()})
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return files, tuple(tablas)


def _hexdigest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: Mapping[str, bytes], simulacro: bool = False,
             huellas: Mapping[str, str] | None = None) -> bytes:
    """``sha256sum``-compatible lines for every file, so anyone can run ``sha256sum -c``;
    a drill's opens with a ``#`` line saying SIMULACRO (``sha256sum`` skips it).
    ``huellas``: the hex SHA-256 of some of ``files``, computed already."""
    huellas = huellas or {}
    lines = [f"{LINEA_MANIFIESTO}\n"] if simulacro else []
    lines += [f"{huellas.get(name) or _hexdigest(data)}  {name}\n"
              for name, data in sorted(files.items()) if name != MANIFEST]
    return "".join(lines).encode("utf-8")


def write_corte(publicacion: Path, catalog: Catalog, estado: Mapping[str, ActaEnCorte],
                fuera: Sequence[FueraDeCatalogo], corte: datetime,
                rules: RuleSet = DEFAULT_RULES, ultimo_corte: bool = False,
                simulacro: bool = False) -> CorteEscrito:
    """Write the corte under ``publicacion/<YYYYMMDD_HHMM>/`` atomically."""
    files, tablas = build_corte_files(catalog, estado, fuera, corte, rules, ultimo_corte,
                                      simulacro)
    publicacion.mkdir(parents=True, exist_ok=True)
    final = publicacion / corte_dirname(corte)
    if final.exists():
        raise FileExistsError(f"el corte {final.name} ya fue publicado; no se sobrescribe")
    tmp = publicacion / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for name, data in files.items():
            _write_synced(tmp / name, data)
        _fsync_dir(tmp)
        os.rename(tmp, final)  # fails rather than replace if another corte took the name
        _fsync_dir(publicacion)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    digests = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    return CorteEscrito(final, tablas, digests)
