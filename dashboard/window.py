"""The dashboard's main window: a banner for the connection's state, the pages in tabs,
the coordinators' session and actions in menus, and keyboard shortcuts for all of it.

Shortcuts: F5 refresh now; Ctrl+1…8 the pages; Ctrl+H one acta's history (its
CLAVE_ACTA field); Alt+E the elección; Ctrl+L log in;
Ctrl+Intro acknowledge the selected anomaly; Ctrl+Shift+A enrollment code; Ctrl+Shift+O
operator; Ctrl+Shift+E disable/enable the selected station; Ctrl+Shift+C corte now
(outside the Consejo's window only with a reason); Ctrl+Shift+U the último corte; Ctrl+Q
quit.

Every action is done as the coordinator logged in (its account id is the audit actor);
an action asked for without a session opens the login first and goes on after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtGui import QCloseEvent
from PySide6.QtGui import QGuiApplication
from PySide6.QtGui import QKeySequence
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QMainWindow
from PySide6.QtWidgets import QMenu
from PySide6.QtWidgets import QStackedWidget
from PySide6.QtWidgets import QTabWidget
from PySide6.QtWidgets import QWidget

from central.controlroom.login import CoordinatorAccount
from central.publication.ventana import EstadoPublicacion
from central.stations.operators import OperatorInfo
from dashboard import theme
from dashboard.charts import ThroughputView
from dashboard.controller import DashboardController
from dashboard.corte_dialog import CorteDialog
from dashboard.dialogs import Done
from dashboard.dialogs import EnrollmentCodeDialog
from dashboard.dialogs import Failed
from dashboard.dialogs import LoginDialog
from dashboard.dialogs import OperatorDialog
from dashboard.dialogs import StationDialog
from dashboard.dialogs import confirm
from dashboard.dialogs import inform
from dashboard.difusores import DifusoresView
from dashboard.historial import HistorialView
from dashboard.stations import site_name
from dashboard.views import AnomaliasView
from dashboard.views import CapturistasView
from dashboard.views import CortesView
from dashboard.views import EstacionesView
from dashboard.views import ResumenView
from qtkit.style import set_tone
from qtkit.widgets import named_label
from qtkit.widgets import vbox

PAGES = ("Resumen", "Ritmo", "Estaciones", "Anomalías", "Capturistas", "Cortes",
         "Difusores", "Historial")
DEFAULT_SIZE = (1440, 860)
#: The smallest screen the control room's PCs have: everything must fit it.
MIN_SIZE = (1024, 700)

TITLE = "PREP · Tablero de la sala de control"


class DashboardWindow(QMainWindow):
    """The control room's window over a :class:`DashboardController`."""

    def __init__(self, controller: DashboardController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle(TITLE)
        self._fit_screen()
        central = QWidget()
        central.setObjectName("page")
        outer = vbox(central, (10, 8, 10, 4), 6)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(12, 6, 12, 6)
        self.banner_text = QLabel("")
        self.banner_text.setWordWrap(True)
        banner_layout.addWidget(self.banner_text, 1)
        outer.addWidget(self.banner)
        self.resumen = ResumenView()
        self.ritmo = ThroughputView()
        self.estaciones = EstacionesView()
        self.anomalias = AnomaliasView()
        self.capturistas = CapturistasView()
        self.cortes = CortesView()
        self.difusores = DifusoresView()
        self.historial = HistorialView()
        self.tabs = QTabWidget()
        for widget, title in zip((self.resumen, self.ritmo, self.estaciones, self.anomalias,
                                  self.capturistas, self.cortes, self.difusores,
                                  self.historial), PAGES, strict=True):
            self.tabs.addTab(widget, title)
        self.loading = named_label("Cargando datos del nodo central…", "empty")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.loading)
        self.stack.addWidget(self.tabs)
        outer.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.live = QLabel("")
        self.live.setMinimumWidth(0)
        self.statusBar().addWidget(self.live, 1)
        self.acting = QLabel("")
        self.statusBar().addPermanentWidget(self.acting)
        self.corte_started: float | None = None
        self._corte_timer = QTimer(self)
        self._corte_timer.setInterval(1000)
        self._corte_timer.timeout.connect(self._show_state)
        self._menus()
        self.anomalias.set_can_act(controller.can_act)
        self.estaciones.set_can_act(controller.can_act)
        self.anomalias.ack_requested.connect(self._ack)
        self.estaciones.station_action_requested.connect(self.station_action)
        self.historial.lookup_requested.connect(self._lookup_acta)
        controller.overview_did_load.connect(self._show_overview)
        controller.state_did_change.connect(self._show_state)
        controller.session_did_change.connect(self._show_session)
        controller.action_did_finish.connect(self._action_done)
        controller.action_did_fail.connect(self._action_failed)
        self._show_session()

    def _fit_screen(self) -> None:
        self.setMinimumSize(*MIN_SIZE)
        width, height = DEFAULT_SIZE
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry()
            width = max(MIN_SIZE[0], min(width, available.width()))
            height = max(MIN_SIZE[1], min(height, available.height()))
        self.resize(width, height)

    def start(self) -> None:
        """Start reading; with the central's connection, ask the coordinator to log in."""
        self.controller.start()
        if self.controller.can_act:
            QTimer.singleShot(0, self.login)

    def _menus(self) -> None:
        view = self.menuBar().addMenu("&Ver")
        refresh = QAction("Actualizar ahora", self)
        refresh.setShortcut(QKeySequence(Qt.Key.Key_F5))
        refresh.triggered.connect(self.controller.request_refresh)
        view.addAction(refresh)
        view.addSeparator()
        for i, title in enumerate(PAGES):
            action = QAction(title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _c=False, i=i: self.show_page(i))
            view.addAction(action)
        view.addSeparator()
        quit_action = QAction("Salir", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        view.addAction(quit_action)
        enabled = self.controller.can_act
        tip = "" if enabled else "Requiere --acciones-dsn (la conexión del nodo central)."
        sesion = self.menuBar().addMenu("&Sesión")
        self.login_action = self._action(sesion, "Iniciar sesión…", "Ctrl+L",
                                         lambda: self.login(), enabled, tip)
        self.logout_action = self._action(sesion, "Cerrar sesión", None,
                                          self.controller.logout, False, tip)
        acciones = self.menuBar().addMenu("&Acciones")
        self.action_items = [
            self._action(acciones, title, keys, slot, enabled, tip)
            for title, keys, slot in (
                ("Código de alta de un equipo…", "Ctrl+Shift+A", self.enrollment_code),
                ("Operador nuevo…", "Ctrl+Shift+O", self.new_operator),
                ("Deshabilitar o habilitar el equipo elegido…", "Ctrl+Shift+E",
                 self.station_action),
                ("Corte ahora…", "Ctrl+Shift+C", self.corte_now),
                ("Último corte…", "Ctrl+Shift+U", self.ultimo_corte))]
        self.corte_action, self.ultimo_action = self.action_items[-2:]
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            ack = QShortcut(QKeySequence(keys), self)
            ack.activated.connect(self.anomalias.request_ack)
        historial = QAction("Historial de un acta…", self)
        historial.setShortcut(QKeySequence("Ctrl+H"))
        historial.triggered.connect(self.show_historial)
        view.insertAction(quit_action, historial)
        view.insertSeparator(quit_action)
        combo = QShortcut(QKeySequence("Alt+E"), self)
        combo.activated.connect(self._focus_eleccion)

    def _action(self, menu: QMenu, title: str, keys: str | None,
                slot: Callable[[], None], enabled: bool, tip: str) -> QAction:
        action = QAction(title, self)
        if keys:
            action.setShortcut(QKeySequence(keys))
        action.setEnabled(enabled)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _c=False: slot())
        menu.addAction(action)
        return action

    def show_page(self, index: int) -> None:
        """Page ``index`` with the keyboard in its list and its first row chosen when
        none was (the newest pending anomaly is one Tab from its note; the arrows move
        from there). Qt alone would make the first row current unselected, and the first
        Down would skip it."""
        self.tabs.setCurrentIndex(index)
        page = self.tabs.currentWidget()
        if page is self.historial:
            self.historial.focus_clave()
            return
        table = getattr(page, "table", None)
        if table is not None and table.currentWidget() is table.view:
            if table.selected_key() is None and table.proxy.rowCount():
                table.view.selectRow(0)
            table.view.setFocus()

    def show_historial(self) -> None:
        """Ctrl+H: the «Historial» page, the keyboard in its CLAVE_ACTA field."""
        self.show_page(PAGES.index("Historial"))

    def _lookup_acta(self, clave: str) -> None:
        self.controller.lookup_acta(clave, self.historial.show_historial,
                                    self.historial.show_error)

    def _focus_eleccion(self) -> None:
        self.tabs.setCurrentWidget(self.resumen)
        self.resumen.eleccion.setFocus()
        self.resumen.eleccion.showPopup()

    # --- what the controller says -----------------------------------------------------

    def _show_overview(self) -> None:
        ov = self.controller.overview
        if ov is None:
            return
        for page in (self.resumen, self.ritmo, self.estaciones, self.anomalias,
                     self.capturistas, self.cortes, self.difusores):
            page.show_overview(ov)
        pending = ov.pending_anomalies
        self.tabs.setTabText(PAGES.index("Anomalías"),
                             f"Anomalías ({theme.num(pending)})" if pending else "Anomalías")
        behind = len(ov.behind())
        self.tabs.setTabText(0, f"Resumen ({theme.plural(behind, 'rezagado')})" if behind
                             else "Resumen")
        self.stack.setCurrentWidget(self.tabs)
        self.setWindowTitle(("SIMULACRO · " if ov.simulacro else "") + TITLE)
        self._show_state()

    def _show_state(self) -> None:
        c = self.controller
        ov = c.overview
        if c.state == "error":
            text = (f"No se pudo leer la base de datos: {c.message}. Se reintenta cada 5 s "
                    "(F5: ahora).")
            self._banner("error", text + (" Lo que se ve es de la última lectura."
                                          if ov else ""))
            if ov is None:
                self.loading.setText(text)
        elif c.state == "sin_aviso":
            self._banner("warn", f"{c.message or 'Sin avisos en vivo.'} Los datos se "
                         "actualizan con F5 mientras vuelve la conexión.")
        elif c.state == "cargando":
            self._banner("live", "Cargando datos del nodo central…")
        else:
            self.banner.hide()
        if ov is not None:
            vivo = "● En vivo" if c.state == "en_vivo" else "○ Sin avisos"
            if c.state == "en_vivo" and c.polling:  # a replica: no LISTEN there
                vivo += f" (réplica: cada {c.poll_seconds:g} s)"
            drill = "SIMULACRO (sus cortes lo dicen) · " if ov.simulacro else ""
            self.live.setText(f"{drill}{vivo} · datos de las {theme.local(ov.taken_at)} (Cd. "
                              f"de México) · catálogo v{ov.catalog_version}")
            self.live.setToolTip("Hora de la Ciudad de México de la última lectura.")
        self.acting.setText(self._acting_text())

    def _acting_text(self) -> str:
        c = self.controller
        if self.corte_started is not None:
            seconds = int(time.monotonic() - self.corte_started)
            return f"Haciendo el corte… {seconds} s"
        if not c.can_act:
            return "Solo lectura (sin --acciones-dsn)"
        if c.account is None:
            return "Sin sesión: solo lectura (Ctrl+L)"
        return f"Sesión: {c.account.name}"

    def _show_session(self) -> None:
        c = self.controller
        logged = c.account is not None
        self.login_action.setEnabled(c.can_act and not logged)
        self.logout_action.setEnabled(logged)
        self.acting.setToolTip(f"Las acciones quedan en la bitácora como {c.account.id}."
                               if c.account is not None else "")
        self._show_state()

    def _banner(self, tone: str, text: str) -> None:
        set_tone(self.banner, tone)
        self.banner_text.setText(text)
        self.banner.show()

    # --- the session --------------------------------------------------------------------

    def login(self, then: Callable[[], None] | None = None) -> None:
        """Ask for a coordinator's credentials; ``then`` runs once logged in."""
        if not self.controller.can_act:
            inform(self, "Solo lectura", "Las acciones requieren la conexión del nodo "
                   "central: arranque el tablero con --acciones-dsn y --data-dir.")
            return
        if any(isinstance(w, LoginDialog) and w.isVisible() for w in self.children()):
            return
        dialog = LoginDialog(self.controller.login, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if then is not None:
            dialog.accepted.connect(then)
        dialog.open()

    def _as_coordinator(self, then: Callable[[], None]) -> None:
        if self.controller.account is None:
            self.login(then)
        else:
            then()

    # --- actions ----------------------------------------------------------------------

    def _ack(self, anomaly_id: int) -> None:
        note = self.anomalias.note.text()

        def ack() -> None:
            self.controller.act(lambda c: c.ack(anomaly_id, note))
            self.anomalias.acknowledged()
        self._as_coordinator(ack)

    def enrollment_code(self) -> None:
        self._as_coordinator(self._enrollment_code)

    def _enrollment_code(self) -> None:
        dialog = EnrollmentCodeDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._create_code(*dialog.choice()))
        dialog.open()

    def _create_code(self, catd: int | None, role: str, hours: float) -> None:
        lugar = "el CCV" if catd is None else f"el CATD {catd:02d}"

        def code(message: str) -> None:
            self._show_state()
            inform(self, "Código de alta", f"Código de alta para {lugar} (válido "
                   f"{hours:g} h, un solo uso):\n\n{message}\n\nNo se volverá a mostrar.",
                   selectable=True)
        self.controller.act(lambda c: c.enrollment_code(catd, role, hours), done=code)

    def new_operator(self) -> None:
        self._as_coordinator(self._new_operator)

    def _new_operator(self) -> None:
        def submit(values: tuple[str, str, str, str], done: Done, failed: Failed) -> None:
            def created(message: str) -> None:
                done(message)
                self._action_done(message)
            self.controller.act(lambda c: _operator_message(c.operator(*values)),
                                done=created, failed=failed)
        dialog = OperatorDialog(submit, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def station_action(self) -> None:
        station = self.estaciones.selected()
        if station is None:
            self.tabs.setCurrentWidget(self.estaciones)
            self.estaciones.table.view.setFocus()
            self.statusBar().showMessage("Elija un equipo en la lista (flechas) y pulse "
                                         "Ctrl+Shift+E otra vez.", 10_000)
            return
        self._as_coordinator(lambda: self._station_dialog(station.station, station.sitio,
                                                          station.enabled))

    def _station_dialog(self, station: str, sitio: str, enabled: bool) -> None:
        def submit(reason: str, done: Done, failed: Failed) -> None:
            def changed(message: str) -> None:
                done(message)
                self._action_done(message)
            self.controller.act(lambda c: c.station(station, not enabled, reason),
                                done=changed, failed=failed)
        dialog = StationDialog(station, site_name(sitio), enabled, submit, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        back = QApplication.focusWidget()
        dialog.finished.connect(lambda _result: self._focus_back(back))
        dialog.open()

    def _focus_back(self, widget: QWidget | None) -> None:
        """A dialog closed: the keyboard goes back where it was (the list it was
        opened from), never nowhere."""
        self.activateWindow()
        try:
            if widget is not None and widget.isVisible():
                widget.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
                return
        except RuntimeError:  # deleted meanwhile (the page was rebuilt)
            pass
        if (page := self.tabs.currentWidget()) is not None:
            page.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def corte_now(self) -> None:
        self._corte_request(ultimo=False)

    def ultimo_corte(self) -> None:
        self._corte_request(ultimo=True)

    def _corte_request(self, ultimo: bool) -> None:
        if self.corte_started is not None:  # one at a time: a second press is not a corte
            self.statusBar().showMessage("Ya se está haciendo un corte: espere a que "
                                         "termine.", 10_000)
            return
        self._as_coordinator(lambda: self._ask_publicacion(ultimo))

    def _ask_publicacion(self, ultimo: bool) -> None:
        """The Consejo's window and the último corte decide which dialog: ask first."""
        self.statusBar().showMessage("Consultando la ventana de publicación…", 5_000)
        self.controller.query(lambda c: c.publicacion(),
                              done=lambda estado: self._corte_dialog(estado, ultimo),
                              failed=self._action_failed)

    def _corte_dialog(self, estado: EstadoPublicacion, ultimo: bool) -> None:
        if self.corte_started is not None:
            return
        if estado.cerrada:
            inform(self, "Publicación terminada", f"{estado.texto()}\n\nNo se hizo ningún "
                   "corte.", warning=True)
            return
        if not ultimo and estado.dentro(estado.ahora):
            confirm(self, "Corte ahora", "¿Hacer y publicar un corte ahora? Se publica para "
                    "todo el público y queda en la bitácora como corte a pedido.\n\n"
                    "Intro o Esc: cancelar · Alt+H: hacer el corte.", "&Hacer el corte",
                    self._start_corte)
            return
        # Outside the window, or the último corte: only with the coordinator's reason.
        dialog = CorteDialog(estado, ultimo, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        fuera = dialog.fuera
        dialog.accepted.connect(lambda: self._start_corte(
            dialog.motivo() if fuera else None, ultimo, dialog.motivo(),
            dialog.segundo() if fuera else None))
        dialog.open()

    def _start_corte(self, fuera_de_ventana: str | None = None, ultimo: bool = False,
                     motivo: str | None = None,
                     segundo: tuple[str, str] | None = None) -> None:
        """Ask the central for a corte; outside the window, once the second coordinator
        (``segundo``: user and password) has logged in with their own session."""
        if self.corte_started is not None:  # two boxes answered: one corte
            return
        self.corte_started = time.monotonic()
        self.corte_action.setEnabled(False)
        self.ultimo_action.setEnabled(False)
        self._corte_timer.start()
        self._show_state()
        if segundo is None:
            self._ask_corte(fuera_de_ventana, ultimo, motivo, None)
            return
        self.statusBar().showMessage("Comprobando la sesión del segundo coordinador…", 5_000)
        user, password = segundo
        self.controller.second_login(
            user, password, lambda second: self._ask_corte(fuera_de_ventana, ultimo, motivo,
                                                           second),
            lambda message: self._corte_failed(f"El segundo coordinador no pudo confirmar "
                                               f"el corte: {message}"))

    def _ask_corte(self, fuera_de_ventana: str | None, ultimo: bool, motivo: str | None,
                   second: CoordinatorAccount | None) -> None:
        token = second.token if second is not None else None

        def ended(then: Callable[[str], None]) -> Callable[[str], None]:
            def finish(message: str) -> None:
                if second is not None:
                    self.controller.end_second(second)
                then(message)
            return finish
        self.controller.act(lambda c: c.corte(fuera_de_ventana, ultimo, motivo, token),
                            done=ended(self._corte_done), failed=ended(self._corte_failed))

    def _corte_ended(self) -> None:
        self.corte_started = None
        self._corte_timer.stop()
        self.corte_action.setEnabled(self.controller.can_act)
        self.ultimo_action.setEnabled(self.controller.can_act)

    def _corte_done(self, message: str) -> None:
        self._corte_ended()
        self._action_done(message)

    def _corte_failed(self, message: str) -> None:
        self._corte_ended()
        self._action_failed(message)

    def _action_done(self, message: str) -> None:
        self._show_state()
        self.statusBar().showMessage(message, 15_000)

    def _action_failed(self, message: str) -> None:
        self._show_state()
        inform(self, "No se pudo", message, warning=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.controller.close()
        super().closeEvent(event)


def _operator_message(info: OperatorInfo) -> str:
    return (f"Operador {info.name} dado de alta como {info.role} en "
            f"{site_name(info.sitio) if info.sitio != 'CENTRAL' else 'el nodo central'}: "
            f"{info.id}.")
