"""The SIMULACRO stamp of a corte package, without a central: line 1 of every CSV and of
LEEME, the manifest's first line (still ``sha256sum -c`` compatible), and the in-memory
drill (``prep simulacro --rapido``), whose corte is a drill's too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte.package import LEEME
from prep.corte.package import MANIFEST
from prep.corte.package import build_corte_files
from prep.corte.package import slug
from prep.corte.package import write_corte
from prep.corte.reader import read_eleccion_csv
from prep.corte.simulacro import LINEA_MANIFIESTO
from prep.corte.simulacro import PREFIJO
from prep.corte.simulacro import problemas
from prep.corte.simulacro import stamp_html
from prep.sintetico.capturas import simulate
from simulacro.run import Options
from simulacro.run import run
from tests.site.corte_sitio import corte_time

SEED = 11
BOM = "\ufeff"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.01)


def _files(catalog: Catalog, simulacro: bool) -> dict[str, bytes]:
    corte = corte_time(catalog)
    sim = simulate(catalog, SEED, corte)
    files, _ = build_corte_files(catalog, sim.estado, sim.fuera, corte, simulacro=simulacro)
    return files


def _line1(data: bytes) -> str:
    return data.decode("utf-8").removeprefix(BOM).splitlines()[0]


@pytest.mark.rapido
def test_a_drill_package_says_simulacro_on_line_1_of_every_file(catalog: Catalog) -> None:
    files = _files(catalog, simulacro=True)
    for name, data in files.items():
        if name == MANIFEST:
            assert _line1(data) == LINEA_MANIFIESTO
        else:
            assert _line1(data).startswith(PREFIJO), name
    real = _files(catalog, simulacro=False)
    for e in catalog.elecciones:
        name = f"{slug(e.nombre)}.csv"
        parsed = read_eleccion_csv(files[name])
        assert parsed.eleccion == f"{PREFIJO}{e.nombre}" and parsed.filas
        # Only line 1 differs from a real corte's CSV, candidaturas included: the drill
        # publishes the real night's format (issue 61).
        for archivo in (name, f"{slug(e.nombre)}_CANDIDATURAS.csv"):
            drill, noche = files[archivo].split(b"\r\n"), real[archivo].split(b"\r\n")
            assert drill[1:] == noche[1:], archivo
            assert drill[0].decode("utf-8-sig") == PREFIJO + noche[0].decode("utf-8-sig")


@pytest.mark.rapido
def test_a_real_package_never_says_it(catalog: Catalog) -> None:
    for name, data in _files(catalog, simulacro=False).items():
        assert b"SIMULACRO" not in data.upper(), name


def test_the_drill_manifest_still_checks_with_sha256sum(catalog: Catalog,
                                                       tmp_path: Path) -> None:
    corte = corte_time(catalog)
    sim = simulate(catalog, SEED, corte)
    escrito = write_corte(tmp_path, catalog, sim.estado, sim.fuera, corte, simulacro=True)
    done = subprocess.run(["sha256sum", "--strict", "-c", MANIFEST], cwd=escrito.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert problemas(escrito.path, escrito.files, simulacro=True) == []
    assert problemas(escrito.path, escrito.files, simulacro=False) == [
        f"{n}, línea 1: dice SIMULACRO pero el manifiesto no es de un simulacro"
        for n in sorted(escrito.files) if n.endswith(".csv") or n == LEEME]


@pytest.mark.rapido
def test_pages_get_the_banner_after_body_and_the_title_a_prefix() -> None:
    page = b'<html><head><title>PREP</title></head><body class="x">\n<p>hola</p></body></html>'
    stamped = stamp_html(page, simulacro=True).decode()
    assert '<body class="x">\n  <div class="simulacro" id="aviso-simulacro"' in stamped
    assert "<title>SIMULACRO · PREP</title>" in stamped
    assert stamp_html(page, simulacro=False) == page
    with pytest.raises(ValueError, match="SIMULACRO"):
        stamp_html(b"<p>sin cuerpo</p>", simulacro=True)


@pytest.mark.rapido
def test_the_rapid_drill_publishes_a_drill_corte(tmp_path: Path) -> None:
    report = run(Options(tmp_path / "out", seed=SEED, scale=0.01))
    assert report.ok, report.failures[:5]
    corte = tmp_path / "out" / "publicacion" / report.corte
    assert _line1((corte / MANIFEST).read_bytes()) == LINEA_MANIFIESTO
    assert _line1((corte / LEEME).read_bytes()).startswith(PREFIJO)
    assert all(_line1(p.read_bytes()).startswith(PREFIJO) for p in corte.glob("*.csv"))
