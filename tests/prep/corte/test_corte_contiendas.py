"""Issue 28, as a reviewer reads the published files: an election decided per demarcación
says which contest each row counts for, its candidaturas join to the results, and the
columns that were placeholders (MECANISMOS_TRASLADO, TIPO_ACTA, UBICACION_CASILLA) say
what happened to each casilla, including especiales, urnas electrónicas and the mesas of
voto anticipado and en el extranjero. Every check parses the real files with csv."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Candidatura
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Demarcacion
from prep.catalog.model import Distrito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.corte.package import write_corte
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import resumen_desde_filas
from prep.rules import CausaSinActa
from prep.values import Captura

pytestmark = pytest.mark.rapido

CORTE = datetime(2027, 6, 7, 14, 5, tzinfo=UTC)
ACOPIO = datetime(2027, 6, 7, 2, 3, 4, tzinfo=UTC)
CAPTURA = datetime(2027, 6, 7, 2, 30, 59, tzinfo=UTC)
SHA = "ab" * 32

# Line 7 up to the first captured field, as a reviewer expects it per election.
KEYS = ("CLAVE_CASILLA,CLAVE_ACTA,ID_ENTIDAD,ENTIDAD,ID_DISTRITO_LOCAL,DISTRITO_LOCAL,"
        "SECCION,ID_CASILLA,TIPO_CASILLA,EXT_CONTIGUA,UBICACION_CASILLA,TIPO_ACTA,"
        "TOTAL_BOLETAS_SOBRANTES")
KEYS_DEMARCACION = ("CLAVE_CASILLA,CLAVE_ACTA,ID_ENTIDAD,ENTIDAD,ID_DISTRITO_LOCAL,"
                    "DISTRITO_LOCAL,ID_DEMARCACION,DEMARCACION,SECCION,ID_CASILLA,"
                    "TIPO_CASILLA,EXT_CONTIGUA,UBICACION_CASILLA,TIPO_ACTA,"
                    "TOTAL_BOLETAS_SOBRANTES")


def partido(clave: str) -> Asociacion:
    return Asociacion(clave, f"Partido {clave}", TipoAsociacion.PARTIDO, (clave,))


def tipos_acta(base: int) -> tuple[tuple[str, str], ...]:
    return (("S", str(base + 3)), ("A", str(base + 9)), ("M", str(base + 9)),
            ("U", str(base + 6)))


JG = Eleccion("01", "JEFATURA DE GOBIERNO", "1", Ambito.ENTIDAD,
              (partido("PAN"), partido("MORENA")), tipos_acta(1))
DIP = Eleccion("02", "DIPUTACIONES LOCALES MR", "2", Ambito.DISTRITO,
               (partido("PAN"), partido("MORENA")), tipos_acta(2))
#: An independent runs in Tlalpan only.
ALC = Eleccion("03", "ALCALDÍAS", "3", Ambito.DEMARCACION,
               (partido("PAN"), partido("MORENA"),
                Asociacion("CAND_IND_1", "Candidatura independiente 1",
                           TipoAsociacion.INDEPENDIENTE, (), frozenset({2}))), tipos_acta(3))


def casilla(distrito: int, dem: int, seccion: int, tipo: str, ln: int = 300,
            traslado: str | None = None, ubicacion: int = 1,
            elecciones: frozenset[str] | None = None) -> Casilla:
    return Casilla(9, distrito, dem, seccion, tipo, 1, 0, ln, 2,
                   750 if tipo == "S" else 0, ubicacion, traslado, elecciones)


# Distrito 1 (cabecera Coyoacán) spans Coyoacán (secciones 10, 11) and Tlalpan (12).
B10 = casilla(1, 1, 10, "B", traslado="F")
S10 = casilla(1, 1, 10, "S", ln=0)
B12 = casilla(1, 2, 12, "B", traslado="I", ubicacion=2)
U12 = casilla(1, 2, 12, "U")
B11 = casilla(1, 1, 11, "B")  # no mechanism approved: delivered directly (E)
A11 = casilla(1, 1, 11, "A", ln=40, ubicacion=0)
M11 = casilla(1, 1, 11, "M", ln=500, ubicacion=0, elecciones=frozenset({"01"}))
B20 = casilla(2, 2, 20, "B", traslado="D", ubicacion=2)

CATALOG = Catalog(
    entidad_id=9, entidad="CIUDAD DE MÉXICO", fecha_eleccion="2027-06-06",
    demarcaciones=(Demarcacion(1, "COYOACÁN"), Demarcacion(2, "TLALPAN")),
    distritos=(Distrito(1, "COYOACÁN", 1), Distrito(2, "TLALPAN", 2)),
    casillas=(B10, S10, B12, U12, B11, A11, M11, B20),
    elecciones=(JG, DIP, ALC),
    candidaturas=(
        Candidatura("01", 0, "PAN", "Ana Pérez López", ""),
        Candidatura("01", 0, "MORENA", "Luis Ruiz Reyes", ""),
        Candidatura("02", 1, "PAN", "María Gómez Ortiz", "Elena Torres Ríos"),
        Candidatura("02", 2, "MORENA", "Jorge Flores Cruz", "Raúl Juárez Díaz"),
        Candidatura("03", 1, "PAN", "Claudia Reyes Vega", ""),
        Candidatura("03", 1, "MORENA", "Héctor Ramírez Paz", ""),
        Candidatura("03", 2, "MORENA", "Daniela Aguilar Mora", ""),
        Candidatura("03", 2, "CAND_IND_1", "Fernando Mendoza Gil", ""),
    ),
)


def votos(e: Eleccion, c: Casilla, **v: int) -> Captura:
    campos = e.campos_aplicables(c)
    valores = {"TOTAL_BOLETAS_SOBRANTES": 10, "TOTAL_PERSONAS_VOTARON": 30,
               "TOTAL_REP_PARTIDO_CI_VOTARON": 0, "TOTAL_VOTOS_SACADOS": 30,
               "NO_REGISTRADAS": 0, "NULOS": 1, "TOTAL_VOTOS_ASENTADO": 30, **v}
    return Captura.of({k: valores.get(k, 0) for k in campos})


def capturada(e: Eleccion, c: Casilla, traslado: str | None = None, **v: int) -> ActaEnCorte:
    clave = c.clave + e.codigo
    return ActaEnCorte(clave, acopio=ACOPIO, captura=votos(e, c, **v), fecha_captura=CAPTURA,
                       origen=Origen.CATD, digitalizacion=Digitalizacion.ESCANER,
                       sha256=SHA, traslado=traslado)


def sin_acta(e: Eleccion, c: Casilla, causa: CausaSinActa) -> ActaEnCorte:
    return ActaEnCorte(c.clave + e.codigo, acopio=ACOPIO, causa_sin_acta=causa)


ESTADO = {a.clave: a for a in (
    capturada(JG, B10, PAN=20, MORENA=9),
    capturada(JG, S10, PAN=5, MORENA=5),
    capturada(JG, B12, traslado="D", PAN=3, MORENA=26),  # the acopio saw another mechanism
    sin_acta(JG, U12, CausaSinActa.CONTINGENCIA_URNA_ELECTRONICA),
    ActaEnCorte(B11.clave + "01", acopio=ACOPIO),  # received, not captured yet
    capturada(JG, A11, PAN=2, MORENA=3),
    capturada(JG, M11, PAN=100, MORENA=200),
    sin_acta(JG, B20, CausaSinActa.CASILLA_NO_INSTALADA),
    capturada(ALC, B10, PAN=11, MORENA=18),
    capturada(ALC, B12, PAN=4, MORENA=10, CAND_IND_1=15),
    capturada(ALC, U12, PAN=1, MORENA=2, CAND_IND_1=3),
    sin_acta(ALC, B20, CausaSinActa.PAQUETE_NO_ENTREGADO),
    sin_acta(ALC, B11, CausaSinActa.PAQUETE_SIN_SOBRE),
)}
FUERA = [FueraDeCatalogo("099999B010003", "03", ACOPIO)]


@pytest.fixture(scope="module")
def corte(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corte(tmp_path_factory.mktemp("pub"), CATALOG, ESTADO, FUERA, CORTE).path


def lines(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def table(path: Path) -> list[list[str]]:
    """A candidaturas file's header and rows, after its title line."""
    titulo, *rest = lines(path)
    assert len(titulo) == 1 and titulo[0].startswith("CANDIDATURAS DE "), titulo
    return rest


def rows(path: Path) -> dict[str, dict[str, str]]:
    """Line 7 as the header of every later line, by CLAVE_ACTA ('-' for the fuera de
    catálogo one: CLAVE_CASILLA '-', its CLAVE_ACTA the code as read)."""
    all_lines = lines(path)
    return {"-" if r[0] == "-" else r[1].strip("'"): dict(zip(all_lines[6], r, strict=True))
            for r in all_lines[7:]}


# --- ID_DEMARCACION, DEMARCACION -----------------------------------------------------------

def test_only_the_per_demarcacion_election_carries_the_demarcacion_columns(
        corte: Path) -> None:
    alcaldias = lines(corte / "ALCALDIAS.csv")[6]
    assert ",".join(alcaldias).startswith(KEYS_DEMARCACION)
    assert alcaldias.index("ID_DEMARCACION") == alcaldias.index("DISTRITO_LOCAL") + 1
    for name in ("JEFATURA_DE_GOBIERNO.csv", "DIPUTACIONES_LOCALES_MR.csv"):
        header = lines(corte / name)[6]
        assert ",".join(header).startswith(KEYS), name
        assert "ID_DEMARCACION" not in header and "DEMARCACION" not in header


def test_each_row_says_its_contest_even_where_a_distrito_spans_two(corte: Path) -> None:
    filas = rows(corte / "ALCALDIAS.csv")
    contest = {c: (f["ID_DISTRITO_LOCAL"], f["ID_DEMARCACION"], f["DEMARCACION"])
               for c, f in filas.items() if c != "-"}
    assert contest == {
        B10.clave + "03": ("1", "1", "COYOACÁN"), S10.clave + "03": ("1", "1", "COYOACÁN"),
        B11.clave + "03": ("1", "1", "COYOACÁN"), A11.clave + "03": ("1", "1", "COYOACÁN"),
        B12.clave + "03": ("1", "2", "TLALPAN"), U12.clave + "03": ("1", "2", "TLALPAN"),
        B20.clave + "03": ("2", "2", "TLALPAN")}
    # The independent of Tlalpan has votes there and does not apply in Coyoacán.
    assert filas[B12.clave + "03"]["CAND_IND_1"] == "15"
    assert filas[B10.clave + "03"]["CAND_IND_1"] == "N/A"
    # Per contest sums, as a reader makes them from the file alone.
    suma: dict[str, int] = {}
    for f in filas.values():
        if f["CONTABILIZADA"] == "1":
            suma[f["DEMARCACION"]] = suma.get(f["DEMARCACION"], 0) + int(f["MORENA"])
    assert suma == {"COYOACÁN": 18, "TLALPAN": 12}
    fuera = filas["-"]
    assert fuera["ID_DEMARCACION"] == fuera["DEMARCACION"] == "-"
    assert fuera["OBSERVACIONES"].startswith("Fuera de catálogo")


def test_the_reader_and_the_summary_follow_the_new_layout(corte: Path) -> None:
    for name in ("ALCALDIAS.csv", "JEFATURA_DE_GOBIERNO.csv"):
        parsed = read_eleccion_csv((corte / name).read_bytes())
        assert parsed.resumen == resumen_desde_filas(parsed)
    alcaldias = read_eleccion_csv((corte / "ALCALDIAS.csv").read_bytes())
    assert alcaldias.resumen["ACTAS_ESPERADAS"] == "7"  # no mesa de extranjero here
    assert alcaldias.resumen["ACTAS_CONTABILIZADAS"] == "3"


# --- candidaturas ---------------------------------------------------------------------------

def test_candidaturas_of_the_entity_wide_election_name_each_column_once(corte: Path) -> None:
    header, *filas = table(corte / "JEFATURA_DE_GOBIERNO_CANDIDATURAS.csv")
    assert header == ["ID_ENTIDAD", "ENTIDAD", "PARTIDO_CI", "CANDIDATURA_PROPIETARIA",
                      "CANDIDATURA_SUPLENTE"]
    assert filas == [["9", "CIUDAD DE MÉXICO", "MORENA", "Luis Ruiz Reyes", ""],
                     ["9", "CIUDAD DE MÉXICO", "PAN", "Ana Pérez López", ""]]


def test_candidaturas_per_contest_join_to_the_results(corte: Path) -> None:
    header, *filas = table(corte / "ALCALDIAS_CANDIDATURAS.csv")
    assert header == ["ID_ENTIDAD", "ENTIDAD", "ID_DEMARCACION", "DEMARCACION", "PARTIDO_CI",
                      "CANDIDATURA_PROPIETARIA", "CANDIDATURA_SUPLENTE"]
    candidatos = {(f[2], f[4]): f[5] for f in filas}
    assert all(f[3] == {"1": "COYOACÁN", "2": "TLALPAN"}[f[2]] for f in filas)
    # Every vote of a party or independent in a counted row has its candidate, by the
    # same names: ID_DEMARCACION and the column name.
    resultados = rows(corte / "ALCALDIAS.csv")
    unidos = set()
    for fila in resultados.values():
        if fila["CONTABILIZADA"] != "1":
            continue
        for columna in ("PAN", "MORENA", "CAND_IND_1"):
            if fila[columna] not in ("0", "N/A") and (fila["ID_DEMARCACION"], columna) \
                    in candidatos:
                unidos.add(candidatos[(fila["ID_DEMARCACION"], columna)])
    assert unidos == {"Claudia Reyes Vega", "Héctor Ramírez Paz", "Daniela Aguilar Mora",
                      "Fernando Mendoza Gil"}
    distrito = table(corte / "DIPUTACIONES_LOCALES_MR_CANDIDATURAS.csv")
    assert distrito[0][2:4] == ["ID_DISTRITO_LOCAL", "DISTRITO_LOCAL"]
    assert distrito[1][:5] == ["9", "CIUDAD DE MÉXICO", "1", "COYOACÁN", "PAN"]


# --- MECANISMOS_TRASLADO, TIPO_ACTA, UBICACION_CASILLA ---------------------------------------

def test_mecanismos_traslado(corte: Path) -> None:
    jg = rows(corte / "JEFATURA_DE_GOBIERNO.csv")
    alc = rows(corte / "ALCALDIAS.csv")
    traslado = {clave: f["MECANISMOS_TRASLADO"] for clave, f in (*jg.items(), *alc.items())}
    assert traslado[B10.clave + "01"] == "F"  # the catalog's default
    # No mechanism approved: delivered directly (the institute's own code E), published
    # in Anexo 18.5's domain, which has no code for it: N/A (issue 61).
    assert traslado[S10.clave + "01"] == "N/A"
    assert traslado[B12.clave + "01"] == "D"  # the acopio recorded another one
    assert traslado[B12.clave + "03"] == "I"
    assert traslado[B11.clave + "01"] == "N/A"  # received, data not published yet
    assert traslado[U12.clave + "01"] == "N/A"  # contingencia: the paquete did arrive
    assert traslado[B11.clave + "03"] == "N/A"  # paquete sin sobre: it arrived
    assert "E" not in traslado.values()
    assert traslado[B20.clave + "01"] == "N/A"  # casilla no instalada: no paquete
    assert traslado[B20.clave + "03"] == "N/A"  # paquete no entregado
    assert traslado[A11.clave + "01"] == traslado[M11.clave + "01"] == "N/A"  # counted at the sede
    assert traslado[A11.clave + "03"] == "-"  # nothing received yet
    assert traslado["-"] == "-"


def test_tipo_acta_per_tipo_de_casilla_and_ubicacion(corte: Path) -> None:
    jg = rows(corte / "JEFATURA_DE_GOBIERNO.csv")
    alc = rows(corte / "ALCALDIAS.csv")
    assert {c.tipo: jg[c.clave + "01"]["TIPO_ACTA"] for c in CATALOG.casillas} == {
        "B": "1", "S": "4", "U": "7", "A": "10", "M": "10"}
    assert {c.tipo: alc[c.clave + "03"]["TIPO_ACTA"] for c in CATALOG.casillas
            if c.tipo != "M"} == {"B": "3", "S": "6", "U": "9", "A": "12"}
    assert jg[A11.clave + "01"]["UBICACION_CASILLA"] == "N/A"
    assert jg[M11.clave + "01"]["UBICACION_CASILLA"] == "N/A"
    assert jg[B12.clave + "01"]["UBICACION_CASILLA"] == "2"
    assert jg[M11.clave + "01"]["LISTA_NOMINAL"] == "500"
    assert jg[M11.clave + "01"]["CONTABILIZADA"] == "1"


def test_contingencia_en_urna_electronica_is_published_sin_acta(corte: Path) -> None:
    fila = rows(corte / "JEFATURA_DE_GOBIERNO.csv")[U12.clave + "01"]
    assert fila["TIPO_CASILLA"] == "U"
    assert (fila["OBSERVACIONES"], fila["CONTABILIZADA"]) == (
        "Sin Acta por contingencia en urna electrónica", "0")
    assert fila["CODIGO_INTEGRIDAD"] == fila["TIPO_DOCUMENTO"] == "N/A"


def test_the_mesa_de_extranjero_has_actas_only_of_its_elections(corte: Path) -> None:
    assert M11.clave + "01" in rows(corte / "JEFATURA_DE_GOBIERNO.csv")
    for name in ("DIPUTACIONES_LOCALES_MR.csv", "ALCALDIAS.csv"):
        assert not any(clave.startswith(M11.clave) for clave in rows(corte / name))


# --- LEEME ----------------------------------------------------------------------------------

def test_leeme_gives_line_numbers_codes_and_candidaturas(corte: Path) -> None:
    leeme = (corte / "LEEME.txt").read_text(encoding="utf-8")
    assert "- Línea 7: encabezado de las filas de actas." in leeme
    assert "- Línea 8 en adelante: una fila por acta" in leeme
    assert "Línea 7 en adelante" not in leeme
    assert ("  MECANISMOS_TRASLADO: F Centro de Recepción y Traslado (CRyT) fijo; "
            "I Centro de Recepción y Traslado (CRyT) itinerante; D Dispositivo de Apoyo "
            "para el Traslado") in leeme
    assert "E Entrega directa" in leeme
    assert "    JEFATURA DE GOBIERNO: 1 (casillas B, C, E, P); 4 (especial, S);" in leeme
    assert "7 (urna electrónica, U)" in leeme
    assert "«Sin Acta por contingencia en urna electrónica»" in leeme
    assert "«Acta PREP»" in leeme
    for column in ("PARTIDO_CI", "CANDIDATURA_PROPIETARIA", "CANDIDATURA_SUPLENTE"):
        assert f"\n  {column}: " in leeme
    assert "por ID_DEMARCACION y PARTIDO_CI" in leeme
    assert ("FECHA_HORA_VERIFICACION: Fecha y hora en que los datos del acta quedaron "
            "validados para su publicación") in leeme
    for coded in ("TIPO_CASILLA", "EXT_CONTIGUA", "UBICACION_CASILLA", "TIPO_ACTA",
                  "CONTABILIZADA", "ORIGEN", "DIGITALIZACION", "TIPO_DOCUMENTO", "COTEJADA",
                  "OBSERVACIONES"):
        assert f"\n  {coded}" in leeme.split("Valores de las columnas codificadas:")[1], coded
    assert "ALCALDÍAS (código 03) se decide por demarcación" in leeme
