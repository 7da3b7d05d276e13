"""Benchmark: a corte from PostgreSQL to a finished directory, against raw COPY.

Fills an embedded PostgreSQL (pgserver) with the generated catalog (``--scale``; above 1
the scale-1 CDMX-like catalog is repeated with other casilla numbers until it holds
``scale`` times as many casillas: 12.9 ≈ the national 510,000 actas) and realistic
validated states (the drill's simulation: every category, verifications, sin acta,
pending actas, fuera de catálogo), written set-based with COPY. Then, in a fresh child
process (so its peak RSS is the corte's, not the filling's), with the catalog already
parsed as a running central has it:

- ``seconds``: one whole corte (``make_corte``: lock, REPEATABLE READ snapshot, rules,
  CSVs, LEEME, zip, site if installed, diff, manifest, signature, fsynced atomic
  publication, ``cortes`` row and audit event); images excluded;
- ``copy_seconds``: ``COPY (the snapshot's rows) TO STDOUT`` of the same rows, raw.

Prints one JSON line. Targets (issue 7): scale 1 (≈40,000 actas) ``seconds`` ≤ 2;
scale 12.9 ``seconds`` ≤ 20 with ``peak_rss_mb`` ≤ 1,500; issue 30 asks ≤ 10 s and
≤ 1,000 MB there.
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

import psycopg

from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states
from tests.harness.postgres import embedded_server
from tests.harness.postgres import temporary_database

REPEAT_OFFSET = 7  # casilla numbers of each repetition: id + 7·k (every id stays ≤ 99)


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
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, Path(os.environ["BENCH_PUBLICACION"]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-corte-db-") as tmp, \
            embedded_server(Path(tmp)) as admin_dsn, \
            temporary_database(admin_dsn, "bench_corte") as dsn:
        started = time.perf_counter()
        catalog = scaled_catalog(args.seed, args.scale)
        prepare_database(dsn, catalog)
        corte = day_after(catalog, dtime(8, 0))
        sim = simulate(catalog, args.seed, corte, pendientes=0.02)
        write_states(dsn, catalog, sim)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        actas, casillas = catalog.total_actas, len(catalog.casillas)
        del catalog, sim
        fill_seconds = time.perf_counter() - started
        done = subprocess.run([sys.executable, "-m", "bench.corte_db", "--child", dsn],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "BENCH_PUBLICACION": str(Path(tmp) / "pub")})
        if done.returncode != 0:
            sys.exit(f"corte failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({
        "benchmark": "corte_db", "scale": args.scale, "actas": actas, "casillas": casillas,
        **result, "fill_seconds": round(fill_seconds, 1),
        "targets": {"seconds": 2 if args.scale <= 1 else 20, "peak_rss_mb": 1500},
        **({"targets_issue_30": {"seconds": 10, "peak_rss_mb": 1000}} if args.scale > 1
           else {}),
        "python": platform.python_version(), "cpus": os.cpu_count()}))


def _child(dsn: str, publicacion: Path) -> None:
    from sqlalchemy.orm import Session

    from central import catalog_store
    from central.db import make_engine
    from central.publication.corte import A_PEDIDO
    from central.publication.corte import CorteSettings
    from central.publication.corte import make_corte
    from central.publication.package import site_module
    from central.publication.snapshot import _FUERA
    from central.publication.snapshot import _STATES
    from prep.crypto import SigningKey

    engine = make_engine(dsn)
    started = time.perf_counter()
    with Session(engine) as session:
        catalog_store.current(session)  # what a running central keeps in memory
    catalog_seconds = time.perf_counter() - started
    sitio = site_module() is not None
    settings = CorteSettings(publicacion, blobs=None, sitio=sitio)
    started, cpu = time.perf_counter(), _cpu_seconds()
    hecho = make_corte(engine, SigningKey.generate(), settings, motivo=A_PEDIDO,
                       actor="bench")
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu
    peak_first = _peak_rss_mb()
    # Steady state: a running central has its catalog's indexes built after a first
    # corte; and the same corte without the public site.
    cpu = _cpu_seconds()
    warm = make_corte(engine, SigningKey.generate(), settings, motivo=A_PEDIDO, actor="bench")
    cpu_warm = _cpu_seconds() - cpu
    bare = make_corte(engine, SigningKey.generate(), replace(settings, sitio=False),
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
    print(json.dumps({
        "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
        "peak_rss_mb": round(peak_first),
        "peak_rss_mb_three_cortes": round(_peak_rss_mb()),
        "copy_seconds": round(copy_seconds, 3), "copy_mb": round(copy_bytes / 2**20, 1),
        "actas_con_datos": hecho.actas_capturadas, "sitio": sitio,
        "corte_mb": round(size / 2**20, 1), "files": hecho.publicado.files,
        "catalog_load_seconds": round(catalog_seconds, 3),
        "phases_first": {"snapshot": round(hecho.snapshot_seconds, 3), **hecho.publicado.seconds},
        "seconds_warm": round(warm.seconds, 3), "cpu_seconds_warm": round(cpu_warm, 3),
        "phases_warm": {"snapshot": round(warm.snapshot_seconds, 3), **warm.publicado.seconds},
        "seconds_warm_sin_sitio": round(bare.seconds, 3)}))


def _cpu_seconds() -> float:
    """This process's CPU time (user + system), all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    main()
