"""The verdict's review of the published files (issue 28, «Show»): each check passes on a
crafted corte directory that is right and fails, with a Spanish reason that names the
file and the acta, on one that is wrong in the way the check is about. The drill's truth
itself only has possible sin-acta combinations and registers one acta of election
«No se sabe»; a real corte written from it passes the checks that need no other help."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog.model import Ambito
from prep.catalog.model import Eleccion
from prep.corte.model import FueraDeCatalogo
from prep.corte.package import slug
from prep.corte.package import write_corte
from prep.corte.site import demarcacion_file
from prep.corte.summary import RESUMEN_COLUMNS
from prep.rules import DEFAULT_RULES
from prep.sintetico.capturas import CASOS_DE_CASILLA
from prep.sintetico.capturas import simulate
from prep.sintetico.plan import make_plan
from prep.sintetico.plan import truth
from simulacro.revision import Publicado
from simulacro.revision import columnas_demarcacion
from simulacro.revision import documento_lleno
from simulacro.revision import forma_real
from simulacro.revision import fuera_de_catalogo
from simulacro.revision import marca_simulacro
from simulacro.revision import revisar
from simulacro.revision import sin_acta_por_casilla
from simulacro.revision import sitio_demarcacion
from simulacro.revision import traslado_lleno
from simulacro.revision import verificacion_llena

pytestmark = pytest.mark.rapido

CATALOG = generate_catalog(4, 0.005)
T = datetime(2027, 6, 7, 3, 0, tzinfo=UTC)
NO_INSTALADA = "Sin Acta por casilla no instalada"
FUERA = [FueraDeCatalogo("099999B0100" + e.codigo, e.codigo, T) for e in CATALOG.elecciones]
FUERA.append(FueraDeCatalogo("099998B010099", "", T))  # «No se sabe»
KEYS = ["CLAVE_CASILLA", "CLAVE_ACTA", "ID_DISTRITO_LOCAL", "DISTRITO_LOCAL"]
TAIL = ["TIPO_CASILLA", "TOTAL_VOTOS_CALCULADO", "OBSERVACIONES", "CONTABILIZADA",
        "MECANISMOS_TRASLADO", "CODIGO_INTEGRIDAD", "FECHA_HORA_VERIFICACION",
        "TIPO_DOCUMENTO"]


def _columns(eleccion: Eleccion) -> list[str]:
    dem = ["ID_DEMARCACION", "DEMARCACION"] if eleccion.ambito is Ambito.DEMARCACION else []
    return KEYS + dem + TAIL


def _write_csv(path: Path, lines: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(lines)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))


def _read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def _row(catalog: Catalog, eleccion: Eleccion, clave: str, sin_acta: bool) -> dict[str, str]:
    acta = catalog.acta(clave)
    assert acta is not None
    c = acta.casilla
    row = {"CLAVE_CASILLA": f"'{c.clave}'", "CLAVE_ACTA": f"'{clave}'",
           "ID_DISTRITO_LOCAL": str(c.distrito_id),
           "DISTRITO_LOCAL": catalog.distrito_por_id[c.distrito_id].cabecera,
           "ID_DEMARCACION": str(c.demarcacion_id),
           "DEMARCACION": catalog.demarcacion_por_id[c.demarcacion_id].nombre,
           "TIPO_CASILLA": c.tipo}
    if sin_acta:
        row.update(TOTAL_VOTOS_CALCULADO="-", OBSERVACIONES=NO_INSTALADA, CONTABILIZADA="0",
                   MECANISMOS_TRASLADO="N/A", CODIGO_INTEGRIDAD="N/A",
                   FECHA_HORA_VERIFICACION="N/A", TIPO_DOCUMENTO="N/A")
    else:
        row.update(TOTAL_VOTOS_CALCULADO="120", OBSERVACIONES="-", CONTABILIZADA="1",
                   MECANISMOS_TRASLADO="F", CODIGO_INTEGRIDAD="ab" * 32,
                   FECHA_HORA_VERIFICACION="06/06/2027 21:05:09", TIPO_DOCUMENTO="Acta PREP")
    return row


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A drill's último corte as the review wants it: one casilla not installed (all its
    actas), the rest captured, every fuera-de-catálogo registration in its files."""
    d = tmp_path / "20270607_0800"
    (d / "sitio").mkdir(parents=True)
    no_instalada = CATALOG.casillas_ordenadas[1].clave
    for e in CATALOG.elecciones:
        cols = _columns(e)
        filas = [[_row(CATALOG, e, a.clave, a.casilla.clave == no_instalada).get(c, "")
                  for c in cols] for a in CATALOG.actas(e)]
        mine = [f for f in FUERA if f.eleccion in (e.codigo, "")]
        filas += [["-"] * len(KEYS) + ["-"] * (len(cols) - len(KEYS) - len(TAIL))
                  + ["-", "-", "Fuera de catálogo", "0", "-", "-", "-", "-"] for _ in mine]
        resumen = ["0"] * len(RESUMEN_COLUMNS)
        resumen[RESUMEN_COLUMNS.index("ACTAS_FUERA_CATALOGO")] = str(len(mine))
        _write_csv(d / f"{slug(e.nombre)}.csv", [[f"SIMULACRO — {e.nombre}"],
                                                 ["07/06/2027 08:00 (UTC-6)"], [],
                                                 list(RESUMEN_COLUMNS), resumen, [], cols,
                                                 *filas])
        header = ["ID_ENTIDAD", "ENTIDAD", "ID_DEMARCACION", "DEMARCACION", "PARTIDO_CI"]
        _write_csv(d / f"{slug(e.nombre)}_CANDIDATURAS.csv", [
            [f"SIMULACRO — CANDIDATURAS DE {e.nombre}"], header,
            *[["9", CATALOG.entidad, str(m.id), m.nombre, "PAN"]
              for m in CATALOG.demarcaciones]])
        for m in {c.demarcacion_id for c in CATALOG.casillas}:
            path = d / demarcacion_file(e.codigo, m)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('PREP.recibir("x", {});\n', encoding="utf-8")
    (d / "LEEME.txt").write_text("SIMULACRO — LEEME\nDescripción\n", encoding="utf-8")
    (d / "MANIFIESTO.sha256").write_text("# SIMULACRO — Este corte es de un simulacro\n",
                                         encoding="utf-8")
    (d / "PREP_20270607_0800.zip").write_bytes(b"PK")
    (d / "sitio" / "index.html").write_text(
        "<html><head><title>SIMULACRO · PREP</title></head><body>\n"
        '<div id="aviso-simulacro">SIMULACRO</div><h1>PREP</h1><p>datos</p></body></html>',
        encoding="utf-8")
    return d


def _set(path: Path, clave: str, **cells: str) -> None:
    """Change cells of the acta row ``clave`` of an election CSV."""
    lines = _read_csv(path)
    cols = lines[6]
    for line in lines[7:]:
        if line[cols.index("CLAVE_ACTA")] == f"'{clave}'":
            for col, value in cells.items():
                line[cols.index(col)] = value
    _write_csv(path, lines)


def _csv(d: Path, eleccion: Eleccion) -> Path:
    return d / f"{slug(eleccion.nombre)}.csv"


def _captured(eleccion: Eleccion) -> str:
    return CATALOG.actas(eleccion)[0].clave


def test_a_right_corte_passes_every_check(good: Path) -> None:
    revisiones = revisar(good, CATALOG, DEFAULT_RULES, FUERA)
    assert [r.nombre for r in revisiones] == [
        "sin acta por casilla", "fuera de catálogo", "columnas de demarcación",
        "nivel de demarcación del sitio", "MECANISMOS_TRASLADO", "TIPO_DOCUMENTO",
        "FECHA_HORA_VERIFICACION", "marca SIMULACRO", "forma de la noche real"]
    assert {r.nombre: r.problemas for r in revisiones if not r.ok} == {}
    assert all(r.linea().startswith("  ✓ ") for r in revisiones)


def test_sin_acta_of_a_casilla_contradicted_by_another_actas_votes(good: Path) -> None:
    casilla = CATALOG.casillas_ordenadas[1]
    jg, dip = CATALOG.elecciones[:2]
    _set(_csv(good, dip), casilla.clave + dip.codigo, TOTAL_VOTOS_CALCULADO="80",
         OBSERVACIONES="-", CONTABILIZADA="1", CODIGO_INTEGRIDAD="cd" * 32)
    [problema] = sin_acta_por_casilla(Publicado(good, CATALOG), DEFAULT_RULES)
    assert problema == (f"casilla {casilla.clave}: el acta {casilla.clave + jg.codigo} dice "
                        f"«{NO_INSTALADA}» pero el acta {casilla.clave + dip.codigo} tiene "
                        "votos o imagen; esa causa vale para todas las actas de la casilla")
    [revision] = [r for r in revisar(good, CATALOG, DEFAULT_RULES, FUERA)
                  if r.nombre == "sin acta por casilla"]
    assert revision.linea().startswith("  ✗ sin acta por casilla: casilla ")


def test_sin_acta_of_a_casilla_with_another_cause(good: Path) -> None:
    casilla = CATALOG.casillas_ordenadas[1]
    alc = CATALOG.elecciones[-1]
    _set(_csv(good, alc), casilla.clave + alc.codigo,
         OBSERVACIONES="Sin Acta por paquete entregado sin sobre")
    [problema] = sin_acta_por_casilla(Publicado(good, CATALOG), DEFAULT_RULES)
    assert "tiene «Sin Acta por paquete entregado sin sobre»" in problema


def test_a_fuera_de_catalogo_registration_missing(good: Path) -> None:
    """The file of an election lost the row of election «No se sabe» (as before issue
    28, when it vanished from every file)."""
    e = CATALOG.elecciones[0]
    lines = _read_csv(_csv(good, e))
    _write_csv(_csv(good, e), lines[:-1])
    [problema] = fuera_de_catalogo(Publicado(good, CATALOG), FUERA)
    assert problema == (f"{slug(e.nombre)}.csv: 1 filas fuera de catálogo y "
                        "ACTAS_FUERA_CATALOGO 2, se registraron 2 (1 de elección «No se "
                        "sabe», que van en cada elección)")


def test_demarcacion_columns_missing_or_wrong(good: Path) -> None:
    alc = next(e for e in CATALOG.elecciones if e.ambito is Ambito.DEMARCACION)
    acta = CATALOG.actas(alc)[0]
    _set(_csv(good, alc), acta.clave, ID_DEMARCACION="99")
    [problema] = columnas_demarcacion(Publicado(good, CATALOG))
    assert problema.startswith(f"{slug(alc.nombre)}.csv: el acta {acta.clave} dice "
                               "demarcación 99")
    lines = _read_csv(_csv(good, alc))
    drop = [lines[6].index("ID_DEMARCACION"), lines[6].index("DEMARCACION")]
    _write_csv(_csv(good, alc), [line if i < 6 else [v for j, v in enumerate(line)
                                                     if j not in drop]
                                 for i, line in enumerate(lines)])
    [problema] = columnas_demarcacion(Publicado(good, CATALOG))
    assert problema == (f"{slug(alc.nombre)}.csv: la línea 7 no tiene ID_DEMARCACION,"
                        "DEMARCACION: no se puede leer el resultado de cada demarcación")


def test_demarcacion_columns_out_of_place_and_candidaturas(good: Path) -> None:
    alc = next(e for e in CATALOG.elecciones if e.ambito is Ambito.DEMARCACION)
    lines = _read_csv(_csv(good, alc))
    i = lines[6].index("ID_DEMARCACION")
    moved = [line[:i] + line[i + 2:] + line[i:i + 2] if n >= 6 and len(line) > i else line
             for n, line in enumerate(lines)]
    _write_csv(_csv(good, alc), moved)
    candidaturas = good / f"{slug(alc.nombre)}_CANDIDATURAS.csv"
    _write_csv(candidaturas, [["SIMULACRO — X"], ["ID_ENTIDAD", "ENTIDAD", "PARTIDO_CI"],
                              ["9", "CDMX", "PAN"]])
    assert columnas_demarcacion(Publicado(good, CATALOG)) == [
        f"{slug(alc.nombre)}.csv: ID_DEMARCACION,DEMARCACION no van justo después de las "
        "columnas del distrito",
        f"{slug(alc.nombre)}_CANDIDATURAS.csv: sin ID_DEMARCACION,DEMARCACION: las "
        "candidaturas no se pueden unir al resultado de cada demarcación"]


def test_site_without_a_demarcacion_level(good: Path) -> None:
    e = CATALOG.elecciones[1]
    m = min(c.demarcacion_id for c in CATALOG.casillas)
    (good / demarcacion_file(e.codigo, m)).unlink()
    [problema] = sitio_demarcacion(Publicado(good, CATALOG))
    assert problema == (f"el sitio no tiene el nivel de demarcación: falta "
                        f"{demarcacion_file(e.codigo, m)} ({e.nombre}, "
                        f"{CATALOG.demarcacion_por_id[m].nombre})")


@pytest.mark.parametrize(("check", "column", "placeholder", "reason"), [
    (lambda p: traslado_lleno(p, DEFAULT_RULES), "MECANISMOS_TRASLADO", "E",
     "tiene MECANISMOS_TRASLADO 'E'; se espera el código del mecanismo (D, F, I, N/A)"),
    (documento_lleno, "TIPO_DOCUMENTO", "-",
     "tiene TIPO_DOCUMENTO '-'; se espera 'Acta PREP' o 'Acta de Escrutinio y Cómputo'"),
    (verificacion_llena, "FECHA_HORA_VERIFICACION", "N/A",
     "tiene FECHA_HORA_VERIFICACION 'N/A'; se espera el momento en que se validó "
     "(dd/mm/aaaa hh:mm:ss)"),
])
def test_placeholder_columns(good: Path, check: Callable[[Publicado], list[str]],
                             column: str, placeholder: str, reason: str) -> None:
    e = CATALOG.elecciones[0]
    _set(_csv(good, e), _captured(e), **{column: placeholder})
    [problema] = check(Publicado(good, CATALOG))
    assert problema == f"{slug(e.nombre)}.csv: el acta {_captured(e)} {reason}"


def test_placeholders_everywhere_are_summarised(good: Path) -> None:
    """A column that is wrong in every row (as MECANISMOS_TRASLADO once was) gives a few
    examples and a count, not one line per acta."""
    e = CATALOG.elecciones[0]
    for acta in CATALOG.actas(e)[:6]:
        _set(_csv(good, e), acta.clave, MECANISMOS_TRASLADO="E")
    problemas = traslado_lleno(Publicado(good, CATALOG), DEFAULT_RULES)
    assert len(problemas) == 4 and problemas[-1].startswith("… y ")


def test_sin_sobre_needs_its_traslado(good: Path) -> None:
    e = CATALOG.elecciones[0]
    _set(_csv(good, e), _captured(e), TOTAL_VOTOS_CALCULADO="-", CONTABILIZADA="0",
         OBSERVACIONES="Sin Acta por paquete entregado sin sobre", MECANISMOS_TRASLADO="E")
    assert traslado_lleno(Publicado(good, CATALOG), DEFAULT_RULES)
    _set(_csv(good, e), _captured(e), MECANISMOS_TRASLADO="I")
    assert traslado_lleno(Publicado(good, CATALOG), DEFAULT_RULES) == []


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda d: _write_csv(_csv(d, CATALOG.elecciones[0]),
                          [[CATALOG.elecciones[0].nombre], *_read_csv(
                              _csv(d, CATALOG.elecciones[0]))[1:]]),
     f"{slug(CATALOG.elecciones[0].nombre)}.csv: la línea 1 no dice SIMULACRO"),
    (lambda d: (d / "LEEME.txt").write_text("LEEME\n", encoding="utf-8"),
     "LEEME.txt: la línea 1 no dice SIMULACRO"),
    (lambda d: (d / "MANIFIESTO.sha256").write_text("abc  X.csv\n", encoding="utf-8"),
     "MANIFIESTO.sha256: la línea 1 no dice SIMULACRO"),
    (lambda d: (d / "sitio" / "index.html").write_text(
        "<html><body><h1>PREP</h1><p>SIMULACRO</p></body></html>", encoding="utf-8"),
     "sitio/index.html: la página no abre con el aviso SIMULACRO"),
])
def test_simulacro_mark_missing(good: Path, damage: Callable[[Path], object],
                                reason: str) -> None:
    damage(good)
    assert marca_simulacro(good) == [reason]


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda d: (d / "PREP_20270607_0800.zip").rename(d / "PREP_SIMULACRO_20270607_0800.zip"),
     "el zip del corte debe llamarse PREP_20270607_0800.zip (hay: "
     "PREP_SIMULACRO_20270607_0800.zip)"),
    (lambda d: _write_csv(_csv(d, CATALOG.elecciones[0]).with_name(
        f"{slug(CATALOG.elecciones[0].nombre)}_CANDIDATURAS.csv"),
        [["SIMULACRO — AVISO"], ["SIMULACRO — CANDIDATURAS"], ["ID_ENTIDAD", "ENTIDAD"]]),
     f"{slug(CATALOG.elecciones[0].nombre)}_CANDIDATURAS.csv: el encabezado no está en la "
     "línea 2 tras una línea de título, como en los cortes de la noche"),
])
def test_a_drill_file_shaped_unlike_the_real_nights_fails(
        good: Path, damage: Callable[[Path], object], reason: str) -> None:
    assert forma_real(good) == []
    damage(good)
    assert forma_real(good) == [reason]


def test_an_unreadable_file_is_a_reason_not_a_crash(good: Path) -> None:
    e = CATALOG.elecciones[0]
    _csv(good, e).write_bytes(b"nada")
    revisiones = {r.nombre: r for r in revisar(good, CATALOG, DEFAULT_RULES, FUERA)}
    assert revisiones["sin acta por casilla"].problemas[0].startswith(
        f"{slug(e.nombre)}.csv: no se pudo leer")


# --- the drill's truth and a corte the real writer makes from it -----------------------

@pytest.mark.parametrize(("seed", "scale"), [(2027, 0.01), (11, 0.01), (5, 0.03)])
def test_the_drill_only_makes_possible_sin_acta_combinations(seed: int, scale: float) -> None:
    """Casilla no instalada / paquete no entregado: every acta of the casilla, the same
    cause, registered at the same moment, never pending; the drill's plan registers them
    all sin acta at their CATD, with one fuera-de-catálogo acta of election «No se sabe»."""
    catalog = generate_catalog(seed, scale)
    sim = truth(catalog, seed)
    casos = {caso: 0 for caso in CASOS_DE_CASILLA}
    for casilla in catalog.casillas:
        actas = [a for e in catalog.elecciones
                 if (a := casilla.clave + e.codigo) in catalog.actas_por_clave]
        de_casilla = {sim.casos[a] for a in actas} & set(CASOS_DE_CASILLA)
        if de_casilla:
            assert {sim.casos[a] for a in actas} == de_casilla, casilla.clave
            assert len({sim.estado[a].acopio for a in actas}) == 1
            casos[de_casilla.pop()] += 1
    assert all(n >= 1 for n in casos.values()), casos  # each forced at least once
    assert [f.eleccion for f in sim.fuera].count("") == 1
    plan = make_plan(catalog, seed, 3, 0.03)
    sin = {ll.clave: ll for p in plan.estaciones for ll in p.llegadas if ll.tipo == "sin_acta"}
    for clave, caso in sim.casos.items():
        if caso in CASOS_DE_CASILLA:
            assert sin[clave].causa == ("casilla_no_instalada" if "instalada" in caso.value
                                        else "paquete_no_entregado")
    assert any(ll.tipo == "fuera" and ll.eleccion == "" for p in plan.estaciones
               for ll in p.llegadas)


def test_a_corte_of_the_simulation_passes_the_sin_acta_and_fuera_checks(
        tmp_path: Path) -> None:
    catalog = generate_catalog(2027, 0.01)
    sim = simulate(catalog, 2027, T, pendientes=0.05)
    escrito = write_corte(tmp_path, catalog, sim.estado, sim.fuera, T)
    pub = Publicado(escrito.path, catalog)
    assert sin_acta_por_casilla(pub, DEFAULT_RULES) == []
    assert fuera_de_catalogo(pub, sim.fuera) == []
    # Each election's file counts the one of election «No se sabe».
    assert fuera_de_catalogo(pub, [f for f in sim.fuera if f.eleccion]) != []
    shutil.rmtree(escrito.path)
