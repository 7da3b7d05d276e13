"""Render the CCV's PREP Casilla panel at 1366×768 to ``docs/screens/ccv_casilla.png``
with realistic numbers (an election night's intake as ``GET /v1/ccv/intake`` answers
it; no central is started). The CCV's captura and verificación screens are the CATD's
(``scripts/render_work_screens.py``).

    QT_QPA_PLATFORM=offscreen python3 scripts/render_ccv.py [--out docs/screens]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

from offscreen import REPO
from offscreen import application
from offscreen import save_grab

from catd.casilla.presenter import IntakePresenter
from catd.casilla.view import IntakePanel
from catd.taskman import TaskManager
from prep.station.ccv import IntakeCounts
from prep.station.station import Station

COUNTS = IntakeCounts(
    recibidas=18_432, aceptadas=17_905,
    rechazadas={"en_blanco": 61, "sin_qr": 302, "incompleta": 48, "duplicado": 97,
                "acta_desconocida": 11, "tipo_no_admitido": 8},
    en_captura=2_214, redigitalizacion=37, validadas=15_654, validadas_con_foto=9_861,
    at="2027-06-07T05:12:44.000000Z")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    args = parser.parse_args()
    application()
    # The presenter only asks the central once the panel is shown; grab() never shows
    # it, so no station is needed here.
    panel = IntakePanel(IntakePresenter(cast(Station, None), TaskManager()))
    panel.resize(1366, 768)
    panel.show_counts(COUNTS)
    panel.ensurePolished()
    args.out.mkdir(parents=True, exist_ok=True)
    save_grab(panel, args.out / "ccv_casilla.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
