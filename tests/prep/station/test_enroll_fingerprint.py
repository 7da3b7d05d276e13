"""A stolen one-time code must never become a rogue station (issue 36): headless
enrollment sends the code only to a server presenting the fingerprint the technician
gave; at a terminal the fingerprint is shown and must be confirmed first; mDNS
enrollment needs a prefix of 10 or more digits or the same confirmation.

The impostor is a real HTTPS server with its own certificate that records every request
and answers enrollment as a central would (``tests/harness/spoof.py``); the genuine
central is a real ``prep central serve`` on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import psycopg
import pytest

from prep.station.station import Station
from prep.station.tls import fingerprint_groups
from tests.harness.netns import run_in_netns
from tests.harness.spoof import SpoofCentral
from tests.harness.station_cli import station_cmd
from tests.prep.station.support import REPO

if TYPE_CHECKING:
    from tests.harness.central import CentralNode

PROMPT_END = "cualquier otra respuesta cancela: "


def _stations(node: CentralNode) -> int:
    with psycopg.connect(node.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM stations").fetchone()
    assert row is not None
    return int(row[0])


def test_headless_enrollment_sends_the_code_only_to_the_fingerprint_given(
        central_node: CentralNode, tmp_path: Path) -> None:
    code = central_node.enroll_code(catd=7)
    with SpoofCentral(tmp_path / "spoof") as spoof:
        # The technician was given the impostor's address and no fingerprint.
        bare = station_cmd("enroll", "--data-dir", str(tmp_path / "a"), "--url", spoof.url,
                           "--code", code)
        assert bare.returncode == 2, bare.stdout
        assert "Indique la huella completa del certificado del nodo central con " \
               "--cert-sha256" in bare.stderr
        assert "No se envió el código de alta" in bare.stderr
        # The genuine central's fingerprint, but the impostor's address.
        wrong = station_cmd("enroll", "--data-dir", str(tmp_path / "a"), "--url", spoof.url,
                            "--code", code, "--cert-sha256", central_node.cert_sha256)
        assert wrong.returncode == 2
        assert "posible suplantación" in wrong.stderr
        # The first digits of the impostor's fingerprint are not a fingerprint.
        short = station_cmd("enroll", "--data-dir", str(tmp_path / "a"), "--url", spoof.url,
                            "--code", code, "--cert-sha256", spoof.cert_sha256[:16])
        assert short.returncode == 2
        assert "escriba los 64 dígitos hexadecimales" in short.stderr

        assert spoof.codes_received() == []
        assert [r.path for r in spoof.requests] == []
    assert Station.open(tmp_path / "a").identity is None

    # The code was not spent: with the central's own fingerprint (grouped as its
    # console shows it) the real enrollment goes through.
    done = station_cmd("enroll", "--data-dir", str(tmp_path / "a"), "--url", central_node.url,
                       "--code", code,
                       "--cert-sha256", fingerprint_groups(central_node.cert_sha256).upper())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cert_sha256"] == central_node.cert_sha256
    assert _stations(central_node) == 1


def _enroll_at_terminal(data_dir: Path, url: str, code: str, answer: str
                        ) -> tuple[int, str, str]:
    """``prep station enroll --url`` with a terminal on stdin and stderr (a pty), as a
    technician runs it: waits for the question, types ``answer``. Returns the exit
    code, what the terminal showed and stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "prep", "station", "enroll", "--data-dir",
         str(data_dir), "--url", url, "--code", code],
        stdin=slave, stderr=slave, stdout=subprocess.PIPE, env=env, cwd=REPO)
    os.close(slave)
    shown = b""
    try:
        shown = _read_until(master, PROMPT_END.encode(), process, deadline=time.monotonic() + 60)
        os.write(master, answer.encode() + b"\n")
        out, _ = process.communicate(timeout=60)
        shown += _drain(master)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return process.returncode, shown.decode("utf-8", "replace"), out.decode()


def _read_until(fd: int, marker: bytes, process: subprocess.Popen[bytes],
                deadline: float) -> bytes:
    seen = b""
    while marker not in seen:
        if time.monotonic() > deadline or process.poll() is not None:
            seen += _drain(fd)
            if marker in seen:
                break
            raise AssertionError(f"no question at the terminal; it showed {seen!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                continue
    return seen


def _drain(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0.1)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        out += chunk
    return out


def test_at_a_terminal_the_fingerprint_is_shown_and_confirmed_before_the_code_leaves(
        central_node: CentralNode, tmp_path: Path) -> None:
    code = central_node.enroll_code(catd=7)
    with SpoofCentral(tmp_path / "spoof") as spoof:
        status, shown, out = _enroll_at_terminal(tmp_path / "a", spoof.url, code, "no")
        assert status == 2, shown
        assert fingerprint_groups(spoof.cert_sha256) in shown
        assert "Compárela dígito por dígito con la que muestra la consola" in shown
        assert "No se confirmó la huella del certificado del nodo central: no se envió el " \
               "código de alta." in shown
        assert out == ""
        assert spoof.codes_received() == []

    # The genuine central: the fingerprint shown is its own, «sí» enrolls and pins it.
    status, shown, out = _enroll_at_terminal(tmp_path / "a", central_node.url, code, "sí")
    assert status == 0, shown
    assert fingerprint_groups(central_node.cert_sha256) in shown
    assert json.loads(out)["cert_sha256"] == central_node.cert_sha256
    identity = Station.open(tmp_path / "a").identity
    assert identity is not None and identity.cert_sha256 == central_node.cert_sha256


@pytest.mark.netns
def test_mdns_enrollment_never_hands_the_code_to_an_advertised_impostor() -> None:
    result: dict[str, Any] = run_in_netns(
        "tests.harness.netns_enroll_targets:enroll_with_an_advertised_impostor", timeout=120)
    assert result["interfaces"] == ["lo"]

    no_prefix = result["no_prefix"]
    assert no_prefix["returncode"] == 2, no_prefix["stderr"]
    assert "indique los primeros dígitos (al menos 10) de la huella del certificado" \
           in no_prefix["stderr"]
    assert "No se envió el código de alta" in no_prefix["stderr"]
    assert no_prefix["codes_after"] == []

    short = result["short_prefix"]
    assert short["returncode"] == 2, short["stderr"]
    assert "escriba de 10 a 64 dígitos hexadecimales" in short["stderr"]
    assert short["codes_after"] == []

    # With a way to ask (the terminal, the workstation's screen), the fingerprint found
    # is shown before anything is sent, and declining sends nothing.
    assert result["declined_shown"] == [{"cert": result["cert"], "url": result["url"],
                                         "codes_when_asked": []}]
    assert result["declined"]["error"] == "not_confirmed"
    assert result["declined_enrolled"] is False
    assert result["codes_at_end"] == []
