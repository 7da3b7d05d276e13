"""Issue 28 in the catalog format: the optional per-casilla MECANISMOS_TRASLADO default,
a TIPO_ACTA per (election, tipo de casilla), the mesas of voto anticipado and en el
extranjero (no ubicación, no traslado, only some elections) and the urnas electrónicas.
Read from real files as an institute writes them; every refusal names file and line."""

from __future__ import annotations

from collections import Counter
from collections import defaultdict
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.catalog import CatalogError
from prep.catalog import catalog_digest
from prep.catalog import load_catalog
from prep.catalog import write_catalog
from prep.catalog.files import CASILLAS_COLS
from prep.catalog.model import Casilla
from tests.prep.catalog.catalog_edits import rows_of
from tests.prep.catalog.catalog_edits import write_rows

pytestmark = pytest.mark.rapido

TOML = """\
formato = 1

[entidad]
id = 9
nombre = "CIUDAD DE MÉXICO"

[[demarcaciones]]
id = 1
nombre = "COYOACÁN"

[[demarcaciones]]
id = 2
nombre = "TLALPAN"

[[elecciones]]
codigo = "01"
nombre = "JEFATURA DE GOBIERNO"
tipo_acta = "1"
ambito = "entidad"
tipo_acta_casilla = { S = "4", U = "7", M = "10" }

[[elecciones]]
codigo = "03"
nombre = "ALCALDÍAS"
tipo_acta = "3"
ambito = "demarcacion"

[elecciones.tipo_acta_casilla]
S = "6"
"""
CASILLAS = """\
ID_DISTRITO_LOCAL,ID_DEMARCACION,SECCION,TIPO_CASILLA,ID_CASILLA,EXT_CONTIGUA,LISTA_NOMINAL,REPRESENTANTES_PP_CI,BOLETAS,UBICACION_CASILLA,MECANISMOS_TRASLADO,ELECCIONES
1,1,10,B,1,0,500,4,0,1,f,
1,1,10,S,1,0,0,4,750,1,,
1,2,12,B,1,0,400,4,0,2,I,
1,2,12,U,1,0,600,4,0,1,D,
1,1,11,A,1,0,40,0,0,,,
1,1,11,M,1,0,700,0,0,,,01
"""
OTROS = {
    "distritos.csv": "ID_DISTRITO_LOCAL,CABECERA,ID_DEMARCACION\n1,COYOACÁN,1\n",
    "asociaciones.csv": ("ID_ELECCION,CLAVE,NOMBRE,TIPO,PARTIDOS,AMBITOS\n"
                         "01,PAN,Partido Acción Nacional,partido,PAN,\n"
                         "03,PAN,Partido Acción Nacional,partido,PAN,\n"),
    "candidaturas.csv": "ID_ELECCION,ID_AMBITO,ASOCIACION,PROPIETARIA,SUPLENTE\n",
}


@pytest.fixture
def catalogo(tmp_path: Path) -> Path:
    d = tmp_path / "cat"
    d.mkdir()
    (d / "catalogo.toml").write_text(TOML, encoding="utf-8")
    (d / "casillas.csv").write_text(CASILLAS, encoding="utf-8")
    for name, text in OTROS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def por_tipo(catalog: Catalog) -> dict[str, Casilla]:
    return {c.tipo + str(c.seccion): c for c in catalog.casillas}


def test_the_optional_columns_and_tipo_acta_per_tipo_de_casilla_load(catalogo: Path) -> None:
    cat = load_catalog(catalogo)
    c = por_tipo(cat)
    # Codes are read in upper case; empty is "delivered directly" (E); none for the mesas.
    assert {k: v.traslado for k, v in c.items()} == {
        "B10": "F", "S10": "E", "B12": "I", "U12": "D", "A11": None, "M11": None}
    assert c["A11"].ubicacion == c["M11"].ubicacion == 0
    assert c["M11"].elecciones == frozenset({"01"}) and c["B10"].elecciones is None
    jefatura, alcaldias = cat.elecciones
    assert {a.casilla.tipo: a.tipo_acta for a in cat.actas(jefatura)} == {
        "B": "1", "S": "4", "U": "7", "A": "1", "M": "10"}
    assert {a.casilla.tipo: a.tipo_acta for a in cat.actas(alcaldias)} == {
        "B": "3", "S": "6", "U": "3", "A": "3"}  # no acta of the mesa de extranjero
    assert cat.total_actas == 6 + 5
    assert cat.acta(c["M11"].clave + "03") is None
    assert [a.clave for a in cat.actas_de_casilla(c["M11"])] == [c["M11"].clave + "01"]
    assert [a.eleccion.codigo for a in cat.actas_de_casilla(c["B12"])] == ["01", "03"]


def test_round_trip_keeps_every_new_field(catalogo: Path, tmp_path: Path) -> None:
    cat = load_catalog(catalogo)
    write_catalog(cat, tmp_path / "otra")
    again = load_catalog(tmp_path / "otra")
    assert again.casillas_ordenadas == cat.casillas_ordenadas  # written in that order
    assert again.elecciones == cat.elecciones
    assert [e.tipos_acta for e in again.elecciones] == [
        (("S", "4"), ("M", "10"), ("U", "7")), (("S", "6"),)]
    header = rows_of(tmp_path / "otra" / "casillas.csv")[0]
    assert header[-2:] == ["MECANISMOS_TRASLADO", "ELECCIONES"]
    write_catalog(again, tmp_path / "tercera")
    assert catalog_digest(tmp_path / "tercera") == catalog_digest(tmp_path / "otra")


def test_a_catalog_without_the_optional_columns_is_still_valid_and_written_alike(
        catalogo: Path, tmp_path: Path) -> None:
    rows = rows_of(catalogo / "casillas.csv")
    write_rows(catalogo / "casillas.csv", [r[:10] for r in rows])
    (catalogo / "catalogo.toml").write_text(
        TOML.replace('tipo_acta_casilla = { S = "4", U = "7", M = "10" }\n', "")
        .replace('\n[elecciones.tipo_acta_casilla]\nS = "6"\n', ""), encoding="utf-8")
    cat = load_catalog(catalogo)
    assert {c.tipo: c.traslado for c in cat.casillas} == {
        "B": "E", "S": "E", "U": "E", "A": None, "M": None}
    assert all(a.tipo_acta == a.eleccion.tipo_acta for a in cat.iter_actas())
    write_catalog(cat, tmp_path / "igual")  # as before issue 28: no optional column
    assert rows_of(tmp_path / "igual" / "casillas.csv")[0] == rows_of(
        catalogo / "casillas.csv")[0] == list(CASILLAS_COLS)
    assert "tipo_acta_casilla" not in (tmp_path / "igual" / "catalogo.toml").read_text(
        encoding="utf-8")
    assert load_catalog(tmp_path / "igual").casillas_ordenadas == cat.casillas_ordenadas


@pytest.mark.parametrize(("line", "column", "value", "message"), [
    (2, "MECANISMOS_TRASLADO", "X",
     "casillas.csv: línea 2: MECANISMOS_TRASLADO 'X' no es uno de F, I, D, E"),
    (7, "MECANISMOS_TRASLADO", "F",
     "casillas.csv: línea 7: MECANISMOS_TRASLADO no aplica a una casilla de tipo M"),
    (7, "ELECCIONES", "1",
     "casillas.csv: línea 7: ELECCIONES: '1' no es el código (dos dígitos) de una elección"),
    (2, "UBICACION_CASILLA", "",
     "casillas.csv: línea 2: UBICACION_CASILLA vacía: solo puede quedar vacía en las mesas "
     "de tipo A, M, P"),
])
def test_a_bad_cell_is_refused_with_file_line_and_reason(
        catalogo: Path, line: int, column: str, value: str, message: str) -> None:
    rows = rows_of(catalogo / "casillas.csv")
    rows[line - 1][rows[0].index(column)] = value
    write_rows(catalogo / "casillas.csv", rows)
    with pytest.raises(CatalogError) as info:
        load_catalog(catalogo)
    assert str(info.value).startswith(message), info.value


@pytest.mark.parametrize(("tabla", "message"), [
    ('{ X = "4" }', "'X' no es un TIPO_CASILLA"),
    ('{ S = "04" }', "S = '04' debe ser un texto de uno o dos caracteres"),
    ('{ S = 4 }', "S = 4 debe ser un texto"),
    ('"S4"', "debe ser una tabla"),
])
def test_a_bad_tipo_acta_casilla_is_refused(catalogo: Path, tabla: str, message: str) -> None:
    toml = TOML.replace('{ S = "4", U = "7", M = "10" }', tabla)
    (catalogo / "catalogo.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(catalogo)
    assert str(info.value).startswith("catalogo.toml: elección 01: tipo_acta_casilla")
    assert message in str(info.value)


# --------------------------------------------------------------------- the generated one


def test_generated_catalog_exercises_every_new_case(small: Catalog, small_dir: Path) -> None:
    tipos = Counter(c.tipo for c in small.casillas)
    assert (tipos["U"], tipos["A"], tipos["M"]) == (1, 1, 1)
    traslados = Counter(c.traslado for c in small.casillas)
    assert set(traslados) == {"E", "F", "I", "D", None}
    assert traslados[None] == 2  # the mesas of voto anticipado and extranjero
    for c in small.casillas:
        if c.tipo in "AM":
            assert c.ubicacion == 0 and c.traslado is None
    (mesa,) = (c for c in small.casillas if c.tipo == "M")
    assert [a.eleccion.codigo for a in small.actas_de_casilla(mesa)] == ["01"]
    for e in small.elecciones:
        tipo_acta = {a.casilla.tipo: a.tipo_acta for a in small.actas(e)}
        assert len({tipo_acta["B"], tipo_acta["S"], tipo_acta["U"], tipo_acta["A"]}) == 4
        assert tipo_acta["B"] == tipo_acta["C"] == tipo_acta["E"] == e.tipo_acta
    # A distrito can span two alcaldías, as in CDMX.
    demarcaciones = defaultdict(set)
    for c in small.casillas:
        demarcaciones[c.distrito_id].add(c.demarcacion_id)
    assert any(len(d) == 2 for d in demarcaciones.values())
    header = rows_of(small_dir / "casillas.csv")[0]
    assert header[-2:] == ["MECANISMOS_TRASLADO", "ELECCIONES"]
    assert load_catalog(small_dir) == small


def test_rural_casillas_get_the_crt_and_dat_mechanisms_more_often(full: Catalog) -> None:
    por_ubicacion: dict[int, Counter[str | None]] = defaultdict(Counter)
    for c in full.casillas:
        por_ubicacion[c.ubicacion][c.traslado] += 1
    urbanas, rurales = por_ubicacion[1], por_ubicacion[2]
    assert urbanas["E"] / urbanas.total() > 0.75 > rurales["E"] / rurales.total()
    assert rurales["I"] > 0 and urbanas["I"] == 0  # CRyT itinerantes only in rural areas


@pytest.fixture(scope="module")
def full() -> Catalog:
    from prep.catalog import generate_catalog
    return generate_catalog(2027, 1.0)
