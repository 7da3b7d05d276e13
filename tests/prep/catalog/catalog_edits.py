"""Edits of a catalog directory that tests use to corrupt or re-shape it."""

from __future__ import annotations

import csv
from pathlib import Path


def rows_of(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def set_cell(directory: Path, name: str, line: int, column: str, value: str) -> None:
    """Set one cell; ``line`` is the file line (the header is line 1)."""
    rows = rows_of(directory / name)
    rows[line - 1][rows[0].index(column)] = value
    write_rows(directory / name, rows)


def sin_nombre_de_entidad(d: Path) -> list[str]:
    path = d / "catalogo.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('nombre = "CIUDAD DE MÉXICO"\n', "", 1), encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text
    return ["catalogo.toml", "nombre"]
