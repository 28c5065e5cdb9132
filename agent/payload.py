"""Names of the files the media builder places beside the agent executable (the agent finds them there)."""

AGENT_EXE = "prestart.exe"
AGENT_INTERNAL = "_internal"  # PyInstaller onedir: the agent's libraries, beside the exe
PROFILE = "profile.json"  # compiled by the builder (`prestart compile`): JSON is YAML, and read by the json module
PROFILE_YAML = "profile.yaml"  # accepted too, for hand-made media
CATALOG = "catalog.json"  # signed
PUBLIC_KEY = "catalog.pub"
CA_BUNDLE = "ca-bundle.pem"
