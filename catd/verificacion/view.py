"""The verificación screen: the image beside the disagreeing captures, field by field.

Each row shows what every capture says and the verificador's decision. Where all the
captures agree the decision comes filled in (to be reviewed, not re-typed); the rows
where they differ are highlighted and empty, and Enter walks only those, then the
reason. Alt+1, Alt+2, Alt+3 take the value of that capture for the field in focus.
Below, the actas with inconsistencies this verificador holds, the one on screen first.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QWidget

from catd.captura.presenter import QueueRow
from catd.captura.presenter import Shown
from catd.captura.view import WorkView
from catd.captura.widgets import MotivoKeys
from catd.captura.widgets import ValueEdit
from catd.captura.widgets import clear_grid
from catd.captura.widgets import close_table
from catd.captura.widgets import field_label
from catd.captura.widgets import go_to_row
from catd.captura.widgets import motivo_combo
from catd.captura.widgets import narrow_label
from catd.captura.widgets import table_grid
from catd.captura.widgets import value_label
from catd.captura.widgets import whole_words
from catd.verificacion.presenter import MOTIVOS_VERIFICACION
from catd.verificacion.presenter import VerificacionPresenter
from prep.station.captura import MAX_MOTIVO
from prep.station.captura import Comparacion
from prep.station.formatting import count
from qtkit.widgets import caption
from qtkit.widgets import card


class DecisionTable(QWidget):
    """Campo | Captura 1 | Captura 2 | Captura 3 | Decisión."""

    def __init__(self, view: VerificacionView) -> None:
        super().__init__()
        self.view = view
        self.edits: list[ValueEdit] = []
        self.rows: tuple[Comparacion, ...] = ()
        self.heads: list[QLabel] = []  # the column captions
        self.grid = table_grid(self, 8)

    def build(self, rows: tuple[Comparacion, ...]) -> None:
        clear_grid(self.grid)
        self.rows = rows
        self.edits = []
        self.heads = []
        capturas = max((len(r.capturas) for r in rows), default=0)
        heads = [self.tr("Campo"), *(self.tr("Captura {n}").format(n=n + 1)
                                     for n in range(capturas)), self.tr("Decisión")]
        for column, text in enumerate(heads):
            head = caption(text)
            if column:
                head.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.grid.addWidget(head, 0, column)
            self.heads.append(head)
        for index, row in enumerate(rows, start=1):
            flag = "true" if row.difiere else "false"
            label = field_label(row.spec, flag)
            self.grid.addWidget(label, index, 0)
            whole_words(label)
            for column, text in enumerate(row.capturas, start=1):
                self.grid.addWidget(value_label(text or "—", flag), index, column)
            edit = ValueEdit(row.spec.campo)
            edit.setProperty("difiere", flag)
            edit.setAccessibleName(row.spec.detail)
            edit.set_value(row.propuesta)
            label.setBuddy(edit)
            self.grid.addWidget(edit, index, capturas + 1)
            position = index - 1
            edit.advance.connect(lambda i=position: self._advance(i))
            edit.retreat.connect(lambda i=position: self.go(i - 1))
            self.edits.append(edit)
        close_table(self.grid, len(rows))

    def _advance(self, index: int) -> None:
        # Enter walks the rows in dispute; the agreed ones are there to review.
        for nxt in range(index + 1, len(self.rows)):
            if self.rows[nxt].difiere or not self.edits[nxt].text():
                self.go(nxt)
                return
        self.view.motivo.setFocus()

    def go(self, index: int) -> None:
        go_to_row(self.edits, index, self.view.reveal)

    def focus(self, campo: str) -> None:
        for index, (row, edit) in enumerate(zip(self.rows, self.edits, strict=True)):
            if edit.campo == campo or (not campo and (row.difiere or not edit.text())):
                self.go(index)
                return
        if not campo:
            self.go(0)

    def take_capture(self, n: int) -> None:
        """The focused row's decision := capture ``n``'s value (1-based)."""
        focus = QApplication.focusWidget()
        for row, edit in zip(self.rows, self.edits, strict=True):
            if edit is focus and n <= len(row.capturas) and row.capturas[n - 1]:
                edit.set_value(row.capturas[n - 1])
                edit.advance.emit()
                return


class VerificacionView(WorkView):
    """The verificador's screen."""

    SUBMIT_TEXT = "Guardar decisión (Ctrl+Enter)"
    KEYS = (("0–9", "número"), ("I", "Ilegible"), ("S", "Sin dato"),
            ("Alt+1/2/3", "valor de esa captura"), ("Enter/Tab", "siguiente diferencia"),
            ("↑/Mayús+Tab", "todos"), ("Ctrl+Enter", "guardar"), ("F2", "imagen ilegible"),
            ("F5", "buscar"))

    presenter: VerificacionPresenter

    def __init__(self, presenter: VerificacionPresenter, parent: QWidget | None = None
                 ) -> None:
        super().__init__(presenter, parent)
        for n in (1, 2, 3):
            shortcut = QShortcut(QKeySequence(f"Alt+{n}"), self,
                                 lambda n=n: self.table.take_capture(n))
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _build_area(self) -> QWidget:
        frame, layout = card((14, 10))
        self.summary = narrow_label("feedback")
        layout.addWidget(self.summary)
        self.table = DecisionTable(self)
        layout.addWidget(self._scroll_for(self.table), 1)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Motivo:")))
        self.motivo, line = motivo_combo(self, MOTIVOS_VERIFICACION, MAX_MOTIVO)
        line.setPlaceholderText(self.tr("Elija con ↑ ↓ o escriba; Enter guarda"))
        line.returnPressed.connect(self.submit)
        MotivoKeys(self.motivo, lambda: self.table.go(len(self.table.edits) - 1))
        row.addWidget(self.motivo, 1)
        layout.addLayout(row)
        self.pending = narrow_label("keyLegend")
        layout.addWidget(self.pending)
        return frame

    def _show_work(self, shown: Shown) -> None:
        self.table.build(shown.comparaciones)
        differing = sum(1 for r in shown.comparaciones if r.difiere)
        self.summary.setText(self._summary(differing, len(shown.comparaciones) - differing))
        self.motivo.setCurrentIndex(-1)
        self.motivo.clearEditText()
        self.table.focus("")

    def _summary(self, differing: int, agreed: int) -> str:
        """What to do with this acta's rows, in words that agree with the numbers."""
        if differing == 1:
            text = self.tr("<b>1 campo con diferencia</b> (resaltado, vacío): escriba lo "
                           "que dice el acta.")
        elif differing:
            text = self.tr("<b>{d} campos con diferencia</b> (resaltados, vacíos): escriba "
                           "lo que dice el acta.").format(d=differing)
        else:
            text = self.tr("<b>Las capturas no difieren en ningún campo</b>: revise y "
                           "guarde.")
        if agreed == 1:
            text += " " + self.tr("El campo en que las capturas coinciden viene lleno: "
                                  "revíselo.")
        elif agreed:
            text += " " + self.tr("Los {a} campos en que las capturas coinciden vienen "
                                  "llenos: revíselos.").format(a=agreed)
        return text

    def texts(self) -> dict[str, str]:
        return {edit.campo: edit.text() for edit in self.table.edits}

    def typed_count(self) -> int:
        """Decisions typed or changed (the agreed values come filled in), and a reason."""
        changed = sum(1 for row, edit in zip(self.table.rows, self.table.edits, strict=True)
                      if edit.text() != row.propuesta)
        return changed + (1 if self.motivo.currentText().strip() else 0)

    def focus_field(self, campo: str) -> None:
        if not campo and self.shown is not None and all(e.text() for e in self.table.edits):
            self.motivo.setFocus()
            return
        self.table.focus(campo)

    def submit(self) -> None:
        if self.shown is not None and not self.ilegible.isVisible():
            self.presenter.submit_decision(self.texts(), self.motivo.currentText())

    def show_queue(self, tone: str, text: str, rows: Sequence[QueueRow]) -> None:
        super().show_queue(tone, text, rows)
        lines = [self.tr("<b>Actas con inconsistencias por verificar:</b> {n}").format(
            n=len(rows))]
        for row in rows[:3]:
            lines.append(self.tr("{m} {clave} · {eleccion} · sección {casilla} · "
                                 "{diferencias}").format(
                m="▶" if row.current else "·", clave=row.clave_acta,
                eleccion=row.eleccion, casilla=row.casilla,
                diferencias=count(row.diferencias, self.tr("campo con diferencia"),
                                  self.tr("campos con diferencia"))))
        if len(rows) > 3:
            lines.append(self.tr("y {n} más").format(n=len(rows) - 3))
        self.pending.setText("<br>".join(lines))
