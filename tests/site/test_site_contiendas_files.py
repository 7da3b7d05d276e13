"""The site's data for the demarcación level, the contests and the candidatura view equal
what the CSV files of the same corte say (read with csv, columns by name)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Candidatura
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.package import build_corte_files
from prep.corte.package import slug
from prep.corte.reader import CsvEleccion
from prep.corte.reader import read_eleccion_csv
from prep.corte.site import bloque_file
from prep.corte.site import demarcacion_file
from prep.corte.site import distrito_file
from prep.corte.site import election_file
from prep.corte.site import site_files
from prep.corte.site_candidaturas import contienda
from prep.corte.site_datos import BLOQUE_CASILLAS
from prep.corte.site_datos import bloques
from prep.corte.site_datos import parse_data_file
from prep.sintetico.capturas import simulate
from tests.site import esperado
from tests.site.corte_sitio import CorteSitio
from tests.site.corte_sitio import datos

pytestmark = pytest.mark.rapido


def seccion_en_bloque(sitio: dict[str, bytes], catalog: Catalog, codigo: str, distrito: int,
                      seccion: int, casillas: int = BLOQUE_CASILLAS) -> Any:
    """A sección's area as the bloque file holding it carries it (votes and candidaturas;
    its distrito's file has only its summary)."""
    primera = max(s for s in bloques(catalog, casillas)[distrito] if s <= seccion)
    b = parse_data_file(sitio[bloque_file(codigo, distrito, primera)])[1]
    return next(x for x in b["secciones"] if x["seccion"] == seccion)


def contest_id(eleccion: Eleccion, distrito: int, demarcacion: int) -> int:
    return {Ambito.ENTIDAD: 0, Ambito.DISTRITO: distrito,
            Ambito.DEMARCACION: demarcacion}[eleccion.ambito]


def check_area(area: dict[str, Any], e: dict[str, Any], sub: CsvEleccion,
               eleccion: Eleccion) -> None:
    """An area's summary, votes per asociación and per candidatura against its CSV rows."""
    assert area["resumen"] == list(esperado.resumen(sub).values())
    if "contiendas" in area:
        assert "votos" not in area and len(area["contiendas"]) > 1
        return
    campos = [a["clave"] for a in e["asociaciones"]]
    sumas = esperado.sumas(sub, campos)
    total = sum(sumas.values())
    for i, votos, pct in area["votos"]:
        assert (votos, pct) == (sumas[campos[i]], esperado.truncado(sumas[campos[i]], total))
    assert sum(v for _, v, _ in area["votos"]) == total
    cands = esperado.candidaturas(eleccion, area["contienda"])
    definidas = e["contendientes"][str(area["contienda"])]
    assert [c["clave"] for c in definidas] == [c.clave for c in cands]
    votos_c = esperado.votos_candidatura(sub, cands)
    assert [[k, v, p] for k, v, p in area["candidaturas"]] == [
        [k, votos_c[c.clave], esperado.truncado(votos_c[c.clave], total)]
        for k, c in enumerate(cands)]


def test_every_demarcacion_and_its_secciones_recompute_from_csv_rows(
        corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion]) -> None:
    catalog = corte_sitio.catalog
    en_distrito = 0
    for codigo, parsed in csvs.items():
        eleccion = corte_sitio.tablas[codigo].eleccion
        e = datos(corte_sitio, election_file(codigo))
        assert [m["id"] for m in e["demarcaciones"]] == sorted(
            {c.demarcacion_id for c in catalog.casillas})
        for item in e["demarcaciones"]:
            m_id = item["id"]
            sub = esperado.filas_de(parsed, catalog, demarcacion=m_id)
            m = datos(corte_sitio, demarcacion_file(codigo, m_id))
            assert m["nombre"] == catalog.demarcacion_por_id[m_id].nombre == item["nombre"]
            assert item["resumen"] == m["resumen"]
            check_area(m, e, sub, eleccion)
            assert m["distritos"] == sorted({c.distrito_id for c in catalog.casillas
                                             if c.demarcacion_id == m_id})
            assert [s["seccion"] for s in m["secciones"]] == sorted(
                {c.seccion for c in catalog.casillas if c.demarcacion_id == m_id})
            for s in m["secciones"]:
                sub_s = esperado.filas_de(parsed, catalog, demarcacion=m_id,
                                          seccion=s["seccion"])
                assert s["distritos"] == sorted({
                    c.distrito_id for c in catalog.casillas
                    if c.demarcacion_id == m_id and c.seccion == s["seccion"]})
                if s.get("en_distrito"):  # the page takes the area from the distrito's bloque
                    (d_id,) = s["distritos"]
                    assert s["resumen"] == list(esperado.resumen(sub_s).values())
                    assert sub_s.filas == esperado.filas_de(
                        parsed, catalog, distrito=d_id, seccion=s["seccion"]).filas
                    s = seccion_en_bloque(corte_sitio.sitio, catalog, codigo, d_id,
                                          s["seccion"], corte_sitio.bloque_casillas)
                    en_distrito += 1
                check_area(s, e, sub_s, eleccion)
                assert s["seccion"] in {c.seccion for c in catalog.casillas
                                        if c.demarcacion_id == m_id}
    assert en_distrito > 0


def test_distrito_areas_have_candidatura_votes_too(corte_sitio: CorteSitio,
                                                   csvs: dict[str, CsvEleccion]) -> None:
    catalog = corte_sitio.catalog
    for codigo, parsed in csvs.items():
        eleccion = corte_sitio.tablas[codigo].eleccion
        e = datos(corte_sitio, election_file(codigo))
        for distrito in catalog.distritos:
            d = datos(corte_sitio, distrito_file(codigo, distrito.id))
            sub = esperado.filas_de(parsed, catalog, distrito=distrito.id)
            check_area(d, e, sub, eleccion)
            for resumen in d["secciones"]:
                s = seccion_en_bloque(corte_sitio.sitio, catalog, codigo, distrito.id,
                                      resumen["seccion"], corte_sitio.bloque_casillas)
                assert resumen["resumen"] == s["resumen"]
                check_area(s, e, esperado.filas_de(parsed, catalog, distrito=distrito.id,
                                                   seccion=s["seccion"]), eleccion)


def test_contests_lead_and_entidad_shape_per_ambito(corte_sitio: CorteSitio,
                                                    csvs: dict[str, CsvEleccion]) -> None:
    """Entity-wide election: one contest, the entidad's votes. Per-contest: no state-wide
    votes, and each contest's line says who leads it with the CSV's numbers."""
    catalog = corte_sitio.catalog
    for codigo, parsed in csvs.items():
        eleccion = corte_sitio.tablas[codigo].eleccion
        e = datos(corte_sitio, election_file(codigo))
        if eleccion.ambito is Ambito.ENTIDAD:
            assert e["contienda"] == 0 and list(e["contendientes"]) == ["0"]
            check_area({**e, "resumen": list(esperado.resumen(
                esperado.filas_de(parsed, catalog)).values())}, e,
                esperado.filas_de(parsed, catalog), eleccion)
            assert all("encabeza" not in x for x in e["distritos"] + e["demarcaciones"])
            continue
        assert "votos" not in e and "candidaturas" not in e
        nivel = e["distritos"] if eleccion.ambito is Ambito.DISTRITO else e["demarcaciones"]
        otro = e["demarcaciones"] if eleccion.ambito is Ambito.DISTRITO else e["distritos"]
        assert e["contiendas"] == [x["id"] for x in nivel]
        assert all("encabeza" not in x for x in otro)
        for item in nivel:
            sub = esperado.filas_de(parsed, catalog, **{
                "distrito" if eleccion.ambito is Ambito.DISTRITO else "demarcacion": item["id"]})
            cands = esperado.candidaturas(eleccion, item["id"])
            votos = esperado.votos_candidatura(sub, cands)
            top = max(votos[c.clave] for c in cands if c.tipo != "otro")
            assert item["encabeza"] == {
                "candidaturas": [k for k, c in enumerate(cands)
                                 if c.tipo != "otro" and votos[c.clave] == top] if top else [],
                "votos": top,
                "porcentaje": esperado.truncado(top, sum(votos.values()))}


def test_an_independent_competes_only_in_its_own_contest(corte_sitio: CorteSitio) -> None:
    for codigo in ("02", "03"):
        eleccion = corte_sitio.tablas[codigo].eleccion
        e = datos(corte_sitio, election_file(codigo))
        for a in eleccion.asociaciones:
            if a.tipo is not TipoAsociacion.INDEPENDIENTE:
                continue
            assert a.ambitos is not None
            donde = [k for k, cands in e["contendientes"].items()
                     if a.clave in [c["clave"] for c in cands]]
            assert donde == [str(i) for i in sorted(a.ambitos)
                             if str(i) in e["contendientes"]]


def test_candidatura_names_are_the_published_candidaturas(corte_sitio: CorteSitio) -> None:
    for codigo, tabla in corte_sitio.tablas.items():
        eleccion = tabla.eleccion
        nombres = esperado.leer_candidaturas(
            corte_sitio.paquete[f"{slug(eleccion.nombre)}_CANDIDATURAS.csv"], eleccion)
        e = datos(corte_sitio, election_file(codigo))
        assert e["suplente"] is eleccion.suplente
        con_nombres = 0
        for ambito, cands in e["contendientes"].items():
            for cand, mine in zip(esperado.candidaturas(eleccion, int(ambito)), cands,
                                  strict=True):
                lines = [(f"{p['asociacion']}: " if p["asociacion"] else "")
                         + esperado.persona(eleccion, p["propietaria"], p["suplente"])
                         for p in mine["personas"]]
                expected = esperado.personas(cand, int(ambito), eleccion, nombres)
                if lines or expected != ["Sin nombres en el registro de candidaturas"]:
                    assert lines == expected
                con_nombres += bool(lines)
        assert con_nombres > 0


def _eleccion(candidaturas: list[Candidatura]) -> tuple[Eleccion, dict[tuple[int, str],
                                                                   Candidatura]]:
    p = TipoAsociacion.PARTIDO
    eleccion = Eleccion("05", "PRUEBA", "1", Ambito.DEMARCACION, (
        Asociacion("A", "Partido A", p, ("A",)), Asociacion("B", "Partido B", p, ("B",)),
        Asociacion("C", "Partido C", p, ("C",)),
        Asociacion("A_B", "Juntos (A-B)", TipoAsociacion.COALICION, ("A", "B"),
                   frozenset({1})),
        Asociacion("IND", "Independiente", TipoAsociacion.INDEPENDIENTE, (), frozenset({2}))))
    return eleccion, {(c.ambito_id, c.asociacion): c for c in candidaturas}


def test_a_coalition_is_one_candidatura_only_where_it_competes() -> None:
    eleccion, nombres = _eleccion([
        Candidatura("05", 1, "A_B", "Ana Coalición", "Bea Suplente"),
        Candidatura("05", 1, "A", "Otra Persona", "X"),
        Candidatura("05", 2, "A", "Carla A", "Dora A"),
        Candidatura("05", 2, "IND", "Eva Ind", ""),
    ])
    en_1 = contienda(eleccion, 1, nombres).candidaturas
    assert [(c.clave, c.campos, c.tipo) for c in en_1] == [
        ("A_B", (0, 1, 3), "coalicion"), ("C", (2,), "partido"),
        ("NO_REGISTRADAS", (5,), "otro"), ("NULOS", (6,), "otro")]
    assert en_1[0].nombre == "Juntos (A-B)"
    # Names registered for the coalition's combination win over its parties'.
    assert en_1[0].personas == (("", "Ana Coalición", "Bea Suplente"),)
    assert en_1[1].personas == ()
    en_2 = contienda(eleccion, 2, nombres).candidaturas
    assert [(c.clave, c.campos) for c in en_2] == [
        ("A", (0,)), ("B", (1,)), ("C", (2,)), ("IND", (4,)), ("NO_REGISTRADAS", (5,)),
        ("NULOS", (6,))]
    assert en_2[0].personas == (("", "Carla A", "Dora A"),)
    assert en_2[3].personas == (("", "Eva Ind", ""),)
    votos = [10, 20, 25, 7, 0, 1, 2]  # per vote column, NO_REGISTRADAS and NULOS last
    assert contienda(eleccion, 1, nombres).votos(votos) == [37, 25, 1, 2]
    assert contienda(eleccion, 1, nombres).encabeza(votos) == {
        "candidaturas": [0], "votos": 37, "porcentaje": "56.9230"}
    assert contienda(eleccion, 2, nombres).encabeza([5, 5, 1, 0, 5, 0, 0]) == {
        "candidaturas": [0, 1, 3], "votos": 5, "porcentaje": "31.2500"}
    assert contienda(eleccion, 2, nombres).encabeza([0] * 5 + [3, 1])["candidaturas"] == []


def test_a_seccion_split_between_two_alcaldias_shows_both_contests(
        tmp_path_factory: pytest.TempPathFactory, corte_sitio: CorteSitio) -> None:
    """A catalog where one casilla of a sección lies in another alcaldía: every area
    holding both parts lists the two contests instead of adding their votes."""
    catalog = corte_sitio.catalog
    moved = next(c for c in catalog.casillas_ordenadas if c.tipo == "C")
    otra = next(m.id for m in catalog.demarcaciones if m.id != moved.demarcacion_id)
    casillas = tuple(replace(c, demarcacion_id=otra) if c.clave == moved.clave else c
                     for c in catalog.casillas)
    split = replace(catalog, casillas=casillas)
    sim = simulate(split, 7, corte_sitio.corte)
    paquete, tablas = build_corte_files(split, sim.estado, sim.fuera, corte_sitio.corte)
    sitio = site_files(split, {t.eleccion.codigo: t for t in tablas}, corte_sitio.corte, {})
    parsed = read_eleccion_csv(paquete["ALCALDIAS.csv"])
    e = parse_data_file(sitio[election_file("03")])[1]
    d = parse_data_file(sitio[distrito_file("03", moved.distrito_id)])[1]
    assert d["contiendas"] == sorted({moved.demarcacion_id, otra}) and "votos" not in d
    s = seccion_en_bloque(sitio, split, "03", moved.distrito_id, moved.seccion)
    assert s["contiendas"] == d["contiendas"] and s["demarcaciones"] == d["contiendas"]
    for m_id in (moved.demarcacion_id, otra):
        m = parse_data_file(sitio[demarcacion_file("03", m_id)])[1]
        part = next(s for s in m["secciones"] if s["seccion"] == moved.seccion)
        assert "en_distrito" not in part  # its distrito's sección holds both parts
        sub = esperado.filas_de(parsed, split, demarcacion=m_id, seccion=moved.seccion)
        check_area(part, e, sub, split.eleccion_por_codigo["03"])
        assert part["contienda"] == m_id
