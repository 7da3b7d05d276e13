"""One central node shared by the tests of this package that do not restart it; each
test enrolls stations of its own, so they do not see each other's records. Tests that
need a central of their own (a clean queue, a stopped node) take ``node`` instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from central.db import make_engine
from central.db import upgrade
from prep.catalog import Catalog
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import load_catalog


@pytest.fixture(scope="package")
def shared_central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    with running_central(tmp_path_factory.mktemp("shared-central"), pg_dsn) as node:
        yield node


@pytest.fixture
def node(pg_dsn: str, tmp_path: Path) -> Iterator[CentralNode]:
    """A central of the test's own (modules that share one define their own ``node``)."""
    with running_central(tmp_path / "central", pg_dsn) as central:
        yield central


@pytest.fixture
def catalog(node: CentralNode) -> Catalog:
    """The catalog loaded into ``node``."""
    return load_catalog(node)


@pytest.fixture
def migrated(pg_database: str) -> Iterator[Engine]:
    """A fresh test database migrated to head (as its owner)."""
    engine = make_engine(pg_database)
    upgrade(engine)
    yield engine
    engine.dispose()
