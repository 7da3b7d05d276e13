"""The dashboard's live data: LISTEN/NOTIFY, debounced refreshes, actions, all off the
GUI thread.

Three worker threads, none of them the GUI's: the *listener* holds one autocommit
connection LISTENing on ``prep_dashboard`` (on a hot standby, where PostgreSQL refuses
LISTEN, it asks for a refresh every :data:`POLL_SECONDS` instead); the *lectura* lane
runs each refresh (one snapshot, :func:`central.controlroom.overview.read_overview`) and
each acta's history (:mod:`central.controlroom.historial_acta`) on its own read-only
connection; the *acciones* lane checks a coordinator's login
(:mod:`central.controlroom.login`) and runs their writes, as them, through the
:class:`~central.controlroom.actions.Coordinator`. Results come back to the GUI thread as
closures posted through one queued signal (no Python object rides a cross-thread
signal: the idea of Anki's ``taskman``). Refreshes go through a
:class:`~central.controlroom.gate.RefreshGate`: at most one per second whatever the rate
of notifications, and a change never goes unseen.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from typing import TypeVar

import psycopg
from PySide6.QtCore import QObject
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtCore import Slot

from central.controlroom.actions import ActionError
from central.controlroom.actions import Coordinator
from central.controlroom.gate import RefreshGate
from central.controlroom.historial_acta import ClaveInvalida
from central.controlroom.historial_acta import HistorialActa
from central.controlroom.historial_acta import no_existe
from central.controlroom.historial_acta import read_historial_acta
from central.controlroom.historial_acta import validar_clave
from central.controlroom.login import CoordinatorAccount
from central.controlroom.login import LoginThrottle
from central.controlroom.login import authenticate
from central.controlroom.login import close_session
from central.controlroom.overview import Overview
from central.controlroom.overview import Settings
from central.controlroom.overview import read_overview
from central.stations.operators import OperatorError
from prep.background import BackgroundLoop
from prep.passwords import PasswordError
from qtkit.poster import Poster

log = logging.getLogger("dashboard")

CHANNEL = "prep_dashboard"
APPLICATION_NAME = "prep-tablero"
RECONNECT_SECONDS = 5.0
#: How often a dashboard reading a hot standby (a replica: no LISTEN there) refreshes.
POLL_SECONDS = 5.0
_IN_RECOVERY = "SELECT pg_is_in_recovery()"
T = TypeVar("T")

#: Errors of a coordinator's action that are the coordinator's to fix: shown as is.
USER_ERRORS = (ActionError, OperatorError, PasswordError, ValueError)


class Listener(BackgroundLoop):
    """LISTEN on ``prep_dashboard`` in a thread of its own; reconnects every 5 s.

    ``on_notify(tables)`` gets the tables that changed (one call per wake-up, however
    many notifications came); ``on_link(ok, message, polling)`` says whether changes
    reach it, and ``polling`` whether by asking every ``poll_seconds`` (a hot standby:
    ``pg_is_in_recovery()``, where LISTEN fails with «cannot execute LISTEN during
    recovery»). Both are called on the listener's thread: pass them through a
    :class:`Poster`.
    """

    def __init__(self, dsn: str, on_notify: Callable[[frozenset[str]], None],
                 on_link: Callable[[bool, str, bool], None],
                 poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__("tablero-listen")
        self.dsn = dsn
        self.on_notify = on_notify
        self.on_link = on_link
        self.poll_seconds = poll_seconds

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True,
                                     application_name=APPLICATION_NAME) as conn:
                    if _in_recovery(conn):
                        self._poll(conn)
                    else:
                        self._listen(conn)
            except psycopg.Error as exc:
                log.warning("sin LISTEN (%s); reintento en %.0f s", exc, RECONNECT_SECONDS)
                self.on_link(False, _describe(exc) + ".", False)
                self._stop.wait(RECONNECT_SECONDS)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"LISTEN {CHANNEL}")
        self.on_link(True, "", False)
        while not self._stop.is_set():
            tables = frozenset(n.payload for n in conn.notifies(timeout=0.5))
            if tables:
                self.on_notify(tables)

    def _poll(self, conn: psycopg.Connection[Any]) -> None:
        """A replica sends no notifications: ask for a refresh every ``poll_seconds``
        (each one a snapshot, as after a notification). Returns when the standby is
        promoted, to LISTEN on the new primary."""
        log.info("réplica en recuperación: sin LISTEN, se consulta cada %.0f s",
                 self.poll_seconds)
        self.on_link(True, "", True)
        while not self._stop.wait(self.poll_seconds):
            if not _in_recovery(conn):
                return
            self.on_notify(frozenset())


def _in_recovery(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(_IN_RECOVERY).fetchone()
    return bool(row and row[0])


class DashboardController(QObject):
    """What the window shows and does; create it on the GUI thread.

    Signals: ``overview_did_load`` (``self.overview`` is new), ``state_did_change``
    (``self.state`` is ``cargando``, ``en_vivo``, ``sin_aviso`` or ``error``, with
    ``self.message``), ``session_did_change`` (``self.account`` logged in or out),
    ``action_did_finish(str)``, ``action_did_fail(str)``.
    """

    overview_did_load = Signal()
    state_did_change = Signal()
    session_did_change = Signal()
    action_did_finish = Signal(str)
    action_did_fail = Signal(str)

    def __init__(self, dsn: str, settings: Settings | None = None,
                 coordinator: Coordinator | None = None, min_interval: float = 1.0,
                 parent: QObject | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(parent)
        self.dsn = dsn
        self.settings = settings or Settings()
        self.coordinator = coordinator
        self.overview: Overview | None = None
        self.state = "cargando"
        self.message = ""
        self.refreshes = 0
        self.pending_actions = 0
        #: Acta histories asked for and not yet shown (tests wait for none).
        self.pending_lookups = 0
        self.account: CoordinatorAccount | None = None
        #: The coordinator's writer in their session (made at login, ended at logout).
        self._bound: Coordinator | None = None
        self._throttle = LoginThrottle()
        self._gate = RefreshGate(min_interval)
        self._poster = Poster(self)
        self._lectura = ThreadPoolExecutor(1, thread_name_prefix="tablero-lectura")
        self._acciones = ThreadPoolExecutor(1, thread_name_prefix="tablero-acciones")
        self._conn: psycopg.Connection[Any] | None = None
        self._listening = False
        #: Reading a hot standby: refreshed every ``poll_seconds``, not by notification.
        self.polling = False
        self.poll_seconds = poll_seconds
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._start_refresh)
        self._listener = Listener(dsn, self._notified_from_thread, self._link_from_thread,
                                  poll_seconds)

    # --- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and load for the first time."""
        self._listener.start()
        self.request_refresh()

    def close(self) -> None:
        """Stop listening and the workers (waits for a refresh or action in flight)."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._listener.stop()
        if self.coordinator is not None:
            self.coordinator.stop.set()  # a corte asked for is not waited for any more
        self._end_session()
        self._lectura.submit(self._close_connection)
        self._lectura.shutdown(wait=True)
        self._acciones.shutdown(wait=True)

    @property
    def busy(self) -> bool:
        """A refresh is scheduled or running (tests wait until it is not)."""
        return self._gate.running or self._gate.scheduled or self._gate.dirty

    # --- refreshes --------------------------------------------------------------------

    @Slot()
    def request_refresh(self) -> None:
        """Something changed (or the coordinator pressed F5): refresh soon."""
        if self._closed:
            return
        delay = self._gate.request(time.monotonic())
        if delay is not None:
            self._timer.start(int(delay * 1000))

    def _start_refresh(self) -> None:
        if self._closed:
            return
        self._gate.start(time.monotonic())
        catalog = None
        if self.overview is not None:
            ov = self.overview
            catalog = (ov.catalog_version, ov.elecciones, ov.distritos)
        future = self._lectura.submit(self._read, catalog)
        future.add_done_callback(lambda f: self._poster.post(lambda: self._loaded(f)))

    def _read(self, catalog: Any) -> Overview:
        return self._on_lectura(lambda conn: read_overview(conn, self.settings, catalog))

    def _on_lectura(self, read: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``read`` on the lectura lane's connection (only ever used from that lane),
        opened if need be and dropped after a database error."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.dsn, application_name=APPLICATION_NAME)
            return read(self._conn)
        except psycopg.Error:
            self._close_connection()
            raise

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _loaded(self, future: Any) -> None:
        if self._closed:
            return
        delay = self._gate.finish(time.monotonic())
        error = future.exception()
        if error is None:
            self.overview = future.result()
            self.refreshes += 1
            self._set_state("en_vivo" if self._listening else "sin_aviso",
                            "" if self._listening else self.message)
            self.overview_did_load.emit()
        else:
            log.error("no se pudo leer el tablero: %s", error)
            self._set_state("error", _describe(error))
            if delay is None:  # try again later: the database may come back
                delay = self._gate.request(time.monotonic())
                delay = None if delay is None else max(delay, RECONNECT_SECONDS)
        if delay is not None:
            self._timer.start(int(delay * 1000))

    def _set_state(self, state: str, message: str) -> None:
        if (state, message) != (self.state, self.message):
            self.state, self.message = state, message
            self.state_did_change.emit()

    def _notified_from_thread(self, tables: frozenset[str]) -> None:
        self._poster.post(self.request_refresh)

    def _link_from_thread(self, ok: bool, message: str, polling: bool) -> None:
        self._poster.post(lambda: self._link(ok, message, polling))

    def _link(self, ok: bool, message: str, polling: bool = False) -> None:
        was = self._listening
        self._listening = ok
        if polling != self.polling:
            self.polling = polling
            self.state_did_change.emit()  # the window says how it stays live
        if ok and not was:
            self.request_refresh()  # whatever changed while nobody listened
        if self.state in ("en_vivo", "sin_aviso"):
            self._set_state("en_vivo" if ok else "sin_aviso",
                            "" if ok else f"Sin avisos en vivo: {message}")

    # --- one acta's history -----------------------------------------------------------

    def lookup_acta(self, texto: str, done: Callable[[HistorialActa], None],
                    failed: Callable[[str], None]) -> None:
        """Read the history of the acta whose CLAVE_ACTA is ``texto`` on the lectura
        lane (the read-only login: it needs no session); ``done(historial)`` or
        ``failed(message)`` on the GUI thread. A malformed key fails at once, without
        asking the database."""
        try:
            clave = validar_clave(texto)
        except ClaveInvalida as exc:
            failed(str(exc))
            return
        if self._closed:
            return
        self.pending_lookups += 1
        future = self._lectura.submit(self._read_acta, clave)
        future.add_done_callback(
            lambda f: self._poster.post(lambda: self._acta_read(f, clave, done, failed)))

    def _read_acta(self, clave: str) -> HistorialActa | None:
        return self._on_lectura(lambda conn: read_historial_acta(conn, clave))

    def _acta_read(self, future: Any, clave: str, done: Callable[[HistorialActa], None],
                   failed: Callable[[str], None]) -> None:
        self.pending_lookups -= 1
        if self._closed:
            return
        error = future.exception()
        if error is not None:
            log.error("no se pudo leer el historial de %s: %s", clave, error)
            failed(f"No se pudo leer el historial del acta {clave}: {_describe(error)}.")
        elif future.result() is None:
            failed(no_existe(clave))
        else:
            done(future.result())

    # --- actions ----------------------------------------------------------------------

    @property
    def can_act(self) -> bool:
        """The central's connection was given (actions also need a login)."""
        return self.coordinator is not None

    def login(self, user: str, password: str, done: Callable[[], None],
              failed: Callable[[str], None]) -> None:
        """Check a coordinator's credentials on the acciones lane; ``done()`` (logged in)
        or ``failed(message)`` run on the GUI thread."""
        if self.coordinator is None:
            failed(NO_ACTIONS)
            return
        coordinator, throttle = self.coordinator, self._throttle

        def logged_in(account: CoordinatorAccount) -> None:
            self._end_session()
            self.account = account
            self._bound = coordinator.acting_as(account.id, account.token)
            self.session_did_change.emit()
            done()
        self._submit(lambda: authenticate(coordinator.engine, user, password, throttle,
                                          dsn=coordinator.dsn), logged_in, failed)

    def second_login(self, user: str, password: str,
                     done: Callable[[CoordinatorAccount], None],
                     failed: Callable[[str], None]) -> None:
        """A second coordinator's login, for a corte outside the window: their own
        session (audited ``dashboard_login``), ended once the corte is asked for."""
        if self.coordinator is None:
            failed(NO_ACTIONS)
            return
        coordinator, throttle = self.coordinator, self._throttle
        self._submit(lambda: authenticate(coordinator.engine, user, password, throttle,
                                          dsn=coordinator.dsn), done, failed)

    def end_second(self, account: CoordinatorAccount) -> None:
        """End a second coordinator's session (on the acciones lane)."""
        if self.coordinator is not None and not self._closed:
            engine = self.coordinator.engine
            self._acciones.submit(lambda: _quietly_close(engine, account))

    def logout(self) -> None:
        if self.account is not None:
            self._end_session()
            self.account = None
            self.session_did_change.emit()

    def _end_session(self) -> None:
        """Close the session in the database and its connections (acciones lane)."""
        bound, account, self._bound = self._bound, self.account, None
        if bound is None or account is None or self.coordinator is None:
            return
        engine = self.coordinator.engine

        def end() -> None:
            _quietly_close(engine, account)
            bound.engine.dispose()
        self._acciones.submit(end)

    def act(self, work: Callable[[Coordinator], str], *,
            done: Callable[[str], None] | None = None,
            failed: Callable[[str], None] | None = None) -> None:
        """Run a coordinator's action on the acciones lane, as the logged-in coordinator.
        Its message (or its error) goes to ``done`` / ``failed`` on the GUI thread, or,
        without them, out as ``action_did_finish`` / ``action_did_fail``."""
        failed = failed or self.action_did_fail.emit
        coordinator = self._acting(failed)
        if coordinator is None:
            return
        finished = done or self.action_did_finish.emit

        def succeeded(message: Any) -> None:
            finished(str(message))
            self.request_refresh()
        self._submit(lambda: work(coordinator), succeeded, failed)

    def query(self, work: Callable[[Coordinator], T], done: Callable[[T], None],
              failed: Callable[[str], None]) -> None:
        """Ask the central something on the acciones lane, as the logged-in coordinator
        (what a dialog needs to know before it opens); ``done(result)`` or
        ``failed(message)`` on the GUI thread."""
        coordinator = self._acting(failed)
        if coordinator is not None:
            self._submit(lambda: work(coordinator), done, failed)

    def _acting(self, failed: Callable[[str], None]) -> Coordinator | None:
        """The coordinator acting as the logged-in account; ``None`` (and why, to
        ``failed``) without the central's actions or a login."""
        if self.coordinator is None:
            failed(NO_ACTIONS)
            return None
        if self.account is None:
            failed("Inicie sesión como coordinador (Ctrl+L) para actuar desde el tablero.")
            return None
        return self._bound

    def _submit(self, work: Callable[[], T], done: Callable[[T], None],
                failed: Callable[[str], None]) -> None:
        if self._closed:  # a dialog answered while the window closed: nothing to do
            return
        self.pending_actions += 1
        future = self._acciones.submit(work)
        future.add_done_callback(
            lambda f: self._poster.post(lambda: self._acted(f, done, failed)))

    def _acted(self, future: Any, done: Callable[[Any], None],
               failed: Callable[[str], None]) -> None:
        self.pending_actions -= 1
        if self._closed:  # the window is gone: nobody to tell (the work was done)
            return
        error = future.exception()
        if error is None:
            done(future.result())
        elif isinstance(error, USER_ERRORS):
            failed(_first_upper(str(error)))
        else:
            log.error("acción fallida: %s", error, exc_info=error)
            failed(f"No se pudo completar la acción: {_describe(error)}. Revise en el tablero "
                   "si se aplicó y vuelva a intentarlo; si se repite, avise a soporte técnico "
                   "(el detalle quedó en el registro del tablero).")


def _quietly_close(engine: Any, account: CoordinatorAccount) -> None:
    """End ``account``'s session; a database that cannot be reached ends it anyway
    when it expires."""
    try:
        close_session(engine, account)
    except Exception as exc:
        log.warning("no se pudo cerrar la sesión de %s: %s", account.id, exc)


NO_ACTIONS = ("Las acciones requieren la conexión del nodo central (--acciones-dsn).")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


#: libpq's English reasons for a failed connection → what the coordinator reads.
_CONNECTION_PROBLEMS = (
    (re.compile(r'database "([^"]*)" does not exist'), "la base de datos «{}» no existe"),
    (re.compile(r'password authentication failed for user "([^"]*)"'),
     "la contraseña del usuario «{}» no es correcta"),
    (re.compile(r'role "([^"]*)" does not exist'), "el usuario «{}» no existe"),
    (re.compile(r"too many connections|remaining connection slots"),
     "el servidor no acepta más conexiones de este usuario; cierre otros tableros"),
    (re.compile(r"Connection refused|No such file or directory"),
     "el servidor no acepta conexiones en esa dirección (¿está detenido?)"),
    (re.compile(r"timeout expired|timed out"), "el servidor no respondió a tiempo"),
)


def _describe(error: BaseException) -> str:
    """What went wrong, in Spanish, for the coordinator; PostgreSQL's and Python's own
    texts are English and go to the log (where the callers write them)."""
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return "el usuario de la base de datos no tiene permiso para esto"
    if isinstance(error, psycopg.errors.QueryCanceled):
        return "la base de datos tardó demasiado en responder y se canceló la consulta"
    if isinstance(error, psycopg.errors.LockNotAvailable):
        return "la base de datos está ocupada con otra operación"
    if isinstance(error, psycopg.OperationalError):
        text = str(error)
        for pattern, spanish in _CONNECTION_PROBLEMS:
            found = pattern.search(text)
            if found:
                return "no hay conexión con la base de datos del nodo central: " + \
                    spanish.format(*(g[:100] for g in found.groups()))
        return ("no hay conexión con la base de datos del nodo central (no responde o la "
                "dirección no es correcta)")
    if isinstance(error, psycopg.Error):
        return "la base de datos respondió con un error inesperado"
    return "error inesperado del tablero"

