"""`python -m tools.cli`: the same as the `tms` console script."""

import sys

from tools.cli import main

sys.exit(main())
