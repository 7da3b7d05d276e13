"""Operator login, offline against the accounts the central sent in its bundle.

The password check (scrypt, deliberately slow) runs on the ``db`` lane. An operator
whose role has no screen at this station is told so instead of getting an empty window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from catd.screens import Screen, screens_for
from catd.taskman import TaskManager, describe_error
from catd.theme import repolish
from prep.station.accounts import BundleInfo, Operator
from prep.station.station import Station

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
        held = (self.tr("catálogo versión {c}, {n} cuentas de operador").format(
            c=info.catalog_version, n=info.operators) if info is not None
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

    def __init__(self, presenter: LoginPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.presenter = presenter
        card = QFrame()
        card.setObjectName("card")
        card.setFixedWidth(460)
        form = QVBoxLayout(card)
        form.setContentsMargins(30, 26, 30, 26)
        form.setSpacing(10)
        title = QLabel(self.tr("PREP · Centro de acopio"))
        title.setObjectName("pageTitle")
        self.station_line = QLabel()
        self.station_line.setObjectName("pageSubtitle")
        self.station_line.setWordWrap(True)
        self.user = QLineEdit()
        self.user.setMaxLength(MAX_FIELD_CHARS)
        self.user.setPlaceholderText(self.tr("nombre o identificador (op-…)"))
        self.password = QLineEdit()
        self.password.setMaxLength(MAX_FIELD_CHARS)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.submit = QPushButton(self.tr("Entrar"))
        self.submit.setObjectName("primary")
        self.message = QLabel()
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        user_label = QLabel(self.tr("Usuario"))
        password_label = QLabel(self.tr("Contraseña"))
        for widget in (title, self.station_line, user_label, self.user, password_label,
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

    def reset(self) -> None:
        """Ready for the next operator."""
        self.user.clear()
        self.password.clear()
        self.message.clear()
        self.user.setFocus()
        self.presenter.describe()

    def _submit(self) -> None:
        if self.submit.isEnabled():
            self.presenter.login(self.user.text(), self.password.text())

    def _busy(self, busy: bool) -> None:
        self.submit.setEnabled(not busy)
        self.submit.setText(self.tr("Verificando…") if busy else self.tr("Entrar"))

    def show_failure(self, message: str) -> None:
        self.password.clear()
        self.password.setFocus()
        self.message.setText(message)
        self.message.setProperty("tone", "error")
        repolish(self.message)
