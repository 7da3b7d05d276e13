"""Fixtures of the site tests: one real corte directory per session, served over HTTP on
127.0.0.1, and headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Error
from playwright.sync_api import Page
from playwright.sync_api import Playwright
from playwright.sync_api import sync_playwright

from prep.corte.package import slug
from prep.corte.reader import CsvEleccion
from prep.corte.reader import read_eleccion_csv
from tests.site.corte_sitio import CorteSitio
from tests.site.corte_sitio import build_corte_sitio
from tests.site.corte_sitio import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def corte_sitio(tmp_path_factory: pytest.TempPathFactory) -> CorteSitio:
    """A drill-like corte (140 casillas, 420 actas) with images and site, on disk."""
    return build_corte_sitio(tmp_path_factory.mktemp("corte"))


@pytest.fixture(scope="session")
def csvs(corte_sitio: CorteSitio) -> dict[str, CsvEleccion]:
    """Election code → its published CSV, parsed strictly."""
    return {codigo: read_eleccion_csv(
                (corte_sitio.root / f"{slug(t.eleccion.nombre)}.csv").read_bytes())
            for codigo, t in corte_sitio.tablas.items()}


@pytest.fixture(scope="session")
def base_url(corte_sitio: CorteSitio) -> Iterator[str]:
    """URL of the site of the corte, served from its directory."""
    with serve(corte_sitio.root) as url:
        yield f"{url}/sitio/index.html"


# Package scope: Playwright's sync API keeps an event loop running on the main thread
# while it lives, and tests collected after tests/site that call asyncio.run would fail.
@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    assert CHROMIUM.exists(), "falta /usr/bin/chromium: ejecute scripts/bootstrap.sh --test"
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    b = playwright_session.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


def _open_page(browser: Browser, width: int, height: int) -> Iterator[Page]:
    """A fresh page; any script error or console error on it fails the test."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale="es-MX", timezone_id="America/Mexico_City")
    page = context.new_page()
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"consola: {msg.text}")

    def on_error(exc: Error) -> None:
        problems.append(f"error de script: {exc}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    yield page
    context.close()
    assert problems == []


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page."""
    yield from _open_page(browser, 1280, 900)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (390×844, an iPhone 12-14)."""
    yield from _open_page(browser, 390, 844)
