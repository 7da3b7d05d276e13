"""One table model for every list on the dashboard, and a table that says when it is
empty.

A :class:`Cell` carries its text, the value it sorts by and an optional tone (row or
cell colour); views build rows of cells from the overview and hand them over whole, so
a refresh replaces the rows in one model reset and keeps the sort order and selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel
from PySide6.QtCore import QModelIndex
from PySide6.QtCore import QPersistentModelIndex
from PySide6.QtCore import QSize
from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QStyleOptionViewItem
from PySide6.QtWidgets import QTableView
from PySide6.QtWidgets import QWidget

from dashboard import theme
from qtkit.widgets import named_label

SORT_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Cell:
    """One cell: its text, sort value, tone (None: the row's), tooltip."""

    text: str
    sort: Any = None
    tone: str | None = None
    tip: str | None = None
    numeric: bool = False


def text(value: str, tone: str | None = None, tip: str | None = None) -> Cell:
    return Cell(value, value.lower(), tone, tip)


def number(value: int | float | None, shown: str | None = None,
           tone: str | None = None) -> Cell:
    """A right-aligned number (``shown`` overrides its text)."""
    if shown is None:
        shown = theme.num(value) if isinstance(value, int) or value is None else f"{value}"
    return Cell(shown, -1 if value is None else value, tone, None, True)


@dataclass(frozen=True)
class Row:
    """A row of cells, its key (what selection keeps across refreshes) and tone."""

    key: Any
    cells: Sequence[Cell]
    tone: str | None = None


class RowsModel(QAbstractTableModel):
    """Rows of :class:`Cell`; replace them all with :meth:`set_rows`."""

    def __init__(self, headers: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headers = list(headers)
        self.rows: list[Row] = []

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        cell = row.cells[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell.text
        if role == SORT_ROLE:
            return cell.sort if cell.sort is not None else cell.text
        if role == KEY_ROLE:
            return row.key
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell.tip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignRight if cell.numeric
                          else Qt.AlignmentFlag.AlignLeft)
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            tone = cell.tone or row.tone
            return theme.soft(tone) if tone else None
        if role == Qt.ItemDataRole.ForegroundRole and cell.tone:
            return theme.strong(cell.tone)
        return None


class Table(QStackedWidget):
    """A sortable, read-only table, or a sentence when it has no rows."""

    def __init__(self, headers: Sequence[str], empty: str, parent: QWidget | None = None,
                 stretch: int | None = None, wrap: bool = False,
                 share: Sequence[int] = ()) -> None:
        """``stretch``: the column that takes the width left (default: the last one);
        ``wrap``: its text wraps onto more lines and rows grow to show it whole, instead
        of being cut with «…» on a 1024-pixel screen. ``share``: columns of free text
        (names, addresses) that share the width left with ``stretch`` instead of taking
        what their longest text needs, shortened with «…» (whole on hover): the
        columns after them stay on screen, never behind a sideways scroll."""
        super().__init__(parent)
        self.model = RowsModel(headers, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Rows are chosen with the arrows; Tab goes on to the page's next control.
        self.view.setTabKeyNavigation(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(26)
        self.view.setAlternatingRowColors(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in share:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        if stretch is not None:
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        else:
            header.setStretchLastSection(True)
        self.wrap_column = (stretch if stretch is not None else len(headers) - 1) \
            if wrap else None
        self._fit_pending = False
        if wrap:
            self.view.setWordWrap(True)
            header.sectionResized.connect(self._column_resized)
            self.proxy.layoutChanged.connect(self._fit_rows_later)  # sorted
        self.empty = named_label(empty, "empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.addWidget(self.view)
        self.addWidget(self.empty)
        self.setCurrentWidget(self.empty)

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows`` (keeping the selected row by its key), or the empty sentence."""
        selected = self.selected_key()
        self.model.set_rows(rows)
        self.setCurrentWidget(self.view if rows else self.empty)
        self.fit_rows()
        if selected is not None:
            self.select_key(selected)

    def fit_rows(self) -> None:
        """Each row as tall as its wrapped text needs. Only the wrapping column is
        measured (the others hold one line): one text layout per row, not per cell."""
        self._fit_pending = False
        column = self.wrap_column
        if column is None:
            return
        view = self.view
        base = view.verticalHeader().defaultSectionSize()
        # A wrapped row keeps a one-line row's space around its text (and the grid line
        # Qt takes from the cell): a line less and Qt cuts the last one with «…».
        padding = base - view.fontMetrics().lineSpacing()
        option = QStyleOptionViewItem()
        view.initViewItemOption(option)
        option.features |= QStyleOptionViewItem.ViewItemFeature.WrapText
        option.rect.setSize(QSize(view.columnWidth(column), base))
        delegate = view.itemDelegate()
        for row in range(self.proxy.rowCount()):
            needed = delegate.sizeHint(option, self.proxy.index(row, column)).height()
            view.setRowHeight(row, max(base, needed + padding))

    def _column_resized(self, column: int, _old: int, _new: int) -> None:
        if column == self.wrap_column:
            self._fit_rows_later()

    def _fit_rows_later(self) -> None:
        """Once the layout settles (a window resize moves the column many times)."""
        if not self._fit_pending:
            self._fit_pending = True
            QTimer.singleShot(0, self, self.fit_rows)

    def selected_key(self) -> Any:
        indexes = self.view.selectionModel().selectedRows()
        return indexes[0].data(KEY_ROLE) if indexes else None

    def select_key(self, key: Any) -> bool:
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if index.data(KEY_ROLE) == key:
                self.view.selectRow(r)
                return True
        return False

    def cell(self, key: Any, column: int) -> str:
        """The text shown in ``column`` of the row ``key`` (tests read the screen)."""
        for row in self.model.rows:
            if row.key == key:
                return row.cells[column].text
        raise KeyError(key)
