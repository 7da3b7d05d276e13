"""The programs built on the core, imported by name only when they are installed.

The core never depends on them statically (prep ← central, never prep → central): an
auditor's machine has the core alone, a station has no central.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_module(name: str) -> ModuleType | None:
    """Module ``name``, or ``None`` if it (or a package it is in) is not installed.
    Anything else missing while it is imported is a real error and is raised."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):
            raise
        return None
