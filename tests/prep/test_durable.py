"""Flushing a directory to the disk at once (prep.durable.sync_tree): what a corte does
before it renames its directory into place. Real files, the real syncfs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from prep import durable

pytestmark = pytest.mark.rapido


def _tree(root: Path) -> set[str]:
    (root / "sitio" / "datos").mkdir(parents=True)
    for name in ("a.csv", "sitio/index.html", "sitio/datos/s1.js"):
        (root / name).write_bytes(name.encode() * 1000)
    return {str(p) for p in root.rglob("*")} | {str(root)}


def test_sync_tree_flushes_with_one_syncfs_and_raises_its_error(tmp_path: Path) -> None:
    assert durable._SYNCFS is not None  # Linux: the path every corte takes
    _tree(tmp_path)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    durable.sync_tree(fd, tmp_path)
    os.close(fd)
    # An error of the flush is raised, naming the directory (here: no such descriptor).
    with pytest.raises(OSError, match=str(tmp_path)) as error:
        durable.sync_tree(fd, tmp_path)
    assert error.value.errno == errno.EBADF


def test_sync_tree_without_syncfs_fsyncs_every_file_and_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _tree(tmp_path)
    synced: list[str] = []
    fsync = os.fsync

    def recorded(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(durable, "_SYNCFS", None)
    monkeypatch.setattr(os, "fsync", recorded)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        durable.sync_tree(fd, tmp_path)
    finally:
        os.close(fd)
    assert set(synced) == everything and len(synced) == len(everything)
    # A directory after the files in it.
    assert synced.index(str(tmp_path / "sitio")) > synced.index(str(tmp_path / "sitio/index.html"))
