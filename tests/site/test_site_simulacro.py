"""A drill's site in headless Chromium: the SIMULACRO banner is on screen on every route
(found by following the site's own links, so a new kind of page is covered too), however
far the page is scrolled, with and without JavaScript, on a phone; a real corte's site
never shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.corte.simulacro import BANNER_ID
from tests.site.corte_sitio import CorteSitio
from tests.site.corte_sitio import build_corte_sitio
from tests.site.corte_sitio import serve

#: Routes of one kind differ only in their numbers and claves.
_KIND = re.compile(r"[0-9A-Z]{6,}|\d+")
PER_KIND = 2
MAX_ROUTES = 60


@pytest.fixture(scope="module")
def drill_site(tmp_path_factory: pytest.TempPathFactory) -> CorteSitio:
    return build_corte_sitio(tmp_path_factory.mktemp("simulacro"), simulacro=True)


@pytest.fixture(scope="module")
def drill_url(drill_site: CorteSitio) -> Iterator[str]:
    with serve(drill_site.root) as url:
        yield f"{url}/sitio/index.html"


def _open(page: Page, url: str) -> None:
    """A fresh load of ``url`` (not a hash change in a page already loaded), rendered."""
    page.goto("about:blank")
    page.goto(url)
    expect(page.locator("main h1")).to_be_visible()


def _routes(page: Page, url: str, site: CorteSitio) -> list[str]:
    """Every kind of route the site links to, a couple of each, starting from each
    election, the downloads, a search and a route that does not exist."""
    seccion = site.catalog.casillas[0].seccion
    queue = [*(f"#/e/{codigo}" for codigo in site.tablas), "#/descargas",
             f"#/buscar/{seccion}", "#/no-existe"]
    seen: list[str] = []
    kinds: dict[str, int] = {}
    while queue and len(seen) < MAX_ROUTES:
        route = queue.pop(0)
        kind = _KIND.sub("N", route)
        if route in seen or kinds.get(kind, 0) >= PER_KIND:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        seen.append(route)
        _open(page, f"{url}{route}")
        hrefs = page.eval_on_selector_all(
            "a[href^='#/']", "links => links.map(a => a.getAttribute('href'))")
        queue += [h for h in hrefs if h not in seen]
    return seen


def _assert_banner(page: Page, route: str) -> None:
    banner = page.locator(f"#{BANNER_ID}")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("SIMULACRO")
    expect(banner).to_contain_text("no son resultados de ninguna elección")
    assert page.title().startswith("SIMULACRO · "), route
    width = page.evaluate("window.innerWidth")
    box = banner.bounding_box()
    assert box is not None and box["y"] <= 0.5 and box["width"] >= width - 1, (route, box)
    size = banner.locator("strong").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 24, (route, size)
    # Still on screen at the bottom of the longest page.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(banner).to_be_in_viewport()
    box = banner.bounding_box()
    assert box is not None and box["y"] <= 0.5, (route, "al desplazarse", box)


def test_the_banner_is_on_screen_on_every_route(page: Page, drill_url: str,
                                                drill_site: CorteSitio) -> None:
    routes = _routes(page, drill_url, drill_site)
    kinds = {_KIND.sub("N", r) for r in routes}
    assert {"#/e/N", "#/e/N/d/N", "#/e/N/d/N/s/N", "#/acta/N", "#/descargas",
            "#/buscar/N", "#/no-existe"} <= kinds
    for route in routes:
        _open(page, f"{drill_url}{route}")
        _assert_banner(page, route)


def test_the_banner_fits_a_phone(phone: Page, drill_url: str, drill_site: CorteSitio) -> None:
    clave = next(iter(drill_site.imagenes))  # an acta with its image
    for route in ("#/e/01", f"#/acta/{clave}", "#/descargas"):
        _open(phone, f"{drill_url}{route}")
        _assert_banner(phone, route)
        width, viewport = phone.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"{route}: {width} px de ancho en {viewport} px"


def test_without_javascript_the_banner_is_there_too(browser: Browser, drill_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="es-MX")
    try:
        page = context.new_page()
        page.goto(drill_url)
        expect(page.locator("noscript h1, main h1").first).to_have_text(
            "Resultados preliminares")
        _assert_banner(page, "sin JavaScript")
    finally:
        context.close()


def test_a_real_site_never_shows_it(page: Page, base_url: str,
                                    corte_sitio: CorteSitio) -> None:
    for route in _routes(page, base_url, corte_sitio):
        _open(page, f"{base_url}{route}")
        assert page.locator(f"#{BANNER_ID}, .simulacro").count() == 0, route
        assert "SIMULACRO" not in page.title(), route
        assert "SIMULACRO" not in page.locator("body").inner_text().upper(), route


def test_every_page_file_of_a_drill_site_opens_with_the_banner(
        drill_site: CorteSitio) -> None:
    pages = sorted(Path(drill_site.root, "sitio").rglob("*.html"))
    assert pages
    opening = re.compile(rf'<body[^>]*>\s*<div class="simulacro" id="{BANNER_ID}"')
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert opening.search(text), path
        assert "<title>SIMULACRO · " in text, path
