"""Suite-wide test setup: offscreen Qt that fails on Qt warnings, real PostgreSQL,
and the ``netns`` marker."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Before anything creates a QApplication: no display server in tests or CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.harness.netns import netns_available
from tests.harness.postgres import server_dsn
from tests.harness.postgres import temporary_database
from tests.harness.postgres import to_sqlalchemy_url

if TYPE_CHECKING:
    from tests.harness.central import CentralNode

# tests.harness.rapido: the fast tier's guard (a ``rapido`` test must be pure code).
pytest_plugins = ("pytester", "tests.harness.rapido")

QT_LOG_LEVEL_FAIL = "WARNING"
"""Any Qt message at this level or above fails the test, unless listed below."""

QT_LOG_IGNORE: tuple[str, ...] = (
    # The offscreen platform plugin says this each time a top-level window is shown.
    r"^This plugin does not support propagateSizeHints\(\)$",
)
"""Regexes of Qt messages known to be harmless, each with its reason."""

_PG_FIXTURES = frozenset({"pg_dsn", "pg_url", "pg_database", "pg_database_url"})


#: Test packages whose tests share package- or session-scoped fixtures that cost seconds
#: to make and that tests change as they go (the control room's scenario, the installer's
#: build, the site's corte and browser): each runs whole on one xdist worker, in order,
#: as it does in one process.
ONE_WORKER_PACKAGES = ("tests/dashboard/", "tests/installer/", "tests/site/")
#: The longest work units (a minute or more each, mostly waiting on real processes):
#: handed out first, so that none of them starts when the others are done.
LONG_FIRST = ("tests/soak/", "tests/simulacro/test_drill.py", "tests/installer/",
              "tests/prep/station/test_sync_central.py",
              "tests/central/pipeline/test_leases.py",
              "tests/central/pipeline/test_lease_life.py",
              "tests/central/pipeline/test_authorization.py",
              "tests/central/api/test_lease_wait.py", "tests/dashboard/", "tests/site/")


def in_ci() -> bool:
    """Whether we run under CI (``CI`` set to a true-ish value), where skips are defects."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    """Register the Qt-message patterns that do not fail a test."""
    for pattern in QT_LOG_IGNORE:
        config.addinivalue_line("qt_log_ignore", pattern)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Make unexpected Qt warnings fail every test (pytest-qt's ``qt_log_level_fail``,
    which a test may still override with its own marker) and mark database tests."""
    for item in items:
        if item.get_closest_marker("qt_log_level_fail") is None:
            item.add_marker(pytest.mark.qt_log_level_fail(QT_LOG_LEVEL_FAIL))
        if _PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``netns`` tests where no namespace can be made; under CI, fail them instead."""
    if item.get_closest_marker("netns") is None:
        return
    available, reason = netns_available()
    if available:
        return
    if in_ci():
        pytest.fail(f"netns test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """libpq DSN of the session's PostgreSQL server (``PREP_TEST_DSN`` or pgserver).

    Its data lives outside pytest's basetemp: a second pytest session resets that tree
    to mode 0700, which would lock out the (non-root) postgres of a running session.
    """
    base = Path(tempfile.mkdtemp(prefix="prep-test-pg-"))
    try:
        with server_dsn(base) as dsn:
            yield dsn
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_dsn: str) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://``) of the session's server."""
    return to_sqlalchemy_url(pg_dsn)


@pytest.fixture
def pg_database(pg_dsn: str) -> Iterator[str]:
    """libpq DSN of a fresh database for this test only, dropped afterwards."""
    with temporary_database(pg_dsn) as dsn:
        yield dsn


@pytest.fixture
def pg_database_url(pg_database: str) -> str:
    """SQLAlchemy URL of this test's fresh database (see ``pg_database``)."""
    return to_sqlalchemy_url(pg_database)


@pytest.fixture
def central_node(pg_dsn: str, tmp_path: Path) -> Iterator[CentralNode]:
    """A real central node (``prep central serve`` subprocess over HTTPS on 127.0.0.1) on
    a fresh database; see ``tests/harness/central.py``."""
    from tests.harness.central import running_central  # imports the central: only if used

    with running_central(tmp_path / "central-node", pg_dsn) as node:
        yield node


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's ``loadscope`` (each module on one worker, so module fixtures such as the
    drill are made once), with :data:`ONE_WORKER_PACKAGES` kept whole and
    :data:`LONG_FIRST` handed out first."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class Scheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            package = next((p for p in ONE_WORKER_PACKAGES if nodeid.startswith(p)), None)
            return package or str(super()._split_scope(nodeid))

        ordered = False

        def _assign_work_unit(self, node: Any) -> None:
            # The queue is complete before the first unit is handed out: order it once.
            if not self.ordered:
                def rank(scope: str) -> int:
                    return next((i for i, p in enumerate(LONG_FIRST)
                                 if scope.startswith(p)), len(LONG_FIRST))
                units = sorted(self.workqueue.items(), key=lambda unit: rank(unit[0]))
                self.workqueue.clear()
                self.workqueue.update(units)
                self.ordered = True
            super()._assign_work_unit(node)

    return Scheduling(config, log)
