"""PyInstaller entry point of the frozen agent: the `prestart` command."""

import gc
import warnings

gc.disable()  # as in agent/__main__.py: nothing loaded at start needs the cyclic collector

from agent import lazypacks  # noqa: E402 (after gc.disable: imports allocate too)

lazypacks.install()  # onefile builds carry Tcl/Tk packed until the wizard imports it

from agent.cli import exit_now, main  # noqa: E402

# The frozen agent leaves out charset_normalizer (packaging/prestart.spec); requests warns about that
# on import although the agent never asks it to guess a text encoding.
warnings.filterwarnings("ignore", message="Unable to find acceptable character detection dependency")

if __name__ == "__main__":
    exit_now(main())
