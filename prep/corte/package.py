"""The CSV package of a corte: per election its Anexo 18.5 CSV and candidaturas, a LEEME
describing every column, and a manifest with the SHA-256 of every file.

A corte is written into a hidden temporary directory beside its final place, every file
fsynced, then renamed into place in one step: a reader sees the whole corte or none of it.
A published corte is never overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prep.catalog.model import Ambito, Catalog, Eleccion
from prep.corte.anexo import TZ, CasillaColumns, write_eleccion_csv
from prep.corte.leeme import leeme_text
from prep.corte.model import ActaEnCorte, FueraDeCatalogo
from prep.corte.summary import TablaEleccion, tabulate
from prep.durable import fsync_dir as _fsync_dir
from prep.durable import write_synced as _write_synced
from prep.rules import DEFAULT_RULES, RuleSet

MANIFEST = "MANIFIESTO.sha256"
LEEME = "LEEME.txt"


def slug(text: str) -> str:
    """File-name form of an election name: ``ALCALDÍAS`` → ``ALCALDIAS``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).upper().split())


def corte_dirname(corte: datetime) -> str:
    """``YYYYMMDD_HHMM`` of the corte in local (America/Mexico_City) time."""
    return f"{corte.astimezone(TZ):%Y%m%d_%H%M}"


@dataclass(frozen=True)
class CorteEscrito:
    """A published corte: where it is and what it said per election."""

    path: Path
    tablas: tuple[TablaEleccion, ...]
    files: Mapping[str, str]  # relative path → SHA-256


def build_corte_files(catalog: Catalog, estado: Mapping[str, ActaEnCorte],
                      fuera: Sequence[FueraDeCatalogo], corte: datetime,
                      rules: RuleSet = DEFAULT_RULES, ultimo_corte: bool = False,
                      ) -> tuple[dict[str, bytes], tuple[TablaEleccion, ...]]:
    """The files of a corte package in memory (name → bytes), and the tables behind them."""
    files: dict[str, bytes] = {}
    tablas: list[TablaEleccion] = []
    keys: dict[str, CasillaColumns] = {}
    for eleccion in catalog.elecciones:
        tabla = tabulate(eleccion, catalog.actas(eleccion), estado, fuera, rules, ultimo_corte)
        tablas.append(tabla)
        name = slug(eleccion.nombre)
        files[f"{name}.csv"] = write_eleccion_csv(catalog, tabla, corte, keys)
        files[f"{name}_CANDIDATURAS.csv"] = candidaturas_csv(catalog, eleccion)
    files[LEEME] = leeme_text(catalog, corte, sorted(files)).encode("utf-8")
    files[MANIFEST] = manifest(files)
    return files, tuple(tablas)


def manifest(files: Mapping[str, bytes]) -> bytes:
    """``sha256sum``-compatible lines for every file, so anyone can run ``sha256sum -c``."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}\n"
             for name, data in sorted(files.items()) if name != MANIFEST]
    return "".join(lines).encode("ascii")


def write_corte(publicacion: Path, catalog: Catalog, estado: Mapping[str, ActaEnCorte],
                fuera: Sequence[FueraDeCatalogo], corte: datetime,
                rules: RuleSet = DEFAULT_RULES, ultimo_corte: bool = False) -> CorteEscrito:
    """Write the corte under ``publicacion/<YYYYMMDD_HHMM>/`` atomically."""
    files, tablas = build_corte_files(catalog, estado, fuera, corte, rules, ultimo_corte)
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


def candidaturas_csv(catalog: Catalog, eleccion: Eleccion) -> bytes:
    """The candidaturas of ``eleccion``, one row per asociación and ámbito."""
    id_col, name_col, names = {
        Ambito.ENTIDAD: ("ID_ENTIDAD", "ENTIDAD", {0: catalog.entidad}),
        Ambito.DISTRITO: ("ID_DISTRITO_LOCAL", "DISTRITO_LOCAL",
                          {d.id: d.cabecera for d in catalog.distritos}),
        Ambito.DEMARCACION: ("ID_DEMARCACION", "DEMARCACION",
                             {d.id: d.nombre for d in catalog.demarcaciones}),
    }[eleccion.ambito]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("ID_ENTIDAD", "ENTIDAD", id_col, name_col, "PARTIDO_CI",
                "CANDIDATURA_PROPIETARIA", "CANDIDATURA_SUPLENTE"))
    for c in sorted((c for c in catalog.candidaturas if c.eleccion == eleccion.codigo),
                    key=lambda c: (c.ambito_id, c.asociacion)):
        ambito = catalog.entidad_id if eleccion.ambito is Ambito.ENTIDAD else c.ambito_id
        w.writerow((catalog.entidad_id, catalog.entidad, ambito, names.get(c.ambito_id, "-"),
                    c.asociacion, c.propietaria, c.suplente))
    return buf.getvalue().encode("utf-8-sig")
