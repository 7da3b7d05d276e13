"""Benchmark: how long the central takes to serve again after its embedded PostgreSQL is
SIGKILLed (issue 33), with real processes (``prep central serve`` on its own embedded
PostgreSQL, as an installed node without ``--dsn``).

    python3 bench/recuperacion.py [--rounds 3]

Per round, three cases, each timed until a station's batch is accepted again:

- ``start_s``: an ordinary start of ``serve`` (the server stopped cleanly before);
- ``after_kill_s``: postmaster and ``serve`` SIGKILLed together (the OOM killer's pick
  and a crash), then ``serve`` started at once (what systemd's ``Restart=`` does, less
  its 5 s pause): zombie postmaster, stale lock file, WAL recovery;
- ``after_kill_busy_s``: the same with a backend busy in a long statement, which
  outlives its postmaster until ``serve`` ends it (after ``ORPHAN_GRACE_SECONDS``);
- ``watchdog_s``: only the postmaster SIGKILLed, ``serve`` running: from the kill until
  ``serve``'s watchdog has the server back and a batch is accepted.

Prints one JSON line with the median of each (seconds) and every round's values.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from central.db.embedded import ORPHAN_GRACE_SECONDS
from central.db.embedded import WATCH_SECONDS
from tests.central.station import Station
from tests.harness.central import CentralNode
from tests.harness.postgres import busy_backend

TIMEOUT = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases: dict[str, list[float]] = {"start_s": [], "after_kill_s": [],
                                     "after_kill_busy_s": [], "watchdog_s": []}
    with tempfile.TemporaryDirectory(prefix="bench-recuperacion-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # the embedded server's own account enters it (as root)
        node = CentralNode(base, None)
        pgdata = node.data_dir.resolve() / "pgdata"
        try:
            node.start()
            station = Station.enroll(node)
            for _ in range(args.rounds):
                node.stop()
                cases["start_s"].append(_until_served(node, station, restart=True))
                for case, busy in (("after_kill_s", False), ("after_kill_busy_s", True)):
                    if busy:
                        busy_backend(node.dsn)
                    os.kill(_postmaster(pgdata), signal.SIGKILL)
                    node.kill()
                    cases[case].append(_until_served(node, station, restart=True))
                os.kill(_postmaster(pgdata), signal.SIGKILL)
                cases["watchdog_s"].append(_until_served(node, station, restart=False))
        finally:
            node.stop()
    print(json.dumps({
        **{name: round(statistics.median(values), 2) for name, values in cases.items()},
        "rounds": {name: [round(v, 2) for v in values] for name, values in cases.items()},
        "orphan_grace_s": ORPHAN_GRACE_SECONDS, "watch_every_s": WATCH_SECONDS,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores"}))


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text(encoding="ascii").split()[0])


def _until_served(node: CentralNode, station: Station, restart: bool) -> float:
    """Seconds from now until the station's next batch is accepted (``restart``: serve
    is started first)."""
    started = time.monotonic()
    if restart:
        node.start()
    _, body = station.batch(station.records(1))
    while station.post(body)[0] != 200:
        if time.monotonic() - started > TIMEOUT:
            raise RuntimeError(f"the central did not serve again; its log: {node.log_path}")
        time.sleep(0.1)
    return time.monotonic() - started


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.recuperacion", main))
