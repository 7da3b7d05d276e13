"""Every help text of ``prep`` is the committed one (issue 66: moving code changes none).

The dump (:mod:`tests.harness.cli_ayuda`) walks the whole parser tree in a process with
a fixed environment; the snapshot is ``tests/data/cli_ayuda.txt``. A help text changed
on purpose is committed with its snapshot written again.
"""

from __future__ import annotations

import re

from tests.harness.cli_ayuda import INSTANTANEA
from tests.harness.cli_ayuda import ORDEN
from tests.harness.cli_ayuda import diferencia
from tests.harness.cli_ayuda import volcar_aparte


def test_every_help_text_is_the_committed_one() -> None:
    actual = volcar_aparte()
    cambio = diferencia(actual, INSTANTANEA.read_text(encoding="utf-8"))
    assert not cambio, (
        f"las ayudas de prep ya no son las de {INSTANTANEA.name}:\n{cambio}\n"
        f"Si el cambio es a propósito, reescriba la instantánea con «{ORDEN}» y "
        f"súbala con el cambio.")


def test_the_dump_reaches_every_level_of_the_tree() -> None:
    """A pass means something only if the walk went down the tree: programs of several
    plugins, their subcommands and the subcommands of those."""
    progs = re.findall(r"^=+ (prep.*)$", volcar_aparte(), re.MULTILINE)
    for prog in ("prep", "prep central", "prep central operator add", "prep dashboard",
                 "prep catd", "prep difusor run", "prep capacitacion informe",
                 "prep auditoria verificar", "prep simulacro noche",
                 "prep station enroll"):
        assert prog in progs, prog
    assert len(progs) == len(set(progs)), "un parser aparece dos veces"
