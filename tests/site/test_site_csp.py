"""The site's Content Security Policy (issue 33): it allows only the site's own files,
the site works under it from file:// and over HTTP, and Chromium reports no violation
(the ``page`` fixture also fails on any console error, which is where Chromium writes
them)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.corte.site import CONTENT_SECURITY_POLICY
from tests.difusor.nginx import CONF
from tests.site.corte_sitio import CorteSitio

#: Records every violation the page reports, before any of the site's own scripts run.
WATCH = """
window.__violaciones = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violaciones.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    page.add_init_script(WATCH)
    yield page


def _violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__violaciones"))


def _walk(page: Page, start: str, clave: str) -> None:
    """Home, an election, a distrito, an acta with its image, the search and the
    downloads: the pages that load data files, styles and images."""
    page.goto(start)
    expect(page.locator("main h1")).to_have_text("Jefatura de Gobierno")
    expect(page.locator("#votos-partido li.voto").first).to_be_visible()
    page.locator(".pestanas a").nth(1).click()
    expect(page.locator("main h1")).not_to_have_text("Jefatura de Gobierno")
    page.goto(f"{start}#/acta/{clave}")
    expect(page.locator("#hash-publicado")).to_have_count(1)
    image = page.locator("figure img")
    expect(image).to_be_visible()
    # Visible means laid out, not loaded: wait for the decoded image (a blocked or
    # broken one never gets a natural width, and the wait fails).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    page.locator("#q").fill(clave)
    page.locator("#q").press("Enter")
    expect(page).to_have_url(re.compile(f"#/acta/{clave}$"))
    page.goto(f"{start}#/descargas")
    expect(page.locator("main h1")).to_be_visible()


def test_each_page_declares_the_policy_before_anything_loads(corte_sitio: CorteSitio) -> None:
    page = (corte_sitio.root / "sitio" / "index.html").read_text(encoding="utf-8")
    head = page[:page.index("<link")]
    assert (f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
            in head)
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    # No inline script, style or event handler is left for the policy to block.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


def test_nginx_sends_the_same_policy_for_every_corte() -> None:
    text = CONF.read_text()
    headers = re.findall(r'add_header Content-Security-Policy "([^"]*)" always;', text)
    assert headers == [CONTENT_SECURITY_POLICY] * 2  # latest/ and each corte's directory


def test_the_site_works_from_disk_under_the_policy(watched: Page,
                                                   corte_sitio: CorteSitio) -> None:
    clave = sorted(corte_sitio.imagenes)[0]
    _walk(watched, (corte_sitio.root / "sitio" / "index.html").as_uri(), clave)
    assert _violations(watched) == []


def test_the_site_works_over_http_under_the_policy(watched: Page, base_url: str,
                                                   corte_sitio: CorteSitio) -> None:
    clave = sorted(corte_sitio.imagenes)[0]
    _walk(watched, base_url, clave)
    watched.goto(f"{base_url}#/acta/{clave}")
    watched.get_by_role("button", name="Verificar la imagen").click()  # fetch(): connect-src
    expect(watched.get_by_role("status")).to_contain_text("El código de integridad coincide.")
    assert _violations(watched) == []


def test_the_policy_is_enforced(browser: Browser, base_url: str) -> None:
    """What the policy is for: an injected inline script, or a script or image from
    another host, does not run or load, and the browser says so."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(WATCH)
    page.goto(base_url)
    expect(page.locator("main h1")).to_have_text("Jefatura de Gobierno")
    page.evaluate("""() => {
      var s = document.createElement("script");
      s.textContent = "window.__inyectado = true;";
      document.body.appendChild(s);
      var i = document.createElement("img");
      i.src = "http://127.0.0.2:9/rastreo.png";
      document.body.appendChild(i);
      var d = document.createElement("div");
      d.setAttribute("style", "color: red");
      document.body.appendChild(d);
    }""")
    page.wait_for_function("window.__violaciones.length >= 3")
    assert page.evaluate("window.__inyectado === undefined")
    assert sorted(v.split(" ")[0] for v in _violations(page)) == [
        "img-src", "script-src-elem", "style-src-attr"]
    context.close()
