"""Logs hold one line per call whatever the texts they carry (issue 36: a file name with
a line break forged a log line; a terminal escape rewrote the reader's screen)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from prep.logsetup import EscapingFormatter
from prep.logsetup import JsonFormatter
from prep.logsetup import escape_controls
from prep.logsetup import fields
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


def test_a_json_line_carries_the_named_fields_and_stays_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("central.ingest", logging.WARNING, __file__, 1,
                                   "lote %s:%d rechazado: %s", ("catd07-x", 4, "a\nFALSO"),
                                   sys.exc_info())
    record.__dict__.update(fields(station="catd07-x", batch=4, acta=None))
    text = JsonFormatter().format(record)
    assert "\n" not in text  # the traceback too, as a JSON string
    line = json.loads(text)
    assert line["level"] == "WARNING" and line["logger"] == "central.ingest"
    assert line["message"] == "lote catd07-x:4 rechazado: a\\nFALSO"
    assert (line["station"], line["batch"]) == ("catd07-x", 4)
    assert "acta" not in line and "corte" not in line  # not named: not written
    assert line["traceback"].startswith("Traceback (most recent call last):")
    assert line["time"].endswith("+00:00")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_json_logs_are_asked_for_by_option_or_environment(how: str) -> None:
    args = ["--log-format", "json"] if how == "option" else []
    script = ("import prep.cli, logging, sys\n"
              f"prep.cli.main({args!r} + ['catalog', 'check', '/no/such/catalog'])\n")
    done = subprocess.run([sys.executable, "-c", script + "logging.getLogger('prep.x')"
                           ".info('corte %s', '20270607_0200', extra={'corte': "
                           "'20270607_0200'})\n"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False,
                          env={**os.environ, "PREP_LOG_FORMAT": "json" if how != "option"
                               else "texto"})
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert {"logger": "prep.x", "corte": "20270607_0200"}.items() <= lines[-1].items(), \
        done.stderr


def test_the_human_format_stays_the_default() -> None:
    script = ("import prep.cli, logging\nprep.cli.main(['catalog', 'check', '/no/such'])\n"
              "logging.getLogger('prep.x').warning('hola', extra={'station': 's'})\n")
    env = {k: v for k, v in os.environ.items() if k != "PREP_LOG_FORMAT"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert "WARNING prep.x: hola" in done.stderr and "{" not in done.stderr, done.stderr
