"""Benchmark: canonical JSON on both sides of the wire (issue 9: where ingest CPU goes).

A batch of ``--records`` captura records (22 fields each, as a Jefatura de Gobierno acta
has) is encoded with :func:`prep.canonical.canonical_bytes` (what a station does to hash
and sign, and the central again to check the batch and each record) and parsed with
:func:`prep.canonical.parse_json` (the central reading an untrusted body). Prints JSON:
CPU milliseconds per batch and microseconds per record (``time.process_time``, best of
``--repeat`` rounds), with the conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.protocol import MAX_BATCH_BYTES
from prep.records import Kind
from prep.records import new_record

FIELDS = 22


def _batch(records: int) -> dict[str, object]:
    valores = {f"CAMPO_{i:02d}": i * 7 for i in range(FIELDS)}
    body = {"clave_acta": "090001B010001", "valores": valores, "imagen_sha256": "ab" * 32,
            "lease": str(uuid.UUID(int=1))}
    rows = [new_record("catd-07-ab12", seq, Kind.CAPTURA, "op1", body).to_json()
            for seq in range(1, records + 1)]
    return {"v": 1, "station": "catd-07-ab12", "number": 1, "prev": "ab" * 32,
            "created": "2027-06-06T20:00:00.000000Z", "records": rows}


def _best(fn: Callable[[], object], repeat: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(rounds):
            fn()
        best = min(best, (time.process_time() - started) / rounds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    batch = _batch(args.records)
    data = canonical_bytes(batch)
    encode = _best(lambda: canonical_bytes(batch), args.repeat, args.rounds)
    parse = _best(lambda: parse_json(data, MAX_BATCH_BYTES), args.repeat, args.rounds)
    print(json.dumps({
        "benchmark": "canonical_json",
        "records": args.records, "batch_bytes": len(data),
        "encode_ms_per_batch": round(encode * 1000, 3),
        "encode_us_per_record": round(encode / args.records * 1e6, 1),
        "parse_ms_per_batch": round(parse * 1000, 3),
        "parse_us_per_record": round(parse / args.records * 1e6, 1),
        "conditions": {"python": platform.python_version(), "machine": platform.machine(),
                       "cpus": os.cpu_count(),
                       "timer": "process_time, best of repeat"},
    }, indent=2))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.canonical", main))
