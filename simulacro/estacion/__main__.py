"""``python -m simulacro.estacion CONFIG.json``: one drill station, on its own."""

import sys

from simulacro.estacion.arranque import main

sys.exit(main(sys.argv[1:]))
