"""The end of a run: everything that can fail is done or proven first, then the variables are committed, then
nothing can turn that success into a failure (docs/security.md, "All or nothing")."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from agent import files
from agent.errors import InputError
from agent.log import get_logger
from agent.receipt import Receipt
from agent.variables import name_problem, value_problem

log = get_logger("prestart.commit")


class Prepared(NamedTuple):
    """A run's end, ready to commit: the variables, and the success receipt already on disk under a temp name."""

    variables: dict[str, str]
    secret_names: frozenset[str]  # folded names of variables whose values are never logged
    receipt_path: Path
    staged_receipt: Path | None  # None: the log folder cannot be written (a warning, as it always was)
    audit: dict[str, Any] | None  # the receipt as the audit URL gets it, or None without audit


class AuditTarget(NamedTuple):
    """Where and how long: the profile's audit URL, the CA bundle and the budget in seconds."""

    url: str
    ca_bundle: Path | None
    timeout: float


def prepare(
    variables: Mapping[str, str],
    secret_names: frozenset[str],
    receipt: Receipt,
    receipt_path: Path,
    *,
    audit: bool,
) -> Prepared:
    """Check the variables, render the success receipt and write it beside its real name; raise on anything
    wrong, before a single variable is written."""
    values = dict(variables)
    problems = [why for name, value in values.items() if (why := name_problem(name) or value_problem(name, value))]
    if problems:
        raise InputError(
            "cannot commit variables: " + "; ".join(problems), "fix the profile's variable names or values"
        )
    receipt.result = "success"
    receipt.exit_code = 0
    receipt.message = ""
    data = receipt.render()
    audit_body = receipt.to_dict() if audit else None
    staged: Path | None
    try:
        staged = files.stage_bytes(receipt_path, data)
    except OSError as exc:  # the run never depended on its log folder: say so, and go on without a receipt
        log.warning("cannot write the receipt %s: %s", receipt_path, exc.strerror or exc)
        staged = None
    return Prepared(values, secret_names, receipt_path, staged, audit_body)


def discard(prepared: Prepared) -> None:
    """The commit failed: remove the staged success receipt (the failure receipt replaces it)."""
    if prepared.staged_receipt is not None:
        with contextlib.suppress(OSError):
            prepared.staged_receipt.unlink()


def after_commit(prepared: Prepared, store_name: str, audit: AuditTarget | None) -> None:
    """Publish the receipt, log what was set, send the audit within its budget. Never raises: the variables
    are written and the boot engine is about to read them, so only the log may hear about a problem here."""
    try:
        if prepared.staged_receipt is not None:
            files.publish(prepared.staged_receipt, prepared.receipt_path)
    except Exception as exc:
        discard(prepared)
        with contextlib.suppress(Exception):
            log.warning("the variables are committed, but the receipt could not be written: %s", exc)
    with contextlib.suppress(Exception):  # a log that cannot be written must not fail a committed run
        log.info("committed %d variables through %s", len(prepared.variables), store_name)
        for name, value in prepared.variables.items():
            log.info("  %s = %s", name, "********" if name.casefold() in prepared.secret_names else value)
    if audit is not None and prepared.audit is not None:
        send_within(audit, prepared.audit)


def send_within(audit: AuditTarget, body: dict[str, Any]) -> None:
    """POST the receipt, waiting at most its budget whatever the server does; never raises.

    agent.net bounds the whole call too; the thread here is the promise's last line: the hand-off to the
    boot engine waits for nothing longer than `audit.timeout`.
    """

    def send() -> None:
        with contextlib.suppress(Exception):
            from agent.audit import send_receipt

            send_receipt(audit.url, body, ca_bundle=audit.ca_bundle, timeout=audit.timeout)

    worker = threading.Thread(target=send, name="prestart-audit", daemon=True)
    with contextlib.suppress(Exception):  # no thread, no audit: the run's outcome is settled either way
        worker.start()
        worker.join(audit.timeout + 0.5)
        if worker.is_alive():
            log.warning("receipt not sent to the audit URL within %g s; it stays in the log folder", audit.timeout)
