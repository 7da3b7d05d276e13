"""Reference cortes: the same database, the same instants, the same key, so two trees'
cortes can be compared byte for byte (``diff -r``), and timed on one filled database.

::

    python3 -m bench.corte_ref fill --scale 1 --dir /tmp/cref-1
    python3 -m bench.corte_ref corte --dir /tmp/cref-1 --out /tmp/out-a
    python3 -m bench.corte_comparar /tmp/out-a /tmp/out-b   # diff -r but the run's clock

``fill`` keeps an embedded PostgreSQL's data directory in ``--dir`` with a template
database filled as :mod:`bench.corte_db` fills its own: ``--delta`` (default 0.02) of
the actas are kept apart, in the template's schema ``corte_delta``
(tests/harness/corte_data.py: actas validated, and published actas re-imaged,
cotejadas or corrected, all between the two instants below).

``corte`` copies the template into a fresh database and, in a child process of the tree
in the current directory that keeps one ``CorteSettings.memo`` as a running central
does, makes ``corte1`` (cold), applies the delta, and makes ``corte2`` with corte1's
memo (it has a previous corte to compare itself with, actas published before and the
delta's as new or changed). A copy of the database as it was just before corte2 then
gets ``corte2_sin_memo``: a fresh process, no memo, the same instant and key, so
``diff -r corte2 corte2_sin_memo`` must find nothing; the JSON says whether every
file's bytes are the same (``corte2_identico``, and the first differing paths). The
three directories go under ``--out``; one JSON line gives each corte's wall and CPU
seconds, phases, own peak RSS (reset before each corte; corte2's includes what the
memo keeps) and how many actas its diferencias.json counts as agregadas, modificadas
and retiradas.
A template filled before the delta existed has no ``corte_delta``: corte2 then follows
no change (``delta_actas`` 0).

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
import tempfile
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

if TYPE_CHECKING:
    from central.node.tuning import CentralTuning
    from central.publication.corte import CorteHecho

TEMPLATE = "corte_ref_tmpl"
RUN = "corte_ref_run"
RUN_SIN_MEMO = "corte_ref_run_sin_memo"  # RUN as it was just before corte2
DELTA_APLICADO = "delta-aplicado"  # the memo child's word: copy the database now
KEY = bytes(range(32))
INSTANTS = ("2027-06-07 14:00:00+00", "2027-06-07 14:05:00+00")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fill = sub.add_parser("fill")
    fill.add_argument("--scale", type=float, default=1.0)
    fill.add_argument("--seed", type=int, default=2027)
    fill.add_argument("--dir", type=Path, required=True)
    fill.add_argument("--delta", type=float, default=0.02,
                      help="share of the actas kept apart for between the two cortes")
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
    sin_memo = sub.add_parser("child-sin-memo")
    sin_memo.add_argument("dsn")
    sin_memo.add_argument("out", type=Path)
    sin_memo.add_argument("--sin-sitio", action="store_true")
    args = parser.parse_args()
    if args.command == "fill":
        _fill(args.dir, args.scale, args.seed, args.delta)
    elif args.command == "corte":
        _corte(args.dir, args.out, args.sin_sitio, args.profile)
    else:
        from central.node.tuning import CentralTuning

        with CentralTuning() as tuning:  # as serve's cortes run (central.node.tuning)
            if args.command == "child":
                _child(args.dsn, args.out, args.sin_sitio, args.profile, tuning)
            else:
                _child_sin_memo(args.dsn, args.out, args.sin_sitio, tuning)


def _server(directory: Path):  # type: ignore[no-untyped-def]
    from tests.harness.postgres import embedded_server
    return embedded_server(directory)


def _fill(directory: Path, scale: float, seed: int, delta: float) -> None:
    from bench.corte_db import scaled_catalog
    from prep.sintetico.capturas import simulate
    from tests.harness.corte_data import day_after
    from tests.harness.corte_data import plan_delta
    from tests.harness.corte_data import prepare_database
    from tests.harness.corte_data import stage_delta
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
        sim = simulate(catalog, seed, corte, pendientes=0.02)
        plan = plan_delta(catalog, sim, delta, seed)
        write_states(dsn, catalog, sim, delta=plan)
        # Between the two cortes' instants.
        stage_delta(dsn, catalog, sim, plan, datetime.fromisoformat(INSTANTS[0]),
                    datetime.fromisoformat(INSTANTS[1]))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    print(json.dumps({"filled": str(directory), "scale": scale,
                      "actas": catalog.total_actas, "delta_actas": plan.actas,
                      "delta": plan.to_json()}))


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
            for name in (RUN, RUN_SIN_MEMO):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(RUN), sql.Identifier(TEMPLATE)))
        dsn = make_conninfo(admin, dbname=RUN)
        command = [sys.executable, "-m", "bench.corte_ref", "child", dsn, str(out)]
        command += ["--sin-sitio"] if sin_sitio else []
        command += ["--profile", str(profile)] if profile else []
        with tempfile.TemporaryFile("w+") as errors:
            child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=errors, text=True)
            assert child.stdin is not None and child.stdout is not None
            if child.stdout.readline().strip() != DELTA_APLICADO:
                child.wait()
                errors.seek(0)
                sys.exit(f"corte1 failed:\n{errors.read()}")
            # The child holds no connection now: copy the database corte2 will read.
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(RUN_SIN_MEMO), sql.Identifier(RUN)))
            shutil.copytree(out / "publicacion", out / "publicacion_sin_memo", symlinks=True)
            child.stdin.write("corte2\n")
            child.stdin.close()
            lines = child.stdout.read().strip().splitlines()
            if child.wait() != 0 or not lines:
                errors.seek(0)
                sys.exit(f"corte2 failed:\n{errors.read()}")
        result = json.loads(lines[-1])
        command = [sys.executable, "-m", "bench.corte_ref", "child-sin-memo",
                   make_conninfo(admin, dbname=RUN_SIN_MEMO), str(out)]
        command += ["--sin-sitio"] if sin_sitio else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"corte2 sin memo failed:\n{done.stderr}")
        result.update(json.loads(done.stdout.strip().splitlines()[-1]))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                sql.Identifier(RUN_SIN_MEMO)))
    differ = tree_differences(out / "corte2", out / "corte2_sin_memo")
    result["corte2_identico"] = not differ
    result["corte2_diferencias"] = differ[:20]
    print(json.dumps(result))


def tree_differences(a: Path, b: Path) -> list[str]:
    """The relative paths whose kind, bytes or link target differ between the trees
    ``a`` and ``b`` (symlinks compared as links, never followed); empty: identical."""
    def entries(root: Path) -> dict[str, tuple[str, bytes]]:
        found: dict[str, tuple[str, bytes]] = {}
        for parent, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(parent) / name
                rel = str(path.relative_to(root))
                if path.is_symlink():
                    found[rel] = ("link", os.readlink(path).encode())
                elif path.is_dir():
                    found[rel] = ("dir", b"")
                else:
                    found[rel] = ("file", path.read_bytes())
        return found
    left, right = entries(a), entries(b)
    return sorted(p for p in left.keys() | right.keys() if left.get(p) != right.get(p))


def _child(dsn: str, out: Path, sin_sitio: bool, profile: Path | None,
           tuning: CentralTuning) -> None:
    """corte1 (cold, filling a memo), the delta, then (after a line on stdin) corte2
    with that memo."""
    from sqlalchemy.orm import Session

    from central.catalog import catalog_store
    from central.db import make_engine
    from central.publication.corte import A_PEDIDO
    from central.publication.corte import CorteSettings
    from central.publication.corte import make_corte
    from central.publication.memo_corte import CorteMemo
    from prep.corte.memo import RenderMemo
    from prep.crypto import SigningKey

    set_now(dsn, INSTANTS[0])  # before any session of the engine starts
    engine = make_engine(dsn)
    with Session(engine) as session:
        catalog_store.current(session)  # what a running central keeps in memory
    key = SigningKey.from_raw(KEY)
    # The tramos' texts between cortes on the output's disk, as serve keeps them.
    settings = CorteSettings(out / "publicacion", blobs=None, sitio=not sin_sitio,
                             memo=CorteMemo(render=RenderMemo(carrete=out)), tuning=tuning)
    result: dict[str, object] = {}
    for n, instant in enumerate(INSTANTS, 1):
        set_now(dsn, instant)
        _reset_peak_rss()
        cpu = _cpu()
        started = time.perf_counter()
        if profile is not None and n == len(INSTANTS):  # the next corte: what matters
            import cProfile
            profiler = cProfile.Profile()
            hecho = profiler.runcall(make_corte, engine, key, settings, motivo=A_PEDIDO,
                                     actor="bench")
            profiler.dump_stats(profile)
        else:
            hecho = make_corte(engine, key, settings, motivo=A_PEDIDO, actor="bench")
        result[f"corte{n}"] = _stats(hecho, time.perf_counter() - started, _cpu() - cpu)
        shutil.move(hecho.publicado.path, out / f"corte{n}")
        os.symlink(f"../corte{n}", out / "publicacion" / hecho.publicado.name)
        if n == 1:
            result["delta_actas"] = _apply_delta(dsn)
            engine.dispose()  # no connection left: the parent copies the database
            print(DELTA_APLICADO, flush=True)
            sys.stdin.readline()
    engine.dispose()
    print(json.dumps(result))


def _apply_delta(dsn: str) -> int:
    """Apply the template's delta (none in a template filled before it existed)."""
    from tests.harness.corte_data import DELTA_SCHEMA
    from tests.harness.corte_data import apply_delta

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f"{DELTA_SCHEMA}.acta_states",)
                           ).fetchone()
    return 0 if row is None or row[0] is None else apply_delta(dsn)


def _child_sin_memo(dsn: str, out: Path, sin_sitio: bool, tuning: CentralTuning) -> None:
    """corte2 again, in a fresh process without memo, on the copy of the database."""
    from sqlalchemy.orm import Session

    from central.catalog import catalog_store
    from central.db import make_engine
    from central.publication.corte import A_PEDIDO
    from central.publication.corte import CorteSettings
    from central.publication.corte import make_corte
    from prep.crypto import SigningKey

    set_now(dsn, INSTANTS[1])  # CREATE DATABASE … TEMPLATE does not copy search_path
    engine = make_engine(dsn)
    with Session(engine) as session:
        catalog_store.current(session)
    settings = CorteSettings(out / "publicacion_sin_memo", blobs=None, sitio=not sin_sitio,
                             tuning=tuning)
    cpu = _cpu()
    started = time.perf_counter()
    hecho = make_corte(engine, SigningKey.from_raw(KEY), settings, motivo=A_PEDIDO,
                       actor="bench")
    stats = _stats(hecho, time.perf_counter() - started, _cpu() - cpu)
    engine.dispose()
    shutil.move(hecho.publicado.path, out / "corte2_sin_memo")
    os.symlink("../corte2_sin_memo", out / "publicacion_sin_memo" / hecho.publicado.name)
    print(json.dumps({"corte2_sin_memo": stats}))


def _stats(hecho: CorteHecho, seconds: float, cpu: float) -> dict[str, object]:
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "peak_rss_mb": round(_peak_rss_mb()),
            "phases": {"snapshot": round(hecho.snapshot_seconds, 3),
                       **hecho.publicado.seconds},
            "diferencias": {k: sum(int(e.get(k, 0)) for e in hecho.publicado.diferencias.values())
                            for k in ("agregadas", "modificadas", "retiradas")}}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak_rss() -> None:
    """Start this process's peak RSS (VmHWM) again from its current size."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.corte_ref", main))
