"""The drill (simulacro): a whole election night, end to end, with a verdict.

A program built on the core, as ``central`` is: ``prep simulacro`` (:mod:`.cli`) runs the
full drill (:mod:`.drill`) through the real central and stations, or the in-memory one
(:mod:`.run`, ``--rapido``). Its synthetic data (the acta images, the captures, the plan)
comes from :mod:`prep.sintetico`. Never imported by ``prep`` and never imports Qt (import
contracts in ``pyproject.toml``).

Its output goes by default to ``./salida-simulacro`` (``--out``), not to a directory
named like this package, which the drill would refuse as «not a drill's output» when run
from the repository's root.
"""
