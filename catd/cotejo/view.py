"""The cotejo screen: the acta's image beside its published values, field by field, to
check against the paper acta the operator holds.

Each row is a field: its label, the value published, and whether it differs from the
paper. ↑ and ↓ walk the rows; Space marks a row as different (and back); Tab goes to the
reason, Shift+Tab from it back to the rows. Ctrl+Enter saves what the screen shows:
with nothing marked it confirms the acta; with rows marked it sends them as a
difference, with the reason. Enter never confirms (it walks the rows into the reason,
where it sends a difference or says how to confirm): a matching cotejo is published at
once and has no undo.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QWidget

from catd.captura.presenter import Shown
from catd.captura.view import WorkView
from catd.captura.widgets import MotivoKeys
from catd.captura.widgets import clear_grid
from catd.captura.widgets import close_table
from catd.captura.widgets import field_label
from catd.captura.widgets import go_to_row
from catd.captura.widgets import motivo_combo
from catd.captura.widgets import narrow_label
from catd.captura.widgets import row_keys
from catd.captura.widgets import tab_keys
from catd.captura.widgets import table_grid
from catd.captura.widgets import value_label
from catd.captura.widgets import whole_words
from catd.cotejo.presenter import MOTIVOS_COTEJO
from catd.cotejo.presenter import CotejoPresenter
from catd.cotejo.presenter import Publicado
from catd.cotejo.presenter import publicados
from prep.records import MAX_COTEJO_MOTIVO
from prep.station.formatting import count
from qtkit.style import repolish
from qtkit.widgets import caption
from qtkit.widgets import card


class DifiereCheck(QCheckBox):
    """Whether one field differs from the paper acta: Space toggles it; ↑ ↓ (and
    Enter, Shift+Tab) move between fields; Tab goes to the reason."""

    advance = Signal()
    retreat = Signal()
    leave = Signal()

    def __init__(self, campo: str) -> None:
        super().__init__()
        self.campo = campo
        self.setObjectName("difiereCheck")
        self.setProperty("difiere", "false")
        self.toggled.connect(self._restyle)
        self._restyle(False)

    def _restyle(self, checked: bool) -> None:
        self.setText(self.tr("DIFIERE") if checked else self.tr("coincide"))
        self.setProperty("difiere", "true" if checked else "false")
        repolish(self)

    def event(self, event: QEvent) -> bool:
        return tab_keys(event, self.leave, self.retreat) or super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if row_keys(event, self.advance, self.retreat):
            return
        if event.key() == Qt.Key.Key_Space:
            # At once on the press (a button would wait for the release): the next key,
            # however quick, sees the row marked.
            if not event.isAutoRepeat():
                self.toggle()
            return
        super().keyPressEvent(event)


class CotejoTable(QWidget):
    """Campo | Publicado | ¿Coincide con el papel?"""

    def __init__(self, view: CotejoView) -> None:
        super().__init__()
        self.view = view
        self.rows: tuple[Publicado, ...] = ()
        self.checks: list[DifiereCheck] = []
        self.labels: list[QLabel] = []
        self.values: list[QLabel] = []
        self.heads: list[QLabel] = []
        self.grid = table_grid(self, 10)

    def build(self, rows: tuple[Publicado, ...]) -> None:
        clear_grid(self.grid)
        self.rows = rows
        self.checks, self.labels, self.values = [], [], []
        self.heads = [caption(self.tr("Campo")), caption(self.tr("Publicado")),
                      caption(self.tr("Papel (Espacio)"))]
        for column, head in enumerate(self.heads):
            if column == 1:
                head.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.grid.addWidget(head, 0, column)
        for index, row in enumerate(rows, start=1):
            label = field_label(row.spec, "false")
            label.setProperty("grupo", row.spec.grupo.value)
            self.grid.addWidget(label, index, 0)
            whole_words(label)
            value = value_label(row.valor, "false")
            self.grid.addWidget(value, index, 1)
            check = DifiereCheck(row.spec.campo)
            check.setAccessibleName(row.spec.detail)
            label.setBuddy(check)
            self.grid.addWidget(check, index, 2)
            position = index - 1
            check.advance.connect(lambda i=position: self._advance(i))
            check.retreat.connect(lambda i=position: self.go(i - 1))
            check.leave.connect(self.view.motivo.setFocus)
            check.toggled.connect(lambda on, i=position: self._marked(i, on))
            self.labels.append(label)
            self.values.append(value)
            self.checks.append(check)
        close_table(self.grid, len(rows))

    def marked(self) -> list[str]:
        """The fields marked as different, in the acta's order."""
        return [check.campo for check in self.checks if check.isChecked()]

    def _marked(self, index: int, on: bool) -> None:
        for widget in (self.labels[index], self.values[index]):
            widget.setProperty("difiere", "true" if on else "false")
            repolish(widget)
        self.view.marks_did_change()

    def _advance(self, index: int) -> None:
        if index + 1 < len(self.checks):
            self.go(index + 1)
        else:
            self.view.motivo.setFocus()

    def go(self, index: int) -> None:
        go_to_row(self.checks, index, self.view.reveal)

    def focus(self, campo: str) -> None:
        for index, check in enumerate(self.checks):
            if check.campo == campo:
                self.go(index)
                return
        self.go(0)


class CotejoView(WorkView):
    """The verificador's cotejo screen."""

    SUBMIT_TEXT = "Coincide: confirmar (Ctrl+Enter)"
    KEYS = (("↑/↓/Enter", "campo"), ("Espacio", "difiere / coincide"),
            ("Tab/Mayús+Tab", "motivo / campos"),
            ("Ctrl+Enter", "confirmar (nada marcado) o enviar la diferencia"),
            ("F5", "buscar"))
    ILEGIBLE = False  # the paper acta is at hand: a poor image does not stop a cotejo

    presenter: CotejoPresenter

    def __init__(self, presenter: CotejoPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)

    def _build_area(self) -> QWidget:
        frame, layout = card((14, 10))
        self.summary = narrow_label("feedback")
        layout.addWidget(self.summary)
        # Before the table: its rows lead to it.
        self.motivo, line = motivo_combo(self, MOTIVOS_COTEJO, MAX_COTEJO_MOTIVO)
        self.table = CotejoTable(self)
        layout.addWidget(self._scroll_for(self.table), 1)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Motivo de la diferencia:")))
        line.setPlaceholderText(self.tr("Solo si algo difiere: ↑ ↓ o escriba; Enter envía"))
        # Enter here never confirms (that is Ctrl+Enter only): it sends a difference,
        # or says how to confirm. Shift+Tab goes back to the last row.
        MotivoKeys(self.motivo, lambda: self.table.go(len(self.table.checks) - 1),
                   self._enter_on_motivo)
        line.textChanged.connect(lambda _: self.marks_did_change())
        row.addWidget(self.motivo, 1)
        layout.addLayout(row)
        return frame

    def _show_work(self, shown: Shown) -> None:
        self.table.build(publicados(shown.specs, shown.item))
        self.motivo.setCurrentIndex(-1)
        self.motivo.clearEditText()
        self.marks_did_change()
        self.table.focus("")

    def marks_did_change(self) -> None:
        """The summary and the save button say what Ctrl+Enter will do now."""
        marked = self.table.marked()
        if not marked:
            self.summary.setText(self.tr(
                "Compare cada valor publicado con el acta en papel. Si <b>todos "
                "coinciden</b>, confirme con <b>Ctrl+Enter</b>. Si alguno no coincide, "
                "márquelo con <b>Espacio</b>."))
            self.save.setText(self.tr("Coincide: confirmar (Ctrl+Enter)"))
            return
        labels = {row.spec.campo: row.spec.label for row in self.table.rows}
        self.summary.setText(self.tr(
            "<b>{n} con diferencia</b>: {campos}. Elija o escriba el motivo (Tab) y envíe "
            "con Ctrl+Enter; el acta se capturará de nuevo.").format(
                n=count(len(marked), self.tr("campo"), self.tr("campos")),
                campos=", ".join(labels.get(c, c) for c in marked)))
        self.save.setText(self.tr("Enviar diferencia (Ctrl+Enter)"))

    def texts(self) -> dict[str, str]:
        return {campo: "difiere" for campo in self.table.marked()}

    def typed_count(self) -> int:
        """Fields marked, and a reason."""
        return len(self.table.marked()) + (1 if self.motivo.currentText().strip() else 0)

    def focus_field(self, campo: str) -> None:
        if campo == "motivo":
            self.motivo.setFocus()
            return
        self.table.focus(campo)

    def submit(self) -> None:
        if self.shown is not None:
            self.presenter.submit_cotejo(self.table.marked(), self.motivo.currentText())

    def _enter_on_motivo(self) -> None:
        """Enter on the reason: sends the marked fields as a difference; with nothing
        marked it confirms nothing, and says which key does."""
        if self.shown is None:
            return
        if self.table.marked():
            self.submit()
            return
        self._feedback("warn", self.tr(
            "Enter no confirma el acta. Si todos los valores coinciden con el acta en "
            "papel, borre el motivo y confirme con Ctrl+Enter; si alguno difiere, "
            "regrese con Mayús+Tab y márquelo con Espacio."))

    def unsaved_work(self) -> str:
        if self.shown is None or not self.isVisible() or not self.typed_count():
            return ""
        marked = len(self.table.marked())
        return self.tr("El acta {clave} tiene {marcas} sin enviar.").format(
            clave=self.shown.item.clave_acta,
            marcas=count(marked, self.tr("campo marcado"), self.tr("campos marcados"))
            if marked else self.tr("un motivo escrito"))
