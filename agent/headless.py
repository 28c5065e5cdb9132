"""The headless driver: answer the flow's pages from an answers file, as an unattended run does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import Cancelled, InputError, NotFound, NotReady
from agent.flow import Flow, State
from agent.log import get_logger
from agent.yamlio import load_file

log = get_logger("prestart.headless")


def load_answers(path: str | Path) -> dict[str, Any]:
    """An answers file: field id -> value, confirm page id -> typed text (or true)."""
    located = load_file(path)
    if located.data is None:
        return {}
    if not isinstance(located.data, dict):
        raise InputError(f"{path}: answers must be a mapping of field id to value", "write `field_id: value` lines")
    from agent.safejson import too_deep
    from agent.yamlio import MAX_DEPTH

    if too_deep(located.data, MAX_DEPTH):  # JSON answers skip PyYAML's depth check; answers are small
        raise InputError(
            f"{path}: nested more than {MAX_DEPTH} levels deep", "answer each field with one value or a list"
        )
    return {str(k): v for k, v in located.data.items()}


def _answer_ids(flow: Flow) -> dict[str, str]:
    ids: dict[str, str] = {}
    for page in flow.profile.pages:
        if page.type in ("confirm", "login"):
            ids[page.id.casefold()] = page.type
        for fld in page.fields:
            ids[fld.id.casefold()] = "field"
    return ids


def run(flow: Flow, answers: Mapping[str, Any], *, source: str = "answers", ca_bundle: Path | None = None) -> State:
    """Drive every visible page; return the final state or raise the error that sets the exit code."""
    known = _answer_ids(flow)
    unknown = [k for k in answers if k.casefold() not in known]
    if unknown:
        raise InputError(
            f"{source}: unknown id{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            f"answer fields by id and confirm pages by page id: {', '.join(sorted(known))}",
        )
    # Answers are matched to ids case-insensitively, like every other name.
    folded = {k.casefold(): v for k, v in answers.items()}

    failed = [r for r in flow.preflight() if r.blocking]
    if failed:
        raise NotReady(
            "preflight failed: " + "; ".join(f"{r.name}: {r.message}" for r in failed),
            "fix the machine and run again",
        )

    for page in flow.profile.pages:
        if page.type != "form":
            continue
        for fld in page.fields:
            if fld.id.casefold() in folded:
                flow.answers[fld.id] = folded[fld.id.casefold()]

    from agent.flow import FieldError

    state = flow.base.copy()
    for page in flow.profile.pages:
        if not flow.page_visible(page, state.vars):
            continue
        if page.type == "form":
            for fld in page.fields:
                if not flow.field_visible(fld, state.vars):
                    if fld.id in flow.answers:
                        log.warning("answer for %s ignored: the field is not shown on this machine", fld.id)
                    continue
                if fld.ou is not None:
                    _load_ous(flow, fld)
                answered = fld.id in flow.answers
                value = flow.answers[fld.id] if answered else flow.initial_value(fld, state)
                try:
                    flow.apply_field(fld, value, state, answered=answered)
                    if fld.directory_check is not None and value:
                        _check_name(flow, fld, str(value), source)
                except FieldError as exc:
                    if exc.kind == "disabled":
                        raise NotReady(exc.message, "choose an item this machine meets the requirements of") from exc
                    if exc.kind == "missing":
                        raise NotFound(
                            f"{source}: no value for required field {fld.id!r}: {exc.message}",
                            f"add `{fld.id}: ...` to the answers file",
                        ) from exc
                    raise InputError(f"{source}: {exc.message}", "fix the answers file") from exc
        elif page.type == "confirm":
            _confirm(flow, page, state, folded.get(page.id.casefold()), source)
        elif page.type == "login":
            _login(flow, page, folded.get(page.id.casefold()), source, ca_bundle)
    return state


def _load_ous(flow: Flow, fld: Any) -> None:
    """An OU field read from the directory: without its OUs a required field cannot be answered."""
    from agent.errors import SourceUnavailable

    try:
        flow.load_ous(fld)
    except SourceUnavailable:
        if fld.required:
            raise
        log.warning("%s: %s; the field is left unanswered", fld.id, flow.ou_notes.get(fld.id, "no OUs"))


def _check_name(flow: Flow, fld: Any, name: str, source: str) -> None:
    """The computer name check, as the wizard does it on Next: the profile decides what blocks."""
    from agent.errors import SourceUnavailable

    result = flow.check_name(fld, name)
    if not result.blocking:
        if result.status != "free":
            log.warning("%s: %s", fld.id, result.message)
        return
    if result.status == "exists":
        raise InputError(f"{source}: {fld.id}: {result.message}", f"answer `{fld.id}:` with a name not yet in use")
    raise SourceUnavailable(f"{fld.id}: {result.message}",
                            "the profile requires the check: sign in first (login page answer) and make sure the "
                            "directory answers")


def _login(flow: Flow, page: Any, answer: Any, source: str, ca_bundle: Path | None) -> None:
    """Sign in unattended: `{page_id: {user: NAME, password_env: VAR}}` (or `pin_env: VAR`); one attempt only.

    The password comes from the environment, never from the answers file, so the file can be kept and shared.
    """
    import os

    if answer is None:
        raise NotFound(
            f"{source}: login page {page.id!r} has no answer",
            f"add `{page.id}: {{user: NAME, password_env: VARIABLE}}` and put the password in that environment "
            "variable, or give the page a `when` that is false on unattended media",
        )
    if not isinstance(answer, dict) or any(str(k) not in ("user", "password_env", "pin_env") for k in answer):
        raise InputError(
            f"{source}: login page {page.id!r} is answered with `user` and `password_env` (or `pin_env`) only",
            "never write a password into the answers file; name the environment variable that holds it",
        )
    env_key = "pin_env" if "pin_env" in answer else "password_env"
    var = str(answer.get(env_key) or "")
    secret = os.environ.get(var, "") if var else ""
    if not secret:
        raise NotFound(
            f"{source}: login page {page.id!r}: environment variable {var or '(none named)'} holds no "
            f"{'PIN' if env_key == 'pin_env' else 'password'}",
            f"set {var or 'the variable named by ' + env_key} in the environment of the run",
        )
    gate = flow.sign_in_gate(page, ca_bundle=ca_bundle, max_attempts=1)
    if env_key == "pin_env":
        gate.sign_in_pin(secret)
    else:
        gate.sign_in(str(answer.get("user") or ""), secret)


def _confirm(flow: Flow, page: Any, state: State, answer: Any, source: str) -> None:
    expected = flow.expected_confirmation(page, state)
    countdown = page.countdown
    if expected:
        if answer is None:
            if countdown is not None and countdown.on_timeout == "continue":
                raise Cancelled(
                    f"confirm page {page.id!r} needs typed text and none was answered",
                    f"add `{page.id}: <text>` to the answers file",
                )
            raise Cancelled(
                f"confirm page {page.id!r}: nobody typed the confirmation; the countdown cancelled",
                f"add `{page.id}: <text>` to the answers file",
            )
        if not flow.confirmation_ok(page, state, str(answer)):
            raise Cancelled(
                f"confirm page {page.id!r}: the typed confirmation does not match",
                "type exactly what the page asks for",
            )
        flow.confirmed[page.id] = str(answer)
        return
    if answer is True or (countdown is not None and countdown.on_timeout == "continue" and answer is None):
        flow.confirmed[page.id] = ""
        return
    if answer is not None and answer is not True:
        raise InputError(
            f"{source}: confirm page {page.id!r} asks for no typed text; answer `true` to accept",
            f"write `{page.id}: true`",
        )
    raise Cancelled(
        f"confirm page {page.id!r} was not confirmed (its countdown cancels)",
        f"answer `{page.id}: true` to confirm unattended",
    )
