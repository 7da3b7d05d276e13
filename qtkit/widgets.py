"""The pieces every screen is built of."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QTableWidget
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget


def caption(text: str) -> QLabel:
    """A small upper-case caption over a group (object name ``caption``)."""
    label = QLabel(text.upper())
    label.setObjectName("caption")
    return label


def card(margins: tuple[int, int] = (14, 12), spacing: int = 6) -> tuple[QFrame, QVBoxLayout]:
    """A white rounded panel (object name ``card``) and its layout, with ``margins``
    (horizontal, vertical) inside."""
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    across, down = margins
    layout.setContentsMargins(across, down, across, down)
    layout.setSpacing(spacing)
    return frame, layout


def named_label(text: str, name: str, wrap: bool = False) -> QLabel:
    """A label styled by its object ``name``; ``wrap``: its text takes more lines rather
    than widening the window."""
    label = QLabel(text)
    label.setObjectName(name)
    if wrap:
        label.setWordWrap(True)
    return label


def vbox(owner: QWidget | None, margins: tuple[int, int, int, int] = (0, 0, 0, 0),
           spacing: int | None = None) -> QVBoxLayout:
    """A vertical layout (of ``owner``, if any) with ``margins`` (left, top, right,
    bottom) and ``spacing`` between its items (None: the style's)."""
    layout = QVBoxLayout(owner) if owner is not None else QVBoxLayout()
    layout.setContentsMargins(*margins)
    if spacing is not None:
        layout.setSpacing(spacing)
    return layout


def read_only_table(headers: Sequence[str]) -> QTableWidget:
    """A table with columns ``headers`` and no rows yet, to read, not edit, without row
    numbers."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return table


class CaptionedValue(QWidget):
    """A caption over a value (DISTRITO 07); the value label is styled by its object
    name."""

    def __init__(self, title: str, value_name: str) -> None:
        super().__init__()
        layout = vbox(self, spacing=0)
        self.caption = caption(title)
        layout.addWidget(self.caption)
        self.value = named_label("—", value_name)
        layout.addWidget(self.value)


def captioned_row(fields: Sequence[QWidget], spacing: int) -> QWidget:
    """``fields`` side by side from the left, ``spacing`` apart, in a widget of their
    own."""
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(spacing)
    for field in fields:
        layout.addWidget(field)
    layout.addStretch(1)
    row = QWidget()
    row.setLayout(layout)
    return row
