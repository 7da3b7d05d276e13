"""Which screens an operator gets: by role, and by what the station is (CATD/CCV).

Each screen registers once here; the window shows, as tabs, exactly the screens of the
logged-in operator's role that this station can run. Screens still to come register
themselves when they exist; nothing is shown for work that cannot be done yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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


def _build_acopio(context: AppContext, operator: Operator) -> QWidget:
    from catd.acopio.presenter import AcopioPresenter
    from catd.acopio.view import AcopioView

    presenter = AcopioPresenter(context.station, operator, context.tasks, context.printer)
    view = AcopioView(presenter, context.detector)
    presenter.setParent(view)
    presenter.start()
    return view


SCREENS: tuple[Screen, ...] = (
    Screen("acopio", "Acopio", frozenset({"acopiador", "coordinador"}), frozenset({"catd"}),
           _build_acopio),
)


def screens_for(operator: Operator, station_role: str) -> list[Screen]:
    """The screens ``operator`` works with at a station of ``station_role``."""
    return [s for s in SCREENS if operator.role in s.roles and station_role in s.station_roles]
