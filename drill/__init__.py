"""The drill (simulacro): a whole election night, end to end, with a verdict.

A program built on the core, as ``central`` is: ``prep simulacro`` (:mod:`.cli`) runs the
full drill (:mod:`.drill`) through the real central and stations, or the in-memory one
(:mod:`.run`, ``--rapido``). Its synthetic data (the acta images, the captures, the plan)
comes from :mod:`prep.sintetico`. Never imported by ``prep`` and never imports Qt (import
contracts in ``pyproject.toml``).

Named ``drill`` rather than ``simulacro``: ``./simulacro`` is the command's default
output directory (``--out``), and from the repository's root a package there would be
refused as «not a drill's output».
"""
