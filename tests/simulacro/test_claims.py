"""The drill's unreadable-image complaint across station processes: one claim per acta,
and a station killed between storing its ilegible record and writing the notice settles
its claims when it starts again (the digitalizador must not wait for a re-scan order
that never comes)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from simulacro.proceso import claim_complaint
from simulacro.proceso import settle_claims


def _claim(args: tuple[str, str]) -> bool:
    avisos, owner = args
    return claim_complaint(Path(avisos), "09-001-0001-B-01", owner)


def test_one_claim_per_acta_among_racing_processes(tmp_path: Path) -> None:
    avisos = tmp_path / "avisos"
    owners = [f"catd{i:02d}" for i in range(1, 13)]
    with multiprocessing.get_context("fork").Pool(6) as pool:
        won = pool.map(_claim, [(str(avisos), o) for o in owners])
    assert sum(won) == 1
    claim = avisos / "09-001-0001-B-01.reclamo"
    assert claim.read_text(encoding="utf-8") == owners[won.index(True)]
    assert sorted(p.name for p in avisos.iterdir()) == [claim.name]  # no leftovers


def test_a_restarted_station_announces_stored_complaints_and_returns_the_rest(
        tmp_path: Path) -> None:
    avisos = tmp_path / "avisos"
    stored = {"A-stored"}
    for clave in ("A-stored", "B-lost", "C-done"):
        assert claim_complaint(avisos, clave, "catd02")
    (avisos / "C-done").touch()  # announced before the kill: nothing to do
    assert claim_complaint(avisos, "D-other", "catd07")  # another station's, alive

    noted, released = settle_claims(avisos, "catd02", lambda clave: clave in stored)

    assert (noted, released) == (["A-stored"], ["B-lost"])
    assert (avisos / "A-stored").exists()  # the digitalizador now scans it again
    assert not (avisos / "B-lost.reclamo").exists()  # the next capturista may complain
    assert claim_complaint(avisos, "B-lost", "catd05")
    assert (avisos / "D-other.reclamo").read_text(encoding="utf-8") == "catd07"
    assert not (avisos / "D-other").exists()
    assert settle_claims(avisos, "catd02", lambda clave: True) == ([], [])  # idempotent


def test_settling_without_any_complaint_folder_is_quiet(tmp_path: Path) -> None:
    assert settle_claims(tmp_path / "avisos", "catd01", lambda clave: True) == ([], [])
