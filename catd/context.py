"""What every part of the workstation shares: the station, the worker lanes, the
wedge detector, the printer and how to find the central."""

from __future__ import annotations

from dataclasses import dataclass

from catd.enrollment import Locate
from catd.enrollment import locate_with_mdns
from catd.taskman import TaskManager
from catd.wedge import WedgeDetector
from prep.station.printing import Printer
from prep.station.station import Station
from prep.station.sync import SyncOptions


@dataclass
class AppContext:
    """Built once by :mod:`catd.app` (or by a test) and handed to the window."""

    station: Station
    tasks: TaskManager
    detector: WedgeDetector
    printer: Printer | None = None
    #: Look for the central with mDNS when its address stops answering.
    discover: bool = True
    locate: Locate = locate_with_mdns
    sync_options: SyncOptions | None = None
    #: A training station (``--capacitacion``): practice actas, no central, every
    #: window marked CAPACITACIÓN (``prep.capacitacion``, ``qtkit.capacitacion``).
    capacitacion: bool = False
