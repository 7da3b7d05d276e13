"""Logs hold one line per call whatever the texts they carry (issue 36: a file name with
a line break forged a log line; a terminal escape rewrote the reader's screen)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from prep.logsetup import EscapingFormatter
from prep.logsetup import escape_controls
from tests.harness.central import REPO


@pytest.mark.parametrize("text, shown", [
    ("acta 1.jpg", "acta 1.jpg"),
    ("a\nb\r\tc", "a\\nb\\r\\tc"),
    ("\x1b[2J\x00\x7f\x85", "\\x1b[2J\\x00\\x7f\\x85"),
    ("línea\u2028otra\u202eexe.jpg", "línea\\u2028otra\\u202eexe.jpg"),
])
def test_control_characters_are_written_as_escapes(text: str, shown: str) -> None:
    assert escape_controls(text) == shown


def test_the_message_is_escaped_but_a_traceback_keeps_its_lines() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("central.intake", logging.WARNING, __file__, 1,
                                   "archivo %s rechazado", ("x\n2027 INFO falso",),
                                   sys.exc_info())
    text = EscapingFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    first, *rest = text.splitlines()
    assert first == "WARNING central.intake: archivo x\\n2027 INFO falso rechazado"
    assert rest[0] == "Traceback (most recent call last):"


_SET_UP = {
    # The central, the dashboard and the drill: prep's command line.
    "prep": "import prep.cli\nprep.cli.main(['catalog', 'check', '/no/such/catalog'])\n",
    # The CATD and CCV workstations.
    "catd": "import catd.app\ncatd.app.parse_command_line([], 'catd', 'CATD')\n",
}


@pytest.mark.parametrize("program", sorted(_SET_UP))
def test_every_program_escapes_for_every_logger(program: str) -> None:
    script = (_SET_UP[program] + "import logging\n"
              "logging.getLogger('cualquiera').warning('archivo %s', 'a\\nFALSO')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert "cualquiera: archivo a\\nFALSO" in done.stderr, done.stderr
    assert not [line for line in done.stderr.splitlines() if line.startswith("FALSO")]
