import sys

from ccv.app import main

sys.exit(main())
