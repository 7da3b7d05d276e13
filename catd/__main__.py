"""``python3 -m catd``: the CATD workstation."""

import sys

from catd.app import main

sys.exit(main())
