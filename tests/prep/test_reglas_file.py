"""The rules file shipped in resources/ is the documented default, and a bad one is refused
with a specific message. That a changed rule reaches every published corte is shown by the
suite's one drill, which runs under a changed rules file
(``tests/simulacro/test_drill.py::test_a_changed_rule_label_is_what_every_corte_publishes``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

pytestmark = pytest.mark.rapido

REGLAS = Path(__file__).resolve().parents[2] / "resources" / "reglas.toml"


def test_shipped_rules_file_is_the_default() -> None:
    assert RuleSet.from_toml(REGLAS) == DEFAULT_RULES


@pytest.mark.parametrize("toml, message", [
    ("bogus = 1\n", "clave desconocida 'bogus'"),
    ('participacion = "X"\n', 'participacion debe ser "S_CS" o "C_CS"'),
    ("[sin_acta]\nno_existe = 'x'\n", "causa sin acta desconocida 'no_existe'"),
    ("excede = 3\n", "excede debe ser un texto"),
    ('contabiliza_ilegible = "si"\n', "contabiliza_ilegible debe ser true o false"),
    # Found by bench/fuzz.py: a list where a text goes was an unhandled TypeError, and a
    # file that is not UTF-8 or not TOML an English message naming nothing.
    ("participacion = []\n", 'participacion debe ser "S_CS" o "C_CS"'),
    ("participacion_ultimo_corte = { a = 1 }\n", "participacion_ultimo_corte debe ser"),
    ('separador = ", \n', r"reglas: reglas\.toml no es TOML válido \(.*line 1"),
])
def test_bad_rules_file_is_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "reglas.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        RuleSet.from_toml(path)


def test_a_rules_file_that_is_not_utf8_is_refused_in_spanish(tmp_path: Path) -> None:
    path = tmp_path / "reglas.toml"
    path.write_bytes('excede = "Rebasa"\nilegible = "Ilegible"\n'.encode("latin-1")
                     + "sin_dato = \"Sin información\"\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"reglas: reglas\.toml no es texto UTF-8 \(byte 65\)"):
        RuleSet.from_toml(path)
