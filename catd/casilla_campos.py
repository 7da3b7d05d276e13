"""An acta's DISTRITO, SECCIÓN and CASILLA side by side, each a caption over its value:
how the acopio and digitalización screens show which casilla an acta is of."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic
from typing import TypeVar

from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QWidget

from prep.catalog import Casilla
from prep.station.acopio import casilla_label
from qtkit.widgets import CaptionedValue

Campo = TypeVar("Campo", bound=CaptionedValue)


class CasillaCampos(QWidget, Generic[Campo]):
    """The three fields in a row, ``spacing`` apart from the left; ``make`` builds each
    field from its caption (the screen's own size of value)."""

    def __init__(self, make: Callable[[str], Campo], spacing: int) -> None:
        super().__init__()
        self.distrito = make(self.tr("Distrito"))
        self.seccion = make(self.tr("Sección"))
        self.casilla = make(self.tr("Casilla"))
        self.campos = (self.distrito, self.seccion, self.casilla)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(spacing)
        for campo in self.campos:
            layout.addWidget(campo)
        layout.addStretch(1)

    def show_casilla(self, casilla: Casilla) -> None:
        """Distrito in two digits, sección in four, the casilla as the catalog names it."""
        self.distrito.value.setText(f"{casilla.distrito_id:02d}")
        self.seccion.value.setText(f"{casilla.seccion:04d}")
        self.casilla.value.setText(casilla_label(casilla))
