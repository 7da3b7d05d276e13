"""``prep simulacro preparar`` and ``prep simulacro informe`` from the command line (issue
32): the committee's files and one printable PDF per CATD; the informe's verdict and exit
status on a corte that matches and on one with a changed number; ``prep simulacro
[opciones]`` still runs the drill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import pytest

from prep.catalog import generate_catalog
from prep.catalog import load_catalog
from prep.catalog import write_catalog
from prep.cli import build_parser
from prep.corte.package import write_corte
from prep.papel.esperados import preparar
from prep.sintetico.plan import corte_de_referencia
from prep.values import Captura
from simulacro import cli as drill_cli
from simulacro import papel

REPO = Path(__file__).resolve().parents[2]
SEED = 5


def prep(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "simulacro", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          check=False, env={**os.environ})


@pytest.fixture(scope="module")
def preparado(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("papel")
    write_catalog(generate_catalog(3, 0.01), root / "catalogo")
    out = root / "preparado"
    done = prep("preparar", "--catalogo", root / "catalogo", "--out", out, "--empates", "2",
                "--seed", SEED)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, out


def test_preparar_writes_the_committees_files_and_one_pdf_per_catd(
        preparado: tuple[Path, Path]) -> None:
    root, out = preparado
    catalog = load_catalog(root / "catalogo")
    names = {p.name for p in out.iterdir()}
    assert {"esperados.json", "esperados.pdf", "contiendas.csv", "fuera_de_catalogo.csv",
            "esperados_JEFATURA_DE_GOBIERNO.csv", "esperados_DIPUTACIONES_LOCALES_MR.csv",
            "esperados_ALCALDIAS.csv", "actas"} <= names
    pdfs = sorted(p.name for p in (out / "actas").iterdir())
    assert pdfs == [f"actas_CATD_{d.id:02d}.pdf" for d in sorted(catalog.distritos,
                                                                key=lambda d: d.id)]
    for pdf in (out / "actas").iterdir():
        assert pdf.read_bytes().startswith(b"%PDF-")
    esperados = json.loads((out / "esperados.json").read_text(encoding="utf-8"))
    assert sum(1 for c in esperados["contiendas"] if c["empate"]) == 2


def test_preparar_refuses_a_directory_with_other_files(tmp_path: Path,
                                                       preparado: tuple[Path, Path]) -> None:
    root, _ = preparado
    (tmp_path / "otro.txt").write_text("no es del simulacro", encoding="utf-8")
    done = prep("preparar", "--catalogo", root / "catalogo", "--out", tmp_path)
    assert done.returncode == 2
    assert "ya tiene archivos" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["otro.txt"]


def test_informe_matches_a_corte_of_the_expected_results_and_catches_a_change(
        preparado: tuple[Path, Path], tmp_path: Path) -> None:
    root, out = preparado
    catalog = load_catalog(root / "catalogo")
    esperados = preparar(catalog, SEED, empates=2)
    when = corte_de_referencia(catalog).astimezone(UTC)
    publicacion = tmp_path / "publicacion"
    write_corte(publicacion, catalog, esperados.estado, esperados.fuera, when, simulacro=True)

    done = prep("informe", "--esperados", out, "--corte", publicacion,
                "--out", tmp_path / "bien")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(100.00 %)" in done.stdout and "Veredicto: COINCIDE" in done.stdout
    assert (tmp_path / "bien" / "informe.pdf").read_bytes().startswith(b"%PDF-")

    estado = dict(esperados.estado)
    clave = next(k for k, a in esperados.actas.items() if a.caso == "normal")
    captura = estado[clave].captura
    assert captura is not None
    valores = dict(captura.items())
    valores["NULOS"] = int(valores["NULOS"]) + 3
    estado[clave] = replace(estado[clave], captura=Captura.of(valores))
    otro = write_corte(tmp_path / "otra", catalog, estado, esperados.fuera, when,
                       simulacro=True)
    done = prep("informe", "--esperados", out, "--corte", otro.path)
    assert done.returncode == 1
    assert "Veredicto: CON DIFERENCIAS" in done.stdout
    assert clave in done.stdout and "capturada con error" in done.stdout
    assert f"NULOS esperado {valores['NULOS'] - 3}, publicado {valores['NULOS']}" \
        in done.stdout
    informe = json.loads((out / "informe" / "informe.json").read_text(encoding="utf-8"))
    assert informe["veredicto"] == "CON DIFERENCIAS"
    assert [d["clave"] for d in informe["diferencias"]] == [clave]


def test_informe_says_what_is_wrong_with_its_arguments(tmp_path: Path,
                                                       preparado: tuple[Path, Path]) -> None:
    _, out = preparado
    done = prep("informe", "--esperados", tmp_path, "--corte", tmp_path)
    assert done.returncode == 2 and "esperados.json" in done.stderr
    done = prep("informe", "--esperados", out, "--corte", tmp_path)
    assert done.returncode == 2 and "no es un corte publicado" in done.stderr


def test_simulacro_with_options_still_runs_the_drill() -> None:
    args = build_parser().parse_args(["simulacro", "--rapido", "--scale", "0.01"])
    assert args.func is drill_cli.command and args.accion is None and args.rapido
    args = build_parser().parse_args(["simulacro", "--seed", "4", "--out", "x"])
    assert args.func is drill_cli.command and args.seed == 4
    args = build_parser().parse_args(["simulacro", "preparar", "--catalogo", "c", "--out",
                                      "o", "--rellenas"])
    assert args.func is papel.preparar_command and args.rellenas
    args = build_parser().parse_args(["simulacro", "informe", "--esperados", "e",
                                      "--corte", "c"])
    assert args.func is papel.informe_command and args.out is None


def test_preparar_expects_what_the_centrals_rules_publish(
        preparado: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = preparado
    reglas = tmp_path / "reglas.toml"
    reglas.write_text("contabiliza_sin_dato = false\n", encoding="utf-8")
    out = tmp_path / "con_reglas"
    done = prep("preparar", "--catalogo", root / "catalogo", "--out", out, "--seed", SEED,
                "--reglas", reglas)
    assert done.returncode == 0, done.stdout + done.stderr
    actas = json.loads((out / "esperados.json").read_text(encoding="utf-8"))["actas"]
    sin_dato = [a for a in actas if a["caso"] == "sin_dato"]
    assert sin_dato and all(a["contabilizada"] == "0" for a in sin_dato)
    reglas.write_text("contabiliza_sin_dato = 3\n", encoding="utf-8")
    done = prep("preparar", "--catalogo", root / "catalogo", "--out", tmp_path / "mal",
                "--reglas", reglas)
    assert done.returncode == 2 and "reglas" in done.stderr
