"""The control-room dashboard (``prep dashboard``): a PySide6 program beside ``catd`` and
``ccv``, drawing the central's Qt-free model (:mod:`central.controlroom`: the snapshot it
reads, the coordinators' login and audited writes, when to read again).

``cli`` (what ``prep`` imports to build its parser) and ``stations`` are Qt-free; every
other module is PySide6 and is imported only when the dashboard runs. No program imports
this package: ``prep.cli`` loads ``dashboard.cli`` by name (pyproject's import contracts).
"""
