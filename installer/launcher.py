"""Entry point of the frozen PREP programs (PyInstaller): one bundle, three programs.

The bundle has one executable, ``prep``; ``catd`` and ``ccv`` are symbolic links to it
(copies named ``catd.exe`` and ``ccv.exe`` on Windows), so the three share one folder of
libraries and one copy of the Python code. Each runs the program it was started as,
exactly as the console scripts of ``pyproject.toml`` do from a source install. The name
comes from ``argv[0]``: the bootloader resolves links, so ``sys.executable`` is always
``prep``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    """Run the program named by this executable (``prep`` for any other name)."""
    # Nothing may be written into the installed bundle (Alembic imports its migrations
    # from files): a __pycache__ there would be a file the build manifest does not list.
    sys.dont_write_bytecode = True
    name = Path(sys.argv[0]).stem.lower()
    if name == "catd":
        from catd.app import main as program
    elif name == "ccv":
        from ccv.app import main as program
    else:
        from central.publication.escritor import ARGUMENTO
        if sys.argv[1:2] == [ARGUMENTO]:  # a central's corte started it to write its files
            from central.publication.escritor import main as escritor
            return escritor(sys.argv[2:])
        from prep.cli import main as program
    return program()


if __name__ == "__main__":
    sys.exit(main())
