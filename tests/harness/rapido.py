"""The fast tier: tests marked ``rapido`` (``python3 -m pytest -m rapido -n 0``).

A ``rapido`` test exercises pure code (fold, rules, catalog, corte renderers, protocol,
values...): no PostgreSQL, no process, no Qt window, no network socket. This plugin keeps
the tier honest, so it cannot slowly fill with tests that wait on real things:

- a ``rapido`` test that asks for the session PostgreSQL (``pg_dsn`` or any fixture built
  on it: ``pg_database``, ``central_node``…) or for pytest-qt's ``qtbot``/``qapp`` fails
  at setup, before that fixture is made;
- during its setup and call, starting a process (``subprocess``, ``asyncio``
  subprocesses, ``os.fork``/``posix_spawn``/``system``, ``multiprocessing``) or
  connecting or binding a network socket fails it, and so does leaving a Qt application
  behind where there was none.

Threads alive before the test started (a fixture of an earlier, non-``rapido`` test) are
not watched: only the test's own thread and the threads it starts. Teardown is not
watched either: ending the session's PostgreSQL after the last test is not the test's
doing. Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import _posixsubprocess
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

MARKER = "rapido"
"""The fast tier's marker name."""

FORBIDDEN_FIXTURES: dict[str, str] = {
    "pg_dsn": "the session PostgreSQL server",
    "qapp": "a Qt application (pytest-qt's qapp, which qtbot uses)",
}
"""Fixture → what it costs; a ``rapido`` test that needs one (directly or through another
fixture) is not pure code."""

_PROCESS_CALLS: tuple[tuple[Any, str], ...] = (
    (os, "fork"), (os, "forkpty"), (os, "posix_spawn"), (os, "posix_spawnp"),
    (os, "system"), (_posixsubprocess, "fork_exec"),
)
_SOCKET_CALLS = ("connect", "connect_ex", "bind")


class _Watch:
    """What a ``rapido`` test is not allowed to do, recorded as it happens."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        me = threading.get_ident()
        self.exempt = {t.ident for t in threading.enumerate() if t.ident != me}
        self.violations: list[str] = []

    def forbid(self, what: str) -> None:
        """Fail the test (in the calling thread, and again after the call in case the
        code under test swallowed the failure) if the caller is the test's."""
        if threading.get_ident() in self.exempt:
            return
        message = (f"{self.nodeid} is marked {MARKER} (fast tier: pure code) but it "
                   f"{what}; move it out of the fast tier or make it pure")
        self.violations.append(message)
        pytest.fail(message)


def _wrap(watch: _Watch, original: Callable[..., Any], what: str) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        watch.forbid(what)
        return original(*args, **kwargs)
    return guarded


@contextmanager
def _watching(watch: _Watch) -> Iterator[None]:
    """Patch the process and socket entry points for the duration of one phase."""
    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, what: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        patched.append((owner, name, original))
        setattr(owner, name, _wrap(watch, original, what))

    patch(subprocess.Popen, "__init__", "starts a process (subprocess.Popen)")
    for owner, name in _PROCESS_CALLS:
        patch(owner, name, f"starts a process ({owner.__name__}.{name})")
    for name in _SOCKET_CALLS:
        patch(socket.socket, name, f"opens a network socket (socket.{name})")
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def _qt_application() -> object | None:
    """The running Qt application, if Qt was imported at all (never imports it)."""
    qtcore = sys.modules.get("PySide6.QtCore")
    return None if qtcore is None else qtcore.QCoreApplication.instance()


@contextmanager
def _phase(item: pytest.Item) -> Iterator[None]:
    """One phase (setup or call) of ``item``, watched if it is in the fast tier."""
    if item.get_closest_marker(MARKER) is None:
        yield
        return
    watch = _Watch(item.nodeid)
    had_app = _qt_application() is not None
    with _watching(watch):
        yield
    if watch.violations:  # the failure raised where it happened was caught, or in a thread
        pytest.fail(watch.violations[0])
    if not had_app and _qt_application() is not None:
        watch.forbid("created a Qt application")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a ``rapido`` test that needs a costly fixture before that fixture is made
    (pytest's own setup hook, which makes the fixtures, runs after this one)."""
    if item.get_closest_marker(MARKER) is None:
        return
    needs = [f"{name} ({cost})" for name, cost in FORBIDDEN_FIXTURES.items()
             if name in getattr(item, "fixturenames", ())]
    if needs:
        pytest.fail(f"{item.nodeid} is marked {MARKER} (fast tier: pure code) but it "
                    f"needs {needs[0]}; move it out of the fast tier", pytrace=False)


@pytest.hookimpl(wrapper=True, specname="pytest_runtest_setup")
def pytest_runtest_setup_watched(item: pytest.Item) -> Generator[None, None, None]:
    """The fixtures a ``rapido`` test's setup makes are watched too."""
    with _phase(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _phase(item):
        return (yield)
