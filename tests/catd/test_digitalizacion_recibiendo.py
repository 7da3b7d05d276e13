"""The digitalización screen says a file is arriving the moment it lands in the hot
folder (issue 35: a scan showed up 2.7–4.8 s later with nothing on screen meanwhile):
«Recibiendo …» while the scanner is still writing it, then the stored image, and
«Esperando imágenes del escáner.» again."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from catd.context import AppContext
from catd.digitalizacion.presenter import STABLE_SECONDS
from catd.digitalizacion.presenter import DigitalizacionPresenter
from prep.catalog import generate_catalog
from prep.station.scan.hotfolder import HotFolderOptions
from tests.catd.test_digitalizacion import DORA
from tests.catd.test_digitalizacion import screen
from tests.prep.station.scan_support import acta_jpeg
from tests.prep.station.scan_support import station_with_catalog

#: The scanner pauses mid-file for longer than the stable time: the file waits, shown.
SLOW_WRITER = HotFolderOptions(stable_seconds=0.15, poll_seconds=0.05,
                               unreadable_grace_seconds=20.0, retry_seconds=0.5)


def test_a_file_being_written_is_shown_as_arriving(tmp_path: Path, context: AppContext,
                                                   qtbot: QtBot) -> None:
    catalog = generate_catalog(7, 0.01)
    acta = next(a for a in catalog.iter_actas() if a.casilla.distrito_id == 7)
    with station_with_catalog(tmp_path / "estacion", catalog) as station:
        station.acopio(acta.clave, "op-ana")
        presenter, view = screen(station, context.tasks, qtbot, SLOW_WRITER)
        view.resize(1024, 700)
        view.show()
        qtbot.waitExposed(view)
        presenter.start()
        try:
            qtbot.waitUntil(lambda: view.folder_status.text()
                            == "Esperando imágenes del escáner.")
            folder = station.data_dir / "escaner"
            image = acta_jpeg(acta)
            (folder / "acta-0001.jpg").write_bytes(image[: len(image) // 2])
            qtbot.waitUntil(lambda: view.folder_status.text()
                            == "Recibiendo «acta-0001.jpg» del escáner…", timeout=3_000)
            assert view.table.rowCount() == 0  # not taken: still being written
            (folder / "acta-0002.jpg").write_bytes(image[:1000])
            qtbot.waitUntil(lambda: view.folder_status.text()
                            == "Recibiendo 2 imágenes del escáner…", timeout=3_000)

            (folder / "acta-0002.jpg").unlink()  # the scanner gave up on that one
            (folder / "acta-0001.jpg").write_bytes(image)  # and finished this one
            qtbot.waitUntil(lambda: station.store.kinds_for(acta.clave)
                            == ["acopio", "imagen"], timeout=10_000)
            qtbot.waitUntil(lambda: view.folder_status.text()
                            == "Esperando imágenes del escáner.", timeout=3_000)
            assert view.table.rowCount() == 1
        finally:
            presenter.stop()


def test_the_screen_takes_a_finished_file_after_one_quiet_second(
        tmp_path: Path, context: AppContext) -> None:
    """The whole-image check catches a file still being written, so the screen waits
    one second of quiet, not the hot folder's two."""
    with station_with_catalog(tmp_path / "estacion", generate_catalog(7, 0.01)) as station:
        presenter = DigitalizacionPresenter(station, DORA, context.tasks)
        assert presenter.options.stable_seconds == STABLE_SECONDS == 1.0
        assert HotFolderOptions().stable_seconds == 2.0
