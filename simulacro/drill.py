"""``prep simulacro``: the full drill through the real central, stations and publication.

1. A catalog from the seed (``OUT/catalogo``) and the plan (:mod:`prep.sintetico.plan`): the truth of
   every acta, when it arrives and where, the operators' mistakes and the incidents.
2. A central node (:mod:`.nodo`, only ``prep central …`` subprocesses, embedded
   PostgreSQL in ``OUT/central``) serving HTTPS with scheduled cortes, the catalog, the
   operators and one enrollment code per station; the PREP Casilla feed watching
   ``OUT/casilla``.
3. One process per station (:mod:`.estacion`, data in ``OUT/estaciones/<name>``; forked
   from a process that imported the station once, :mod:`.zygote`) driving
   the real station services with virtual operators, while this process plays the
   clock (``--speed`` simulated seconds per second), drops the PREP Casilla photos,
   injects the incidents, asks for a corte every ``--corte-cada`` simulated minutes and
   prints a progress line.
4. When the night is over and the work drained: the *último corte*, the final PDF
   report, the verdict (:mod:`.veredicto`) over every corte, and ``OUT/simulacro.json``.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prep.catalog import Catalog, generate_catalog, write_catalog
from prep.corte.reader import read_resumen
from prep.corte.verify import HashCache
from prep.rules import DEFAULT_RULES, RuleSet
from prep.sintetico.acta_image import ActaImageOptions, render_acta_image
from simulacro.calibracion import python_loop_ms
from simulacro.nodo import Nodo, NodoError
from prep.sintetico.plan import (
    COTEJO_RATE,
    NOCHE_MINUTOS,
    Plan,
    PlanEstacion,
    make_plan,
    station_config,
)
from simulacro.revision import Revision, lineas, revisar
from simulacro.salida import MARKER, prepare_out, space_needed
from simulacro.veredicto import (
    VERDAD,
    CorteVerdict,
    EarlyChecks,
    ErradaRows,
    ExpectedRows,
    check_correcciones,
    check_corte,
    check_cotejadas,
    cortes_in,
    cotejos_de,
    filas_erradas,
)
from simulacro.zygote import ForkedStation, Zygote

log = logging.getLogger("simulacro")

ROLES_CATD = ("acopiador", "digitalizador", "capturista", "capturista", "verificador")
ROLES_CCV = ("capturista", "capturista", "verificador")
START_FILE = "inicio.json"
STATIONS_READY_TIMEOUT = 600.0
STATIONS_STOP_TIMEOUT = 180.0
DRAIN_STALL = 300.0  # seconds without any progress before the drain gives up
#: Station counters that move while nothing gets done (idle operators asking for work).
IDLE_COUNTS = ("pedidos_",)
DRAIN_CORTE_EVERY = 8.0  # wall seconds between cortes while waiting for the last actas


@dataclass(frozen=True)
class DrillOptions:
    """What a drill runs on (the command's options)."""

    out: Path
    seed: int = 2027
    scale: float = 0.01
    catds: int = 3
    speed: float = 1000.0
    error_rate: float = 0.03
    corte_cada: float = 120.0  # simulated minutes between on-demand cortes
    dpi: int = 100
    gui: bool = False
    #: Share of published actas the CATDs' verificadores cotejo (0: no cotejo, and no
    #: acta published wrong on purpose).
    cotejo_rate: float = COTEJO_RATE
    #: The publication rules file the central publishes with (``None``: the defaults);
    #: the verdict checks the cortes against the same rules.
    reglas: Path | None = None


@dataclass
class Incidente:
    """One scheduled incident and whether it happened."""

    nombre: str
    minuto: float
    hecho: bool = False
    detalle: str = ""


@dataclass
class DrillReport:
    """What the drill did, how long it took and its verdict."""

    actas: int = 0
    published: int = 0
    mismatches: int = 0
    cortes: list[CorteVerdict] = field(default_factory=list)
    incidentes: list[Incidente] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    avisos: list[str] = field(default_factory=list)  # survived, but worth a look
    #: The committee's review of the último corte's files (:mod:`.revision`).
    revision: list[Revision] = field(default_factory=list)
    wall_seconds: float = 0.0
    #: The machine's speed before the drill started and after it ended
    #: (:mod:`.calibracion`): this VM's cores are shared, and wall time follows them.
    calibration: dict[str, dict[str, float]] = field(default_factory=dict)
    interrupted: bool = False  # stopped by Ctrl+C or SIGTERM (also a failure) before its verdict

    @property
    def ok(self) -> bool:
        return not self.failures


class Drill:
    """One run of the drill (see the module docstring)."""

    def __init__(self, options: DrillOptions, rules: RuleSet = DEFAULT_RULES,
                 progress: Callable[[str], None] = lambda _: None) -> None:
        self.options = options
        self.rules = rules
        self.say = progress
        self.out = options.out
        self.report = DrillReport()
        self.processes: dict[str, ForkedStation] = {}
        self.zygote: Zygote | None = None
        self.configs: dict[str, Path] = {}
        self.corte_jsons: list[dict[str, Any]] = []
        self.corte_thread: threading.Thread | None = None
        self.metrics_lock = threading.Lock()
        self.phones: threading.Thread | None = None
        self.t0 = 0.0
        self.expected_exit: set[str] = set()
        self.expected: ExpectedRows = {}  # each acta's final row, derived once (verdicts)
        self.erradas: ErradaRows = {}  # rows of the actas published wrong on purpose
        self.hashed: HashCache = {}  # each hard-linked image hashed once, not once per corte
        self.early: EarlyChecks | None = None
        self.postgres_cpu: float | None = None  # the embedded server's CPU, read at the end

    # ------------------------------------------------------------------------------

    def run(self) -> DrillReport:
        self.report.calibration["inicio"] = python_loop_ms()  # before anything of ours runs
        started = time.perf_counter()
        try:
            return self._run(started)
        except (KeyboardInterrupt, SystemExit):
            # Ctrl+C or SIGTERM (cli.py turns it into SystemExit): the stations and the
            # central were stopped on the way out (again here, should the signal have
            # cut that short); say in simulacro.json how far it got instead of leaving
            # it «en curso», then go on stopping.
            self._kill_stations()
            if hasattr(self, "nodo"):
                self.nodo.close()
                self._interrupted(started)
            raise

    def _interrupted(self, started: float) -> None:
        self.report.interrupted = True
        self.report.wall_seconds = round(time.perf_counter() - started, 2)
        self.report.failures.append("el simulacro se detuvo antes de terminar (Ctrl+C o "
                                    "SIGTERM): no hay veredicto")
        self.report.metrics["estaciones"] = self._station_totals()
        self._write_metrics(self.plan)

    def _run(self, started: float) -> DrillReport:
        phase = time.perf_counter()
        catalog = generate_catalog(self.options.seed, self.options.scale)
        prepare_out(self.out, space_needed(catalog.total_actas, self.options.dpi))
        (self.out / MARKER).write_text('{"estado": "en curso"}\n', encoding="utf-8")
        write_catalog(catalog, self.out / "catalogo")
        plan = make_plan(catalog, self.options.seed, self.options.catds,
                         self.options.error_rate, self.options.cotejo_rate)
        self.plan = plan
        self.erradas = filas_erradas(catalog, plan.sim, plan.erradas, self.rules)
        self.report.actas = catalog.total_actas
        self.nodo = Nodo(self.out / "central", self.out / "publicacion", self.out / "bitacoras",
                         reglas=self.options.reglas)
        gui: subprocess.Popen[bytes] | None = None
        try:
            self.say(f"Nodo central: esquema, catálogo ({catalog.total_actas} actas) y "
                     f"{len(plan.estaciones)} estaciones")
            self.nodo.init(self.out / "catalogo")
            self.nodo.catd_distritos([d.id for d in catalog.distritos], self.options.catds)
            self.nodo.serve()
            self.report.phases["preparacion_nodo"] = _lap(phase)
            phase = time.perf_counter()
            self._setup_stations(plan)
            self.nodo.start_intake(self.out / "casilla")
            gui = self._gui()
            self.report.phases["preparacion_estaciones"] = _lap(phase)
            phase = time.perf_counter()
            self._night(plan, catalog)
            self.report.phases["noche"] = _lap(phase)
            phase = time.perf_counter()
            self._drain(plan, catalog)
            self.report.phases["vaciado"] = _lap(phase)
            phase = time.perf_counter()
            self._wait_corte()  # a drain that stalled left its last on-demand corte running
            self.early = EarlyChecks(catalog, plan.sim, self.out / "publicacion", self.rules,
                                     self.hashed, self.expected, self.erradas)
            self._stop_stations()
            self.report.metrics["casilla"] = self.nodo.intake_counts()
            self.say("Último corte y reporte final (PDF)")
            final = self.nodo.corte(ultimo=True)
            self.corte_jsons.append(final)
            self.nodo.report_final(self.out / "reporte_final.pdf")
            self.report.phases["ultimo_corte_y_reporte"] = _lap(phase)
        except (NodoError, OSError, subprocess.SubprocessError) as exc:
            self.report.failures.append(f"el simulacro se interrumpió: {exc}")
        finally:
            if gui is not None:
                gui.terminate()
            self._kill_stations()
            self.postgres_cpu = self.nodo.postgres_cpu()  # before it stops with serve
            self.nodo.close()
        phase = time.perf_counter()
        self._verdict(plan, catalog)
        self.report.phases["veredicto"] = _lap(phase)
        self.report.wall_seconds = round(time.perf_counter() - started, 2)
        self.report.calibration["fin"] = python_loop_ms()  # everything stopped: quiet again
        self._write_metrics(plan)
        return self.report

    # setup -------------------------------------------------------------------------

    def _setup_stations(self, plan: Plan) -> None:
        """Operators (one ``operator import``) and enrollment codes (one
        ``enroll-code`` for the CATDs, one for the CCV), then one process per station."""
        rows: list[tuple[str, str, int | None]] = []
        owners: list[tuple[str, str]] = []
        for estacion in plan.estaciones:
            roles = ROLES_CATD if estacion.rol == "catd" else ROLES_CCV
            for i, role in enumerate(roles):
                rows.append((f"{role.capitalize()} {i + 1} {estacion.nombre.upper()}", role,
                             estacion.sitio))
                owners.append((estacion.nombre, role))
        ids = self.nodo.operators(rows, self.out / "central")
        codes = self.nodo.enroll_codes([e.sitio for e in plan.estaciones])
        made = [(name, role, op) for (name, role), op in zip(owners, ids, strict=True)]
        made += [(e.nombre, "codigo", code)
                 for e, code in zip(plan.estaciones, codes, strict=True)]
        shared = self.out / "estaciones" / "compartido.json"
        shared.parent.mkdir(parents=True, exist_ok=True)
        plan.write(shared)
        for estacion in plan.estaciones:
            mine = [(role, value) for name, role, value in made if name == estacion.nombre]
            operadores = {"capturistas": [v for r, v in mine if r == "capturista"],
                          **{r: v for r, v in mine if r not in ("capturista", "codigo")}}
            config = station_config(
                estacion, data_dir=str(self.out / "estaciones" / estacion.nombre),
                url=self.nodo.url, cert_sha256=self.nodo.cert_sha256,
                code=next(v for r, v in mine if r == "codigo"), operadores=operadores,
                inicio=str(self.out / "estaciones" / START_FILE),
                speed=self.options.speed, compartido=str(shared),
                avisos=str(self.out / "estaciones" / "avisos"), dpi=self.options.dpi,
                publicacion=str(self.out / "publicacion"),
                estado=str(self.out / "estaciones" / f"{estacion.nombre}.estado.json"))
            path = self.out / "estaciones" / f"{estacion.nombre}.json"
            path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
            self.configs[estacion.nombre] = path
            self._start_station(estacion.nombre)
        self._start_the_night()

    def _start_the_night(self) -> None:
        """Minute 0 once every station is enrolled, its operators ready and its signal
        handlers set (34 processes take a while to start on two cores; a signal before
        that would kill one): each writes its status file, then waits for START_FILE."""
        deadline = time.monotonic() + STATIONS_READY_TIMEOUT
        while len(self._states()) < len(self.processes):
            self._check_stations()
            if time.monotonic() > deadline:
                raise NodoError(f"las estaciones no quedaron listas en "
                                f"{STATIONS_READY_TIMEOUT:.0f} s; vea {self.out / 'bitacoras'}")
            time.sleep(0.2)
        self.t0 = time.time() + 1.0
        start = self.out / "estaciones" / START_FILE
        tmp = start.with_suffix(".tmp")
        tmp.write_text(json.dumps({"t0": self.t0}), encoding="utf-8")
        os.replace(tmp, start)

    def _start_station(self, name: str) -> None:
        """Fork the station's process from the zygote (started with the first): the
        modules are imported once for all stations (:mod:`.zygote`)."""
        if self.zygote is None:
            self.zygote = Zygote(self.out / "bitacoras" / "arranque_estaciones.log")
        self.processes[name] = self.zygote.start(
            name, self.out / "bitacoras" / f"{name}.log", self.configs[name])

    def _gui(self) -> subprocess.Popen[bytes] | None:
        """``prep dashboard`` over the drill's database, as a login that holds only the
        read-only role ``prep_lectura`` (``prep central read-only-user``)."""
        if not self.options.gui:
            return None
        try:
            dsn = self.nodo.read_only_dsn()
        except NodoError as exc:
            self.say(f"--gui: no se pudo preparar el usuario de solo lectura ({exc}); el "
                     "simulacro sigue sin tablero")
            return None
        self.say("Tablero de control abierto (prep dashboard, solo lectura)")
        log_path = self.out / "bitacoras" / "tablero.log"
        with log_path.open("ab") as err:
            return subprocess.Popen([sys.executable, "-m", "prep", "dashboard", "--dsn", dsn],
                                    stdout=subprocess.DEVNULL, stderr=err)

    # the night ---------------------------------------------------------------------

    def minute(self) -> float:
        return (time.time() - self.t0) * self.options.speed / 60.0

    def _night(self, plan: Plan, catalog: Catalog) -> None:
        # The phones at the casillas work on their own thread: rendering thousands of
        # photos must not hold up the clock, the incidents or the progress line.
        night_over = threading.Event()
        phones = threading.Thread(target=self._phones, args=(list(plan.fotos), catalog,
                                                             night_over),
                                  name="fotos-casilla", daemon=True)
        phones.start()
        self.phones = phones
        try:
            self._night_loop(plan)
        finally:
            night_over.set()  # the rest of the photos go at once, during the drain

    def _phones(self, fotos: list[tuple[float, str]], catalog: Catalog,
                night_over: threading.Event) -> None:
        """Each PREP Casilla photo at its simulated minute; what is left at once when
        the night is over."""
        try:
            for minute, clave in fotos:
                while not night_over.is_set() and self.minute() < minute:
                    night_over.wait(0.2)
                self._photo(catalog, clave)
        except Exception as exc:  # e.g. a full disk: the verdict must say so
            log.exception("PREP Casilla photos stopped")
            self.report.failures.append(f"las fotos de PREP Casilla se detuvieron: {exc!r}")

    def _night_loop(self, plan: Plan) -> None:
        incidentes = self._schedule(plan)
        next_corte = self.options.corte_cada
        next_line = 0.0
        while self.minute() < NOCHE_MINUTOS:
            now = self.minute()
            for incidente, action in incidentes:
                if not incidente.hecho and incidente.minuto <= now:
                    incidente.detalle = action()
                    incidente.hecho = True
                    self.say(f"Incidente (minuto {now:.0f}): {incidente.detalle}")
            if now >= next_corte:
                self._corte_async()
                next_corte += self.options.corte_cada
            self._check_stations()
            if time.monotonic() >= next_line:
                self.say(self._line())
                next_line = time.monotonic() + 3.0
            time.sleep(0.1)

    def _schedule(self, plan: Plan) -> list[tuple[Incidente, Callable[[], str]]]:
        catd = [e.nombre for e in plan.estaciones if e.rol == "catd"]
        caida, matada = catd[0], catd[1 % len(catd)]
        out: list[tuple[Incidente, Callable[[], str]]] = [
            (Incidente("enlace_caido", 180), lambda: self._signal(caida, signal.SIGUSR1,
                                                                   "sin enlace")),
            (Incidente("enlace_restablecido", 300), lambda: self._signal(
                caida, signal.SIGUSR2, "enlace restablecido")),
            (Incidente("estacion_reiniciada", 360), lambda: self._kill_restart(matada)),
            (Incidente("central_reiniciado", 480), self._restart_central),
        ]
        self.report.incidentes = [i for i, _ in out]
        for estacion in plan.estaciones:
            self._station_incidents(estacion)
        return out

    def _station_incidents(self, estacion: PlanEstacion) -> None:
        """The incidents the stations carry out themselves (checked at the end)."""
        for what, claves in (("acta_duplicada", estacion.duplicados),
                             ("reescaneo", estacion.reescaneos),
                             ("imagen_ilegible", estacion.ilegibles)):
            for clave in claves:
                self.report.incidentes.append(Incidente(what, -1, detalle=f"{estacion.nombre}: "
                                                        f"{clave}"))
        for llegada in estacion.llegadas:
            if llegada.tipo in ("sin_acta", "fuera"):
                self.report.incidentes.append(Incidente(
                    llegada.tipo, llegada.minuto, detalle=f"{estacion.nombre}: {llegada.clave}"))

    def _signal(self, name: str, sig: int, what: str) -> str:
        self.processes[name].send_signal(sig)
        return f"{name}: {what}"

    def _kill_restart(self, name: str) -> str:
        self.processes[name].kill()
        self.processes[name].wait()
        time.sleep(1.0)
        self._start_station(name)
        return f"{name}: proceso terminado con SIGKILL y vuelto a arrancar"

    def _restart_central(self) -> str:
        self._wait_corte()
        self.nodo.restart()
        return f"nodo central detenido y vuelto a arrancar en {self.nodo.url}"

    def _photo(self, catalog: Catalog, clave: str) -> None:
        """A PREP Casilla photo reaches the intake folder."""
        acta = catalog.acta(clave)
        assert acta is not None
        truth = self.plan_truth(clave)
        data = render_acta_image(acta, truth, ActaImageOptions(
            dpi=self.options.dpi, photo=True, jpeg_quality=70,
            seed=zlib.crc32(clave.encode())), catalog)
        directory = self.out / "casilla"
        tmp = directory / f".IMG_{clave}.jpg.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, directory / f"IMG_{clave}.jpg")
        with self.metrics_lock:
            self.report.metrics["fotos_casilla"] = self.report.metrics.get("fotos_casilla",
                                                                           0) + 1

    def plan_truth(self, clave: str) -> dict[str, Any]:
        estado = self.plan.sim.estado[clave]
        return dict(estado.captura.items()) if estado.captura is not None else {}

    def _corte_async(self) -> None:
        if self.corte_thread is not None and self.corte_thread.is_alive():
            return  # a corte is still running: skip this tick, like the central does

        def corte() -> None:
            try:
                self.corte_jsons.append(self.nodo.corte())
            except NodoError as exc:  # e.g. during the central restart: retried next tick
                log.warning("corte: %s", exc)
        self.corte_thread = threading.Thread(target=corte, name="corte", daemon=True)
        self.corte_thread.start()

    def _wait_corte(self) -> None:
        if self.corte_thread is not None:
            self.corte_thread.join()

    # draining ----------------------------------------------------------------------

    def _drain(self, plan: Plan, catalog: Catalog) -> None:
        """Until the stations are idle and a corte shows every acta final, and every
        acta published wrong on purpose corrected."""
        self.say("Fin de la noche: esperando que se vacíen las estaciones y se valide todo")
        # No fixed deadline (a full-scale drill drains for many minutes): it fails when
        # nothing at all moves for DRAIN_STALL seconds.
        moved, last_progress = None, time.monotonic()
        next_line = time.monotonic() + 5.0
        last_corte = 0.0
        publicadas = 0  # actas final in the last corte made here
        while time.monotonic() < last_progress + DRAIN_STALL:
            self._check_stations()
            if time.monotonic() >= next_line:
                self.say(self._line())
                next_line = time.monotonic() + 5.0
            states = self._states()
            progress = _progress(states, publicadas)
            if progress != moved:
                moved, last_progress = progress, time.monotonic()
            idle = all(s.get("llegadas_pendientes", 1) == 0 and s.get("escaneos_pendientes", 1)
                       == 0 and s.get("backlog_records", 1) == 0 for s in states.values())
            idle = idle and not (self.phones is not None and self.phones.is_alive())
            if idle and len(states) == len(self.processes) and \
                    time.monotonic() >= last_corte + DRAIN_CORTE_EVERY:
                last_corte = time.monotonic()
                self._wait_corte()
                hecho = self.nodo.corte()
                self.corte_jsons.append(hecho)
                self.say(self._line())
                verdict = check_corte(catalog, plan.sim, Path(hecho["directorio"]),
                                      self.rules, final=True, verify=False,
                                      expected=self.expected, erradas=self.erradas)
                corregidas = sum(1 for e in verdict.erradas.values() if e == VERDAD)
                if verdict.publicadas == catalog.total_actas and \
                        corregidas == len(self.erradas):
                    return
                publicadas = verdict.publicadas + corregidas  # a correction is progress too
            time.sleep(1.0)
        self.report.failures.append(f"nada avanzó en {DRAIN_STALL:.0f} s y aún no se había "
                                    "validado cada acta (o publicado cada corrección)")

    # stations ----------------------------------------------------------------------

    def _states(self) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = {}
        for path in (self.out / "estaciones").glob("*.estado.json"):
            try:
                states[path.name.split(".")[0]] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
        return states

    def _check_stations(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None and name not in self.expected_exit:
                raise NodoError(f"la estación {name} terminó sola (código {process.returncode});"
                                f" vea {self.out / 'bitacoras' / (name + '.log')}")

    def _stop_stations(self) -> None:
        self.expected_exit = set(self.processes)
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        # 34 stations delivering their last records at once share two cores: give them
        # together a few minutes before calling one stuck.
        deadline = time.monotonic() + STATIONS_STOP_TIMEOUT
        for name, process in self.processes.items():
            try:
                code = process.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            if code != 0:
                self.report.failures.append(f"la estación {name} terminó con código {code} "
                                            f"(vea bitacoras/{name}.log)")

    def _kill_stations(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        if self.zygote is not None:
            self.zygote.close()  # reaped, so its children's CPU counts as the drill's
            self.zygote = None

    # progress and verdict ------------------------------------------------------------

    def _line(self) -> str:
        totals: dict[str, int] = {}
        for state in self._states().values():
            for k, v in state.get("counts", {}).items():
                totals[k] = totals.get(k, 0) + int(v)
        return (f"[minuto {min(self.minute(), NOCHE_MINUTOS):.0f}/{NOCHE_MINUTOS:.0f}] "
                f"acopio {totals.get('acopios', 0) + totals.get('sin_acta', 0)}"
                f"/{self.report.actas} · imágenes {totals.get('imagenes', 0)} · fotos "
                f"{self.report.metrics.get('fotos_casilla', 0)} · capturas "
                f"{totals.get('capturas', 0)} (errores {totals.get('errores_tecleados', 0)})"
                f" · verificaciones {totals.get('verificaciones', 0)} · cortes "
                f"{len(cortes_in(self.out / 'publicacion'))} · capturadas en el último corte "
                f"{_captured_in_latest(self.out / 'publicacion')}/{self.report.actas}")

    def _verdict(self, plan: Plan, catalog: Catalog) -> None:
        self.say("Veredicto: cada corte contra la verdad del simulacro")
        cortes = cortes_in(self.out / "publicacion")
        if not cortes:
            self.report.failures.append("no se publicó ningún corte")
            return
        early = self.early.results() if self.early is not None else {}
        # The public command on the last corte, on the other core meanwhile.
        command = subprocess.Popen([sys.executable, "-m", "prep", "verify-corte",
                                    str(cortes[-1])], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            for i, directory in enumerate(cortes):
                final = i == len(cortes) - 1
                verdict = early.get(directory.name) if not final else None
                if verdict is None:
                    verdict = check_corte(catalog, plan.sim, directory, self.rules,
                                          final=final, hashed=self.hashed,
                                          expected=self.expected, erradas=self.erradas)
                self.report.cortes.append(verdict)
                self.report.failures += verdict.failures
        except BaseException:  # Ctrl+C, or a bug: the command must not outlive the drill
            command.kill()
            command.wait()
            raise
        last = self.report.cortes[-1]
        self.report.published, self.report.mismatches = last.publicadas, last.mismatches
        self._cotejo_verdict(plan, catalog, cortes)
        self.report.revision = revisar(cortes[-1], catalog, self.rules, plan.sim.fuera)
        self.report.failures += lineas(self.report.revision)
        output, _ = command.communicate()
        if command.returncode != 0:
            self.report.failures.append(f"prep verify-corte {cortes[-1].name}: "
                                        + output[-500:])
        totals = self._station_totals()
        self.report.metrics["estaciones"] = totals
        for incidente in self.report.incidentes:
            if incidente.minuto >= 0 and not incidente.hecho and incidente.nombre not in (
                    "sin_acta", "fuera"):
                self.report.failures.append(f"el incidente {incidente.nombre} no ocurrió")
        for what, counter in (("acta_duplicada", "incidente_duplicado_rechazado"),
                              ("reescaneo", "incidente_reescaneo"),
                              ("imagen_ilegible", "incidente_ilegible")):
            planned = sum(1 for i in self.report.incidentes if i.nombre == what)
            seen = int(totals["counts"].get(counter, 0))
            for incidente in self.report.incidentes:
                if incidente.nombre == what:
                    incidente.hecho = seen >= planned
            if seen < planned:
                self.report.failures.append(f"incidente {what}: planeados {planned}, "
                                            f"ocurrieron {seen}")
        for incidente in self.report.incidentes:
            if incidente.nombre in ("sin_acta", "fuera"):
                incidente.hecho = last.mismatches == 0 and last.final
        for name, state in self._states().items():
            self.report.failures += [f"{name}: {e}" for e in state.get("errores", [])]
        self.report.avisos = _warnings(totals["counts"])

    def _cotejo_verdict(self, plan: Plan, catalog: Catalog, cortes: list[Path]) -> None:
        """Each planned correction published after its error, with its ``correccion`` in
        diferencias.json; COTEJADA=1 in the last corte exactly for the confirmed actas."""
        publicadas, problemas = check_correcciones(cortes, self.report.cortes, plan.erradas,
                                                   plan.verdad())
        confirmadas, diferentes = cotejos_de(self.out / "estaciones")
        problemas += check_cotejadas(cortes[-1], catalog, confirmadas)
        self.report.failures += problemas
        self.report.metrics["cotejo"] = {
            "tasa": self.options.cotejo_rate, "cotejos": len(confirmadas) + len(diferentes),
            "confirmados": len(confirmadas), "correcciones": len(diferentes),
            "erradas_planeadas": len(plan.erradas), "correcciones_publicadas": publicadas,
            "erradas": {c: {"campo": campo, "publicado": valor}
                        for c, (campo, valor) in sorted(plan.erradas.items())}}

    def _station_totals(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        cpu: dict[str, float] = {}
        render = 0.0
        for state in self._states().values():
            render += float(state.get("render_seconds", 0))
            for k, v in state.get("counts", {}).items():
                counts[k] = counts.get(k, 0) + int(v)
            for k, seconds in state.get("cpu_hilos_s", {}).items():
                cpu[k] = cpu.get(k, 0.0) + float(seconds)
        # Where the stations' CPU went, by worker (as of each station's last report).
        by_worker = {k: round(v, 1) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])}
        return {"counts": counts, "render_seconds": round(render, 2),
                "cpu_hilos_s": by_worker}

    def _write_metrics(self, plan: Plan) -> None:
        r = self.report
        corte_seconds = [float(c.get("segundos", 0)) for c in self.corte_jsons]
        data = {
            "estado": "interrumpido" if r.interrupted else "terminado",
            "actas": r.actas, "wall_seconds": r.wall_seconds, "published": r.published,
            "mismatches_vs_truth": r.mismatches, "ok": r.ok,
            "seed": self.options.seed, "scale": self.options.scale,
            "catds": self.options.catds, "speed": self.options.speed,
            "error_rate": self.options.error_rate, "dpi": self.options.dpi,
            "cotejo_rate": self.options.cotejo_rate,
            "casillas": len(plan.catalog.casillas),
            "cortes": [{"corte": c.nombre, "final": c.final, "verify_corte": c.verify_ok,
                        "publicadas": c.publicadas, "discrepancias": c.mismatches}
                       for c in r.cortes],
            "incidentes": [{"nombre": i.nombre, "minuto": round(i.minuto, 1), "hecho": i.hecho,
                            "detalle": i.detalle} for i in r.incidentes],
            "tiempo": {"fases_s": r.phases,
                       "comandos_central_s": round(self.nodo.command_seconds, 2),
                       "cortes_a_pedido_s": round(sum(corte_seconds), 2),
                       "cpu_s": {**_cpu_seconds(), "postgres": self.postgres_cpu,
                                 **{k: round(v, 1) for k, v in self.nodo.cpu.items()}},
                       "cortes_a_pedido": len(corte_seconds),
                       "render_imagenes_cpu_s": r.metrics.get("estaciones", {}).get(
                           "render_seconds", 0.0),
                       "calibracion": {"bucle_python_ms": r.calibration}},
            **{k: v for k, v in r.metrics.items()},
            "avisos": r.avisos,
            "revision": {v.nombre: list(v.problemas) for v in r.revision},
            "failures": r.failures[:100],
        }
        (self.out / MARKER).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")


def _warnings(counts: dict[str, int]) -> list[str]:
    """What the stations survived that an operator would have had to deal with."""
    out: list[str] = []
    if counts.get("agente_sync_reiniciado"):
        out.append(f"el agente de envío de una estación se detuvo por un error interno y se "
                   f"volvió a arrancar {counts['agente_sync_reiniciado']} vez/veces (la "
                   "estación pide «Reinicie el programa»)")
    if counts.get("reintentos_base_ocupada"):
        out.append(f"{counts['reintentos_base_ocupada']} operaciones reintentadas porque la "
                   "base de datos de la estación estaba ocupada")
    return out


def _cpu_seconds() -> dict[str, float]:
    """CPU time of this process and of its children that have ended (stations, the
    central's commands and ``serve``; not the embedded PostgreSQL, which pg_ctl
    detaches: :meth:`NodoCentral.postgres_cpu` reads that one)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return {"simulacro": round(me.ru_utime + me.ru_stime, 1),
            "procesos_hijos": round(children.ru_utime + children.ru_stime, 1)}


def _captured_in_latest(publicacion: Path) -> int:
    """ACTAS_CAPTURADAS summed over the elections of the latest corte (whoever made
    it: the central's schedule or the drill), read from each CSV's summary line."""
    total = 0
    for path in (publicacion / "latest").glob("*.csv"):
        if path.stem.endswith("_CANDIDATURAS"):
            continue
        try:
            total += int(read_resumen(path).get("ACTAS_CAPTURADAS", 0))
        except (OSError, ValueError):  # CsvFormatError is one
            continue  # being replaced by the next corte: the next line will say
    return total


def _progress(states: dict[str, dict[str, Any]], publicadas: int) -> object:
    """What changes while the drain gets anywhere: the stations' counters and
    backlogs, and how many actas the last corte had final. Not the number of cortes:
    the drain makes one every few seconds, so an acta stuck for good would never
    count as a stall and the drill would wait forever; nor the asks for work, which idle
    capturistas go on making."""
    return (publicadas, sorted((name, sorted((k, v) for k, v in state.get("counts", {}).items()
                                             if not k.startswith(IDLE_COUNTS)),
                                 state.get("backlog_records"), state.get("escaneos_pendientes"))
                                for name, state in states.items()))


def _lap(since: float) -> float:
    return round(time.perf_counter() - since, 2)
