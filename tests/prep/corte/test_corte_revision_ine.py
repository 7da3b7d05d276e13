"""What an INE review (COTAPREP, Anexo 13 / 18.5) checks in a published corte, each
tampered and refused by ``prep verify-corte`` where the files alone can tell: no
participación over 100 % (the entity's último corte counts the casillas especiales, no
territory below it does), the files say which corte they are, the site counts the actas
per OBSERVACIONES as the CSV does, and a fuera-de-catálogo row says what was read."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from central.publication.publicar import publish
from central.publication.snapshot import Snapshot
from prep.catalog import generate_catalog
from prep.corte.anexo import es_fuera
from prep.corte.package import MANIFEST
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import resumen_desde_filas
from prep.corte.site_datos import data_file
from prep.corte.site_datos import parse_data_file
from prep.corte.summary import percentage
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after

KEY = SigningKey.generate()
CSV = "JEFATURA_DE_GOBIERNO.csv"


@pytest.fixture(scope="module")
def ultimo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The último corte of a small simulated night whose casillas especiales voted."""
    base = tmp_path_factory.mktemp("ultimo")
    catalog = generate_catalog(7, 0.02)
    corte = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 7, corte, pendientes=0.0)
    snap = Snapshot(corte, 1, catalog, dict(sim.estado), tuple(sim.fuera), {})
    return publish(base / "publicacion", snap, KEY, blobs=None, anterior=None,
                   ultimo_corte=True).path


@pytest.fixture
def corte(ultimo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(ultimo, tmp_path / ultimo.name))


def _datos(corte: Path, ruta: str) -> dict[str, Any]:
    found = parse_data_file((corte / "sitio" / "datos" / f"{ruta}.js").read_bytes())
    datos: dict[str, Any] = found[1]
    return datos


def _por_distrito(corte: Path) -> dict[int, tuple[str, str, bool]]:
    """distrito → (participación sin especiales, con ellas, holds a counted especial with
    votes), from the CSV rows."""
    sumas: dict[int, list[int]] = {}
    for fila in read_eleccion_csv((corte / CSV).read_bytes()).filas:
        # A mesa's (SECCION N/A) counts in the entity alone in Jefatura de Gobierno.
        if es_fuera(fila) or fila["CONTABILIZADA"] != "1" or fila["SECCION"] == "N/A":
            continue
        s = sumas.setdefault(int(fila["ID_DISTRITO_LOCAL"]), [0, 0, 0])
        votos = int(fila["TOTAL_VOTOS_CALCULADO"])
        s[1] += votos
        s[2] += int(fila["LISTA_NOMINAL"])
        if fila["TIPO_CASILLA"] != "S":
            s[0] += votos
    return {d: (percentage(s, ln), percentage(c, ln), c != s)
            for d, (s, c, ln) in sumas.items()}


def test_below_the_entity_the_ultimo_corte_never_counts_especiales(ultimo: Path) -> None:
    esperado = _por_distrito(ultimo)
    assert any(con for _, _, con in esperado.values()), "no especial voted: nothing to see"
    for distrito, (sin, con, _) in esperado.items():
        resumen = _datos(ultimo, f"e01/d{distrito:03d}")["resumen"]
        assert resumen[-1] == sin, (distrito, resumen[-1], sin, con)
    # The entity keeps INE's rule, and line 2 says which corte this is and why.
    lines = (ultimo / CSV).read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1].endswith(" — ÚLTIMO CORTE (participación de la entidad con casillas "
                             "especiales)")
    parsed = read_eleccion_csv((ultimo / CSV).read_bytes())
    assert parsed.resumen["PORCENTAJE_PARTICIPACION_CIUDADANA"] == percentage(
        int(parsed.resumen["TOTAL_VOTOS_C_CS"]),
        int(parsed.resumen["LISTA_NOMINAL_ACTAS_CONTABILIZADAS"]))
    indice = _datos(ultimo, "indice")
    assert indice["ultimo_corte"] is True
    assert "casillas especiales" in indice["nota_participacion"]
    assert "Último corte" in (ultimo / "sitio" / "index.html").read_text(encoding="utf-8")
    leeme = (ultimo / "LEEME.txt").read_text(encoding="utf-8")
    assert "ÚLTIMO CORTE" in leeme.splitlines()[0]
    assert verify_corte(ultimo).ok


def _resign(corte: Path, name: str, data: bytes) -> None:
    (corte / name).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    lines = (corte / MANIFEST).read_text(encoding="utf-8").splitlines(keepends=True)
    manifest = "".join(f"{digest}  {name}\n" if line.endswith(f"  {name}\n") else line
                       for line in lines).encode("utf-8")
    (corte / MANIFEST).write_bytes(manifest)
    (corte / f"{MANIFEST}.sig").write_bytes(KEY.sign(manifest))


def test_verify_corte_rejects_a_site_participacion_over_100(corte: Path) -> None:
    """A central that divided a distrito's votes with especiales (re-signed: every hash
    and the signature fine) is caught from the files alone."""
    ruta = "e01/d001"
    datos = _datos(corte, ruta)
    datos["resumen"][-1] = "106.0501"
    _resign(corte, f"sitio/datos/{ruta}.js", data_file(ruta, datos))
    result = verify_corte(corte)
    assert f"sitio/datos/{ruta}.js: la participación ciudadana de la entidad es 106.0501 %, " \
        "más de 100 %" in result.problemas, result.problemas


def test_verify_corte_rejects_rows_whose_seccion_passes_100(corte: Path) -> None:
    """Rows that make a sección's participación pass 100 % (its lista nominal published
    lower than its votes, the summary recomputed to match) are reported by territory."""
    text = (corte / CSV).read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    cols = lines[6].split(",")
    col = {c: cols.index(c) for c in ("CONTABILIZADA", "TIPO_CASILLA", "SECCION",
                                      "TOTAL_VOTOS_CALCULADO", "LISTA_NOMINAL")}
    contadas = [(n, line.split(",")) for n, line in enumerate(lines[7:], start=7)
                if line.count(",") == len(cols) - 1]
    contadas = [(n, r) for n, r in contadas
                if r[col["CONTABILIZADA"]] == "1" and r[col["TIPO_CASILLA"]] != "S"
                and r[col["SECCION"]] != "N/A"]  # a mesa is in no sección
    por_seccion: dict[str, list[int]] = {}
    for _, r in contadas:
        suma = por_seccion.setdefault(r[col["SECCION"]], [0, 0])
        suma[0] += int(r[col["TOTAL_VOTOS_CALCULADO"]])
        suma[1] += int(r[col["LISTA_NOMINAL"]])
    # The lista nominal of one acta lowered just enough for its sección to pass 100 %.
    i, row, nueva = next(
        (n, r, nueva) for n, r in contadas
        if (nueva := int(r[col["LISTA_NOMINAL"]])
            - (por_seccion[r[col["SECCION"]]][1] - por_seccion[r[col["SECCION"]]][0])
            - 1) >= 0)
    antes = int(row[col["LISTA_NOMINAL"]])
    row[col["LISTA_NOMINAL"]] = str(nueva)
    lines[i] = ",".join(row)
    resumen = lines[4].split(",")
    lista = int(resumen[9]) - antes + nueva
    resumen[9] = str(lista)
    resumen[12] = percentage(int(resumen[10]), lista)
    lines[4] = ",".join(resumen)
    _resign(corte, CSV, ("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    problemas = verify_corte(corte).problemas
    seccion = row[cols.index("SECCION")]
    assert any(p.startswith(f"{CSV}: la participación ciudadana de sección {seccion} sería ")
               and p.endswith("más de 100 %") for p in problemas), problemas


def test_a_line_5_over_100_is_rejected_even_when_the_rows_agree(corte: Path) -> None:
    text = (corte / CSV).read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    resumen = lines[4].split(",")
    resumen[12] = "100.0001"
    lines[4] = ",".join(resumen)
    _resign(corte, CSV, ("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    assert f"{CSV}: la participación ciudadana de la entidad (línea 5) es 100.0001 %, más " \
        "de 100 %" in verify_corte(corte).problemas


def test_line_2_gives_the_corte_s_time_to_the_second(ultimo: Path) -> None:
    """Line 2 gives the corte's time to the second (that two cortes never claim one time
    is tests/central/publication/test_publication_package.py's, on a real central)."""
    line2 = (ultimo / CSV).read_bytes().decode("utf-8-sig").split("\r\n")[1]
    fecha, hora = line2.split(" ")[:2]
    assert len(fecha) == 10 and len(hora) == 8 and hora.count(":") == 2, line2


def test_the_site_counts_actas_per_observacion_as_the_csv_and_verify_checks_it(
        corte: Path) -> None:
    """The count behind PORCENTAJE_ACTAS_INCONSISTENCIAS, per OBSERVACIONES value, is
    published on the site; a count the CSV rows do not give is caught."""
    parsed = read_eleccion_csv((corte / CSV).read_bytes())
    esperado: dict[str, int] = {}
    for fila in parsed.filas:
        if not es_fuera(fila) and fila["OBSERVACIONES"] != "-":
            esperado[fila["OBSERVACIONES"]] = esperado.get(fila["OBSERVACIONES"], 0) + 1
    datos = _datos(corte, "e01")
    assert {v: n for v, n in datos["observaciones"]} == esperado and esperado
    assert verify_corte(corte).ok
    datos["observaciones"][0][1] += 1
    _resign(corte, "sitio/datos/e01.js", data_file("e01", datos))
    problemas = verify_corte(corte).problemas
    assert any(p.startswith("sitio/datos/e01.js: las actas por observación") for p in problemas)


def test_a_fuera_de_catalogo_row_says_what_was_read(ultimo: Path) -> None:
    parsed = read_eleccion_csv((ultimo / CSV).read_bytes())
    fuera = [f for f in parsed.filas if es_fuera(f)]
    assert fuera
    for fila in fuera:
        assert fila["CLAVE_CASILLA"] == "-"
        assert fila["CLAVE_ACTA"].startswith("'09") and fila["CLAVE_ACTA"].endswith("'")
        assert (fila["ID_ENTIDAD"], fila["ENTIDAD"]) == ("9", "CIUDAD DE MÉXICO")
        assert fila["FECHA_HORA_ACOPIO"] != "-"
        assert fila["OBSERVACIONES"].startswith("Fuera de catálogo")


def _candidaturas(corte: Path, nombre: str) -> tuple[list[str], list[list[str]]]:
    lines = (corte / nombre).read_bytes().decode("utf-8-sig").split("\r\n")
    return lines[:2], [line.split(",") for line in lines[2:] if line]


def test_verify_corte_rejects_a_coalition_with_two_persons_or_a_suplente_too_many(
        corte: Path) -> None:
    """Jefatura de Gobierno: the parties of a coalition name one person, and the office has
    no suplente. A candidaturas file that breaks either (re-signed) is not a valid corte."""
    nombre = "JEFATURA_DE_GOBIERNO_CANDIDATURAS.csv"
    head, rows = _candidaturas(corte, nombre)
    assert head[1].split(",")[-3:] == ["PARTIDO_CI", "CANDIDATURA_PROPIETARIA",
                                       "CANDIDATURA_SUPLENTE"]
    coalicion = next(a for a in _datos(corte, "e01")["asociaciones"]
                     if len(a["partidos"]) > 1)
    personas = {r[-3]: r[-2] for r in rows}
    assert len({personas[p] for p in coalicion["partidos"]}) == 1  # as generated
    assert all(r[-1] == "" for r in rows)
    assert verify_corte(corte).ok
    otro = next(r for r in rows if r[-3] == coalicion["partidos"][-1])
    otro[-2], otro[-1] = "Otra Persona Distinta", "Alguien Suplente"
    _resign(corte, nombre, ("\ufeff" + "\r\n".join(
        [*head, *(",".join(r) for r in rows), ""])).encode("utf-8"))
    problemas = verify_corte(corte).problemas
    assert any(p.startswith(f"{nombre}: la coalición {coalicion['clave']} registra a más de "
                            "una persona") for p in problemas), problemas
    assert f"{nombre}: {otro[-3]} tiene suplente ('Alguien Suplente') aunque el cargo no " \
        "tiene suplente" in problemas


# Mesas de voto anticipado, prisión preventiva and en el extranjero (DOMAIN.md: they
# belong to no sección; INE publishes N/A for it and for the fields they do not have).
MESA = {"A", "P", "M"}
SIN_MESA = ("SECCION", "REPRESENTANTES_PP_CI", "TOTAL_BOLETAS_SOBRANTES",
            "TOTAL_REP_PARTIDO_CI_VOTARON")


def _csvs(corte: Path) -> dict[str, Any]:
    return {p.name: read_eleccion_csv(p.read_bytes()) for p in sorted(corte.glob("*.csv"))
            if p.name not in ("HISTORIAL.csv", "AVANCE_CATD.csv", "DIFUSORES.csv")
            and not p.name.endswith("_CANDIDATURAS.csv")}


def test_a_mesa_is_published_in_no_seccion_without_boletas_nor_representantes(
        ultimo: Path) -> None:
    mesas = 0
    for name, parsed in _csvs(ultimo).items():
        for fila in parsed.filas:
            if es_fuera(fila):
                continue
            if fila["TIPO_CASILLA"] in MESA:
                mesas += 1
                assert [fila[c] for c in SIN_MESA] == ["N/A"] * 4, (name, fila)
                assert fila["ID_DISTRITO_LOCAL"].isdigit()  # the CATD that counts it
                if fila["CONTABILIZADA"] == "1":
                    assert fila["TOTAL_PERSONAS_VOTARON"].isdigit(), fila
            else:
                assert fila["SECCION"].isdigit() and fila["REPRESENTANTES_PP_CI"].isdigit()
    assert mesas, "the catalog has no mesa: nothing to see"
    assert verify_corte(ultimo).ok


def test_a_mesa_counts_in_its_contest_and_in_no_territory_below_it(ultimo: Path) -> None:
    """Jefatura de Gobierno (one contest, the entity): a distrito's summary leaves the
    mesas out and the election's page lists them apart with their own summary;
    Diputaciones (a contest per distrito): the mesa counts in its distrito, not in the
    sección of its sede."""
    csvs = _csvs(ultimo)
    for name, codigo in ((CSV, "01"), ("DIPUTACIONES_LOCALES_MR.csv", "02")):
        parsed = csvs[name]
        filas = [f for f in parsed.filas if not es_fuera(f)]
        mesas = [f for f in filas if f["TIPO_CASILLA"] in MESA]
        assert mesas, name
        e = _datos(ultimo, f"e{codigo}")
        assert sorted(a[0] for a in e["mesas"]["actas"]) == sorted(
            f["CLAVE_ACTA"].strip("'") for f in mesas)
        for distrito in {int(f["ID_DISTRITO_LOCAL"]) for f in mesas}:
            de_distrito = [f for f in filas if f["ID_DISTRITO_LOCAL"] == str(distrito)]
            if codigo == "01":
                de_distrito = [f for f in de_distrito if f["TIPO_CASILLA"] not in MESA]
            esperado = list(resumen_desde_filas(replace(parsed, filas=tuple(de_distrito)))
                            .values())
            d = _datos(ultimo, f"e{codigo}/d{distrito:03d}")
            assert d["resumen"] == esperado, (name, distrito)
            # Every sección's summary counts only the casillas of that sección.
            for s in d["secciones"]:
                propias = [f for f in de_distrito if f["SECCION"] == str(s["seccion"])]
                assert s["resumen"] == list(resumen_desde_filas(
                    replace(parsed, filas=tuple(propias))).values())
        if codigo == "01":
            assert e["mesas"]["resumen"] == list(resumen_desde_filas(
                replace(parsed, filas=tuple(mesas))).values())
        else:
            assert "resumen" not in e["mesas"]  # they count in their distritos


def _tamper_row(corte: Path, name: str, pick: Any, column: str, value: str) -> str:
    """Sets ``column`` of the first row ``pick`` accepts (re-signed); its CLAVE_ACTA."""
    lines = (corte / name).read_bytes().decode("utf-8-sig").split("\r\n")
    cols = lines[6].split(",")
    for n, line in enumerate(lines[7:], start=7):
        row = line.split(",")
        if len(row) == len(cols) and pick(dict(zip(cols, row, strict=True))):
            row[cols.index(column)] = value
            lines[n] = ",".join(row)
            _resign(corte, name, ("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
            return row[cols.index("CLAVE_ACTA")].strip("'")
    raise AssertionError(f"no row to tamper in {name}")


def test_verify_corte_rejects_a_mesa_placed_in_a_seccion(corte: Path) -> None:
    clave = _tamper_row(corte, CSV, lambda f: f["TIPO_CASILLA"] in MESA, "SECCION",
                        "11")
    problemas = verify_corte(corte).problemas
    assert any(p.startswith(f"{CSV}: el acta {clave} es de una mesa") and "SECCION '11'" in p
               for p in problemas), problemas


def test_verify_corte_rejects_a_casilla_published_in_no_seccion(corte: Path) -> None:
    clave = _tamper_row(corte, CSV, lambda f: f["TIPO_CASILLA"] == "B", "SECCION", "N/A")
    problemas = verify_corte(corte).problemas
    assert f"{CSV}: el acta {clave} es de una casilla de tipo 'B', que está en una sección, " \
        "pero publica SECCION N/A" in problemas, problemas


def test_verify_corte_rejects_a_site_that_hides_a_mesa(corte: Path) -> None:
    ruta = "e01"
    datos = _datos(corte, ruta)
    datos["mesas"]["actas"] = datos["mesas"]["actas"][1:]
    _resign(corte, f"sitio/datos/{ruta}.js", data_file(ruta, datos))
    problemas = verify_corte(corte).problemas
    assert any(p.startswith(f"sitio/datos/{ruta}.js: las actas de mesas que lista el sitio")
               for p in problemas), problemas
