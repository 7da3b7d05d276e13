"""The package, built once per test session: ``installer/build.py`` (PyInstaller and
dpkg-deb, ≈1 minute) and then unpacked with ``dpkg -x`` into a temporary root, as
``dpkg`` would install it but without touching the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The session's first installer test builds the package (PyInstaller and dpkg-deb, ≈1
#: minute alone, many more on a loaded machine) before it starts anything from it:
#: pytest's default timeout (300 s) is for one test, not for that.
BUILD_TIMEOUT_S = 1800
TEST_TIMEOUT_S = BUILD_TIMEOUT_S + 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@dataclass(frozen=True)
class Built:
    """What ``installer/build.py`` reported, and where its package was unpacked."""

    report: Mapping[str, object]
    deb: Path
    root: Path  # the unpacked package: root/opt/prep, root/usr/bin…

    @property
    def fingerprint(self) -> str:
        return str(self.report["fingerprint"])

    @property
    def bundle(self) -> Path:
        return self.root / "opt" / "prep"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("installer")
    try:
        done = subprocess.run([sys.executable, "installer/build.py", "--out", str(out)],
                              cwd=REPO, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        said = [x.decode(errors="replace") if isinstance(x, bytes) else x
                for x in (exc.stdout or "", exc.stderr or "")]
        pytest.fail(f"installer/build.py did not finish the package in {BUILD_TIMEOUT_S} s; "
                    f"it said:\n{said[0][-2000:]}\n{said[1][-2000:]}", pytrace=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    root = out / "root"
    root.mkdir()
    subprocess.run(["dpkg", "-x", str(report["deb"]), str(root)], check=True)
    return Built(report, Path(str(report["deb"])), root)


def program_env(tmp_path: Path) -> dict[str, str]:
    """The environment a program runs in from the unpacked package: nothing of the
    source checkout on the path, a home of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PREP_", "QT_"))}
    env["HOME"] = str(tmp_path / "home")
    return env


def run_program(built: Built, program: str, *args: str, tmp_path: Path,
                timeout: float = 120,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``/opt/prep/<program>`` of the unpacked package (``env``: variables set on
    top of :func:`program_env`)."""
    return subprocess.run([str(built.bundle / program), *args], cwd=tmp_path,
                          env={**program_env(tmp_path), **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)
