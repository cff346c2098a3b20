"""`python -m vton.cli`, the same as the `vton` command."""

import sys

from vton.cli import main

sys.exit(main())
