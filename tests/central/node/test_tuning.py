"""The process tuning of a central that makes cortes (central.node.tuning): importing the
corte's modules changes nothing in the process; the context that ``serve``, ``corte`` and
the benchmarks enter sets the allocator, pauses the collector and shortens the switch
interval around each corte only, and gives back what can be given back when left."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from central.node.tuning import INTERVALO_HILOS
from central.node.tuning import CentralTuning

# Run in a process of its own: the allocator's parameters cannot be set back, and the
# test process's must stay as they are for the tests after this one.
_CHILD = """
import ctypes, gc, importlib, json, pkgutil, sys

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        ).split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def mapped_apart(size):
    # glibc's default raises its mmap threshold past a block mapped and freed, so the
    # same size again comes from the heap; a fixed threshold maps it apart again. (Each
    # call larger than the last: a freed block at the heap's top would serve it.)
    libc.free(libc.malloc(size))
    before = libc.mallinfo2().hblks
    block = libc.malloc(size)
    mapped = libc.mallinfo2().hblks - before
    libc.free(block)
    return mapped

def state():
    return {"switch": sys.getswitchinterval(), "gc": gc.isenabled(),
            "threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}

out = {"before": state()}
import prep.cli
import prep.corte
import central.publication
for package in (prep.corte, central.publication):
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
prep.cli.build_parser()  # every program's subcommands registered: central's corte too
out["imported"] = state()
out["imported_mapped"] = mapped_apart(6 << 20)
from central.node.tuning import CentralTuning
tuning = CentralTuning()
with tuning:
    out["entered"] = state()
    out["entered_mapped"] = mapped_apart(24 << 20)
    with tuning.corte():
        out["corte"] = state()
    out["after_corte"] = state()
out["left"] = state()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True,
                          text=True)
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_importing_the_corte_changes_nothing_in_the_process(seen: dict[str, Any]) -> None:
    assert seen["imported"] == seen["before"]
    assert seen["imported_mapped"] == 0  # glibc's allocator as it starts


def test_the_context_sets_the_allocator_and_nothing_else_until_a_corte(
        seen: dict[str, Any]) -> None:
    assert seen["entered"] == seen["before"]
    assert seen["entered_mapped"] == 1  # a corte's megabyte blocks go back when freed


def test_a_corte_runs_without_the_collector_and_with_a_short_switch_interval(
        seen: dict[str, Any]) -> None:
    before = seen["before"]
    assert seen["corte"]["gc"] is False
    assert seen["corte"]["switch"] == pytest.approx(min(before["switch"], INTERVALO_HILOS))
    after = seen["after_corte"]
    # What the corte kept is frozen; the collector and the interval are back.
    assert after["gc"] is True and after["frozen"] > 0
    assert after["switch"] == before["switch"] and after["threshold"] == before["threshold"]


def test_leaving_the_context_gives_back_what_can_be_given_back(
        seen: dict[str, Any]) -> None:
    assert seen["left"] == seen["before"]  # nothing frozen any more


def test_a_corte_is_tuned_only_inside_the_context() -> None:
    tuning = CentralTuning()
    with pytest.raises(RuntimeError), tuning.corte():
        pass
