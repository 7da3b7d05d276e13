"""site_files: every file of the site is there, self-contained, and its data are the CSV's."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

import pytest

from prep.catalog import Catalog
from prep.corte.anexo import es_fuera
from prep.corte.difusores import DIFUSORES
from prep.corte.package import corte_dirname
from prep.corte.reader import CsvEleccion
from prep.corte.reader import resumen_desde_filas
from prep.corte.site import ASSETS
from prep.corte.site import EXTRA_COLUMNS
from prep.corte.site import OMITTED_COLUMNS
from prep.corte.site import bloque_file
from prep.corte.site import demarcacion_file
from prep.corte.site import difusores_files
from prep.corte.site import distrito_file
from prep.corte.site import election_file
from prep.corte.site import percentages
from prep.corte.site import site_files
from prep.corte.site_datos import bloques
from prep.corte.site_datos import data_file
from prep.corte.site_datos import parse_data_file
from prep.corte.site_historial import historial_archivos
from prep.corte.site_historial import historial_archivos_en_orden
from prep.corte.site_historial import historial_file
from prep.corte.summary import RESUMEN_COLUMNS
from prep.corte.summary import percentage
from tests.site.corte_sitio import CorteSitio
from tests.site.corte_sitio import datos
from tests.site.esperado import filas_de
from tests.site.esperado import sumas
from tests.site.esperado import truncado

pytestmark = pytest.mark.rapido


def bloques_distrito(corte: CorteSitio, codigo: str, distrito: int) -> list[Any]:
    """The bloque files (acta rows and sección votes) of a distrito, in order."""
    return [datos(corte, bloque_file(codigo, distrito, primera))
            for primera in bloques(corte.catalog, corte.bloque_casillas)[distrito]]


def actas_distrito(corte: CorteSitio, codigo: str, distrito: int) -> tuple[list[str], list[Any]]:
    """(columnas, acta rows) of a distrito, from its bloques, in order."""
    partes = bloques_distrito(corte, codigo, distrito)
    assert len({tuple(b["columnas"]) for b in partes}) == 1
    return partes[0]["columnas"], [row for b in partes for row in b["actas"]]


def por_distrito(parsed: CsvEleccion, catalog: Catalog, distrito: int) -> CsvEleccion:
    """A distrito's rows: its mesas only where the distrito is the election's contest."""
    return filas_de(parsed, catalog, distrito=distrito)


def test_every_file_is_listed_under_sitio(corte_sitio: CorteSitio) -> None:
    catalog = corte_sitio.catalog
    expected = {"sitio/index.html", "sitio/datos/indice.js", "sitio/datos/secciones.js",
                "sitio/datos/catd.js",  # the rows of AVANCE_CATD.csv (issue 29)
                "sitio/datos/difusores.js",  # DIFUSORES.csv's difusores (issue 30)
                *(f"sitio/{a}" for a in ASSETS)}
    inicios = bloques(catalog, corte_sitio.bloque_casillas)
    for e in catalog.elecciones:
        expected.add(election_file(e.codigo))
        expected |= {distrito_file(e.codigo, d.id) for d in catalog.distritos}
        # Each bloque of secciones: its actas' rows, and their timelines (HISTORIAL.csv's
        # rows, issue 29).
        expected |= {bloque_file(e.codigo, d, s) for d, ss in inicios.items() for s in ss}
        expected |= {historial_file(e.codigo, d, s) for d, ss in inicios.items() for s in ss}
        expected |= {demarcacion_file(e.codigo, m.id) for m in catalog.demarcaciones}
    assert set(corte_sitio.sitio) == expected
    assert all(data for data in corte_sitio.sitio.values())


def test_site_needs_nothing_from_outside(corte_sitio: CorteSitio) -> None:
    html = corte_sitio.sitio["sitio/index.html"].decode()
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
        if ref.startswith("data:"):
            continue
        assert "//" not in ref, ref
        target = ref[3:] if ref.startswith("../") else f"sitio/{ref}"
        assert target in corte_sitio.sitio or target in corte_sitio.paquete, ref
    for name, data in corte_sitio.sitio.items():
        if name == "sitio/datos/difusores.js":
            continue  # the official difusores' addresses: links a reader may follow, not loaded
        # An SVG names its XML namespace by URL: a name, never fetched.
        text = data.decode().replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "http://" not in text and "https://" not in text, name
        assert "@import" not in text and "url(" not in text, name


def test_page_shell_carries_corte_time_and_downloads_without_javascript(
        corte_sitio: CorteSitio) -> None:
    html = corte_sitio.sitio["sitio/index.html"].decode()
    assert "07/06/2027 08:00:00 (UTC-6)" in html
    assert "Ciudad de México" in html
    noscript = html[html.index("<noscript>"):html.index("</noscript>")]
    for name in corte_sitio.paquete:
        assert f'href="../{name}"' in noscript


def test_entidad_summary_is_csv_line_5(corte_sitio: CorteSitio,
                                       csvs: dict[str, CsvEleccion]) -> None:
    indice = datos(corte_sitio, "sitio/datos/indice.js")
    assert indice["resumen_columnas"] == list(RESUMEN_COLUMNS)
    assert indice["corte"] == "07/06/2027 08:00:00 (UTC-6)"
    for codigo, parsed in csvs.items():
        e = datos(corte_sitio, election_file(codigo))
        assert dict(zip(RESUMEN_COLUMNS, e["resumen"], strict=True)) == parsed.resumen


def test_distrito_and_seccion_summaries_recompute_from_csv_rows(
        corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion]) -> None:
    for codigo, parsed in csvs.items():
        e = datos(corte_sitio, election_file(codigo))
        assert [d["id"] for d in e["distritos"]] == sorted(
            d.id for d in corte_sitio.catalog.distritos)
        for resumen_distrito in e["distritos"]:
            distrito = resumen_distrito["id"]
            sub = por_distrito(parsed, corte_sitio.catalog, distrito)
            esperado = list(resumen_desde_filas(sub).values())
            assert resumen_distrito["resumen"] == esperado
            d = datos(corte_sitio, distrito_file(codigo, distrito))
            assert d["resumen"] == esperado
            en_bloques = [s for b in bloques_distrito(corte_sitio, codigo, distrito)
                          for s in b["secciones"]]
            assert [s["seccion"] for s in en_bloques] == [s["seccion"] for s in d["secciones"]]
            for s, en_bloque in zip(d["secciones"], en_bloques, strict=True):
                filas = tuple(f for f in sub.filas if f["SECCION"] == str(s["seccion"]))
                assert s["resumen"] == en_bloque["resumen"] == list(resumen_desde_filas(
                    replace(sub, filas=filas)).values())


def test_votes_per_asociacion_are_csv_column_sums(corte_sitio: CorteSitio,
                                                  csvs: dict[str, CsvEleccion]) -> None:
    for codigo, parsed in csvs.items():
        e = datos(corte_sitio, election_file(codigo))
        campos = [a["clave"] for a in e["asociaciones"]]
        por_campo = sumas(parsed, campos)
        total = sum(por_campo.values())
        assert total == int(parsed.resumen["TOTAL_VOTOS_C_CS"])
        if e["ambito"] == "entidad":
            assert [[campos[i], v, p] for i, v, p in e["votos"]] == [
                [c, por_campo[c], truncado(por_campo[c], total)] for c in campos]
        else:  # one contest per distrito or demarcación: no state-wide sum
            assert "votos" not in e and "candidaturas" not in e
        for distrito in corte_sitio.catalog.distritos:
            d = datos(corte_sitio, distrito_file(codigo, distrito.id))
            sub = sumas(por_distrito(parsed, corte_sitio.catalog, distrito.id), campos)
            total_d = sum(sub.values())
            if "contiendas" in d:  # a distrito over two alcaldías: no sum across them
                assert "votos" not in d and len(d["contiendas"]) > 1
                continue
            for i, votos, pct in d["votos"]:
                assert (votos, pct) == (sub[campos[i]], truncado(sub[campos[i]], total_d))


def test_vote_lists_show_only_asociaciones_competing_there(corte_sitio: CorteSitio) -> None:
    diputaciones = corte_sitio.tablas["02"].eleccion
    for distrito in corte_sitio.catalog.distritos:
        d = datos(corte_sitio, distrito_file("02", distrito.id))
        shown = {diputaciones.campos_voto[i] for i, _, _ in d["votos"]}
        competing = {a.clave for a in diputaciones.asociaciones if a.compite_en(distrito.id)}
        assert shown == competing | {"NO_REGISTRADAS", "NULOS"}


def test_acta_rows_are_the_csv_rows(corte_sitio: CorteSitio,
                                    csvs: dict[str, CsvEleccion]) -> None:
    for codigo, parsed in csvs.items():
        published = {f["CLAVE_ACTA"].strip("'"): f for f in parsed.filas
                     if not es_fuera(f)}
        seen = set()
        for distrito in corte_sitio.catalog.distritos:
            columnas, actas = actas_distrito(corte_sitio, codigo, distrito.id)
            kept = [c for c in parsed.columnas if c not in OMITTED_COLUMNS]
            added = [] if "ID_DEMARCACION" in kept else ["ID_DEMARCACION"]
            assert columnas == kept + added + list(EXTRA_COLUMNS)
            for row in actas:
                fila = dict(zip(columnas, row, strict=True))
                csv_fila = published[fila["CLAVE_ACTA"]]
                for columna in kept:
                    assert fila[columna] == csv_fila[columna].strip("'"), columna
                acta = corte_sitio.catalog.acta(fila["CLAVE_ACTA"])
                assert acta is not None
                assert fila["ID_DEMARCACION"] == str(acta.casilla.demarcacion_id)
                assert csv_fila["ID_DISTRITO_LOCAL"] == str(distrito.id)
                seen.add(fila["CLAVE_ACTA"])
        assert seen == set(published)


def test_image_columns_point_at_the_image_with_the_published_hash(
        corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion]) -> None:
    con_imagen = 0
    for codigo in csvs:
        for distrito in corte_sitio.catalog.distritos:
            columnas, actas = actas_distrito(corte_sitio, codigo, distrito.id)
            for row in actas:
                fila = dict(zip(columnas, row, strict=True))
                if not fila["IMAGEN"]:
                    assert fila["CODIGO_INTEGRIDAD"] in ("-", "N/A")
                    continue
                con_imagen += 1
                image = (corte_sitio.root / "sitio" / fila["IMAGEN"]).resolve()
                assert hashlib.sha256(image.read_bytes()).hexdigest() == \
                    fila["CODIGO_INTEGRIDAD"]
    assert con_imagen == len(corte_sitio.imagenes)


def test_secciones_index_finds_the_distrito_of_every_seccion(corte_sitio: CorteSitio) -> None:
    runs = datos(corte_sitio, "sitio/datos/secciones.js")["distritos"]
    for distrito_id, seccion in corte_sitio.catalog.secciones:
        assert any(a <= seccion <= b for a, b in runs[str(distrito_id)])
        others = [d for d, r in runs.items() if d != str(distrito_id)
                  and any(a <= seccion <= b for a, b in r)]
        assert others == []


def test_a_distrito_file_carries_summaries_and_its_bloques_whole_secciones(
        corte_sitio: CorteSitio) -> None:
    """A distrito's page loads what it shows (its secciones' summaries); a sección's
    page loads the bloque holding it: whole, consecutive secciones of one distrito with
    at most ``bloque_casillas`` casillas (or a single sección), found by secciones.js."""
    catalog = corte_sitio.catalog
    limite = corte_sitio.bloque_casillas
    inicios = bloques(catalog, limite)
    indice = datos(corte_sitio, "sitio/datos/secciones.js")["bloques"]
    assert indice == {str(d): v for d, v in inicios.items()}
    casillas: dict[tuple[int, int], int] = {}
    for c in catalog.casillas:
        casillas[(c.distrito_id, c.seccion)] = casillas.get((c.distrito_id, c.seccion), 0) + 1
    assert sum(map(len, inicios.values())) > len(catalog.distritos)  # several per distrito
    for codigo in corte_sitio.tablas:
        for distrito in catalog.distritos:
            d = datos(corte_sitio, distrito_file(codigo, distrito.id))
            assert "actas" not in d and "columnas" not in d
            assert all(set(s) == {"seccion", "resumen"} for s in d["secciones"])
            propias = sorted(s for dd, s in catalog.secciones if dd == distrito.id)
            starts = inicios[distrito.id]
            assert starts[0] == propias[0]
            for b, primera, siguiente in zip(bloques_distrito(corte_sitio, codigo, distrito.id),
                                             starts, [*starts[1:], None], strict=True):
                secciones = [s for s in propias
                             if s >= primera and (siguiente is None or s < siguiente)]
                assert (b["distrito"], b["bloque"]) == (distrito.id, primera)
                assert [s["seccion"] for s in b["secciones"]] == secciones
                assert len(secciones) == 1 or \
                    sum(casillas[(distrito.id, s)] for s in secciones) <= limite
                col = b["columnas"].index("SECCION")
                # A mesa (SECCION N/A, in no sección) rides with the sección its
                # CLAVE_CASILLA names, where it is counted.
                assert {int(r[col]) if r[col] != "N/A" else int(r[0][2:6])
                        for r in b["actas"]} == set(secciones)


def test_same_corte_gives_the_same_bytes(corte_sitio: CorteSitio) -> None:
    again = site_files(corte_sitio.catalog, corte_sitio.tablas, corte_sitio.corte,
                       corte_sitio.imagenes, historial=corte_sitio.historial,
                       salud_catd=corte_sitio.salud, descargas=(DIFUSORES,),
                       bloque_casillas=corte_sitio.bloque_casillas)
    again.update(difusores_files(corte_sitio.difusores, corte_dirname(corte_sitio.corte)))
    assert again == corte_sitio.sitio


def test_extra_downloads_are_offered(corte_sitio: CorteSitio) -> None:
    files = site_files(corte_sitio.catalog, corte_sitio.tablas, corte_sitio.corte,
                       corte_sitio.imagenes, descargas=("PREP_CDMX_20270607_0800.zip",))
    indice = parse_data_file(files["sitio/datos/indice.js"])[1]
    assert {"archivo": "PREP_CDMX_20270607_0800.zip",
            "titulo": "PREP_CDMX_20270607_0800.zip (ZIP)"} in indice["descargas"]
    assert 'href="../PREP_CDMX_20270607_0800.zip"' in files["sitio/index.html"].decode()


def test_an_image_that_is_not_the_published_one_is_refused(corte_sitio: CorteSitio) -> None:
    clave = sorted(corte_sitio.imagenes)[0]
    imagenes = dict(corte_sitio.imagenes)
    imagenes[clave] = ("0" * 64, f"imagenes/{'0' * 64}.png")
    with pytest.raises(ValueError, match=f"{clave}: la imagen .* no es la del CODIGO_INTEGRIDAD"):
        site_files(corte_sitio.catalog, corte_sitio.tablas, corte_sitio.corte, imagenes)


@pytest.mark.parametrize("path", ["../secreto.png", "/etc/passwd", "imagenes/../../x.png",
                                  "imagenes/a b.png", ""])
def test_image_paths_must_stay_inside_the_corte(corte_sitio: CorteSitio, path: str) -> None:
    clave = sorted(corte_sitio.imagenes)[0]
    imagenes = {clave: (corte_sitio.imagenes[clave][0], path)}
    with pytest.raises(ValueError, match="ruta no válida dentro del corte"):
        site_files(corte_sitio.catalog, corte_sitio.tablas, corte_sitio.corte, imagenes)


def test_bad_arguments_get_a_specific_message(corte_sitio: CorteSitio) -> None:
    with pytest.raises(ValueError, match="faltan las tablas de: ALCALDÍAS"):
        site_files(corte_sitio.catalog, {k: v for k, v in corte_sitio.tablas.items()
                                         if k != "03"}, corte_sitio.corte, {})
    with pytest.raises(ValueError, match="zona horaria"):
        site_files(corte_sitio.catalog, corte_sitio.tablas,
                   corte_sitio.corte.replace(tzinfo=None), {})
    with pytest.raises(ValueError, match="SHA-256 de la imagen"):
        clave = sorted(corte_sitio.imagenes)[0]
        site_files(corte_sitio.catalog, corte_sitio.tablas, corte_sitio.corte,
                   {clave: ("ABC", "imagenes/x.png")})


def test_data_files_round_trip_and_reject_other_text() -> None:
    data = data_file("e01/d005", {"a": ["Ñ", 1]})
    assert data.startswith(b'PREP.recibir("e01/d005",')
    assert parse_data_file(data) == ("e01/d005", {"a": ["Ñ", 1]})
    with pytest.raises(ValueError, match="no es un archivo de datos"):
        parse_data_file(b"alert(1);\n")


def test_batch_percentages_truncate_like_the_csv() -> None:
    counts = [0, 1, 2, 3, 7, 123_456, 99_999, 1, 333_333]
    assert percentages(counts) == [percentage(c, sum(counts)) for c in counts]
    assert percentages([1, 2]) == ["33.3333", "66.6666"]  # truncated, never rounded
    assert percentages([0, 0]) == ["0.0000", "0.0000"]


def test_no_image_where_the_csv_publishes_no_code(corte_sitio: CorteSitio,
                                                  csvs: dict[str, CsvEleccion]) -> None:
    """An image of an acta without published data is left out, as the CSV gives no code."""
    pendiente = next(f["CLAVE_ACTA"].strip("'") for f in csvs["01"].filas
                     if f["CONTABILIZADA"] == "-" and not es_fuera(f))
    imagenes = {**corte_sitio.imagenes, pendiente: ("a" * 64, f"imagenes/{'a' * 64}.png")}
    files = site_files(corte_sitio.catalog, corte_sitio.tablas, corte_sitio.corte, imagenes)
    acta = corte_sitio.catalog.acta(pendiente)
    assert acta is not None
    primera = max(s for s in bloques(corte_sitio.catalog)[acta.casilla.distrito_id]
                  if s <= acta.casilla.seccion)
    d = parse_data_file(files[bloque_file("01", acta.casilla.distrito_id, primera)])[1]
    row = next(r for r in d["actas"] if r[1] == pendiente)
    assert row[d["columnas"].index("IMAGEN")] == ""
    assert row[d["columnas"].index("CODIGO_INTEGRIDAD")] == "-"


def test_history_files_made_as_secciones_come_are_the_same_files(
        corte_sitio: CorteSitio) -> None:
    # A corte hands each sección's history entries over in catalog order and gets each
    # bloque's file as soon as its secciones are in (never an election's entries at once):
    # the same files as from all of them together, and out of order it refuses.
    catalog = corte_sitio.catalog
    inicios = bloques(catalog, corte_sitio.bloque_casillas)
    # Two of every three secciones with actas' entries (made up: only where they go
    # matters), two per sección.
    secciones = [sec for k, sec in enumerate(sorted(catalog.secciones)) if k % 3]
    por_seccion = {sec: [f'"A{sec[0]}-{sec[1]}-{k}":[]'.encode() for k in range(2)]
                   for sec in secciones}
    codigo = catalog.elecciones[0].codigo
    todas = list(historial_archivos(catalog, codigo, por_seccion, "20270607_2000",
                                    corte_sitio.bloque_casillas))
    vistos: list[tuple[int, int]] = []

    def en_orden() -> Any:
        for seccion, entradas in sorted(por_seccion.items()):
            vistos.append(seccion)
            yield seccion, entradas

    archivos = historial_archivos_en_orden(catalog, codigo, en_orden(), "20270607_2000",
                                           corte_sitio.bloque_casillas)
    primero = next(archivos)
    assert len(vistos) < len(por_seccion)  # the first file before every sección was read
    assert [primero, *archivos] == todas
    assert len(todas) == sum(map(len, inicios.values()))
    # Every entry is in one file, and a file per bloque even with none.
    claves = [c for _, data in todas for c in parse_data_file(data)[1]["actas"]]
    assert len({d for d, _ in por_seccion}) > 1
    assert sum(bool(parse_data_file(data)[1]["actas"]) for _, data in todas) > 2
    assert sorted(claves) == sorted(e.decode().split('"')[1]
                                    for entradas in por_seccion.values() for e in entradas)
    desordenadas = list(reversed(sorted(por_seccion.items())))
    with pytest.raises(ValueError, match="no vienen en orden"):
        list(historial_archivos_en_orden(catalog, codigo, desordenadas, "20270607_2000",
                                         corte_sitio.bloque_casillas))
