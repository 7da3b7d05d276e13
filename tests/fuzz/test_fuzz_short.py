"""The short version of ``bench/fuzz.py`` (issue 33) for CI: every fuzz target for a
few hundred generated inputs, with a fixed seed. The long runs and their results are in
``bench/RESULTS.md``. A failure prints what the fuzzer found (kind, detail, example)."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import ClientResponse
from hypothesis import strategies as st

from bench.fuzz import targets
from bench.fuzzing import core
from bench.fuzzing import http
from bench.fuzzing.core import Target
from bench.fuzzing.core import run_target

CASES = {"qr": 300, "canonical": 300, "records": 300, "batches": 300, "catalog": 150,
         "image": 200, "casilla_names": 300, "settings": 150, "responses": 300,
         "operators": 300, "http": 200}


@pytest.fixture
def central_server(pg_dsn: str) -> Iterator[None]:
    """The http target makes its database on the session's PostgreSQL server."""
    http.ADMIN_DSN = pg_dsn
    try:
        yield
    finally:
        http.ADMIN_DSN = None


@pytest.mark.rapido
def test_every_target_has_a_short_run() -> None:
    assert set(CASES) == set(targets())


@pytest.mark.rapido
@pytest.mark.parametrize("name", [n for n in CASES if n != "http"])
def test_parsers_hold_their_property(name: str) -> None:
    result = run_target(targets()[name], CASES[name], seed_value=33)
    assert result["ok"], json.dumps(result["failures"], ensure_ascii=False, indent=1)
    assert result["cases"] >= CASES[name] // 2


def test_the_http_api_never_answers_5xx(central_server: None) -> None:
    result = run_target(targets()["http"], CASES["http"], seed_value=33)
    assert result["ok"], json.dumps(result["failures"], ensure_ascii=False, indent=1)
    assert result["cases"] >= CASES["http"] // 2


def test_the_http_target_keeps_no_answer_between_cases(central_server: None) -> None:
    """A long http run stays within its memory bound: the answers of earlier cases are
    not kept (aiohttp's test client keeps every response it made until it closes, which
    grew a 100,000-case run by ≈4 KB a case)."""
    plan = {"endpoint": "get", "get": "/v1/health", "sign": "good",
            "content_type": "application/json", "headers": {}, "text": ""}
    with http.HTTP.setup() as context:
        for _ in range(60):
            http.HTTP.check(context, plan)
        gc.collect()
        kept = sum(isinstance(o, ClientResponse) for o in gc.get_objects())
    assert kept < 5, f"{kept} answers of earlier cases are still in memory"


@pytest.mark.rapido
def test_a_long_run_is_several_hypothesis_runs_counted_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case of every run is checked and counted; a strategy with fewer inputs than
    asked ends the run instead of trying the same few again run after run."""
    monkeypatch.setattr(core, "CHUNK_CASES", 40)
    runs: list[int] = []
    one_run = core._chunk

    def counted(*args: Any) -> None:
        runs.append(args[3])  # the cases asked of it
        one_run(*args)
    monkeypatch.setattr(core, "_chunk", counted)
    seen: list[int] = []
    numbers = Target("numeros", "integers", lambda _: st.integers(),
                     lambda _c, value: seen.append(value))
    result = run_target(numbers, 100, seed_value=5)
    assert runs == [40, 40, 20]
    assert result["ok"] and result["cases"] == len(seen) >= 100
    assert len(set(seen)) > 40  # the later runs are not the first one again

    flags: list[bool] = []
    few = Target("pocos", "booleans", lambda _: st.booleans(),
                 lambda _c, value: flags.append(value))
    assert run_target(few, 100, seed_value=5)["cases"] == len(flags) <= 2
