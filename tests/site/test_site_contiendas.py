"""The alcaldía level, the contests of a per-contest election and the candidatura view, in
headless Chromium: every number on the page equals the CSV of the same corte."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator
from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.package import slug
from prep.corte.reader import CsvEleccion
from prep.corte.summary import RESUMEN_COLUMNS
from tests.site import esperado
from tests.site.corte_sitio import CorteSitio

PERCENT = {c for c in RESUMEN_COLUMNS if c.startswith("PORCENTAJE_")}
Nombres = dict[tuple[int, str], tuple[str, str]]


@pytest.fixture(scope="module")
def nombres(corte_sitio: CorteSitio) -> dict[str, Nombres]:
    """Election code → its published candidaturas CSV, read with csv."""
    return {codigo: esperado.leer_candidaturas(
                (corte_sitio.root / f"{slug(t.eleccion.nombre)}_CANDIDATURAS.csv").read_bytes(),
                t.eleccion)
            for codigo, t in corte_sitio.tablas.items()}


def shown(valor: str, columna: str = "") -> str:
    if columna in PERCENT:
        return f"{valor}%"
    return f"{int(valor):,}" if valor.isdigit() else valor


def titulo(nombre: str) -> str:
    """``IZTAPALAPA`` → ``Iztapalapa``, ``GUSTAVO A. MADERO`` → ``Gustavo A. Madero``."""
    menores = {"DE", "LA", "DEL", "Y", "EL", "LOS", "LAS", "EN", "A"}
    out = []
    for i, w in enumerate(nombre.split()):
        if i > 0 and w in menores:
            out.append(w.lower())
        elif len(w) <= 2 and w.isupper() and w not in menores:
            out.append(w)
        else:
            out.append(w[:1] + w[1:].lower())
    return " ".join(out)


def assert_resumen(page: Page, resumen: dict[str, str]) -> None:
    section = page.locator("section.resumen")
    for columna, valor in resumen.items():
        campo = section.locator(f'[data-campo="{columna}"]')
        if columna == "ACTAS_FUERA_CATALOGO" and campo.count() == 0:
            assert valor == "0"
            continue
        expect(campo).to_have_text(shown(valor, columna))


def assert_party_view(page: Page, sub: CsvEleccion, eleccion: Eleccion) -> None:
    campos = list(eleccion.campos_voto)
    sumas = esperado.sumas(sub, campos)
    total = sum(sumas.values())
    assert total == int(esperado.resumen(sub)["TOTAL_VOTOS_C_CS"])
    items = page.locator("#votos-partido li.voto")
    shown_campos = [items.nth(i).get_attribute("data-asociacion") for i in range(items.count())]
    assert set(shown_campos) <= set(campos)
    assert all(sumas[c] == 0 for c in campos if c not in shown_campos)
    for campo in shown_campos:
        item = page.locator(f'#votos-partido li[data-asociacion="{campo}"]')
        expect(item.locator(".voto-num")).to_have_text(f"{sumas[str(campo)]:,}")
        expect(item.locator(".voto-pct")).to_have_text(
            f"{esperado.truncado(sumas[str(campo)], total)}%")
    expect(page.locator('.total-votos [data-campo="TOTAL_VOTOS_C_CS"]')).to_have_text(
        f"{total:,}")


def assert_candidatura_view(page: Page, sub: CsvEleccion, eleccion: Eleccion, ambito_id: int,
                            nombres: Nombres) -> None:
    """Switch to the candidatura view and compare each line with the CSV and the
    candidaturas file."""
    page.get_by_role("button", name="Por candidatura").click()
    expect(page.get_by_role("button", name="Por candidatura")).to_have_attribute(
        "aria-pressed", "true")
    expect(page.locator("#votos-partido")).to_be_hidden()
    expect(page.locator("#t-votos")).to_have_text("Votos por candidatura")
    cands = esperado.candidaturas(eleccion, ambito_id)
    votos = esperado.votos_candidatura(sub, cands)
    total = sum(votos.values())
    items = page.locator("#votos-candidatura li.voto")
    expect(items).to_have_count(len(cands))
    assert [items.nth(i).get_attribute("data-candidatura") for i in range(len(cands))] == \
        [c.clave for c in cands]
    for i, cand in enumerate(cands):
        item = items.nth(i)
        expect(item).to_be_visible()
        expect(item.locator(".voto-nombre")).to_contain_text(cand.nombre)
        expect(item.locator(".voto-num")).to_have_text(f"{votos[cand.clave]:,}")
        expect(item.locator(".voto-pct")).to_have_text(
            f"{esperado.truncado(votos[cand.clave], total)}%")
        personas = item.locator(".voto-personas")
        assert personas.all_inner_texts() == esperado.personas(cand, ambito_id, eleccion,
                                                               nombres)
    expect(page.locator('.total-votos [data-campo="TOTAL_VOTOS_C_CS"]')).to_have_text(
        f"{total:,}")
    page.get_by_role("button", name="Por partido político").click()
    expect(page.locator("#votos-candidatura")).to_be_hidden()


def assert_contest_row(row: Locator, sub: CsvEleccion, eleccion: Eleccion, ambito_id: int,
                       nombre: str) -> None:
    """One line of a contests table: the contest, who leads it, their votes and %, and
    the contest's actas contabilizadas, all from the contest's CSV rows."""
    cells = row.locator("th, td")
    expect(cells.nth(0)).to_have_text(nombre)
    cands = esperado.candidaturas(eleccion, ambito_id)
    votos = esperado.votos_candidatura(sub, cands)
    total = sum(votos.values())
    top = max(v for k, v in votos.items() if k not in ("NO_REGISTRADAS", "NULOS"))
    lideres = [c for c in cands if c.tipo != "otro" and votos[c.clave] == top]
    r = esperado.resumen(sub)
    expect(cells.nth(4)).to_have_text(
        f"{shown(r['ACTAS_CONTABILIZADAS'])} de {shown(r['ACTAS_ESPERADAS'])} "
        f"({r['PORCENTAJE_ACTAS_CONTABILIZADAS']}%)")
    if top == 0:
        expect(cells.nth(1)).to_have_text("Sin votos contabilizados")
        expect(cells.nth(2)).to_have_text("—")
        return
    lider_text = cells.nth(1).inner_text()
    for c in lideres:
        assert c.nombre in lider_text
    for c in cands:
        if c not in lideres and c.tipo != "otro":
            assert c.nombre not in lider_text
    assert lider_text.startswith("Empate") == (len(lideres) > 1)
    expect(cells.nth(2)).to_have_text(f"{top:,}")
    expect(cells.nth(3)).to_have_text(f"{esperado.truncado(top, total)}%")


def assert_distrito_contests(page: Page, catalog: Catalog, csv_e: CsvEleccion,
                             eleccion: Eleccion, distritos: list[int]) -> None:
    """The page adds no votes up: it lists one contest per distrito of ``distritos``, in
    order, each from all the distrito's CSV rows (the whole contest, wherever it lies)."""
    expect(page.locator("li.voto")).to_have_count(0)
    rows = page.locator("section.contiendas tbody tr")
    expect(rows).to_have_count(len(distritos))
    for i, d in enumerate(distritos):
        sub = esperado.filas_de(csv_e, catalog, distrito=d)
        nombre = f"Distrito {d} ({titulo(catalog.distrito_por_id[d].cabecera)})"
        assert_contest_row(rows.nth(i), sub, eleccion, d, nombre)


def test_alcaldias_entity_page_shows_one_contest_per_alcaldia(
        page: Page, base_url: str, corte_sitio: CorteSitio,
        csvs: dict[str, CsvEleccion]) -> None:
    catalog, csv_e = corte_sitio.catalog, csvs["03"]
    eleccion = corte_sitio.tablas["03"].eleccion
    page.goto(f"{base_url}#/e/03")
    expect(page.locator("main h1")).to_have_text("Alcaldías")
    assert_resumen(page, csv_e.resumen)  # the CSV's line 5: actas, not a vote result
    # No state-wide vote list: the votes of different alcaldías are never added up.
    expect(page.locator("li.voto")).to_have_count(0)
    rows = page.locator("section.contiendas tbody tr")
    alcaldias = sorted({c.demarcacion_id for c in catalog.casillas})
    expect(rows).to_have_count(len(alcaldias))
    for i, m in enumerate(alcaldias):
        row = rows.nth(i)
        assert row.get_attribute("data-contienda") == str(m)
        sub = esperado.filas_de(csv_e, catalog, demarcacion=m)
        nombre = f"Alcaldía {titulo(catalog.demarcacion_por_id[m].nombre)}"
        assert_contest_row(row, sub, eleccion, m, nombre)
    # An independent candidate of one alcaldía is never a line of the entidad or of
    # another alcaldía: at most the leader of its own.
    main = page.locator("main")
    for a in eleccion.asociaciones:
        if a.tipo is not TipoAsociacion.INDEPENDIENTE:
            continue
        assert a.ambitos is not None and len(a.ambitos) == 1
        for i, m in enumerate(alcaldias):
            if m not in a.ambitos:
                assert a.nombre not in rows.nth(i).inner_text()
        fuera = main.inner_text().replace(rows.nth(alcaldias.index(min(a.ambitos)))
                                          .inner_text(), "")
        assert a.nombre not in fuera


def test_alcaldia_page_party_and_candidatura_views_equal_the_csv(
        page: Page, base_url: str, corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion],
        nombres: dict[str, Nombres]) -> None:
    catalog, csv_e = corte_sitio.catalog, csvs["03"]
    eleccion = corte_sitio.tablas["03"].eleccion
    independiente = next(a for a in eleccion.asociaciones
                         if a.tipo is TipoAsociacion.INDEPENDIENTE)
    assert independiente.ambitos is not None
    m = min(independiente.ambitos)
    nombre = f"Alcaldía {titulo(catalog.demarcacion_por_id[m].nombre)}"
    page.goto(f"{base_url}#/e/03")
    page.get_by_role("link", name=nombre, exact=True).click()  # from the entity page
    expect(page.locator("main h1")).to_have_text(f"Alcaldías · {nombre}")
    assert page.url.endswith(f"#/e/03/m/{m}")
    sub = esperado.filas_de(csv_e, catalog, demarcacion=m)
    assert_resumen(page, esperado.resumen(sub))
    expect(page.locator(".votos .nota")).to_contain_text("Resultado de la contienda")
    assert_party_view(page, sub, eleccion)
    # This alcaldía's independent is a line here, and so is its candidatura.
    expect(page.locator(f'#votos-partido li[data-asociacion="{independiente.clave}"]')
           ).to_have_count(1)
    assert_candidatura_view(page, sub, eleccion, m, nombres["03"])
    distritos = sorted({c.distrito_id for c in catalog.casillas if c.demarcacion_id == m})
    for d in distritos:
        expect(page.locator(".ubicacion").get_by_role("link", name=f"Distrito {d}",
                                                        exact=True)).to_be_visible()
    secciones = sorted({c.seccion for c in catalog.casillas if c.demarcacion_id == m})
    filas = page.locator("main section.bloque").last.locator("tbody tr")
    expect(filas).to_have_count(len(secciones))


def test_seccion_by_alcaldia_lists_its_actas_and_leads_to_them(
        page: Page, base_url: str, corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion],
        nombres: dict[str, Nombres]) -> None:
    catalog, csv_e = corte_sitio.catalog, csvs["03"]
    eleccion = corte_sitio.tablas["03"].eleccion
    fila = next(f for f in csv_e.filas if f["CONTABILIZADA"] == "1"
                and f["OBSERVACIONES"] != "-")
    m, seccion = esperado.demarcacion_de(catalog, fila), int(fila["SECCION"])
    nombre = f"Alcaldía {titulo(catalog.demarcacion_por_id[m].nombre)}"
    page.goto(f"{base_url}#/e/03/m/{m}")
    page.get_by_role("link", name=f"Sección {seccion}", exact=True).click()
    expect(page.locator("main h1")).to_have_text(f"Alcaldías · Sección {seccion}")
    assert page.url.endswith(f"#/e/03/m/{m}/s/{seccion}")
    sub = esperado.filas_de(csv_e, catalog, demarcacion=m, seccion=seccion)
    assert_resumen(page, esperado.resumen(sub))
    assert_party_view(page, sub, eleccion)
    assert_candidatura_view(page, sub, eleccion, m, nombres["03"])
    casillas = page.locator("main section.bloque").last.locator("tbody tr")
    expect(casillas).to_have_count(len(sub.filas))
    for i, f in enumerate(sub.filas):
        cells = casillas.nth(i).locator("th, td")
        assert cells.nth(1).inner_text() == f["CLAVE_ACTA"].strip("'")
        assert cells.nth(2).inner_text() == shown(f["LISTA_NOMINAL"])
        assert cells.nth(3).inner_text() == shown(f["TOTAL_VOTOS_CALCULADO"])
        assert cells.nth(4).inner_text() == f["OBSERVACIONES"]
    clave = fila["CLAVE_ACTA"].strip("'")
    page.locator(f'main a[href="#/acta/{clave}"]').click()
    expect(page.locator("main h1")).to_have_text("Acta de Alcaldías")
    migas = page.get_by_role("navigation", name="Ubicación")
    expect(migas.get_by_role("link", name=nombre)).to_have_attribute("href", f"#/e/03/m/{m}")
    expect(page.locator(".acta-datos")).to_contain_text(clave)
    expect(page.locator('.acta-datos [data-campo="TOTAL_VOTOS_CALCULADO"]')).to_have_text(
        shown(fila["TOTAL_VOTOS_CALCULADO"]))


def test_diputaciones_show_one_contest_per_distrito_and_never_add_them_up(
        page: Page, base_url: str, corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion],
        nombres: dict[str, Nombres]) -> None:
    catalog, csv_e = corte_sitio.catalog, csvs["02"]
    eleccion = corte_sitio.tablas["02"].eleccion
    page.goto(f"{base_url}#/e/02")
    distritos = sorted({c.distrito_id for c in catalog.casillas})
    assert_distrito_contests(page, catalog, csv_e, eleccion, distritos)
    # The distrito is the contest: its page has the votes, in both views.
    d = distritos[0]
    page.get_by_role("link", name=f"Distrito {d} (", exact=False).first.click()
    expect(page.locator("main h1")).to_have_text(f"Diputaciones Locales MR · Distrito {d}")
    sub = esperado.filas_de(csv_e, catalog, distrito=d)
    assert_party_view(page, sub, eleccion)
    assert_candidatura_view(page, sub, eleccion, d, nombres["02"])
    # An alcaldía with several distritos is not one contest: it lists them instead.
    por_alcaldia: dict[int, set[int]] = {}
    for c in catalog.casillas:
        por_alcaldia.setdefault(c.demarcacion_id, set()).add(c.distrito_id)
    m = next(m for m, ds in sorted(por_alcaldia.items()) if len(ds) > 1)
    page.goto(f"{base_url}#/e/02/m/{m}")
    expect(page.locator("main h1")).to_contain_text(titulo(catalog.demarcacion_por_id[m].nombre))
    assert_resumen(page, esperado.resumen(esperado.filas_de(csv_e, catalog, demarcacion=m)))
    assert_distrito_contests(page, catalog, csv_e, eleccion, sorted(por_alcaldia[m]))


def test_jefatura_has_the_candidatura_view_of_the_whole_entidad_and_alcaldia_pages(
        page: Page, base_url: str, corte_sitio: CorteSitio, csvs: dict[str, CsvEleccion],
        nombres: dict[str, Nombres]) -> None:
    catalog, csv_e = corte_sitio.catalog, csvs["01"]
    eleccion = corte_sitio.tablas["01"].eleccion
    page.goto(f"{base_url}#/e/01")
    assert_party_view(page, esperado.filas_de(csv_e, catalog), eleccion)
    assert_candidatura_view(page, esperado.filas_de(csv_e, catalog), eleccion, 0,
                            nombres["01"])
    # The alcaldía level of an election of the whole entidad: its part of the votes.
    m = sorted({c.demarcacion_id for c in catalog.casillas})[0]
    nombre = titulo(catalog.demarcacion_por_id[m].nombre)
    page.get_by_role("link", name=nombre, exact=True).click()
    expect(page.locator("main h1")).to_have_text(f"Jefatura de Gobierno · Alcaldía {nombre}")
    sub = esperado.filas_de(csv_e, catalog, demarcacion=m)
    assert_resumen(page, esperado.resumen(sub))
    assert_party_view(page, sub, eleccion)
    assert_candidatura_view(page, sub, eleccion, 0, nombres["01"])


def test_alcaldia_routes_fit_a_phone(phone: Page, base_url: str, corte_sitio: CorteSitio,
                                     csvs: dict[str, CsvEleccion]) -> None:
    catalog = corte_sitio.catalog
    casilla = catalog.casillas_ordenadas[0]
    m, s = casilla.demarcacion_id, casilla.seccion
    for route in ("#/e/03", f"#/e/03/m/{m}", f"#/e/03/m/{m}/s/{s}", f"#/e/02/m/{m}",
                  f"#/e/01/m/{m}"):
        if phone.url.startswith(base_url):  # a hash change keeps the old page until drawn
            phone.evaluate("document.getElementById('contenido').textContent = ''")
        phone.goto(f"{base_url}{route}")
        expect(phone.locator("main h1")).to_be_visible()
        if phone.get_by_role("button", name="Por candidatura").count():
            phone.get_by_role("button", name="Por candidatura").click()
        width, viewport = phone.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"{route}: {width} px de ancho en {viewport} px"


@pytest.mark.parametrize("codigo", ["02", "03"])
def test_a_coalition_leading_a_contest_shows_its_one_candidate(
        page: Page, base_url: str, corte_sitio: CorteSitio, nombres: dict[str, Nombres],
        codigo: str) -> None:
    """Issue 61: «Encabeza» names the person of a coalition that leads, once: every party
    of the coalition registered that same person in the published candidaturas file."""
    eleccion = corte_sitio.tablas[codigo].eleccion
    page.goto(f"{base_url}#/e/{codigo}")
    rows = page.locator("section.contiendas tbody tr")
    expect(rows.first).to_be_visible()
    coaliciones = 0
    for i in range(rows.count()):
        row = rows.nth(i)
        lider = row.locator(".lider")
        if lider.count() != 1:  # nobody counted yet, or a tie
            continue
        ambito = int(str(row.get_attribute("data-contienda")))
        clave = lider.get_attribute("data-candidatura")
        cand = next(c for c in esperado.candidaturas(eleccion, ambito) if c.clave == clave)
        if cand.tipo != "coalicion":
            continue
        registradas = {nombres[codigo][(ambito, k)][0] for k in cand.campos
                       if (ambito, k) in nombres[codigo]}
        assert len(registradas) == 1, (ambito, registradas)  # one person per coalition
        (persona,) = registradas
        expect(lider.locator(".lider-persona")).to_have_text(persona)
        assert row.inner_text().count(persona) == 1
        coaliciones += 1
    assert coaliciones > 0


def test_candidates_are_labelled_by_their_office(page: Page, base_url: str,
                                                 corte_sitio: CorteSitio,
                                                 nombres: dict[str, Nombres]) -> None:
    """The Jefatura de Gobierno has no suplente: each candidatura names its one person as
    «Candidato(a)» and never a suplente; a diputación names «Propietario(a)» and
    «Suplente». A coalition's person is one line, not one per party."""
    page.goto(f"{base_url}#/e/01")
    page.get_by_role("button", name="Por candidatura").click()
    cands = esperado.candidaturas(corte_sitio.tablas["01"].eleccion, 0)
    items = page.locator("#votos-candidatura li.voto")
    expect(items).to_have_count(len(cands))
    coalicion = next(c for c in cands if c.tipo == "coalicion")
    [persona] = {nombres["01"][(0, k)][0] for k in coalicion.campos if (0, k) in nombres["01"]}
    lineas = page.locator(f'#votos-candidatura li[data-candidatura="{coalicion.clave}"] '
                          ".voto-personas")
    expect(lineas).to_have_count(1)
    expect(lineas).to_have_text(f"Candidato(a): {persona}")
    expect(page.locator("#votos-candidatura")).not_to_contain_text("Suplente")
    expect(page.locator("#votos-candidatura")).not_to_contain_text("Propietari")

    d = sorted({c.distrito_id for c in corte_sitio.catalog.casillas})[0]
    page.goto(f"{base_url}#/e/02/d/{d}")
    expect(page.locator("main h1")).to_have_text(f"Diputaciones Locales MR · Distrito {d}")
    page.get_by_role("button", name="Por candidatura").click()
    cands = esperado.candidaturas(corte_sitio.tablas["02"].eleccion, d)
    coalicion = next(c for c in cands if c.tipo == "coalicion")
    [(propietaria, suplente)] = {nombres["02"][(d, k)] for k in coalicion.campos
                                 if (d, k) in nombres["02"]}
    lineas = page.locator(f'#votos-candidatura li[data-candidatura="{coalicion.clave}"] '
                          ".voto-personas")
    expect(lineas).to_have_count(1)
    expect(lineas).to_have_text(f"Propietario(a): {propietaria} · Suplente: {suplente}")
