"""The public site in headless Chromium: what a citizen sees and does on it."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.catalog.model import Ambito
from prep.corte.anexo import es_fuera
from prep.corte.reader import CsvEleccion
from prep.corte.reader import resumen_desde_filas
from prep.corte.site_datos import bloques
from prep.corte.summary import RESUMEN_COLUMNS
from tests.site.corte_sitio import CorteSitio

PERCENT_COLUMNS = {c for c in RESUMEN_COLUMNS if c.startswith("PORCENTAJE_")}


def shown(valor: str, columna: str = "") -> str:
    """A CSV value as the site shows it: thousands with commas, percentages with %."""
    if columna in PERCENT_COLUMNS:
        return f"{valor}%"
    return f"{int(valor):,}" if valor.isdigit() else valor


def truncado(count: int, base: int) -> str:
    diezmilesimas = count * 1_000_000 // base if base else 0
    return f"{diezmilesimas // 10_000}.{diezmilesimas % 10_000:04d}"


def fila_de(csv: CsvEleccion, clave: str) -> dict[str, str]:
    return next(f for f in csv.filas if f["CLAVE_ACTA"] == f"'{clave}'")


def clave_con(csv: CsvEleccion, **columnas: str) -> str:
    """The first acta of the CSV whose columns have the given values."""
    fila = next(f for f in csv.filas if not es_fuera(f)
                and all(f[k] == v for k, v in columnas.items()))
    return fila["CLAVE_ACTA"].strip("'")


def tab_to(page: Page, href: str, limit: int = 250) -> None:
    """Press Tab until the link to ``href`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == href:
            return
    raise AssertionError(f"el enlace {href} no se alcanza con el tabulador")


def assert_resumen_equals(page: Page, resumen: dict[str, str]) -> None:
    section = page.locator("section.resumen")
    for columna, valor in resumen.items():
        if columna == "ACTAS_FUERA_CATALOGO" and section.locator(
                f'[data-campo="{columna}"]').count() == 0:
            assert valor == "0"
            continue
        expect(section.locator(f'[data-campo="{columna}"]')).to_have_text(
            shown(valor, columna))


def assert_votos_equal(page: Page, csv: CsvEleccion, filas: tuple[dict[str, str], ...],
                       campos: list[str]) -> None:
    sumas = dict.fromkeys(campos, 0)
    for f in filas:
        if f["CONTABILIZADA"] == "1":
            for c in campos:
                if f[c].isdigit():
                    sumas[c] += int(f[c])
    total = sum(sumas.values())
    items = page.locator("#votos-partido li.voto")
    shown_campos = [items.nth(i).get_attribute("data-asociacion") for i in range(items.count())]
    assert set(shown_campos) <= set(campos)
    assert all(sumas[c] == 0 for c in campos if c not in shown_campos)
    for campo in shown_campos:
        assert campo is not None
        item = page.locator(f'#votos-partido li.voto[data-asociacion="{campo}"]')
        expect(item.locator(".voto-num")).to_have_text(f"{sumas[campo]:,}")
        expect(item.locator(".voto-pct")).to_have_text(f"{truncado(sumas[campo], total)}%")
    expect(page.locator('.total-votos [data-campo="TOTAL_VOTOS_C_CS"]')).to_have_text(
        f"{total:,}")


def test_keyboard_from_the_header_down_to_an_acta(page: Page, base_url: str,
                                                  corte_sitio: CorteSitio,
                                                  csvs: dict[str, CsvEleccion]) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(base_url)
    expect(page.locator("main h1")).to_have_text("Jefatura de Gobierno")
    assert page.url.endswith("#/e/01")
    expect(page.locator("#corte time")).to_have_text("07/06/2027 08:00:00 (UTC-6)")
    acta = corte_sitio.catalog.acta(clave_con(csvs["01"], CONTABILIZADA="1"))
    assert acta is not None
    distrito, seccion = acta.casilla.distrito_id, acta.casilla.seccion
    tab_to(page, f"#/e/01/d/{distrito}")
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text(f"Jefatura de Gobierno · Distrito {distrito}")
    expect(page.locator("main h1")).to_be_focused()
    tab_to(page, f"#/e/01/d/{distrito}/s/{seccion}")
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text(f"Jefatura de Gobierno · Sección {seccion}")
    tab_to(page, f"#/acta/{acta.clave}")
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Acta de Jefatura de Gobierno")
    expect(page.locator(".acta-datos")).to_contain_text(acta.clave)
    expect(page.locator("#corte time")).to_have_text("07/06/2027 08:00:00 (UTC-6)")
    # The visit loaded only what it showed: of the distrito's bloques of secciones, only
    # the one holding the sección (its rows and, for the acta, its history).
    primera = max(s for s in bloques(corte_sitio.catalog, corte_sitio.bloque_casillas)[
        distrito] if s <= seccion)
    assert len(bloques(corte_sitio.catalog, corte_sitio.bloque_casillas)[distrito]) > 1
    d = f"e01/d{distrito:03d}"
    assert sorted(u.split("/sitio/datos/", 1)[1] for u in requested
                  if "/sitio/datos/" in u) == sorted([
        "indice.js", "e01.js", f"{d}.js", "secciones.js", f"{d}/s{primera:04d}.js",
        f"{d}/h{primera:04d}.js"])
    # The breadcrumb leads back up with clicks.
    page.get_by_role("navigation", name="Ubicación").get_by_role(
        "link", name=f"Distrito {distrito}").click()
    expect(page.locator("main h1")).to_have_text(f"Jefatura de Gobierno · Distrito {distrito}")


def test_every_election_header_shows_the_csv_numbers(page: Page, base_url: str,
                                                     corte_sitio: CorteSitio,
                                                     csvs: dict[str, CsvEleccion]) -> None:
    page.goto(base_url)
    for codigo, csv in csvs.items():
        nombre = corte_sitio.tablas[codigo].eleccion
        page.locator("#pestanas a", has_text={"01": "Jefatura", "02": "Diputaciones",
                                              "03": "Alcaldías"}[codigo]).click()
        expect(page.locator("#pestanas a[aria-current=page]")).to_have_attribute(
            "href", f"#/e/{codigo}")
        assert_resumen_equals(page, csv.resumen)
        if nombre.ambito is Ambito.ENTIDAD:
            assert_votos_equal(page, csv, csv.filas, list(nombre.campos_voto))
        else:  # one contest per distrito or alcaldía: never a state-wide vote sum
            expect(page.locator("li.voto")).to_have_count(0)
            expect(page.locator("section.contiendas tbody tr").first).to_be_visible()


def test_distrito_and_seccion_pages_show_the_csv_numbers(page: Page, base_url: str,
                                                         corte_sitio: CorteSitio,
                                                         csvs: dict[str, CsvEleccion]) -> None:
    csv = csvs["02"]
    eleccion = corte_sitio.tablas["02"].eleccion
    acta = corte_sitio.catalog.acta(clave_con(csv, OBSERVACIONES="Ilegible"))
    assert acta is not None
    distrito, seccion = acta.casilla.distrito_id, acta.casilla.seccion
    filas = tuple(f for f in csv.filas if f["ID_DISTRITO_LOCAL"] == str(distrito))
    page.goto(f"{base_url}#/e/02/d/{distrito}")
    expect(page.locator("main h1")).to_contain_text(f"Distrito {distrito}")
    assert_resumen_equals(page, resumen_desde_filas(replace(csv, filas=filas)))
    assert_votos_equal(page, csv, filas, list(eleccion.campos_voto))
    filas = tuple(f for f in filas if f["SECCION"] == str(seccion))
    page.get_by_role("link", name=f"Sección {seccion}", exact=True).click()
    expect(page.locator("main h1")).to_contain_text(f"Sección {seccion}")
    assert_resumen_equals(page, resumen_desde_filas(replace(csv, filas=filas)))
    assert_votos_equal(page, csv, filas, list(eleccion.campos_voto))
    casillas = page.locator("table").last.locator("tbody tr")
    assert casillas.count() == len(filas)
    for i, fila in enumerate(filas):
        cells = casillas.nth(i).locator("th, td")
        assert cells.nth(1).inner_text() == fila["CLAVE_ACTA"].strip("'")
        assert cells.nth(3).inner_text() == shown(fila["TOTAL_VOTOS_CALCULADO"])
        assert cells.nth(4).inner_text() == fila["OBSERVACIONES"]


def test_acta_page_shows_the_csv_row(page: Page, base_url: str, corte_sitio: CorteSitio,
                                     csvs: dict[str, CsvEleccion]) -> None:
    csv = csvs["03"]
    clave = clave_con(csv, OBSERVACIONES="Sin dato")
    fila = fila_de(csv, clave)
    page.goto(f"{base_url}#/acta/{clave}")
    expect(page.locator("main h1")).to_have_text("Acta de Alcaldías")
    expect(page.locator(".estado-acta")).to_have_text("Acta contabilizada · Sin dato")
    campos = [c for c in corte_sitio.tablas["03"].eleccion.campos_captura if fila[c] != "N/A"]
    for campo in [*campos, "TOTAL_VOTOS_CALCULADO"]:
        expect(page.locator(f'.acta-datos [data-campo="{campo}"]')).to_have_text(
            shown(fila[campo]))
    assert page.locator(".acta-datos [data-campo]").count() == len(campos) + 1
    datos = page.locator(".acta-datos").inner_text()
    for columna in ("FECHA_HORA_ACOPIO", "FECHA_HORA_CAPTURA", "FECHA_HORA_VERIFICACION",
                    "ORIGEN", "DIGITALIZACION", "TIPO_ACTA", "TIPO_DOCUMENTO"):
        assert fila[columna] in datos, columna
    # The traslado code with its meaning, as LEEME describes it.
    traslado = {"F": "Centro de Recepción y Traslado fijo",
                "I": "Centro de Recepción y Traslado itinerante",
                "D": "Dispositivo de Apoyo para el Traslado",
                "N/A": "Sin mecanismo de traslado"}[fila["MECANISMOS_TRASLADO"]]
    assert f'{fila["MECANISMOS_TRASLADO"]} · {traslado}' in datos
    expect(page.locator("#hash-publicado")).to_have_text(fila["CODIGO_INTEGRIDAD"])
    image = page.locator("figure img")
    expect(image).to_have_attribute("alt", f"Imagen del acta {clave}")
    assert page.evaluate("document.querySelector('figure img').decode().then(() => true)")


def test_actas_without_data_say_so(page: Page, base_url: str,
                                   csvs: dict[str, CsvEleccion]) -> None:
    csv = csvs["01"]
    sin_acta = clave_con(csv, OBSERVACIONES="Sin Acta por paquete no entregado")
    page.goto(f"{base_url}#/acta/{sin_acta}")
    expect(page.locator(".estado-acta")).to_have_text(
        "Acta no contabilizada · Sin Acta por paquete no entregado")
    expect(page.locator(".sin-imagen")).to_have_text(
        "No hay imagen publicada de esta acta en este corte.")
    pendiente = clave_con(csv, CONTABILIZADA="-")
    page.goto(f"{base_url}#/acta/{pendiente}")
    expect(page.locator(".estado-acta")).to_have_text(
        "Esta acta aún no tiene datos publicados en este corte.")
    excede = clave_con(csv, OBSERVACIONES="Excede Lista Nominal")
    page.goto(f"{base_url}#/acta/{excede}")
    expect(page.locator(".estado-acta")).to_have_text(
        "Acta no contabilizada · Excede Lista Nominal")


def test_hash_check_says_coincide_then_no_coincide_after_tampering(
        page: Page, base_url: str, corte_sitio: CorteSitio,
        csvs: dict[str, CsvEleccion]) -> None:
    clave = clave_con(csvs["01"], CONTABILIZADA="1")
    sha, path = corte_sitio.imagenes[clave]
    assert fila_de(csvs["01"], clave)["CODIGO_INTEGRIDAD"] == sha
    page.goto(f"{base_url}#/acta/{clave}")
    estado = page.get_by_role("status")
    page.get_by_role("button", name="Verificar la imagen").click()
    expect(estado).to_contain_text("El código de integridad coincide.")
    expect(estado).to_contain_text(f"Código calculado: {sha}")
    image = corte_sitio.root / path
    original = image.read_bytes()
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0x01  # one bit
    try:
        image.write_bytes(bytes(tampered))
        page.get_by_role("button", name="Verificar la imagen").click()
        expect(estado).to_contain_text("El código de integridad no coincide.")
        expect(estado).to_contain_text(hashlib.sha256(tampered).hexdigest())
    finally:
        image.write_bytes(original)
    page.get_by_role("button", name="Verificar la imagen").click()
    expect(estado).to_contain_text("El código de integridad coincide.")


def test_a_downloaded_image_can_be_checked_from_disk(page: Page,
                                                     corte_sitio: CorteSitio) -> None:
    """Opened from file:// (no web server): data still load, and a chosen file is hashed."""
    clave = sorted(corte_sitio.imagenes)[0]
    sha, path = corte_sitio.imagenes[clave]
    page.goto((corte_sitio.root / "sitio" / "index.html").as_uri() + f"#/acta/{clave}")
    expect(page.locator("#hash-publicado")).to_have_text(sha)
    page.get_by_text("Verificar una imagen descargada").click()
    page.set_input_files("#archivo-imagen", corte_sitio.root / path)
    expect(page.get_by_role("status")).to_contain_text("El código de integridad coincide.")
    other = corte_sitio.imagenes[sorted(corte_sitio.imagenes)[1]][1]
    page.set_input_files("#archivo-imagen", corte_sitio.root / other)
    expect(page.get_by_role("status")).to_contain_text("El código de integridad no coincide.")


def test_fallback_sha256_matches_hashlib(page: Page, base_url: str) -> None:
    """The pure-JS SHA-256 used where WebCrypto is missing (plain-HTTP mirrors)."""
    page.goto(base_url)
    for n in (0, 1, 55, 56, 63, 64, 65, 1000, 70_000):
        data = bytes((i * 7 + 3) % 256 for i in range(n))
        got = page.evaluate("(a) => PREP_SHA256.js(new Uint8Array(a).buffer)", list(data))
        assert got == hashlib.sha256(data).hexdigest(), n


def test_search_by_clave_acta_seccion_and_casilla(page: Page, base_url: str,
                                                  corte_sitio: CorteSitio,
                                                  csvs: dict[str, CsvEleccion]) -> None:
    clave = clave_con(csvs["02"], CONTABILIZADA="1")
    acta = corte_sitio.catalog.acta(clave)
    assert acta is not None
    page.goto(base_url)
    page.get_by_label("Buscar por sección o clave de acta").fill(f"'{clave}'")  # as in the CSV
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Acta de Diputaciones Locales MR")
    assert page.url.endswith(f"#/acta/{clave}")
    expect(page.locator(".acta-datos")).to_contain_text(clave)

    seccion = acta.casilla.seccion
    page.get_by_label("Buscar por sección o clave de acta").fill(str(seccion))
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("main h1")).to_have_text("Resultados de la búsqueda")
    page.get_by_role("link", name=f"Alcaldías · Distrito {acta.casilla.distrito_id} · "
                                  f"Sección {seccion}").click()
    expect(page.locator("main h1")).to_have_text(f"Alcaldías · Sección {seccion}")

    page.get_by_label("Buscar por sección o clave de acta").fill(acta.casilla.clave.lower())
    page.keyboard.press("Enter")
    page.get_by_role("link", name=f"Jefatura de Gobierno · Casilla {acta.casilla.clave}").click()
    expect(page.locator(".acta-datos")).to_contain_text(f"{acta.casilla.clave}01")

    missing = next(s for s in range(1, 10_000)
                   if s not in {c.seccion for c in corte_sitio.catalog.casillas})
    page.get_by_label("Buscar por sección o clave de acta").fill(str(missing))
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text(f"No hay una sección {missing} en el catálogo")
    page.get_by_label("Buscar por sección o clave de acta").fill("Iztapalapa")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Escriba un número de sección")
    page.goto(f"{base_url}#/acta/099999B010001")
    expect(page.locator("main")).to_contain_text("No hay un acta con la clave 099999B010001")


def test_downloads_page_links_every_file_of_the_package(page: Page, base_url: str,
                                                        corte_sitio: CorteSitio) -> None:
    page.goto(f"{base_url}#/descargas")
    expect(page.locator("main h1")).to_have_text("Descargas y verificación")
    links = page.locator("ul.descargas a")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert hrefs == {f"../{name}" for name in corte_sitio.paquete}
    response = page.request.get(base_url.replace("index.html", "../LEEME.txt"))
    assert response.ok and response.body() == corte_sitio.paquete["LEEME.txt"]


def test_phone_has_no_horizontal_overflow(phone: Page, base_url: str, corte_sitio: CorteSitio,
                                          csvs: dict[str, CsvEleccion]) -> None:
    clave = clave_con(csvs["02"], CONTABILIZADA="1")
    acta = corte_sitio.catalog.acta(clave)
    assert acta is not None
    d, s = acta.casilla.distrito_id, acta.casilla.seccion
    for route in ("#/e/01", "#/e/02", f"#/e/02/d/{d}", f"#/e/02/d/{d}/s/{s}",
                  f"#/acta/{clave}", f"#/buscar/{s}", "#/descargas"):
        phone.goto(f"{base_url}{route}")
        expect(phone.locator("main h1")).to_be_visible()
        phone.wait_for_load_state("load")
        if route.startswith("#/acta/"):  # the long computed hash must wrap too
            phone.get_by_role("button", name="Verificar la imagen").click()
            expect(phone.get_by_role("status")).to_contain_text("coincide")
        width, viewport = phone.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"{route}: {width} px de ancho en {viewport} px"


def test_without_javascript_the_page_offers_the_downloads_and_promises_nothing(
        browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="es-MX")
    try:
        page = context.new_page()
        page.goto(base_url)
        expect(page.locator("noscript h1, main h1").first).to_have_text("Resultados preliminares")
        expect(page.get_by_text("Cargando resultados…")).to_be_hidden()
        expect(page.locator("form#buscar")).to_be_hidden()  # a search box that cannot work
        assert page.locator("ul.descargas a").count() > 0
    finally:
        context.close()


def test_with_javascript_the_search_box_is_shown(page: Page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.locator("form#buscar")).to_be_visible()
    expect(page.get_by_text("Cargando resultados…")).to_be_hidden()  # loaded


def test_the_mesas_are_listed_apart_and_their_acta_is_in_no_seccion(
        page: Page, base_url: str, csvs: dict[str, CsvEleccion]) -> None:
    """A mesa of voto anticipado or en el extranjero belongs to no sección: the
    election's page lists it apart, with its contest, and its acta page leads up to the
    contest, not to a sección."""
    csv = csvs["01"]
    mesas = [f for f in csv.filas if not es_fuera(f) and f["TIPO_CASILLA"] in ("A", "P", "M")]
    assert mesas
    page.goto(f"{base_url}#/e/01")
    seccion = page.locator("#mesas")
    expect(seccion.locator("h2")).to_have_text(
        "Mesas de voto anticipado, prisión preventiva y en el extranjero")
    # Their own summary (they count in the entity alone), then one row per acta.
    expect(seccion.locator("table")).to_have_count(2)
    expect(seccion.locator("table").last.locator("tbody tr")).to_have_count(len(mesas))
    expect(seccion).to_contain_text("no pertenecen a ninguna sección")
    expect(seccion.locator("table").last.locator("tbody tr").first).to_contain_text(
        "Toda la entidad")
    clave = mesas[0]["CLAVE_ACTA"].strip("'")
    seccion.locator(f'a[href="#/acta/{clave}"]').click()
    expect(page.locator("main h1")).to_have_text("Acta de Jefatura de Gobierno")
    expect(page.locator("main .subtitulo")).to_contain_text(
        "no pertenece a ninguna sección · sus votos cuentan en: Toda la entidad")
    assert "Sección" not in page.locator("nav.migas").inner_text()
    expect(page.locator('.acta-datos [data-campo="TOTAL_BOLETAS_SOBRANTES"]')).to_have_count(0)
