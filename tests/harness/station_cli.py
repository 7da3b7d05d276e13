"""The station command, ``python3 -m prep station ARGS``, as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def station_cmd(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
                input: str | None = None,
                stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python3 -m prep station ARGS`` as a real process, warnings as errors
    (``input``: its stdin; or ``stdin=subprocess.DEVNULL``: a process with no terminal)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-W", "error", "-m", "prep", "station", *args],
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=REPO, check=False, input=input, stdin=stdin)
