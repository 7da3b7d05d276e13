"""The workstation window: enrollment, login or the operator's screens, with the status
bar always at the bottom."""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QMainWindow
from PySide6.QtWidgets import QMessageBox
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QWidget

from catd.context import AppContext
from catd.enrollment import EnrollmentPresenter
from catd.enrollment import EnrollmentView
from catd.leaving import ScreenTabs
from catd.leaving import ask_to_leave
from catd.leaving import focus_back_on
from catd.login import LoginPresenter
from catd.login import LoginView
from catd.screens import Screen
from catd.status import StatusBarView
from catd.status import StatusPresenter
from prep.station.accounts import Operator
from prep.station.store import StationIdentity
from qtkit.widgets import named_label
from qtkit.widgets import vbox

log = logging.getLogger("catd.window")


class Workspace(QWidget):
    """A header (who and where, log out) over the operator's screens as tabs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(18, 8, 12, 8)
        self.title = named_label("", "headerTitle")
        self.detail = named_label("", "headerDetail")
        self.logout = QPushButton(self.tr("Cerrar sesión (Ctrl+Q)"))
        self.logout.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.title)
        row.addSpacing(16)
        row.addWidget(self.detail, 1)
        row.addWidget(self.logout)
        self.tabs = ScreenTabs()
        self.tabs.setDocumentMode(True)
        self.tabs.switch_wanted.connect(self.request_switch)
        # Screens without keys of their own (a CCV's, a jefe's) change with Ctrl+Tab.
        self.cycle_hint = named_label(self.tr("Ctrl+Tab: otra pantalla"), "tabKeys")
        self.cycle_hint.setContentsMargins(0, 0, 12, 0)
        self.tabs.setCornerWidget(self.cycle_hint, Qt.Corner.TopRightCorner)
        layout = vbox(self, spacing=0)
        layout.addWidget(header)
        layout.addWidget(self.tabs, 1)
        self._where = ""
        self._titles: list[str] = []
        self._switches: list[QShortcut] = []
        self.tabs.currentChanged.connect(lambda _: self._name_current())

    def open(self, where: str, detail: str, screens: list[tuple[Screen, QWidget]]) -> None:
        """Show ``screens`` as tabs, the first in front; the header names the one in
        front. When every screen has a switch key (a verificador's verificación and
        cotejo), the key brings its screen to the front and the tabs and legends say it."""
        self.close_screens()
        self._where = where
        self._titles = [self.tr(screen.title) for screen, _ in screens]
        self.detail.setText(detail)
        keyed = len(screens) > 1 and all(screen.switch_key for screen, _ in screens)
        for (screen, widget), title in zip(screens, self._titles, strict=True):
            self.tabs.addTab(widget, f"{title} ({screen.switch_key})" if keyed else title)
        if keyed:
            for index, (screen, _) in enumerate(screens):
                shortcut = QShortcut(QKeySequence(screen.switch_key), self,
                                     lambda i=index: self.request_switch(i))
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self._switches.append(shortcut)
        # Each screen's legend says the keys to the others: their own, or Ctrl+Tab.
        for screen, widget in screens if len(screens) > 1 else ():
            add_keys = getattr(widget, "add_keys", None)
            others = [(other.switch_key, title.lower()) for (other, _), title
                      in zip(screens, self._titles, strict=True) if other is not screen]
            if callable(add_keys):
                add_keys(others if keyed else
                         [("Ctrl+Tab", " / ".join(name for _, name in others))])
        # One screen needs no tab bar.
        self.tabs.tabBar().setVisible(len(screens) > 1)
        self.cycle_hint.setVisible(len(screens) > 1 and not keyed)
        self._name_current()

    def request_switch(self, index: int) -> None:
        """Bring screen ``index`` to the front, unless the one in front holds typed
        values: then ask first (staying is Enter and Escape), as a logout does."""
        current = self.tabs.currentWidget()
        if index == self.tabs.currentIndex() or not 0 <= index < self.tabs.count() \
                or current is None:
            return
        ask = getattr(current, "unsaved_work", None)
        unsaved = str(ask()) if callable(ask) else ""
        if not unsaved:
            self.tabs.setCurrentIndex(index)
            return
        title = self._titles[index]
        target = self.tabs.widget(index)

        def leave() -> None:
            if target is not None and shiboken6.isValid(target) \
                    and self.tabs.indexOf(target) >= 0:
                self.tabs.setCurrentWidget(target)
        ask_to_leave(
            self, self.tr("¿Cambiar a {pantalla}?").format(pantalla=title),
            self.tr("{unsaved} Si cambia a {pantalla} ahora, se pierden y el acta vuelve "
                    "a la fila del nodo central.").format(unsaved=unsaved, pantalla=title),
            self.tr("Enter o Esc: seguir en el acta. Tab y Enter: ir a {pantalla} sin "
                    "guardar.").format(pantalla=title),
            self.tr("Ir a {pantalla} sin guardar").format(pantalla=title), leave,
            focus_back_on(current))

    def _name_current(self) -> None:
        index = self.tabs.currentIndex()
        if 0 <= index < len(self._titles):
            self.title.setText(f"{self._where} · {self._titles[index]}")

    def unsaved_work(self) -> str:
        """What logging out now would lose, in the operator's words ("" for nothing):
        the screens that hold typed values say so through ``unsaved_work()``."""
        for index in range(self.tabs.count()):
            ask = getattr(self.tabs.widget(index), "unsaved_work", None)
            if callable(ask) and (unsaved := ask()):
                return str(unsaved)
        return ""

    def close_screens(self) -> None:
        for shortcut in self._switches:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self._switches = []
        self._titles = []
        # The last first: the screen in front stays in front until it goes, so no other
        # is brought forward (and started) on its way out.
        while self.tabs.count():
            widget = self.tabs.widget(self.tabs.count() - 1)
            self.tabs.removeTab(self.tabs.count() - 1)
            if widget is not None:
                widget.hide()  # hiding turns the wedge detector off
                widget.deleteLater()


class MainWindow(QMainWindow):
    """The one window of the CATD workstation."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.operator: Operator | None = None
        self.setWindowTitle(self._title())
        self.status_presenter = StatusPresenter(context.station, context.tasks, self)
        self.status_bar = StatusBarView(self.status_presenter, self)
        self.setStatusBar(self.status_bar)

        self.enrollment_presenter = EnrollmentPresenter(context.station, context.tasks,
                                                        context.locate, self)
        self.enrollment = EnrollmentView(self.enrollment_presenter)
        self.login_presenter = LoginPresenter(context.station, context.tasks, self)
        self.login = LoginView(self.login_presenter, context.detector)
        self.workspace = Workspace()
        self.pages = QStackedWidget()
        for page in (self.enrollment, self.login, self.workspace):
            self.pages.addWidget(page)
        self.setCentralWidget(self.pages)

        self.enrollment_presenter.enrollment_did_finish.connect(self._enrolled)
        self.login_presenter.login_did_succeed.connect(self._logged_in)
        self.workspace.logout.clicked.connect(self.request_log_out)
        QShortcut(QKeySequence("Ctrl+Q"), self.workspace, self.request_log_out)
        context.tasks.task_did_fail.connect(self._show_failure)
        if context.capacitacion:
            self._count_keys()

    def _count_keys(self) -> None:
        """Training: every key the logged-in operator presses goes to their score."""
        from prep.capacitacion.estacion import TrainingStation
        from qtkit.capacitacion import KeyCounter

        station = self.context.station
        assert isinstance(station, TrainingStation)

        def pressed() -> None:
            if self.operator is not None:
                station.note_key(self.operator.id)
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(KeyCounter(pressed, self))  # removed with the window

    def _title(self) -> str:
        identity = self.context.station.identity
        return "PREP · CCV" if identity is not None and identity.role == "ccv" \
            else "PREP · CATD"

    def start(self) -> None:
        """Enrollment on the first run, the login otherwise."""
        self.setWindowTitle(self._title())
        self.status_presenter.start()
        self.status_presenter.set_operator(None)
        if self.context.station.identity is None:
            self.pages.setCurrentWidget(self.enrollment)
            self.enrollment.url.setFocus()
        else:
            self._start_sync()
            self.show_login()

    def _start_sync(self) -> None:
        if self.context.capacitacion:
            return  # a training station has no central to send to (prep.capacitacion)
        station, options, discover = (self.context.station, self.context.sync_options,
                                      self.context.discover)
        # Opening the agent reads the outbox: not on the GUI thread.
        self.context.tasks.run("db", lambda: station.start_sync(options, discover=discover))

    def _enrolled(self, identity: StationIdentity) -> None:
        self.setWindowTitle(self._title())
        log.info("enrolled as %s", identity.station_id)
        self._start_sync()
        self.show_login()

    def show_login(self) -> None:
        self.pages.setCurrentWidget(self.login)
        self.login.reset()

    def _logged_in(self, operator: Operator, screens: list[Screen]) -> None:
        self.operator = operator
        self.status_presenter.set_operator(operator)
        identity = self.context.station.store.require_identity()
        where = f"CATD {identity.sitio}" if identity.sitio.isdigit() else identity.sitio
        built = [(screen, screen.build(self.context, operator)) for screen in screens
                 if screen.practice or not self.context.capacitacion]
        self.workspace.open(where, f"{operator.name} · {operator.role} · {identity.station_id}",
                            built)
        self.pages.setCurrentWidget(self.workspace)
        log.info("operator %s logged in (%s)", operator.id, operator.role)

    def request_log_out(self) -> None:
        """Ctrl+Q or the button: out at once, unless typed values would be lost; then
        ask first, staying being the default (Enter) and Escape."""
        unsaved = self.workspace.unsaved_work()
        if self.operator is None or not unsaved:
            self.log_out()
            return
        back = QApplication.focusWidget()

        def refocus() -> None:  # back to the field the operator was on
            if back is not None and shiboken6.isValid(back):
                back.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
        ask_to_leave(self, self.tr("¿Cerrar la sesión?"),
                     self.tr("{unsaved} Si cierra la sesión ahora, se pierden y el acta "
                             "vuelve a la fila del nodo central.").format(unsaved=unsaved),
                     self.tr("Enter o Esc: seguir en el acta. Tab y Enter: cerrar la sesión "
                             "sin guardar."), self.tr("Cerrar sesión sin guardar"),
                     self.log_out, refocus)

    def log_out(self) -> None:
        if self.operator is None:
            return
        log.info("operator %s logged out", self.operator.id)
        forget_keys = getattr(self.context.station, "forget_keys", None)
        if callable(forget_keys):  # training: keys never filed with a record
            forget_keys(self.operator.id)
        self.operator = None
        self.workspace.close_screens()
        self.status_presenter.set_operator(None)
        self.show_login()

    def _show_failure(self, message: str) -> None:
        QMessageBox.warning(self, self._title(), message)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.status_presenter.stop()
        super().closeEvent(event)
