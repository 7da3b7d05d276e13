"""The digitalización screen: the scanner's folder and the shift's counters on top;
below, the files as they arrive, the selected one's outcome, and its image.

A passive view over :class:`catd.digitalizacion.presenter.DigitalizacionPresenter`.
Keyboard first: ↑/↓ walk the list (the newest file is selected as it arrives), F2
types the CLAVE_ACTA of an image whose QR cannot be read (Enter shows the acta it
names, Enter again stores, Esc corrects), F3 back to the list, F4 changes the folder;
the image keys are the viewer's (:data:`catd.imageview.IMAGE_KEYS`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor
from PySide6.QtGui import QDesktopServices
from PySide6.QtGui import QHideEvent
from PySide6.QtGui import QImage
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QResizeEvent
from PySide6.QtGui import QShortcut
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QFileDialog
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QWidget

from catd.acopio.presenter import Tone
from catd.digitalizacion.detail import DetailPanel
from catd.digitalizacion.items import ScanItem
from catd.digitalizacion.items import result_text
from catd.digitalizacion.presenter import Association
from catd.digitalizacion.presenter import Counters
from catd.digitalizacion.presenter import DigitalizacionPresenter
from catd.digitalizacion.presenter import FolderState
from catd.imageview import ImageView
from catd.theme import TONES
from catd.wedge import WedgeDetector
from prep.station.formatting import local_time
from qtkit.style import set_tone
from qtkit.widgets import caption
from qtkit.widgets import card
from qtkit.widgets import named_label
from qtkit.widgets import read_only_table
from qtkit.widgets import vbox

ID_ROLE = Qt.ItemDataRole.UserRole


class _ElidedLabel(QLabel):
    """A one-line label that shortens its text in the middle (a long path keeps its
    start and its last folder) instead of widening the screen; ``text()`` is whole."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""
        self.setMinimumWidth(120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle,
                                              self.contentsRect().width())
        super().setText(shown)


class _Tile(QWidget):
    """A counter: a number over its caption."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        layout = vbox(self, (10, 0, 10, 0), 0)
        self.number = named_label("—", "digiNumber")
        self.caption = named_label(caption, "digiTileCaption")
        layout.addWidget(self.number)
        layout.addWidget(self.caption)

    def set(self, value: int | None, tone: Tone = Tone.IDLE) -> None:
        self.number.setText("—" if value is None else str(value))
        set_tone(self.number, tone.value)


class DigitalizacionView(QWidget):
    """The digitalización screen."""

    COLUMNS = ("Hora", "Resultado")

    def __init__(self, presenter: DigitalizacionPresenter,
                 detector: WedgeDetector | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.setProperty("screen", "digitalizacion")  # its image view looks lighter
        self.presenter = presenter
        # A QR read here would vanish into the list's type-ahead: the detector takes
        # it while the screen is shown, and the screen says where scans go.
        self.detector = detector
        self.scan_note = named_label("", "digiNote", wrap=True)
        self.scan_note.hide()

        # folder and counters
        folder_card, folder = card()
        folder.addWidget(caption(self.tr("Carpeta del escáner")))
        row = QHBoxLayout()
        self.folder_path = _ElidedLabel()
        self.folder_path.setObjectName("digiPath")
        self.change_folder = QPushButton(self.tr("Cambiar (F4)"))
        self.open_folder = QPushButton(self.tr("Abrir"))
        for button in (self.change_folder, self.open_folder):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.folder_path, 1)
        row.addWidget(self.change_folder)
        row.addWidget(self.open_folder)
        folder.addLayout(row)
        self.folder_status = named_label("", "digiNote", wrap=True)
        folder.addWidget(self.folder_status)

        counters_card, counters = card()
        counters.addWidget(caption(self.tr("Su turno · esta estación")))
        tiles = QHBoxLayout()
        tiles.setSpacing(4)
        self.digitalizadas = _Tile(self.tr("digitalizadas"))
        self.rechazadas = _Tile(self.tr("rechazadas"))
        self.pendientes = _Tile(self.tr("acopiadas sin imagen"))
        self.sin_acopio = _Tile(self.tr("imágenes sin acopio"))
        for tile in (self.digitalizadas, self.rechazadas, self.pendientes, self.sin_acopio):
            tiles.addWidget(tile)
        counters.addLayout(tiles)
        self.shift_since = named_label("", "digiKeys")
        counters.addWidget(self.shift_since)

        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(folder_card, 5)
        top.addWidget(counters_card, 4)

        # list, detail, preview
        list_card, list_layout = card()
        list_layout.addWidget(caption(self.tr("Imágenes recibidas (F3)")))
        self.table = read_only_table([self.tr(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        list_layout.addWidget(self.table, 1)

        self.detail = DetailPanel()

        preview_card, preview = card()
        preview_head = QHBoxLayout()
        preview_head.addWidget(caption(self.tr("Vista previa")))
        preview_head.addStretch(1)
        self.zoom_label = named_label("", "digiKeys")
        preview_head.addWidget(self.zoom_label)
        preview.addLayout(preview_head)
        self.preview = ImageView()
        preview.addWidget(self.preview, 1)
        keys = QLabel(self.tr("Ctrl++ / Ctrl+− zoom · Ctrl+9 página · Ctrl+0 ancho · "
                              "RePág/AvPág · arrastre para mover"))
        keys.setObjectName("digiKeys")
        keys.setWordWrap(True)
        preview.addWidget(keys)

        bottom = QHBoxLayout()
        bottom.setSpacing(14)
        bottom.addWidget(list_card, 10)
        bottom.addWidget(self.detail, 11)
        bottom.addWidget(preview_card, 9)

        footer = QLabel(self.tr("↑/↓ recorrer las imágenes · F2 asociar a mano · Enter buscar "
                                "y luego Enter confirmar · Esc corregir · F3 volver a la "
                                "lista · F4 cambiar la carpeta"))
        footer.setObjectName("digiKeys")
        footer.setWordWrap(True)

        layout = vbox(self, (18, 14, 18, 8), 12)
        layout.addLayout(top)
        layout.addLayout(bottom, 1)
        layout.addWidget(self.scan_note)
        layout.addWidget(footer)
        if detector is not None:
            detector.scan_did_arrive.connect(self._scanned)

        # wiring
        associate = self.detail.associate
        self.table.currentCellChanged.connect(self._current_changed)
        associate.clave.returnPressed.connect(self._propose)
        associate.clave.textEdited.connect(lambda _: presenter.cancel_association())
        associate.submit.clicked.connect(self._propose)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), associate.clave, self._escape)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.change_folder.clicked.connect(self._choose_folder)
        self.open_folder.clicked.connect(self._open_folder)
        for key, slot in ((Qt.Key.Key_F2, self.focus_association),
                          (Qt.Key.Key_F3, self.table.setFocus),
                          (Qt.Key.Key_F4, self._choose_folder)):
            shortcut = QShortcut(QKeySequence(key), self, slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.preview.install_shortcuts(self)
        self.preview.zoom_did_change.connect(
            lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))

        presenter.item_did_arrive.connect(self._item_arrived)
        presenter.item_did_change.connect(self._item_changed)
        presenter.counters_did_change.connect(self.show_counters)
        presenter.folder_did_change.connect(self.show_folder)
        presenter.association_did_change.connect(self.detail.associate.show_state)
        presenter.preview_did_load.connect(self._preview_loaded)
        self.show_folder(presenter.folder)
        self.show_counters(presenter.counters())
        self.detail.show_item(None)
        self.preview.show_notice(self.tr("La imagen seleccionada se muestra aquí."))

    # list ------------------------------------------------------------------------------

    def selected_id(self) -> int | None:
        item = self.table.item(self.table.currentRow(), 0)
        return None if item is None else int(item.data(ID_ROLE))

    def row_of(self, item_id: int) -> int:
        for row in range(self.table.rowCount()):
            cell = self.table.item(row, 0)
            if cell is not None and cell.data(ID_ROLE) == item_id:
                return row
        return -1

    def _item_arrived(self, item_id: int) -> None:
        follow = (self.presenter.association.stage is Association.NONE
                  and not self.detail.associate.clave.hasFocus())
        self.table.insertRow(0)
        self._fill_row(0, self.presenter.items[item_id])
        if follow or self.table.currentRow() < 0:
            self.table.setCurrentCell(0, 0)

    def _item_changed(self, item_id: int) -> None:
        row = self.row_of(item_id)
        if row < 0:
            return
        item = self.presenter.items[item_id]
        self._fill_row(row, item)
        if row == self.table.currentRow():
            self.detail.show_item(item, self.presenter.checks(item))
            self.presenter.load_preview(item_id)
            if not item.associable and self.detail.associate.clave.hasFocus():
                self.table.setFocus()

    def _fill_row(self, row: int, item: ScanItem) -> None:
        color = QColor(TONES[item.tone.value][0])
        values = (local_time(item.at), result_text(item))
        for column, value in enumerate(values):
            cell = QTableWidgetItem(value)
            cell.setToolTip(f"{item.name}: {item.mensaje}")
            if column == 0:
                cell.setData(ID_ROLE, item.id)
            if column == 1:
                cell.setForeground(color)
            self.table.setItem(row, column, cell)

    def _current_changed(self, row: int, _column: int, _prev_row: int,
                         _prev_column: int) -> None:
        item_id = self.selected_id()
        self.presenter.select(item_id)
        item = self.presenter.items.get(item_id) if item_id is not None else None
        self.detail.show_item(item, self.presenter.checks(item) if item else None)
        self.detail.associate.clave.clear()
        self.detail.associate.show_state(self.presenter.association)
        if item_id is not None:
            self.preview.show_notice(self.tr("Cargando la imagen…"))
            self.presenter.load_preview(item_id)

    def _preview_loaded(self, item_id: int, image: object, why: str) -> None:
        if item_id != self.selected_id():
            return
        if isinstance(image, QImage):
            self.preview.set_image(image)
            self.preview.fit_page()
        else:
            self.preview.show_notice(why)

    # manual association ------------------------------------------------------------------

    def focus_association(self) -> None:
        if self.detail.associate.isVisible():
            self.detail.associate.clave.setFocus()
            self.detail.associate.clave.selectAll()

    def _propose(self) -> None:
        item_id = self.selected_id()
        if item_id is not None:
            self.presenter.propose_association(item_id, self.detail.associate.clave.text())

    def _escape(self) -> None:
        if self.presenter.association.stage is Association.CONFIRM:
            self.presenter.cancel_association()
            self.detail.associate.clave.selectAll()
        else:
            self.detail.associate.clave.clear()
            self.table.setFocus()

    # folder and counters -------------------------------------------------------------------

    def show_folder(self, state: FolderState) -> None:
        self.folder_path.setText(str(state.path) if state.path is not None else "—")
        self.folder_path.setToolTip(str(state.path) if state.path is not None else "")
        self.folder_status.setText(state.message)
        set_tone(self.folder_status, state.tone.value)

    def show_counters(self, counters: Counters) -> None:
        self.digitalizadas.set(counters.digitalizadas, Tone.PENDING)
        self.rechazadas.set(counters.rechazadas,
                            Tone.ERROR if counters.rechazadas else Tone.IDLE)
        tally = counters.tally
        self.pendientes.set(tally.pendientes if tally else None, Tone.IDLE)
        self.sin_acopio.set(tally.sin_acopio if tally else None,
                            Tone.WARN if tally and tally.sin_acopio else Tone.IDLE)
        self.shift_since.setText(self.tr("Turno desde las {hora}").format(
            hora=local_time(counters.desde, False)))

    def _choose_folder(self) -> None:
        current = self.presenter.folder.path
        chosen = QFileDialog.getExistingDirectory(
            self, self.tr("Carpeta donde el escáner guarda las imágenes"),
            str(current) if current is not None else "")
        if chosen:
            self.presenter.change_folder(Path(chosen))

    def _open_folder(self) -> None:
        if self.presenter.folder.path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.presenter.folder.path)))

    def _scanned(self, text: str) -> None:
        if not self.isVisible():
            return
        self.scan_note.setText(self.tr(
            "Se leyó un código con el lector ({codigo}), pero aquí no se registra nada "
            "con él: las actas llegan a Digitalización como imágenes del escáner (su QR "
            "se lee en la imagen). Para una imagen sin QR legible, selecciónela y "
            "escriba su CLAVE_ACTA con F2; el acopio se registra en la pantalla Acopio.")
            .format(codigo=text[:40]))
        set_tone(self.scan_note, Tone.WARN.value)
        self.scan_note.show()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.detector is not None:
            self.detector.activate(self)
        if not self.detail.associate.clave.hasFocus():
            self.table.setFocus()

    def hideEvent(self, event: QHideEvent) -> None:
        if self.detector is not None:
            self.detector.deactivate(self)
        super().hideEvent(event)

