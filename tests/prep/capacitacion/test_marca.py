"""Practice material never reaches a real acta (issue 62, «Training material reaches a real
central»).

The audit found practice actas to be real-format Ciudad de México actas with a valid QR
and no mark: a practice image dropped in a real station's scanner folder became the
image of a real acta. With real parts: a practice set prepared as the trainer does, a real
station store whose catalog is the one the practice was drawn from, its scanner's hot
folder, and the printed practice actas rendered by pdftoppm as a scanner sees the page.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from PIL import ImageChops
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from prep.capacitacion.impresion import MARCA
from prep.capacitacion.practica import CATALOG_SCALE
from prep.capacitacion.practica import IMAGES_DIR
from prep.capacitacion.practica import Practica
from prep.capacitacion.practica import prepare
from prep.catalog import generate_catalog
from prep.cli import main
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.qr import Motivo
from prep.station.models import RecordRow
from prep.station.scan.hotfolder import MOTIVO_SUFFIX
from prep.station.scan.hotfolder import RECHAZADAS
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.service import DigitalizacionService
from tests.harness.tools import require_tool
from tests.prep.station.scan_support import station_with_catalog

SEMILLA = 2027
OPTIONS = HotFolderOptions(stable_seconds=2.0, poll_seconds=0.05,
                           unreadable_grace_seconds=10.0, retry_seconds=5.0)


@pytest.fixture(scope="module")
def practica(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Practica]:
    """A CATD 07 practice set, as ``prep capacitacion preparar`` makes it."""
    directory = tmp_path_factory.mktemp("capacitacion") / "capacitacion"
    return directory, prepare(directory, [("Dora Paz", "digitalizador")],
                              "practica-segura-1", catd=7, actas=3, semilla=SEMILLA)


def _imagenes(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RecordRow)
                              .where(RecordRow.kind == "imagen")) or 0)


def test_a_practice_image_in_a_real_scanner_folder_is_refused_and_kept(
        practica: tuple[Path, Practica], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    directory, practice = practica
    # The real station holds the catalog the practice actas were drawn from: the
    # audit's case, where each practice acta named a real acta of the same CATD.
    real = generate_catalog(SEMILLA, CATALOG_SCALE)
    image = directory / IMAGES_DIR / f"{practice.actas[0].clave}.jpg"
    data = image.read_bytes()
    inbox = tmp_path / "escaner"
    inbox.mkdir()
    (inbox / "scan0001.jpg").write_bytes(data)
    clock = [1000.0]
    with station_with_catalog(tmp_path / "estacion", real) as station:
        folder = DigitalizacionService(station, "dora").hot_folder(inbox, options=OPTIONS)
        folder.clock = lambda: clock[0]
        assert folder.poll() == []  # not yet stable
        clock[0] += 3
        with caplog.at_level(logging.WARNING, logger="prep.station.scan"):
            [result] = folder.poll()
        assert result.disposition is Disposition.RECHAZADA
        with Session(station.store.engine) as session:
            assert _imagenes(session) == 0  # no real acta got the practice image
    # The operator reads why, in Spanish, beside the file, which is kept as it came.
    rejected = inbox / RECHAZADAS / "scan0001.jpg"
    assert rejected.read_bytes() == data
    reason = (inbox / RECHAZADAS / f"scan0001.jpg{MOTIVO_SUFFIX}").read_text(encoding="utf-8")
    assert "acta de CAPACITACIÓN" in reason and "No se guardó" in reason, reason
    assert any("acta_de_capacitacion_rechazada" in r.getMessage() for r in caplog.records)


def test_practice_keys_never_name_a_real_acta(practica: tuple[Path, Practica]) -> None:
    _directory, practice = practica
    real = generate_catalog(SEMILLA, CATALOG_SCALE)
    codec = ActaCodec(real)
    for acta in practice.actas:
        assert acta.clave.startswith("99")
        assert real.acta(acta.clave) is None
        with pytest.raises(CodeRejected) as refused:
            codec.decode(acta.clave)  # typed by hand at a real station's acopio
        assert refused.value.motivo is Motivo.CAPACITACION


def test_the_printed_practice_actas_say_capacitacion_where_a_scanner_sees(
        practica: tuple[Path, Practica], tmp_path: Path) -> None:
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    directory, practice = practica
    pdf = tmp_path / "actas.pdf"
    assert main(["capacitacion", "imprimir", "--data-dir", str(directory.parent),
                 "--out", str(pdf)]) == 0
    # The text layer says it on every page...
    text = subprocess.run([require_tool("pdftotext", "poppler-utils"), "-layout", str(pdf),
                           "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    pages = text.split("\f")
    assert sum(MARCA in page for page in pages) == len(practice.actas)
    # ...and the page as a scanner at 200 dpi sees it: the red band along the top, the
    # big letters across it, and the QR, which carries the training mark.
    real = ActaCodec(generate_catalog(SEMILLA, CATALOG_SCALE))
    for number, acta in enumerate(practice.actas, start=1):
        prefix = tmp_path / f"pagina-{number}"
        subprocess.run([pdftoppm, "-r", "200", "-png", "-singlefile", "-f", str(number),
                        "-l", str(number), str(pdf), str(prefix)], check=True, timeout=60)
        page = Image.open(prefix.with_suffix(".png")).convert("RGB")
        w, h = page.size
        band = page.crop((0, 0, w, round(h * 0.02)))
        assert _reddish(band) > band.width * band.height // 2
        middle = page.crop((w // 4, h // 2, 3 * w // 4, 3 * h // 4))
        # The translucent CAPACITACIÓN across the acta.
        assert _reddish(middle) > middle.width * middle.height // 50
        [qr] = [b.text for b in zxingcpp.read_barcodes(page.convert("L")) if b.valid]
        assert qr.startswith("CAPACITACION|") and qr.endswith(acta.clave[-2:])
        with pytest.raises(CodeRejected) as refused:
            real.decode(qr)
        assert refused.value.motivo is Motivo.CAPACITACION


def _reddish(image: Image.Image) -> int:
    """Pixels clearly redder than they are green or blue (the mark's ink)."""
    r, g, b = image.split()
    redder_g = ImageChops.subtract(r, g).point(lambda v: 255 if v > 40 else 0)
    redder_b = ImageChops.subtract(r, b).point(lambda v: 255 if v > 40 else 0)
    return ImageChops.multiply(redder_g, redder_b).histogram()[255]
