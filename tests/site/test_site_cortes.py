"""The site across a corte switch, in Chromium: a reader whose page is open when the next
corte is published sees only the corte it opened (every figure of its CSV), then «Hay una
actualización», which takes it to the same page of the new corte (issue 30).

The cortes are served the way they are published: ``publicacion/<corte>/`` directories,
``latest`` and ``latest.txt`` moved by the central's own :func:`point_latest`, over HTTP on
127.0.0.1 with nginx's cache headers (docs/difusores.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Page
from playwright.sync_api import Route
from playwright.sync_api import expect

from central.publication.publicar import point_latest
from prep.catalog import generate_catalog
from prep.corte.anexo import TZ
from prep.corte.anexo import format_corte_time
from prep.corte.package import corte_dirname
from prep.corte.package import slug
from prep.corte.reader import CsvEleccion
from prep.corte.reader import read_eleccion_csv
from prep.corte.site import CONTENT_SECURITY_POLICY
from prep.corte.site_datos import NOMBRE_CORTE
from prep.corte.site_datos import parse_data_file
from tests.difusor.nginx import nginx_serving
from tests.difusor.origen import identidad
from tests.site.corte_sitio import SCALE
from tests.site.corte_sitio import SEED
from tests.site.corte_sitio import CorteSitio
from tests.site.corte_sitio import QuietHandler
from tests.site.corte_sitio import build_corte_sitio
from tests.site.corte_sitio import serve
from tests.site.esperado import filas_de
from tests.site.esperado import resumen
from tests.site.registro import publicar_registro
from tests.site.test_site_browser import assert_resumen_equals
from tests.site.test_site_browser import fila_de
from tests.site.test_site_browser import shown

#: One minute of the page's clock: it asks latest.txt for a newer corte every 60 s.
POLL_MS = 61_000


@dataclass(frozen=True)
class Corte:
    sitio: CorteSitio
    nombre: str
    csvs: dict[str, CsvEleccion]

    @property
    def hora(self) -> str:
        """The corte's time as the header shows it (CSV line 2)."""
        return format_corte_time(self.sitio.corte)


@dataclass(frozen=True)
class DosCortes:
    uno: Corte
    dos: Corte
    #: An acta without data in corte 1 and counted in corte 2, with its distrito, sección.
    acta: str
    distrito: int
    seccion: int


def _corte(root: Path, when: datetime, pendientes: float) -> Corte:
    nombre = corte_dirname(when)
    sitio = build_corte_sitio(root / nombre, corte=when, pendientes=pendientes)
    csvs = {codigo: read_eleccion_csv(
                (sitio.root / f"{slug(t.eleccion.nombre)}.csv").read_bytes())
            for codigo, t in sitio.tablas.items()}
    return Corte(sitio, nombre, csvs)


@pytest.fixture(scope="module")
def cortes(tmp_path_factory: pytest.TempPathFactory) -> DosCortes:
    """Two cortes of the same night: 22:00 on election day with half the actas pending,
    and 08:00 the morning after."""
    root = tmp_path_factory.mktemp("cortes")
    catalog = generate_catalog(SEED, SCALE)
    day = datetime.fromisoformat(catalog.fecha_eleccion).replace(tzinfo=TZ)
    uno = _corte(root, (day + timedelta(hours=22)).astimezone(UTC), 0.5)
    dos = _corte(root, (day + timedelta(days=1, hours=8)).astimezone(UTC), 0.02)
    filas_uno = {f["CLAVE_ACTA"]: f for f in uno.csvs["02"].filas}
    fila = next(f for f in dos.csvs["02"].filas if f["CONTABILIZADA"] == "1"
                and filas_uno[f["CLAVE_ACTA"]]["CONTABILIZADA"] not in ("0", "1"))
    return DosCortes(uno, dos, fila["CLAVE_ACTA"].strip("'"),
                     int(fila["ID_DISTRITO_LOCAL"]), int(fila["SECCION"]))


@pytest.fixture
def publicacion(cortes: DosCortes, tmp_path: Path) -> Path:
    """A publicacion/ directory with both cortes, ``latest`` at the first (the second is
    in place as the central renames it, before it moves ``latest``)."""
    pub = tmp_path / "publicacion"
    pub.mkdir()
    for corte in (cortes.uno, cortes.dos):
        os.symlink(corte.sitio.root, pub / corte.nombre)
    # The public log of cortes (issue 67) a real publication keeps beside them: the
    # page reads it, and checks the corte it shows is in it.
    publicar_registro(pub, [cortes.uno.nombre, cortes.dos.nombre])
    point_latest(pub, cortes.uno.nombre)
    return pub


_CORTE_PATH = re.compile(r"/\d{8}_\d{4}(_\d+)?/")


class _NginxLikeHandler(QuietHandler):
    """The cache headers of installer/nginx/prep-difusor.conf: a corte is immutable,
    latest/ lives 5 s, latest.txt is revalidated every time."""

    def end_headers(self) -> None:
        if _CORTE_PATH.match(self.path):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        elif self.path.startswith("/latest/"):
            self.send_header("Cache-Control", "public, max-age=5")
        else:
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()


# Tests ask for ``url`` before ``page``: the server outlives the page, whose last
# requests (the log of cortes, read when a page is shown) may still be under way.
@pytest.fixture
def url(publicacion: Path) -> Iterator[str]:
    with serve(publicacion, _NginxLikeHandler) as base:
        yield base


def assert_distrito(page: Page, corte: Corte, codigo: str, distrito: int) -> None:
    expect(page.locator("main h1")).to_have_text(re.compile(f"· Distrito {distrito}$"))
    expect(page.locator("#corte time")).to_have_text(corte.hora)
    assert_resumen_equals(page, resumen(filas_de(corte.csvs[codigo], corte.sitio.catalog,
                                                 distrito=distrito)))


def test_every_data_file_names_its_corte(cortes: DosCortes) -> None:
    for corte in (cortes.uno, cortes.dos):
        datos = {p: d for p, d in corte.sitio.sitio.items() if p.startswith("sitio/datos/")}
        assert len(datos) > 10
        for path, data in datos.items():
            assert parse_data_file(data)[1][NOMBRE_CORTE] == corte.nombre, path


def test_a_reader_across_a_switch_sees_one_corte_then_the_notice(
        url: str, page: Page, publicacion: Path, cortes: DosCortes) -> None:
    uno, dos, d, s = cortes.uno, cortes.dos, cortes.distrito, cortes.seccion
    assert resumen(filas_de(uno.csvs["02"], uno.sitio.catalog, distrito=d)) != \
        resumen(filas_de(dos.csvs["02"], dos.sitio.catalog, distrito=d))
    page.clock.install()
    page.goto(f"{url}/latest/sitio/index.html#/e/02/d/{d}")
    assert_distrito(page, uno, "02", d)
    # The page now reads its own corte's directory, not latest/.
    assert page.url == f"{url}/{uno.nombre}/sitio/index.html#/e/02/d/{d}"
    expect(page.locator("#corte")).to_have_attribute("data-corte", uno.nombre)
    expect(page.locator("#actualizar")).to_have_count(0)

    point_latest(publicacion, dos.nombre)  # corte 2 is published while the page is open

    # Navigating on, every page is still corte 1, also files first loaded now.
    page.get_by_role("link", name=f"Sección {s}", exact=True).click()
    expect(page.locator("main h1")).to_have_text(re.compile(f"· Sección {s}$"))
    assert_resumen_equals(page, resumen(filas_de(uno.csvs["02"], uno.sitio.catalog,
                                                 distrito=d, seccion=s)))
    page.locator(f'a[href="#/acta/{cortes.acta}"]').click()
    expect(page.locator(".estado-acta")).to_have_text(
        "Esta acta aún no tiene datos publicados en este corte.")  # counted in corte 2
    expect(page.locator("#corte time")).to_have_text(uno.hora)
    page.locator("#pestanas a", has_text="Jefatura").click()
    expect(page.locator("main h1")).to_have_text("Jefatura de Gobierno")
    assert_resumen_equals(page, uno.csvs["01"].resumen)
    page.evaluate(f"location.hash = '#/e/01/d/{d}'")
    assert_distrito(page, uno, "01", d)

    # Within a minute the page finds the new corte and offers it.
    page.clock.fast_forward(POLL_MS)
    aviso = page.locator("#actualizacion")
    expect(aviso).to_contain_text(
        "Hay una actualización: se publicó el corte de información del "
        f"{dos.hora.split(' (')[0][:16]}")  # from its name: to the minute
    assert_distrito(page, uno, "01", d)  # the notice changes nothing on the page
    aviso.get_by_role("link", name="Ver el corte nuevo").click()
    expect(page).to_have_url(f"{url}/{dos.nombre}/sitio/index.html#/e/01/d/{d}")
    assert_distrito(page, dos, "01", d)
    expect(page.locator("#actualizar")).to_have_count(0)


def test_latest_moving_while_the_page_loads_gives_the_new_corte_whole(
        url: str, page: Page, publicacion: Path, cortes: DosCortes) -> None:
    """index.html comes from corte 1, then latest moves: the page shows corte 2 only,
    its header too."""
    uno, dos, d = cortes.uno, cortes.dos, cortes.distrito

    def move_then_answer(route: Route) -> None:
        point_latest(publicacion, dos.nombre)
        route.continue_()

    page.route("**/latest.txt", move_then_answer, times=1)
    page.clock.install()
    with page.expect_response(f"{url}/latest/sitio/index.html") as first:
        page.goto(f"{url}/latest/sitio/index.html#/e/02/d/{d}")
    assert uno.hora.encode() in first.value.body()
    assert_distrito(page, dos, "02", d)
    assert page.url == f"{url}/{dos.nombre}/sitio/index.html#/e/02/d/{d}"
    # latest.txt names the page's corte: no notice.
    with page.expect_response(f"{url}/latest.txt"):
        page.clock.fast_forward(POLL_MS)
    expect(page.locator("#actualizar")).to_have_count(0)


def test_a_data_file_of_another_corte_is_never_shown(
        url: str, page: Page, publicacion: Path, cortes: DosCortes) -> None:
    """Behind a moving link the page cannot pin (not named latest/, say a server's own
    alias), a file of another corte is refused and the notice reloads."""
    uno, dos, d = cortes.uno, cortes.dos, cortes.distrito
    os.symlink(uno.nombre, publicacion / "actual")
    page.goto(f"{url}/actual/sitio/index.html#/e/02/d/{d}")
    assert_distrito(page, uno, "02", d)
    (publicacion / "actual").unlink()
    os.symlink(dos.nombre, publicacion / "actual")
    page.evaluate(f"location.hash = '#/e/01/d/{d}'")  # e01.js and d.js: corte 2's
    expect(page.locator("main h1")).to_have_text("No se pudo mostrar esta página")
    expect(page.locator("main")).to_contain_text("no mezclar cifras de dos cortes")
    expect(page.locator("section.resumen")).to_have_count(0)
    expect(page.locator("#corte time")).to_have_text(uno.hora)
    aviso = page.locator("#actualizacion")
    expect(aviso).to_contain_text("Hay una actualización: se publicó un corte nuevo")
    aviso.get_by_role("button", name="Cargar el corte nuevo").click()
    assert_distrito(page, dos, "01", d)


def test_an_old_cortes_own_address_offers_the_newest_at_once(
        url: str, page: Page, publicacion: Path, cortes: DosCortes) -> None:
    """A saved or shared link to corte 1, opened after corte 2 is out."""
    uno, dos = cortes.uno, cortes.dos
    point_latest(publicacion, dos.nombre)
    page.goto(f"{url}/{uno.nombre}/sitio/index.html#/acta/{cortes.acta}")
    expect(page.locator(".estado-acta")).to_have_text(
        "Esta acta aún no tiene datos publicados en este corte.")
    expect(page.locator("#corte time")).to_have_text(uno.hora)
    aviso = page.locator("#actualizacion")
    expect(aviso).to_contain_text("Hay una actualización")
    aviso.get_by_role("link", name="Ver el corte nuevo").click()
    expect(page).to_have_url(f"{url}/{dos.nombre}/sitio/index.html#/acta/{cortes.acta}")
    expect(page.locator(".estado-acta")).to_contain_text("Acta contabilizada")
    expect(page.locator("#corte time")).to_have_text(dos.hora)
    fila = fila_de(dos.csvs["02"], cortes.acta)
    expect(page.locator('.acta-datos [data-campo="TOTAL_VOTOS_CALCULADO"]')).to_have_text(
        shown(fila["TOTAL_VOTOS_CALCULADO"]))


def test_through_nginx_with_the_shipped_configuration(
        browser: Browser, publicacion: Path, cortes: DosCortes, tmp_path: Path) -> None:
    """The same switch behind Debian's nginx with installer/nginx/prep-difusor.conf over
    HTTPS, entering by ``/`` (its redirect to latest/)."""
    uno, dos, d = cortes.uno, cortes.dos, cortes.distrito
    with nginx_serving(publicacion, identidad(tmp_path / "tls"), tmp_path / "nginx") as port:
        base = f"https://127.0.0.1:{port}"
        context = browser.new_context(ignore_https_errors=True, locale="es-MX",
                                      timezone_id="America/Mexico_City")
        page = context.new_page()
        errores: list[str] = []

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                errores.append(msg.text)

        page.on("console", on_console)
        page.clock.install()
        response = page.goto(f"{base}/")
        assert response is not None  # the page, after the redirect to latest/
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        expect(page.locator("main h1")).to_have_text("Jefatura de Gobierno")
        expect(page).to_have_url(f"{base}/{uno.nombre}/sitio/#/e/01")
        expect(page.locator("#corte time")).to_have_text(uno.hora)
        # The log of cortes beside them is served too: the page found this corte in it.
        expect(page.locator("#testigos")).to_contain_text("Aún sin firmas de difusores")
        point_latest(publicacion, dos.nombre)
        page.evaluate(f"location.hash = '#/e/02/d/{d}'")
        assert_distrito(page, uno, "02", d)
        page.clock.fast_forward(POLL_MS)
        page.locator("#actualizacion").get_by_role("link", name="Ver el corte nuevo").click()
        expect(page).to_have_url(f"{base}/{dos.nombre}/sitio/#/e/02/d/{d}")
        assert_distrito(page, dos, "02", d)
        context.close()
        assert errores == []
