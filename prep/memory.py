"""Keeping freed memory for reuse in programs that handle page images all night.

glibc serves a request of more than 128 KiB (a 100 dpi page is ≈1 MB, a PREP Casilla
photo ≈3.5 MB in colour) with a fresh ``mmap`` and gives it back with ``munmap`` when
freed, and it trims the top of the heap back to the system; so every page decoded,
rendered or received costs the kernel hundreds of page faults, each a zeroed page.
Measured on the development machine (``bench/image_memory.py``, 400 images),
rendering and checking a 100 dpi scan took 0.92 ms of system CPU and 283 page faults
per image; with the thresholds below, 0.08 ms and 30, at the same peak memory. Pillow
and the buffers of aiohttp and SQLite then reuse the same heap pages instead.

The cost is that a process keeps the memory of its largest moments (a few images)
rather than returning it: tens of MB, for programs that run all night anyway.
"""

from __future__ import annotations

import logging

from prep.libc import c_function

log = logging.getLogger("prep.memory")

#: ``mallopt`` parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Requests up to this size come from the heap (glibc's largest allowed on 64-bit is
#: 32 MiB: a 300 dpi colour photo of a letter page fits).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Freed memory at the top of the heap is given back only beyond this much.
TRIM_THRESHOLD = 256 * 1024 * 1024

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep large freed blocks for reuse (see the module's
    docstring). ``False`` where the C library is not glibc (nothing changes there).
    Safe to call more than once; only the first call acts."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    mallopt = c_function("mallopt")
    if mallopt is None:
        log.debug("no mallopt in the C library; allocator left as it is")
        return False
    _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) \
        and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
