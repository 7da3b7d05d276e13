"""The corte's differential (issue 65): a random night (:mod:`tests.harness.noches`)
published corte after corte by the engine of a running central and by the plain path,
which must publish the same bytes, every file, every corte.

- The engine: one ``CorteMemo`` kept across the night's cortes, as ``prep central
  serve`` keeps it (the snapshot reads again only the actas whose rows changed, the
  tramos and renders of the previous corte are reused where their inputs are the same,
  the tramos' texts kept in a carrete on disk).
- The plain path: each corte made with no memo at all (every acta read and rendered
  again), on a copy of the database taken just before the engine's corte (the same
  recorded cortes and audit chain), at the same instant with the same key, into a
  publication of its own (so its ``diferencias.json`` compares with its own previous
  corte, which the differential found identical to the engine's).

Both are ``make_corte``: the plain path's in this process, or (``aparte``) in a new
process per corte, which shares not even a module's cache with the engine's. The copy of
the database and the fixed ``now()`` are ``bench.corte_ref``'s. A difference is reported
with the seed, the corte's number and name, the first differing file (a source file
before the manifest, its signature and the zip, which differ whenever one does) and its
first differing line.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.corte_ref import KEY
from bench.corte_ref import set_now
from bench.corte_ref import tree_differences
from central.db import make_engine
from central.db import upgrade
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteHecho
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.memo_corte import CorteMemo
from prep.corte.archivos import ArchivoPublicado
from prep.corte.memo import RenderMemo
from prep.crypto import SigningKey
from tests.harness.corte_data import prepare_database
from tests.harness.noches import Diario
from tests.harness.noches import Noche
from tests.harness.noches import aplicar
from tests.harness.noches import noche

#: Files that differ whenever any other file does: reported only if nothing else differs.
DERIVADOS = ("MANIFIESTO.sha256", "MANIFIESTO.sha256.sig", ".zip")


@dataclass(frozen=True)
class Diferencia:
    """Where the engine's corte first differs from the plain path's."""

    semilla: int
    corte: int  # its number in the night, from 1
    nombre: str  # its directory
    archivo: str  # the first differing file, relative to the corte
    linea: int | None  # its first differing line (from 1); None: a file missing
    motor: str  # that line as the engine published it (or the file's kind)
    plano: str  # as the plain path published it
    archivos: tuple[str, ...]  # every differing path (the first 20)

    def __str__(self) -> str:
        donde = self.archivo if self.linea is None else f"{self.archivo}, line {self.linea}"
        return (f"seed {self.semilla}, corte {self.corte} ({self.nombre}): {donde} differs\n"
                f"  engine: {self.motor}\n  plain:  {self.plano}\n"
                f"  differing files: {', '.join(self.archivos)}")

    def to_json(self) -> dict[str, object]:
        return {"semilla": self.semilla, "corte": self.corte, "nombre": self.nombre,
                "archivo": self.archivo, "linea": self.linea, "motor": self.motor,
                "plano": self.plano, "archivos": list(self.archivos)}


@dataclass
class Resultado:
    """One night's differential."""

    semilla: int
    cortes: int = 0  # compared (all of the night's, unless one differed)
    #: Per corte of the engine, the actas its snapshot read again (None: all of them).
    releidas: list[int | None] = field(default_factory=list)
    diferencia: Diferencia | None = None
    segundos: float = 0.0


def comparar(admin_dsn: str, semilla: int, trabajo: Path,
             plantilla: str | None = None, aparte: bool = False,
             archivos: Sequence[ArchivoPublicado] | None = None) -> Resultado:
    """Publish ``semilla``'s night both ways on ``admin_dsn``'s server (a database of
    its own, dropped after; files under ``trabajo``, removed after), corte by corte,
    stopping at the first corte that differs. ``plantilla``: a database already
    migrated (:func:`plantilla_migrada`) to make the night's from. ``aparte``: each
    corte of the plain path is made by a new process (python3 -m tests.harness.diferencial
    plano …), so not even a cache of the process's modules is shared with the engine;
    otherwise by this process, without memo. ``archivos``: the registry of published
    files both publish with (None: the project's; not with ``aparte``)."""
    if aparte and archivos is not None:
        raise ValueError("otro registro de archivos solo en este proceso (aparte=False)")
    empezo = time.perf_counter()
    de = noche(semilla)
    resultado = Resultado(semilla)
    trabajo.mkdir(parents=True, exist_ok=False)
    try:
        with _base(admin_dsn, f"noche_{semilla}_{secrets.token_hex(3)}", plantilla) as dsn:
            _noche(admin_dsn, dsn, de, trabajo, resultado, aparte, archivos)
    finally:
        shutil.rmtree(trabajo, ignore_errors=True)
    resultado.segundos = time.perf_counter() - empezo
    return resultado


def _noche(admin_dsn: str, dsn: str, de: Noche, trabajo: Path, resultado: Resultado,
           aparte: bool, archivos: Sequence[ArchivoPublicado] | None = None) -> None:
    prepare_database(dsn, de.catalog)
    blobs = trabajo / "blobs"
    blobs.mkdir()
    (trabajo / "carrete").mkdir()
    key = SigningKey.from_raw(KEY)
    # The running central: one memo for the whole night, the tramos' texts on its disk.
    motor = CorteSettings(trabajo / "motor", blobs, memo=CorteMemo(
        render=RenderMemo(carrete=trabajo / "carrete")), archivos=archivos)
    plano = CorteSettings(trabajo / "plano", blobs, archivos=archivos)
    diario = Diario()
    for n, ventana in enumerate(de.ventanas, 1):
        aplicar(dsn, de, ventana, diario, blobs)
        set_now(dsn, ventana.instante_sql)
        with _copia(admin_dsn, dsn, ventana.instante_sql) as copia:
            hecho = _corte(dsn, key, motor)
            llano = _en_otro_proceso(copia, plano) if aparte \
                else _corte(copia, key, plano).publicado.path
        resultado.cortes = n
        resultado.releidas.append(hecho.releidas)
        publicado = hecho.publicado.path
        diferencia = primera_diferencia(publicado, llano)
        if diferencia is not None or publicado.name != llano.name:
            archivo, linea, a, b = diferencia or ("(nombre del corte)", None,
                                                  publicado.name, llano.name)
            resultado.diferencia = Diferencia(
                de.semilla, n, publicado.name, archivo, linea, a, b,
                tuple(tree_differences(publicado, llano)[:20]))
            return


def _corte(dsn: str, key: SigningKey, settings: CorteSettings) -> CorteHecho:
    engine = make_engine(dsn)
    try:
        return make_corte(engine, key, settings, motivo=A_PEDIDO, actor="diferencial")
    finally:
        engine.dispose()  # no session left: the database can be copied


def plantilla_migrada(admin_dsn: str) -> str:
    """A database of ``admin_dsn``'s server with the central's schema (its name): the
    nights made from it skip the migrations (a second each)."""
    nombre = f"noche_plantilla_{secrets.token_hex(3)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(nombre)))
    engine = make_engine(make_conninfo(admin_dsn, dbname=nombre), pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return nombre


def _en_otro_proceso(dsn: str, settings: CorteSettings) -> Path:
    """The plain path's corte made by a new process (:func:`main`); its directory."""
    assert settings.blobs is not None
    hecho = subprocess.run([sys.executable, "-m", "tests.harness.diferencial", "plano", dsn,
                            str(settings.publicacion), str(settings.blobs)],
                           capture_output=True, text=True, check=False)
    if hecho.returncode != 0:
        raise RuntimeError(f"the plain path's corte failed:\n{hecho.stderr[-3000:]}")
    return settings.publicacion / hecho.stdout.strip().splitlines()[-1]


@contextmanager
def _base(admin_dsn: str, nombre: str, plantilla: str | None = None) -> Iterator[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(nombre), sql.Identifier(plantilla)) if plantilla is not None
            else sql.SQL("CREATE DATABASE {}").format(sql.Identifier(nombre)))
    try:
        yield make_conninfo(admin_dsn, dbname=nombre)
    finally:
        _drop(admin_dsn, nombre)


@contextmanager
def _copia(admin_dsn: str, dsn: str, instante: str) -> Iterator[str]:
    """A copy of ``dsn``'s database as it is now, its ``now()`` at ``instante``."""
    original = str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    nombre = f"{original}_plano"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(nombre), sql.Identifier(original)))
    try:
        copia = make_conninfo(admin_dsn, dbname=nombre)
        set_now(copia, instante)  # the template's search_path is not copied
        yield copia
    finally:
        _drop(admin_dsn, nombre)


def _drop(admin_dsn: str, nombre: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(nombre)))


def primera_diferencia(motor: Path, plano: Path) -> tuple[str, int | None, str, str] | None:
    """The first file that differs between two cortes' directories (a source file
    before the :data:`DERIVADOS`), its first differing line and that line in each
    (``repr``, at most 300 characters); None: every file is the same."""
    distintos = tree_differences(motor, plano)
    if not distintos:
        return None
    fuentes = [p for p in distintos if not p.endswith(DERIVADOS)]
    archivo = (fuentes or distintos)[0]
    a, b = motor / archivo, plano / archivo
    if not (a.is_file() and b.is_file()) or a.is_symlink() or b.is_symlink():
        return archivo, None, _clase(a), _clase(b)
    lineas_a = a.read_bytes().split(b"\n")
    lineas_b = b.read_bytes().split(b"\n")
    for n, (x, y) in enumerate(zip(lineas_a, lineas_b, strict=False), 1):
        if x != y:
            return archivo, n, repr(x)[:300], repr(y)[:300]
    n = min(len(lineas_a), len(lineas_b)) + 1
    return archivo, n, f"{len(lineas_a)} lines", f"{len(lineas_b)} lines"


def _clase(path: Path) -> str:
    if path.is_symlink():
        return f"link to {path.readlink()}"
    if path.is_dir():
        return "directory"
    return "file" if path.exists() else "missing"


def main() -> None:
    """``plano DSN PUBLICACION BLOBS``: one corte of the plain path (no memo) in this
    new process; prints its directory's name."""
    orden, dsn, publicacion, blobs = sys.argv[1:]
    if orden != "plano":
        sys.exit(f"uso: python3 -m tests.harness.diferencial plano DSN PUBLICACION BLOBS "
                 f"(no {orden!r})")
    hecho = _corte(dsn, SigningKey.from_raw(KEY), CorteSettings(Path(publicacion), Path(blobs)))
    print(hecho.publicado.name)


if __name__ == "__main__":
    main()
