"""The soak reaps a killed postmaster at once (``bench.soak_central.become_subreaper`` and
``reap_orphans``): this machine's init reaps orphans only every second or two, and a
killed postmaster's zombie keeps ``postmaster.pid``'s lock held, so every
``postgres_kill`` waited 1.5–1.9 s for nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench.soak import REPO

# Run in a child: the subreaper flag would otherwise stay on the pytest process.
CHILD = r"""
import json, os, signal, subprocess, sys, time
from pathlib import Path
from bench.soak_central import become_subreaper, reap_orphans, _state

fake = sys.argv[1]  # a copy of sleep named postgres, as the postmaster's comm is
assert become_subreaper()
# pg_ctl's way: the server is started by a shell that exits, leaving it orphaned.
out = subprocess.run(["sh", "-c", f"{fake} 60 >/dev/null 2>&1 & echo $!"],
                     capture_output=True, text=True, check=True).stdout
pid = int(out)
adopted = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
os.kill(pid, signal.SIGKILL)
started = time.monotonic()
while _state(pid) is not None and time.monotonic() - started < 10:
    reap_orphans()
    time.sleep(0.01)
print(json.dumps({"adopted_by_me": adopted == os.getpid(), "gone": _state(pid) is None,
                  "seconds": time.monotonic() - started}))
"""


def test_a_killed_orphan_postgres_is_reaped_at_once(tmp_path: Path) -> None:
    sleep = shutil.which("sleep")
    assert sleep is not None
    fake = tmp_path / "postgres"
    shutil.copy(sleep, fake)
    done = subprocess.run([sys.executable, "-c", CHILD, str(fake)], capture_output=True,
                          text=True, timeout=60, cwd=REPO, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["adopted_by_me"]  # not init's: init would leave it a zombie for seconds
    assert result["gone"]
