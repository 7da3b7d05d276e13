"""Catalogs shared by the tests of prep: a small generated one, on disk, and a writable
copy per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog import write_catalog

SMALL_SEED = 7


@pytest.fixture(scope="module")
def small() -> Catalog:
    return generate_catalog(SMALL_SEED, 0.01)


@pytest.fixture(scope="module")
def small_dir(small: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("catalogo") / "cat"
    write_catalog(small, directory)
    return directory


@pytest.fixture
def copia(small_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the small catalog directory."""
    return Path(shutil.copytree(small_dir, tmp_path / "cat"))
