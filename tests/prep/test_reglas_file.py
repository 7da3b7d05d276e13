"""The rules file shipped in resources/ is the documented default, and a changed rule
reaches the published CSV."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prep.rules import DEFAULT_RULES, RuleSet

REGLAS = Path(__file__).resolve().parents[2] / "resources" / "reglas.toml"


def test_shipped_rules_file_is_the_default() -> None:
    assert RuleSet.from_toml(REGLAS) == DEFAULT_RULES


# A whole drill (≈75 s alone): room for a busy machine; the timeout only catches a hang.
@pytest.mark.timeout(900)
def test_a_changed_label_is_what_the_drill_publishes(tmp_path: Path) -> None:
    custom = tmp_path / "reglas.toml"
    custom.write_text(REGLAS.read_text(encoding="utf-8").replace(
        'excede = "Excede Lista Nominal"', 'excede = "Rebasa la Lista Nominal"'),
        encoding="utf-8")
    out = tmp_path / "sim"
    done = subprocess.run(
        [sys.executable, "-m", "prep", "simulacro", "--scale", "0.01", "--out", str(out),
         "--reglas", str(custom)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    # The drill's central published every corte with the changed label.
    cortes = sorted(p for p in (out / "publicacion").iterdir()
                    if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    texts = [(c / "JEFATURA_DE_GOBIERNO.csv").read_text(encoding="utf-8-sig")
             for c in cortes]
    assert texts and "Rebasa la Lista Nominal" in texts[-1]
    assert not any("Excede Lista Nominal" in text for text in texts)


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
