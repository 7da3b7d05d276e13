"""Fuzzing (issue 33): property-based fuzzing, with hypothesis, of every parser that
takes outside input.

    python -m bench.fuzz --target T --cases N [--seed S]
    python -m bench.fuzz --target all --cases 2000

Targets: ``qr`` (scanned codes), ``canonical`` (JSON request bodies), ``records``,
``batches``, ``catalog`` (a catalog directory an institute filled), ``image`` (files
handed over as acta images), ``casilla_names`` (PREP Casilla file names), ``settings``
(reglas.toml, the station's scanner settings), ``responses`` (what a station reads from
the central: receipts, bundles, the enrollment answer, error answers), ``operators``
(operadores.csv), ``http`` (the central's real aiohttp app on a real PostgreSQL: bodies
and headers of every station endpoint).

The property is the same everywhere: never an unhandled exception (nor a 5xx), only the
documented refusal (a ValueError subclass with a Spanish message for what operators and
files bring; a 4xx JSON ``{"error","message"}`` for HTTP), each case under its time
bound (CPU seconds of this process: on a shared machine wall time also counts waiting
for a core; the slowest wall time is reported too), and the process's peak memory
bounded. A long run is made of hypothesis runs of 2,000 cases each, seeded one after
another from ``--seed`` (hypothesis keeps every choice of a run's cases in memory).
Inputs start from valid seeds (real
records and a batch, real PNG/JPEG/TIFF, the synthetic acta image, a generated catalog)
and are mutated.

Prints one JSON line: ``{"target","cases","seconds","failures":[...],"ok"}`` (with
``--target all``, also each target's line under ``"targets"``); exit status 1 if a
property failed. The short version runs in CI: ``tests/fuzz/test_fuzz_short.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.fuzzing.core import Target
from bench.fuzzing.core import run_target


def targets() -> dict[str, Target]:
    """Every target by name, in the order ``all`` runs them."""
    from bench.fuzzing import files
    from bench.fuzzing import http
    from bench.fuzzing import parsers
    from bench.fuzzing import replies

    found = (parsers.QR, parsers.CANONICAL, parsers.RECORDS, parsers.BATCHES,
             files.CATALOG, files.IMAGE, parsers.NAMES, parsers.SETTINGS, replies.RESPONSES,
             replies.OPERATORS, http.HTTP)
    return {t.name: t for t in found}


def run(names: list[str], cases: int, seed: int) -> dict[str, Any]:
    """Run the named targets; the summary printed by :func:`main`."""
    every = targets()
    results = [run_target(every[name], cases, seed) for name in names]
    if len(results) == 1:
        return results[0]
    return {"target": "all", "cases": sum(r["cases"] for r in results),
            "seconds": round(sum(r["seconds"] for r in results), 2),
            "failures": [{"target": r["target"], **f} for r in results for f in r["failures"]],
            "ok": all(r["ok"] for r in results), "targets": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True,
                        help="a target name, or «all» (see the list above)")
    parser.add_argument("--cases", type=int, default=1000, help="inputs per target")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (reproducible)")
    args = parser.parse_args(argv)
    every = targets()
    if args.target != "all" and args.target not in every:
        parser.error(f"unknown target {args.target!r}; one of: all, {', '.join(every)}")
    names = list(every) if args.target == "all" else [args.target]
    summary = run(names, args.cases, args.seed)
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.fuzz", main))
