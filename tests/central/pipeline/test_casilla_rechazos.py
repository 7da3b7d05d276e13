"""Every reason the PREP Casilla intake can give for rejecting a photo is declared once,
with its Spanish name, in prep/casilla_rechazos.toml: what a coordinator reads on the
CCV's intake panel instead of an id such as ``datos_anexos``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from central.pipeline import intake
from prep.casilla_rechazos import nombre
from prep.casilla_rechazos import rechazos
from prep.station.scan.quality import Motivo

pytestmark = pytest.mark.rapido

INTAKE = Path(intake.__file__)


def test_every_reason_the_intake_gives_is_declared_and_every_declared_one_given() -> None:
    image_check = {m.value for m in Motivo}
    own = {intake.ACTA_DESCONOCIDA, intake.DUPLICADO, intake.NO_ES_IMAGEN}
    declared = rechazos()

    assert set(declared) == image_check | own
    assert {m for m, r in declared.items() if r.origen == "imagen"} == image_check
    assert {m for m, r in declared.items() if r.origen == "intake"} == own


def test_the_intake_never_gives_an_undeclared_literal_reason() -> None:
    tree = ast.parse(INTAKE.read_text("utf-8"), str(INTAKE))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == "_reject"]
    assert len(calls) >= 4  # the search finds the rejections
    for call in calls:
        for node in ast.walk(call.args[0]):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value in rechazos(), f"line {call.lineno}: {node.value!r}"


def test_each_reason_has_its_own_spanish_name() -> None:
    names = [r.nombre for r in rechazos().values()]
    assert len(set(names)) == len(names)
    for motivo, rechazo in rechazos().items():
        assert nombre(motivo) == rechazo.nombre != motivo
        assert rechazo.nombre[:1].isupper(), rechazo.nombre
    assert nombre("datos_anexos") == "Archivo con datos añadidos después de la imagen"
    # A reason a newer central gives and this version does not know is shown, not hidden.
    assert nombre("motivo_nuevo") == "motivo_nuevo"
