"""The control-room dashboard (``prep dashboard``): the only Qt part of ``central``.

``data`` (what the dashboard and the reports read, one snapshot), ``actions`` (the
coordinators' audited writes), ``gate`` and ``cli`` are Qt-free; every other module is
PySide6 and is imported only when the dashboard runs.
"""
