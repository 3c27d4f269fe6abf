"""`python -m console` runs the same command as `switchboard`."""

import sys

from console.cli import main

if __name__ == "__main__":  # a worker process (tone_pool) imports this module too
    sys.exit(main())
