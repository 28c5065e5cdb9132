"""Send a run's receipt to the profile's audit URL; a failed send is logged and never changes the run's outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.log import get_logger

log = get_logger("prestart.audit")

DEFAULT_TIMEOUT = 5.0  # seconds for the whole send; the run is over and the person is waiting for the reboot


def send_receipt(url: str, receipt: dict[str, Any], *, ca_bundle: Path | None, timeout: float = DEFAULT_TIMEOUT) -> str:
    """POST the (already masked) receipt as JSON through agent.net; return a one-line note. Never raises."""
    try:
        from agent.net import post_json, where

        shown = where(url) or "the audit URL"
        reply = post_json(url, receipt, ca_bundle=ca_bundle, timeout=timeout)
        note = f"receipt sent to {shown} ({reply.status})"
        log.info("%s", note)
        return note
    except Exception as exc:  # an audit failure must never fail or block the run
        from agent.errors import PrestartError

        reason = exc.message if isinstance(exc, PrestartError) else f"{exc.__class__.__name__}"
        note = f"receipt not sent to the audit URL: {reason}; it stays in the log folder"
        log.warning("%s", note)
        return note
