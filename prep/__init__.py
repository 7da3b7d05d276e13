"""PREP core library: catalog, actas and QR, captured values, rules, cortes.

Qt-free by contract (see ``pyproject.toml`` [tool.importlinter]).
"""

__version__ = "0.1.0"
