"""PyInstaller entry point of the frozen agent: the `prestart` command."""

import sys
import warnings

from agent.cli import main

# The frozen agent leaves out charset_normalizer (packaging/prestart.spec); requests warns about that
# on import although the agent never asks it to guess a text encoding.
warnings.filterwarnings("ignore", message="Unable to find acceptable character detection dependency")

if __name__ == "__main__":
    sys.exit(main())
