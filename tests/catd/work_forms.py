"""Scenery for the work screens across elections whose forms differ: a catalog (seed 1,
scale 0.03) where CATD 26 has Jefatura de Gobierno with 22 fields, Diputaciones with 14
and Alcaldías with 18, actas of it digitized or brought to verificación in a chosen
order, and checks that a screen fits its window and that the keyboard focus sits on a
field of the form on screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from collections.abc import Sequence

from PySide6.QtCore import QEvent
from PySide6.QtCore import QPoint
from PySide6.QtCore import QRect
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QWidget

from catd.captura.view import WorkView
from catd.captura.widgets import ValueEdit
from catd.window import MainWindow
from prep.catalog import Acta
from tests.catd.conftest import Central
from tests.catd.conftest import focused
from tests.catd.test_captura import estado
from tests.catd.test_captura import scan_elsewhere
from tests.central.station import query
from tests.harness.espera import holgado
from tests.harness.work import WorkStation
from tests.harness.work import truth

SITIO = "26"
CATD_FORMS = int(SITIO)
SEED, SCALE = 1, 0.03
JEFATURA, DIPUTACIONES, ALCALDIAS = "01", "02", "03"
SIZES = ((1366, 768), (1024, 768))


def fresh_in_order(central: Central, elecciones: Sequence[str]) -> list[Acta]:
    """Actas of CATD 26 nobody reported yet, one per code in ``elecciones``, each of a
    later casilla than the one before: the central hands them out in this order (same
    acopio time, then CLAVE_ACTA)."""
    waiting = {row[0] for row in query(central.node.dsn, "SELECT clave_acta FROM "
                                       "acta_states WHERE estado = 'esperada'")}
    casillas: dict[str, dict[str, Acta]] = {}
    for acta in central.catalog.iter_actas():
        if acta.casilla.distrito_id == CATD_FORMS and acta.clave in waiting:
            casillas.setdefault(acta.casilla.clave, {})[acta.eleccion.codigo] = acta
    picked: list[Acta] = []
    wanted = iter(elecciones)
    codigo = next(wanted, None)
    for clave in sorted(casillas):
        if codigo is not None and codigo in casillas[clave]:
            picked.append(casillas[clave][codigo])
            codigo = next(wanted, None)
    assert codigo is None, "the catalog has too few fresh actas at CATD 26"
    return picked


def digitize_here(central: Central, coordinador: str, actas: Sequence[Acta]) -> None:
    """Another station of CATD 26 records, by its coordinador, the acopio and a
    scanned image of each acta."""
    scan_elsewhere(central, CATD_FORMS, coordinador, coordinador, actas)
    for acta in actas:
        assert estado(central, acta.clave) == "digitalizada", acta.clave


def disputed(acta: Acta) -> str:
    """The vote field the three captures of :func:`to_verificacion` disagree on."""
    return next(c for c in acta.layout.campos if c in acta.eleccion.campos_voto_set)


def to_verificacion(central: Central, coordinador: str, capturistas: Sequence[str],
                    actas: Sequence[Acta]) -> None:
    """Digitize ``actas`` and have three capturistas, each at a station of their own,
    disagree on one field of each (the right value, +1, +2): the actas wait for
    verificación. Actas of other tests offered to them are given back untouched."""
    _captured_elsewhere(central, coordinador, capturistas, actas, 1, "verificacion")


def to_validada(central: Central, coordinador: str, capturistas: Sequence[str],
                actas: Sequence[Acta]) -> None:
    """Digitize ``actas`` and have two capturistas, each at a station of their own,
    type them right: the actas are validated (published, waiting for cotejo)."""
    _captured_elsewhere(central, coordinador, capturistas[:2], actas, 0, "validada")


def _captured_elsewhere(central: Central, coordinador: str, capturistas: Sequence[str],
                        actas: Sequence[Acta], step: int, estado: str) -> None:
    """Digitize ``actas``; each capturista, at a station of their own, types the
    disputed field of each right plus ``step`` times their turn; then each is in
    ``estado``."""
    digitize_here(central, coordinador, actas)
    targets = {a.clave: a for a in actas}

    async def run() -> None:
        for slip, operator in enumerate(capturistas):
            async with WorkStation.enroll(central.node, CATD_FORMS) as other:
                left = set(targets)
                for _ in range(10):
                    if not left:
                        break
                    for lease in await other.next(operator, prefetch=10):
                        acta = targets.get(lease["clave_acta"])
                        if acta is None:
                            await other.lease_action(lease["lease_id"], "release")
                            continue
                        campo = disputed(acta)
                        valores = {**truth(acta), campo: truth(acta)[campo] + slip * step}
                        await other.capture(operator, lease, valores)
                        left.discard(acta.clave)
                assert not left, f"{operator} was never offered {sorted(left)}"
    asyncio.run(run())
    for clave in targets:
        assert query(central.node.dsn, "SELECT estado FROM acta_states WHERE "
                     "clave_acta = %s", clave) == [(estado,)]


# what the operator sees --------------------------------------------------------------

def rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def label_cut(label: QLabel) -> str:
    """Why ``label``'s text is not fully shown ("" if it is)."""
    text = label.text()
    if not text or not label.isVisible():
        return ""
    room = label.contentsRect()
    metrics = QFontMetrics(label.font())
    if label.wordWrap():
        longest = max((metrics.horizontalAdvance(w) for w in text.split()), default=0)
        if longest > room.width():
            return f"{text!r}: a word needs {longest} px, the label has {room.width()}"
        if label.heightForWidth(label.width()) > label.height():
            return f"{text!r}: needs {label.heightForWidth(label.width())} px of height, " \
                   f"has {label.height()}"
        return ""
    if label.sizeHint().width() > label.width():
        return f"{text!r}: needs {label.sizeHint().width()} px, has {label.width()}"
    return ""


def area_widgets(view: WorkView) -> Iterator[QWidget]:
    """The labels and fields of the form or decision table on screen."""
    area = view.work_scroll.widget()
    assert area is not None
    for child in area.findChildren(QWidget):
        if child.isVisible() and isinstance(child, QLabel | ValueEdit):
            yield child


def assert_fits(window: MainWindow, view: WorkView, size: tuple[int, int]) -> None:
    """Everything of the work screen is inside the window, every column of the form is
    inside the work area (no sideways scrolling) and no label is cut, once the layout
    has settled (as an operator sees it: a message or the queue line set by a queued
    signal reaches its new height a layout pass later; on a busy machine one pass left a
    two-line message 18 px high and a three-line queue 34 px). A layout that never fits
    fails after a bound a few passes would never need, even on a loaded machine."""
    deadline = time.monotonic() + holgado(10)
    while True:
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QApplication.processEvents()
        problems = _fit_problems(window, view, size)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not problems, "\n".join(problems)


def _fit_problems(window: MainWindow, view: WorkView, size: tuple[int, int]) -> list[str]:
    assert (window.width(), window.height()) == size, \
        f"the window cannot be {size[0]}×{size[1]}: it is {window.width()}×{window.height()}"
    scroll = view.work_scroll
    assert not scroll.horizontalScrollBar().isVisible(), "the form scrolls sideways"
    viewport = scroll.viewport()
    assert viewport is not None
    problems = []
    for widget in area_widgets(view):
        box = rect_in(widget, viewport)
        if box.left() < 0 or box.right() >= viewport.width():
            problems.append(f"{type(widget).__name__} {getattr(widget, 'campo', '')}"
                            f"{widget.text() if isinstance(widget, QLabel) else ''} "
                            f"at x {box.left()}..{box.right()}, area {viewport.width()}")
        if isinstance(widget, QLabel) and (cut := label_cut(widget)):
            problems.append(cut)
    inside = window.rect()
    for widget in (view.header, view.save, view.unreadable, view.queue_line, view.legend,
                   view.image, scroll):
        if widget.isVisible() and not inside.contains(rect_in(widget, window)):
            problems.append(f"{widget.objectName() or type(widget).__name__} leaves the "
                            f"window: {rect_in(widget, window)}")
    for label in view.findChildren(QLabel):
        if label.isVisible() and not label.window().isHidden() \
                and label not in list(area_widgets(view)) and (cut := label_cut(label)):
            problems.append(cut)
    # The acta image stays wide enough to read from.
    if view.image.width() < 0.35 * size[0]:
        problems.append(f"the image is only {view.image.width()} px wide")
    return problems


def assert_focus_on(view: WorkView, campo: str) -> ValueEdit:
    """The keyboard focus is on ``campo``'s field of the form on screen, visible."""
    edit = focused()
    assert isinstance(edit, ValueEdit), f"the focus is on {edit!r}, not on a field"
    assert edit.campo == campo, f"the focus is on {edit.campo}, not on {campo}"
    assert edit.isVisible() and view.isAncestorOf(edit)
    return edit

