"""Run a function inside a private network namespace (``unshare -n``).

The namespace has only a loopback interface, brought up with multicast enabled and a
224.0.0.0/4 route, so mDNS and other multicast traffic stays inside it and never
reaches the machine's real interfaces.

The parent (:func:`run_in_netns`) starts ``unshare -n python -m tests.harness.netns
TARGET ARGS_JSON``. The child (this module's ``__main__``) sets up loopback, refuses to
go on if any interface other than ``lo`` is visible, calls the target with the decoded
arguments and prints the JSON-encoded result on a marked last line of stdout.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULT_MARKER = "@@prep-netns-result@@ "
"""Prefix of the stdout line that carries the child's JSON result."""

_CHILD_MODULE = "tests.harness.netns"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_LOOPBACK_SETUP = (
    ("ip", "link", "set", "lo", "up"),
    ("ip", "link", "set", "lo", "multicast", "on"),
    ("ip", "route", "add", "224.0.0.0/4", "dev", "lo"),
)


class NetnsError(RuntimeError):
    """The namespace could not be made, or the target failed inside it."""


def _unshare_command() -> list[str]:
    # Root can make a network namespace directly; anyone else needs a user namespace
    # (mapped to root inside it) to be allowed to.
    return ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]


def run_in_netns(target: str, *args: Any, timeout: float = 60) -> Any:
    """Call ``target`` (``"package.module:function"``) with JSON-serializable ``args``
    in a fresh network namespace and return its JSON-decoded result.

    The child runs with ``-W error`` like the test suite. Raises :class:`NetnsError`
    with the child's output if it fails, and ``subprocess.TimeoutExpired`` after
    ``timeout`` seconds.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    command = [
        *_unshare_command(),
        sys.executable,
        "-W",
        "error",
        "-m",
        _CHILD_MODULE,
        target,
        json.dumps(list(args)),
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    lines = proc.stdout.rstrip("\n").splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith(RESULT_MARKER):
        raise NetnsError(
            f"{target} failed in a network namespace (exit {proc.returncode})\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return json.loads(lines[-1].removeprefix(RESULT_MARKER))


def interface_names() -> list[str]:
    """Names of the network interfaces visible to this process."""
    return sorted(name for _, name in socket.if_nameindex())


@functools.cache
def netns_available() -> tuple[bool, str]:
    """Whether :func:`run_in_netns` works here, and if not, why (for a skip reason)."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return False, f"`{tool}` not found (install util-linux and iproute2)"
    try:
        names = run_in_netns(f"{_CHILD_MODULE}:interface_names", timeout=30)
    except (NetnsError, OSError, subprocess.TimeoutExpired) as error:
        return False, f"cannot make a network namespace: {error}"
    if names != ["lo"]:
        return False, f"namespace has unexpected interfaces: {names}"
    return True, "network namespaces available"


def _set_up_loopback() -> None:
    names = interface_names()
    if names != ["lo"]:
        # Not a private namespace: touching routes or sending multicast here would
        # reach the machine's real network. Checked before changing anything.
        raise NetnsError(f"refusing to run outside a private namespace; interfaces: {names}")
    for command in _LOOPBACK_SETUP:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise NetnsError(f"{' '.join(command)}: {done.stderr.strip()}")


def _resolve(target: str) -> Any:
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"target must be 'package.module:function', got {target!r}")
    return getattr(importlib.import_module(module_name), attribute)


def _child_main(argv: list[str]) -> int:
    """Entry point inside the namespace: ``TARGET ARGS_JSON``."""
    target, args_json = argv
    _set_up_loopback()
    result = _resolve(target)(*json.loads(args_json))
    encoded = json.dumps(result)
    sys.stdout.flush()
    print(f"\n{RESULT_MARKER}{encoded}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
