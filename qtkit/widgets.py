"""The pieces every screen is built of."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView
from PySide6.QtWidgets import QFrame
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
