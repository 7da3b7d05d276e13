"""The captura screen: the leased acta's image beside a form of its fields, keyboard only.

:class:`WorkView` is the layout both work screens share (the image and the screen's keys
on the left; the acta's identity, the work area and the buttons on the right, as wide as
the acta's form needs, so that every column fits 1024×768; an explanation in place of
all that when there is nothing to do, with what became of the last acta). Whatever key
brought the next acta, the keyboard focus is on its form: a new form's fields are shown
and the old ones hidden before the focus moves.

:class:`CapturaView` puts the capture form in the work area: digits, I (Ilegible),
S (Sin dato), Enter to the next field, Enter on the last field or Ctrl+Enter to save
and see the next acta, F2 for an unreadable image.
The running sum of the vote fields beside the total asentado is information only.
"""

from __future__ import annotations

from collections.abc import Sequence

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtGui import QImage
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QScrollArea
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QSplitter
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QWidget

from catd.captura.presenter import Notice
from catd.captura.presenter import QueueRow
from catd.captura.presenter import Shown
from catd.captura.presenter import WorkPresenter
from catd.captura.widgets import ActaHeader
from catd.captura.widgets import IlegiblePanel
from catd.captura.widgets import NoticePage
from catd.captura.widgets import ValueEdit
from catd.captura.widgets import clear_grid
from catd.captura.widgets import go_to_row
from catd.captura.widgets import narrow_label
from catd.captura.widgets import show_grid
from catd.captura.widgets import whole_words
from catd.imageview import IMAGE_KEYS
from catd.imageview import ImageView
from prep.station.captura import FieldSpec
from prep.station.captura import Grupo
from prep.station.captura import running_sum
from prep.station.formatting import count
from qtkit.style import set_tone
from qtkit.widgets import caption
from qtkit.widgets import card
from qtkit.widgets import named_label
from qtkit.widgets import vbox


class WorkView(QWidget):
    """Image | acta, work area, keys and buttons; or a notice when there is no acta."""

    SUBMIT_TEXT = "Guardar y siguiente (Ctrl+Enter)"
    KEYS: tuple[tuple[str, str], ...] = ()
    ILEGIBLE = True  # F2 and its button: the image can be sent back to digitalización
    work_scroll: QScrollArea  # the work area's, made by _build_area

    def __init__(self, presenter: WorkPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.shown: Shown | None = None
        self.setObjectName("page")
        self.notice = NoticePage()
        self.image = ImageView()
        self.header = ActaHeader()
        self.ilegible = IlegiblePanel()
        self.ilegible.hide()
        self.feedback = named_label("", "feedback", wrap=True)
        self.queue_line = named_label("", "queueLine", wrap=True)
        self.save = QPushButton(self.tr(self.SUBMIT_TEXT))
        self.save.setObjectName("primary")
        self.unreadable = QPushButton(self.tr("Imagen ilegible (F2)"))
        for button in (self.save, self.unreadable):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.pages = QStackedWidget()
        self.pages.addWidget(self.notice)
        self.pages.addWidget(self._build_work())
        layout = vbox(self)
        layout.addWidget(self.pages)

        self.image.install_shortcuts(self)
        keys = [("Ctrl+Return", self.submit), ("Ctrl+Enter", self.submit),
                ("F5", presenter.refill)]
        if self.ILEGIBLE:
            keys.append(("F2", self.open_ilegible))
        else:
            self.unreadable.hide()
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self, slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save.clicked.connect(self.submit)
        self.unreadable.clicked.connect(self.open_ilegible)
        self.notice.refresh.clicked.connect(presenter.refill)
        self.ilegible.confirmed.connect(self._confirm_ilegible)
        self.ilegible.cancelled.connect(self._close_ilegible)
        presenter.shown_did_change.connect(self.show_shown)
        presenter.image_did_load.connect(self._image_loaded)
        presenter.form_did_reject.connect(self._rejected)
        presenter.feedback_did_change.connect(self._feedback)
        presenter.queue_did_change.connect(self.show_queue)

    def _build_work(self) -> QWidget:
        left = QWidget()
        column = vbox(left, spacing=0)
        bar = QFrame()
        bar.setObjectName("imageBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 4, 10, 4)
        self.zoom = named_label("", "keyLegend")
        row.addWidget(QLabel(self.tr("Imagen del acta")))
        row.addStretch(1)
        row.addWidget(self.zoom)
        for text, slot in ((self.tr("−"), self.image.zoom_out), (self.tr("+"),
                                                                 self.image.zoom_in),
                           (self.tr("Ancho"), self.image.fit_width),
                           (self.tr("Página"), self.image.fit_page)):
            button = QPushButton(text)
            button.setObjectName("imageButton")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(slot)
            row.addWidget(button)
        self.image.zoom_did_change.connect(
            lambda z: self.zoom.setText(self.tr("{p} %").format(p=round(z * 100))))
        column.addWidget(bar)
        column.addWidget(self.image, 1)
        # Every key of the screen under the image: the form's column keeps the height
        # for the fields (a 22-field acta fits whole at 1024×768).
        self.legend = named_label("", "screenKeys")
        self.add_keys([])
        column.addWidget(self.legend)

        right = QWidget()
        side = vbox(right, (12, 8, 14, 8), 6)
        side.addWidget(self.header)
        side.addWidget(self._build_area(), 1)
        side.addWidget(self.ilegible)
        side.addWidget(self.queue_line)
        side.addWidget(self.feedback)
        for label in (self.legend, self.feedback, self.queue_line):
            label.setWordWrap(True)
            # Long texts wrap instead of widening the window past 1024 px.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.unreadable)
        bottom.addWidget(self.save)
        side.addLayout(bottom)
        self.feedback.hide()

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 11)
        splitter.setStretchFactor(1, 9)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        return splitter

    def add_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        """Say in the legend the keys that reach the operator's other screens."""
        self.legend.setText(" · ".join(f"<b>{k}</b> {v}"
                                       for k, v in (*self.KEYS, *keys))
                            + "<br>" + self.tr("Imagen: ") + " · ".join(
                                f"<b>{k}</b> {v}" for k, v in IMAGE_KEYS))

    # for subclasses ------------------------------------------------------------------

    def _build_area(self) -> QWidget:
        raise NotImplementedError

    def _show_work(self, shown: Shown) -> None:
        raise NotImplementedError

    def texts(self) -> dict[str, str]:
        raise NotImplementedError

    def focus_field(self, campo: str) -> None:
        raise NotImplementedError

    def typed_count(self) -> int:
        """How many fields hold something the operator typed on the acta on screen."""
        raise NotImplementedError

    def unsaved_work(self) -> str:
        """What leaving now would lose ("" for nothing): asked before a logout."""
        if self.shown is None or not self.isVisible():
            return ""
        n = self.typed_count()
        if not n:
            return ""
        return self.tr("El acta {clave} tiene {campos} sin guardar.").format(
            clave=self.shown.item.clave_acta,
            campos=count(n, self.tr("campo escrito"), self.tr("campos escritos")))

    def _scroll_for(self, area: QWidget) -> QScrollArea:
        """The work area's scroller: up and down only (columns never leave it)."""
        scroll = QScrollArea()
        scroll.setObjectName("workScroll")
        scroll.setWidget(area)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.work_scroll = scroll
        return scroll

    def _fit_area(self) -> None:
        """As wide as the new form needs, the image beside it giving the room (the
        splitter would keep the old widths until the window is resized)."""
        area = self.work_scroll.widget()
        if area is None:
            return
        bar = self.work_scroll.verticalScrollBar().sizeHint().width()
        self.work_scroll.setMinimumWidth(area.minimumSizeHint().width() + bar)
        right = self.splitter.widget(1)
        sizes = self.splitter.sizes()
        if right is not None and len(sizes) == 2 and sum(sizes) > 0:
            need = right.minimumSizeHint().width()
            if sizes[1] < need:
                self.splitter.setSizes([sum(sizes) - need, need])

    def reveal(self, widget: QWidget) -> None:
        """Scroll the work area to ``widget`` (after a new form has been laid out)."""
        scroll = self.work_scroll

        def later() -> None:
            if shiboken6.isValid(scroll) and shiboken6.isValid(widget):
                scroll.ensureWidgetVisible(widget, 0, 24)
        QTimer.singleShot(0, later)

    def submit(self) -> None:
        if self.shown is not None and not self.ilegible.isVisible():
            self.presenter.submit(self.texts())

    # presenter → screen --------------------------------------------------------------

    def show_shown(self, shown: Shown | Notice) -> None:
        if isinstance(shown, Notice):
            self.shown = None
            self.notice.show_notice(shown.tone, shown.title, shown.message)
            self.pages.setCurrentWidget(self.notice)
            self.notice.refresh.setFocus()  # so F5 and Enter work from here
            return
        self.shown = shown
        info = shown.info
        parts = [self.tr("Distrito {d}").format(d=info.distrito),
                 self.tr("Sección {s}").format(s=info.seccion),
                 self.tr("Casilla {c}").format(c=info.casilla)
                 + (f" ({info.tipo_casilla})" if info.tipo_casilla else "")]
        if info.lista_nominal is not None:
            parts.append(self.tr("Lista nominal {n}").format(n=info.lista_nominal))
        # A narrow screen wraps the line between its parts, never inside one.
        where = " · ".join(p.replace(" ", "\u00a0") for p in parts)
        self.header.show_info(info.eleccion, info.clave_acta, where, info.slot)
        self._close_ilegible(refocus=False)
        self._image_loaded(shown.item.lease_id, shown.image, shown.image_error)
        # The page first: a form laid out on a shown page can take the focus at once.
        self.pages.setCurrentIndex(1)
        self._show_work(shown)
        self._fit_area()
        QTimer.singleShot(0, self, self._keep_focus)  # not if the screen is gone

    def _keep_focus(self) -> None:
        """Once the old form's widgets are gone: if the focus went with them, back to
        the form, so digits, Tab and the screen's shortcuts keep working."""
        if self.shown is not None and self.isVisible() and self.window().isActiveWindow() \
                and QApplication.focusWidget() is None and not self.ilegible.isVisible():
            self.focus_field("")

    def _image_loaded(self, lease_id: str, image: QImage | None, error: str) -> None:
        if self.shown is None or self.shown.item.lease_id != lease_id:
            return
        if image is not None:
            self.image.set_image(image)
        else:
            self.image.show_notice(error or self.tr("Cargando la imagen…"))

    def _rejected(self, campo: str, message: str) -> None:
        self._feedback("error", message)
        if campo:
            self.focus_field(campo)

    def _feedback(self, tone: str, message: str) -> None:
        set_tone(self.feedback, tone)
        self.feedback.setText(message)
        self.feedback.setVisible(bool(message))
        self.notice.show_outcome(tone, message)

    def show_queue(self, tone: str, text: str, rows: Sequence[QueueRow]) -> None:
        set_tone(self.queue_line, tone)
        self.queue_line.setText(self.tr("{estado} Hechas en esta sesión: {n}.").format(
            estado=text, n=self.presenter.done))

    # imagen ilegible -----------------------------------------------------------------

    def open_ilegible(self) -> None:
        if self.shown is not None:
            self.ilegible.open()

    def _confirm_ilegible(self, motivo: str) -> None:
        if self.presenter.ilegible(motivo):
            self.ilegible.hide()

    def _close_ilegible(self, refocus: bool = True) -> None:
        self.ilegible.hide()
        if refocus and self.shown is not None:
            self.focus_field("")

    # life ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.presenter.start()

    def hideEvent(self, event: QHideEvent) -> None:
        # Logout or another tab (the window stays): give the held actas back. Not when
        # the whole window closes: the leases then wait in the store for the restart.
        window = self.window()
        if not event.spontaneous() and window is not self and window.isVisible():
            self.presenter.stop()
        super().hideEvent(event)


class CaptureForm(QWidget):
    """The acta's fields in the acta's order, grouped as printed: boletas y votantes,
    votos (two columns, top to bottom), total."""

    def __init__(self, view: CapturaView) -> None:
        super().__init__()
        self.view = view
        self.edits: list[ValueEdit] = []
        self.specs: tuple[FieldSpec, ...] = ()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(2)
        self.sum_line = narrow_label("sumLine")

    def build(self, specs: tuple[FieldSpec, ...]) -> None:
        """Lay out ``specs``; the same fields as before keep their widgets (cleared)."""
        if specs == self.specs:
            for edit in self.edits:
                edit.clear()
            return
        clear_grid(self.grid, keep=self.sum_line)
        self.specs = specs
        self.edits = []
        row = 0
        for grupo, title in ((Grupo.PREVIOS, self.tr("Boletas y votantes")),
                             (Grupo.VOTOS, self.tr("Votos")),
                             (Grupo.TOTAL, self.tr("Total"))):
            members = [s for s in specs if s.grupo is grupo]
            if not members:
                continue
            self.grid.addWidget(caption(title), row, 0, 1, 4)
            row += 1
            half = (len(members) + 1) // 2 if len(members) > 1 else 1
            for index, spec in enumerate(members):
                column = 0 if index < half else 2
                self._add(spec, row + (index % half), column)
            if grupo is Grupo.TOTAL:
                self.grid.addWidget(self.sum_line, row, 2, 1, 2)
            row += half
        self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(2, 1)
        self.grid.setRowStretch(row, 1)
        show_grid(self.grid)
        # Keys walk the fields in the acta's order, whatever the columns.
        order = {s.campo: i for i, s in enumerate(specs)}
        self.edits.sort(key=lambda e: order[e.campo])
        for index, edit in enumerate(self.edits):
            edit.advance.connect(lambda i=index: self._advance(i))
            edit.retreat.connect(lambda i=index: self._go(i - 1))
            edit.textChanged.connect(lambda _text: self.view.update_sum())

    def _add(self, spec: FieldSpec, row: int, column: int) -> None:
        label = named_label(spec.label, "fieldLabel")
        label.setProperty("grupo", spec.grupo.value)
        label.setToolTip(spec.detail)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        label.setWordWrap(True)  # two lines rather than a column off the form
        edit = ValueEdit(spec.campo)
        edit.setAccessibleName(spec.detail)
        label.setBuddy(edit)
        self.grid.addWidget(label, row, column)
        self.grid.addWidget(edit, row, column + 1)
        whole_words(label)
        self.edits.append(edit)

    def _advance(self, index: int) -> None:
        if index + 1 < len(self.edits):
            self._go(index + 1)
        else:  # Enter on the last field: save (the presenter says what is missing)
            self.view.submit()

    def _go(self, index: int) -> None:
        go_to_row(self.edits, index, self.view.reveal)

    def focus(self, campo: str) -> None:
        for index, edit in enumerate(self.edits):
            if edit.campo == campo or not campo:
                self._go(index)
                return


class CapturaView(WorkView):
    """The capturista's screen (blind: it never shows another capture)."""

    KEYS = (("0–9", "número"), ("I", "Ilegible"), ("S", "Sin dato"),
            ("Enter/Tab", "siguiente"), ("↑", "anterior"), ("Ctrl+Enter", "guardar"),
            ("F2", "imagen ilegible"), ("F5", "buscar actas"))

    def _build_area(self) -> QWidget:
        frame, layout = card((14, 10))
        self.form = CaptureForm(self)
        layout.addWidget(self._scroll_for(self.form), 1)
        self.sum_line = self.form.sum_line
        return frame

    def _show_work(self, shown: Shown) -> None:
        self.form.build(shown.specs)
        self.update_sum()
        self.form.focus("")

    def texts(self) -> dict[str, str]:
        return {edit.campo: edit.text() for edit in self.form.edits}

    def typed_count(self) -> int:
        return sum(1 for edit in self.form.edits if edit.text())

    def focus_field(self, campo: str) -> None:
        self.form.focus(campo)

    def update_sum(self) -> None:
        suma = running_sum(self.form.specs, self.texts())
        set_tone(self.sum_line, suma.cuadre.value)
        self.sum_line.setText(suma.texto)
