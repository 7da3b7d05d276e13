"""The digitalización screen over a real station store holding a catalog: scanner files
dropped in the hot folder (good, truncated, blank, wrong QR, no acopio, a re-scan)
appear in the list with their outcome and become imagen records; an unreadable QR is
associated by hand only after a second Enter that shows the acta; the folder can be
changed and is remembered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.context import AppContext
from catd.digitalizacion.presenter import Association
from catd.digitalizacion.presenter import DigitalizacionPresenter
from catd.digitalizacion.view import DigitalizacionView
from catd.screens import screens_for
from catd.taskman import TaskManager
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.sintetico.acta_image import blank_page
from prep.station.accounts import Operator
from prep.station.digitalizacion import ScannerSettings
from prep.station.scan.hotfolder import PROCESADAS
from prep.station.scan.hotfolder import RECHAZADAS
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.station import Station
from tests.catd.conftest import type_into
from tests.prep.station.scan_support import acta_jpeg
from tests.prep.station.scan_support import nth_acta
from tests.prep.station.scan_support import station_with_catalog
from tests.prep.station.support import offline_station

FAST = HotFolderOptions(stable_seconds=0.15, poll_seconds=0.05,
                        unreadable_grace_seconds=0.3, retry_seconds=0.5)
DORA = Operator("op-dora", "Dora Digitaliza", "digitalizador", "07")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(7, 0.01)


@pytest.fixture
def station(tmp_path: Path, catalog: Catalog) -> Iterator[Station]:
    with station_with_catalog(tmp_path / "estacion", catalog) as opened:
        yield opened


@pytest.fixture
def tasks(context: AppContext) -> TaskManager:
    """The workstation's worker lanes (``context`` also runs the GUI-thread collector)."""
    return context.tasks


def screen(station: Station, tasks: TaskManager, qtbot: QtBot, options: HotFolderOptions
           ) -> tuple[DigitalizacionPresenter, DigitalizacionView]:
    """Dora's digitalización screen at ``station`` and its presenter, neither shown nor
    started."""
    presenter = DigitalizacionPresenter(station, DORA, tasks, options)
    view = DigitalizacionView(presenter)
    presenter.setParent(view)
    qtbot.addWidget(view)
    return presenter, view


def _open(station: Station, tasks: TaskManager, qtbot: QtBot) -> DigitalizacionView:
    presenter, view = screen(station, tasks, qtbot, FAST)
    view.resize(1366, 700)
    view.show()
    qtbot.waitExposed(view)
    presenter.start()
    qtbot.waitUntil(lambda: view.folder_status.text() == "Esperando imágenes del escáner.")
    return view


@pytest.fixture
def view(station: Station, tasks: TaskManager, qtbot: QtBot) -> Iterator[DigitalizacionView]:
    opened = _open(station, tasks, qtbot)
    yield opened
    opened.presenter.stop()


def _inbox(station: Station) -> Path:
    return station.data_dir / "escaner"


def _rows(view: DigitalizacionView) -> list[str]:
    """The list's results as the operator reads them, newest first."""
    cells = [view.table.item(r, 1) for r in range(view.table.rowCount())]
    return [cell.text() if cell is not None else "" for cell in cells]


def _row_of(view: DigitalizacionView, name: str) -> int:
    """Where the file ``name`` is listed (its name is in the row's tooltip)."""
    item_id = next(i.id for i in view.presenter.items.values() if i.name == name)
    row = view.row_of(item_id)
    cell = view.table.item(row, 1)
    assert cell is not None and cell.toolTip().startswith(f"{name}: ")
    return row


def _result_of(view: DigitalizacionView, name: str) -> str:
    return _rows(view)[_row_of(view, name)]


def _stage(view: DigitalizacionView) -> Association:
    return view.presenter.association.stage


def _select(view: DigitalizacionView, qtbot: QtBot, name: str) -> None:
    view.table.setCurrentCell(_row_of(view, name), 0)
    qtbot.waitUntil(lambda: view.preview.has_image or (view.preview.notice.isVisible()
                    and view.preview.notice.text() != "Cargando la imagen…"))


def test_files_in_the_hot_folder_appear_with_their_outcome(
        view: DigitalizacionView, station: Station, catalog: Catalog, qtbot: QtBot) -> None:
    good, other = nth_acta(catalog, 3), nth_acta(catalog, 4)
    station.acopio(good.clave, "ana")
    good_bytes = acta_jpeg(good)
    inbox = _inbox(station)
    (inbox / "scan0001.jpg").write_bytes(good_bytes)
    (inbox / "scan0002.jpg").write_bytes(acta_jpeg(other)[:60_000])  # cut short
    (inbox / "scan0003.jpg").write_bytes(blank_page())
    (inbox / "scan0004.jpg").write_bytes(acta_jpeg(other, qr_text="09|XYZ"))
    qtbot.waitUntil(lambda: view.table.rowCount() == 4, timeout=20_000)

    assert _result_of(view, "scan0001.jpg") == f"✓ {good.clave}"
    assert _result_of(view, "scan0002.jpg") == "✗ Imagen incompleta"
    assert _result_of(view, "scan0003.jpg") == "✗ Página en blanco"
    assert _result_of(view, "scan0004.jpg") == "✗ El QR no es de un acta"
    assert station.store.kinds_for(good.clave) == ["acopio", "imagen"]
    assert station.store.kinds_for(other.clave) == []
    assert view.digitalizadas.number.text() == "1"
    assert view.rechazadas.number.text() == "3"
    assert sorted(p.name for p in (inbox / PROCESADAS).iterdir()) == ["scan0001.jpg"]

    _select(view, qtbot, "scan0001.jpg")
    detail = view.detail
    assert detail.headline.text() == "Imagen guardada"
    assert detail.property("tone") == "ok"
    assert detail.eleccion.text() == "Jefatura de Gobierno"
    assert detail.seccion.value.text() == f"{good.casilla.seccion:04d}"
    assert detail.clave.text() == good.clave
    assert not detail.banner.isVisible() and not detail.associate.isVisible()
    assert detail.file.text().startswith("scan0001.jpg · ")
    review = [(m.text(), label.text(), v.text()) for m, label, v in detail.review.rows]
    assert review == [("✓", "Archivo", f"JPEG completo · {len(good_bytes) / 1024:.1f} KB · "
                                       "1700 × 2200 px"),
                      ("✓", "Resolución", "200 dpi"), ("✓", "Contenido", "página con texto"),
                      ("✓", "Código QR", f"acta {good.clave}"), ("✓", "Inclinación", "0.0°")]
    assert view.preview.has_image
    assert view.preview.image_size() == (1700, 2200)  # letter at 200 dpi, as scanned
    record = json.loads(station.store.records()[-1][2])
    assert station.blobs.read(record["body"]["sha256"]) == good_bytes  # original bytes

    _select(view, qtbot, "scan0002.jpg")
    assert detail.property("tone") == "error"
    assert "está incompleta" in detail.message.text()
    assert "vuelva a digitalizar el acta" in detail.message.text()
    assert not view.preview.has_image
    assert "no es una imagen completa" in view.preview.notice.text()
    motivo = (inbox / RECHAZADAS / "scan0002.jpg.motivo.txt").read_text(encoding="utf-8")
    assert "incompleta" in motivo

    _select(view, qtbot, "scan0003.jpg")
    assert "revise que el acta esté cara abajo" in detail.message.text()
    assert not detail.associate.isVisible()  # a blank page has no acta to name

    _select(view, qtbot, "scan0004.jpg")
    assert "no es el de un acta de este PREP" in detail.message.text()
    assert detail.associate.isVisible()  # readable image, useless QR: by hand


def test_low_resolution_says_to_set_the_scanner(view: DigitalizacionView, station: Station,
                                                catalog: Catalog, qtbot: QtBot) -> None:
    (_inbox(station) / "baja.jpg").write_bytes(acta_jpeg(nth_acta(catalog, 5), dpi=150))
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)
    assert _result_of(view, "baja.jpg") == "✗ Resolución insuficiente"
    assert view.detail.headline.text() == "Resolución insuficiente"  # newest is selected
    assert "configure el escáner a 200 o 300 dpi" in view.detail.message.text()
    resolution = view.detail.review.rows[1]
    assert [w.text() for w in resolution] == ["✗", "Resolución", "150 dpi · mínimo 200"]


def test_an_acta_without_acopio_is_stored_with_a_visible_warning(
        view: DigitalizacionView, station: Station, catalog: Catalog, qtbot: QtBot) -> None:
    waiting = [nth_acta(catalog, n) for n in (10, 11)]
    for acta in waiting:
        station.acopio(acta.clave, "ana")
    lone = nth_acta(catalog, 6)
    (_inbox(station) / "sola.jpg").write_bytes(acta_jpeg(lone))
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)

    assert _result_of(view, "sola.jpg") == f"✓ {lone.clave} · sin acopio"
    assert station.store.kinds_for(lone.clave) == ["imagen"]
    detail = view.detail
    assert detail.headline.text() == "Imagen guardada · sin acopio"
    assert detail.property("tone") == "warn"
    assert detail.banner.isVisible()
    assert detail.banner.text().startswith("SIN ACOPIO")
    assert "entréguela al acopiador" in detail.banner.text()
    assert view.sin_acopio.number.text() == "1"
    assert view.pendientes.number.text() == "2"  # acopiadas that still lack an image


def test_a_rescan_replaces_the_previous_image_and_says_so(
        view: DigitalizacionView, station: Station, catalog: Catalog, qtbot: QtBot) -> None:
    acta = nth_acta(catalog, 7)
    station.acopio(acta.clave, "ana")
    inbox = _inbox(station)
    (inbox / "scan0001.jpg").write_bytes(acta_jpeg(acta, seed=1))
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)
    assert view.pendientes.number.text() == "0"
    # The scanner restarted its numbering: the same name again, a new scan of the paper.
    (inbox / "scan0001.jpg").write_bytes(acta_jpeg(acta, seed=2))
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=20_000)

    assert _rows(view) == [f"✓ {acta.clave} · reemplazo", f"✓ {acta.clave}"]
    assert station.store.kinds_for(acta.clave) == ["acopio", "imagen", "imagen"]
    records = [json.loads(c) for _, _, c in station.store.records()]
    first, second = records[-2:]
    assert second["replaces"] == first["id"]
    detail = view.detail
    assert detail.headline.text() == "Imagen guardada · reemplaza a la anterior"
    assert detail.banner.isVisible() and detail.banner.text().startswith("REEMPLAZO")
    assert "sustituye a la imagen anterior" in detail.banner.text()
    assert view.digitalizadas.number.text() == "2"
    assert sorted(p.name for p in (inbox / PROCESADAS).iterdir()) == ["scan0001-1.jpg",
                                                                      "scan0001.jpg"]


def test_manual_association_shows_the_acta_and_needs_a_second_enter(
        view: DigitalizacionView, station: Station, catalog: Catalog, qtbot: QtBot) -> None:
    acta, wrong = nth_acta(catalog, 8), nth_acta(catalog, 9)
    station.acopio(acta.clave, "ana")
    inbox = _inbox(station)
    (inbox / "sinqr.jpg").write_bytes(acta_jpeg(acta, qr_text=""))
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)
    assert _result_of(view, "sinqr.jpg") == "✗ QR ilegible"
    assert "asóciela a mano escribiendo su CLAVE_ACTA" in view.detail.message.text()

    associate = view.detail.associate
    QTest.keyClick(view.table, Qt.Key.Key_F2)
    assert associate.clave.hasFocus()
    type_into(associate.clave, "0901")
    QTest.keyClick(associate.clave, Qt.Key.Key_Return)
    assert associate.message.property("tone") == "error"
    assert "no es un QR de acta ni una CLAVE_ACTA" in associate.message.text()
    assert _stage(view) is Association.NONE

    associate.clave.clear()
    type_into(associate.clave, wrong.clave)  # a slip of the operator…
    QTest.keyClick(associate.clave, Qt.Key.Key_Return)
    assert _stage(view) is Association.CONFIRM
    assert associate.found.isVisible()
    assert associate.found.text().startswith(wrong.clave)
    assert f"sección {wrong.casilla.seccion:04d}" in associate.found.text()
    assert station.store.kinds_for(wrong.clave) == []  # nothing until confirmed
    QTest.keyClick(associate.clave, Qt.Key.Key_Escape)  # …seen on screen and corrected
    assert _stage(view) is Association.NONE
    assert not associate.found.isVisible()

    associate.clave.clear()
    type_into(associate.clave, acta.clave.lower())
    QTest.keyClick(associate.clave, Qt.Key.Key_Return)
    assert associate.found.text().startswith(acta.clave)
    assert associate.submit.text() == "Guardar (Enter)"
    # The scanner goes on meanwhile: a new file is listed, the form keeps its place.
    (inbox / "siguiente.jpg").write_bytes(acta_jpeg(nth_acta(catalog, 14)))
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=20_000)
    assert _result_of(view, "siguiente.jpg").startswith("✓ ")
    assert view.table.currentRow() == _row_of(view, "sinqr.jpg")
    assert _stage(view) is Association.CONFIRM
    assert associate.clave.hasFocus() and associate.clave.text() == acta.clave.lower()
    assert station.store.kinds_for(acta.clave) == ["acopio"]
    QTest.keyClick(associate.clave, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: station.store.kinds_for(acta.clave) == ["acopio", "imagen"],
                    timeout=20_000)
    qtbot.waitUntil(lambda: _result_of(view, "sinqr.jpg") == f"✓ {acta.clave} · a mano")

    assert station.store.kinds_for(wrong.clave) == []
    assert view.detail.headline.text() == "Asociada a mano · imagen guardada"
    assert view.detail.clave.text() == acta.clave
    assert not associate.isVisible()
    assert view.table.hasFocus()
    assert view.digitalizadas.number.text() == "2"
    assert view.rechazadas.number.text() == "0"
    assert sorted(p.name for p in (inbox / PROCESADAS).iterdir()) == ["siguiente.jpg",
                                                                     "sinqr.jpg"]
    assert list((inbox / RECHAZADAS).iterdir()) == []


def test_logging_out_while_a_file_is_processed_loses_nothing(
        station: Station, tasks: TaskManager, catalog: Catalog, qtbot: QtBot) -> None:
    view = _open(station, tasks, qtbot)
    acta = nth_acta(catalog, 13)
    inbox = _inbox(station)
    (inbox / "a.jpg").write_bytes(acta_jpeg(acta))
    qtbot.waitUntil(lambda: not (inbox / "a.jpg").exists(), timeout=20_000)
    shiboken6.delete(view)  # what logging out does to the screen, at once
    qtbot.waitUntil(lambda: tasks.pending == 0, timeout=20_000)
    assert station.store.kinds_for(acta.clave) == ["imagen"]
    assert [p.name for p in (inbox / PROCESADAS).iterdir()] == ["a.jpg"]


def test_the_folder_can_be_changed_and_is_remembered(
        view: DigitalizacionView, station: Station, catalog: Catalog, tmp_path: Path,
        qtbot: QtBot) -> None:
    assert view.folder_path.text() == str(_inbox(station))
    (tmp_path / "red").write_text("un archivo, no una carpeta")
    view.presenter.change_folder(tmp_path / "red" / "escaneos")
    qtbot.waitUntil(lambda: view.folder_status.property("tone") == "error")
    assert view.folder_status.text() == (
        f"No se puede usar la carpeta {tmp_path / 'red' / 'escaneos'}: parte de la ruta es un "
        "archivo, no una carpeta. Se sigue usando la anterior.")
    assert view.folder_path.text() == str(_inbox(station))
    assert ScannerSettings.load(station.data_dir).folder == _inbox(station)

    (tmp_path / "red").unlink()
    elsewhere = tmp_path / "red" / "escaneos"
    view.presenter.change_folder(elsewhere)
    qtbot.waitUntil(lambda: view.folder_path.text() == str(elsewhere))
    acta = nth_acta(catalog, 12)
    (elsewhere / "a.jpg").write_bytes(acta_jpeg(acta))
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)
    assert station.store.kinds_for(acta.clave) == ["imagen"]
    assert ScannerSettings.load(station.data_dir).folder == elsewhere


def test_a_folder_that_cannot_be_used_is_explained(
        station: Station, tasks: TaskManager, tmp_path: Path, qtbot: QtBot) -> None:
    blocker = tmp_path / "archivo"
    blocker.write_text("no soy carpeta")
    ScannerSettings(blocker / "escaner").save(station.data_dir)
    presenter, view = screen(station, tasks, qtbot, FAST)
    presenter.start()
    qtbot.waitUntil(lambda: view.folder_status.property("tone") == "error")
    status = view.folder_status.text()
    assert status.startswith("No se puede usar la carpeta del escáner (parte de la ruta es "
                             "un archivo, no una carpeta)")
    assert "o elija otra con F4; se sigue intentando" in status
    assert view.folder_path.text() == str(blocker / "escaner")

    blocker.unlink()  # the share is mounted after all: watching resumes by itself
    qtbot.waitUntil(lambda: view.folder_status.text() == "Esperando imágenes del escáner.",
                    timeout=20_000)
    assert (blocker / "escaner").is_dir()
    presenter.stop()


def test_without_a_catalog_files_wait_in_the_folder_and_the_screen_says_why(
        tasks: TaskManager, catalog: Catalog, tmp_path: Path, qtbot: QtBot) -> None:
    with offline_station(tmp_path / "sin-catalogo") as bare:
        presenter, view = screen(bare, tasks, qtbot, FAST)
        presenter.start()
        qtbot.waitUntil(lambda: view.folder_status.property("tone") == "warn")
        assert "aún no tiene el catálogo" in view.folder_status.text()
        inbox = bare.data_dir / "escaner"
        inbox.mkdir(exist_ok=True)
        (inbox / "a.jpg").write_bytes(acta_jpeg(nth_acta(catalog, 15)))
        qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=20_000)
        assert _rows(view) == ["… En espera del catálogo"]
        assert "se reintentará" in view.detail.message.text().lower()
        assert (inbox / "a.jpg").exists()  # left for the next try, nothing lost
        assert view.rechazadas.number.text() == "0"
        presenter.stop()
        qtbot.waitUntil(lambda: tasks.pending == 0)


def test_the_screen_is_for_digitalizadores_and_coordinadores(
        context: AppContext, station: Station, qtbot: QtBot) -> None:
    def keys(role: str, station_role: str = "catd") -> list[str]:
        return [s.key for s in screens_for(Operator("x", "X", role, "07"), station_role)]
    assert keys("digitalizador") == ["digitalizacion"]
    assert "digitalizacion" in keys("coordinador")
    assert "digitalizacion" not in keys("acopiador")
    assert "digitalizacion" not in keys("capturista")
    assert "digitalizacion" not in keys("digitalizador", "ccv")

    screen, = screens_for(DORA, "catd")
    built = screen.build(context, DORA)
    qtbot.addWidget(built)
    assert isinstance(built, DigitalizacionView)
    qtbot.waitUntil(lambda: built.folder_status.text() == "Esperando imágenes del escáner.")
    assert built.folder_path.text() == str(station.data_dir / "escaner")
    built.presenter.stop()


def test_planted_links_are_shown_and_never_followed(
        station: Station, catalog: Catalog, tasks: TaskManager, tmp_path: Path,
        qtbot: QtBot) -> None:
    """Issue 36: a link dropped in the scanner folder is listed as such and left alone;
    a «rechazadas» that is a link stops the folder with the reason on screen until
    someone removes it."""
    inbox = _inbox(station)
    (inbox / RECHAZADAS).mkdir(parents=True)
    outside = tmp_path / "fuera.jpg"
    outside.write_bytes(acta_jpeg(nth_acta(catalog, 1)))
    (inbox / "enlace.jpg").symlink_to(outside)
    view = _open(station, tasks, qtbot)
    qtbot.waitUntil(lambda: any(i.name == "enlace.jpg" for i in view.presenter.items.values()))
    assert _result_of(view, "enlace.jpg") == "✗ Enlace simbólico: no se toma"
    assert (inbox / "enlace.jpg").is_symlink()
    assert station.store.counts() == (0, 0)

    elsewhere = tmp_path / "otra"
    elsewhere.mkdir()
    (inbox / RECHAZADAS).rmdir()
    (inbox / RECHAZADAS).symlink_to(elsewhere, target_is_directory=True)
    (inbox / "malo.jpg").write_bytes(b"no es una imagen")
    qtbot.waitUntil(lambda: view.folder_status.property("tone") == "error")
    assert "«rechazadas» es un enlace simbólico" in view.folder_status.text()
    assert (inbox / "malo.jpg").exists() and list(elsewhere.iterdir()) == []
    (inbox / RECHAZADAS).unlink()  # removed: the folder works again by itself
    qtbot.waitUntil(lambda: (inbox / RECHAZADAS / "malo.jpg").exists(), timeout=20_000)
    view.presenter.stop()


@pytest.mark.parametrize("content", [
    b"[" * 50_000 + b"]" * 50_000,  # past the JSON decoder's recursion limit
    json.dumps({"carpeta": "/srv/esc\x00aner"}).encode(),  # no path holds U+0000
])
def test_a_damaged_settings_file_falls_back_to_the_default_folder(
        tmp_path: Path, content: bytes) -> None:
    """Found by bench/fuzz.py: both used to escape ScannerSettings.load (a
    RecursionError; a folder every later use of which raised ValueError)."""
    (tmp_path / "digitalizacion.json").write_bytes(content[:64 * 1024])
    assert ScannerSettings.load(tmp_path).folder == tmp_path / "escaner"
