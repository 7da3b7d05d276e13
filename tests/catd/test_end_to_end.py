"""One acta through a CATD, as on election night: at one workstation the acopiador
scans it, the digitalizador's scanner drops its image in the hot folder and a capturista
types it by keys alone; a second capturista types it again at another workstation of the
CATD (the central never takes both captures of an acta from one station), and the
central validates it with the values written on the paper."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.acopio.view import AcopioView
from catd.digitalizacion.view import DigitalizacionView
from catd.window import MainWindow
from prep.qr import label_payload
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.station.station import Station
from tests.catd.conftest import ACOPIADOR
from tests.catd.conftest import Central
from tests.catd.conftest import FakeClock
from tests.catd.conftest import focused
from tests.catd.conftest import log_in
from tests.catd.conftest import scan
from tests.catd.test_captura import fresh_actas
from tests.catd.test_captura import log_out
from tests.catd.test_captura import type_values
from tests.catd.test_captura import wait_estado
from tests.catd.test_captura import work_view
from tests.central.station import query
from tests.harness.work import PASSWORD
from tests.harness.work import add_operators
from tests.harness.work import truth

DIGITALIZADORA, CAPTURISTA_1, CAPTURISTA_2 = "Dalia E2E", "Ciro E2E", "Dina E2E"
TIMEOUT_MS = 30_000


def test_acopio_digitalizacion_and_two_captures_validate_an_acta_at_the_central(
        enrolled: Station, window: MainWindow, central: Central, clock: FakeClock,
        another_window: Callable[[], MainWindow], qtbot: QtBot) -> None:
    ids = dict(zip((DIGITALIZADORA, CAPTURISTA_1, CAPTURISTA_2), add_operators(
        central.node, [(DIGITALIZADORA, "digitalizador", "07"),
                       (CAPTURISTA_1, "capturista", "07"),
                       (CAPTURISTA_2, "capturista", "07")]), strict=True))
    enrolled.fetch_bundle()  # the new accounts reach the station (or the agent got them)
    assert enrolled.bundle_info() is not None
    assert enrolled.login(CAPTURISTA_2, PASSWORD).role == "capturista"
    [acta] = fresh_actas(central, 1)
    station = enrolled

    # Acopio: the QR read by the reader, wherever the focus is.
    log_in(qtbot, window, ACOPIADOR)
    acopio = window.workspace.tabs.currentWidget()
    assert isinstance(acopio, AcopioView)
    qtbot.waitUntil(lambda: acopio.presenter.ready)
    scan(clock, label_payload(acta))
    qtbot.waitUntil(lambda: "acopio" in station.store.kinds_for(acta.clave))
    qtbot.waitUntil(lambda: acopio.panel.headline.text().startswith("Acopiada a las"))
    log_out(qtbot, window)

    # Digitalización: the scanner's software writes the image into the hot folder.
    log_in(qtbot, window, DIGITALIZADORA)
    digitalizacion = window.workspace.tabs.currentWidget()
    assert isinstance(digitalizacion, DigitalizacionView)
    image = render_acta_image(acta, truth(acta), ActaImageOptions(dpi=200, skew_degrees=1.0))
    inbox = station.data_dir / "escaner"
    inbox.mkdir(exist_ok=True)
    (inbox / "escaneo-0001.jpg").write_bytes(image)
    qtbot.waitUntil(lambda: "imagen" in station.store.kinds_for(acta.clave),
                    timeout=TIMEOUT_MS)
    # The hot folder moves the file once the record is stored: a moment later.
    qtbot.waitUntil((inbox / "procesadas" / "escaneo-0001.jpg").exists, timeout=TIMEOUT_MS)
    assert (inbox / "procesadas" / "escaneo-0001.jpg").read_bytes() == image
    log_out(qtbot, window)
    wait_estado(qtbot, central, acta.clave, "digitalizada")

    # Captura by two operators, keys only: the first at this workstation, the second at
    # another one of the CATD (enrolled now, so it has the new accounts).
    second = another_window()
    for win, name, estado in ((window, CAPTURISTA_1, "captura_1"),
                              (second, CAPTURISTA_2, "validada")):
        log_in(qtbot, win, name)
        view = work_view(qtbot, win)
        assert view.shown is not None and view.shown.item.clave_acta == acta.clave
        campos = list(view.shown.item.campos)
        type_values(view, truth(acta), campos[:-1])
        QTest.keyClicks(focused(), str(truth(acta)[campos[-1]]))
        QTest.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        wait_estado(qtbot, central, acta.clave, estado)
        log_out(qtbot, win)

    identity = station.store.require_identity()
    assert query(central.node.dsn, "SELECT operator, station FROM acta_captures WHERE "
                 "clave_acta = %s ORDER BY position", acta.clave) == [
        (ids[CAPTURISTA_1], identity.station_id),
        (ids[CAPTURISTA_2], second.context.station.store.require_identity().station_id)]
    [(valores, origen, sha256, acopio_station)] = query(
        central.node.dsn,
        "SELECT s.validada_valores, s.validada_origen, i.sha256, s.acopio_station "
        "FROM acta_states s JOIN acta_images i ON i.record_id = s.validada_imagen "
        "WHERE s.clave_acta = %s", acta.clave)
    assert valores == truth(acta) and origen == "CATD"
    assert sha256 == hashlib.sha256(image).hexdigest()  # the scanner's bytes, untouched
    assert acopio_station == identity.station_id
    assert query(central.node.dsn, "SELECT type FROM anomalies WHERE detail->>'clave_acta' "
                 "= %s", acta.clave) == []  # nothing odd on the way
