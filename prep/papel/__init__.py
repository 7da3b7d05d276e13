"""Formal simulacros with paper (issue 32): the committee's expected results
(:mod:`.esperados`), the printable actas of every CATD (:mod:`.actas`) and the simulacro
report comparing a published corte with them (:mod:`.informe`).

Qt-free; ``prep simulacro preparar`` and ``prep simulacro informe`` (:mod:`simulacro.papel`)
are the commands over it.
"""
