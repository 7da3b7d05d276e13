"""Operator login, offline against the accounts the central sent in its bundle.

The password check (scrypt, deliberately slow) runs on the ``db`` lane. An operator
whose role has no screen at this station is told so instead of getting an empty window.

An acopiador may scan an acta before logging in. The keyboard-wedge detector is on
while this page is shown, so a scan never reaches the password field (it would be a
wrong password, and five of them lock the account). The scan is not kept: nobody is
logged in to answer for the acopio, and the operator who logs in next may have no
acopio screen at all. The page says nothing was registered and to scan again after
logging in.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from catd.screens import Screen
from catd.screens import screens_for
from catd.taskman import TaskManager
from catd.taskman import describe_error
from catd.wedge import WedgeDetector
from prep.station.accounts import BundleInfo
from prep.station.accounts import Operator
from prep.station.station import Station
from qtkit.style import repolish
from qtkit.widgets import named_label
from qtkit.widgets import vbox

MAX_FIELD_CHARS = 128


class LoginPresenter(QObject):
    """Checks credentials and decides the operator's screens."""

    login_did_succeed = Signal(object, object)  # Operator, list[Screen]
    login_did_fail = Signal(str)
    busy_did_change = Signal(bool)
    station_did_describe = Signal(str)

    def __init__(self, station: Station, tasks: TaskManager,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.tasks = tasks

    def describe(self) -> None:
        """Say which station this is and what it holds (``db`` lane)."""
        self.tasks.run("db", self.station.bundle_info, self._described, lambda _: None)

    def _described(self, info: BundleInfo | None) -> None:
        identity = self.station.identity
        if identity is None:
            return
        where = (f"CATD {identity.sitio}" if identity.sitio.isdigit() else identity.sitio)
        cuentas = (self.tr("1 cuenta de operador") if info is not None and info.operators == 1
                   else self.tr("{n} cuentas de operador").format(
                       n=info.operators if info is not None else 0))
        held = (self.tr("catálogo versión {c}, {cuentas}").format(
            c=info.catalog_version, cuentas=cuentas) if info is not None
            else self.tr("sin catálogo todavía: se recibirá al conectar con el nodo central"))
        self.station_did_describe.emit(f"{where} · {self.tr('estación')} "
                                       f"{identity.station_id} · {held}")

    def login(self, user: str, password: str) -> None:
        user = user.strip()[:MAX_FIELD_CHARS]
        if not user or not password:
            self.login_did_fail.emit(self.tr("Escriba su usuario y su contraseña."))
            return
        self.busy_did_change.emit(True)
        self.tasks.run("db", lambda: self.station.login(user, password[:MAX_FIELD_CHARS]),
                       self._logged_in, self._failed)

    def _logged_in(self, operator: Operator) -> None:
        self.busy_did_change.emit(False)
        identity = self.station.store.require_identity()
        screens: list[Screen] = screens_for(operator, identity.role)
        if not screens:
            self.login_did_fail.emit(self.tr(
                "Su cuenta ({role}) no tiene tareas en esta estación. Pida a su coordinador "
                "la estación que le corresponde.").format(role=operator.role))
            return
        self.login_did_succeed.emit(operator, screens)

    def _failed(self, error: BaseException) -> None:
        self.busy_did_change.emit(False)
        self.login_did_fail.emit(describe_error(error))


class LoginView(QWidget):
    """User and password, centred."""

    def __init__(self, presenter: LoginPresenter, detector: WedgeDetector,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.presenter = presenter
        self.detector = detector
        card = QFrame()
        card.setObjectName("card")
        card.setFixedWidth(460)
        form = vbox(card, (30, 26, 30, 26), 10)
        self.title = named_label(self._title_text(), "pageTitle", wrap=True)
        self.station_line = named_label("", "pageSubtitle", wrap=True)
        self.user = QLineEdit()
        self.user.setMaxLength(MAX_FIELD_CHARS)
        self.user.setPlaceholderText(self.tr("nombre o identificador (op-…)"))
        self.password = QLineEdit()
        self.password.setMaxLength(MAX_FIELD_CHARS)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.submit = QPushButton(self.tr("Entrar"))
        self.submit.setObjectName("primary")
        self.message = named_label("", "formMessage", wrap=True)
        user_label = QLabel(self.tr("Usuario"))
        password_label = QLabel(self.tr("Contraseña"))
        for widget in (self.title, self.station_line, user_label, self.user, password_label,
                       self.password, self.submit, self.message):
            form.addWidget(widget)
        user_label.setBuddy(self.user)
        password_label.setBuddy(self.password)
        layout = QHBoxLayout(self)
        layout.addStretch(1)
        column = QVBoxLayout()
        column.addStretch(2)
        column.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(3)
        layout.addLayout(column)
        layout.addStretch(1)

        self.user.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._submit)
        self.submit.clicked.connect(self._submit)
        presenter.login_did_fail.connect(self.show_failure)
        presenter.busy_did_change.connect(self._busy)
        presenter.station_did_describe.connect(self.station_line.setText)
        detector.scan_did_arrive.connect(self._scanned)

    def reset(self) -> None:
        """Ready for the next operator."""
        self.title.setText(self._title_text())
        self.user.clear()
        self.password.clear()
        self.message.clear()
        self.user.setFocus()
        self.presenter.describe()

    def _title_text(self) -> str:
        """What kind of centre this station serves (a CCV is no acopio centre)."""
        identity = self.presenter.station.identity
        if identity is not None and identity.role == "ccv":
            return self.tr("PREP · Centro de Captura y Verificación")
        return self.tr("PREP · Centro de Acopio y Transmisión de Datos")

    def _scanned(self, _text: str) -> None:
        """A reader's scan: never a password, and not kept (see the module docstring)."""
        if not self.isVisible():
            return
        self._say(self.tr("Se leyó un código con el lector, pero nadie ha iniciado sesión: "
                          "no se registró nada. Inicie sesión con su usuario y contraseña y "
                          "vuelva a escanear el acta."), "warn")

    def _submit(self) -> None:
        if self.submit.isEnabled():
            self.presenter.login(self.user.text(), self.password.text())

    def _busy(self, busy: bool) -> None:
        self.submit.setEnabled(not busy)
        self.submit.setText(self.tr("Verificando…") if busy else self.tr("Entrar"))

    def show_failure(self, message: str) -> None:
        self.password.clear()
        self.password.setFocus()
        self._say(message, "error")

    def _say(self, message: str, tone: str) -> None:
        self.message.setText(message)
        self.message.setProperty("tone", tone)
        repolish(self.message)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.detector.activate(self)

    def hideEvent(self, event: QHideEvent) -> None:
        self.detector.deactivate(self)
        super().hideEvent(event)
