"""The acopio screen: the acta just read, big; the manual entry; *sin acta*; counters.

A passive view over :class:`catd.acopio.presenter.AcopioPresenter`. Keyboard first:
F2 manual entry, F3 the paquete's mechanism of traslado, F4 the document (another copy
of the acta), F6 *sin acta*, F7 record the acopio of an acta registered sin acta by
mistake, F8 register the code shown *fuera de catálogo*, F9 reprint the last ticket;
every button takes Space and Enter. While the screen is shown the wedge detector is
on, so a scan reaches the presenter wherever the focus is (even on a button).
Laid out for 1024×768 and up.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import QHideEvent
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QResizeEvent
from PySide6.QtGui import QShortcut
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from catd.acopio.paquete import PaqueteShown
from catd.acopio.presenter import AcopioPresenter
from catd.acopio.presenter import Counters
from catd.acopio.presenter import Shown
from catd.acopio.presenter import Tone
from catd.wedge import WedgeDetector
from prep.rules import CausaSinActa
from prep.station.acopio import CAUSAS_SIN_ACTA
from prep.station.acopio import casilla_label
from prep.station.formatting import eleccion_label
from prep.station.formatting import local_time
from qtkit.style import repolish
from qtkit.widgets import caption
from qtkit.widgets import card
from qtkit.widgets import named_label
from qtkit.widgets import read_only_table
from qtkit.widgets import vbox


def _button(text: str) -> QPushButton:
    """A button that Enter presses too (outside a dialog Qt's buttons take only Space)."""
    button = QPushButton(text)
    button.setAutoDefault(True)
    return button


BIG_POINTS = (48, 40, 34, 28)
"""Sizes the big values may take, largest first: the largest that fits the panel."""
FIELD_SPACING = 32


class _BigField(QWidget):
    """A caption over a big value (DISTRITO 07)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        layout = vbox(self, spacing=0)
        self.caption = caption(title)
        layout.addWidget(self.caption)
        self.value = named_label("—", "bigValue")
        layout.addWidget(self.value)

    def width_at(self, points: int) -> int:
        """The width this field needs with its value at ``points``."""
        font = QFont(self.value.font())
        font.setPointSize(points)
        font.setBold(True)
        return max(QFontMetrics(font).horizontalAdvance(self.value.text()),
                   self.caption.sizeHint().width())


class ActaPanel(QFrame):
    """The big display of the last code read."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("actaPanel")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = vbox(self, (0, 0, 0, 16), 10)
        self.headline = named_label("", "actaHeadline", wrap=True)
        layout.addWidget(self.headline)
        body = vbox(None, (22, 4, 22, 0))
        self._body = body
        body.setSpacing(10)
        self.eleccion = named_label("", "actaEleccion", wrap=True)
        body.addWidget(self.eleccion)
        fields = QHBoxLayout()
        fields.setContentsMargins(0, 0, 0, 0)
        fields.setSpacing(FIELD_SPACING)
        self.distrito = _BigField(self.tr("Distrito"))
        self.seccion = _BigField(self.tr("Sección"))
        self.casilla = _BigField(self.tr("Casilla"))
        for field in (self.distrito, self.seccion, self.casilla):
            fields.addWidget(field)
        fields.addStretch(1)
        self.fields = QWidget()
        self.fields.setLayout(fields)
        # The values shrink to the panel (E01C01 at 48 pt does not fit 1024 px), so the
        # panel never asks the window for more width than it has.
        self.fields.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._points = BIG_POINTS[0]
        body.addWidget(self.fields)
        self.clave = named_label("", "actaClave")
        self.clave.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.clave)
        self.message = named_label("", "actaMessage", wrap=True)
        body.addWidget(self.message)
        fuera = QGridLayout()
        fuera.setContentsMargins(0, 0, 0, 0)
        self.fuera_eleccion = QComboBox()
        self.fuera_button = _button(self.tr("Registrar fuera de catálogo (F8)"))
        eleccion_label = QLabel(self.tr("Elección:"))
        eleccion_label.setBuddy(self.fuera_eleccion)
        fuera.addWidget(eleccion_label, 0, 0)
        fuera.addWidget(self.fuera_eleccion, 0, 1)
        fuera.addWidget(self.fuera_button, 1, 1, Qt.AlignmentFlag.AlignLeft)
        fuera.setColumnStretch(2, 1)
        self.fuera = QWidget()
        self.fuera.setLayout(fuera)
        body.addWidget(self.fuera)
        self.corregir = _button(self.tr("Registrar el acopio en lugar del sin acta (F7)"))
        body.addWidget(self.corregir, 0, Qt.AlignmentFlag.AlignLeft)
        body.addStretch(1)
        layout.addLayout(body, 1)

    def show_shown(self, shown: Shown) -> None:
        for widget in (self, self.headline):
            widget.setProperty("tone", shown.tone.value)
            repolish(widget)
        self.headline.setText(shown.headline)
        self.message.setText(shown.message)
        acta = shown.acta
        self.fields.setVisible(acta is not None)
        self.eleccion.setVisible(acta is not None)
        self.clave.setVisible(acta is not None)
        if acta is not None:
            self.eleccion.setText(self.tr("Todas las actas de la casilla")
                                  if shown.casilla_entera else eleccion_label(acta.eleccion))
            self.distrito.value.setText(f"{acta.casilla.distrito_id:02d}")
            self.seccion.value.setText(f"{acta.casilla.seccion:04d}")
            self.casilla.value.setText(casilla_label(acta.casilla))
            self.clave.setText(acta.casilla.clave if shown.casilla_entera else acta.clave)
        self.fuera.setVisible(shown.codigo_fuera is not None)
        self.corregir.setVisible(shown.sin_acta_corregible)
        self._fit_fields()
        if shown.eleccion_fuera is not None:
            index = self.fuera_eleccion.findData(shown.eleccion_fuera)
            self.fuera_eleccion.setCurrentIndex(max(index, 0))

    def _fit_fields(self) -> None:
        """The largest size of :data:`BIG_POINTS` at which the three values fit across
        the panel and everything the panel shows fits down it (at 1024×768, with a
        printer note under the panel, 48 pt leaves no room for a long message)."""
        if self.fields.isHidden():
            return
        fields = (self.distrito, self.seccion, self.casilla)
        margins = self._body.contentsMargins()
        available = self.contentsRect().width() - margins.left() - margins.right()
        across = [p for p in BIG_POINTS
                  if sum(f.width_at(p) for f in fields) + 2 * FIELD_SPACING <= available]
        layout = self.layout()
        assert layout is not None
        for points in across or BIG_POINTS[-1:]:
            self._set_points(points)
            # The inner layout keeps the height it computed last until the panel's layout
            # is next activated (after this returns): measured without dropping it, a
            # longer message or the F7 button just shown would not count yet.
            self._body.invalidate()
            if layout.totalHeightForWidth(self.width()) <= self.height():
                break

    def _set_points(self, points: int) -> None:
        if points != self._points:
            self._points = points
            style = "" if points == BIG_POINTS[0] else f"font-size: {points}pt;"
            for field in (self.distrito, self.seccion, self.casilla):
                field.value.setStyleSheet(style)
                field.updateGeometry()  # the new size counts now, not after a layout pass
            self.fields.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_fields()


class CountersPanel(QFrame):
    """This operator's shift and what is still expected per elección."""

    COLUMNS = ("Elección", "Esperadas", "Recibidas", "Sin acta", "Faltan")

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = vbox(self, (16, 14, 16, 14))
        layout.addWidget(caption(self.tr("Su turno")))
        row = QHBoxLayout()
        self.shift = named_label("0", "shiftNumber")
        self.shift_detail = named_label("", "pageSubtitle")
        row.addWidget(self.shift)
        row.addWidget(self.shift_detail, 1, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(row)
        layout.addSpacing(6)
        layout.addWidget(caption(self.tr("Actas de este CATD")))
        self.table = read_only_table([self.tr(c) for c in self.COLUMNS])
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # At 1024 px a long elección name wraps onto a second line instead of being cut;
        # the table grows to show every row (it never scrolls).
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.table)
        self.fuera = named_label("", "pageSubtitle")
        layout.addWidget(self.fuera)

    def show_counters(self, counters: Counters) -> None:
        self.shift.setText(str(counters.turno))
        detail = (self.tr("acta registrada por usted\ndesde las {hora}") if counters.turno == 1
                  else self.tr("actas registradas por usted\ndesde las {hora}"))
        self.shift_detail.setText(detail.format(hora=local_time(counters.turno_desde, False)))
        self.table.setRowCount(len(counters.tallies))
        for row, tally in enumerate(counters.tallies):
            values = (eleccion_label(tally.eleccion), str(tally.esperadas),
                      str(tally.acopiadas), str(tally.sin_acta), str(tally.faltan))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self._fit_rows()
        self.fuera.setText(self.tr("Fuera de catálogo registradas: {n}")
                           .format(n=counters.fuera_de_catalogo))

    def _fit_rows(self) -> None:
        """The table exactly as tall as its header and rows."""
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows
                                  + 2 * self.table.frameWidth() + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_rows()  # a narrower column wraps names onto more lines


class SinActaForm(QFrame):
    """A package without its acta: CLAVE_ACTA and the cause."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = vbox(self, (16, 14, 16, 14))
        layout.addWidget(caption(self.tr("Paquete sin acta (F6)")))
        grid = QGridLayout()
        self.clave = QLineEdit()
        self.clave.setPlaceholderText(self.tr("CLAVE_ACTA, o CLAVE_CASILLA"))
        self.clave.setMaxLength(64)
        self.causa = QComboBox()
        for causa, label in CAUSAS_SIN_ACTA.items():
            self.causa.addItem(self.tr(label), causa.value)
        self.submit = _button(self.tr("Registrar sin acta"))
        clave_label = QLabel(self.tr("Clave:"))
        clave_label.setBuddy(self.clave)
        causa_label = QLabel(self.tr("Causa:"))
        causa_label.setBuddy(self.causa)
        # One field a row: the CLAVE_ACTA field keeps the column's width at 1024 px.
        grid.addWidget(clave_label, 0, 0)
        grid.addWidget(self.clave, 0, 1)
        grid.addWidget(causa_label, 1, 0)
        grid.addWidget(self.causa, 1, 1)
        grid.addWidget(self.submit, 2, 1, Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.message = named_label("", "formMessage", wrap=True)
        layout.addWidget(self.message)

    def show_result(self, recorded: bool, message: str) -> None:
        self.message.setText(message)
        self.message.setProperty("tone", "ok" if recorded else "error")
        repolish(self.message)
        if recorded:
            self.clave.clear()


class AcopioView(QWidget):
    """The acopio screen."""

    def __init__(self, presenter: AcopioPresenter, detector: WedgeDetector,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.presenter = presenter
        self.detector = detector

        entry_card, entry = card((16, 14), 8)
        entry.addWidget(caption(self.tr("Escanee el QR del acta o escriba su CLAVE_ACTA (F2)")))
        row = QHBoxLayout()
        self.entry = QLineEdit()
        self.entry.setObjectName("codeEntry")
        self.entry.setPlaceholderText(self.tr("p. ej. 090123B010001"))
        self.entry.setMaxLength(256)
        self.submit = _button(self.tr("Registrar acopio"))
        self.submit.setObjectName("primary")
        row.addWidget(self.entry, 1)
        row.addWidget(self.submit)
        entry.addLayout(row)

        self.panel = ActaPanel()
        printer_row = QHBoxLayout()
        self.printer_note = named_label("", "printerNote", wrap=True)
        self.printer_note.setMargin(6)
        self.reprint = _button(self.tr("Reimprimir (F9)"))
        self.reprint.setVisible(False)
        printer_row.addWidget(self.printer_note, 1)
        printer_row.addWidget(self.reprint, 0, Qt.AlignmentFlag.AlignBottom)

        left = QVBoxLayout()
        left.setSpacing(12)
        left.addWidget(entry_card)
        left.addWidget(self.panel, 1)
        left.addLayout(printer_row)

        self.counters = CountersPanel()
        paquete = QHBoxLayout()
        paquete.setSpacing(16)
        self.traslado = QLabel()
        self.documento = QLabel()
        for label in (self.traslado, self.documento):
            label.setObjectName("formMessage")
            paquete.addWidget(label)
        paquete.addStretch(1)
        self.sin_acta = SinActaForm()
        right = QVBoxLayout()
        right.setSpacing(12)
        right.addWidget(self.counters)
        right.addLayout(paquete)
        right.addWidget(self.sin_acta)
        right.addStretch(1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 12)
        layout.setSpacing(16)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

        self.entry.returnPressed.connect(self._submit_typed)
        self.submit.clicked.connect(self._submit_typed)
        self.panel.fuera_button.clicked.connect(self._register_fuera)
        self.panel.corregir.clicked.connect(presenter.correct_sin_acta)
        self.reprint.clicked.connect(presenter.reprint)
        self.sin_acta.submit.clicked.connect(self._submit_sin_acta)
        self.sin_acta.clave.returnPressed.connect(self._submit_sin_acta)
        for key, slot in ((Qt.Key.Key_F2, self.entry.setFocus),
                          (Qt.Key.Key_F3, presenter.cycle_traslado),
                          (Qt.Key.Key_F4, presenter.toggle_documento),
                          (Qt.Key.Key_F6, self._focus_sin_acta),
                          (Qt.Key.Key_F7, presenter.correct_sin_acta),
                          (Qt.Key.Key_F8, self._register_fuera),
                          (Qt.Key.Key_F9, presenter.reprint)):
            QShortcut(QKeySequence(key), self, slot)

        presenter.shown_did_change.connect(self.show_shown)
        presenter.counters_did_change.connect(self.show_counters)
        presenter.printer_did_report.connect(self.show_printer)
        presenter.sin_acta_did_finish.connect(self.sin_acta.show_result)
        presenter.paquete_did_change.connect(self.show_paquete)
        detector.scan_did_arrive.connect(self._scanned)
        self.show_shown(presenter.shown)
        self.show_paquete(presenter.paquete_shown())
        self.show_counters(presenter.counters())
        if presenter.printer is None:
            self.show_printer(Tone.WARN, self.tr(
                "Sin impresora configurada: no se imprimen etiquetas de acopio "
                "(inicie catd con --impresora)."))

    def _scanned(self, text: str) -> None:
        if self.isVisible():
            self.presenter.handle_scan(text)

    def _submit_typed(self) -> None:
        text = self.entry.text()
        self.entry.clear()
        self.presenter.handle_typed(text)

    def _register_fuera(self) -> None:
        if self.panel.fuera.isVisible():
            self.presenter.register_fuera_de_catalogo(self.panel.fuera_eleccion.currentData()
                                                      or "")

    def _focus_sin_acta(self) -> None:
        """F6: to the sin acta form's clave, selected (what a refusal left there is
        replaced by what is typed next)."""
        self.sin_acta.clave.setFocus()
        self.sin_acta.clave.selectAll()

    def _submit_sin_acta(self) -> None:
        causa = CausaSinActa(self.sin_acta.causa.currentData())
        self.presenter.register_sin_acta(self.sin_acta.clave.text(), causa)

    def show_shown(self, shown: Shown) -> None:
        combo = self.panel.fuera_eleccion
        if combo.count() == 0 and self.presenter.ready:
            combo.addItem(self.tr("No se sabe"), "")
            for codigo, label in self.presenter.elecciones():
                combo.addItem(label, codigo)
        self.panel.show_shown(shown)

    def show_counters(self, counters: Counters) -> None:
        self.counters.show_counters(counters)

    def show_paquete(self, paquete: PaqueteShown) -> None:
        for label, text, ayuda, cambiado in (
                (self.traslado, paquete.traslado, paquete.traslado_ayuda,
                 paquete.traslado_cambiado),
                (self.documento, paquete.documento, paquete.documento_ayuda,
                 paquete.documento_cambiado)):
            label.setText(text)
            label.setToolTip(ayuda)
            label.setProperty("tone", "warn" if cambiado else "")
            repolish(label)

    def show_printer(self, tone: Tone, message: str) -> None:
        self.printer_note.setText(message)
        self.printer_note.setProperty("tone", tone.value)
        repolish(self.printer_note)
        self.reprint.setVisible(tone is Tone.ERROR)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.detector.activate(self)
        self.entry.setFocus()

    def hideEvent(self, event: QHideEvent) -> None:
        self.detector.deactivate(self)
        super().hideEvent(event)
