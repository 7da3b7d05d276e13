"""The station's process: its niceness and switch interval, its signals (``SIGUSR1``
cuts the link, ``SIGUSR2`` restores it, ``SIGTERM`` stops it) and its main loop.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from prep.logsetup import setup_logging
from prep.memory import keep_freed_memory
from simulacro.estacion.virtual import VirtualStation

log = logging.getLogger("simulacro.estacion")

NICE = 10
#: How long one of the station's threads may hold the interpreter while another waits
#: for it (seconds; Python's default is 0.005). The renderer, the hot folder, the
#: capturistas and the sync agent of one station all want the CPU at once, and 34 such
#: processes share two cores: every forced hand-over is a context switch and cold
#: caches. 3,996-acta drills (``--scale 0.1 --catds 33``), all processes' CPU: default
#: 309 and 323 s, 0.05 s 290 and 294, 0.2 s 281 and 287, 0.5 s 290. (Not for the
#: workstation: its screen thread must get the interpreter quickly.)
SWITCH_INTERVAL = 0.2


def main(argv: list[str]) -> int:
    """Run the station of ``argv[0]`` (its JSON config) until SIGTERM."""
    setup_logging(logging.WARNING, sys.stderr)  # escapes controls
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    # On one machine the stations stand for dozens of PCs: the central (which they all
    # wait on) must not starve behind their image rendering.
    os.nice(NICE)
    requests: list[str] = []
    wake = threading.Event()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        request = ("down" if signum == signal.SIGUSR1 else
                   "up" if signum == signal.SIGUSR2 else "stop")
        requests.append(request)
        if request == "stop":
            stopping.set()
        wake.set()
    # Before anything slow: an early signal is queued, never the default (death).
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
    for sig in handled:
        signal.signal(sig, on_signal)
    # Forked by the drill's zygote, the station starts with these blocked (simulacro.
    # zygote): one sent meanwhile is delivered now, to the handler.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
    keep_freed_memory()  # as the workstation does (catd.app)
    sys.setswitchinterval(SWITCH_INTERVAL)
    station = VirtualStation(config, stopping)
    station.start()
    while True:
        wake.wait(1.0)
        wake.clear()
        while requests:
            request = requests.pop(0)
            if request == "stop":
                station.shutdown()
                return 1 if station.errors else 0
            station.link(request == "up")
