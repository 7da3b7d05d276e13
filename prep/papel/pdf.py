"""The page of the simulacro's documents for the committee: SIMULACRO in the header of
every page, the page number in the footer, over the look of every PREP document
(:mod:`prep.pdf_look`).
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.platypus import Flowable

from prep.pdf_look import lay_out

SIMULACRO = colors.HexColor("#b3261e")
SIMULACRO_AVISO = "Documento de un simulacro: sus datos no son resultados de ninguna elección."


def write(path: Path, title: str, story: list[Flowable], subtitle: str = "",
          marca: str = "SIMULACRO", aviso: str = SIMULACRO_AVISO,
          author: str = "PREP, simulacro con papel") -> None:
    """Lay out ``story`` into ``path``, ``marca`` (SIMULACRO; CAPACITACIÓN for the
    training reports) in the header of every page and ``aviso`` in its footer."""
    heading = f"{marca} · PREP · {title}"
    lay_out(path, story, title=heading, author=author, header=heading, subtitle=subtitle,
            footer=aviso, header_font=("Helvetica-Bold", 8, SIMULACRO))
