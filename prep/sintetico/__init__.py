"""Synthetic election data for drills, tests and benchmarks: the acta images a scanner or
a phone would produce (:mod:`.acta_image`), what the operators would have captured
(:mod:`.capturas`) and the drill's plan, its ground truth and script (:mod:`.plan`).

The drill that plays them through the real central and stations is the ``simulacro``
program (``prep simulacro``), built on this core.
"""
