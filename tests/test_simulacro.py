"""``prep simulacro --rapido``: the in-memory drill from the command line, its output and
its verdict (the full drill through the real central and stations: tests/simulacro/)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from prep.catalog import generate_catalog
from prep.catalog import load_catalog
from prep.corte.anexo import es_fuera
from prep.corte.package import MANIFEST
from prep.corte.package import manifest
from prep.corte.package import write_corte
from prep.corte.reader import read_eleccion_csv
from prep.rules import DEFAULT_RULES
from prep.sintetico.capturas import simulate
from simulacro.run import _corte_time
from simulacro.run import verify

REPO = Path(__file__).resolve().parents[1]
ELECTION_CSVS = ("JEFATURA_DE_GOBIERNO.csv", "DIPUTACIONES_LOCALES_MR.csv", "ALCALDIAS.csv")
CANDIDATURAS_CSVS = tuple(n.replace(".csv", "_CANDIDATURAS.csv") for n in ELECTION_CSVS)
CATEGORIES = (
    "Ilegible", "Sin dato", "Ilegible, Sin dato", "Excede Lista Nominal",
    "Excede Lista Nominal, Sin dato", "Todos los campos ilegibles", "Todos los campos vacíos",
    "Todos los campos ilegibles o sin dato", "Sin Acta por paquete no entregado",
    "Sin Acta por casilla no instalada", "Sin Acta por paquete entregado sin sobre",
    "Fuera de catálogo",
)


def simulacro(out: Path, seed: int = 7, scale: str = "0.01",
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prep", "simulacro", "--rapido", "--scale", scale,
         "--seed", str(seed), "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        env={**os.environ, **(env or {})})


def corte_dir(out: Path) -> Path:
    (corte,) = (out / "publicacion").iterdir()
    return corte


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("simulacro") / "sim"
    done = simulacro(out, env={"PYTHONHASHSEED": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout


def test_exit_and_verdict(drill: tuple[Path, str]) -> None:
    out, stdout = drill
    assert "APROBADO" in stdout
    assert "REPROBADO" not in stdout
    report = json.loads((out / "simulacro.json").read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert report["failures"] == []
    assert report["seed"] == 7
    # One acta per casilla and election it carries: every election but where the
    # catalog gives the casilla fewer (mesas of mexicanos en el extranjero, issue 28).
    catalog = load_catalog(out / "catalogo")
    codigos = {e.codigo for e in catalog.elecciones}
    assert len(codigos) == 3
    porta = [codigos if c.elecciones is None else c.elecciones for c in catalog.casillas]
    assert all(e <= codigos for e in porta)
    assert report["casillas"] == len(catalog.casillas) > 0
    assert report["actas"] == sum(len(e) for e in porta)
    assert any(len(e) < len(codigos) for e in porta)  # the drill has such casillas


def test_output_layout(drill: tuple[Path, str]) -> None:
    out, _ = drill
    assert sorted(p.name for p in out.iterdir()) == ["catalogo", "publicacion",
                                                    "simulacro.json"]
    assert (out / "catalogo").is_dir() and any((out / "catalogo").iterdir())
    cortes = list((out / "publicacion").iterdir())
    assert len(cortes) == 1
    assert re.fullmatch(r"\d{8}_\d{4}", cortes[0].name)
    report = json.loads((out / "simulacro.json").read_text(encoding="utf-8"))
    assert report["corte"] == cortes[0].name
    assert sorted(p.name for p in cortes[0].iterdir()) == sorted(
        (*ELECTION_CSVS, *CANDIDATURAS_CSVS, "LEEME.txt", MANIFEST))
    done = subprocess.run(["sha256sum", "-c", MANIFEST], cwd=cortes[0], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_every_category_is_published(drill: tuple[Path, str]) -> None:
    out, _ = drill
    corte = corte_dir(out)
    seen: set[str] = set()
    tipos: set[str] = set()
    for name in ELECTION_CSVS:
        parsed = read_eleccion_csv((corte / name).read_bytes())
        seen |= {f["OBSERVACIONES"] for f in parsed.filas}
        tipos |= {f["TIPO_CASILLA"] for f in parsed.filas}
        # Each election shows the fuera-de-catálogo rows last.
        fuera = [i for i, f in enumerate(parsed.filas) if es_fuera(f)]
        assert fuera and fuera == list(range(len(parsed.filas) - len(fuera),
                                             len(parsed.filas)))
    missing = [c for c in CATEGORIES if c not in seen]
    assert not missing, f"categorías ausentes: {missing}"
    assert "S" in tipos


def test_especial_rows_are_published(drill: tuple[Path, str]) -> None:
    out, _ = drill
    parsed = read_eleccion_csv((corte_dir(out) / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    especiales = [f for f in parsed.filas if f["TIPO_CASILLA"] == "S"]
    assert especiales
    assert all(f["LISTA_NOMINAL"] == "0" for f in especiales)


def test_rerun_replaces_previous_drill(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    assert simulacro(out).returncode == 0
    (out / "publicacion" / "viejo.txt").write_text("de la corrida anterior", encoding="utf-8")
    done = simulacro(out, seed=8)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "APROBADO" in done.stdout
    assert not (out / "publicacion" / "viejo.txt").exists()
    assert len(list((out / "publicacion").iterdir())) == 1
    report = json.loads((out / "simulacro.json").read_text(encoding="utf-8"))
    assert (report["seed"], report["ok"]) == (8, True)


def test_refuses_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "mis_datos"
    out.mkdir()
    precious = out / "importante.txt"
    precious.write_text("no borrar", encoding="utf-8")
    (out / "sub").mkdir()
    (out / "sub" / "otro.csv").write_text("a,b\r\n", encoding="utf-8")
    before = tree(out)
    done = simulacro(out)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(out) in done.stderr
    assert "simulacro" in done.stderr and "no es" in done.stderr  # Spanish message
    assert "APROBADO" not in done.stdout
    assert tree(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["importante.txt", "sub"]


def test_same_seed_is_byte_identical(tmp_path: Path, drill: tuple[Path, str]) -> None:
    first, _ = drill
    again = tmp_path / "again"
    done = simulacro(again, env={"PYTHONHASHSEED": "12345"})  # other hash seed
    assert done.returncode == 0, done.stderr
    a = tree(first / "publicacion")
    b = tree(again / "publicacion")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], f"{name} difiere entre dos corridas con la misma semilla"
    assert tree(first / "catalogo") == tree(again / "catalogo")


def test_other_seed_differs(tmp_path: Path, drill: tuple[Path, str]) -> None:
    first, _ = drill
    other = tmp_path / "other"
    assert simulacro(other, seed=8).returncode == 0
    name = "JEFATURA_DE_GOBIERNO.csv"
    assert (corte_dir(first) / name).read_bytes() != (corte_dir(other) / name).read_bytes()


# --- the verdict catches a tampered publication ---------------------------------------------

Row = dict[str, str]


def _tamper(path: Path, pick: Callable[[Row], bool], column: str,
            change: Callable[[str], str]) -> str:
    """Change ``column`` of the first row ``pick`` accepts; return its CLAVE_ACTA."""
    data = path.read_bytes()
    lines = data[3:].decode("utf-8").split("\r\n")
    header = next(csv.reader([lines[6]]))
    for i in range(7, len(lines) - 1):
        row = dict(zip(header, next(csv.reader([lines[i]])), strict=True))
        if pick(row):
            row[column] = change(row[column])
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow([row[h] for h in header])
            lines[i] = buf.getvalue()
            path.write_bytes(data[:3] + "\r\n".join(lines).encode("utf-8"))
            return row["CLAVE_ACTA"]
    raise AssertionError("no row to tamper with")


def _counted(r: Row) -> bool:
    return r["CONTABILIZADA"] == "1" and r["PAN"] not in ("-", "N/A", "Ilegible", "Sin dato")


def _pending(r: Row) -> bool:
    return r["CONTABILIZADA"] == "-" and not es_fuera(r) and r["PAN"] == "-"


def _sin_acta(r: Row) -> bool:
    return r["OBSERVACIONES"].startswith("Sin Acta") and r["PAN"] == "-"


def _not_applicable(r: Row) -> bool:
    return r["CONTABILIZADA"] == "1" and r["CAND_IND_1"] == "N/A"


def _excede(r: Row) -> bool:
    return r["OBSERVACIONES"] == "Excede Lista Nominal"


TAMPERS: dict[str, tuple[Callable[[Row], bool], str, Callable[[str], str]]] = {
    "captured-vote": (_counted, "PAN", lambda v: str(int(v) + 1)),
    "observaciones": (_counted, "OBSERVACIONES", lambda v: "Ilegible"),
    "votes-on-pending-acta": (_pending, "PAN", lambda v: "7"),
    "votes-on-sin-acta": (_sin_acta, "PAN", lambda v: "7"),
    "votes-where-not-competing": (_not_applicable, "CAND_IND_1", lambda v: "7"),
    "total-of-uncounted-acta": (_excede, "TOTAL_VOTOS_CALCULADO", lambda v: str(int(v) + 1)),
}


@pytest.mark.parametrize("pick, column, change", TAMPERS.values(), ids=TAMPERS.keys())
def test_verify_catches_tampered_value(tmp_path: Path, pick: Callable[[Row], bool],
                                       column: str, change: Callable[[str], str]) -> None:
    catalog = generate_catalog(7, 0.01)
    corte = _corte_time(catalog)
    sim = simulate(catalog, 7, corte)
    escrito = write_corte(tmp_path / "publicacion", catalog, sim.estado, sim.fuera, corte)
    assert verify(catalog, sim, escrito, DEFAULT_RULES) == []
    clave = _tamper(escrito.path / "DIPUTACIONES_LOCALES_MR.csv", pick, column, change)
    # Fix the manifest so that only the row checks can catch the change.
    files = {p.name: p.read_bytes() for p in escrito.path.iterdir() if p.name != MANIFEST}
    (escrito.path / MANIFEST).write_bytes(manifest(files))
    assert subprocess.run(["sha256sum", "-c", MANIFEST], cwd=escrito.path,
                          capture_output=True, check=False).returncode == 0
    failures = verify(catalog, sim, escrito, DEFAULT_RULES)
    assert failures, f"{clave}: {column} alterado y el veredicto no lo detecta"
