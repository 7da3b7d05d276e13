"""The fast tier's guard (tests/harness/rapido.py): a ``rapido`` test that is not pure code
fails with a message saying why, and a test outside the tier is left alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

INI = """
[pytest]
markers =
    rapido: fast tier
"""

GUARDED = """
import socket
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.rapido


@pytest.fixture
def pg_dsn():
    return "host=/nowhere"  # the name is what the guard looks at


def test_pure():
    assert sorted([3, 1, 2]) == [1, 2, 3]


def test_process():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_process_swallowed():
    try:
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    except BaseException:
        pass


def test_process_in_thread():
    thread = threading.Thread(target=subprocess.run, args=([sys.executable, "-c", "pass"],))
    thread.start()
    thread.join()


def test_socket():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


@pytest.fixture
def served():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def test_fixture_socket(served):
    assert served


def test_database(pg_dsn):
    assert pg_dsn


def test_qt(qtbot):
    assert qtbot
"""


def _run(pytester: pytest.Pytester, source: str, *, subprocess: bool = False
          ) -> pytest.RunResult:
    pytester.makeini(INI)
    pytester.makepyfile(test_guarded=source)
    args = ("-p", "tests.harness.rapido", "-p", "no:xdist", "-p", "no:cacheprovider",
            "-p", "no:benchmark",  # it runs git at start-up
            "-W", "ignore::pytest.PytestUnhandledThreadExceptionWarning")
    return pytester.runpytest_subprocess(*args) if subprocess else pytester.runpytest(*args)


@pytest.mark.rapido
def test_impure_rapido_tests_fail_and_say_why(pytester: pytest.Pytester) -> None:
    result = _run(pytester, GUARDED)
    result.assert_outcomes(passed=1, failed=4, errors=3)
    result.stdout.fnmatch_lines_random([
        f"*{line}*" for line in (
            "test_guarded.py::test_process is marked rapido (fast tier: pure code) but it "
            "starts a process (subprocess.Popen)",
            "::test_process_swallowed is marked rapido*starts a process",
            "::test_process_in_thread is marked rapido*starts a process",
            "::test_socket is marked rapido*opens a network socket (socket.bind)",
            "::test_fixture_socket is marked rapido*opens a network socket (socket.bind)",
            "::test_database is marked rapido*needs pg_dsn (the session PostgreSQL server)",
            "::test_qt is marked rapido*needs qapp (a Qt application",
        )])


def test_a_qt_application_fails_a_rapido_test_only(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh process (a Qt application cannot be undone in this one): a ``rapido`` test
    that makes one fails; the same test and a process outside the tier pass."""
    # The child starts in pytester's temporary directory: the checkout must be on its path
    # for ``-p tests.harness.rapido`` whatever this process's PYTHONPATH (CI sets none).
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    result = _run(pytester, """
import subprocess
import sys

import pytest
from PySide6.QtCore import QCoreApplication


@pytest.mark.rapido
def test_app():
    QCoreApplication([])


def test_app_outside_the_tier():
    QCoreApplication.instance() or QCoreApplication([])


def test_process_outside_the_tier():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
""", subprocess=True)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*::test_app is marked rapido*created a Qt application*"])
