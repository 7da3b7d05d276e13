"""Text that a spreadsheet would run as a formula (CSV formula injection, issue 36).

Catalog names (elecciones, cabeceras, asociaciones, candidaturas) end up in the
published CSV files, and operator names in the credentials file printed as envelopes;
both are opened in spreadsheets, which take a cell starting with ``=``, ``+``, ``-`` or
``@`` (or a tab or carriage return before one) as a formula: ``=HYPERLINK(…)`` in a
candidate's name would run on every reader's machine. The catalog refuses such names
when it is loaded (:func:`formula_start`, ``docs/catalogo.md``); files the suite writes
from other people's text neutralise them (:func:`spreadsheet_safe`).
"""

from __future__ import annotations

#: First characters a spreadsheet reads as the start of a formula (with their
#: full-width forms, which some spreadsheets convert on input).
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_NAMES = {"\t": "un tabulador", "\r": "un retorno de carro", "\n": "un salto de línea"}


def formula_start(text: str) -> str | None:
    """The character ``text`` starts with (ignoring leading spaces) that would make a
    spreadsheet read it as a formula, or ``None``."""
    stripped = text.lstrip(" ")
    if stripped and stripped[0] in FORMULA_STARTS:
        return stripped[0]
    return None


def describe_start(char: str) -> str:
    """``«=»``, or the name of an invisible character, for a message."""
    return _NAMES.get(char, f"«{char}»")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: a leading apostrophe when
    it would start a formula (the usual neutralisation; the apostrophe is visible in a
    plain text editor)."""
    return f"'{text}" if formula_start(text) is not None else text
