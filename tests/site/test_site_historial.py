"""An acta's timeline on the public site (issue 29), in headless Chromium: every event
and figure is HISTORIAL.csv's row, consistent with the acta's CSV row; the timeline is
loaded from its bloque of secciones' history file only; HISTORIAL.csv is on the downloads
page."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Page
from playwright.sync_api import expect

from prep.corte.historial import COLUMNS
from prep.corte.historial import COTEJO_DIFERENCIAS
from prep.corte.historial import HISTORIAL
from prep.corte.reader import CsvEleccion
from prep.corte.site_datos import bloques
from tests.site.corte_sitio import CORRECCION_CAMPOS
from tests.site.corte_sitio import CORRECCION_MOTIVO
from tests.site.corte_sitio import CORTE_ANTERIOR
from tests.site.corte_sitio import CorteSitio

NOMBRES = {"ACOPIO": "Acopio", "SIN_ACTA": "Registro sin acta",
           "DIGITALIZACION": "Digitalización", "CAPTURA": "Captura",
           "CORRECCION": "Corrección", "VERIFICACION": "Verificación",
           "VALIDACION": "Datos validados", "COTEJO": "Cotejo",
           "PUBLICACION": "Publicación", "CORRECCION_PUBLICADA": "Corrección publicada"}


def _historial(corte_sitio: CorteSitio) -> dict[str, list[dict[str, str]]]:
    text = corte_sitio.paquete[HISTORIAL].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["HISTORIAL DE LAS ACTAS"]  # the title line, in a real corte too
    assert tuple(rows[1]) == COLUMNS
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows[2:]:
        row = dict(zip(COLUMNS, r, strict=True))
        out.setdefault(row["CLAVE_ACTA"].strip("'"), []).append(row)
    return out


def _acta(csv_e: CsvEleccion, historial: dict[str, list[dict[str, str]]],
          evento: str) -> tuple[str, dict[str, str]]:
    for fila in csv_e.filas:
        clave = fila["CLAVE_ACTA"].strip("'")
        if any(e["EVENTO"] == evento for e in historial.get(clave, ())):
            return clave, fila
    raise AssertionError(f"ninguna acta con {evento}")


def _assert_timeline(page: Page, eventos: list[dict[str, str]]) -> None:
    items = page.locator("#historial li.hist-evento")
    expect(items).to_have_count(len(eventos))
    for i, e in enumerate(eventos):
        item = items.nth(i)
        expect(item.locator('[data-historial="FECHA_HORA"]')).to_have_text(e["FECHA_HORA"])
        expect(item.locator('[data-historial="EVENTO"]')).to_have_text(NOMBRES[e["EVENTO"]])
        sha = item.locator('[data-historial="CODIGO_INTEGRIDAD"]')
        if e["CODIGO_INTEGRIDAD"]:
            expect(sha).to_have_text(e["CODIGO_INTEGRIDAD"])
        else:
            expect(sha).to_have_count(0)
        donde = item.inner_text()
        for columna, texto in (("CATD", f"CATD {e['CATD']}"), ("RONDA", f"ronda {e['RONDA']}"),
                               ("IMAGEN", f"imagen {e['IMAGEN']}"), ("ORIGEN", e["ORIGEN"]),
                               ("DIGITALIZACION", e["DIGITALIZACION"]),
                               ("DETALLE", e["DETALLE"])):
            if e[columna] and e[columna] != "CCV":
                assert texto in donde, (columna, texto, donde)


def test_acta_timeline_is_historial_csv(page: Page, base_url: str, corte_sitio: CorteSitio,
                                        csvs: dict[str, CsvEleccion]) -> None:
    historial = _historial(corte_sitio)
    csv_e = csvs["01"]
    clave, fila = _acta(csv_e, historial, "VERIFICACION")
    eventos = historial[clave]
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{base_url}#/acta/{clave}")
    expect(page.locator("#historial h3")).to_have_text("Historial del acta")
    _assert_timeline(page, eventos)
    # The timeline agrees with the acta's CSV row.
    validacion = next(e for e in eventos if e["EVENTO"] == "VALIDACION")
    assert validacion["CODIGO_INTEGRIDAD"] == fila["CODIGO_INTEGRIDAD"]
    assert validacion["FECHA_HORA"] == fila["FECHA_HORA_VERIFICACION"]
    acopio = next(e for e in eventos if e["EVENTO"] == "ACOPIO")
    assert acopio["FECHA_HORA"] == fila["FECHA_HORA_ACOPIO"]
    assert sum(e["EVENTO"] == "CAPTURA" for e in eventos) == 3
    expect(page.locator("#historial")).to_contain_text("Centro de captura y verificación")
    # The page loaded only what it shows: the acta's row and history come from the
    # bloque of secciones holding it, not from its whole distrito.
    casilla = corte_sitio.catalog.acta(clave).casilla  # type: ignore[union-attr]
    primera = max(s for s in bloques(corte_sitio.catalog, corte_sitio.bloque_casillas)[
        casilla.distrito_id] if s <= casilla.seccion)
    cargados = sorted(u.split("/sitio/datos/", 1)[1] for u in requested if "/sitio/datos/" in u)
    assert cargados == sorted(["indice.js", "secciones.js", "e01.js",
                               f"e01/d{casilla.distrito_id:03d}/s{primera:04d}.js",
                               f"e01/d{casilla.distrito_id:03d}/h{primera:04d}.js"])


def test_sin_acta_timeline_and_downloads(page: Page, base_url: str, corte_sitio: CorteSitio,
                                         csvs: dict[str, CsvEleccion]) -> None:
    historial = _historial(corte_sitio)
    clave, fila = _acta(csvs["02"], historial, "SIN_ACTA")
    eventos = historial[clave]
    page.goto(f"{base_url}#/acta/{clave}")
    _assert_timeline(page, eventos)
    assert eventos[0]["FECHA_HORA"] == fila["FECHA_HORA_ACOPIO"]
    assert eventos[0]["DETALLE"] == fila["OBSERVACIONES"]
    expect(page.locator("#historial")).to_contain_text(
        f"Publicada por primera vez en el corte {eventos[-1]['DETALLE']}")
    page.goto(f"{base_url}#/descargas")
    expect(page.locator(f'ul.descargas a[href$="{HISTORIAL}"]')).to_have_count(1)


def test_a_corrected_actas_timeline_says_why_and_in_which_corte(
        page: Page, base_url: str, corte_sitio: CorteSitio,
        csvs: dict[str, CsvEleccion]) -> None:
    """The cotejo that found differences, the correction round's captures, and the
    correction published: in which corte, which fields and why (HISTORIAL.csv's row)."""
    historial = _historial(corte_sitio)
    clave, _ = _acta(csvs["01"], historial, "CORRECCION_PUBLICADA")
    eventos = historial[clave]
    page.goto(f"{base_url}#/acta/{clave}")
    _assert_timeline(page, eventos)
    [publicada] = [e for e in eventos if e["EVENTO"] == "CORRECCION_PUBLICADA"]
    assert publicada["DETALLE"] == (
        f"{CORTE_ANTERIOR}: corregida tras el cotejo contra el acta en papel (campos "
        f"señalados: {', '.join(CORRECCION_CAMPOS)}); motivo: {CORRECCION_MOTIVO}")
    [cotejo] = [e["DETALLE"] for e in eventos if e["EVENTO"] == "COTEJO"]
    assert cotejo == COTEJO_DIFERENCIAS
    assert sum(e["EVENTO"] == "CORRECCION" for e in eventos) == 2
    item = page.locator('#historial li.hist-evento:has([data-evento="CORRECCION_PUBLICADA"])')
    expect(item).to_contain_text(f"Publicada en el corte {CORTE_ANTERIOR}: ")
    expect(item).to_contain_text(CORRECCION_MOTIVO)
    expect(page.locator('#historial li.hist-evento:has([data-evento="COTEJO"])')
           ).to_contain_text(COTEJO_DIFERENCIAS)
