"""prep/corte's imports, read from the source with ast (every import: at the top, in a
function, under ``if TYPE_CHECKING:``): no import circle among its modules, and the
corte's arithmetic reaches no cache (issue 65; pyproject's import contracts say the
same through import-linter)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import prep.corte

pytestmark = pytest.mark.rapido

PAQUETE = Path(prep.corte.__file__).parent

#: The regulated arithmetic: the summary's truncated percentages, the rules, each
#: file's rows.
ARITMETICA = ("summary", "anexo", "historial", "trayectoria", "salud_catd", "model",
              "difusores", "candidaturas", "leeme", "site", "site_textos", "site_areas",
              "site_candidaturas", "site_datos", "site_historial")
#: ``verify-corte``, what auditors run: it shares no cache code with the publisher.
VERIFY = ("verify", "verify_candidaturas", "verify_historial", "verify_mesas",
          "verify_participacion", "verify_salud_catd", "verify_sitio", "reader",
          "nombres", "archivos", "archivo", "insumos")
#: The incremental engine: what a running central keeps between cortes.
CACHES = ("tramos", "paquete_tramos", "site_tramos", "memo", "carrete")


def imports(paquete: Path, nombre: str) -> dict[str, set[str]]:
    """Per module of the package at ``paquete`` (named ``nombre``), the package's
    modules it imports anywhere in its source."""
    modulos: dict[str, Path] = {}
    for path in paquete.rglob("*.py"):
        partes = list(path.relative_to(paquete).with_suffix("").parts)
        if partes[-1] == "__init__":
            partes.pop()
        modulos[".".join([nombre, *partes])] = path
    aristas: dict[str, set[str]] = {m: set() for m in modulos}
    for modulo, path in modulos.items():
        es_paquete = path.name == "__init__.py"
        for nodo in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(nodo, ast.Import):
                destinos = [a.name for a in nodo.names]
            elif isinstance(nodo, ast.ImportFrom):
                base = nodo.module or ""
                if nodo.level:
                    partes = modulo.split(".")[:len(modulo.split(".")) - nodo.level
                                                + (1 if es_paquete else 0)]
                    base = ".".join([*partes, *([nodo.module] if nodo.module else [])])
                # ``from pkg import mod`` imports the module, not the package's names
                destinos = [f"{base}.{a.name}" if f"{base}.{a.name}" in modulos else base
                            for a in nodo.names]
            else:
                continue
            aristas[modulo].update(d for d in destinos if d in modulos and d != modulo)
    return aristas


def circulos(aristas: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``aristas``: each strongly connected set of more than one
    module (Tarjan's algorithm, iterative), sorted."""
    indice: dict[str, int] = {}
    bajo: dict[str, int] = {}
    pila: list[str] = []
    en_pila: set[str] = set()
    hallados: list[list[str]] = []
    for raiz in sorted(aristas):
        if raiz in indice:
            continue
        trabajo = [(raiz, iter(sorted(aristas[raiz])))]
        indice[raiz] = bajo[raiz] = len(indice)
        pila.append(raiz)
        en_pila.add(raiz)
        while trabajo:
            v, siguientes = trabajo[-1]
            w = next(siguientes, None)
            if w is not None:
                if w not in indice:
                    indice[w] = bajo[w] = len(indice)
                    pila.append(w)
                    en_pila.add(w)
                    trabajo.append((w, iter(sorted(aristas[w]))))
                elif w in en_pila:
                    bajo[v] = min(bajo[v], indice[w])
                continue
            trabajo.pop()
            if trabajo:
                bajo[trabajo[-1][0]] = min(bajo[trabajo[-1][0]], bajo[v])
            if bajo[v] == indice[v]:
                componente = []
                while True:
                    w = pila.pop()
                    en_pila.discard(w)
                    componente.append(w)
                    if w == v:
                        break
                if len(componente) > 1:
                    hallados.append(sorted(componente))
    return sorted(hallados)


def alcanzables(aristas: dict[str, set[str]], desde: str) -> set[str]:
    vistos: set[str] = set()
    pendientes = [desde]
    while pendientes:
        for w in aristas[pendientes.pop()] - vistos:
            vistos.add(w)
            pendientes.append(w)
    return vistos


def test_prep_corte_has_no_import_circle_type_only_imports_included() -> None:
    assert circulos(imports(PAQUETE, "prep.corte")) == []


def test_the_corte_arithmetic_and_verify_corte_reach_no_cache() -> None:
    aristas = imports(PAQUETE, "prep.corte")
    cache = {f"prep.corte.{m}" for m in CACHES}
    assert cache <= aristas.keys()
    # "prep.corte" is the package's __init__, which importing any of them runs first
    for modulo in ("prep.corte", *(f"prep.corte.{m}" for m in ARITMETICA + VERIFY)):
        assert not alcanzables(aristas, modulo) & cache, modulo


def test_a_circle_through_a_type_only_import_is_found(tmp_path: Path) -> None:
    paquete = tmp_path / "paq"
    paquete.mkdir()
    (paquete / "__init__.py").write_text("")
    (paquete / "a.py").write_text("from paq.b import B\n")
    (paquete / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from paq import c\n")
    (paquete / "c.py").write_text("def f():\n    from . import a\n")
    (paquete / "d.py").write_text("from .a import x\n")
    aristas = imports(paquete, "paq")
    assert circulos(aristas) == [["paq.a", "paq.b", "paq.c"]]
    assert alcanzables(aristas, "paq.d") == {"paq.a", "paq.b", "paq.c"}
