"""What a full drill reports: its incidents, phases, metrics and failures
(:class:`DrillReport`), and ``OUT/simulacro.json``, written from it (:func:`write_metrics`).
"""

from __future__ import annotations

import json
import resource
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from prep.sintetico.plan import Plan
from simulacro.revision import Revision
from simulacro.salida import MARKER
from simulacro.veredicto import CorteVerdict

if TYPE_CHECKING:
    from simulacro.drill import DrillOptions


@dataclass
class Incidente:
    """One scheduled incident and whether it happened."""

    nombre: str
    minuto: float
    hecho: bool = False
    detalle: str = ""
    #: It did not happen because an event it waited for did not come in time
    #: (:class:`~simulacro.espera.EsperaAgotada`), not because something went wrong.
    agotada: bool = False


@dataclass
class DrillReport:
    """What the drill did, how long it took and its verdict."""

    actas: int = 0
    published: int = 0
    mismatches: int = 0
    cortes: list[CorteVerdict] = field(default_factory=list)
    incidentes: list[Incidente] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: Events the drill waited for that did not come within their bound
    #: (:mod:`simulacro.espera`): no wrong result, but no verdict either.
    esperas_agotadas: list[str] = field(default_factory=list)
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
        return not self.failures and not self.esperas_agotadas


@dataclass(frozen=True)
class CentralCosts:
    """What the central node cost the drill: its commands' wall time and CPU by process
    (``serve``, the commands), and the embedded PostgreSQL's CPU (``None``: unknown)."""

    command_seconds: float
    cpu: dict[str, float]
    postgres_cpu: float | None


def station_totals(states: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The stations' counters, image-rendering CPU and CPU by worker, summed over their
    status files (as of each station's last report)."""
    counts: dict[str, int] = {}
    cpu: dict[str, float] = {}
    render = 0.0
    for state in states:
        render += float(state.get("render_seconds", 0))
        for k, v in state.get("counts", {}).items():
            counts[k] = counts.get(k, 0) + int(v)
        for k, seconds in state.get("cpu_hilos_s", {}).items():
            cpu[k] = cpu.get(k, 0.0) + float(seconds)
    # Where the stations' CPU went, by worker (as of each station's last report).
    by_worker = {k: round(v, 1) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])}
    return {"counts": counts, "render_seconds": round(render, 2),
            "cpu_hilos_s": by_worker}


def warnings(counts: dict[str, int]) -> list[str]:
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


def write_metrics(out: Path, options: DrillOptions, plan: Plan, report: DrillReport,
                  corte_jsons: list[dict[str, Any]], central: CentralCosts) -> None:
    """``OUT/simulacro.json``: the options, what happened and what it cost."""
    r = report
    corte_seconds = [float(c.get("segundos", 0)) for c in corte_jsons]
    data = {
        "estado": "interrumpido" if r.interrupted else "terminado",
        "actas": r.actas, "wall_seconds": r.wall_seconds, "published": r.published,
        "mismatches_vs_truth": r.mismatches, "ok": r.ok,
        "seed": options.seed, "scale": options.scale,
        "catds": options.catds, "speed": options.speed,
        "error_rate": options.error_rate, "dpi": options.dpi,
        "cotejo_rate": options.cotejo_rate,
        "casillas": len(plan.catalog.casillas),
        "cortes": [{"corte": c.nombre, "final": c.final, "verify_corte": c.verify_ok,
                    "publicadas": c.publicadas, "discrepancias": c.mismatches}
                   for c in r.cortes],
        "incidentes": [{"nombre": i.nombre, "minuto": round(i.minuto, 1), "hecho": i.hecho,
                        "detalle": i.detalle, "espera_agotada": i.agotada}
                       for i in r.incidentes],
        "tiempo": {"fases_s": r.phases,
                   "comandos_central_s": round(central.command_seconds, 2),
                   "cortes_a_pedido_s": round(sum(corte_seconds), 2),
                   "cpu_s": {**cpu_seconds(), "postgres": central.postgres_cpu,
                             **{k: round(v, 1) for k, v in central.cpu.items()}},
                   "cortes_a_pedido": len(corte_seconds),
                   "render_imagenes_cpu_s": r.metrics.get("estaciones", {}).get(
                       "render_seconds", 0.0),
                   "calibracion": {"bucle_python_ms": r.calibration}},
        **{k: v for k, v in r.metrics.items()},
        "avisos": r.avisos,
        "revision": {v.nombre: list(v.problemas) for v in r.revision},
        "failures": r.failures[:100],
        "esperas_agotadas": r.esperas_agotadas[:100],
    }
    (out / MARKER).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                              encoding="utf-8")


def cpu_seconds() -> dict[str, float]:
    """CPU time of this process and of its children that have ended (stations, the
    central's commands and ``serve``; not the embedded PostgreSQL, which pg_ctl
    detaches: :meth:`simulacro.nodo.Nodo.postgres_cpu` reads that one)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return {"simulacro": round(me.ru_utime + me.ru_stime, 1),
            "procesos_hijos": round(children.ru_utime + children.ru_stime, 1)}
