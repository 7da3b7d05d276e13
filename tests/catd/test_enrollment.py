"""First run of the workstation against a real central: the address typed or found on
the network, the certificate fingerprint shown for the technician to compare, the code
sent only after that, and then the login page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from catd.context import AppContext
from catd.enrollment import EnrollmentPresenter
from catd.enrollment import ResolvedCentral
from catd.window import MainWindow
from prep.station.discovery import Candidate
from prep.station.discovery import verify_presented_cert
from prep.station.enroll_mdns import MdnsChoice
from prep.station.enroll_mdns import normalize_prefix
from prep.station.enroll_mdns import select_for_enrollment
from prep.station.station import Station
from prep.station.tls import fingerprint_groups
from tests.catd.conftest import Central
from tests.catd.conftest import type_into
from tests.catd.conftest import wait_idle
from tests.harness.spoof import SpoofCentral


def test_enrollment_with_a_typed_address_shows_the_fingerprint_then_the_login(
        window: MainWindow, station: Station, central: Central, qtbot: QtBot) -> None:
    view = window.enrollment
    assert window.pages.currentWidget() is view
    assert window.status_bar.isVisible()
    view.url.setFocus()
    type_into(view.url, central.node.url.removeprefix("https://"))
    QTest.keyClick(view.url, Qt.Key.Key_Return)
    wait_idle(qtbot, window.context.tasks)

    assert view.fingerprint.text() == fingerprint_groups(central.node.cert_sha256)
    assert view.found.text() == f"Dirección escrita: {central.node.url}"
    type_into(view.code, "un-codigo-cualquiera")
    assert not view.enroll.isEnabled()  # not before the fingerprint is confirmed
    view.confirm.setChecked(True)
    assert view.enroll.isEnabled()
    QTest.keyClick(view.code, Qt.Key.Key_Return)
    wait_idle(qtbot, window.context.tasks)
    assert view.message.text().startswith("El nodo central rechazó el código de alta")
    assert station.identity is None

    view.code.clear()
    type_into(view.code, central.node.enroll_code(catd=7))
    QTest.keyClick(view.code, Qt.Key.Key_Return)
    wait_idle(qtbot, window.context.tasks)
    identity = station.identity
    assert identity is not None and identity.cert_sha256 == central.node.cert_sha256
    assert identity.sitio == "07"
    assert window.pages.currentWidget() is window.login
    qtbot.waitUntil(lambda: "catálogo versión 1" in window.login.station_line.text())
    assert window.login.station_line.text().startswith(f"CATD 07 · estación "
                                                       f"{identity.station_id}")


def test_an_unreachable_address_says_what_to_do(window: MainWindow, qtbot: QtBot) -> None:
    view = window.enrollment
    type_into(view.url, "https://127.0.0.1:9")
    view.check.click()
    wait_idle(qtbot, window.context.tasks)
    assert view.message.text().startswith("No se pudo conectar con el nodo central en "
                                          "https://127.0.0.1:9")
    assert "Revise la red y la dirección" in view.message.text()
    # Issue 33: Python's English reason («[Errno 111] Connection refused») stays in the log.
    assert "nadie atiende en esa dirección y puerto (conexión rechazada)" in \
        view.message.text()
    assert "Errno" not in view.message.text() and "refused" not in view.message.text()
    assert not view.confirm.isEnabled()


def test_the_central_found_on_the_network_is_confirmed_before_the_code_is_sent(
        context: AppContext, station: Station, central: Central, qtbot: QtBot) -> None:
    node = central.node

    def locate(prefix: str | None) -> MdnsChoice:
        # What browsing the namespace-free test network would have found: this central.
        found = [Candidate(node.url, node.node, node.cert_sha256, "mDNS")]
        chosen, by_prefix = select_for_enrollment(
            found, normalize_prefix(prefix) if prefix else None)
        asyncio.run(verify_presented_cert(chosen[0].url, chosen[0].cert_sha256))
        return MdnsChoice(tuple(found), chosen[0], by_prefix)

    context.locate = locate
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.start()
    window.show()
    view = window.enrollment
    type_into(view.prefix, node.cert_sha256[:4] + ":" + node.cert_sha256[4:10])
    view.search.click()
    wait_idle(qtbot, context.tasks)
    assert view.found.text() == (f"Encontrado en la red local (mDNS): nodo {node.node} en "
                                 f"{node.url}")
    assert view.url.text() == node.url
    assert view.fingerprint.text() == fingerprint_groups(node.cert_sha256)
    view.confirm.setChecked(True)
    type_into(view.code, node.enroll_code(catd=7))
    view.enroll.click()
    wait_idle(qtbot, context.tasks)
    assert station.identity is not None
    assert window.pages.currentWidget() is window.login
    window.status_presenter.stop()


def test_the_presenter_sends_no_code_before_the_fingerprint_is_confirmed(
        context: AppContext, station: Station, tmp_path: Path, qtbot: QtBot) -> None:
    """Issue 36: the rule lives in the presenter, not only in the button's state: an
    impostor at the typed address never gets the code unless its fingerprint was
    confirmed, and a prefix shorter than 10 digits is refused before looking."""
    located: list[str | None] = []

    def locate(prefix: str | None) -> MdnsChoice:
        located.append(prefix)
        raise AssertionError("looked for the central with a prefix that is too short")

    presenter = EnrollmentPresenter(station, context.tasks, locate)
    errors: list[str] = []
    resolved: list[object] = []
    presenter.error_did_occur.connect(errors.append)
    presenter.central_did_resolve.connect(resolved.append)
    with SpoofCentral(tmp_path / "spoof") as spoof:
        presenter.check_url(spoof.url)
        wait_idle(qtbot, context.tasks)
        [central] = resolved
        assert isinstance(central, ResolvedCentral)
        assert central.cert_sha256 == spoof.cert_sha256

        presenter.enroll("CODIGO-ROBADO")  # not confirmed
        presenter.confirm_fingerprint(True)
        presenter.forget_central()  # the address was edited: compare again
        presenter.enroll("CODIGO-ROBADO")
        wait_idle(qtbot, context.tasks)
        assert errors == ["Primero indique el nodo central, compare su huella con la consola "
                          "del nodo central y marque que coincide. No se envió el código."] * 2
        assert spoof.codes_received() == []
        assert station.identity is None

        presenter.search(spoof.cert_sha256[:8])
        assert located == []
        assert errors[-1].startswith(f"La huella esperada «{spoof.cert_sha256[:8]}» no es "
                                     "válida: escriba de 10 a 64 dígitos hexadecimales")
