"""Benchmark: cortes from PostgreSQL to a finished directory, cold and on election
night's steady state, against raw COPY.

Fills an embedded PostgreSQL (pgserver) with the generated catalog (``--scale``; above 1
the scale-1 CDMX-like catalog is repeated with other casilla numbers until it holds
``scale`` times as many casillas: 12.9 ≈ the national 510,000 actas) and realistic
validated states (the drill's simulation: every category, verifications, sin acta,
pending actas, fuera de catálogo), written set-based with COPY. ``--delta`` (default
0.02: 2 % of the actas, about what a national PREP receives in 5–10 minutes at its
peak) of the actas are kept apart (tests/harness/corte_data.py, ``plan_delta``): most
are validated actas the fill leaves only received, the rest published actas that change
(a new image, a cotejo confirming the data, a correction round that validated new
values); their rows, made by the pipeline's own fold, wait in a schema of their own.
Then, in a fresh child process (so its peak RSS is the cortes', not the filling's),
with the catalog already parsed as a running central has it, and one
``CorteSettings.memo`` kept across its cortes as ``prep central serve`` keeps it:

- ``seconds``: (a) the first, cold corte (``make_corte``: lock, REPEATABLE READ
  snapshot, rules, CSVs, LEEME, zip, site if installed, diff, manifest, signature,
  flushed (syncfs) atomic publication, ``cortes`` row and audit event); images excluded;
- ``delta_apply_seconds``: (b) the delta moved into the central's tables, in one
  transaction (SQL only: the child holds none of it);
- ``seconds_steady``: (c) the next corte, after the delta, with the memo of (a): what
  election night does every few minutes;
- ``seconds_warm``: (d) the same corte again, nothing changed since (c);
- ``seconds_warm_sin_sitio``: a corte without the public site and without memo;
- ``copy_seconds``: ``COPY (the snapshot's rows) TO STDOUT`` of the same rows, raw.

Each of (a), (c), (d) reports wall ``seconds*``, ``cpu_seconds*`` (the process's and
its file-writing process's, central.publication.escritor), ``phases_*`` and
its own peak RSS ``peak_rss_mb*`` (the peak is reset before each corte: Linux
``clear_refs``; what the memo keeps between cortes counts in the later ones).
``rss_mb_between`` is the child's resident size after (a), while it waits for the
next corte; ``carrete_mb_between`` what its tramos' texts take on disk meanwhile
(prep.corte.carrete), written to disk (``sync``) before (b), as minutes between cortes
would. ``delta_actas`` and ``delta`` say what the delta held; ``diferencias_steady``
what corte (c) found changed.

Changed from before the delta (for comparing with older results): ``seconds_warm`` and
``phases_warm`` were the second corte right after the first; now they are (d), after a
steady corte and with a memo. ``peak_rss_mb_three_cortes`` is gone (each corte has its
own peak now; ``peak_rss_mb_max`` is the largest). ``copy_*`` read the rows after the
delta. ``--delta 0`` keeps nothing apart ((c) is then a corte on unchanged data too).

Prints one JSON line, with ``calibracion.bucle_python_ms`` (the drill's interpreter loop,
:mod:`simulacro.calibracion`, before the fill and after the cortes: how fast the machine
was). Targets: issue 7 set scale 1 (≈40,000 actas) ``seconds`` ≤ 2 and
scale 12.9 ≤ 20 s with ≤ 1,500 MB, for a corte that then read and made everything. Since
a running central reads and makes again only what changed (issues 28–30), the corte of
election night is (c): the targets apply to ``seconds_steady`` (scale 1: ≤ 2 s; scale
12.9: ≤ 12 s, issue 30's bar, its goal 10 s) and to every corte's peak,
``peak_rss_mb_max`` (≤ 1,500 MB; issue 30's goal 1,000 MB). ``seconds``, the first corte
of a process, is reported beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import psycopg

from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.sintetico.capturas import simulate
from simulacro.calibracion import python_loop_ms
from tests.harness.corte_data import day_after
from tests.harness.corte_data import plan_delta
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import stage_delta
from tests.harness.corte_data import write_states
from tests.harness.postgres import embedded_server
from tests.harness.postgres import temporary_database

if TYPE_CHECKING:
    from central.node.tuning import CentralTuning

REPEAT_OFFSET = 7  # casilla numbers of each repetition: id + 7·k (every id stays ≤ 99)
DELTA = 0.02  # share of the actas a delta changes (a peak's 5–10 minutes, nationally)


def scaled_catalog(seed: int, scale: float) -> Catalog:
    """The generated catalog; above scale 1, repeated (same secciones, more casillas:
    the k-th copy of a básica or contigua becomes contigua ``4k + id``, of any other
    type ``id + 7k``) until it has ``scale`` times the casillas."""
    if scale <= 1:
        return generate_catalog(seed, scale)
    base = generate_catalog(seed, 1.0)
    wanted = round(len(base.casillas) * scale)
    casillas: list[Casilla] = []
    seen: set[str] = set()
    for k in range(math.ceil(scale)):
        for c in base.casillas:
            if len(casillas) == wanted:
                break
            if k:
                basica_o_contigua = c.tipo in ("B", "C")
                c = replace(c, tipo="C" if basica_o_contigua else c.tipo, id_casilla=(
                    (4 * k + (0 if c.tipo == "B" else c.id_casilla))
                    if basica_o_contigua else c.id_casilla + REPEAT_OFFSET * k))
            if c.clave not in seen:
                seen.add(c.clave)
                casillas.append(c)
    return replace(base, casillas=tuple(casillas))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--delta", type=float, default=DELTA,
                        help="share of the actas changed between the first corte and the "
                             "steady one (default %(default)s)")
    parser.add_argument("--profile", default=None, metavar="FILE",
                        help="write a cProfile of the steady corte (c) to FILE (pstats)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from central.node.tuning import CentralTuning

        with CentralTuning() as tuning:  # as serve's cortes run (central.node.tuning)
            _child(args.child, Path(os.environ["BENCH_PUBLICACION"]), tuning, args.profile)
        return
    bucle_inicio = python_loop_ms()
    with tempfile.TemporaryDirectory(prefix="bench-corte-db-") as tmp, \
            embedded_server(Path(tmp)) as admin_dsn, \
            temporary_database(admin_dsn, "bench_corte") as dsn:
        started = time.perf_counter()
        catalog = scaled_catalog(args.seed, args.scale)
        prepare_database(dsn, catalog)
        corte = day_after(catalog, dtime(8, 0))
        sim = simulate(catalog, args.seed, corte, pendientes=0.02)
        plan = plan_delta(catalog, sim, args.delta, args.seed)
        write_states(dsn, catalog, sim, delta=plan)
        stage_delta(dsn, catalog, sim, plan, corte)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        actas, casillas = catalog.total_actas, len(catalog.casillas)
        del catalog, sim
        fill_seconds = time.perf_counter() - started
        profile = [] if args.profile is None else ["--profile", str(Path(args.profile).resolve())]
        done = subprocess.run([sys.executable, "-m", "bench.corte_db", "--child", dsn, *profile],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "BENCH_PUBLICACION": str(Path(tmp) / "pub")})
        if done.returncode != 0:
            sys.exit(f"corte failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({
        "benchmark": "corte_db", "scale": args.scale, "actas": actas, "casillas": casillas,
        "delta_actas": plan.actas, "delta": plan.to_json(), **result,
        "fill_seconds": round(fill_seconds, 1),
        "targets": {"seconds_steady": 2 if args.scale <= 1 else 12, "peak_rss_mb_max": 1500},
        **({"goals_issue_30": {"seconds_steady": 10, "peak_rss_mb_max": 1000}}
           if args.scale > 1 else {}),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        # How fast the machine was (the drill's loop, simulacro.calibracion), before the
        # fill and after the cortes: seconds measured on different machines, or on one
        # virtual machine at different times, compare only beside it.
        "calibracion": {"bucle_python_ms": {"inicio": bucle_inicio,
                                            "fin": python_loop_ms()}}}))


def _child(dsn: str, publicacion: Path, tuning: CentralTuning,
           profile: str | None = None) -> None:
    from sqlalchemy.orm import Session

    from central.catalog import catalog_store
    from central.db import make_engine
    from central.publication.corte import A_PEDIDO
    from central.publication.corte import CorteHecho
    from central.publication.corte import CorteSettings
    from central.publication.corte import make_corte
    from central.publication.memo_corte import CorteMemo
    from central.publication.snapshot import _FUERA
    from central.publication.snapshot import _STATES
    from prep.corte.memo import RenderMemo
    from prep.crypto import SigningKey
    from tests.harness.corte_data import apply_delta
    from tests.harness.descriptores import abiertos

    engine = make_engine(dsn)
    started = time.perf_counter()
    with Session(engine) as session:
        catalog_store.current(session)  # what a running central keeps in memory
    catalog_seconds = time.perf_counter() - started
    sitio = True  # the public site is part of every corte
    # The tramos' texts between cortes: in the data directory's disk, as serve keeps them.
    carrete = publicacion.parent
    memo = CorteMemo(render=RenderMemo(carrete=carrete))
    settings = CorteSettings(publicacion, blobs=None, sitio=sitio, memo=memo, tuning=tuning)

    def corte(settings: CorteSettings, profile: str | None = None,
              ) -> tuple[CorteHecho, dict[str, Any]]:
        """One corte, and its seconds, CPU seconds, phases and own peak RSS."""
        _reset_peak_rss()
        profiler = None
        if profile is not None:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu = time.perf_counter(), _cpu_seconds()
        hecho = make_corte(engine, SigningKey.generate(), settings, motivo=A_PEDIDO,
                           actor="bench")
        seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        return hecho, {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
                       "peak_rss_mb": round(_peak_rss_mb()),
                       "phases": {"snapshot": round(hecho.snapshot_seconds, 3),
                                  **hecho.publicado.seconds}}

    hecho, cold = corte(settings)  # (a)
    memo.render.carrete.esperar()  # as a central waiting for its next corte
    between = _rss_mb()
    # what the tramos' texts kept for the next corte take on disk (prep.corte.carrete)
    carrete_mb = round(sum(e.st_blocks * 512 for _, e in abiertos(carrete)) / 2**20, 1)
    # Cortes are minutes apart: the disk has written what the previous one left in the
    # page cache (its own files are flushed at its end; the carrete's are not) before
    # the next.
    os.sync()
    started = time.perf_counter()
    apply_delta(dsn)  # (b)
    delta_seconds = time.perf_counter() - started
    steady_hecho, steady = corte(settings, profile)  # (c)
    _, warm = corte(settings)  # (d)
    bare = make_corte(engine, SigningKey.generate(), replace(settings, sitio=False, memo=None),
                      motivo=A_PEDIDO, actor="bench")
    engine.dispose()
    copy_bytes = 0
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for query in (_STATES, _FUERA):
            with cur.copy(f"COPY ({query}) TO STDOUT") as copy:
                for block in copy:
                    copy_bytes += len(block)
    copy_seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in hecho.publicado.path.rglob("*") if p.is_file())
    diferencias = {k: sum(int(e.get(k, 0)) for e in steady_hecho.publicado.diferencias.values())
                   for k in ("agregadas", "modificadas", "retiradas")}
    print(json.dumps({
        "seconds": cold["seconds"], "cpu_seconds": cold["cpu_seconds"],
        "peak_rss_mb": cold["peak_rss_mb"], "rss_mb_between": round(between),
        "carrete_mb_between": carrete_mb,
        "copy_seconds": round(copy_seconds, 3), "copy_mb": round(copy_bytes / 2**20, 1),
        "actas_con_datos": hecho.actas_capturadas, "sitio": sitio,
        "corte_mb": round(size / 2**20, 1), "files": hecho.publicado.files,
        "catalog_load_seconds": round(catalog_seconds, 3),
        "phases_first": cold["phases"],
        "delta_apply_seconds": round(delta_seconds, 3),
        "seconds_steady": steady["seconds"], "cpu_seconds_steady": steady["cpu_seconds"],
        "peak_rss_mb_steady": steady["peak_rss_mb"], "phases_steady": steady["phases"],
        "actas_con_datos_steady": steady_hecho.actas_capturadas,
        "diferencias_steady": diferencias,
        "seconds_warm": warm["seconds"], "cpu_seconds_warm": warm["cpu_seconds"],
        "peak_rss_mb_warm": warm["peak_rss_mb"], "phases_warm": warm["phases"],
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in (cold, steady, warm)),
        "seconds_warm_sin_sitio": round(bare.seconds, 3)}))


def _cpu_seconds() -> float:
    """This process's CPU time (user + system), all its threads, and its children's that
    ended (each corte's file-writing process, central.publication.escritor)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _reset_peak_rss() -> None:
    """Start this process's peak RSS (VmHWM) again from its current size."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ``ru_maxrss``: Linux carries it over an
    exec, so this child, started by the parent that filled the database, would report
    the parent's size whenever that is larger (3,276 MB at scale 12.9)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.corte_db", main))
