"""Named crash points for fault tests (docs/protocol.md, "Crash points").

``PREP_CRASH_AT=<name>`` in the environment makes the process kill itself with SIGKILL
when it reaches that point, so a test can check what survives a crash exactly there.
In production the variable is unset and each point costs one dictionary lookup.
"""

from __future__ import annotations

import logging
import os
import signal

ENV = "PREP_CRASH_AT"

POINTS = frozenset({"mid_ingest_transaction", "after_commit_before_response"})
"""The central's crash points; stations have their own."""

log = logging.getLogger("central.crash")


def crash_point(name: str) -> None:
    """SIGKILL this process if ``PREP_CRASH_AT`` names this point."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get(ENV) == name:
        log.warning("PREP_CRASH_AT=%s: matando el proceso con SIGKILL", name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
