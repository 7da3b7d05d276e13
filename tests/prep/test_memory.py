"""prep.memory: large freed blocks are kept for reuse instead of being unmapped."""

from __future__ import annotations

import subprocess
import sys

from prep.memory import MMAP_THRESHOLD

_CHILD = """
import resource, sys
from prep.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory() and keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):  # a page decoded, a rotated copy, the encoded file; then all dropped
    pages = [bytearray(1_000_000) for _ in range(3)]
    for page in pages:
        page[::4096] = b"x" * len(page[::4096])
    del pages, page
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(variant: str) -> int:
    done = subprocess.run([sys.executable, "-c", _CHILD, variant], check=True,
                          capture_output=True, text=True)
    return int(done.stdout)


def test_a_page_sized_buffer_is_reused_not_mapped_again() -> None:
    default, kept = _faults("default"), _faults("keep")
    # glibc's default gives the freed 3 MB back to the system (past its trim threshold)
    # and faults fresh zeroed pages in every round (≈700 each); kept, only the first.
    assert default > 40 * 500
    assert kept < default / 5


def test_threshold_covers_a_colour_photo_at_300_dpi() -> None:
    assert MMAP_THRESHOLD >= 2550 * 3300 * 3
