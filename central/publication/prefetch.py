"""The snapshot's row queries, fetched ahead by a thread of their own.

A corte reads a few large result sets in one transaction (the acta states, then their
images, captures and cotejos). One thread runs them one after another on the
snapshot's connection, each streamed in binary chunks (PostgreSQL sends on while the
rows already received are made), and hands them over in batches through a short queue
while the corte's thread turns the previous batch into Python objects. The queue holds
a few batches only, and the socket's buffers bound what the server sends ahead, so the
rows never sit in memory whole.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import closing
from itertools import islice
from queue import Empty
from queue import Queue
from types import TracebackType
from typing import Any
from typing import cast

import psycopg

#: Batches fetched ahead of the reader, at most.
AHEAD = 3
#: Rows per chunk the server sends (libpq's chunked-rows mode).
_CHUNK = 2_000

_END = object()  # the last batch of one query has been handed over


class Prefetch:
    """Run ``queries`` (name, SQL; ``params`` bound to each, by name) in order on ``raw``
    (inside its open transaction), in a background thread; read them, in the same
    order, with :meth:`batches` or :meth:`rows`. Use as a context manager: leaving it
    stops the thread, and the connection is free again (for further statements of the
    same transaction)."""

    def __init__(self, raw: psycopg.Connection[Any], queries: Sequence[tuple[str, str]],
                 batch: int, params: Mapping[str, Any] | None = None) -> None:
        self._raw = raw
        self._queries = tuple(queries)
        self._batch = batch
        self._params = params  # bound to every query (named placeholders)
        self._queue: Queue[Any] = Queue(maxsize=AHEAD)
        self._stop = threading.Event()
        self._next = 0  # index of the query the reader is to read next
        self._thread = threading.Thread(target=self._fetch, name="corte-snapshot",
                                        daemon=True)

    def __enter__(self) -> Prefetch:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a fetcher waiting on a full queue
            with contextlib.suppress(Empty):
                self._queue.get(timeout=0.1)
        self._thread.join()

    def _fetch(self) -> None:
        try:
            for _, query in self._queries:
                with self._raw.cursor(binary=True) as cur:
                    # Streamed in chunks: the server sends on while this thread makes
                    # rows of what arrived (socket buffers bound how far it gets ahead).
                    stream = cast(Generator[Any, None, None],
                                  cur.stream(query, self._params, binary=True,
                                             size=_CHUNK))
                    with closing(stream):  # an early stop ends the query at once
                        while not self._stop.is_set() and (
                                rows := list(islice(stream, self._batch))):
                            self._queue.put(rows)
                if self._stop.is_set():
                    return
                self._queue.put(_END)
        except BaseException as exc:  # handed to the reading thread, raised there
            self._queue.put(exc)

    def batches(self, name: str) -> Iterator[list[Any]]:
        """The batches of query ``name``, which must be the next one not read yet."""
        expected = self._queries[self._next][0] if self._next < len(self._queries) else None
        if name != expected:
            raise RuntimeError(f"consulta {name!r} leída fuera de orden (sigue {expected!r})")
        self._next += 1
        while (item := self._queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def rows(self, name: str) -> Iterator[Any]:
        """The rows of query ``name`` (as :meth:`batches`, one row at a time)."""
        for rows in self.batches(name):
            yield from rows
