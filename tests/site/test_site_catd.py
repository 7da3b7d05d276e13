"""The progress per CATD on the public site (issue 29), in headless Chromium: one row per
CATD and one for the CCV, every figure equal to AVANCE_CATD.csv's (thousands separators
aside), a hidden status says «No publicado por decisión del coordinador», the page is
reached from its tab, the CSV from the downloads page; a phone scrolls the table inside
its box, never the page."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.corte.reader import CsvEleccion
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import COLUMNS
from prep.corte.salud_catd import NO_PUBLICADO
from tests.site.conftest import _open_page
from tests.site.corte_sitio import CorteSitio

ESTADOS = {"1": "En línea", "0": "Sin conexión",
           NO_PUBLICADO: "No publicado por decisión del coordinador"}


def _salud(corte_sitio: CorteSitio) -> list[dict[str, str]]:
    text = corte_sitio.paquete[AVANCE_CATD].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["AVANCE POR CENTRO DE ACOPIO (CATD)"]  # its title line
    assert tuple(rows[1]) == COLUMNS
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows[2:]]


def test_catd_page_is_avance_catd_csv(page: Page, base_url: str, corte_sitio: CorteSitio,
                                      csvs: dict[str, CsvEleccion]) -> None:
    salud = _salud(corte_sitio)
    page.goto(base_url)
    page.locator('#pestanas a[data-clave="catd"]').click()
    expect(page.locator("h1")).to_have_text("Avance por centro de acopio (CATD)")
    expect(page.locator('#pestanas a[data-clave="catd"]')).to_have_attribute(
        "aria-current", "page")
    filas = page.locator("#contenido tbody tr")
    expect(filas).to_have_count(len(salud))
    assert salud[-1]["ID_CATD"] == "CCV"
    for i, row in enumerate(salud):
        fila = filas.nth(i)
        centro = "CCV" if row["ID_CATD"] == "CCV" else f"CATD {row['ID_CATD']}"
        expect(fila.locator("th")).to_have_text(centro)
        for columna in COLUMNS[1:]:
            celda = fila.locator(f'[data-columna="{columna}"]')
            valor = row[columna]
            if row["ID_CATD"] == "CCV" and columna in ("PORCENTAJE_ACTAS_PUBLICADAS",
                                                       "ACTAS_ULTIMA_HORA"):
                expect(celda).to_have_count(0)  # the CCV has no actas: «No aplica» once
                continue
            expect(celda).to_have_attribute("data-valor", valor)
            texto = celda.inner_text()
            if columna == "EN_LINEA":
                assert texto == ESTADOS[valor]
            elif valor == "N/A":
                assert texto == "No aplica"
            elif columna == "DISTRITOS_LOCALES":
                assert texto == valor.replace(";", ", ")
            elif columna == "PORCENTAJE_ACTAS_PUBLICADAS":
                assert texto == f"{valor}%"
            elif columna == "MEDIANA_ACOPIO_PUBLICACION" and valor == "-":
                assert texto == "Sin actas"
            else:
                assert texto.replace(",", "") == valor, (centro, columna, texto, valor)
    # The scenario: CATD 02 hidden, CATD 04 offline, the rest online.
    estados = {r["ID_CATD"]: r["EN_LINEA"] for r in salud}
    assert estados["02"] == NO_PUBLICADO and estados["04"] == "0" and estados["01"] == "1"
    expect(filas.nth(1)).to_contain_text("No publicado por decisión del coordinador")
    # The sums are the election CSVs' summaries.
    catds = [r for r in salud if r["ID_CATD"] != "CCV"]
    assert sum(int(r["ACTAS_ESPERADAS"]) for r in catds) == sum(
        int(c.resumen["ACTAS_ESPERADAS"]) for c in csvs.values())
    assert sum(int(r["ACTAS_PUBLICADAS"]) for r in catds) == sum(
        int(c.resumen["ACTAS_CAPTURADAS"]) for c in csvs.values())
    # A distrito link leads to that distrito; the CSV is offered on the page and in
    # the downloads.
    expect(page.locator(f'#contenido a[href="../{AVANCE_CATD}"]')).to_have_count(1)
    page.goto(f"{base_url}#/descargas")
    expect(page.locator(f'ul.descargas a[href$="{AVANCE_CATD}"]')).to_have_count(1)
    page.goto(f"{base_url}#/catd")
    filas.nth(0).locator('[data-columna="DISTRITOS_LOCALES"] a').first.click()
    expect(page.locator("h1")).to_contain_text("Distrito 1")


def test_catd_page_on_a_phone(browser: Browser, base_url: str) -> None:
    for phone in _open_page(browser, 390, 844):
        phone.goto(f"{base_url}#/catd")
        expect(phone.locator("#contenido tbody tr").first).to_be_visible()
        ancho = phone.evaluate("document.documentElement.scrollWidth")
        assert ancho <= 390
