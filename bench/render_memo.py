"""The render memo's effect on ``publish`` (prep.corte.memo): one snapshot of a filled
``bench.corte_ref`` database, published three times in one process with one memo (the
first fills it, the second reuses every render, the third has ~2 % of the acta states
replaced by equal-valued new objects), or without a memo.

::

    python3 -m bench.render_memo --dir /tmp/cref-1 --out /tmp/rm-memo
    python3 -m bench.render_memo --dir /tmp/cref-1 --out /tmp/rm-sin --sin-memo
    diff -r /tmp/rm-memo /tmp/rm-sin        # the same bytes
    python3 -m bench.render_memo --dir /tmp/cref-1 --out /tmp/rm-ab --ab 5

Prints one JSON line per publish: wall and CPU seconds, the phases, the RSS before it
and its peak (VmHWM is reset before each publish), and the memo's size (entries, MB,
bytes per entry, counting its tuples, texts and results, not the snapshot's objects
they share). ``--ab N`` fills a memo, then alternates N publishes without and N with
it of the same snapshot, for a comparison under the same load. The template database is copied into
a database of this bench's own (``render_memo_run``) and dropped once read.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import random
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.corte_ref import INSTANTS
from bench.corte_ref import KEY
from bench.corte_ref import TEMPLATE
from bench.corte_ref import _server
from bench.corte_ref import set_now

RUN = "render_memo_run"
CHANGED = 50  # one acta state in this many is a new object in the third publish


def main() -> None:
    gc.disable()  # as make_corte does around the snapshot and publish
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sin-memo", action="store_true")
    parser.add_argument("--filas", action="store_true",
                        help="the memo keeps the acta rows too (RenderMemo(filas=True))")
    parser.add_argument("--ab", type=int, default=0, metavar="N",
                        help="N publishes without and N with a warm memo, alternating")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    snap = _snapshot(args.dir)
    _run(snap, args.out, not args.sin_memo, args.ab, args.filas)


def _snapshot(directory: Path) -> Any:
    from central.db import make_engine
    from central.publication.snapshot import read_snapshot

    with _server(directory) as admin:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(RUN)))
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(RUN), sql.Identifier(TEMPLATE)))
        try:
            dsn = make_conninfo(admin, dbname=RUN)
            set_now(dsn, INSTANTS[0])
            engine = make_engine(dsn)
            try:
                return read_snapshot(engine)
            finally:
                engine.dispose()
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(RUN)))


def _run(snap: Any, out: Path, memo: bool, ab: int, filas: bool) -> None:
    from central.publication.publicar import publish
    from prep.corte.memo import RenderMemo
    from prep.crypto import SigningKey

    key = SigningKey.from_raw(KEY)
    render = RenderMemo(filas=filas)
    claves = sorted(snap.estado)
    changed = set(random.Random(7).sample(claves, len(claves) // CHANGED))
    third = dataclasses.replace(snap, estado={
        c: dataclasses.replace(e) if c in changed else e for c, e in snap.estado.items()})
    if ab:
        plan = [(snap, render)] + [(snap, m) for _ in range(ab) for m in (None, render)]
    else:
        m = render if memo else None
        plan = [(snap, m), (snap, m), (third, m)]
    print(json.dumps({"actas": len(snap.estado), "changed_in_third": len(changed),
                      **_memory()}), flush=True)
    anterior = None
    for n, (s, m) in enumerate(plan, 1):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM
        before = _memory()["VmRSS"]
        cpu, started, main = _cpu(), time.perf_counter(), time.thread_time()
        publicado = publish(out / f"p{n}", s, key, blobs=None, anterior=anterior, memo=m)
        line: dict[str, Any] = {
            "publish": n, "memo": m is not None,
            "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(_cpu() - cpu, 3),
            "main_thread_cpu": round(time.thread_time() - main, 3), "phases": publicado.seconds,
            "rss_before_mb": round(before), "peak_rss_mb": round(_memory()["VmHWM"])}
        if m is not None:
            line["memo_size"] = _memo_size(m)
        print(json.dumps(line), flush=True)
        anterior = publicado.path


def _memo_size(memo: Any) -> dict[str, Any]:
    out = {}
    for name, (_, store) in memo._stores.items():
        total = sys.getsizeof(store)
        results: set[int] = set()
        for entry in store.values():
            total += sys.getsizeof(entry)
            for item in entry:
                if isinstance(item, str):
                    total += sys.getsizeof(item)
            if name == "actas" and entry[1] is not None and id(entry[1]) not in results:
                results.add(id(entry[1]))  # the rules' result: only the memo keeps it
                total += sys.getsizeof(entry[1])
        out[name] = {"entries": len(store), "mb": round(total / 2**20, 1),
                     "bytes_per_entry": round(total / max(len(store), 1))}
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _memory() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.render_memo", main))
