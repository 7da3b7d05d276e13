"""The official difusores on the public site (issue 30), in headless Chromium: their own
tab lists each one of DIFUSORES.csv, name and link, in its order; the CSV is offered on
the page and among the downloads; verify-corte checks the file and the site's list."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.corte.difusores import DIFUSORES
from prep.corte.difusores import difusores_csv
from prep.corte.difusores import leer
from prep.corte.difusores import problemas
from prep.corte.simulacro import PREFIJO
from tests.site.corte_sitio import DIFUSORES_OFICIALES
from tests.site.corte_sitio import CorteSitio

TESTIGO = DIFUSORES_OFICIALES[0][2]


def test_the_difusores_tab_lists_difusores_csv(page: Page, base_url: str,
                                               corte_sitio: CorteSitio) -> None:
    filas = leer(corte_sitio.paquete[DIFUSORES])
    assert filas == list(corte_sitio.difusores)
    page.goto(base_url)
    page.locator('#pestanas a[data-clave="difusores"]').click()
    expect(page.locator("h1")).to_have_text("Difusores oficiales")
    items = page.locator("#lista-difusores li")
    expect(items).to_have_count(len(filas))
    for i, (nombre, url, _llave) in enumerate(filas):
        expect(items.nth(i).locator("strong")).to_have_text(nombre)
        enlace = items.nth(i).locator("a")
        expect(enlace).to_have_attribute("href", url)
        expect(enlace).to_have_text(url)
    expect(page.locator(f'#contenido a[href="../{DIFUSORES}"]')).to_have_count(1)
    page.goto(f"{base_url}#/descargas")
    expect(page.locator(f'ul.descargas a[href$="{DIFUSORES}"]')).to_have_count(1)


def test_verify_corte_checks_the_list_and_the_site_agree(corte_sitio: CorteSitio,
                                                         tmp_path: Path) -> None:
    names = sorted(corte_sitio.sitio)
    assert problemas(corte_sitio.root, names) == []
    copia = tmp_path / "corte"
    (copia / "sitio" / "datos").mkdir(parents=True)
    shutil.copy(corte_sitio.root / "sitio/datos/difusores.js", copia / "sitio/datos")
    texto = corte_sitio.paquete[DIFUSORES].decode("utf-8-sig")
    (copia / DIFUSORES).write_bytes(texto.replace(
        "https://prep.uacm.example/", "javascript:alert(1)").encode("utf-8-sig"))
    found = problemas(copia, names)
    assert any("fila 2: dirección inválida «javascript:alert(1)»" in p for p in found), found
    assert any("no lista los mismos difusores" in p for p in found), found
    # A witness key that is not one (issue 67) is named by its row.
    otra = DIFUSORES_OFICIALES[1][2]
    (copia / DIFUSORES).write_bytes(texto.replace(otra, otra[:-6] + "AAAAA=")
                                    .encode("utf-8-sig"))
    found = problemas(copia, names)
    assert any("fila 3: la llave de testigo no es válida" in p for p in found), found


def test_a_drills_list_says_simulacro_on_its_first_line() -> None:
    filas = [("Universidad de Prueba", "https://prep.prueba.example/", TESTIGO)]
    data = difusores_csv(filas, simulacro=True)
    assert data.decode("utf-8-sig").startswith(f"{PREFIJO}DIFUSORES OFICIALES DEL PREP\r\n")
    assert leer(data) == filas
