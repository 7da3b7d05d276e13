"""Images inside PostgreSQL too (revision 0018, docs/continuidad.md): a blob the central
accepts is a row of ``blob_contents`` before the upload is answered, so replication and
backups carry it; a node that lacks the files its database holds writes them back, and
files accepted before the revision are stored. Real PostgreSQL, real files."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from central.db import make_engine
from central.db.blobs import BlobStore
from central.db.blobs import reconcile
from central.db.blobs import reconcile_when_reachable
from central.db.migrate import upgrade
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.images import padded_jpeg
from tests.harness.images import tiny_png
from tests.harness.postgres import socket_link


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = make_engine(pg_database, pool_size=1)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 65536):
        yield data[start:start + 65536]


def _rows(engine: Engine) -> dict[str, bytes]:
    with engine.connect() as conn:
        return {str(s): bytes(d) for s, d in
                conn.execute(text("SELECT sha256, data FROM blob_contents"))}


def test_an_accepted_image_is_in_the_database_byte_for_byte(engine: Engine,
                                                            tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", engine=engine)
    image = padded_jpeg(120_000)
    sha = hashlib.sha256(image).hexdigest()
    stored = asyncio.run(store.receive(sha, _chunks(image), "image/jpeg"))
    assert stored.new and store.path(sha).read_bytes() == image
    assert _rows(engine) == {sha: image}
    again = asyncio.run(store.receive(sha, _chunks(image), "image/jpeg"))
    assert not again.new and _rows(engine) == {sha: image}


def test_reconcile_writes_back_missing_files_and_stores_old_ones(engine: Engine,
                                                                 tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", engine=engine)
    first, second = padded_jpeg(50_000), tiny_png("antes de la revisión 0018")
    sha1, sha2 = (hashlib.sha256(d).hexdigest() for d in (first, second))
    asyncio.run(store.receive(sha1, _chunks(first), "image/jpeg"))
    # A file accepted before the revision: on disk, not in the database.
    old = BlobStore(tmp_path / "blobs")
    asyncio.run(old.receive(sha2, _chunks(second), "image/png"))
    assert set(_rows(engine)) == {sha1}

    # A promoted standby: the database has the row, the disk lacks the file.
    promoted = BlobStore(tmp_path / "standby-blobs", engine=engine)
    done = reconcile(engine, promoted)
    assert (done.files_written, done.rows_stored) == (1, 0)
    assert promoted.path(sha1).read_bytes() == first

    done = reconcile(engine, store)
    assert (done.files_written, done.rows_stored) == (0, 1)
    assert _rows(engine) == {sha1: first, sha2: second}
    done = reconcile(engine, promoted)
    assert (done.files_written, done.rows_stored) == (1, 0)
    assert promoted.path(sha2).read_bytes() == second
    assert reconcile(engine, promoted) == reconcile(engine, store)  # nothing left to do


def test_a_damaged_file_is_not_stored(engine: Engine, tmp_path: Path) -> None:
    old = BlobStore(tmp_path / "blobs")
    image = padded_jpeg(30_000)
    sha = hashlib.sha256(image).hexdigest()
    asyncio.run(old.receive(sha, _chunks(image), "image/jpeg"))
    old.path(sha).write_bytes(image[:-10])  # the disk damaged it afterwards
    done = reconcile(engine, BlobStore(tmp_path / "blobs", engine=engine))
    assert done.rows_stored == 0 and _rows(engine) == {}


def test_reconciliation_waits_for_postgresql_without_a_traceback(
        engine: Engine, pg_database: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """A ``serve`` that starts while its PostgreSQL restarts (the soak killed the
    postmaster at that moment) reconciles once the server is back, instead of logging a
    traceback and leaving a promoted node's images unwritten until its next start."""
    store = BlobStore(tmp_path / "blobs", engine=engine)
    image = padded_jpeg(20_000)
    sha = hashlib.sha256(image).hexdigest()
    asyncio.run(store.receive(sha, _chunks(image), "image/jpeg"))
    promoted = BlobStore(tmp_path / "promovido")
    # The same server through a socket directory that is empty until the server is
    # "back": then it holds a link to the server's real socket.
    with socket_link(pg_database, linked=False) as link:
        down = make_engine(link.dsn, pool_size=1)
        result: list[object] = []
        caplog.set_level(logging.WARNING, logger="central.blobs")
        stop = threading.Event()
        worker = threading.Thread(target=lambda: result.append(
            reconcile_when_reachable(down, promoted, retry_seconds=0.05, stop=stop)),
            daemon=True)
        worker.start()
        try:
            esperar(lambda: caplog.records, holgado(60),
                    "la conciliación no dijo que el nodo no responde", cada_s=0.05)
            time.sleep(0.2)  # a few more tries while it is down
            assert worker.is_alive()
            link.restore()
            worker.join(holgado(60))
        finally:
            stop.set()
            worker.join(10)
            down.dispose()
    assert not worker.is_alive()
    assert len(result) == 1 and getattr(result[0], "files_written", None) == 1
    assert promoted.path(sha).read_bytes() == image
    [said] = caplog.records  # once, however many tries
    assert said.exc_info is None and "no está disponible" in said.getMessage()
