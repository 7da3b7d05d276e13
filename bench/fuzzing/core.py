"""The fuzzing machinery: targets, the hypothesis run, byte and JSON mutations.

A :class:`Target` gives a strategy of inputs (built once its :attr:`setup` context is
open: a catalog, a database, seed files) and a check that raises :class:`Violation`
when the property fails. Any other exception escaping the check is a failure too (an
unhandled exception), and so is a case slower than the target's bound. Failures are
collected, not raised, so hypothesis keeps exploring instead of shrinking: each distinct
failure (by type and place) is reported once with its first example and a count.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import time
import traceback
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import seed
from hypothesis import settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
#: Memory a target may add to the process's peak (a decompression bomb, a quadratic
#: parser) before that is a failure.
MAX_RSS_GROWTH_MB = 512
#: Cases of one hypothesis run: a long run is made of runs of this many, each seeded
#: anew. Hypothesis keeps what it learnt of every case of a run (to tell new inputs
#: from tried ones): on the http target, between its cases 300 and 1,500, tracemalloc
#: saw hypothesis keep ≈35 MB (≈29 KB a case); a run of 2,000 keeps about 60 MB of it.
CHUNK_CASES = 2_000


class Violation(AssertionError):
    """The property of a target does not hold for an input."""


@dataclass(frozen=True)
class Target:
    """One parser under fuzzing."""

    name: str
    doc: str
    strategy: Callable[[Any], st.SearchStrategy[Any]]
    check: Callable[[Any, Any], None]
    setup: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    max_seconds: float = 1.0


@dataclass
class _Failures:
    found: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: str, kind: str, detail: str, example: Any) -> None:
        if key in self.found:
            self.found[key]["count"] += 1
            return
        self.found[key] = {"kind": kind, "detail": detail[:500],
                           "example": _shown(example), "count": 1}


def run_target(target: Target, cases: int, seed_value: int) -> dict[str, Any]:
    """Run ``target`` for ``cases`` generated inputs; the JSON summary of the run."""
    failures = _Failures()
    rss_before = _max_rss_mb()
    started = time.perf_counter()
    logging.disable(logging.CRITICAL)  # refusals are logged by design: not the finding
    try:
        found = _run(target, cases, seed_value, failures)
    finally:
        logging.disable(logging.NOTSET)
    ran, slowest, slowest_cpu = found
    growth = _max_rss_mb() - rss_before
    if growth > MAX_RSS_GROWTH_MB:
        failures.add("memory", "memoria", f"peak RSS grew {growth:.0f} MB", None)
    listed = list(failures.found.values())
    return {"target": target.name, "cases": ran, "seconds": round(time.perf_counter() -
                                                                  started, 2),
            "slowest_case_s": round(slowest, 3), "slowest_case_cpu_s": round(slowest_cpu, 3),
            "load_1min": round(os.getloadavg()[0], 1), "rss_growth_mb": round(growth, 1),
            "failures": listed, "ok": not listed}


def _run(target: Target, cases: int, seed_value: int, failures: _Failures
         ) -> tuple[int, float, float]:
    counts = _Counts()
    with target.setup() as context:
        strategy = target.strategy(context)
        chunk = 0
        while counts.ran < cases:
            before, asked = counts.ran, min(CHUNK_CASES, cases - counts.ran)
            _chunk(target, context, strategy, asked, seed_value + chunk, failures, counts)
            chunk += 1
            if counts.ran - before < asked:
                break  # hypothesis ran out of new inputs: a small strategy, all tried
    return counts.ran, counts.slowest, counts.slowest_cpu


@dataclass
class _Counts:
    ran: int = 0
    slowest: float = 0.0
    slowest_cpu: float = 0.0


def _chunk(target: Target, context: Any, strategy: st.SearchStrategy[Any], cases: int,
           seed_value: int, failures: _Failures, counts: _Counts) -> None:
    """One hypothesis run of ``cases`` inputs, added to ``counts`` (the whole run's)."""

    @seed(seed_value)
    @settings(max_examples=cases, database=None, deadline=None, derandomize=False,
              phases=(Phase.explicit, Phase.generate), print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(value: Any) -> None:
        counts.ran += 1
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            target.check(context, value)
        except Violation as exc:
            failures.add(f"violation:{exc}"[:200], "propiedad", str(exc), value)
        except Exception as exc:  # an unhandled exception is what we look for
            where = _where(exc)
            failures.add(f"{type(exc).__name__}:{where}", "excepcion",
                         f"{type(exc).__name__}: {exc} at {where}", value)
        took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        counts.slowest = max(counts.slowest, took)
        counts.slowest_cpu = max(counts.slowest_cpu, cpu)
        # The bound is on the CPU the case took in this process (parser, app, every
        # thread): wall time on a shared machine also counts the waits for a core. A
        # case over it runs once more: a garbage collection of everything the run has
        # allocated so far can land in any case; only a case slow both times is the
        # parser's.
        if cpu > target.max_seconds:
            again = _cpu_of(target, context, value)
            if min(cpu, again) > target.max_seconds:
                failures.add("slow", "lento", f"{min(cpu, again):.2f} s de CPU > "
                             f"{target.max_seconds} s", value)

    one()


def _cpu_of(target: Target, context: Any, value: Any) -> float:
    """The CPU seconds one more check of ``value`` takes (its outcome was recorded)."""
    cpu0 = time.process_time()
    with contextlib.suppress(Exception):
        target.check(context, value)
    return time.process_time() - cpu0


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _where(exc: BaseException) -> str:
    """The innermost frame of the suite's own code where ``exc`` came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if str(REPO) in f.filename and "/bench/" not in f.filename]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    name = frame.filename
    shown = Path(name).relative_to(REPO) if name.startswith(str(REPO)) else name
    return f"{shown}:{frame.lineno}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 400 else text[:400] + "…"


# byte mutations ---------------------------------------------------------------------

_OPS = ("flip", "set", "insert", "delete", "truncate", "append", "duplicate", "swap_magic")


def _apply(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for op, a, b, blob in ops:
        n = len(out)
        i = a % (n + 1)
        if op == "flip" and n:
            out[i % n] ^= 1 << (b % 8)
        elif op == "set" and n:
            out[i % n] = b % 256
        elif op == "insert":
            out[i:i] = blob
        elif op == "delete":
            del out[i:i + 1 + b % 64]
        elif op == "truncate":
            del out[i:]
        elif op == "append":
            out += blob
        elif op == "duplicate" and n:
            j = b % (n + 1)
            lo, hi = min(i, j), max(i, j)
            out[hi:hi] = out[lo:hi][:4096]
        elif op == "swap_magic":
            out[:4] = blob[:4].ljust(4, b"\x00")
    return bytes(out)


_MUTATIONS = st.lists(st.tuples(st.sampled_from(_OPS), st.integers(0, 2**31),
                                st.integers(0, 2**16), st.binary(max_size=24)),
                      min_size=1, max_size=6)


def mutated(seeds: list[bytes], fixups: Callable[[bytes], bytes] | None = None
            ) -> st.SearchStrategy[bytes]:
    """One of ``seeds`` with a few byte mutations (``fixups`` then repairs what a
    format checks first, e.g. PNG CRCs, so the mutation reaches deeper code)."""
    base = st.builds(_apply, st.sampled_from(seeds), _MUTATIONS)
    if fixups is None:
        return base
    return st.one_of(base, base.map(fixups))


# JSON mutations ---------------------------------------------------------------------

HOSTILE_TEXTS = (
    "", " ", "\x00", "\n", "a\u2028b", "\x1b[31m", "\u202e", "\ufeff", "٠١٢٣٤٥B٠١٠٠٠١",
    "090123B010001\n", "０９０１２３Ｂ０１０００１", "x" * 70, "x" * 600, "Ilegible",
    "Sin dato", " 12 ", "ilegible", "-1", "1e3", "NaN", "true", "null", "ß", "\ud800",
    "00000000-0000-0000-0000-000000000000", "{12345678-1234-5678-1234-567812345678}",
    "12345678123456781234567812345678", "=HYPERLINK(\"x\")", "../../etc/passwd",
)
HOSTILE_INTS = (0, -1, 1, 2, 9999, 10000, 2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, -(2**63))

scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(HOSTILE_INTS),
                    st.integers(-(2**63), 2**63 - 1), st.sampled_from(HOSTILE_TEXTS),
                    st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=8)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _edit(value: Any, path: tuple[Any, ...], action: str, new: Any, key: str) -> Any:
    if not path:
        if action == "replace":
            return new
        if action == "add" and isinstance(value, dict):
            return {**value, key: new}
        if action == "add" and isinstance(value, list):
            return [*value, new]
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        if action == "delete" and not rest:
            out.pop(head, None)
        else:
            out[head] = _edit(value[head], rest, action, new, key)
        return out
    out_list = list(value)
    if action == "delete" and not rest:
        del out_list[head]
    else:
        out_list[head] = _edit(value[head], rest, action, new, key)
    return out_list


@st.composite
def json_mutated(draw: st.DrawFn, seeds: list[Any], max_edits: int = 3) -> Any:
    """One of ``seeds`` (JSON values) with a few edits: a value replaced by a hostile
    one, a key deleted or added."""
    value = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, max_edits))):
        paths = list(_paths(value))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(("replace", "replace", "replace", "delete", "add")))
        value = _edit(value, path, action, draw(json_values),
                      draw(st.sampled_from(("x", "v", "extra", "clave_acta", "motivo"))))
    return value


def spanish(message: str) -> bool:
    """A rough check that an operator message is Spanish prose, not an English internal
    error: some Spanish word or letter."""
    lowered = message.lower()
    return any(w in lowered for w in (" el ", " la ", " no ", " de ", "á", "é", "í", "ó",
                                      "ú", "ñ", " es ", " un ", " una ", " del ", "debe",
                                      "desconocid", "clave", "archivo", "línea", "faltan",
                                      "repetid", "válid"))
