"""The electoral catalog: the synthetic CDMX generator has the shape of Ciudad de México,
the directory format round-trips, and a badly filled directory is refused with a Spanish
message that says which file, which line and what is wrong."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

import prep.catalog.files as catalog_files
from prep.catalog import Ambito
from prep.catalog import Asociacion
from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import Demarcacion
from prep.catalog import Distrito
from prep.catalog import Eleccion
from prep.catalog import TipoAsociacion
from prep.catalog import catalog_digest
from prep.catalog import generate_catalog
from prep.catalog import load_catalog
from prep.catalog import write_catalog
from prep.catalog.model import CAMPOS_SIN_MESA
from prep.catalog.model import clave_casilla
from prep.catalog.model import tipo_rank
from tests.prep.catalog.catalog_edits import rows_of
from tests.prep.catalog.catalog_edits import set_cell
from tests.prep.catalog.catalog_edits import sin_nombre_de_entidad
from tests.prep.conftest import SMALL_SEED

REPO = Path(__file__).resolve().parents[3]
FILES = ("catalogo.toml", "distritos.csv", "casillas.csv", "asociaciones.csv",
         "candidaturas.csv")
PARTIDOS_2024 = ("PAN", "PRI", "PRD", "PVEM", "PT", "MC", "MORENA")
ELECCIONES = ("JEFATURA DE GOBIERNO", "DIPUTACIONES LOCALES MR", "ALCALDÍAS")
#: Publication order of casilla types, written out independently of the code under test.
ORDEN_TIPOS = "BCESAPMU"



def _publication_key(c: Casilla) -> tuple[int, int, int, int, int]:
    return (c.distrito_id, c.seccion, ORDEN_TIPOS.index(c.tipo), c.id_casilla, c.ext_contigua)


@pytest.fixture(scope="module")
def full() -> Catalog:
    return generate_catalog(2027, 1.0)


# --------------------------------------------------------------------- full-scale shape


def test_full_scale_geography(full: Catalog) -> None:
    assert [d.id for d in full.distritos] == list(range(1, 34))
    assert len(full.demarcaciones) == 16
    por_demarcacion = Counter(d.demarcacion_id for d in full.distritos)
    assert set(por_demarcacion) == {d.id for d in full.demarcaciones}  # each has ≥ 1
    assert {c.distrito_id for c in full.casillas} == set(range(1, 34))
    secciones = {c.seccion for c in full.casillas}
    assert len(secciones) == 5526
    # A sección belongs to one distrito.
    assert len({(c.distrito_id, c.seccion) for c in full.casillas}) == len(secciones)


def test_full_scale_casillas_look_like_cdmx_2021(full: Catalog) -> None:
    assert abs(len(full.casillas) - 13_200) <= 13_200 * 0.03
    tipos = Counter(c.tipo for c in full.casillas)
    assert set(tipos) == {"B", "C", "E", "S", "U", "A", "M"}
    assert tipos["B"] == 5526
    basicas = Counter(c.seccion for c in full.casillas if c.tipo == "B")
    assert set(basicas.values()) == {1}  # exactly one básica per sección
    assert abs(tipos["C"] - 7608) <= 7608 * 0.10
    assert tipos["E"] == 26
    assert tipos["S"] == 15
    # Issue 28: a few urnas electrónicas and mesas of voto anticipado and extranjero.
    assert (tipos["U"], tipos["A"], tipos["M"]) == (20, 3, 6)


def test_full_scale_lista_nominal(full: Catalog) -> None:
    assert max(c.lista_nominal for c in full.casillas) <= 750
    for c in full.casillas:
        if c.tipo == "S":
            assert c.lista_nominal == 0 and c.boletas > 0, c
            assert c.max_votos == c.boletas
        else:  # the mesas of voto anticipado and extranjero have their own lista
            assert c.lista_nominal > 0, c
            assert c.max_votos == c.lista_nominal + c.representantes
    total = sum(c.lista_nominal for c in full.casillas)
    assert abs(total - 7_800_000) <= 7_800_000 * 0.05


def test_full_scale_elections_and_parties(full: Catalog) -> None:
    assert tuple(e.nombre for e in full.elecciones) == ELECCIONES
    assert [e.ambito for e in full.elecciones] == [Ambito.ENTIDAD, Ambito.DISTRITO,
                                                   Ambito.DEMARCACION]
    assert len({e.codigo for e in full.elecciones}) == 3
    for e in full.elecciones:
        assert len(e.codigo) == 2 and e.codigo.isdigit()
        partidos = tuple(a.clave for a in e.asociaciones if a.tipo is TipoAsociacion.PARTIDO)
        assert partidos == PARTIDOS_2024
        coaliciones = [a for a in e.asociaciones if a.tipo is TipoAsociacion.COALICION]
        claves = {a.clave for a in coaliciones}
        assert {"PAN_PRI_PRD", "PVEM_PT_MORENA", "PAN_PRI", "PT_MORENA"} <= claves
        for a in coaliciones:
            assert len(a.partidos) >= 2 and set(a.partidos) <= set(PARTIDOS_2024)
            assert a.clave == "_".join(a.partidos)
    # Every casilla has an acta of every election but the mesas of voto en el extranjero,
    # which count Jefatura de Gobierno only.
    extranjero = sum(1 for c in full.casillas if c.tipo == "M")
    assert len(full.actas_por_clave) == full.total_actas == (
        3 * len(full.casillas) - 2 * extranjero)


def test_full_scale_claves(full: Catalog) -> None:
    claves = [c.clave for c in full.casillas]
    assert len(set(claves)) == len(claves)
    for c in full.casillas:
        assert len(c.clave) == 11
        assert c.clave == (f"09{c.seccion:04d}{c.tipo}{c.id_casilla:02d}"
                           f"{c.ext_contigua:02d}")
    for acta in full.iter_actas():
        assert len(acta.clave) == 13
        assert acta.clave == acta.casilla.clave + acta.eleccion.codigo
        assert full.acta(acta.clave) is acta


def test_clave_casilla_pads_every_field() -> None:
    assert clave_casilla(9, 123, "B", 1, 0) == "090123B0100"
    assert clave_casilla(9, 4821, "C", 12, 3) == "094821C1203"


# ---------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_catalog_and_files(full: Catalog, tmp_path: Path) -> None:
    again = generate_catalog(2027, 1.0)
    assert again == full
    write_catalog(full, tmp_path / "a")
    write_catalog(again, tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert catalog_digest(tmp_path / "a") == catalog_digest(tmp_path / "b")


def test_another_seed_gives_another_catalog(small: Catalog, small_dir: Path,
                                            tmp_path: Path) -> None:
    other = generate_catalog(SMALL_SEED + 1, 0.01)
    assert other.casillas != small.casillas
    write_catalog(other, tmp_path)
    assert catalog_digest(tmp_path) != catalog_digest(small_dir)


def test_small_scale_still_has_every_kind_of_casilla_and_election(small: Catalog) -> None:
    assert 120 <= len(small.casillas) <= 160  # ≈ 1 % of 13,200
    assert {c.tipo for c in small.casillas} == {"B", "C", "E", "S", "U", "A", "M"}
    assert tuple(e.nombre for e in small.elecciones) == ELECCIONES
    assert len(small.distritos) == 33
    assert {c.distrito_id for c in small.casillas} == {d.id for d in small.distritos}
    (mesa_extranjero,) = [c for c in small.casillas if c.tipo == "M"]
    for e in small.elecciones:
        sin_mesa = 0 if e.codigo == "01" else 1
        assert len(small.actas(e)) == len(small.casillas) - sin_mesa
        assert (small.acta(mesa_extranjero.clave + e.codigo) is None) == bool(sin_mesa)


def test_scale_out_of_range_is_refused() -> None:
    for scale in (0, -0.5, 1.5):
        with pytest.raises(ValueError, match="scale"):
            generate_catalog(1, scale)


# ----------------------------------------------------------------------------- round trip


def _assert_same_catalog(loaded: Catalog, original: Catalog) -> None:
    assert loaded.entidad_id == original.entidad_id
    assert loaded.entidad == original.entidad
    assert loaded.fecha_eleccion == original.fecha_eleccion
    assert loaded.demarcaciones == original.demarcaciones
    assert loaded.distritos == original.distritos
    assert loaded.casillas_ordenadas == original.casillas_ordenadas
    assert loaded.elecciones == original.elecciones
    for a, b in zip(loaded.elecciones, original.elecciones, strict=True):
        assert [x.ambitos for x in a.asociaciones] == [x.ambitos for x in b.asociaciones]
        assert a.campos_captura == b.campos_captura
    assert loaded.candidaturas == original.candidaturas
    assert loaded == original


def test_write_then_load_gives_the_same_catalog(small: Catalog, small_dir: Path) -> None:
    _assert_same_catalog(load_catalog(small_dir), small)


def test_full_scale_round_trip(full: Catalog, tmp_path: Path) -> None:
    write_catalog(full, tmp_path)
    _assert_same_catalog(load_catalog(tmp_path), full)


def test_round_trip_keeps_names_with_commas_quotes_and_accents(small: Catalog,
                                                               tmp_path: Path) -> None:
    e = small.elecciones[0]
    raro = replace(e.asociaciones[0], nombre='Coalición "Sí, por México" — Ñandú')
    tricky = replace(
        small,
        entidad='CIUDAD DE MÉXICO "CDMX", \\ Ñ',
        demarcaciones=(replace(small.demarcaciones[0], nombre='ÁLVARO "OBREGÓN", sur'),
                       *small.demarcaciones[1:]),
        distritos=(replace(small.distritos[0], cabecera="IZTAPALAPA, ORIENTE"),
                   *small.distritos[1:]),
        elecciones=(replace(e, asociaciones=(raro, *e.asociaciones[1:])),
                    *small.elecciones[1:]),
    )
    write_catalog(tricky, tmp_path)
    _assert_same_catalog(load_catalog(tmp_path), tricky)


def test_rewriting_a_loaded_catalog_gives_the_same_bytes(small_dir: Path,
                                                         tmp_path: Path) -> None:
    write_catalog(load_catalog(small_dir), tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (small_dir / name).read_bytes(), name
    assert catalog_digest(tmp_path) == catalog_digest(small_dir)


def test_digest_changes_when_one_byte_changes(copia: Path) -> None:
    before = catalog_digest(copia)
    path = copia / "casillas.csv"
    data = bytearray(path.read_bytes())
    i = data.index(b"\n") + 1  # first byte of line 2 (a digit of ID_DISTRITO_LOCAL)
    data[i] = ord("2") if data[i] != ord("2") else ord("3")
    path.write_bytes(bytes(data))
    assert catalog_digest(copia) != before
    assert len(before) == 64 and int(before, 16) >= 0


def test_digest_covers_every_file(copia: Path) -> None:
    before = catalog_digest(copia)
    for name in FILES:
        path = copia / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert catalog_digest(copia) != before, name
        path.write_bytes(original)
    assert catalog_digest(copia) == before


def test_spreadsheet_export_loads(small: Catalog, copia: Path) -> None:
    """Excel-style files: BOM, CRLF, zero-padded numbers, lower-case TIPO_CASILLA."""
    for name in ("distritos.csv", "casillas.csv", "asociaciones.csv", "candidaturas.csv"):
        rows = rows_of(copia / name)
        if name == "casillas.csv":
            for row in rows[1:]:
                row[2] = row[2].zfill(4)
                row[3] = row[3].lower()
                row[4] = row[4].zfill(2)
                row[5] = row[5].zfill(2)
        with (copia / name).open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f, lineterminator="\r\n").writerows(rows)
    _assert_same_catalog(load_catalog(copia), small)


# ---------------------------------------------------------------------- publication order


def test_publication_order_of_generated_catalog(full: Catalog) -> None:
    expected = sorted(full.casillas, key=_publication_key)
    assert list(full.casillas_ordenadas) == expected
    for e in full.elecciones:
        actas = full.actas(e)
        assert [a.casilla for a in actas] == [c for c in expected if c.tiene_acta(e.codigo)]
        assert {a.eleccion for a in actas} == {e}


def _casilla(distrito: int, seccion: int, tipo: str, id_casilla: int = 1,
             ext: int = 0) -> Casilla:
    return Casilla(entidad_id=9, distrito_id=distrito, demarcacion_id=1, seccion=seccion,
                   tipo=tipo, id_casilla=id_casilla, ext_contigua=ext,
                   lista_nominal=0 if tipo == "S" else 300, representantes=2,
                   boletas=750 if tipo == "S" else 0, ubicacion=1)


def test_publication_order_is_distrito_seccion_tipo_id_ext() -> None:
    expected = [
        _casilla(1, 900, "B"),
        _casilla(1, 900, "C", 1, 0),
        _casilla(1, 900, "C", 1, 1),
        _casilla(1, 900, "C", 2, 0),
        _casilla(1, 900, "C", 10, 0),
        _casilla(1, 900, "E", 1, 0),
        _casilla(1, 900, "E", 2, 0),
        _casilla(1, 900, "S"),
        _casilla(1, 900, "A"),
        _casilla(1, 900, "P"),
        _casilla(1, 900, "M"),
        _casilla(1, 900, "U"),
        _casilla(1, 1000, "B"),
        _casilla(2, 5, "B"),  # distrito before sección
        _casilla(2, 5, "S"),
    ]
    shuffled = list(expected)
    random.Random(3).shuffle(shuffled)
    eleccion = Eleccion("01", "JEFATURA DE GOBIERNO", "1", Ambito.ENTIDAD,
                        (Asociacion("PAN", "PAN", TipoAsociacion.PARTIDO, ("PAN",)),))
    catalog = Catalog(9, "CIUDAD DE MÉXICO", "2027-06-06", (Demarcacion(1, "X"),),
                      (Distrito(1, "X", 1), Distrito(2, "X", 1)), tuple(shuffled),
                      (eleccion,))
    assert list(catalog.casillas_ordenadas) == expected
    assert [a.casilla for a in catalog.actas(eleccion)] == expected
    assert [a.clave[:11] for a in catalog.actas(eleccion)] == [c.clave for c in expected]
    assert sorted("UMPASECB", key=tipo_rank) == list(ORDEN_TIPOS)
    assert tipo_rank("Z") > tipo_rank("U")


# --------------------------------------------------------------------------------- campos


def test_campos_captura_order(small: Catalog) -> None:
    for e in small.elecciones:
        assert e.campos_captura == (
            "TOTAL_BOLETAS_SOBRANTES", "TOTAL_PERSONAS_VOTARON",
            "TOTAL_REP_PARTIDO_CI_VOTARON", "TOTAL_VOTOS_SACADOS",
            *(a.clave for a in e.asociaciones),
            "NO_REGISTRADAS", "NULOS", "TOTAL_VOTOS_ASENTADO")


def test_entidad_wide_election_applies_every_field_everywhere(small: Catalog) -> None:
    jefatura = small.elecciones[0]
    assert all(a.ambitos is None for a in jefatura.asociaciones)
    for c in small.casillas:
        # A mesa's acta has no boletas sobrantes nor representantes that voted (DOMAIN.md).
        assert jefatura.campos_aplicables(c) == tuple(
            f for f in jefatura.campos_captura if not (c.mesa and f in CAMPOS_SIN_MESA))
    assert any(c.mesa for c in small.casillas)


@pytest.mark.parametrize("indice", [1, 2], ids=["distrito", "demarcacion"])
def test_asociacion_restricted_by_ambitos(small: Catalog, indice: int) -> None:
    e = small.elecciones[indice]
    restringidas = [a for a in e.asociaciones if a.ambitos is not None]
    assert any(a.tipo is TipoAsociacion.COALICION for a in restringidas)
    assert any(a.tipo is TipoAsociacion.INDEPENDIENTE for a in restringidas)
    for a in restringidas:
        def ambito(c: Casilla) -> int:
            return c.distrito_id if e.ambito is Ambito.DISTRITO else c.demarcacion_id
        dentro = [c for c in small.casillas if ambito(c) in (a.ambitos or ())]
        fuera = [c for c in small.casillas if ambito(c) not in (a.ambitos or ())]
        assert dentro and fuera, a.clave
        for c in dentro:
            assert a.clave in e.campos_aplicables(c)
        for c in fuera:
            campos = e.campos_aplicables(c)
            assert a.clave not in campos
            # The rest keep their order.
            assert campos == tuple(x for x in e.campos_captura if x in campos)
            assert {"PAN", "NO_REGISTRADAS", "NULOS", "TOTAL_VOTOS_ASENTADO"} <= set(campos)
            assert ("TOTAL_BOLETAS_SOBRANTES" in campos) is not c.mesa


def test_ambitos_survive_the_files(small_dir: Path) -> None:
    loaded = load_catalog(small_dir)
    e = loaded.elecciones[1]
    ind = next(a for a in e.asociaciones if a.clave == "CAND_IND_1")
    assert ind.ambitos is not None and len(ind.ambitos) == 1
    (distrito,) = ind.ambitos
    casilla = next(c for c in loaded.casillas if c.distrito_id == distrito)
    otra = next(c for c in loaded.casillas if c.distrito_id != distrito)
    assert "CAND_IND_1" in e.campos_aplicables(casilla)
    assert "CAND_IND_1" not in e.campos_aplicables(otra)


# ----------------------------------------------------------------------------------- docs


def _doc_blocks() -> dict[str, str]:
    """The example of each file in docs/catalogo.md, by file name."""
    text = (REPO / "docs" / "catalogo.md").read_text(encoding="utf-8")
    by_header = {"ID_DISTRITO_LOCAL,CABECERA": "distritos.csv",
                 "ID_DISTRITO_LOCAL,ID_DEMARCACION": "casillas.csv",
                 "ID_ELECCION,CLAVE": "asociaciones.csv",
                 "ID_ELECCION,ID_AMBITO": "candidaturas.csv"}
    blocks: dict[str, str] = {}
    for chunk in text.split("```")[1::2]:
        lang, _, body = chunk.partition("\n")
        if lang == "toml":
            blocks["catalogo.toml"] = body
        elif lang == "csv":
            (name,) = [n for h, n in by_header.items() if body.startswith(h)]
            blocks[name] = body
    return blocks


def test_docs_examples_form_a_valid_catalog(tmp_path: Path) -> None:
    blocks = _doc_blocks()
    assert sorted(blocks) == sorted(FILES)
    for name, body in blocks.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    cat = load_catalog(tmp_path)
    assert [c.clave for c in cat.casillas_ordenadas] == [
        "090001B0100", "090001C0100", "090007S0100", "090007M0100", "090347E0100"]
    # Issue 28: the optional columns and the especiales' own TIPO_ACTA.
    assert cat.total_actas == 4 * 3 + 1  # the mesa de extranjero counts Jefatura only
    mesa = cat.acta("090007M010001")
    assert mesa is not None and cat.acta("090007M010002") is None
    assert mesa.casilla.traslado is None and mesa.casilla.ubicacion == 0
    assert {c.clave: c.traslado for c in cat.casillas if c.tipo != "M"} == {
        "090001B0100": "E", "090001C0100": "F", "090007S0100": "E", "090347E0100": "I"}
    especial = cat.acta("090007S010001")
    assert especial is not None and especial.tipo_acta == "4"
    diputaciones = cat.eleccion_por_codigo["02"]
    extraordinaria = cat.acta("090347E010002")
    basica = cat.acta("090001B010002")
    assert extraordinaria is not None and basica is not None
    en_e = diputaciones.campos_aplicables(extraordinaria.casilla)
    en_b = diputaciones.campos_aplicables(basica.casilla)
    assert "CAND_IND_1" in en_e and "PVEM_PT_MORENA" not in en_e
    assert "CAND_IND_1" not in en_b and "PVEM_PT_MORENA" in en_b
    assert "MORENA" in en_b and "MORENA" in en_e


def test_docs_document_every_column_the_loader_reads() -> None:
    text = (REPO / "docs" / "catalogo.md").read_text(encoding="utf-8")
    assert "| `elecciones.tipo_acta_casilla` |" in text
    for columns in (catalog_files.DISTRITOS_COLS, catalog_files.CASILLAS_COLS,
                    catalog_files.CASILLAS_OPCIONALES,
                    catalog_files.ASOCIACIONES_COLS, catalog_files.CANDIDATURAS_COLS):
        for column in columns:
            assert f"| `{column}` |" in text, column
    assert f"{catalog_files.MAX_FILE_BYTES // (1024 * 1024)} MiB" in text


# ------------------------------------------------------------------------------------ CLI


def _prep(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=env)


def test_cli_generate_then_check(tmp_path: Path) -> None:
    out = tmp_path / "cat"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    gen = _prep("catalog", "generate", "--seed", "5", "--scale", "0.01", "--out", str(out),
                env=env)
    assert gen.returncode == 0, gen.stderr
    expected = generate_catalog(5, 0.01)
    # The same catalog as in this process (no dependence on hash randomisation).
    _assert_same_catalog(load_catalog(out), expected)
    write_catalog(expected, tmp_path / "here")
    digest = catalog_digest(tmp_path / "here")
    assert catalog_digest(out) == digest
    assert "33 distritos" in gen.stdout
    assert f"{len(expected.casillas)} casillas" in gen.stdout
    assert f"{expected.total_actas} actas" in gen.stdout
    assert f"huella SHA-256: {digest}" in gen.stdout

    check = _prep("catalog", "check", str(out))
    assert check.returncode == 0, check.stderr
    assert "válido" in check.stdout
    assert f"{len(expected.casillas)} casillas" in check.stdout
    assert f"{expected.total_actas} actas" in check.stdout
    assert digest in check.stdout
    assert check.stderr == ""


def test_cli_check_refuses_a_corrupted_catalog(copia: Path) -> None:
    set_cell(copia, "casillas.csv", 2, "LISTA_NOMINAL", "751")
    done = _prep("catalog", "check", str(copia))
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.startswith("error: casillas.csv: línea 2:"), done.stderr
    assert "LISTA_NOMINAL = 751 fuera del rango" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_check_reports_a_missing_entidad_name_without_a_traceback(copia: Path) -> None:
    sin_nombre_de_entidad(copia)
    done = _prep("catalog", "check", str(copia))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2
    assert done.stderr.startswith("error: catalogo.toml:"), done.stderr


def test_cli_check_on_a_missing_directory(tmp_path: Path) -> None:
    done = _prep("catalog", "check", str(tmp_path / "no-existe"))
    assert done.returncode != 0
    assert done.stderr.startswith("error: falta el archivo catalogo.toml"), done.stderr
