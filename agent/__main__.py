"""Entry point for `python -m agent`."""

import gc
import sys

# Everything a run loads (modules, the profile, a catalog of thousands of items) lives until exit, so the
# cyclic collector would only rescan it; the wizard, which may stay open for an hour, turns it back on
# after gc.freeze() (agent.run._interactive).
gc.disable()

from agent.cli import main  # noqa: E402 (after gc.disable: imports allocate too)

sys.exit(main())
