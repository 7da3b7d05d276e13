"""The printed actas of a simulacro with paper go through a CATD's scanner: every page of
a CATD's PDF, rendered at 200 dpi by pdftoppm as a scanner would deliver it into the
station's hot folder, passes the station's quality check and becomes an ``imagen``
record of its own acta; the page of a code outside the catalog is rejected with the
reason an operator reads (issue 32)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.papel.actas import catd_pdf_name
from prep.papel.actas import plan_catd
from prep.papel.actas import write_catd_pdfs
from prep.papel.esperados import preparar
from prep.station.scan.hotfolder import PROCESADAS
from prep.station.scan.hotfolder import RECHAZADAS
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.service import DigitalizacionResult
from prep.station.scan.service import DigitalizacionService
from prep.station.station import Station
from tests.harness.tools import require_tool
from tests.prep.station.scan_support import station_with_catalog


@pytest.fixture(autouse=True)
def _pdftoppm() -> str:
    return require_tool("pdftoppm", "poppler-utils")


@pytest.fixture
def station(tmp_path: Path, small: Catalog) -> Iterator[Station]:
    with station_with_catalog(tmp_path / "estacion", small) as s:
        yield s


def test_scanned_printed_actas_become_the_images_of_their_actas(
        station: Station, small: Catalog, tmp_path: Path) -> None:
    esperados = preparar(small, 3, empates=1)
    plan = plan_catd(esperados, rellenas=True)[0]
    write_catd_pdfs(esperados, tmp_path / "actas", rellenas=True)
    inbox = tmp_path / "escaner"
    inbox.mkdir()
    for pagina in plan.paginas:
        if not pagina.nota:
            station.acopio(pagina.acta.clave, "ana")
    # The scanner writes one file per sheet, as pdftoppm does per page.
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-f", str(plan.primera),
                    str(tmp_path / "actas" / catd_pdf_name(plan.distrito)),
                    str(tmp_path / "hoja")], check=True, timeout=300)
    hojas = sorted(tmp_path.glob("hoja-*.png"))
    assert len(hojas) == len(plan.paginas)
    for hoja in hojas:
        shutil.move(hoja, inbox / hoja.name)
    folder = DigitalizacionService(station, "dora").hot_folder(inbox)
    clock = [1000.0]
    folder.clock = lambda: clock[0]
    results = folder.poll()
    clock[0] += 60
    results += folder.poll()
    por_hoja = {r.name: r for r in results}
    assert set(por_hoja) == {h.name for h in hojas}
    for hoja, pagina in zip(hojas, plan.paginas, strict=True):
        result = por_hoja[hoja.name]
        if pagina.nota:  # fuera de catálogo: the station says so, keeps nothing
            assert result.disposition is Disposition.RECHAZADA
            assert (inbox / RECHAZADAS / hoja.name).exists()
            assert "no es el de un acta de este PREP" in result.mensaje
            continue
        assert result.disposition is Disposition.PROCESADA, result.mensaje
        assert (inbox / PROCESADAS / hoja.name).exists()
        detail = result.detail
        assert isinstance(detail, DigitalizacionResult)
        assert detail.clave_acta == pagina.acta.clave
        assert station.store.kinds_for(pagina.acta.clave) == ["acopio", "imagen"]
