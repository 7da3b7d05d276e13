"""The CCV reuses the CATD workstation's fixtures (a real central, station, window)."""

from tests.catd.conftest import central  # noqa: F401 - fixtures
from tests.catd.conftest import clock  # noqa: F401 - fixtures
from tests.catd.conftest import context  # noqa: F401 - fixtures
from tests.catd.conftest import printer  # noqa: F401 - fixtures
from tests.catd.conftest import station  # noqa: F401 - fixtures
from tests.catd.conftest import window  # noqa: F401 - fixtures
