"""A drill's central stamps SIMULACRO on every file of every corte it publishes, a real
central on none, the drill's files have exactly the real night's shape (names, lines
before each header, headers), and ``prep verify-corte`` reports it and refuses a corte
whose files disagree with its signed manifest."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.db import make_engine
from central.db.simulacro import set_simulacro
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte.package import LEEME
from prep.corte.package import MANIFEST
from prep.corte.reader import read_eleccion_csv
from prep.corte.simulacro import BANNER_ID
from prep.corte.simulacro import LINEA_MANIFIESTO
from prep.corte.simulacro import PREFIJO
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.central import REPO
from tests.harness.corte_data import day_after
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states
from tests.harness.postgres import temporary_database

SEED = 5
KEY = SigningKey.generate()
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.01)


def _central(dsn: str, catalog: Catalog, tmp_path: Path, simulacro: bool) -> Engine:
    prepare_database(dsn, catalog)
    engine = make_engine(dsn)
    with Session(engine) as session, session.begin():
        set_simulacro(session, simulacro)
    corte = day_after(catalog, time(6, 0))
    write_states(dsn, catalog, simulate(catalog, SEED, corte, pendientes=0.1),
                 tmp_path / "blobs")
    return engine


def _cortes(engine: Engine, tmp_path: Path, n: int = 2) -> list[Path]:
    settings = CorteSettings(tmp_path / "publicacion", tmp_path / "blobs")
    return [make_corte(engine, KEY, settings, motivo=A_PEDIDO, actor="pruebas").publicado.path
            for _ in range(n)]


@pytest.fixture
def drill(pg_database: str, catalog: Catalog, tmp_path: Path) -> Iterator[list[Path]]:
    engine = _central(pg_database, catalog, tmp_path, simulacro=True)
    yield _cortes(engine, tmp_path)
    engine.dispose()


@pytest.fixture
def real(pg_database: str, catalog: Catalog, tmp_path: Path) -> Iterator[list[Path]]:
    engine = _central(pg_database, catalog, tmp_path, simulacro=False)
    yield _cortes(engine, tmp_path)
    engine.dispose()


def _files(corte: Path) -> list[Path]:
    return sorted(p for p in corte.rglob("*") if p.is_file())


def _first_line(path: Path) -> str:
    return path.read_bytes().removeprefix(BOM).split(b"\r\n" if path.suffix == ".csv"
                                                     else b"\n")[0].decode("utf-8")


def test_every_file_of_a_drill_corte_says_simulacro(drill: list[Path]) -> None:
    for corte in drill:  # the first corte and the next one alike
        seen = {"csv": 0, "html": 0, "zip": 0}
        for path in _files(corte):
            name = path.relative_to(corte).as_posix()
            if path.suffix == ".csv":
                assert _first_line(path).startswith(PREFIJO), name
                seen["csv"] += 1
            elif path.suffix == ".html":
                page = path.read_text(encoding="utf-8")
                body = page.index("<body")
                assert page.index(f'id="{BANNER_ID}"') > body, name
                assert "<title>SIMULACRO · " in page, name
                seen["html"] += 1
            elif path.suffix == ".zip":
                assert path.name == f"PREP_{corte.name}.zip"  # the real night's name
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        data = archive.read(member).removeprefix(BOM)
                        assert data.startswith(PREFIJO.encode()), member
                seen["zip"] += 1
        # 3 elections, their candidaturas, HISTORIAL.csv and AVANCE_CATD.csv (issue 29).
        assert seen["csv"] == 8 and seen["html"] >= 1 and seen["zip"] == 1
        assert _first_line(corte / LEEME).startswith(f"{PREFIJO}PREP ")
        assert "AVISO: SIMULACRO." in (corte / LEEME).read_text(encoding="utf-8")
        assert _first_line(corte / MANIFEST) == LINEA_MANIFIESTO
        assert json.loads((corte / "diferencias.json").read_bytes())["simulacro"] is True
        # The election CSVs still read as Anexo 18.5 files, their rows untouched.
        for e in ("JEFATURA_DE_GOBIERNO", "ALCALDIAS"):
            parsed = read_eleccion_csv((corte / f"{e}.csv").read_bytes())
            assert parsed.eleccion.startswith(PREFIJO) and parsed.filas
        cand = (corte / "ALCALDIAS_CANDIDATURAS.csv").read_bytes().removeprefix(BOM)
        assert cand.split(b"\r\n")[1].startswith(b"ID_ENTIDAD,ENTIDAD,")
        # The signed manifest covers it, and anyone's sha256sum still checks it.
        check = subprocess.run(["sha256sum", "--strict", "-c", MANIFEST], cwd=corte,
                               capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        result = verify_corte(corte)
        assert result.ok, result.report()
        assert result.simulacro
        assert "CORTE ÍNTEGRO DE UN SIMULACRO" in result.report()


def _shape(corte: Path) -> dict[str, object]:
    """What a parser programmed against a corte relies on: every file's name, and for
    each CSV its lines up to its column header with the title's SIMULACRO mark and the
    corte's time taken out (the time differs between any two cortes)."""
    out: dict[str, object] = {}
    for path in _files(corte):
        name = path.relative_to(corte).as_posix().replace(corte.name, "<corte>")
        if name.startswith(("imagenes/", "sitio/")):
            continue
        if path.suffix != ".csv":
            out[name] = None
            continue
        lines = path.read_bytes().removeprefix(BOM).decode("utf-8").split("\r\n")
        election = lines[3].startswith("ACTAS_ESPERADAS,")
        head = lines[:7] if election else lines[:2]
        head[0] = head[0].removeprefix(PREFIJO)
        if election:  # line 2 is the time; line 5 the figures
            head[1], head[4] = re.sub(r"\d", "9", head[1]), "<valores>"
        out[name] = head
    return out


def test_a_drill_publishes_the_real_nights_format(
        pg_dsn: str, catalog: Catalog, tmp_path: Path) -> None:
    """The same night published by a drill's central and a real one: the same files,
    the same lines before each header and the same headers; only the mark differs."""
    shapes = []
    for simulacro in (True, False):
        with temporary_database(pg_dsn) as dsn:
            engine = _central(dsn, catalog, tmp_path / str(simulacro), simulacro)
            try:
                shapes.append(_shape(_cortes(engine, tmp_path / str(simulacro), 1)[0]))
            finally:
                engine.dispose()
    drill, real = shapes
    assert sorted(drill) == sorted(real)
    assert drill == real


def test_verify_corte_says_simulacro(drill: list[Path]) -> None:
    done = subprocess.run([sys.executable, "-m", "prep", "verify-corte", str(drill[-1]),
                           "--huella", KEY.public.fingerprint()], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SIMULACRO: Este corte es de un simulacro" in done.stdout


def test_a_real_central_never_stamps_it(real: list[Path]) -> None:
    for corte in real:
        for path in _files(corte):
            assert b"SIMULACRO" not in path.read_bytes(), path.relative_to(corte)
        assert (corte / f"PREP_{corte.name}.zip").is_file()
        assert "simulacro" not in json.loads((corte / "diferencias.json").read_bytes())
        result = verify_corte(corte)
        assert result.ok, result.report()
        assert not result.simulacro
        assert "SIMULACRO" not in result.report()


def _resign(corte: Path, manifest: str) -> None:
    """Write ``manifest`` and sign it with the central's key: what a corte built wrong by
    a central itself would look like (every hash and the signature fine)."""
    data = manifest.encode("utf-8")
    (corte / MANIFEST).write_bytes(data)
    (corte / f"{MANIFEST}.sig").write_bytes(KEY.sign(data))


def _rehash(corte: Path, name: str) -> str:
    """The manifest with ``name``'s line recomputed from the file now on disk."""
    digest = hashlib.sha256((corte / name).read_bytes()).hexdigest()
    lines = (corte / MANIFEST).read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(f"{digest}  {name}\n" if line.endswith(f"  {name}\n") else line
                   for line in lines)


def test_a_drill_manifest_over_an_unmarked_file_fails(drill: list[Path]) -> None:
    corte = drill[-1]
    csv = corte / "JEFATURA_DE_GOBIERNO.csv"
    csv.write_bytes(csv.read_bytes().replace(PREFIJO.encode(), b"", 1))
    page = corte / "sitio" / "index.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace(f'id="{BANNER_ID}"', 'id="otro"'), encoding="utf-8")
    manifest = _rehash(corte, "JEFATURA_DE_GOBIERNO.csv")
    (corte / MANIFEST).write_text(manifest, encoding="utf-8")
    _resign(corte, _rehash(corte, "sitio/index.html"))

    result = verify_corte(corte)

    assert result.simulacro and not result.ok
    assert [p for p in result.problemas if "no dice SIMULACRO" in p] == [
        "JEFATURA_DE_GOBIERNO.csv, línea 1: no dice SIMULACRO aunque el manifiesto es de "
        "un simulacro",
        "sitio/index.html (aviso de la página): no dice SIMULACRO aunque el manifiesto es "
        "de un simulacro"]


def test_a_drill_corte_passed_off_as_real_fails(drill: list[Path]) -> None:
    corte = drill[-1]
    text = (corte / MANIFEST).read_text(encoding="utf-8")
    _resign(corte, text.removeprefix(f"{LINEA_MANIFIESTO}\n"))

    result = verify_corte(corte)

    assert not result.simulacro and not result.ok
    assert len([p for p in result.problemas if "dice SIMULACRO pero el manifiesto no es de "
                "un simulacro" in p]) == len([p for p in _files(corte) if p.suffix in (
                    ".csv", ".html") or p.name == LEEME])


def test_a_real_corte_with_a_drill_manifest_fails(real: list[Path]) -> None:
    corte = real[-1]
    _resign(corte, f"{LINEA_MANIFIESTO}\n" + (corte / MANIFEST).read_text(encoding="utf-8"))

    result = verify_corte(corte)

    assert result.simulacro and not result.ok
    unmarked = {p.split(":")[0].split(",")[0].split(" (")[0] for p in result.problemas}
    assert unmarked == {p.relative_to(corte).as_posix() for p in _files(corte)
                        if p.suffix in (".csv", ".html") or p.name == LEEME}
