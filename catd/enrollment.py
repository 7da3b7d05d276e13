"""First run: enrolling the station with the central node.

The technician gives the central's address (typed, or found on the local network with
mDNS), compares the certificate fingerprint the station sees with the one the central's
console shows, and only then types the one-time code. The code travels over TLS pinned
to that very fingerprint (:meth:`prep.station.station.Station.enroll` with
``expected_cert_sha256``), so confirming the fingerprint is what makes it safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.station.enroll import MIN_PREFIX_DIGITS
from prep.station.errors import EnrollmentError
from prep.station.station import Station
from prep.station.store import StationIdentity
from prep.station.tls import fetch_certificate
from prep.station.tls import fingerprint_groups
from prep.station.tls import pem_fingerprint
from qtkit.style import repolish
from qtkit.widgets import named_label
from qtkit.widgets import vbox

if TYPE_CHECKING:
    from prep.station.enroll_mdns import MdnsChoice

MDNS_SECONDS = 3.0
MAX_CODE_CHARS = 64

Locate = Callable[[str | None], "MdnsChoice"]
"""Finds the central on the network: expected fingerprint prefix → what was chosen."""


def locate_with_mdns(prefix: str | None) -> MdnsChoice:
    """Browse mDNS on every interface (the default :data:`Locate`)."""
    from prep.station.enroll_mdns import locate_for_enrollment

    return asyncio.run(locate_for_enrollment(prefix, MDNS_SECONDS))


@dataclass(frozen=True)
class ResolvedCentral:
    """A central whose certificate the station has seen, awaiting the operator's OK."""

    url: str
    cert_sha256: str
    how: str  # what to tell the operator about where it came from


class EnrollmentPresenter(QObject):
    """Find the central, show its fingerprint, enroll with the code."""

    busy_did_change = Signal(str)  # what is being done, "" when idle
    central_did_resolve = Signal(object)  # ResolvedCentral | None
    error_did_occur = Signal(str)
    enrollment_did_finish = Signal(object)  # StationIdentity

    def __init__(self, station: Station, tasks: TaskManager, locate: Locate = locate_with_mdns,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.tasks = tasks
        self.locate = locate
        self.central: ResolvedCentral | None = None
        self.confirmed = False  # the operator said the fingerprint matches the console

    def check_url(self, url: str) -> None:
        """Read the certificate the server at ``url`` presents (``net`` lane)."""
        url = url.strip().rstrip("/")
        if url and "://" not in url:
            url = "https://" + url
        self.forget_central()
        self.busy_did_change.emit(self.tr("Conectando con {url}…").format(url=url))

        def fingerprint() -> ResolvedCentral:
            sha = pem_fingerprint(fetch_certificate(url, timeout=10.0))
            return ResolvedCentral(url, sha, self.tr("Dirección escrita: {url}").format(url=url))
        self.tasks.run("net", fingerprint, self._resolved, self._failed)

    def search(self, prefix: str) -> None:
        """Look for the central with mDNS (``net`` lane); ``prefix``: the first digits
        of the expected fingerprint, or empty."""
        from prep.station.enroll_mdns import normalize_prefix

        self.forget_central()
        expected = prefix.strip() or None
        if expected is not None:
            try:  # too few digits: refused before anything is looked for
                expected = normalize_prefix(expected)
            except EnrollmentError as exc:
                self.error_did_occur.emit(str(exc))
                return
        self.busy_did_change.emit(self.tr("Buscando el nodo central en la red local…"))

        def search() -> ResolvedCentral:
            choice = self.locate(expected)
            chosen = choice.chosen
            return ResolvedCentral(chosen.url, chosen.cert_sha256, self.tr(
                "Encontrado en la red local (mDNS): nodo {node} en {url}").format(
                    node=chosen.node if chosen.node.isprintable() else ascii(chosen.node),
                    url=chosen.url))
        self.tasks.run("net", search, self._resolved, self._failed)

    def forget_central(self) -> None:
        self.confirmed = False
        if self.central is not None:
            self.central = None
            self.central_did_resolve.emit(None)

    def confirm_fingerprint(self, matches: bool) -> None:
        """The operator compared the fingerprint shown with the central's console."""
        self.confirmed = matches and self.central is not None

    def enroll(self, code: str) -> None:
        """Send the code to the central whose fingerprint the operator confirmed
        (``net`` lane); never before: the code would reach whoever answered."""
        central = self.central
        code = code.strip()
        if central is None or not self.confirmed:
            self.error_did_occur.emit(self.tr("Primero indique el nodo central, compare su "
                                              "huella con la consola del nodo central y "
                                              "marque que coincide. No se envió el código."))
            return
        if not code or len(code) > MAX_CODE_CHARS:
            self.error_did_occur.emit(self.tr("Escriba el código de alta que le dio su "
                                              "coordinador."))
            return
        self.busy_did_change.emit(self.tr("Dando de alta la estación y recibiendo el "
                                          "catálogo…"))
        self.tasks.run("net", lambda: self.station.enroll(central.url, code,
                                                          central.cert_sha256),
                       self._enrolled, self._failed)

    def _resolved(self, central: ResolvedCentral) -> None:
        self.central = central
        self.confirmed = False
        self.busy_did_change.emit("")
        self.central_did_resolve.emit(central)

    def _enrolled(self, identity: StationIdentity) -> None:
        self.busy_did_change.emit("")
        self.enrollment_did_finish.emit(identity)

    def _failed(self, error: BaseException) -> None:
        self.busy_did_change.emit("")
        self.error_did_occur.emit(describe_error(error))


def _section(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("card")
    layout = vbox(frame, (18, 14, 18, 14))
    caption = named_label(title, "headerTitle")
    layout.addWidget(caption)
    return frame, layout


class EnrollmentView(QWidget):
    """The enrollment page."""

    def __init__(self, presenter: EnrollmentPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.presenter = presenter
        title = named_label(self.tr("Alta de la estación"), "pageTitle")
        subtitle = QLabel(self.tr(
            "Esta estación aún no está dada de alta ante el nodo central. Necesita la "
            "dirección del nodo central (o encontrarlo en la red) y un código de alta de su "
            "coordinador."))
        subtitle.setObjectName("pageSubtitle")
        subtitle.setWordWrap(True)

        where, where_layout = _section(self.tr("1. Nodo central"))
        row = QHBoxLayout()
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://192.168.10.5:8443")
        self.url.setMaxLength(300)
        self.check = QPushButton(self.tr("Verificar dirección"))
        row.addWidget(self.url, 1)
        row.addWidget(self.check)
        where_layout.addLayout(row)
        row = QHBoxLayout()
        self.prefix = QLineEdit()
        self.prefix.setMaxLength(100)
        self.prefix.setPlaceholderText(self.tr(
            "primeros {n} o más dígitos de la huella (opcional)").format(n=MIN_PREFIX_DIGITS))
        self.search = QPushButton(self.tr("Buscar en la red"))
        row.addWidget(QLabel(self.tr("o bien")))
        row.addWidget(self.prefix, 1)
        row.addWidget(self.search)
        where_layout.addLayout(row)

        compare, compare_layout = _section(self.tr("2. Compare la huella del certificado"))
        self.found = named_label(self.tr("Aún no se ha consultado ningún nodo central."),
                                 "pageSubtitle", wrap=True)
        self.fingerprint = named_label("—", "fingerprint", wrap=True)
        self.confirm = QCheckBox(self.tr(
            "La huella coincide con la que muestra la consola del nodo central"))
        self.confirm.setEnabled(False)
        compare_layout.addWidget(self.found)
        compare_layout.addWidget(self.fingerprint)
        compare_layout.addWidget(self.confirm)

        code, code_layout = _section(self.tr("3. Código de alta"))
        row = QHBoxLayout()
        self.code = QLineEdit()
        self.code.setMaxLength(MAX_CODE_CHARS)
        self.code.setPlaceholderText(self.tr("código de un solo uso"))
        self.enroll = QPushButton(self.tr("Dar de alta"))
        self.enroll.setObjectName("primary")
        self.enroll.setEnabled(False)
        row.addWidget(self.code, 1)
        row.addWidget(self.enroll)
        code_layout.addLayout(row)

        self.message = named_label("", "formMessage", wrap=True)

        column = QVBoxLayout()
        column.setSpacing(12)
        for widget in (title, subtitle, where, compare, code, self.message):
            column.addWidget(widget)
        column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(40, 28, 40, 20)
        layout.addStretch(1)
        layout.addLayout(column, 4)
        layout.addStretch(1)

        # The field whose step is under way: an error sends the focus back to it.
        self._asking: QLineEdit = self.url
        self.check.clicked.connect(self._check_url)
        self.url.returnPressed.connect(self._check_url)
        self.search.clicked.connect(self._search)
        self.prefix.returnPressed.connect(self._search)
        self.url.textEdited.connect(lambda _: presenter.forget_central())
        self.confirm.toggled.connect(self._confirmed)
        self.code.textChanged.connect(lambda _: self._update_enroll())
        self.code.returnPressed.connect(self._enroll)
        self.enroll.clicked.connect(self._enroll)
        presenter.busy_did_change.connect(self.show_busy)
        presenter.central_did_resolve.connect(self.show_central)
        presenter.error_did_occur.connect(self.show_error)

    def _confirmed(self, checked: bool) -> None:
        self.presenter.confirm_fingerprint(checked)
        self._update_enroll()

    def _update_enroll(self) -> None:
        self.enroll.setEnabled(self.presenter.central is not None and self.confirm.isChecked()
                               and bool(self.code.text().strip()))

    def _check_url(self) -> None:
        self._asking = self.url
        self.presenter.check_url(self.url.text())

    def _search(self) -> None:
        self._asking = self.prefix
        self.presenter.search(self.prefix.text())

    def _enroll(self) -> None:
        if self.enroll.isEnabled():
            self._asking = self.code
            self.presenter.enroll(self.code.text())

    def show_busy(self, what: str) -> None:
        for widget in (self.check, self.search, self.url, self.prefix):
            widget.setEnabled(not what)
        self._say(what, "pending")
        self._update_enroll()
        if what:
            self.enroll.setEnabled(False)

    def show_central(self, central: ResolvedCentral | None) -> None:
        self.confirm.setChecked(False)
        self.confirm.setEnabled(central is not None)
        if central is None:
            self.found.setText(self.tr("Aún no se ha consultado ningún nodo central."))
            self.fingerprint.setText("—")
        else:
            self.found.setText(central.how)
            self.fingerprint.setText(fingerprint_groups(central.cert_sha256))
            if not self.url.text().strip():
                self.url.setText(central.url)
            self._say(self.tr("Compare la huella dígito por dígito con la consola del nodo "
                              "central antes de escribir el código."), "idle")
            self.confirm.setFocus()
        self._update_enroll()

    def show_error(self, message: str) -> None:
        self._say(message, "error")
        # While busy the fields were disabled and Qt moved the focus on (to the code
        # field); the operator fixes the field that failed.
        self._asking.setFocus()
        self._asking.selectAll()

    def _say(self, message: str, tone: str) -> None:
        self.message.setText(message)
        self.message.setProperty("tone", tone)
        repolish(self.message)
