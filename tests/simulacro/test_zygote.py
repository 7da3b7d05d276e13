"""The drill's zygote: station processes forked from one that imported them once, which
the drill drives as it drove ``subprocess.Popen`` (signals, exit codes, SIGKILL)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from simulacro.zygote import ForkedStation
from simulacro.zygote import Zygote


def _blocked_station(zygote: Zygote, tmp_path: Path, name: str) -> tuple[Path, Path, ForkedStation]:
    """A station whose config is a FIFO: it waits at its first read, before it has
    installed its signal handlers."""
    config = tmp_path / f"{name}.json"
    os.mkfifo(config)
    log = tmp_path / f"{name}.log"
    return config, log, zygote.start(name, log, config)


def test_a_stop_sent_before_the_station_handles_signals_is_not_fatal(tmp_path: Path) -> None:
    zygote = Zygote(tmp_path / "zygote.log")
    try:
        config, log, station = _blocked_station(zygote, tmp_path, "catd07")
        assert Path(f"/proc/{station.pid}/comm").read_text().strip() == "prep-catd07"
        station.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert station.poll() is None
        # The config arrives: the station installs its handlers, gets the stop that was
        # waiting for them, and fails on the empty config (not killed by the signal).
        config.write_text("{}", encoding="utf-8")
        assert station.wait(60) == 1
        assert "KeyError" in log.read_text(encoding="utf-8")
    finally:
        zygote.close()
    assert zygote.process.returncode == 0


def test_killed_and_restarted_stations_report_like_popen(tmp_path: Path) -> None:
    zygote = Zygote(tmp_path / "zygote.log")
    try:
        _, _, first = _blocked_station(zygote, tmp_path, "catd01")
        first.kill()
        assert first.wait(30) == -signal.SIGKILL
        first.kill()  # reaped: nothing is signalled, nothing fails
        _, _, again = _blocked_station(zygote, tmp_path, "catd01b")
        assert again.pid != first.pid and again.poll() is None
        again.kill()
        assert again.wait(30) == -signal.SIGKILL
    finally:
        zygote.close()
    assert zygote.process.returncode == 0
    for pid in (first.pid, again.pid):
        assert not Path(f"/proc/{pid}").exists()
