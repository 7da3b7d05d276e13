"""Partial images left in ``blobs/tmp`` by a process killed while receiving are removed
when a store opens, and never one a live process (another ``serve`` sharing the
directory) is still writing (issue 33). Real files and real processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import AsyncIterator
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.db.blobs import STALE_TMP_SECONDS
from central.db.blobs import BlobStore
from central.db.blobs import _temp_prefix
from tests.central.station import PNG


@pytest.fixture
def writer() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing for another ``serve`` writing into the same directory."""
    process = subprocess.Popen(["sleep", "300"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _partial(tmp: Path, pid: int, name: str) -> Path:
    """A partial image as process ``pid`` of this machine names it."""
    machine_and_blob = _temp_prefix(hashlib.sha256(name.encode()).hexdigest()).split(".", 1)[1]
    path = tmp / f"{pid}.{machine_and_blob}{name}"
    path.write_bytes(b"\x89PNG" + b"x" * 1000)
    return path


def test_only_partial_images_of_dead_writers_or_untouched_for_an_hour_are_removed(
        tmp_path: Path, writer: subprocess.Popen[bytes]) -> None:
    BlobStore(tmp_path / "blobs")
    tmp = tmp_path / "blobs" / "tmp"
    dead = subprocess.Popen(["true"])
    dead.wait()
    killed = _partial(tmp, dead.pid, "muerto")
    killed_dir = tmp / f"{killed.name}.dir"  # a write-back's directory (reconcile)
    killed_dir.mkdir()
    (killed_dir / "blob").write_bytes(b"x")
    sibling = _partial(tmp, writer.pid, "vivo")
    unknown = tmp / "abcdef012345xyz"  # another machine's, or the older naming
    unknown.write_bytes(b"x")
    abandoned = tmp / "abcdef012345old"
    abandoned.write_bytes(b"x")
    an_hour_ago = time.time() - STALE_TMP_SECONDS - 60
    os.utime(abandoned, (an_hour_ago, an_hour_ago))

    store = BlobStore(tmp_path / "blobs")  # as the next serve opens it

    assert sorted(p.name for p in tmp.iterdir()) == sorted([sibling.name, unknown.name])
    assert store.clean_tmp() == 0  # the live writer's file stays on every pass
    writer.kill()
    writer.wait()
    assert store.clean_tmp() == 1
    assert [p.name for p in tmp.iterdir()] == [unknown.name]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def test_a_completed_upload_leaves_no_temporary_file(tmp_path: Path) -> None:
    import asyncio

    store = BlobStore(tmp_path / "blobs")
    sha256 = hashlib.sha256(PNG).hexdigest()
    stored = asyncio.run(store.receive(sha256, _chunks(PNG), "image/png"))
    assert stored.new and store.path(sha256).read_bytes() == PNG
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
