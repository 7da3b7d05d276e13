"""The CCV reuses the CATD workstation's fixtures (a real central, station, window)."""

from tests.catd.conftest import (  # noqa: F401 - fixtures
    central,
    clock,
    context,
    printer,
    station,
    window,
)
