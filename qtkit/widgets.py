"""The pieces every screen is built of."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout


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
