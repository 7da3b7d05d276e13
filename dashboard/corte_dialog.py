"""The dialog of a corte that needs the coordinator's reason (issue 28): a corte outside
the Consejo's publication window, and the *último corte*, which ends the publication.

The reason goes to the audit log with the corte (``corte_outside_window``,
``publication_closed``). Like every confirmation of the dashboard, nothing irreversible
happens on a stray Intro: «Cancelar» is the default and Esc's button, and the corte's
button (Alt+H) stays disabled until a reason is written.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from PySide6.QtWidgets import QDialogButtonBox
from PySide6.QtWidgets import QFormLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QWidget

from central.publication.ventana import MAX_MOTIVO
from central.publication.ventana import EstadoPublicacion
from central.publication.ventana import local
from central.publication.ventana import motivo_sustancial

CANCELAR = "Cancelar"


class CorteDialog(QDialog):
    """Why a corte is made outside the window, or why it is the último; ``motivo()``
    once accepted."""

    def __init__(self, estado: EstadoPublicacion, ultimo: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ultimo = ultimo
        self.fuera = not estado.dentro(estado.ahora)
        self.setWindowTitle("Último corte" if ultimo else "Corte fuera de la ventana")
        form = QFormLayout(self)
        self.intro = QLabel(self._text(estado))
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow(self.intro)
        self.reason = QLineEdit()
        self.reason.setMaxLength(MAX_MOTIVO)
        self.reason.setPlaceholderText("El acuerdo del Consejo o qué se vio y quién lo pidió "
                                       "(queda en la bitácora)")
        form.addRow("&Motivo:", self.reason)
        # Outside the window a second coordinator confirms with their own login (their
        # own session in the database: issue 62).
        self.second_user = QLineEdit()
        self.second_user.setMaxLength(128)
        self.second_user.setPlaceholderText("usuario o nombre de otro coordinador")
        self.second_password = QLineEdit()
        self.second_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.second_password.setMaxLength(256)
        if self.fuera:
            form.addRow("&Segundo coordinador:", self.second_user)
            form.addRow("Su &contraseña:", self.second_password)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setObjectName("error")
        self.error.hide()
        form.addRow(self.error)
        buttons = QDialogButtonBox()
        accept = "&Hacer el último corte" if ultimo else "&Hacer el corte fuera de la ventana"
        ok = buttons.addButton(accept, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(CANCELAR, QDialogButtonBox.ButtonRole.RejectRole)
        assert isinstance(ok, QPushButton) and isinstance(cancel, QPushButton)
        self.ok, self.cancel = ok, cancel
        # Intro cancels (the default), Esc too; the corte only by its button, once a
        # reason is written.
        self.cancel.setDefault(True)
        self.ok.setAutoDefault(False)
        self.ok.setEnabled(False)
        for field in (self.reason, self.second_user, self.second_password):
            field.textChanged.connect(self._enable)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(520)
        self.reason.setFocus()

    def _text(self, estado: EstadoPublicacion) -> str:
        ventana = estado.ventana_texto()
        if self.ultimo:
            text = ("El último corte termina la publicación del PREP: después no se publica "
                    "ningún corte, ni programado ni a pedido, salvo que se reabra por "
                    "acuerdo del Consejo (prep central reabrir-publicacion).")
            if self.fuera:
                text += (f"\n\nAdemás son las {local(estado.ahora)}, fuera de la ventana de "
                         f"publicación ({ventana}): el motivo también queda como razón "
                         "para publicarlo fuera de ella.")
            return text + "\n\nEscriba el motivo. Intro o Esc: cancelar · Alt+H: hacerlo."
        if estado.inicio is None:
            situacion = "El Consejo no ha fijado la ventana de publicación en este nodo."
        else:
            situacion = (f"Son las {local(estado.ahora)}, fuera de la ventana de "
                         f"publicación que fijó el Consejo ({ventana}).")
        return (f"{situacion} Un corte fuera de ella se publica para todo el público solo "
                "con el motivo de un coordinador, que queda en la bitácora a su nombre.\n\n"
                "Escriba el motivo (qué acuerdo o qué se vio y quién lo pidió); otro "
                "coordinador lo confirma con su usuario y contraseña. Intro o Esc: "
                "cancelar · Alt+H: hacer el corte.")

    def motivo(self) -> str:
        return " ".join(self.reason.text().split())

    def segundo(self) -> tuple[str, str]:
        """The second coordinator's user and password (outside the window)."""
        return self.second_user.text().strip(), self.second_password.text()

    def _complete(self) -> bool:
        if not self.motivo():
            return False
        user, password = self.segundo()
        return not self.fuera or bool(user and password)

    def _enable(self) -> None:
        self.ok.setEnabled(self._complete())
        self.error.hide()

    def _check(self) -> None:
        if not self._complete():  # the button is disabled meanwhile; a mnemonic cannot
            return                # bypass it
        if self.fuera:
            try:
                motivo_sustancial(self.motivo())
            except ValueError as exc:
                self.error.setText(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
                self.error.show()
                self.reason.setFocus()
                return
        self.accept()
