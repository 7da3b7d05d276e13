"""Pieces shared by the captura, verificación and cotejo screens: the keys that walk a
form's rows; the value field typed with digits, I and S; the acta's identity card; the
explanation shown when there is no acta; the "imagen ilegible" panel; and the screens'
own style rules."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QFocusEvent
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QWidget

from prep.station.captura import ILEGIBLE
from prep.station.captura import MAX_DIGITS
from prep.station.captura import MAX_MOTIVO
from prep.station.captura import MOTIVOS_ILEGIBLE
from prep.station.captura import SIN_DATO
from prep.station.captura import FieldSpec
from qtkit.style import repolish
from qtkit.style import set_tone
from qtkit.widgets import caption
from qtkit.widgets import named_label
from qtkit.widgets import vbox


def clear_grid(grid: QGridLayout, keep: QWidget | None = None) -> None:
    """Take every widget but ``keep`` out of ``grid`` and delete it. Each is hidden at
    once: a field holding the focus gives it up now rather than when it is deleted,
    after the new form's first field took it (Qt would then leave it nowhere)."""
    while grid.count():
        item = grid.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None and widget is not keep:
            widget.hide()
            widget.deleteLater()


def show_grid(grid: QGridLayout) -> None:
    """Show the widgets just put in ``grid`` now, not on the event loop's next pass as
    Qt would: a hidden field cannot take the focus."""
    parent = grid.parentWidget()
    if parent is None or not parent.isVisible():
        return
    for index in range(grid.count()):
        item = grid.itemAt(index)
        widget = item.widget() if item is not None else None
        if widget is not None and widget.isHidden():
            widget.show()


def whole_words(label: QLabel) -> None:
    """Let a wrapped ``label`` (already in its window, so styled) break between words
    only: never inside «PVEM-PT-MORENA»."""
    label.ensurePolished()
    metrics = label.fontMetrics()
    words = label.text().split()
    if words:
        margins = label.contentsMargins()
        label.setMinimumWidth(max(metrics.horizontalAdvance(w) for w in words) + 2
                              + margins.left() + margins.right())


def table_grid(owner: QWidget, across: int) -> QGridLayout:
    """The grid of a table of fields (verificación, cotejo), ``across`` pixels between
    its columns."""
    grid = QGridLayout(owner)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(across)
    grid.setVerticalSpacing(3)
    return grid


def close_table(grid: QGridLayout, rows: int) -> None:
    """A table of fields built with ``rows`` rows under its captions: the names take the
    width left, the rows keep to the top, and all of it shows now."""
    grid.setColumnStretch(0, 1)
    grid.setRowStretch(rows + 1, 1)
    show_grid(grid)


def field_label(spec: FieldSpec, difiere: str) -> QLabel:
    """A field's name in a table of fields; ``difiere`` ("true", "false") its highlight."""
    label = named_label(spec.label, "fieldLabel")
    label.setProperty("difiere", difiere)
    label.setToolTip(spec.detail)
    label.setWordWrap(True)  # two lines rather than a column off the screen
    return label


def value_label(text: str, difiere: str) -> QLabel:
    """A value shown (not typed) in a table of fields, right-aligned."""
    value = named_label(text, "captureValue")
    value.setProperty("difiere", difiere)
    value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return value


def narrow_label(name: str) -> QLabel:
    """A wrapped label (object name ``name``) that never widens its panel: a long
    summary takes more lines instead."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label



def go_to_row(widgets: Sequence[QWidget], index: int,
              reveal: Callable[[QWidget], None]) -> None:
    """Focus row ``index`` of a form (as Tab would) and ``reveal`` it (scrolled into
    view); nothing before the first row or past the last."""
    if 0 <= index < len(widgets):
        widgets[index].setFocus(Qt.FocusReason.TabFocusReason)
        reveal(widgets[index])


def motivo_combo(owner: QWidget, motivos: Sequence[str],
                 max_length: int) -> tuple[QComboBox, QLineEdit]:
    """The reason for a decision: one of the usual ``motivos`` (translated in ``owner``'s
    context) or typed, up to ``max_length`` characters. The box and its line."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems([owner.tr(m) for m in motivos])
    line = combo.lineEdit()
    assert line is not None
    line.setMaxLength(max_length)
    return combo, line


class MotivoKeys(QObject):
    """The keys of a reason box beside a table of fields: Shift+Tab goes back to the
    rows (``back``), never out to the rest of the window; Enter (without Ctrl) calls
    ``enter`` when given, instead of the box's own Enter."""

    def __init__(self, combo: QComboBox, back: Callable[[], None],
                 enter: Callable[[], None] | None = None) -> None:
        super().__init__(combo)
        self._back = back
        self._enter = enter
        combo.installEventFilter(self)
        line = combo.lineEdit()
        if line is not None:
            line.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key, mods = event.key(), event.modifiers()
        if key == Qt.Key.Key_Backtab or (key == Qt.Key.Key_Tab
                                         and mods & Qt.KeyboardModifier.ShiftModifier):
            if not mods & Qt.KeyboardModifier.ControlModifier:
                self._back()
                return True
        if self._enter is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                and not mods & Qt.KeyboardModifier.ControlModifier:
            self._enter()
            return True
        return super().eventFilter(watched, event)

def tab_keys(event: QEvent, tab: SignalInstance, backtab: SignalInstance) -> bool:
    """Whether ``event`` was Tab (``tab`` emitted) or Shift+Tab (``backtab`` emitted), for
    a row widget's ``event()``: Tab never reaches keyPressEvent (focus chain), and the
    form, not Qt's focus chain, decides what is next."""
    if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
        return False
    if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        return False  # Ctrl+Tab, Ctrl+Shift+Tab: the screens' keys (catd.leaving)
    if event.key() == Qt.Key.Key_Tab and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
        return False
    return _emit_for(event, {Qt.Key.Key_Tab: tab, Qt.Key.Key_Backtab: backtab})


def row_keys(event: QKeyEvent, advance: SignalInstance, retreat: SignalInstance) -> bool:
    """Whether a row widget's key press was taken care of: with Ctrl or Alt ignored (it is
    the screen's shortcut), Enter and ↓ emit ``advance``, ↑ ``retreat``."""
    if event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                            | Qt.KeyboardModifier.AltModifier):
        event.ignore()
        return True
    return _emit_for(event, {Qt.Key.Key_Return: advance, Qt.Key.Key_Enter: advance,
                             Qt.Key.Key_Down: advance, Qt.Key.Key_Up: retreat})


def _emit_for(event: QKeyEvent, signals: dict[int, SignalInstance]) -> bool:
    signal = signals.get(event.key())
    if signal is not None:
        signal.emit()
    return signal is not None


class ValueEdit(QLineEdit):
    """One field of an acta, typed from the keyboard alone: digits (up to four), I for
    Ilegible, S for Sin dato; Enter, Tab or ↓ to the next field, Shift+Tab or ↑ back."""

    advance = Signal()
    retreat = Signal()

    def __init__(self, campo: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.campo = campo
        self.setObjectName("valueEdit")
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setMaxLength(len(SIN_DATO))
        self.setFixedWidth(104)
        self.setProperty("marca", False)
        self.textChanged.connect(self._restyle)

    @property
    def marca(self) -> bool:
        return self.text() in (ILEGIBLE, SIN_DATO)

    def set_value(self, text: str) -> None:
        self.setText(text)

    def _restyle(self, text: str) -> None:
        marca = text in (ILEGIBLE, SIN_DATO)
        if bool(self.property("marca")) != marca:
            self.setProperty("marca", marca)
            repolish(self)

    def event(self, event: QEvent) -> bool:
        return tab_keys(event, self.advance, self.retreat) or super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if row_keys(event, self.advance, self.retreat):
            return
        key, text = event.key(), event.text()
        if text in ("i", "I"):
            self.setText(ILEGIBLE)
            self.advance.emit()
            return
        if text in ("s", "S"):
            self.setText(SIN_DATO)
            self.advance.emit()
            return
        if text.isascii() and text.isdigit() and len(text) == 1:
            if self.marca:
                self.clear()
            digits = self.text().replace(self.selectedText(), "", 1) \
                if self.hasSelectedText() else self.text()
            if len(digits) >= MAX_DIGITS:
                return  # 9999 at most: a fifth digit is a slip
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete) and self.marca:
            self.clear()
            return
        if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Left,
                   Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
            super().keyPressEvent(event)
            return
        event.ignore()  # letters and the rest mean nothing here

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.selectAll()  # typing over a value replaces it


class ActaHeader(QFrame):
    """Which acta this is: elección, CLAVE_ACTA, distrito, sección, casilla, slot."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = vbox(self, (14, 8, 14, 8), 2)
        top = QHBoxLayout()
        self.eleccion = named_label("", "actaTitle")
        self.slot = named_label("", "slotBadge")
        top.addWidget(self.eleccion, 1)
        top.addWidget(self.slot)
        layout.addLayout(top)
        self.clave = named_label("", "actaClaveSmall")
        self.clave.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.clave)
        self.where = QLabel()
        self.where.setWordWrap(True)
        layout.addWidget(self.where)

    def show_info(self, eleccion: str, clave: str, where: str, slot: str) -> None:
        self.eleccion.setText(eleccion)
        self.clave.setText(clave)
        self.where.setText(where)
        self.slot.setText(slot)


class NoticePage(QWidget):
    """No acta on screen: what is happening and what to do."""

    def __init__(self) -> None:
        super().__init__()
        outer = vbox(self, (120, 60, 120, 60))
        self.card = QFrame()
        self.card.setObjectName("noticeCard")
        layout = vbox(self.card, (36, 28, 36, 28), 14)
        self.title = named_label("", "noticeTitle", wrap=True)
        self.text = named_label("", "noticeText", wrap=True)
        # What became of the last acta (its save, mostly).
        self.detail = named_label("", "noticeDetail", wrap=True)
        self.detail.hide()
        self.refresh = QPushButton(self.tr("Buscar actas ahora (F5)"))
        self.refresh.setObjectName("primary")
        row = QHBoxLayout()
        row.addWidget(self.refresh)
        row.addStretch(1)
        for widget in (self.title, self.text, self.detail):
            layout.addWidget(widget)
        layout.addLayout(row)
        outer.addWidget(self.card)
        outer.addStretch(1)

    def show_notice(self, tone: str, title: str, text: str) -> None:
        set_tone(self.card, tone)
        self.title.setText(title)
        self.text.setText(text)

    def show_outcome(self, tone: str, text: str) -> None:
        """The last acta's outcome, which the form showed until this page replaced it
        (the last save of a queue would otherwise never be confirmed)."""
        set_tone(self.detail, tone)
        self.detail.setText(text)
        self.detail.setVisible(bool(text))


class IlegiblePanel(QFrame):
    """Why the image cannot be captured: a usual reason by its number, or typed."""

    confirmed = Signal(str)
    cancelled = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = vbox(self, (14, 10, 14, 10))
        layout.addWidget(caption(self.tr("Imagen ilegible: ¿por qué?")))
        hint = QLabel(self.tr("El acta volverá a digitalización. Elija el motivo con ↑ ↓ "
                              "o escríbalo; Enter confirma, Esc regresa a la captura."))
        hint.setWordWrap(True)
        hint.setObjectName("pageSubtitle")
        layout.addWidget(hint)
        self.motivo, line = motivo_combo(self, MOTIVOS_ILEGIBLE, MAX_MOTIVO)
        layout.addWidget(self.motivo)
        row = QHBoxLayout()
        self.cancel = QPushButton(self.tr("Regresar (Esc)"))
        self.confirm = QPushButton(self.tr("Enviar a digitalizar de nuevo (Enter)"))
        self.confirm.setObjectName("primary")
        row.addStretch(1)
        row.addWidget(self.cancel)
        row.addWidget(self.confirm)
        layout.addLayout(row)
        self.confirm.clicked.connect(lambda: self.confirmed.emit(self.motivo.currentText()))
        self.cancel.clicked.connect(self.cancelled.emit)
        line.returnPressed.connect(lambda: self.confirmed.emit(self.motivo.currentText()))
        self.motivo.installEventFilter(self)
        line.installEventFilter(self)

    def open(self) -> None:
        self.motivo.setCurrentIndex(0)
        self.show()
        self.motivo.setFocus()
        line = self.motivo.lineEdit()
        if line is not None:
            line.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return True
        return super().eventFilter(watched, event)
