"""One virtual station of the drill, in its own process: ``python -m
simulacro.estacion CONFIG.json`` (started by :mod:`simulacro.estaciones`
through :mod:`simulacro.zygote`).

It drives the **real** station services over its own data directory (SQLite + blobs)
with virtual operators, each in a thread: the acopiador registers arrivals when their
simulated minute comes (acopio, sin acta, fuera de catálogo, a QR read twice); the
digitalizador renders the acta's image and drops it into the scanner's hot folder,
watched by the real :class:`~prep.station.scan.service.DigitalizacionService`;
capturistas and the verificador take leased work from the central through
:class:`~prep.station.work.WorkQueue` and type what the image says, with the mistakes
the plan gives them; at a CATD the verificador also cotejos a share of the published
actas against the paper (the truth) and names the fields that differ, which opens a
correction round; the sync agent delivers everything in the background.

Everything resumes after a ``SIGKILL``: arrivals already recorded are skipped (the
local store knows them), files left in the hot folder are picked up again and held
leases are in SQLite. ``SIGUSR1`` cuts the link to the central (sync stopped, no new
work asked for; held work goes on), ``SIGUSR2`` restores it, ``SIGTERM`` ends the
station after delivering what it can. Progress goes to the ``estado`` JSON file.

One module per part: :mod:`.base` (state, clock, counters, status file),
:mod:`.acopio`, :mod:`.digitalizacion`, :mod:`.captura` (capturistas and verificador),
:mod:`.cotejo`, :mod:`.virtual` (all of them together: start, resume, link, stop) and
:mod:`.arranque` (the process: signals and main loop).
"""

from simulacro.estacion.acopio import paquete_de
from simulacro.estacion.arranque import main
from simulacro.estacion.virtual import VirtualStation

__all__ = ["VirtualStation", "main", "paquete_de"]
