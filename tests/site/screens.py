"""Screenshots of the public site for the docs: ``python3 -m tests.site.screens docs/screens``.

Builds the same corte the site tests use, serves it on 127.0.0.1 and photographs the
entidad header and an acta page (after its integrity check) on a desktop and a phone,
and the progress per CATD (``#/catd``, issue 29) on a desktop.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import expect
from playwright.sync_api import sync_playwright

from tests.site.conftest import CHROMIUM
from tests.site.conftest import CHROMIUM_ARGS
from tests.site.corte_sitio import build_corte_sitio
from tests.site.corte_sitio import serve

SIZES = {"escritorio": (1280, 900), "telefono": (390, 844)}


def take(out: Path) -> list[Path]:
    """Write the screenshots into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        corte = build_corte_sitio(Path(tmp))
        clave = next(c for c in sorted(corte.imagenes) if c.endswith("01"))
        with serve(corte.root) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for device, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height},
                                              device_scale_factor=1)
                page = context.new_page()
                page.goto(f"{url}/sitio/index.html#/e/01")
                expect(page.locator("li.voto").first).to_be_visible()
                written.append(_shot(page, out / f"sitio_encabezado_{device}.png",
                                     full=device == "escritorio"))
                page.goto(f"{url}/sitio/index.html#/acta/{clave}")
                page.get_by_role("button", name="Verificar la imagen").click()
                expect(page.get_by_role("status")).to_contain_text("coincide")
                page.evaluate("document.querySelector('figure img').decode()")
                if device == "telefono":
                    page.locator(".integridad").scroll_into_view_if_needed()
                written.append(_shot(page, out / f"sitio_acta_{device}.png",
                                     full=device == "escritorio"))
                if device == "escritorio":
                    page.goto(f"{url}/sitio/index.html#/catd")
                    expect(page.locator("#contenido tbody tr").first).to_be_visible()
                    written.append(_shot(page, out / "sitio_catd_escritorio.png", full=True))
                context.close()
            browser.close()
    return written


def _shot(page: Page, path: Path, full: bool) -> Path:
    page.screenshot(path=str(path), full_page=full)
    return path


if __name__ == "__main__":
    for shot in take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screens")):
        print(shot)
