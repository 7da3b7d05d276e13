"""Every reason the PREP Casilla intake can give has a Spanish name on the CCV panel
(a raw id such as ``datos_anexos`` means nothing to a coordinator): catd.casilla."""

from __future__ import annotations

import pytest

from catd.casilla.view import MOTIVOS
from prep.station.scan.quality import Motivo

pytestmark = pytest.mark.rapido


def test_every_rejection_reason_has_a_spanish_name() -> None:
    intake_only = {"acta_desconocida", "duplicado"}  # central/pipeline/intake.py's own
    assert {m.value for m in Motivo} | intake_only <= MOTIVOS.keys()
