"""PyInstaller entry point of the frozen agent: the `prestart` command."""

import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
