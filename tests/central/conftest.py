"""One central node shared by the tests of this package that do not restart it; each
test enrolls stations of its own, so they do not see each other's records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from central.db import make_engine, upgrade
from tests.harness.central import CentralNode, running_central


@pytest.fixture(scope="package")
def shared_central(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    with running_central(tmp_path_factory.mktemp("shared-central"), pg_dsn) as node:
        yield node


@pytest.fixture
def migrated(pg_database: str) -> Iterator[Engine]:
    """A fresh test database migrated to head (as its owner)."""
    engine = make_engine(pg_database)
    upgrade(engine)
    yield engine
    engine.dispose()
