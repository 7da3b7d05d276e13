"""``python -m drill.estacion CONFIG.json``: one drill station, on its own."""

import sys

from drill.estacion.arranque import main

sys.exit(main(sys.argv[1:]))
