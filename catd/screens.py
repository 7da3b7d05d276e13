"""Which screens an operator gets: by role, and by what the station is (CATD/CCV).

Each screen registers once here; the window shows, as tabs, exactly the screens of the
logged-in operator's role that this station can run. Screens still to come register
themselves when they exist; nothing is shown for work that cannot be done yet.

A verificador at a CATD has two screens: verificación (first, so it opens by default)
and cotejo. Both carry a ``switch_key`` (F7, F8): when every screen an operator has
carries one, that key brings the screen to the front from anywhere in it, and the tab
and the screen's key legend say so (``catd.window.Workspace``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from catd.context import AppContext
from prep.station.accounts import Operator


@dataclass(frozen=True)
class Screen:
    """A screen of the workstation."""

    key: str
    title: str
    roles: frozenset[str]
    station_roles: frozenset[str]
    build: Callable[[AppContext, Operator], QWidget] = field(compare=False)
    switch_key: str = ""  # the key that brings it to the front, beside its companions
    #: Whether a training station (``--capacitacion``) shows it: cotejo needs data
    #: published by a corte, which a practice has not.
    practice: bool = True


def _owning(presenter: QObject, view: QWidget) -> QWidget:
    """``view``, which from now on owns ``presenter`` (deleted with it)."""
    presenter.setParent(view)
    return view


def _build_acopio(context: AppContext, operator: Operator) -> QWidget:
    from catd.acopio.presenter import AcopioPresenter
    from catd.acopio.view import AcopioView

    presenter = AcopioPresenter(context.station, operator, context.tasks, context.printer)
    view = _owning(presenter, AcopioView(presenter, context.detector))
    presenter.start()
    return view


def _build_digitalizacion(context: AppContext, operator: Operator) -> QWidget:
    from catd.digitalizacion.presenter import DigitalizacionPresenter
    from catd.digitalizacion.view import DigitalizacionView

    presenter = DigitalizacionPresenter(context.station, operator, context.tasks)
    view = _owning(presenter, DigitalizacionView(presenter, context.detector))
    presenter.start()
    return view


def _build_captura(context: AppContext, operator: Operator) -> QWidget:
    from catd.captura.presenter import CapturaPresenter
    from catd.captura.view import CapturaView

    presenter = CapturaPresenter(context.station, operator, context.tasks)
    # The view starts its presenter when shown and stops it when hidden.
    return _owning(presenter, CapturaView(presenter))


def _build_verificacion(context: AppContext, operator: Operator) -> QWidget:
    from catd.verificacion.presenter import VerificacionPresenter
    from catd.verificacion.view import VerificacionView

    presenter = VerificacionPresenter(context.station, operator, context.tasks)
    return _owning(presenter, VerificacionView(presenter))


def _build_cotejo(context: AppContext, operator: Operator) -> QWidget:
    from catd.cotejo.presenter import CotejoPresenter
    from catd.cotejo.view import CotejoView

    presenter = CotejoPresenter(context.station, operator, context.tasks)
    # Like verificación: it asks for work only while on screen.
    return _owning(presenter, CotejoView(presenter))


def _build_casilla(context: AppContext, operator: Operator) -> QWidget:
    from catd.casilla.presenter import IntakePresenter
    from catd.casilla.view import IntakePanel

    presenter = IntakePresenter(context.station, context.tasks)
    # The panel asks the central only while it is on screen.
    return _owning(presenter, IntakePanel(presenter))


SCREENS: tuple[Screen, ...] = (
    Screen("acopio", "Acopio", frozenset({"acopiador", "coordinador"}), frozenset({"catd"}),
           _build_acopio),
    Screen("digitalizacion", "Digitalización", frozenset({"digitalizador", "coordinador"}),
           frozenset({"catd"}), _build_digitalizacion),
    Screen("captura", "Captura", frozenset({"capturista"}), frozenset({"catd", "ccv"}),
           _build_captura),
    Screen("verificacion", "Verificación", frozenset({"verificador"}),
           frozenset({"catd", "ccv"}), _build_verificacion, "F7"),
    # Cotejo compares published data with the paper acta, which only a CATD holds.
    Screen("cotejo", "Cotejo", frozenset({"verificador"}), frozenset({"catd"}),
           _build_cotejo, "F8", practice=False),
    Screen("casilla", "PREP Casilla", frozenset({"capturista", "verificador", "coordinador"}),
           frozenset({"ccv"}), _build_casilla),
)


def screens_for(operator: Operator, station_role: str) -> list[Screen]:
    """The screens ``operator`` works with at a station of ``station_role``."""
    return [s for s in SCREENS if operator.role in s.roles and station_role in s.station_roles]
