"""PyInstaller entry point of the frozen agent: the `prestart` command."""

import gc
import sys
import warnings

gc.disable()  # as in agent/__main__.py

from agent.cli import main  # noqa: E402 (after gc.disable: imports allocate too)

# The frozen agent leaves out charset_normalizer (packaging/prestart.spec); requests warns about that
# on import although the agent never asks it to guess a text encoding.
warnings.filterwarnings("ignore", message="Unable to find acceptable character detection dependency")

if __name__ == "__main__":
    sys.exit(main())
