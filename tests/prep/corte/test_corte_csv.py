"""The published corte package, checked line by line against DOMAIN.md ("Publication")."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import subprocess
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Demarcacion
from prep.catalog.model import Distrito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte import package
from prep.corte.anexo import format_corte_time
from prep.corte.anexo import format_time
from prep.corte.anexo import plain_csv_lines
from prep.corte.anexo import time_formatter
from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.corte.package import build_corte_files
from prep.corte.package import write_corte
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import resumen_desde_filas
from prep.corte.summary import percentage
from prep.rules import CausaSinActa
from prep.values import Captura
from prep.values import Marca
from prep.values import format_valor

MX = ZoneInfo("America/Mexico_City")
BOM = b"\xef\xbb\xbf"

# Lines 4 and 7 exactly as DOMAIN.md writes them.
LINE_4 = ("ACTAS_ESPERADAS,ACTAS_REGISTRADAS,ACTAS_FUERA_CATALOGO,ACTAS_CAPTURADAS,"
          "PORCENTAJE_ACTAS_CAPTURADAS,ACTAS_CONTABILIZADAS,PORCENTAJE_ACTAS_CONTABILIZADAS,"
          "PORCENTAJE_ACTAS_INCONSISTENCIAS,ACTAS_NO_CONTABILIZADAS,"
          "LISTA_NOMINAL_ACTAS_CONTABILIZADAS,TOTAL_VOTOS_C_CS,TOTAL_VOTOS_S_CS,"
          "PORCENTAJE_PARTICIPACION_CIUDADANA")
LINE_7 = ("CLAVE_CASILLA,CLAVE_ACTA,ID_ENTIDAD,ENTIDAD,ID_DISTRITO_LOCAL,DISTRITO_LOCAL,"
          "SECCION,ID_CASILLA,TIPO_CASILLA,EXT_CONTIGUA,UBICACION_CASILLA,TIPO_ACTA,"
          "TOTAL_BOLETAS_SOBRANTES,TOTAL_PERSONAS_VOTARON,TOTAL_REP_PARTIDO_CI_VOTARON,"
          "TOTAL_VOTOS_SACADOS,<asociaciones...>,NO_REGISTRADAS,NULOS,TOTAL_VOTOS_ASENTADO,"
          "TOTAL_VOTOS_CALCULADO,LISTA_NOMINAL,REPRESENTANTES_PP_CI,OBSERVACIONES,"
          "CONTABILIZADA,MECANISMOS_TRASLADO,CODIGO_INTEGRIDAD,FECHA_HORA_ACOPIO,"
          "FECHA_HORA_CAPTURA,FECHA_HORA_VERIFICACION,ORIGEN,DIGITALIZACION,TIPO_DOCUMENTO,"
          "COTEJADA")
PREVIOS = ("TOTAL_BOLETAS_SOBRANTES", "TOTAL_PERSONAS_VOTARON",
           "TOTAL_REP_PARTIDO_CI_VOTARON", "TOTAL_VOTOS_SACADOS")
IL, SD = Marca.ILEGIBLE, Marca.SIN_DATO


def partido(clave: str) -> Asociacion:
    return Asociacion(clave, f"Partido {clave}", TipoAsociacion.PARTIDO, (clave,))


JG = Eleccion("01", "JEFATURA DE GOBIERNO", "1", Ambito.ENTIDAD, (
    partido("PAN"), partido("PRI"), partido("MORENA"),
    Asociacion("PAN_PRI", "Va por la CDMX (PAN-PRI)", TipoAsociacion.COALICION,
               ("PAN", "PRI")),
))
#: Diputaciones by distrito: the independent candidate competes only in distrito 2.
DIP = Eleccion("02", "DIPUTACIONES LOCALES MR", "2", Ambito.DISTRITO, (
    partido("PAN"), partido("MORENA"),
    Asociacion("CAND_IND_1", "Candidatura independiente 1", TipoAsociacion.INDEPENDIENTE,
               (), frozenset({2})),
))


def casilla(distrito: int, seccion: int, tipo: str, id_: int, ext: int, ln: int, rep: int,
            boletas: int = 0) -> Casilla:
    return Casilla(9, distrito, distrito, seccion, tipo, id_, ext, ln, rep, boletas,
                   1 if distrito == 1 else 2)


C1 = casilla(1, 10, "B", 1, 0, 100, 2)
C2 = casilla(1, 10, "C", 1, 0, 200, 3)
C7 = casilla(1, 10, "C", 2, 0, 150, 2)
C3 = casilla(1, 11, "B", 1, 0, 300, 2)
C4 = casilla(1, 11, "S", 1, 0, 0, 2, boletas=50)
C5 = casilla(2, 5, "B", 1, 0, 400, 2)
C6 = casilla(2, 5, "E", 1, 1, 250, 2)
ORDER = (C1, C2, C7, C3, C4, C5, C6)  # distrito, sección, tipo, id, ext

CATALOG = Catalog(
    entidad_id=9, entidad="CIUDAD DE MÉXICO", fecha_eleccion="2027-06-06",
    demarcaciones=(Demarcacion(1, "COYOACÁN"), Demarcacion(2, "TLALPAN")),
    # A cabecera with a comma must be quoted and still parse back.
    distritos=(Distrito(1, "COYOACÁN", 1), Distrito(2, "TLALPAN, SUR", 2)),
    casillas=(C6, C4, C3, C7, C5, C1, C2),  # deliberately not in publication order
    elecciones=(JG, DIP),
)

CORTE = datetime(2027, 6, 7, 14, 5, tzinfo=UTC)  # 08:05 in Mexico City
T_ACOPIO = datetime(2027, 6, 7, 2, 3, 4, tzinfo=UTC)  # 06/06/2027 20:03:04 local
T_ACOPIO_2 = datetime(2027, 6, 7, 2, 3, 59, tzinfo=UTC)  # same minute, other second
T_CAPTURA = datetime(2027, 6, 7, 2, 30, 59, tzinfo=UTC)  # 06/06/2027 20:30:59
T_VERIF = datetime(2027, 6, 7, 6, 0, 0, tzinfo=UTC)  # 07/06/2027 00:00:00
SHA = hashlib.sha256(b"imagen del acta").hexdigest()


def cap(eleccion: Eleccion, c: Casilla, votos: dict[str, int | Marca],
        previos: tuple[int, int, int, int] = (5, 60, 1, 60), asentado: int = 60) -> Captura:
    values: dict[str, int | Marca] = {**dict(zip(PREVIOS, previos, strict=True)), **votos,
                                      "TOTAL_VOTOS_ASENTADO": asentado}
    campos = eleccion.campos_aplicables(c)
    assert set(values) == set(campos)
    return Captura.of({k: values[k] for k in campos})


def jg(pan: int | Marca, pri: int | Marca, morena: int | Marca, pan_pri: int | Marca,
       nr: int | Marca, nulos: int | Marca, c: Casilla) -> Captura:
    return cap(JG, c, {"PAN": pan, "PRI": pri, "MORENA": morena, "PAN_PRI": pan_pri,
                       "NO_REGISTRADAS": nr, "NULOS": nulos})


def k(c: Casilla, e: Eleccion) -> str:
    return c.clave + e.codigo


ESTADO: dict[str, ActaEnCorte] = {
    # JEFATURA DE GOBIERNO
    k(C1, JG): ActaEnCorte(k(C1, JG), acopio=T_ACOPIO, captura=jg(10, 20, 30, 2, 1, 2, C1),
                           fecha_captura=T_CAPTURA, origen=Origen.CATD,
                           digitalizacion=Digitalizacion.ESCANER, sha256=SHA),
    k(C2, JG): ActaEnCorte(k(C2, JG), acopio=T_ACOPIO, captura=jg(50, IL, 50, SD, 0, 0, C2),
                           fecha_captura=T_CAPTURA, fecha_verificacion=T_VERIF,
                           origen=Origen.CASILLA, digitalizacion=Digitalizacion.MOVIL,
                           sha256=SHA),
    k(C7, JG): ActaEnCorte(k(C7, JG), acopio=T_ACOPIO_2),  # received, not captured
    k(C3, JG): ActaEnCorte(k(C3, JG), acopio=T_ACOPIO_2,
                           captura=jg(100, 100, 100, 0, 0, 3, C3), fecha_captura=T_CAPTURA,
                           origen=Origen.CATD, digitalizacion=Digitalizacion.ESCANER),
    k(C4, JG): ActaEnCorte(k(C4, JG), acopio=T_ACOPIO, captura=jg(10, 10, 15, 0, 0, 5, C4),
                           fecha_captura=T_CAPTURA, origen=Origen.CATD,
                           digitalizacion=Digitalizacion.ESCANER),
    k(C5, JG): ActaEnCorte(k(C5, JG), acopio=T_ACOPIO,
                           causa_sin_acta=CausaSinActa.CASILLA_NO_INSTALADA),
    # C6: nothing yet.
    # DIPUTACIONES: CAND_IND_1 competes only in distrito 2 (C5, C6).
    k(C1, DIP): ActaEnCorte(k(C1, DIP), acopio=T_ACOPIO, fecha_captura=T_CAPTURA,
                            captura=cap(DIP, C1, {"PAN": 7, "MORENA": 8, "NO_REGISTRADAS": 0,
                                                  "NULOS": 1})),
    k(C5, DIP): ActaEnCorte(k(C5, DIP), acopio=T_ACOPIO, fecha_captura=T_CAPTURA,
                            captura=cap(DIP, C5, {"PAN": 7, "MORENA": 8, "CAND_IND_1": 9,
                                                  "NO_REGISTRADAS": 0, "NULOS": 1})),
    k(C2, DIP): ActaEnCorte(k(C2, DIP), acopio=T_ACOPIO,
                            causa_sin_acta=CausaSinActa.PAQUETE_NO_ENTREGADO),
}
FUERA = [FueraDeCatalogo("099999B010001", "01", T_ACOPIO)]


def local(t: datetime) -> str:
    return t.astimezone(MX).strftime("%d/%m/%Y %H:%M:%S")


def lines_of(data: bytes) -> list[str]:
    """The file's lines, split on CRLF only; the file must end with CRLF."""
    assert data.startswith(BOM)
    text = data[len(BOM):].decode("utf-8")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")
    assert lines.pop() == ""
    for n, line in enumerate(lines, start=1):
        assert "\n" not in line and "\r" not in line, f"line {n} has a bare CR or LF"
    return lines


def parse(line: str) -> list[str]:
    return next(csv.reader([line], strict=True))


@pytest.fixture
def corte_dir(tmp_path: Path) -> Path:
    escrito = write_corte(tmp_path / "publicacion", CATALOG, ESTADO, FUERA, CORTE)
    assert escrito.path == tmp_path / "publicacion" / "20270607_0805"
    return escrito.path


def rows_by_casilla(data: bytes) -> tuple[list[str], dict[str, dict[str, str]], list[
        dict[str, str]]]:
    lines = lines_of(data)
    header = parse(lines[6])
    rows = [dict(zip(header, parse(line), strict=True)) for line in lines[7:]]
    by = {r["CLAVE_CASILLA"]: r for r in rows if r["CLAVE_CASILLA"] != "-"}
    return lines, by, rows


# --- files of the package -------------------------------------------------------------------

def test_corte_files(corte_dir: Path) -> None:
    assert sorted(p.name for p in corte_dir.iterdir()) == [
        "DIPUTACIONES_LOCALES_MR.csv", "DIPUTACIONES_LOCALES_MR_CANDIDATURAS.csv",
        "JEFATURA_DE_GOBIERNO.csv", "JEFATURA_DE_GOBIERNO_CANDIDATURAS.csv", "LEEME.txt",
        "MANIFIESTO.sha256"]
    assert [p.name for p in corte_dir.parent.iterdir()] == ["20270607_0805"]


# --- the election CSV, line by line ---------------------------------------------------------

def test_header_lines(corte_dir: Path) -> None:
    data = (corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes()
    assert data[:3] == BOM
    assert data[3:6] != BOM
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
    lines = lines_of(data)
    assert lines[0] == "JEFATURA DE GOBIERNO"
    # The corte's time to the second: two cortes of one minute never claim one time.
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} \(UTC-6\)", lines[1])
    assert lines[1] == f"{CORTE.astimezone(MX):%d/%m/%Y %H:%M:%S} (UTC-6)"
    assert lines[1] == "07/06/2027 08:05:00 (UTC-6)"
    assert lines[2] == ""
    assert lines[3] == LINE_4
    # 7 actas, 5 capturadas (incl. sin acta), 1 fuera, 3 contabilizadas (C1, C2, C4),
    # 3 inconsistencias (C2, C3 excede, C5 sin acta); LN 100 + 200 + 0; votes 65 + 100 + 40.
    assert lines[4] == "7,6,1,5,71.4285,3,42.8571,42.8571,2,300,205,165,55.0000"
    assert lines[5] == ""
    assert lines[6] == LINE_7.replace("<asociaciones...>", "PAN,PRI,MORENA,PAN_PRI")
    assert len(lines) == 7 + 7 + 1


def test_line_7_per_election(corte_dir: Path) -> None:
    lines = lines_of((corte_dir / "DIPUTACIONES_LOCALES_MR.csv").read_bytes())
    assert lines[0] == "DIPUTACIONES LOCALES MR"
    assert lines[6] == LINE_7.replace("<asociaciones...>", "PAN,MORENA,CAND_IND_1")


@pytest.mark.parametrize("name", ["JEFATURA_DE_GOBIERNO.csv", "DIPUTACIONES_LOCALES_MR.csv"])
def test_rows_sorted_and_fuera_last(corte_dir: Path, name: str) -> None:
    _, _, rows = rows_by_casilla((corte_dir / name).read_bytes())
    catalog_rows = [r for r in rows if r["CLAVE_CASILLA"] != "-"]
    assert [r["CLAVE_CASILLA"] for r in catalog_rows] == [f"'{c.clave}'" for c in ORDER]
    tipo = {"B": 0, "C": 1, "E": 2, "S": 3}
    keys = [(int(r["ID_DISTRITO_LOCAL"]), int(r["SECCION"]), tipo[r["TIPO_CASILLA"]],
             int(r["ID_CASILLA"]), int(r["EXT_CONTIGUA"])) for r in catalog_rows]
    assert keys == sorted(keys)
    fuera = rows[len(catalog_rows):]
    assert all(r["CLAVE_CASILLA"] != "-" for r in rows[:len(catalog_rows)])
    expected_fuera = 1 if name.startswith("JEFATURA") else 0
    assert len(fuera) == expected_fuera
    for r in fuera:
        # What was read: the code as read and the entidad it names; '-' for the rest
        # (no casilla of the catalog: CLAVE_CASILLA '-').
        assert (r["CLAVE_CASILLA"], r["CLAVE_ACTA"]) == ("-", "'099999B010001'")
        assert (r["ID_ENTIDAD"], r["ENTIDAD"]) == ("9", "CIUDAD DE MÉXICO")
        for col in LINE_7.split(",")[4:12]:
            assert r[col] == "-", col
        assert r["OBSERVACIONES"] == "Fuera de catálogo"
        assert r["FECHA_HORA_ACOPIO"] == local(T_ACOPIO)
        assert r["CONTABILIZADA"] != "1"


def test_clave_fields_quoted(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    for c in ORDER:
        r = by[f"'{c.clave}'"]
        assert r["CLAVE_ACTA"] == f"'{c.clave}01'"
        assert re.fullmatch(r"'\d{6}[BCES]\d{4}'", r["CLAVE_CASILLA"])
        assert re.fullmatch(r"'\d{6}[BCES]\d{6}'", r["CLAVE_ACTA"])
    assert by["'090005E0101'"]["CLAVE_ACTA"] == "'090005E010101'"


def test_catalog_columns(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    for c in ORDER:
        r = by[f"'{c.clave}'"]
        assert int(r["ID_ENTIDAD"]) == 9
        assert r["ENTIDAD"] == "CIUDAD DE MÉXICO"
        assert int(r["ID_DISTRITO_LOCAL"]) == c.distrito_id
        assert r["DISTRITO_LOCAL"] == ("COYOACÁN" if c.distrito_id == 1 else "TLALPAN, SUR")
        assert int(r["SECCION"]) == c.seccion
        assert int(r["ID_CASILLA"]) == c.id_casilla
        assert r["TIPO_CASILLA"] == c.tipo
        assert int(r["EXT_CONTIGUA"]) == c.ext_contigua
        assert r["TIPO_ACTA"] == "1"
        assert r["LISTA_NOMINAL"] == str(c.lista_nominal)
        assert r["REPRESENTANTES_PP_CI"] == str(c.representantes)


def test_captured_row(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    r = by[f"'{C1.clave}'"]
    assert [r[c] for c in (*PREVIOS, "PAN", "PRI", "MORENA", "PAN_PRI", "NO_REGISTRADAS",
                           "NULOS", "TOTAL_VOTOS_ASENTADO")] == [
        "5", "60", "1", "60", "10", "20", "30", "2", "1", "2", "60"]
    assert r["TOTAL_VOTOS_CALCULADO"] == "65"
    assert r["OBSERVACIONES"] == "-"
    assert r["CONTABILIZADA"] == "1"
    assert r["CODIGO_INTEGRIDAD"] == SHA
    assert r["FECHA_HORA_ACOPIO"] == "06/06/2027 20:03:04" == local(T_ACOPIO)
    assert r["FECHA_HORA_CAPTURA"] == "06/06/2027 20:30:59" == local(T_CAPTURA)
    assert r["FECHA_HORA_VERIFICACION"] in ("-", "N/A")
    assert (r["ORIGEN"], r["DIGITALIZACION"]) == ("CATD", "Escáner")
    assert r["COTEJADA"] == "0"


def test_ilegible_sin_dato_row(corte_dir: Path) -> None:
    data = (corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes()
    lines, by, _ = rows_by_casilla(data)
    r = by[f"'{C2.clave}'"]
    assert (r["PAN"], r["PRI"], r["MORENA"], r["PAN_PRI"]) == (
        "50", "Ilegible", "50", "Sin dato")
    assert r["TOTAL_VOTOS_CALCULADO"] == "100"
    assert r["OBSERVACIONES"] == "Ilegible, Sin dato"
    assert r["CONTABILIZADA"] == "1"
    assert r["FECHA_HORA_VERIFICACION"] == "07/06/2027 00:00:00" == local(T_VERIF)
    assert (r["ORIGEN"], r["DIGITALIZACION"]) == ("CASILLA", "Móvil")
    raw = next(line for line in lines if line.startswith(f"'{C2.clave}'"))
    assert ',"Ilegible, Sin dato",' in raw
    assert ",Ilegible," in raw and ",Sin dato," in raw


def test_excede_and_especial_rows(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    r = by[f"'{C3.clave}'"]
    assert (r["TOTAL_VOTOS_CALCULADO"], r["OBSERVACIONES"], r["CONTABILIZADA"]) == (
        "303", "Excede Lista Nominal", "0")
    assert r["FECHA_HORA_ACOPIO"] == "06/06/2027 20:03:59"
    r = by[f"'{C4.clave}'"]
    assert (r["TIPO_CASILLA"], r["LISTA_NOMINAL"], r["TOTAL_VOTOS_CALCULADO"],
            r["OBSERVACIONES"], r["CONTABILIZADA"]) == ("S", "0", "40", "-", "1")


def test_sin_acta_row(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    r = by[f"'{C5.clave}'"]
    assert (r["OBSERVACIONES"], r["CONTABILIZADA"]) == ("Sin Acta por casilla no instalada",
                                                       "0")
    for col in (*PREVIOS, *JG.campos_voto, "TOTAL_VOTOS_ASENTADO", "TOTAL_VOTOS_CALCULADO"):
        assert r[col] in ("-", "N/A"), col
    assert r["FECHA_HORA_ACOPIO"] == local(T_ACOPIO)


def test_pending_rows_have_dashes(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    for c, acopio in ((C7, local(T_ACOPIO_2)), (C6, "-")):
        r = by[f"'{c.clave}'"]
        for col in (*JG.campos_captura, "TOTAL_VOTOS_CALCULADO", "OBSERVACIONES",
                    "CONTABILIZADA", "CODIGO_INTEGRIDAD", "FECHA_HORA_CAPTURA"):
            assert r[col] == "-", (c.clave, col)
        assert r["FECHA_HORA_ACOPIO"] == acopio
        assert r["LISTA_NOMINAL"] == str(c.lista_nominal)


def test_not_applicable_asociacion(corte_dir: Path) -> None:
    _, by, _ = rows_by_casilla((corte_dir / "DIPUTACIONES_LOCALES_MR.csv").read_bytes())
    # Distrito 1: the independent does not compete, whatever the acta's state.
    for c in (C1, C2, C7, C3, C4):
        assert by[f"'{c.clave}'"]["CAND_IND_1"] == "N/A", c.clave
    assert by[f"'{C1.clave}'"]["PAN"] == "7"
    assert by[f"'{C1.clave}'"]["TOTAL_VOTOS_CALCULADO"] == "16"
    assert by[f"'{C1.clave}'"]["OBSERVACIONES"] == "-"  # N/A is not Sin dato
    assert by[f"'{C3.clave}'"]["PAN"] == "-"  # pending, competes
    # Distrito 2: it competes.
    assert by[f"'{C5.clave}'"]["CAND_IND_1"] == "9"
    assert by[f"'{C5.clave}'"]["TOTAL_VOTOS_CALCULADO"] == "25"
    assert by[f"'{C6.clave}'"]["CAND_IND_1"] == "-"
    assert by[f"'{C2.clave}'"]["OBSERVACIONES"] == "Sin Acta por paquete no entregado"
    # The same casilla in JEFATURA DE GOBIERNO (entidad-wide) has no N/A vote field.
    _, by_jg, _ = rows_by_casilla((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    for c in ORDER:
        assert all(by_jg[f"'{c.clave}'"][col] != "N/A" for col in JG.campos_voto)


def test_reader_accepts_our_output(corte_dir: Path) -> None:
    for name in ("JEFATURA_DE_GOBIERNO.csv", "DIPUTACIONES_LOCALES_MR.csv"):
        parsed = read_eleccion_csv((corte_dir / name).read_bytes())
        assert parsed.resumen == resumen_desde_filas(parsed)
    parsed = read_eleccion_csv((corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes())
    assert parsed.eleccion == "JEFATURA DE GOBIERNO"
    assert parsed.corte == "07/06/2027 08:05:00 (UTC-6)"
    assert ",".join(parsed.columnas) == LINE_7.replace("<asociaciones...>",
                                                       "PAN,PRI,MORENA,PAN_PRI")


# --- times ----------------------------------------------------------------------------------

@pytest.mark.parametrize("utc, expected", [
    (datetime(2027, 6, 7, 2, 3, 4, tzinfo=UTC), "06/06/2027 20:03:04"),
    (datetime(2027, 1, 1, 5, 59, 59, tzinfo=UTC), "31/12/2026 23:59:59"),
    (datetime(2024, 6, 3, 0, 0, 0, tzinfo=UTC), "02/06/2024 18:00:00"),
    # Mexico City still had daylight saving time in 2021 (UTC-5 in June).
    (datetime(2021, 6, 6, 23, 0, 0, tzinfo=UTC), "06/06/2021 18:00:00"),
    (datetime(2027, 6, 7, 8, 0, 0, tzinfo=ZoneInfo("America/Mexico_City")),
     "07/06/2027 08:00:00"),
])
def test_format_time(utc: datetime, expected: str) -> None:
    assert format_time(utc) == expected
    assert time_formatter()(utc) == expected


def test_format_time_missing_and_naive() -> None:
    assert format_time(None) == "-"
    with pytest.raises(ValueError):
        format_time(datetime(2027, 6, 7, 2, 3, 4))


def test_format_corte_time() -> None:
    assert format_corte_time(datetime(2027, 6, 7, 2, 0, tzinfo=UTC)) == (
        "06/06/2027 20:00:00 (UTC-6)")
    assert package.corte_dirname(datetime(2027, 6, 7, 2, 0, tzinfo=UTC)) == "20270606_2000"


@settings(max_examples=60)
@given(st.lists(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                             timezones=st.just(UTC)), min_size=1, max_size=20))
def test_memoized_time_formatter_matches_format_time(times: list[datetime]) -> None:
    fmt = time_formatter()
    for t in times:
        for u in (t, t + timedelta(seconds=1), t - timedelta(seconds=59)):
            assert fmt(u) == format_time(u) == local(u)


# --- random corte round trip ----------------------------------------------------------------

RULE_LABELS = {
    CausaSinActa.PAQUETE_NO_ENTREGADO: "Sin Acta por paquete no entregado",
    CausaSinActa.CASILLA_NO_INSTALADA: "Sin Acta por casilla no instalada",
    CausaSinActa.PAQUETE_SIN_SOBRE: "Sin Acta por paquete entregado sin sobre",
    CausaSinActa.CONTINGENCIA_URNA_ELECTRONICA: "Sin Acta por contingencia en urna electrónica",
}


def oracle(eleccion: Eleccion, c: Casilla, captura: Captura) -> tuple[int, str, bool]:
    """DOMAIN.md's rules, written independently of prep.rules."""
    votos = [captura[f] for f in eleccion.campos_voto if f in captura]
    numeros = [v for v in votos if not isinstance(v, Marca)]
    total = sum(numeros)
    ilegible = any(v == IL for v in votos)
    sin_dato = any(v == SD for v in votos)
    if votos and not numeros:
        if not sin_dato:
            return total, "Todos los campos ilegibles", False
        if not ilegible:
            return total, "Todos los campos vacíos", False
        return total, "Todos los campos ilegibles o sin dato", False
    ceiling = c.boletas if c.tipo == "S" else c.lista_nominal + c.representantes
    parts = []
    if total > ceiling:
        parts.append("Excede Lista Nominal")
    if ilegible:
        parts.append("Ilegible")
    if sin_dato:
        parts.append("Sin dato")
    return total, ", ".join(parts), total <= ceiling


valor = st.one_of(st.integers(0, 40), st.integers(0, 9999), st.sampled_from([IL, SD]))
instantes = st.datetimes(min_value=datetime(2027, 6, 7), max_value=datetime(2027, 6, 8),
                         timezones=st.just(UTC))


@st.composite
def cortes(draw: st.DrawFn) -> tuple[dict[str, ActaEnCorte], list[FueraDeCatalogo]]:
    estado: dict[str, ActaEnCorte] = {}
    for e in CATALOG.elecciones:
        for acta in CATALOG.actas(e):
            kind = draw(st.sampled_from(["nada", "acopio", "sin_acta", "captura", "captura"]))
            if kind == "nada":
                continue
            acopio = draw(instantes)
            if kind == "acopio":
                estado[acta.clave] = ActaEnCorte(acta.clave, acopio=acopio)
            elif kind == "sin_acta":
                estado[acta.clave] = ActaEnCorte(
                    acta.clave, acopio=acopio,
                    causa_sin_acta=draw(st.sampled_from(list(CausaSinActa))))
            else:
                campos = e.campos_aplicables(acta.casilla)
                values = draw(st.lists(valor, min_size=len(campos), max_size=len(campos)))
                estado[acta.clave] = ActaEnCorte(
                    acta.clave, acopio=acopio, captura=Captura(campos, tuple(values)),
                    fecha_captura=draw(instantes),
                    fecha_verificacion=draw(st.none() | instantes),
                    origen=draw(st.sampled_from(list(Origen))),
                    digitalizacion=draw(st.sampled_from(list(Digitalizacion))),
                    sha256=draw(st.none() | st.just(SHA)),
                    cotejada=draw(st.booleans()))
    fuera = draw(st.lists(st.builds(FueraDeCatalogo, st.just("099999B010001"),
                                    st.sampled_from(["01", "02", ""]), instantes),
                          max_size=3))
    return estado, fuera


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cortes())
def test_random_corte_round_trip(data: tuple[dict[str, ActaEnCorte],
                                             list[FueraDeCatalogo]]) -> None:
    estado, fuera = data
    files, _ = build_corte_files(CATALOG, estado, fuera, CORTE)
    for e, name in ((JG, "JEFATURA_DE_GOBIERNO.csv"), (DIP, "DIPUTACIONES_LOCALES_MR.csv")):
        parsed = read_eleccion_csv(files[name])
        assert parsed.eleccion == e.nombre
        actas = CATALOG.actas(e)
        # Those of no known election («No se sabe») are in every election's file.
        mine = [f for f in fuera if f.eleccion in (e.codigo, "")]
        n_fuera = len(mine)
        assert len(parsed.filas) == len(actas) + n_fuera
        capturadas = contab = incons = lista = c_cs = s_cs = 0
        for acta, fila in zip(actas, parsed.filas, strict=False):
            c = acta.casilla
            assert fila["CLAVE_ACTA"] == f"'{acta.clave}'"
            aplicables = e.campos_aplicables(c)
            est = estado.get(acta.clave)
            assert fila["FECHA_HORA_ACOPIO"] == (local(est.acopio) if est and est.acopio
                                                 else "-")
            if est is not None and est.captura is not None:
                for campo in e.campos_captura:
                    expected = (format_valor(est.captura[campo]) if campo in aplicables
                                else "N/A")
                    assert fila[campo] == expected, (acta.clave, campo)
                total, obs, counted = oracle(e, c, est.captura)
                assert fila["TOTAL_VOTOS_CALCULADO"] == str(total)
                assert fila["OBSERVACIONES"] == (obs or "-")
                assert fila["CONTABILIZADA"] == ("1" if counted else "0")
                assert fila["FECHA_HORA_CAPTURA"] == local(est.fecha_captura)  # type: ignore[arg-type]
                assert fila["CODIGO_INTEGRIDAD"] == (est.sha256 or "-")
                assert fila["COTEJADA"] == ("1" if est.cotejada else "0")
                capturadas += 1
                incons += bool(obs)
                if counted:
                    contab += 1
                    lista += c.lista_nominal
                    c_cs += total
                    s_cs += 0 if c.especial else total
            elif est is not None and est.causa_sin_acta is not None:
                for campo in e.campos_captura:
                    assert fila[campo] == ("-" if campo in aplicables else "N/A")
                assert fila["OBSERVACIONES"] == RULE_LABELS[est.causa_sin_acta]
                assert fila["CONTABILIZADA"] == "0"
                capturadas += 1
                incons += 1
            else:
                for campo in e.campos_captura:
                    assert fila[campo] == ("-" if campo in aplicables else "N/A")
                assert (fila["OBSERVACIONES"], fila["CONTABILIZADA"]) == ("-", "-")
        for fila, f in zip(parsed.filas[len(actas):], mine, strict=True):
            assert fila["CLAVE_CASILLA"] == "-"
            assert fila["CLAVE_ACTA"] == f"'{f.codigo_leido}'"
            assert fila["OBSERVACIONES"] == ("Fuera de catálogo" if f.eleccion else
                                             "Fuera de catálogo, Elección no identificada")
        assert parsed.resumen == resumen_desde_filas(parsed)
        esperadas = len(actas)
        assert parsed.resumen == {
            "ACTAS_ESPERADAS": str(esperadas),
            "ACTAS_REGISTRADAS": str(capturadas + n_fuera),
            "ACTAS_FUERA_CATALOGO": str(n_fuera),
            "ACTAS_CAPTURADAS": str(capturadas),
            "PORCENTAJE_ACTAS_CAPTURADAS": percentage(capturadas, esperadas),
            "ACTAS_CONTABILIZADAS": str(contab),
            "PORCENTAJE_ACTAS_CONTABILIZADAS": percentage(contab, esperadas),
            "PORCENTAJE_ACTAS_INCONSISTENCIAS": percentage(incons, esperadas),
            "ACTAS_NO_CONTABILIZADAS": str(capturadas - contab),
            "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": str(lista),
            "TOTAL_VOTOS_C_CS": str(c_cs),
            "TOTAL_VOTOS_S_CS": str(s_cs),
            "PORCENTAJE_PARTICIPACION_CIUDADANA": percentage(s_cs, lista),
        }


# --- manifest -------------------------------------------------------------------------------

def test_manifest_lists_every_file_with_its_sha256(corte_dir: Path) -> None:
    lines = (corte_dir / "MANIFIESTO.sha256").read_text(encoding="ascii").splitlines()
    listed = {}
    for line in lines:
        m = re.fullmatch(r"([0-9a-f]{64})  (\S+)", line)
        assert m, line
        listed[m.group(2)] = m.group(1)
    others = {p.name for p in corte_dir.iterdir()} - {"MANIFIESTO.sha256"}
    assert set(listed) == others
    for name, digest in listed.items():
        assert hashlib.sha256((corte_dir / name).read_bytes()).hexdigest() == digest
    done = subprocess.run(["sha256sum", "--strict", "-c", "MANIFIESTO.sha256"],
                          cwd=corte_dir, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(others)


def test_manifest_detects_a_changed_byte(corte_dir: Path) -> None:
    target = corte_dir / "JEFATURA_DE_GOBIERNO.csv"
    data = bytearray(target.read_bytes())
    i = data.index(b",10,20,30,")
    data[i + 1] = ord("9")  # PAN 10 → 90
    target.write_bytes(bytes(data))
    done = subprocess.run(["sha256sum", "-c", "MANIFIESTO.sha256"], cwd=corte_dir,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "JEFATURA_DE_GOBIERNO.csv: FAILED" in done.stdout
    assert "DIPUTACIONES_LOCALES_MR.csv: OK" in done.stdout


# --- atomic publication ---------------------------------------------------------------------

def test_published_corte_is_never_overwritten(tmp_path: Path) -> None:
    pub = tmp_path / "publicacion"
    first = write_corte(pub, CATALOG, ESTADO, FUERA, CORTE)
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    with pytest.raises(FileExistsError):
        write_corte(pub, CATALOG, {}, [], CORTE + timedelta(seconds=30))  # same minute
    assert [p.name for p in pub.iterdir()] == ["20270607_0805"]
    assert {p.name: p.read_bytes() for p in first.path.iterdir()} == before
    # The next minute is another corte.
    second = write_corte(pub, CATALOG, {}, [], CORTE + timedelta(minutes=1))
    assert sorted(p.name for p in pub.iterdir()) == ["20270607_0805", "20270607_0806"]
    assert second.path.name == "20270607_0806"


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = package._write_synced
    calls = []

    def failing(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(package, "_write_synced", failing)
    pub = tmp_path / "publicacion"
    with pytest.raises(OSError, match="No space left"):
        write_corte(pub, CATALOG, ESTADO, FUERA, CORTE)
    assert len(calls) == 3
    assert list(pub.iterdir()) == []
    # And once the disk is fine again, the same corte can be published.
    monkeypatch.setattr(package, "_write_synced", real)
    escrito = write_corte(pub, CATALOG, ESTADO, FUERA, CORTE)
    assert [p.name for p in pub.iterdir()] == [escrito.path.name]


# --- LEEME ----------------------------------------------------------------------------------

def test_leeme_describes_every_column(corte_dir: Path) -> None:
    leeme = (corte_dir / "LEEME.txt").read_text(encoding="utf-8")
    described = set(re.findall(r"^\s+([A-Z][A-Z0-9_]*): \S", leeme, flags=re.MULTILINE))
    for name in ("JEFATURA_DE_GOBIERNO.csv", "DIPUTACIONES_LOCALES_MR.csv"):
        lines = lines_of((corte_dir / name).read_bytes())
        for col in (*parse(lines[3]), *parse(lines[6])):
            assert col in described, f"{name}: {col} no está descrita en el LEEME"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=2, max_value=5).flatmap(lambda width: st.tuples(
    st.just(width), st.lists(st.lists(st.text(alphabet=st.sampled_from(
        ["1", "a", " ", ",", '"', "\r", "\n", "á", "-"]), max_size=4),
        min_size=width, max_size=width), max_size=6))))
def test_rows_joined_without_csv_are_the_bytes_csv_writes(case: tuple[int, list[list[str]]]
                                                          ) -> None:
    """The corte joins its CSV rows itself when no value needs quoting (speed); whatever
    the values, the text is the csv module's, quotes included."""
    width, rows = case
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    assert plain_csv_lines(rows, width) == expected.getvalue()


def test_rows_of_another_width_or_not_text_are_left_to_csv() -> None:
    assert plain_csv_lines([["1", "2"], ["1"]], 2) is None
    assert plain_csv_lines([["1", None]], 2) is None  # type: ignore[list-item]
    assert plain_csv_lines([[""]], 1) is None  # csv writes a lone empty value as ""
