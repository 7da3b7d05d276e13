"""Named crash points for fault tests (docs/protocol.md, "Crash points").

With ``PREP_CRASH_AT=<name>`` in the environment the process kills itself with
``SIGKILL`` when it reaches that point, exactly as a power cut or an OOM kill would: no
``finally`` blocks, no flushing. Without the variable these are no-ops.
"""

from __future__ import annotations

import os
import signal

ENV = "PREP_CRASH_AT"

POINTS = frozenset({
    "after_local_commit",        # a record and its outbox row are committed
    "after_freeze",              # a batch is persisted, not yet sent
    "mid_blob_upload",           # half of an image's bytes are on the wire
    "after_send_before_receipt", # the central answered; its receipt is not stored yet
})


def armed(name: str) -> bool:
    """Whether the process is set to die at ``name``."""
    return os.environ.get(ENV) == name


def crash_point(name: str) -> None:
    """Die here (``SIGKILL``) if ``PREP_CRASH_AT`` names this point."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if armed(name):
        os.kill(os.getpid(), signal.SIGKILL)
