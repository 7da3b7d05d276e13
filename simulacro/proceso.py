"""What a drill station keeps beyond its own process: the unreadable-image complaints
claimed across every station of the drill (files in the shared ``avisos`` folder), its
CPU by worker and the tallies of its previous life (a station killed and restarted
keeps them). Used by :mod:`simulacro.estacion`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def claim_complaint(avisos: Path, clave: str, owner: str) -> bool:
    """Claim ``clave``'s unreadable-image complaint for station ``owner``: ``False`` if
    some station holds the claim already. The claim file appears whole, with its owner
    in it (written aside, then hard-linked: the link fails if the name exists)."""
    avisos.mkdir(parents=True, exist_ok=True)
    claim = avisos / f"{clave}.reclamo"
    aside = avisos / f".{clave}.{owner}.{os.getpid()}.tmp"
    aside.write_text(owner, encoding="utf-8")
    try:
        os.link(aside, claim)
    except FileExistsError:
        return False
    finally:
        aside.unlink()
    return True


def settle_claims(avisos: Path, owner: str,
                  stored: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """The complaints ``owner`` claimed whose notice (``avisos/CLAVE``, what sends the
    digitalizador to scan again) was never written: the process died in between. Those
    whose ilegible record ``stored`` says is in the station's store get the notice
    now; the others are given back. Returns (noticed, given back)."""
    noted: list[str] = []
    released: list[str] = []
    for claim in sorted(avisos.glob("*.reclamo")):
        clave = claim.name.removesuffix(".reclamo")
        try:
            if claim.read_text(encoding="utf-8") != owner or (avisos / clave).exists():
                continue
        except OSError:
            continue
        if stored(clave):
            (avisos / clave).touch()
            noted.append(clave)
        else:
            claim.unlink(missing_ok=True)
            released.append(clave)
    return noted, released


def listdir(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def previous_state(path: Path) -> dict[str, dict[str, Any]]:
    """The counters and CPU of this station's previous life (a restart keeps its
    tallies)."""
    try:
        state = json.loads(path.read_text("utf-8"))
        return {"counts": {str(k): int(v) for k, v in state["counts"].items()},
                "cpu_hilos_s": {str(k): float(v)
                                for k, v in state.get("cpu_hilos_s", {}).items()}}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return {}


_WORKER_NUMBER = re.compile(r"[-_]\d+")


def thread_cpu(before: dict[str, float] | None = None,
               known: dict[threading.Thread, float] | None = None) -> dict[str, float]:
    """CPU seconds this process has used, by worker (``captura-3`` counts as
    ``captura``). ``known`` maps every thread seen so far to its CPU and is brought up to
    date here from ``/proc/self/task`` for the live ones; a thread gone since (the hot
    folder and the sync agent stop before the last report) keeps what it had at the
    last look, and a worker that returned has its own exact figure there (set by
    ``_guard``). What no thread accounts for (the interpreter's start-up, threads that
    came and went unseen) is ``otros``. Read from ``/proc``, not through
    ``pthread_getcpuclockid``: a thread ending meanwhile is then a missing file, not a
    dangling handle. ``before``: what earlier lives of the station used, added."""
    tick = os.sysconf("SC_CLK_TCK")
    total = time.process_time()
    known = known if known is not None else {}
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
        known[thread] = max(known.get(thread, 0.0), seconds)
    cpu: dict[str, float] = {}
    for thread, seconds in list(known.items()):
        worker = _WORKER_NUMBER.sub("", thread.name.partition(":")[0])
        cpu[worker] = cpu.get(worker, 0.0) + seconds
    cpu["otros"] = max(0.0, total - sum(cpu.values()))
    for worker, seconds in (before or {}).items():
        cpu[worker] = cpu.get(worker, 0.0) + seconds
    return {worker: round(seconds, 2) for worker, seconds in cpu.items()}
