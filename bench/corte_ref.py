"""Reference cortes: the same database, the same instants, the same key, so two trees'
cortes can be compared byte for byte (``diff -r``), and timed on one filled database.

::

    python3 -m bench.corte_ref fill --scale 1 --dir /tmp/cref-1
    python3 -m bench.corte_ref corte --dir /tmp/cref-1 --out /tmp/out-a
    diff -r /tmp/out-a /tmp/out-b

``fill`` keeps an embedded PostgreSQL's data directory in ``--dir`` with a template
database filled as :mod:`bench.corte_db` fills its own. ``corte`` copies the template
into a fresh database and makes two cortes there (the second has a previous corte to
compare itself with and actas published before), in a child process of the tree in
the current directory, writing ``corte1/`` and ``corte2/`` under ``--out`` and printing
one JSON line with each corte's wall and CPU seconds, phases and the peak RSS.

The instant of each corte is fixed: ``now()`` is a function of the database's own
schema, found before ``pg_catalog``'s (``search_path``), so every SQL ``now()`` of the
corte reads the same time in every run. The key is fixed, so the signatures match too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import time as dtime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

TEMPLATE = "corte_ref_tmpl"
RUN = "corte_ref_run"
KEY = bytes(range(32))
INSTANTS = ("2027-06-07 14:00:00+00", "2027-06-07 14:05:00+00")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fill = sub.add_parser("fill")
    fill.add_argument("--scale", type=float, default=1.0)
    fill.add_argument("--seed", type=int, default=2027)
    fill.add_argument("--dir", type=Path, required=True)
    corte = sub.add_parser("corte")
    corte.add_argument("--dir", type=Path, required=True)
    corte.add_argument("--out", type=Path, required=True)
    corte.add_argument("--sin-sitio", action="store_true")
    corte.add_argument("--profile", type=Path, default=None,
                       help="cProfile of the first corte written here")
    child = sub.add_parser("child")
    child.add_argument("dsn")
    child.add_argument("out", type=Path)
    child.add_argument("--sin-sitio", action="store_true")
    child.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "fill":
        _fill(args.dir, args.scale, args.seed)
    elif args.command == "corte":
        _corte(args.dir, args.out, args.sin_sitio, args.profile)
    else:
        _child(args.dsn, args.out, args.sin_sitio, args.profile)


def _server(directory: Path):  # type: ignore[no-untyped-def]
    from tests.harness.postgres import embedded_server
    return embedded_server(directory)


def _fill(directory: Path, scale: float, seed: int) -> None:
    from bench.corte_db import scaled_catalog
    from prep.sintetico.capturas import simulate
    from tests.harness.corte_data import day_after
    from tests.harness.corte_data import prepare_database
    from tests.harness.corte_data import write_states

    directory.mkdir(parents=True, exist_ok=True)
    with _server(directory) as admin:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(TEMPLATE)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
        dsn = make_conninfo(admin, dbname=TEMPLATE)
        catalog = scaled_catalog(seed, scale)
        prepare_database(dsn, catalog)
        corte = day_after(catalog, dtime(8, 0))
        write_states(dsn, catalog, simulate(catalog, seed, corte, pendientes=0.02))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    print(json.dumps({"filled": str(directory), "scale": scale,
                      "actas": catalog.total_actas}))


def set_now(dsn: str, instant: str) -> None:
    """Make ``now()`` read ``instant`` in ``dsn``'s database (see the module's doc)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Per database (not copied from a template); read by every new session.
        conn.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = "
                     "public, pg_catalog', current_database()); END $$")
        conn.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql "
            "STABLE AS {}").format(sql.Literal(f"SELECT {instant!r}::timestamptz")))


def _corte(directory: Path, out: Path, sin_sitio: bool, profile: Path | None) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with _server(directory) as admin:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(RUN)))
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(RUN), sql.Identifier(TEMPLATE)))
        dsn = make_conninfo(admin, dbname=RUN)
        command = [sys.executable, "-m", "bench.corte_ref", "child", dsn, str(out)]
        command += ["--sin-sitio"] if sin_sitio else []
        command += ["--profile", str(profile)] if profile else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"corte failed:\n{done.stderr}")
        print(done.stdout.strip().splitlines()[-1])


def _child(dsn: str, out: Path, sin_sitio: bool, profile: Path | None) -> None:
    from sqlalchemy.orm import Session

    from central import catalog_store
    from central.db import make_engine
    from central.publication.corte import A_PEDIDO
    from central.publication.corte import CorteSettings
    from central.publication.corte import make_corte
    from prep.crypto import SigningKey

    set_now(dsn, INSTANTS[0])  # before any session of the engine starts
    engine = make_engine(dsn)
    with Session(engine) as session:
        catalog_store.current(session)  # what a running central keeps in memory
    key = SigningKey.from_raw(KEY)
    result: dict[str, object] = {}
    for n, instant in enumerate(INSTANTS, 1):
        set_now(dsn, instant)
        settings = CorteSettings(out / "publicacion", blobs=None, sitio=not sin_sitio)
        cpu = _cpu()
        started = time.perf_counter()
        if profile is not None and n == 1:
            import cProfile
            profiler = cProfile.Profile()
            hecho = profiler.runcall(make_corte, engine, key, settings, motivo=A_PEDIDO,
                                     actor="bench")
            profiler.dump_stats(profile)
        else:
            hecho = make_corte(engine, key, settings, motivo=A_PEDIDO, actor="bench")
        result[f"corte{n}"] = {
            "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(_cpu() - cpu, 3), "peak_rss_mb": round(_peak_rss_mb()),
            "phases": {"snapshot": round(hecho.snapshot_seconds, 3),
                       **hecho.publicado.seconds}}
        shutil.move(hecho.publicado.path, out / f"corte{n}")
        os.symlink(f"../corte{n}", out / "publicacion" / hecho.publicado.name)
    engine.dispose()
    print(json.dumps(result))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
