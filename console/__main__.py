"""`python -m console` runs the same command as `switchboard`."""

import sys

from console.cli import main

sys.exit(main())
