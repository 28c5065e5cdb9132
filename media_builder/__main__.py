"""Entry point for `python -m media_builder`."""

import sys

from media_builder.cli import main

sys.exit(main())
