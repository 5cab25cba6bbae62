"""`python -m btms` is the `btms` command."""

import sys

from btms.cli import main

sys.exit(main())
