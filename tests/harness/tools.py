"""Outside programs some tests drive (nginx, pdftoppm): found, or the test does not run.

Where one is missing a developer's run skips the test with what to install; under CI
(``CI=true``, where scripts/bootstrap.sh --test installs them) the test fails instead, as
the netns tests do: a skipped requirement in CI is a defect.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import in_ci


def require_tool(name: str, package: str, *fallbacks: str) -> str:
    """The path of program ``name`` (or of the first existing ``fallbacks``)."""
    found = shutil.which(name) or next((p for p in fallbacks if os.path.exists(p)), None)
    if found is not None:
        return found
    reason = f"{name} no está instalado (paquete Debian {package}; scripts/bootstrap.sh " \
             "--test lo instala)"
    if in_ci():
        pytest.fail(f"{reason}: bajo CI cada prueba debe correr", pytrace=False)
    pytest.skip(reason)
