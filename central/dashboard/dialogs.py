"""The coordinators' forms: an enrollment code, an operator account. They only collect
and check what was typed; the controller runs the action off the GUI thread."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from central.db.models import OPERATOR_ROLES

MAX_CATD = 99


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
        self.setWindowTitle("Código de alta de una estación")
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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Crear código")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def choice(self) -> tuple[int | None, str, float]:
        """(CATD number or None for the CCV, station role, hours)."""
        catd = self.site.catd_number()
        return catd, "catd" if catd is not None else "ccv", self.hours.value()


class OperatorDialog(QDialog):
    """A new operator account; the password is typed twice and never shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Operador nuevo")
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setMaxLength(128)
        form.addRow("Nombre completo:", self.name)
        self.role = QComboBox()
        for role in OPERATOR_ROLES:
            self.role.addItem(role.capitalize(), role)
        form.addRow("Rol:", self.role)
        self.site = SiteChooser(with_central=True)
        form.addRow("Sitio:", self.site)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Contraseña:", self.password)
        form.addRow("Repítala:", self.again)
        self.error = QLabel("")
        self.error.setObjectName("muted")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Dar de alta")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _check(self) -> None:
        if not self.name.text().strip():
            self.error.setText("Escriba el nombre del operador.")
        elif self.password.text() != self.again.text():
            self.error.setText("Las contraseñas no coinciden.")
        else:
            self.accept()

    def values(self) -> tuple[str, str, str, str]:
        """(name, role, sitio, password)."""
        return (self.name.text(), str(self.role.currentData()), self.site.sitio(),
                self.password.text())
