"""Benchmark: what one record costs a station (issue 9: where a drill's station CPU goes).

A CATD station (real SQLite file, WAL, ``synchronous=FULL``) registers ``--actas`` acopios
and then one captura per acta through :class:`prep.station.station.Station`, the path
the acopio and captura screens take (validate, the duplicate-acopio guard, ``seq``, the
record and its outbox row in one transaction). Prints JSON: CPU milliseconds per record
of this thread (``time.thread_time``; wall time on a shared machine says little) and
wall milliseconds, per kind, with the conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gui import demo_station
from prep.catalog import Catalog


def _values(catalog: Catalog, clave: str) -> dict[str, int | str]:
    acta = catalog.acta(clave)
    assert acta is not None
    return {campo: (i * 37) % 300 for i, campo in enumerate(acta.layout.campos)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actas", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        station, catalog = demo_station(Path(tmp) / "st", scale=0.2)
        claves = [a.clave for a in catalog.iter_actas()][:args.actas]
        if len(claves) < args.actas:
            raise SystemExit(f"the catalog has only {len(claves)} actas")
        out: dict[str, object] = {"benchmark": "station_records", "actas": len(claves)}
        for kind in ("acopio", "captura"):
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            for clave in claves:
                if kind == "acopio":
                    station.acopio(clave, "op-07-acopio")
                else:
                    station.captura(clave, _values(catalog, clave), "op-07-captura",
                                    "0" * 64, None)
            cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
            out[kind] = {"cpu_ms_per_record": round(cpu / len(claves) * 1000, 3),
                         "wall_ms_per_record": round(wall / len(claves) * 1000, 3)}
        station.close()
    out.update(python=platform.python_version(), cpus=os.cpu_count(),
               sqlite="WAL, synchronous=FULL, one writer thread")
    print(json.dumps(out))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.station_records", main))
