"""``prep simulacro``: the full drill through the real central, stations and publication,
phase by phase (each phase's time goes into ``simulacro.json``, ``tiempo.fases_s``).

1. A catalog from the seed (``OUT/catalogo``) and the plan (:mod:`prep.sintetico.plan`):
   the truth of every acta, when it arrives and where, the operators' mistakes and the
   incidents.
2. *preparacion_nodo*: a central node (:mod:`.nodo`, only ``prep central …``
   subprocesses, embedded PostgreSQL in ``OUT/central``) serving HTTPS with scheduled
   cortes and the catalog; the publication served as an HTTPS origin and the
   ``prep difusor`` processes that follow it (:mod:`.difusores`, ``--difusores N``).
3. *preparacion_estaciones* (:mod:`.estaciones`): the operators and one enrollment code
   per station, then one process per station (:mod:`.estacion`, data in
   ``OUT/estaciones/<name>``; forked from a process that imported the station once,
   :mod:`.zygote`) driving the real station services with virtual operators; the PREP
   Casilla feed watching ``OUT/casilla``.
4. *noche* (:mod:`.noche`): this process plays the clock (``--speed`` simulated seconds
   per second), drops the PREP Casilla photos, injects the incidents, asks for a corte
   every ``--corte-cada`` simulated minutes and prints a progress line
   (:mod:`.progreso`); the difusores' incidents run on a thread of their own.
5. *vaciado* (:mod:`.vaciado`): until the stations are idle and a corte shows every acta
   final.
6. *ultimo_corte_y_reporte*: the stations stopped, the *último corte* and the final PDF
   report; the difusores serving the último corte.
7. *veredicto* (:mod:`.dictamen`, with the checks of :mod:`.veredicto`) over every
   corte, and ``OUT/simulacro.json`` (:mod:`.informe`).
"""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.corte.verify import HashCache
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet
from prep.sintetico.plan import COTEJO_RATE
from prep.sintetico.plan import Plan
from prep.sintetico.plan import make_plan
from simulacro import testigos
from simulacro.calibracion import python_loop_ms
from simulacro.dictamen import Dictamen
from simulacro.difusores import Difusores
from simulacro.espera import EsperaAgotada
from simulacro.espera import ritmo
from simulacro.estaciones import Estaciones
from simulacro.informe import CentralCosts
from simulacro.informe import DrillReport
from simulacro.informe import station_totals
from simulacro.informe import write_metrics
from simulacro.noche import Ajustes
from simulacro.noche import Cortes
from simulacro.noche import Noche
from simulacro.nodo import Nodo
from simulacro.nodo import NodoError
from simulacro.progreso import Reloj
from simulacro.progreso import progress_line
from simulacro.salida import MARKER
from simulacro.salida import prepare_out
from simulacro.salida import space_needed
from simulacro.vaciado import drain
from simulacro.veredicto import EarlyChecks
from simulacro.veredicto import ErradaRows
from simulacro.veredicto import ExpectedRows
from simulacro.veredicto import cortes_in
from simulacro.veredicto import filas_erradas

log = logging.getLogger("simulacro")


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
    #: 2: a synchronous hot standby, promoted when the primary's machine is lost at a
    #: seeded minute of the night (issue 31).
    nodos: int = 1
    #: ``prep difusor`` processes following the publication over HTTPS (issue 30).
    difusores: int = 1
    #: (host, port) of the central's Prometheus metrics (issue 68; None: not served).
    metricas: tuple[str, int] | None = None


#: When the primary is lost in a ``--nodos 2`` night: a seeded minute in this range
#: (after the central's restart at 480, before the night ends at 840).
FAILOVER_MINUTES = (540.0, 720.0)


class Drill:
    """One run of the drill, phase by phase (see the module docstring): each phase is
    its own module; this class runs them in order, times them and makes sure that
    whatever happens the stations and the central are stopped and ``simulacro.json``
    says how far it got."""

    def __init__(self, options: DrillOptions, rules: RuleSet = DEFAULT_RULES,
                 progress: Callable[[str], None] = lambda _: None) -> None:
        self.options = options
        self.rules = rules
        self.say = progress
        self.out = options.out
        self.report = DrillReport()
        self.estaciones = Estaciones(self.out)
        self.reloj = Reloj(options.speed)
        self.nodo: Nodo | None = None
        self.cortes: Cortes | None = None
        self.plan: Plan | None = None
        self.expected: ExpectedRows = {}  # each acta's final row, derived once (verdicts)
        self.erradas: ErradaRows = {}  # rows of the actas published wrong on purpose
        self.hashed: HashCache = {}  # each hard-linked image hashed once, not once per corte
        self.early: EarlyChecks | None = None
        self.postgres_cpu: float | None = None  # the embedded server's CPU, read at the end
        self.difusores = Difusores(self.out, options.difusores, self.out / "bitacoras",
                                   reglas=options.reglas, rules=rules)
        #: The central's ``registro_bifurcado`` anomalies, read before it stops.
        self.anomalias: list[dict[str, Any]] | None = None

    def run(self) -> DrillReport:
        self.report.calibration["inicio"] = python_loop_ms()  # before anything of ours runs
        # Every wait of the drill is bounded at this machine's pace (simulacro.espera).
        ritmo().calibrar(self.report.calibration["inicio"]["median"])
        started = time.perf_counter()
        try:
            return self._run(started)
        except (KeyboardInterrupt, SystemExit):
            # Ctrl+C or SIGTERM (cli.py turns it into SystemExit): the stations and the
            # central were stopped on the way out (again here, should the signal have
            # cut that short); say in simulacro.json how far it got instead of leaving
            # it «en curso», then go on stopping.
            self.estaciones.kill()
            self.difusores.detener(abandonar=True)
            if self.nodo is not None:
                self.nodo.close()
                self._interrupted(started)
            raise

    def _interrupted(self, started: float) -> None:
        self.report.interrupted = True
        self.report.wall_seconds = round(time.perf_counter() - started, 2)
        self.report.failures.append("el simulacro se detuvo antes de terminar (Ctrl+C o "
                                    "SIGTERM): no hay veredicto")
        self.report.metrics["estaciones"] = station_totals(self.estaciones.states().values())
        self._write_metrics()

    def _run(self, started: float) -> DrillReport:
        phase = time.perf_counter()
        catalog = generate_catalog(self.options.seed, self.options.scale)
        prepare_out(self.out, space_needed(catalog.total_actas, self.options.dpi,
                                           self.options.difusores))
        (self.out / MARKER).write_text('{"estado": "en curso"}\n', encoding="utf-8")
        write_catalog(catalog, self.out / "catalogo")
        plan = make_plan(catalog, self.options.seed, self.options.catds,
                         self.options.error_rate, self.options.cotejo_rate)
        self.plan = plan
        self.erradas = filas_erradas(catalog, plan.sim, plan.erradas, self.rules)
        self.report.actas = catalog.total_actas
        nodo = self.nodo = Nodo(self.out / "central", self.out / "publicacion",
                                self.out / "bitacoras", reglas=self.options.reglas,
                                atencion=self.options.nodos, metricas=self.options.metricas)
        self.cortes = Cortes(nodo)
        gui: subprocess.Popen[bytes] | None = None
        try:
            self.say(f"Nodo central: esquema, catálogo ({catalog.total_actas} actas) y "
                     f"{len(plan.estaciones)} estaciones")
            nodo.init(self.out / "catalogo")
            nodo.catd_distritos([d.id for d in catalog.distritos], self.options.catds)
            nodo.serve()
            if nodo.metrics_url:
                self.say(f"Métricas de Prometheus del nodo central: {nodo.metrics_url}")
            if self.options.nodos > 1:
                self.say("Standby síncrono del PostgreSQL central (--nodos 2)")
                nodo.add_standby(self.out / "central-standby")
                self.report.metrics["continuidad"] = {"nodos": self.options.nodos,
                                                      "nodos_atencion": nodo.urls}
            if self.difusores.lista:
                self.say(f"Difusores: {len(self.difusores.lista)} prep difusor siguiendo "
                         "la publicación por HTTPS")
                self.difusores.preparar(nodo.huella, nodo)
            phase = self._lap("preparacion_nodo", phase)
            self.estaciones.set_up(plan, nodo, speed=self.options.speed, dpi=self.options.dpi)
            # The difusores registered before the night's first corte, so every corte
            # lists them as witnesses (DIFUSORES.csv); usually done long before this.
            self.difusores.listos()
            self.reloj.t0 = self.estaciones.start_the_night()
            nodo.start_intake(self.out / "casilla")
            gui = self._gui(nodo)
            phase = self._lap("preparacion_estaciones", phase)
            noche = self._noche(plan, catalog, nodo, self.cortes)
            noche.run()
            phase = self._lap("noche", phase)
            self.report.esperas_agotadas += drain(
                plan=plan, catalog=catalog, rules=self.rules, estaciones=self.estaciones,
                cortes=self.cortes, phones_busy=noche.phones_busy, expected=self.expected,
                erradas=self.erradas, say=self.say, line=self._line)
            phase = self._lap("vaciado", phase)
            if self.options.nodos > 1:
                self.report.metrics["continuidad"]["estaciones_por_nodo"] = _por_nodo(
                    self.estaciones.states().values())
            self.difusores.fin_de_noche()
            self.cortes.wait()  # a drain that stalled left its last on-demand corte running
            self.early = EarlyChecks(catalog, plan.sim, self.out / "publicacion", self.rules,
                                     self.hashed, self.expected, self.erradas)
            self.report.failures += self.estaciones.stop()
            self.report.esperas_agotadas += self.estaciones.esperas_agotadas
            self.report.metrics["casilla"] = nodo.intake_counts()
            if self.difusores.lista:
                # Each head up to here cosigned, reported and so published with the
                # último corte: every corte but the último carries its witnesses.
                self.say("Difusores: cofirman la última cabeza del registro de cortes")
                self._difusores_al_dia(self.difusores.cofirmado())
            self.say("Último corte y reporte final (PDF)")
            self.cortes.now(ultimo=True)
            nodo.report_final(self.out / "reporte_final.pdf")
            ultimos = cortes_in(self.out / "publicacion")
            if self.difusores.lista and ultimos:
                self.say("Difusores: hasta que sirvan el último corte")
                self._difusores_al_dia(self.difusores.alcanzar(ultimos[-1].name))
                self.anomalias = self._anomalias(nodo)
            self._check_audit(nodo)
            self._check_estado(nodo)
            self._lap("ultimo_corte_y_reporte", phase)
        except EsperaAgotada as exc:  # an event that did not come: no wrong result seen
            self.report.esperas_agotadas.append(f"el simulacro se interrumpió: {exc}")
        except (NodoError, OSError, subprocess.SubprocessError) as exc:
            self.report.failures.append(f"el simulacro se interrumpió: {exc}")
        finally:
            if gui is not None:
                gui.terminate()
            self.estaciones.kill()
            self.difusores.detener()
            self.postgres_cpu = nodo.postgres_cpu()  # before it stops with serve
            nodo.close()
        phase = time.perf_counter()
        Dictamen(self.out, plan, catalog, self.rules, self.options.cotejo_rate, self.report,
                 self.estaciones, self.hashed, self.expected, self.erradas
                 ).run(self.early, self.say)
        filas, failures = self.difusores.veredicto(self.hashed)
        self.report.metrics["difusores"] = filas
        self.report.failures += failures
        if self.difusores.lista:
            self._registro()
        self._lap("veredicto", phase)
        self.report.wall_seconds = round(time.perf_counter() - started, 2)
        self.report.calibration["fin"] = python_loop_ms()  # everything stopped: quiet again
        self._write_metrics()
        return self.report

    def _noche(self, plan: Plan, catalog: Catalog, nodo: Nodo, cortes: Cortes) -> Noche:
        failover = None
        if self.options.nodos > 1:
            failover = round(random.Random(f"failover:{self.options.seed}").uniform(
                *FAILOVER_MINUTES), 1)
        ajustes = Ajustes(casilla=self.out / "casilla", corte_cada=self.options.corte_cada,
                          dpi=self.options.dpi, failover_minute=failover,
                          difusores=self.difusores)
        return Noche(plan=plan, catalog=catalog, nodo=nodo, estaciones=self.estaciones,
                     cortes=cortes, reloj=self.reloj, report=self.report, ajustes=ajustes,
                     say=self.say, line=self._line)

    def _difusores_al_dia(self, found: tuple[list[str], list[str]]) -> None:
        failures, esperas = found
        self.report.failures += failures
        self.report.esperas_agotadas += esperas

    def _anomalias(self, nodo: Nodo) -> list[dict[str, Any]] | None:
        """The ``registro_bifurcado`` anomalies, read as the dashboard reads them (a
        read-only login of its own); None when they could not be read."""
        try:
            return testigos.anomalias(nodo.read_only_dsn("verificador_simulacro"))
        except (NodoError, EsperaAgotada, OSError, ValueError) as exc:
            log.error("no se pudieron leer las anomalías: %s", exc)
            return None
        except Exception as exc:  # psycopg's errors: the verdict says it could not read
            log.exception("no se pudieron leer las anomalías: %r", exc)
            return None

    def _registro(self) -> None:
        """The public log of cortes and its witnesses (:mod:`.testigos`)."""
        bifurcada = self.difusores.bifurcada
        objetivo = self.difusores.lista[0]
        ids = {d.nombre: d.id for d in self.difusores.lista if d.id is not None}
        registro, failures = testigos.veredicto(
            self.out / "publicacion", ids, bifurcada,
            testigos.Objetivo(objetivo.nombre, objetivo.id), self.anomalias,
            self.difusores.cubierto)
        self.report.metrics["registro"] = registro
        self.report.failures += failures

    def _check_audit(self, nodo: Nodo) -> None:
        """The audit chain verifies end to end (``prep central verify-audit``): across a
        central's restart and, with ``--nodos 2``, across the promotion."""
        try:
            nodo.cli("verify-audit")
        except NodoError as exc:
            self.report.failures.append(f"la bitácora no verifica: {exc}")
            return
        self.report.metrics.setdefault("continuidad", {})["bitacora_integra"] = True

    def _check_estado(self, nodo: Nodo) -> None:
        """Every acta's state (and so what the cortes published and its public history,
        made from it) is what its records give, folded again from nothing (``prep central
        rebuild-state --check``): cotejos and corrections included."""
        try:
            nodo.cli("rebuild-state", "--check")
        except NodoError as exc:
            self.report.failures.append(f"el estado de las actas no es el que dan sus "
                                        f"registros: {exc}")
            return
        self.report.metrics["estado_derivable"] = True

    def _gui(self, nodo: Nodo) -> subprocess.Popen[bytes] | None:
        """``prep dashboard`` over the drill's database, as a login that holds only the
        read-only role ``prep_lectura`` (``prep central read-only-user``)."""
        if not self.options.gui:
            return None
        try:
            dsn = nodo.read_only_dsn()
        except NodoError as exc:
            self.say(f"--gui: no se pudo preparar el usuario de solo lectura ({exc}); el "
                     "simulacro sigue sin tablero")
            return None
        self.say("Tablero de control abierto (prep dashboard, solo lectura)")
        log_path = self.out / "bitacoras" / "tablero.log"
        with log_path.open("ab") as err:
            return subprocess.Popen([sys.executable, "-m", "prep", "dashboard", "--dsn", dsn],
                                    stdout=subprocess.DEVNULL, stderr=err)

    def _line(self) -> str:
        return progress_line(self.reloj, self.estaciones, self.report, self.out / "publicacion")

    def _lap(self, name: str, since: float) -> float:
        """Record phase ``name`` as ended now; the start of the next one."""
        self.report.phases[name] = round(time.perf_counter() - since, 2)
        return time.perf_counter()

    def _write_metrics(self) -> None:
        assert self.plan is not None and self.nodo is not None
        write_metrics(self.out, self.options, self.plan, self.report,
                      self.cortes.hechos if self.cortes is not None else [],
                      CentralCosts(self.nodo.command_seconds, self.nodo.cpu, self.postgres_cpu))


def _por_nodo(states: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many stations work with each serve node at the end of the night (the URL
    their status names), and how many do not hold the two-node signed list."""
    counts: dict[str, int] = {}
    for state in states:
        key = str(state.get("nodo") or "").split(" ", 1)[0] if state.get("nodos_lista") == 2 \
            else "sin_lista"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
