"""The ``prep`` command itself: help, version and a bad option, as a user sees them."""

from __future__ import annotations

import subprocess
import sys

from prep import __version__


def _prep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *args], capture_output=True,
                          text=True, timeout=60)


def test_help_lists_the_subcommands() -> None:
    done = _prep("--help")
    assert done.returncode == 0, done.stderr
    for command in ("catalog", "simulacro"):
        assert command in done.stdout


def test_version() -> None:
    done = _prep("--version")
    assert done.returncode == 0 and __version__ in done.stdout


def test_bad_scale_is_explained_in_spanish() -> None:
    done = _prep("simulacro", "--scale", "2")
    assert done.returncode == 2
    assert "la escala debe estar entre 0 (excluido) y 1" in done.stderr
