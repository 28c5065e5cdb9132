"""What an engine object must have at run time: hooks.base.Hook's members (mypy checks their types)."""

from __future__ import annotations

HOOK_MEMBERS = ("detect", "store", "prepare_ui", "log_dir", "facts", "power")


def implements_hook(obj: object) -> bool:
    """True when `obj` has a text `name` and every method of hooks.base.Hook."""
    return isinstance(getattr(obj, "name", None), str) and all(callable(getattr(obj, m, None)) for m in HOOK_MEMBERS)
