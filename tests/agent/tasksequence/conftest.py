"""Optional tests over real sequences kept outside the repository run only when PRESTART_EXTRA_TS is set."""

import os

collect_ignore = [] if os.environ.get("PRESTART_EXTRA_TS") else ["test_extra_sequences.py"]
