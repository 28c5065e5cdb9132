"""Entry point for `python -m agent`."""

import gc

# A run allocates a few hundred thousand objects that all live until exit (modules, the profile, a
# 10,000-item catalog); the cyclic collector would rescan them again and again for nothing: half the
# time of a large headless run (bench/tried.md). The interactive wizard turns it back on
# (agent.run._interactive); a headless run exits within a second.
gc.disable()

from agent.cli import exit_now, main  # noqa: E402 (after gc.disable: imports allocate too)

exit_now(main())
