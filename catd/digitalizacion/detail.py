"""The detail panel of the digitalización screen: what became of the selected file
(the acta it names, big; a warning band for *sin acopio* or a re-scan; the review of
the image) and, for an image whose QR cannot be used, the manual association form."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QScrollArea
from PySide6.QtWidgets import QWidget

from catd.acopio.presenter import Tone
from catd.digitalizacion.items import Check
from catd.digitalizacion.items import ScanItem
from catd.digitalizacion.presenter import Association
from catd.digitalizacion.presenter import AssociationState
from prep.station.acopio import casilla_label
from prep.station.formatting import eleccion_label
from prep.station.formatting import local_time
from qtkit.style import repolish
from qtkit.style import set_tone
from qtkit.widgets import caption
from qtkit.widgets import named_label
from qtkit.widgets import vbox

_MARKS = {True: ("✓", Tone.OK), False: ("✗", Tone.ERROR), None: ("–", Tone.IDLE)}


class _Field(QWidget):
    """A caption over a big value (SECCIÓN 0123)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        layout = vbox(self, spacing=0)
        layout.addWidget(caption(title))
        self.value = named_label("—", "digiValue")
        layout.addWidget(self.value)


class AssociatePanel(QFrame):
    """Manual association of the selected image: the typed CLAVE_ACTA, then the acta
    it names, then a second Enter."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("digiAssociate")
        layout = vbox(self, (12, 10, 12, 10), 6)
        layout.addWidget(caption(self.tr("Asociar a mano (F2)")))
        hint = QLabel(self.tr("Escriba la CLAVE_ACTA impresa en el acta y presione Enter."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        row = QHBoxLayout()
        self.clave = QLineEdit()
        self.clave.setObjectName("digiClaveEntry")
        self.clave.setPlaceholderText(self.tr("CLAVE_ACTA, p. ej. 090123B010001"))
        self.clave.setMaxLength(64)
        self.submit = QPushButton(self.tr("Buscar (Enter)"))
        row.addWidget(self.clave, 1)
        row.addWidget(self.submit)
        layout.addLayout(row)
        self.found = named_label("", "digiBanner", wrap=True)
        layout.addWidget(self.found)
        self.message = named_label("", "digiNote", wrap=True)
        layout.addWidget(self.message)

    def show_state(self, state: AssociationState) -> None:
        confirming = state.stage is not Association.NONE and state.acta is not None
        self.found.setVisible(confirming)
        if confirming and state.acta is not None:
            acta = state.acta
            self.found.setText(self.tr(
                "{clave}\n{eleccion} · distrito {d:02d} · sección {s:04d} · casilla {c}")
                .format(clave=acta.clave, eleccion=eleccion_label(acta.eleccion),
                        d=acta.casilla.distrito_id, s=acta.casilla.seccion,
                        c=casilla_label(acta.casilla)))
            set_tone(self.found, Tone.PENDING.value)
        self.submit.setText(self.tr("Guardar (Enter)") if state.stage is Association.CONFIRM
                            else self.tr("Buscar (Enter)"))
        self.submit.setObjectName("primary" if state.stage is Association.CONFIRM else "")
        repolish(self.submit)
        self.submit.setEnabled(state.stage is not Association.SAVING)
        self.clave.setReadOnly(state.stage is Association.SAVING)
        self.message.setText(state.message)
        self.message.setVisible(bool(state.message))
        set_tone(self.message, state.tone.value)


class DetailPanel(QFrame):
    """What became of the selected file."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("digiDetail")
        layout = vbox(self, (0, 0, 0, 12), 8)
        self.headline = named_label("", "digiHeadline", wrap=True)
        layout.addWidget(self.headline)
        # A long message scrolls inside the panel instead of growing the window.
        scroll = QScrollArea()
        scroll.setObjectName("digiScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        content = QWidget()
        content.setObjectName("digiBody")
        scroll.setWidget(content)
        body = vbox(content, (14, 0, 14, 0), 7)
        self.eleccion = named_label("", "digiEleccion")
        body.addWidget(self.eleccion)
        fields = QHBoxLayout()
        fields.setSpacing(28)
        self.distrito = _Field(self.tr("Distrito"))
        self.seccion = _Field(self.tr("Sección"))
        self.casilla = _Field(self.tr("Casilla"))
        for field in (self.distrito, self.seccion, self.casilla):
            fields.addWidget(field)
        fields.addStretch(1)
        self.fields = QWidget()
        self.fields.setLayout(fields)
        body.addWidget(self.fields)
        self.clave = named_label("", "digiClave")
        self.clave.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.clave)
        self.banner = named_label("", "digiBanner", wrap=True)
        body.addWidget(self.banner)
        self.message = QLabel()
        self.message.setWordWrap(True)
        body.addWidget(self.message)
        self.review = _Review()
        body.addWidget(self.review)
        self.file = named_label("", "digiFile", wrap=True)
        body.addWidget(self.file)
        self.associate = AssociatePanel()
        body.addWidget(self.associate)
        body.addStretch(1)
        layout.addWidget(scroll, 1)

    def show_item(self, item: ScanItem | None, checks: list[Check] | None = None) -> None:
        self.review.show_checks(checks or [])
        if item is None:
            set_tone(self, Tone.IDLE.value)
            set_tone(self.headline, Tone.IDLE.value)
            self.headline.setText(self.tr("Sin imágenes todavía"))
            self.message.setText(self.tr(
                "Digitalice las actas con el escáner: cada imagen que guarde en la carpeta "
                "aparece aquí con su resultado."))
            self.message.setVisible(True)
            for widget in (self.eleccion, self.fields, self.clave, self.banner, self.file,
                           self.associate, self.review):
                widget.setVisible(False)
            return
        set_tone(self, item.tone.value)
        set_tone(self.headline, item.tone.value)
        self.headline.setText(item.title)
        acta = item.acta
        for widget in (self.eleccion, self.fields, self.clave):
            widget.setVisible(acta is not None)
        if acta is not None:
            self.eleccion.setText(eleccion_label(acta.eleccion))
            self.distrito.value.setText(f"{acta.casilla.distrito_id:02d}")
            self.seccion.value.setText(f"{acta.casilla.seccion:04d}")
            self.casilla.value.setText(casilla_label(acta.casilla))
            self.clave.setText(acta.clave)
        banner = self._banner(item)
        self.banner.setVisible(banner is not None)
        if banner is not None:
            self.banner.setText(banner[1])
            set_tone(self.banner, banner[0].value)
        self.message.setText(item.mensaje)
        # A stored image's banner says what its message says, in fewer words.
        self.message.setVisible(banner is None or not item.stored)
        self.file.setText(_file_line(item))
        self.file.setVisible(True)
        self.associate.setVisible(item.associable)
        # While associating by hand the QR's failure is the headline: room for the form.
        self.review.setVisible(bool(checks) and not item.associable)

    def _banner(self, item: ScanItem) -> tuple[Tone, str] | None:
        if item.sin_acopio and item.stored:
            return Tone.WARN, self.tr("SIN ACOPIO · Esta acta no tiene acopio registrado en "
                                      "esta estación: entréguela al acopiador para que la "
                                      "registre.")
        if item.replaces is not None:
            return Tone.PENDING, self.tr("REEMPLAZO · Esta imagen sustituye a la imagen "
                                         "anterior de la misma acta; la anterior ya no se "
                                         "usa para capturar.")
        return None


class _Review(QWidget):
    """The image's checks, one per line: ✓ passed, ✗ failed, – not checked."""

    ROWS = 5

    def __init__(self) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        grid.addWidget(caption(self.tr("Revisión de la imagen")), 0, 0, 1, 3)
        self.rows: list[tuple[QLabel, QLabel, QLabel]] = []
        for row in range(self.ROWS):
            mark, label, value = QLabel(), QLabel(), QLabel()
            mark.setObjectName("digiNote")
            label.setObjectName("digiCheck")
            value.setWordWrap(True)
            for column, widget in enumerate((mark, label, value)):
                grid.addWidget(widget, row + 1, column)
            self.rows.append((mark, label, value))
        grid.setColumnStretch(2, 1)

    def show_checks(self, checks: list[Check]) -> None:
        for i, (mark, label, value) in enumerate(self.rows):
            check = checks[i] if i < len(checks) else None
            for widget in (mark, label, value):
                widget.setVisible(check is not None)
            if check is None:
                continue
            text, tone = _MARKS[check.ok]
            mark.setText(text)
            set_tone(mark, tone.value)
            label.setText(check.label)
            value.setText(check.value)


def _file_line(item: ScanItem) -> str:
    parts = [item.name, local_time(item.at)]
    if item.record_seq is not None:
        parts.append(f"registro {item.record_seq} de la estación")
    return " · ".join(parts)
