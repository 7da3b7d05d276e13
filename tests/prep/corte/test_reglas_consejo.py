"""The Consejo's rules as data (issue 28): which OBSERVACIONES count in
PORCENTAJE_ACTAS_INCONSISTENCIAS and the base of the participación at the último corte
come from reglas.toml; the default is what INE's public generator does; a custom file
changes what is published, the LEEME says which rules the corte used, and anyone
recomputing line 5 from the rows with those rules (``prep verify-corte --reglas``) gets
the published figures."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import time
from pathlib import Path

import pytest

from central.publication.publicar import publish
from central.publication.snapshot import Snapshot
from prep.catalog import generate_catalog
from prep.cli import main
from prep.corte.historial import COLUMNS
from prep.corte.historial import HISTORIAL
from prep.corte.package import slug
from prep.corte.package import write_corte
from prep.corte.reader import CsvEleccion
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import resumen_desde_filas
from prep.corte.verify import verify_corte
from prep.corte.verify_historial import problemas_historial
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES
from prep.rules import Base
from prep.rules import RuleSet
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.prep.corte.test_corte_csv import CATALOG
from tests.prep.corte.test_corte_csv import CORTE
from tests.prep.corte.test_corte_csv import ESTADO
from tests.prep.corte.test_corte_csv import FUERA
from tests.prep.corte.test_corte_csv import lines_of

REGLAS = Path(__file__).resolve().parents[3] / "resources" / "reglas.toml"
SIN_SIN_ACTA = ('"todos_ilegibles_o_sin_dato", "sin_acta"]', '"todos_ilegibles_o_sin_dato"]')


def custom_rules(tmp_path: Path) -> Path:
    """The shipped reglas.toml with Sin Acta no longer an inconsistencia."""
    text = REGLAS.read_text(encoding="utf-8")
    assert text.count(SIN_SIN_ACTA[0]) == 1
    path = tmp_path / "reglas.toml"
    path.write_text(text.replace(*SIN_SIN_ACTA), encoding="utf-8")
    return path


@pytest.mark.rapido
def test_the_default_is_ine_s_generator() -> None:
    # Every acta with any observation is an inconsistencia; C_CS at the último corte.
    assert DEFAULT_RULES.participacion_ultimo_corte is Base.CON_ESPECIALES
    assert DEFAULT_RULES.participacion is Base.SIN_ESPECIALES
    assert all(DEFAULT_RULES.inconsistente(o) for o in (
        "Ilegible", "Sin dato", "Excede Lista Nominal, Sin dato", "Todos los campos vacíos",
        "Sin Acta por paquete no entregado", "algo que el instituto agregó"))
    assert not DEFAULT_RULES.inconsistente("") and not DEFAULT_RULES.inconsistente("-")


@pytest.mark.rapido
def test_a_custom_reglas_toml_changes_the_published_inconsistencias(tmp_path: Path) -> None:
    rules = RuleSet.from_toml(custom_rules(tmp_path))
    assert "sin_acta" not in rules.inconsistencias
    default = write_corte(tmp_path / "a", CATALOG, ESTADO, FUERA, CORTE).path
    custom = write_corte(tmp_path / "b", CATALOG, ESTADO, FUERA, CORTE, rules).path
    # JEFATURA: C2 (Ilegible), C3 (Excede) and C5 (Sin Acta) of 7 actas esperadas.
    line = lines_of((default / "JEFATURA_DE_GOBIERNO.csv").read_bytes())[4].split(",")
    assert line[7] == "42.8571"  # 3 × 100 / 7
    data = (custom / "JEFATURA_DE_GOBIERNO.csv").read_bytes()
    line = lines_of(data)[4].split(",")
    assert line[7] == "28.5714"  # 2 × 100 / 7: the sin acta no longer counts
    # Recomputed from the rows with the same rules it agrees; with INE's, it does not.
    parsed = read_eleccion_csv(data)
    assert resumen_desde_filas(parsed, rules=rules) == parsed.resumen
    assert resumen_desde_filas(parsed)["PORCENTAJE_ACTAS_INCONSISTENCIAS"] == "42.8571"
    # The LEEME says which observations counted.
    leeme = (custom / "LEEME.txt").read_text(encoding="utf-8")
    assert ("PORCENTAJE_ACTAS_INCONSISTENCIAS: Actas con alguna de estas OBSERVACIONES: "
            "Ilegible; Sin dato; Excede Lista Nominal;") in leeme
    assert "Sin Acta por" not in leeme.split("PORCENTAJE_ACTAS_INCONSISTENCIAS:")[1] \
        .split("\n")[0]
    leeme = (default / "LEEME.txt").read_text(encoding="utf-8")
    assert "Actas del catálogo con cualquier OBSERVACIONES, Sin Acta incluida (regla " \
        "«inconsistencias» del instituto)" in leeme
    assert "INE" not in leeme.split("PORCENTAJE_ACTAS_INCONSISTENCIAS:")[1].split("\n")[0]


@pytest.mark.rapido
def test_the_ultimo_corte_says_so_and_uses_its_participacion_base(tmp_path: Path) -> None:
    normal = write_corte(tmp_path / "a", CATALOG, ESTADO, FUERA, CORTE).path
    ultimo = write_corte(tmp_path / "b", CATALOG, ESTADO, FUERA, CORTE,
                         ultimo_corte=True).path
    participacion = [lines_of((d / "JEFATURA_DE_GOBIERNO.csv").read_bytes())[4]
                     .split(",")[-1] for d in (normal, ultimo)]
    assert participacion == ["55.0000", "68.3333"]  # 165 / 300, then 205 / 300
    text = (ultimo / "LEEME.txt").read_text(encoding="utf-8")
    assert "ÚLTIMO CORTE: con este corte terminó la publicación del PREP" in text
    assert ("PORCENTAJE_PARTICIPACION_CIUDADANA: TOTAL_VOTOS_C_CS (con casillas especiales) "
            "× 100 / LISTA_NOMINAL_ACTAS_CONTABILIZADAS de la entidad en este corte (el "
            "último)") in text
    assert "la de cada distrito, alcaldía y sección divide siempre TOTAL_VOTOS_S_CS" in text
    assert lines_of((ultimo / "JEFATURA_DE_GOBIERNO.csv").read_bytes())[1].endswith(
        " — ÚLTIMO CORTE (participación de la entidad con casillas especiales)")
    text = (normal / "LEEME.txt").read_text(encoding="utf-8")
    assert "ÚLTIMO CORTE" not in text.splitlines()[0]
    assert "ÚLTIMO CORTE: con este corte terminó" not in text
    assert ("TOTAL_VOTOS_S_CS (sin casillas especiales) × 100 / "
            "LISTA_NOMINAL_ACTAS_CONTABILIZADAS de la entidad en este corte; en el último "
            "corte se usa "
            "TOTAL_VOTOS_C_CS (con casillas especiales)") in text
    # The alternative, S_CS throughout, is one line of reglas.toml.
    path = tmp_path / "reglas.toml"
    path.write_text(REGLAS.read_text(encoding="utf-8").replace(
        'participacion_ultimo_corte = "C_CS"', 'participacion_ultimo_corte = "S_CS"'),
        encoding="utf-8")
    scs = write_corte(tmp_path / "c", CATALOG, ESTADO, FUERA, CORTE,
                      RuleSet.from_toml(path), ultimo_corte=True).path
    assert lines_of((scs / "JEFATURA_DE_GOBIERNO.csv").read_bytes())[4].endswith(",55.0000")


def test_a_whole_corte_with_custom_rules_verifies_with_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The central's packager (CSV, site, signed manifest) publishes the custom figure
    everywhere, and ``prep verify-corte --reglas`` agrees with it."""
    reglas = custom_rules(tmp_path)
    rules = RuleSet.from_toml(reglas)
    catalog = generate_catalog(3, 0.005)
    corte = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 3, corte, pendientes=0.1)
    estado = {clave: replace(est, sha256=None) for clave, est in sim.estado.items()}
    snap = Snapshot(corte, 1, catalog, estado, tuple(sim.fuera), {})
    key = SigningKey.generate()
    directory = publish(tmp_path / "pub", snap, key, blobs=None, anterior=None,
                        rules=rules).path
    name = "JEFATURA_DE_GOBIERNO.csv"
    parsed = read_eleccion_csv((directory / name).read_bytes())
    sin_acta = sum(1 for f in parsed.filas if f["OBSERVACIONES"].startswith("Sin Acta"))
    assert sin_acta > 0, "the simulated election should have sin acta actas"
    assert parsed.resumen != resumen_desde_filas(parsed)  # INE's rule would count them
    hecho = verify_corte(directory, rules=rules)
    assert hecho.ok, hecho.problemas
    default = verify_corte(directory)
    assert not default.ok
    assert any("PORCENTAJE_ACTAS_INCONSISTENCIAS (publicado" in p for p in default.problemas)
    copy = Path(shutil.copytree(directory, tmp_path / "descargado"))
    assert main(["verify-corte", str(copy), "--reglas", str(reglas)]) == 0
    assert "CORTE ÍNTEGRO" in capsys.readouterr().out
    assert main(["verify-corte", str(copy)]) == 1


@pytest.mark.rapido
@pytest.mark.parametrize("toml, message", [
    ('inconsistencias = ["excede", "nada"]\n', r"inconsistencias desconocidas \['nada'\]"),
    ('inconsistencias = "excede"\n', "inconsistencias debe ser una lista de textos"),
    ('ilegible = "Ilegible, o casi"\n', "la etiqueta de ilegible .* contiene el separador"),
])
def test_bad_inconsistencias_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "reglas.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        RuleSet.from_toml(path)


def _corte_publicado(tmp_path: Path, sin_imagenes: bool = False
                     ) -> tuple[Path, dict[str, CsvEleccion]]:
    """A small simulated corte published by the central's packager (no image hashes
    with ``sin_imagenes``), and its election CSVs as verify-corte parses them."""
    catalog = generate_catalog(3, 0.005)
    corte = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 3, corte, pendientes=0.1)
    estado = {clave: replace(est, sha256=None) for clave, est in sim.estado.items()} \
        if sin_imagenes else sim.estado
    snap = Snapshot(corte, 1, catalog, estado, tuple(sim.fuera), {})
    directory = publish(tmp_path / "pub", snap, SigningKey.generate(), blobs=None,
                        anterior=None).path
    return directory, {e.codigo: read_eleccion_csv(
        (directory / f"{slug(e.nombre)}.csv").read_bytes()) for e in catalog.elecciones}


def test_the_history_check_accepts_actas_without_image_and_catches_a_wrong_hash(
        tmp_path: Path) -> None:
    """HISTORIAL.csv leaves the hash of an acta without image empty where the election CSV
    says '-': verify-corte took that for a contradiction. A hash that differs from
    CODIGO_INTEGRIDAD is still one."""
    directory, tablas = _corte_publicado(tmp_path, sin_imagenes=True)
    assert tablas and problemas_historial(directory, tablas) == []
    historial = directory / HISTORIAL
    text = historial.read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    i = next(n for n, line in enumerate(lines) if ",VALIDACION," in line)
    cells = lines[i].split(",")
    cells[COLUMNS.index("CODIGO_INTEGRIDAD")] = "ab" * 32
    lines[i] = ",".join(cells)
    historial.write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    [problema] = problemas_historial(directory, tablas)
    assert "no es el CODIGO_INTEGRIDAD publicado" in problema


def test_the_history_check_catches_a_correction_without_its_corte(tmp_path: Path) -> None:
    """A CORRECCION_PUBLICADA names the corte that published it, then why; a DETALLE
    without a corte is a contradiction verify-corte reports."""
    directory, tablas = _corte_publicado(tmp_path)
    historial = directory / HISTORIAL
    lines = historial.read_bytes().decode("utf-8-sig").split("\r\n")
    i = next(n for n, line in enumerate(lines) if ",PUBLICACION," in line)
    clave = lines[i].split(",")[0]

    def con(detalle: str) -> list[str]:
        row = [clave, "CORRECCION_PUBLICADA", lines[i].split(",")[2], "", "", "", "", "", "",
               detalle]
        historial.write_bytes("\r\n".join([*lines[:i + 1], ",".join(row), *lines[i + 1:]])
                              .encode("utf-8-sig"))
        return problemas_historial(directory, tablas)

    assert con(f"{directory.name}: corregida tras el cotejo") == []
    assert con("20000101_0000: corregida tras el cotejo") == []
    # Not compared with this corte's name: a name is the database clock's minute, and
    # a clock set back would make a good corte fail verification everywhere.
    assert con("29991231_2359: corregida tras el cotejo") == []
    [sin_corte] = con("corregida tras el cotejo")
    assert clave in sin_corte and "el nombre del corte que la publicó" in sin_corte


def test_the_history_check_finds_an_acta_without_history_and_a_cotejada_without_cotejo(
        tmp_path: Path) -> None:
    """Every acta with data in the CSVs has its history, and COTEJADA 1 has a cotejo that
    coincided behind it: a history that leaves an acta out, or a CSV that says cotejada
    without one, is reported with the acta."""
    directory, tablas = _corte_publicado(tmp_path)
    assert problemas_historial(directory, tablas) == []
    fila = next(f for t in tablas.values() for f in t.filas
                if f.get("CONTABILIZADA", "-") != "-" and f.get("COTEJADA") == "0")
    clave = fila["CLAVE_ACTA"]
    fila["COTEJADA"] = "1"
    [cotejada] = problemas_historial(directory, tablas)
    assert "COTEJADA 1" in cotejada and clave in cotejada
    fila["COTEJADA"] = "0"
    historial = directory / HISTORIAL
    lines = historial.read_bytes().decode("utf-8-sig").split("\r\n")
    historial.write_bytes("\r\n".join(line for line in lines
                                      if not line.startswith(f"{clave},"))
                          .encode("utf-8-sig"))
    [sin] = problemas_historial(directory, tablas)
    assert "no tienen historial" in sin and clave in sin
