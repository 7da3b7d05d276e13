"""Issue 61: a coalition (or candidatura común) registers one person per contest and an
office without suplente registers none. ``prep catalog check`` and every load refuse
a catalog that says otherwise, naming the election, the contest and the parties; the
synthetic generator makes catalogs that keep the rule."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.catalog import CatalogError
from prep.catalog import TipoAsociacion
from prep.catalog import generate_catalog
from prep.catalog import load_catalog
from prep.catalog import write_catalog
from tests.prep.catalog.catalog_edits import rows_of
from tests.prep.catalog.catalog_edits import set_cell
from tests.prep.catalog.catalog_edits import write_rows

REPO = Path(__file__).resolve().parents[3]
PROPIETARIA, SUPLENTE = 3, 4  # columns of candidaturas.csv as write_catalog writes it


def _line(d: Path, eleccion: str, asociacion: str, ambito: int | None = None) -> int:
    """The file line of the candidatura of ``asociacion`` (in ``ambito``, or the first)."""
    rows = rows_of(d / "candidaturas.csv")
    return next(i for i, r in enumerate(rows[1:], start=2)
                if r[0] == eleccion and r[2] == asociacion
                and (ambito is None or int(r[1]) == ambito))


def _persona(d: Path, line: int) -> tuple[str, str]:
    row = rows_of(d / "candidaturas.csv")[line - 1]
    return row[PROPIETARIA], row[SUPLENTE]


def _coalicion_en_jefatura(d: Path) -> list[str]:
    """What the drill published before issue 61: PAN, PRI and PRD each with their own
    person for the one coalition of the Jefatura de Gobierno."""
    for partido, nombre in (("PRI", "Elena Torres Ríos"), ("PRD", "Jorge Flores Cruz")):
        set_cell(d, "candidaturas.csv", _line(d, "01", partido), "PROPIETARIA", nombre)
    pan = _persona(d, _line(d, "01", "PAN"))[0]
    return ["candidaturas.csv: JEFATURA DE GOBIERNO (elección 01), toda la entidad",
            "la coalición «Va por la Ciudad de México (PAN-PRI-PRD)» de PAN, PRI y PRD",
            "personas distintas", f"PAN (línea {_line(d, '01', 'PAN')}): «{pan}»",
            "PRI", "«Elena Torres Ríos»", "PRD", "«Jorge Flores Cruz»",
            "una sola persona por contienda"]


def _suplente_distinto_en_un_distrito(d: Path) -> list[str]:
    """Same propietaria, another suplente: the coalition's formula is one."""
    rows = rows_of(d / "candidaturas.csv")
    distrito = next(int(r[1]) for r in rows[1:] if r[0] == "02" and r[2] == "PT"
                    and any(o[0] == "02" and o[1] == r[1] and o[2] == "MORENA"
                            for o in rows[1:]))
    line = _line(d, "02", "PT", distrito)
    set_cell(d, "candidaturas.csv", line, "SUPLENTE", "Otra Suplente Distinta")
    cabecera = next(r[1] for r in rows_of(d / "distritos.csv")[1:] if int(r[0]) == distrito)
    return [f"DIPUTACIONES LOCALES MR (elección 02), distrito {distrito} ({cabecera})",
            "PVEM, PT y MORENA", f"PT (línea {line})", "suplente «Otra Suplente Distinta»",
            "propietaria y suplente"]


def _suplente_en_jefatura(d: Path) -> list[str]:
    line = _line(d, "01", "MC")
    set_cell(d, "candidaturas.csv", line, "SUPLENTE", "Ana Romero Mendoza")
    return [f"candidaturas.csv: línea {line}: SUPLENTE 'Ana Romero Mendoza'",
            "candidatura de MC a JEFATURA DE GOBIERNO (elección 01), toda la entidad",
            "ese cargo no tiene suplente", "Deje la celda vacía"]


def _suplente_en_alcaldia(d: Path) -> list[str]:
    line = _line(d, "03", "MC")
    ambito = int(rows_of(d / "candidaturas.csv")[line - 1][1])
    set_cell(d, "candidaturas.csv", line, "SUPLENTE", "Luis Ruiz Reyes")
    return [f"candidaturas.csv: línea {line}: SUPLENTE 'Luis Ruiz Reyes'",
            f"ALCALDÍAS (elección 03), demarcación {ambito} (", "no tiene suplente"]


def _candidatura_repetida(d: Path) -> list[str]:
    rows = rows_of(d / "candidaturas.csv")
    line = _line(d, "01", "MC")
    otra = [*rows[line - 1]]
    otra[PROPIETARIA] = "Claudia Reyes Vega"
    write_rows(d / "candidaturas.csv", [*rows, otra])
    return [f"candidaturas.csv: línea {len(rows) + 1}: MC ya tiene una candidatura en "
            f"JEFATURA DE GOBIERNO (elección 01), toda la entidad (línea {line})"]


def _suplente_no_booleano(d: Path) -> list[str]:
    path = d / "catalogo.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("suplente = false", 'suplente = "no"', 1), encoding="utf-8")
    return ["catalogo.toml: elección 01: suplente = 'no' debe ser true o false"]


BAD = [
    pytest.param(_coalicion_en_jefatura, id="coalicion-con-tres-personas"),
    pytest.param(_suplente_distinto_en_un_distrito, id="coalicion-con-dos-suplentes"),
    pytest.param(_suplente_en_jefatura, id="suplente-en-jefatura"),
    pytest.param(_suplente_en_alcaldia, id="suplente-en-alcaldia"),
    pytest.param(_candidatura_repetida, id="candidatura-repetida"),
    pytest.param(_suplente_no_booleano, id="suplente-no-booleano"),
]


@pytest.mark.rapido
@pytest.mark.parametrize("corrupt", BAD)
def test_a_catalog_breaking_the_rule_is_refused_naming_election_contest_and_parties(
        copia: Path, corrupt: Callable[[Path], list[str]]) -> None:
    load_catalog(copia)  # the generated catalog keeps the rule
    expected = corrupt(copia)
    with pytest.raises(CatalogError) as info:
        load_catalog(copia)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize("corrupt", [_coalicion_en_jefatura, _suplente_en_jefatura])
def test_catalog_check_refuses_it_in_spanish(copia: Path,
                                             corrupt: Callable[[Path], list[str]]) -> None:
    expected = corrupt(copia)
    done = subprocess.run([sys.executable, "-m", "prep", "catalog", "check", str(copia)],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "válido" not in done.stdout
    for part in expected:
        assert part in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.rapido
def test_a_catalog_that_does_not_say_takes_cdmx_defaults(copia: Path) -> None:
    """A catalogo.toml written before issue 61 has no ``suplente``: Jefatura de Gobierno
    (entidad) and alcaldías (demarcación) have none, diputaciones (distrito) do."""
    path = copia / "catalogo.toml"
    text = path.read_text(encoding="utf-8")
    sin = "".join(line for line in text.splitlines(keepends=True)
                  if not line.startswith("suplente = "))
    assert sin != text
    path.write_text(sin, encoding="utf-8")
    catalog = load_catalog(copia)
    assert [(e.codigo, e.suplente) for e in catalog.elecciones] == [
        ("01", False), ("02", True), ("03", False)]


@pytest.mark.rapido
def test_an_office_declared_with_suplente_accepts_one(copia: Path) -> None:
    path = copia / "catalogo.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("suplente = false", "suplente = true", 1), encoding="utf-8")
    line = _line(copia, "01", "MC")
    set_cell(copia, "candidaturas.csv", line, "SUPLENTE", "Ana Romero Mendoza")
    catalog = load_catalog(copia)
    assert catalog.eleccion_por_codigo["01"].suplente is True
    assert [c.suplente for c in catalog.candidaturas
            if c.eleccion == "01" and c.asociacion == "MC"] == ["Ana Romero Mendoza"]


# -------------------------------------------------------------------------- the generator


def _coaliciones(catalog: Catalog, codigo: str, ambito: int) -> list[set[str]]:
    """The parties joined by any combination competing in ``ambito``, worked out here
    apart from the code under test."""
    grupos: list[set[str]] = []
    for a in catalog.eleccion_por_codigo[codigo].asociaciones:
        if a.tipo is TipoAsociacion.COALICION and a.compite_en(ambito):
            juntos = set(a.partidos)
            for g in [g for g in grupos if g & juntos]:
                juntos |= g
                grupos.remove(g)
            grupos.append(juntos)
    return grupos


@pytest.mark.rapido
@pytest.mark.parametrize(("seed", "scale"), [(2027, 1.0), (7, 0.01), (11, 0.05)])
def test_the_generator_registers_one_person_per_coalition_and_contest(
        tmp_path: Path, seed: int, scale: float) -> None:
    catalog = generate_catalog(seed, scale)
    por_contienda: dict[tuple[str, int], dict[str, tuple[str, str]]] = {}
    for c in catalog.candidaturas:
        por_contienda.setdefault((c.eleccion, c.ambito_id), {})[c.asociacion] = (
            c.propietaria, c.suplente)
    coaliciones_vistas = 0
    for (codigo, ambito), personas in por_contienda.items():
        grupos = _coaliciones(catalog, codigo, ambito)
        for grupo in grupos:
            # Every party of the coalition has its row, all naming the one person.
            assert grupo <= set(personas), (codigo, ambito, grupo)
            assert len({personas[p] for p in grupo}) == 1, (codigo, ambito, grupo)
            coaliciones_vistas += 1
        # Different candidaturas are different persons.
        solas = [personas[k] for k in personas if not any(k in g for g in grupos)]
        distintas = solas + [personas[min(g)] for g in grupos]
        assert len({p for p, _ in distintas}) == len(distintas), (codigo, ambito)
        # Only the diputaciones have a suplente.
        assert all(bool(s) == (codigo == "02") for _, s in personas.values()), codigo
    assert coaliciones_vistas > 0
    write_catalog(catalog, tmp_path / "cat")
    assert load_catalog(tmp_path / "cat").candidaturas == catalog.candidaturas
