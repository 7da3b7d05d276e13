"""The coordinators' forms and message boxes, in Spanish, with explicit default buttons.

Forms only collect and check what was typed; the controller runs the action off the GUI
thread. A form that needs the central's answer (log in, a new operator, a station's
state) stays open while the action runs and shows a refusal in place, keeping what was
typed. Confirmations of something that cannot be taken back (a corte is published to
the whole country) default to «Cancelar»: a stray Intro never does it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QDoubleSpinBox
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QMessageBox
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QRadioButton
from PySide6.QtWidgets import QSpinBox
from PySide6.QtWidgets import QWidget

from central.db.estaciones import OPERATOR_ROLES
from central.stations.operators import OperatorError
from central.stations.operators import check_role
from central.stations.operators import clean_name
from prep.passwords import PasswordError
from prep.passwords import check_new_password
from qtkit.widgets import named_label

MAX_CATD = 99
CANCELAR = "Cancelar"
#: How each kind of site is named in the operator form's errors.
FORM_PLACES = {"catd": "un CATD", "ccv": "el CCV", "central": "el nodo central"}
ROLE_LABELS = {"acopiador": "Acopiador", "digitalizador": "Digitalizador",
               "capturista": "Capturista", "verificador": "Verificador",
               "coordinador": "Coordinador"}

Done = Callable[..., None]
Failed = Callable[[str], None]


def confirm(parent: QWidget, title: str, text: str, accept: str,
            then: Callable[[], None]) -> QMessageBox:
    """Ask before doing something (``then`` runs only on ``accept``); «Cancelar» is the
    default and the Esc button. Shown without blocking: the dashboard stays live."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.NoButton, parent)
    yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(CANCELAR, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: then() if button is yes else None)
    box.open()
    return box


def inform(parent: QWidget, title: str, text: str, *, warning: bool = False,
           selectable: bool = False) -> QMessageBox:
    """A message with one «Aceptar» button, shown without blocking (returned open)."""
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    ok = box.addButton("Aceptar", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(ok)
    box.setEscapeButton(ok)
    if selectable:
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                    | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def _buttons(accept: str, cancel: str = CANCELAR
             ) -> tuple[QDialogButtonBox, QPushButton, QPushButton]:
    buttons = QDialogButtonBox()
    ok = buttons.addButton(accept, QDialogButtonBox.ButtonRole.AcceptRole)
    no = buttons.addButton(cancel, QDialogButtonBox.ButtonRole.RejectRole)
    assert isinstance(ok, QPushButton) and isinstance(no, QPushButton)
    return buttons, ok, no


def _error_label() -> QLabel:
    label = named_label("", "formError", wrap=True)
    label.hide()
    return label


class _ActionForm(QDialog):
    """A form whose accept button runs an action and waits for its answer."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.error = _error_label()
        self.busy = False
        self._inputs: list[QWidget] = []
        self._accept_button: QPushButton | None = None

    def show_error(self, message: str, focus: QWidget | None = None) -> None:
        self.error.setText(message)
        self.error.show()
        if focus is not None:
            focus.setFocus()
            if isinstance(focus, QLineEdit):
                focus.selectAll()

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        for widget in self._inputs:
            widget.setEnabled(not busy)
        if isinstance(self._accept_button, QPushButton):
            self._accept_button.setEnabled(not busy)
            if not busy:  # a disabled button loses being the default: Intro again
                self._accept_button.setDefault(True)
        if busy:
            self.error.setText(text)
            self.error.setVisible(bool(text))

    def reject(self) -> None:
        if not self.busy:  # the answer is on its way: wait for it
            super().reject()


class LoginDialog(_ActionForm):
    """A coordinator's account and password; ``submit(user, password, done, failed)``
    checks them and calls back on the GUI thread."""

    def __init__(self, submit: Callable[[str, str, Done, Failed], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.submit = submit
        self.setWindowTitle("Iniciar sesión · Tablero")
        form = QFormLayout(self)
        intro = QLabel("Inicie sesión con su cuenta de coordinador del nodo central para "
                       "atender anomalías, crear códigos de alta y operadores, habilitar o "
                       "deshabilitar equipos y hacer cortes. Cada acción queda en la "
                       "bitácora a su nombre. Sin sesión, el tablero solo muestra.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.user = QLineEdit()
        self.user.setMaxLength(128)
        self.user.setPlaceholderText("op-central-… o su nombre")
        form.addRow("&Usuario:", self.user)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(256)
        form.addRow("&Contraseña:", self.password)
        form.addRow(self.error)
        buttons, self.ok, self.cancel = _buttons("Iniciar sesión", "Solo ver")
        self.ok.setDefault(True)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._inputs = [self.user, self.password, self.cancel]
        self._accept_button = self.ok
        self.setMinimumWidth(440)

    def _check(self) -> None:
        if self.busy:
            return
        if not self.user.text().strip():
            self.show_error("Escriba su usuario.", self.user)
        elif not self.password.text():
            self.show_error("Escriba su contraseña.", self.password)
        else:
            self.set_busy(True, "Comprobando…")
            self.submit(self.user.text(), self.password.text(), self._done, self._failed)

    def _done(self) -> None:
        self.set_busy(False)
        self.password.clear()
        self.accept()

    def _failed(self, message: str) -> None:
        self.set_busy(False)
        self.password.clear()
        self.show_error(message, self.password)


class SiteChooser(QWidget):
    """A CATD by number, the CCV, or (for coordinators) the central."""

    def __init__(self, with_central: bool = False) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.catd = QRadioButton("CATD")
        self.number = QSpinBox()
        self.number.setRange(1, MAX_CATD)
        self.ccv = QRadioButton("CCV")
        self.central = QRadioButton("Nodo central")
        group = QButtonGroup(self)
        for button in (self.catd, self.ccv, self.central):
            group.addButton(button)
        self.catd.setChecked(True)
        layout.addWidget(self.catd)
        layout.addWidget(self.number)
        layout.addWidget(self.ccv)
        if with_central:
            layout.addWidget(self.central)
        else:
            self.central.hide()
        layout.addStretch(1)
        self.catd.toggled.connect(self.number.setEnabled)

    def catd_number(self) -> int | None:
        return self.number.value() if self.catd.isChecked() else None

    def sitio(self) -> str:
        if self.catd.isChecked():
            return f"{self.number.value():02d}"
        return "CCV" if self.ccv.isChecked() else "CENTRAL"


class EnrollmentCodeDialog(QDialog):
    """Which site the new station is for, and for how long the code is valid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Código de alta de un equipo")
        form = QFormLayout(self)
        self.site = SiteChooser()
        form.addRow("Sitio:", self.site)
        self.hours = QDoubleSpinBox()
        self.hours.setRange(0.5, 720)
        self.hours.setValue(24)
        self.hours.setSuffix(" h")
        form.addRow("Vigencia:", self.hours)
        form.addRow(QLabel("El código se muestra una sola vez y sirve para un solo "
                           "equipo."))
        buttons, ok, _cancel = _buttons("Crear código")
        ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def choice(self) -> tuple[int | None, str, float]:
        """(CATD number or None for the CCV, station role, hours)."""
        catd = self.site.catd_number()
        return catd, "catd" if catd is not None else "ccv", self.hours.value()


class OperatorDialog(_ActionForm):
    """A new operator account; the password is typed twice and never shown. Everything
    that can be checked here is checked before the central is asked; the central's
    refusal (a name already used at that site…) is shown here too, with the form as it
    was typed. ``submit((name, role, sitio, password), done, failed)``."""

    def __init__(self, submit: Callable[[tuple[str, str, str, str], Done, Failed], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.submit = submit
        self.setWindowTitle("Operador nuevo")
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setMaxLength(128)
        form.addRow("&Nombre completo:", self.name)
        self.role = QComboBox()
        for role in OPERATOR_ROLES:
            self.role.addItem(ROLE_LABELS.get(role, role.capitalize()), role)
        form.addRow("&Rol:", self.role)
        self.site = SiteChooser(with_central=True)
        form.addRow("Sitio:", self.site)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Contraseña:", self.password)
        form.addRow("Re&pítala:", self.again)
        form.addRow(self.error)
        buttons, self.ok, self.cancel = _buttons("Dar de alta")
        self.ok.setDefault(True)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._inputs = [self.name, self.role, self.site, self.password, self.again,
                        self.cancel]
        self._accept_button = self.ok

    def values(self) -> tuple[str, str, str, str]:
        """(name, role, sitio, password)."""
        return (self.name.text(), str(self.role.currentData()), self.site.sitio(),
                self.password.text())

    def _check(self) -> None:
        if self.busy:
            return
        name, role, sitio, password = self.values()
        try:
            clean_name(name)
        except OperatorError as exc:
            self.show_error(_sentence(str(exc)), self.name)
            return
        try:
            check_role(role, sitio, places=FORM_PLACES)
        except OperatorError as exc:
            self.show_error(_sentence(str(exc)), self.role)
            return
        try:
            check_new_password(password)
        except PasswordError as exc:
            self.show_error(_sentence(str(exc)), self.password)
            return
        if password != self.again.text():
            self.show_error("Las contraseñas no coinciden: escríbala igual dos veces.",
                            self.again)
            return
        self.set_busy(True, "Dando de alta…")
        self.submit((name, role, sitio, password), self._done, self._failed)

    def _done(self, _message: str) -> None:
        self.set_busy(False)
        self.accept()

    def _failed(self, message: str) -> None:
        self.set_busy(False)
        self.show_error(message, self.name)


class StationDialog(_ActionForm):
    """Disable (reason required) or enable an enrolled station;
    ``submit(reason, done, failed)`` does it."""

    def __init__(self, station: str, where: str, enabled: bool,
                 submit: Callable[[str, Done, Failed], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.submit = submit
        self.disabling = enabled
        verb = "Deshabilitar" if enabled else "Habilitar"
        self.setWindowTitle(f"{verb} el equipo {station}")
        form = QFormLayout(self)
        if enabled:
            text = (f"El equipo {station} ({where}) quedará deshabilitado: el nodo central "
                    "rechazará todo lo que firme (lotes, imágenes, trabajo) hasta que se "
                    "habilite de nuevo. Lo que ya entregó se conserva, sus asignaciones de "
                    "trabajo vuelven a la cola y la estación muestra el aviso.")
        else:
            text = (f"El equipo {station} ({where}) volverá a ser aceptado y entregará lo "
                    "que guardó mientras estuvo deshabilitado.")
        intro = QLabel(text)
        intro.setWordWrap(True)
        form.addRow(intro)
        self.reason = QLineEdit()
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText("Qué se vio y quién lo pidió (queda en la bitácora)"
                                       if enabled else "Opcional")
        form.addRow("&Motivo:", self.reason)
        form.addRow(self.error)
        buttons, self.ok, self.cancel = _buttons(f"{verb} el equipo")
        # Disabling needs a reason: Intro (the default button) without one does nothing
        # but say so, with the keyboard on the reason.
        self.ok.setDefault(True)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._inputs = [self.reason, self.cancel]
        self._accept_button = self.ok
        self.setMinimumWidth(480)

    def _check(self) -> None:
        if self.busy:
            return
        if self.disabling and not self.reason.text().strip():
            self.show_error("Escriba el motivo: queda en la bitácora.", self.reason)
            return
        self.set_busy(True, "Aplicando…")
        self.submit(self.reason.text(), self._done, self._failed)

    def _done(self, _message: str) -> None:
        self.set_busy(False)
        self.accept()

    def _failed(self, message: str) -> None:
        self.set_busy(False)
        self.show_error(message, self.reason)


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
