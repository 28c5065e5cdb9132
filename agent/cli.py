"""The `prestart` command: the composition root that wires profile, facts, catalog, flow, UI and hook."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from agent import __version__
from agent.cliargs import parse_fast
from agent.errors import ExitCode, InputError, PrestartError, UsageError
from agent.log import Redactor, add_sink, get_logger, remove_sink
from agent.log import shutdown as shutdown_logs
from agent.stdio import make_std_streams_safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace
    from typing import Any, NoReturn, TypeAlias

    from agent.cmtrace import CMTraceSink
    from hooks.base import VariableStore

    # What a command's handler gets: argparse's reading, or agent.cliargs's of the same plain command line.
    Namespace: TypeAlias = argparse.Namespace | SimpleNamespace

log = get_logger("prestart")

# Files the media builder places beside the agent executable.
from agent.payload import CA_BUNDLE as PAYLOAD_CA  # noqa: E402
from agent.payload import CATALOG as PAYLOAD_CATALOG  # noqa: E402
from agent.payload import PROFILE as PAYLOAD_PROFILE_COMPILED  # noqa: E402
from agent.payload import PROFILE_YAML as PAYLOAD_PROFILE  # noqa: E402
from agent.payload import PUBLIC_KEY as PAYLOAD_PUBKEY  # noqa: E402


def payload_dir() -> Path:
    """Where the media builder put the profile and catalog: beside the frozen executable."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path.cwd()


def main(argv: Sequence[str] | None = None) -> int:
    make_std_streams_safe()  # a Windows pipe is cp1252: JSON and names like Łódź must still come out
    arguments = list(sys.argv[1:] if argv is None else argv)
    args: Namespace | None = parse_fast(arguments)  # run and preview as the boot engine starts them
    if args is None:
        from agent import cliparser

        try:
            args = cliparser.parse_args(arguments)
        except UsageError as exc:
            _print_error(exc)
            return int(exc.code)
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0)
        if args.command is None:
            cliparser.print_help()
            return int(ExitCode.INVALID_PARAMETER)
    command = args.command
    try:
        handler = {
            "run": cmd_run,
            "check": cmd_check,
            "compile": cmd_compile,
            "schema": cmd_schema,
            "facts": cmd_facts,
            "preview": cmd_preview,
            "pin-hash": cmd_pin_hash,
            "sequence": cmd_sequence,
        }[command]
        return handler(args)
    except PrestartError as exc:
        if _RUN_REDACTOR is not None:
            exc.message, exc.hint = _RUN_REDACTOR.redact(exc.message), _RUN_REDACTOR.redact(exc.hint)
        _print_error(exc)
        # POSIX keeps only 8 bits of an exit code (1223 -> 199); say the real one.
        print(f"prestart: exit {int(exc.code)} ({_win32_name(exc.code)})", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print("prestart: cancelled", file=sys.stderr)
        return int(ExitCode.CANCELLED)
    except Exception as exc:  # a bug: say so, keep the traceback (in the log when there is one)
        text = f"{exc.__class__.__name__}: {exc}"
        import traceback

        trace = traceback.format_exc()
        if _RUN_REDACTOR is not None:  # secrets typed during the run must not reach stderr either
            text, trace = _RUN_REDACTOR.redact(text), _RUN_REDACTOR.redact(trace)
            print("prestart: the traceback is in prestart.log", file=sys.stderr)
        else:
            print(trace, file=sys.stderr, end="")
        print(f"prestart: internal error: {text}", file=sys.stderr)
        print(f"prestart: exit {int(ExitCode.INTERNAL_ERROR)} (ERROR_INTERNAL_ERROR)", file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)


def exit_now(code: int) -> NoReturn:
    """End the process with `code` without tearing the interpreter down.

    Everything that matters is already on disk: variables are committed atomically and the log handler is
    closed before main() returns. Freeing a large run's objects one by one at exit (a 10,000-item catalog,
    2,000 rules) took ~16 ms for nothing, so the entry points flush and leave (bench/tried.md).
    """
    shutdown_logs()
    if "logging" in sys.modules:  # a library (requests, ldap3) brought the stdlib's logging: flush it too
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


# The redactor of the run in progress: main() uses it for anything it prints after a crash.
_RUN_REDACTOR: Any = None


def _win32_name(code: ExitCode) -> str:
    return "ERROR_SUCCESS" if code == 0 else f"ERROR_{code.name}"


def _print_json(data: object) -> None:
    # json is imported where it is used: the wizard's inputs load on a second thread while Tk starts
    # (ui.window.open_window_while), and importing json there keeps it off the way to the first page.
    import json

    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_error(exc: PrestartError) -> None:
    from agent.errors import ValidationFailed

    if isinstance(exc, ValidationFailed):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"prestart: {len(exc.problems)} problem(s)", file=sys.stderr)
        return
    print(f"prestart: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"prestart: hint: {exc.hint}", file=sys.stderr)


# -- check / schema / facts --------------------------------------------------------------------------


def _load_catalog_arg(path: str | None, trust_key: str | None = None) -> Any:
    if not path:
        return None
    from agent.catalog.verify import load_catalog

    return load_catalog(Path(path), trust_key=Path(trust_key) if trust_key else None)


def cmd_check(args: Namespace) -> int:
    from agent.profile import check_file

    loaded = _load_catalog_arg(args.catalog)
    profile, problems, warnings = check_file(args.profile, loaded.catalog if loaded else None)
    if profile is not None and args.task_sequence:
        from agent.tasksequence.cli import contract_warnings

        for xml in args.task_sequence:
            warnings += contract_warnings(profile, Path(xml), loaded.catalog if loaded else None)
    for warning in warnings:
        print(f"{warning} [warning]", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"prestart: {args.profile}: {len(problems)} problem(s); exit 13", file=sys.stderr)
        return int(ExitCode.INVALID_DATA)
    extra = f", {len(warnings)} warning(s)" if warnings else ""
    print(f"{args.profile}: ok{extra}")
    return 0


def cmd_compile(args: Namespace) -> int:
    from agent import files
    from agent.profile import compile_profile

    loaded = _load_catalog_arg(args.catalog)
    files.write_text(args.output, compile_profile(args.profile, loaded.catalog if loaded else None))
    print(f"{args.output}: compiled from {args.profile}")
    return 0


def cmd_schema(args: Namespace) -> int:
    if args.kind == "profile":
        from agent.profile.schema import profile_json_schema

        doc = profile_json_schema()
    elif args.kind == "catalog":
        from agent.catalog.schema import catalog_json_schema

        doc = catalog_json_schema()
    else:
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Prestart answers",
            "description": "field id -> value (text, true/false, or a list of ids); confirm page id -> typed text",
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "array"]},
        }
    _print_json(doc)
    return 0


def cmd_facts(args: Namespace) -> int:
    from agent.facts import cli_facts

    _print_json(cli_facts(args.smbios, args.facts))
    return 0


def cmd_pin_hash(args: Namespace) -> int:
    from agent.auth.pin import hash_pin

    if args.stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        pin = getpass.getpass("PIN: ")
        if getpass.getpass("PIN again: ") != pin:
            raise UsageError("the two PINs differ", "type the same PIN twice")
    if len(pin) < 4:
        raise UsageError("a PIN needs at least 4 characters", "choose a longer PIN")
    print(hash_pin(pin))
    return 0


def cmd_sequence(args: Namespace) -> int:
    from agent.tasksequence import cli as ts_cli

    if args.sequence_command == "plan":
        return ts_cli.cmd_plan(args.xml, args.facts, args.variables, args.fail)
    if args.sequence_command == "normalize":
        return ts_cli.cmd_normalize(args.xml, args.output)
    raise UsageError("prestart sequence: choose `plan` or `normalize`", "see `prestart sequence --help`")


# -- run and preview ---------------------------------------------------------------------------------


class Session:
    """What `run` and `preview` share: inputs loaded, the flow built, the receipt filled in."""

    def __init__(self, args: Namespace, *, engine: dict[str, str], engine_facts: dict[str, str]) -> None:
        from agent.receipt import Receipt

        self.args = args
        self.engine = engine
        self.engine_facts = engine_facts
        self.receipt = Receipt()
        self.flow: Any = None

    def build(self) -> Any:
        from agent.flow import Flow
        from agent.profile import load_profile

        args = self.args
        base = payload_dir()
        profile_path = Path(args.profile) if args.profile else _payload_profile(base)
        self.receipt.profile = str(profile_path)
        loaded = self._catalog(base)
        profile = load_profile(profile_path)
        self.receipt.mode = profile.mode
        facts = self._facts()
        facts.update(self.engine_facts)
        self.receipt.facts = dict(facts)
        note = _catalog_note(loaded)
        stale = _stale_note(loaded, profile.max_age_days)
        if stale:
            # Old choices still beat none: say so on screen and in the log, and go on.
            log.warning("catalog: %s", stale)
            note = f"{note} — {stale}"
        if loaded is not None:
            self.receipt.catalog = {
                "serial": loaded.catalog.serial,
                "generated": loaded.catalog.generated,
                "source": loaded.catalog.source,
                "origin": loaded.origin,
                "signed": loaded.signed,
                "key_id": loaded.key_id,
            }
        flow = Flow(profile, loaded.catalog if loaded else None, facts, self.engine, role=args.role, catalog_note=note)
        self.flow = flow
        self.loaded = loaded
        self.receipt.role = flow.role
        self.receipt.rules_fired = list(flow.fired)
        if stale:
            self.receipt.catalog["stale"] = stale
        return flow

    def _catalog(self, base: Path) -> Any:
        args = self.args
        trust = getattr(args, "trust_key", None)
        if args.catalog:
            return _load_catalog_arg(args.catalog, trust)
        media_catalog = base / PAYLOAD_CATALOG
        if media_catalog.exists():
            # From media a catalog must be signed by the key the media carries.
            from agent.catalog.verify import load_catalog

            key = Path(trust) if trust else base / PAYLOAD_PUBKEY
            if not key.exists():
                raise InputError(
                    f"{media_catalog}: the media carries no public key ({key})",
                    "rebuild the media with prestart-media, which adds catalog.pub",
                )
            return load_catalog(media_catalog, trust_key=key, origin="offline snapshot")
        return None

    def _facts(self) -> dict[str, str]:
        args = self.args
        if args.facts:
            from agent.facts import load_facts_file

            return load_facts_file(args.facts)
        from agent.facts import gather

        return gather(smbios_file=Path(args.smbios) if getattr(args, "smbios", None) else None)


def _stale_note(loaded: Any, max_age_days: int | None) -> str:
    """Why the catalog is older than the profile's `catalog.max_age_days`, or ""."""
    if loaded is None or not max_age_days or not loaded.catalog.generated:
        return ""
    from agent.catalog.model import age_days

    days = age_days(loaded.catalog.generated)
    if days <= max_age_days:
        return ""
    return f"{days} days old, older than the {max_age_days} days the profile allows; rebuild or refresh it"


def _payload_profile(base: Path) -> Path:
    """The media's profile: the compiled JSON the builder writes, else the YAML."""
    compiled = base / PAYLOAD_PROFILE_COMPILED
    return compiled if compiled.exists() else base / PAYLOAD_PROFILE


def _catalog_note(loaded: Any) -> str:
    if loaded is None:
        return "no catalog"
    day = (loaded.catalog.generated or "")[:10]
    return f"{loaded.origin} from {day}" if day else loaded.origin


def _setup_logging(log_dir: Path) -> tuple[Redactor, CMTraceSink | None]:
    """The run's log: prestart.log in `log_dir`, every secret the run learns masked (sink None: no log)."""
    from agent.cmtrace import CMTraceSink

    redactor = Redactor()
    try:
        sink: CMTraceSink | None = CMTraceSink(log_dir / "prestart.log")
    except OSError as exc:
        print(f"prestart: warning: cannot write the log in {log_dir}: {exc}", file=sys.stderr)
        sink = None
    if sink is not None:
        add_sink(sink, redactor=redactor)
    return redactor, sink


def cmd_run(args: Namespace) -> int:
    from agent.cmtrace import default_log_dir
    from hooks.base import detect_hook, load_hook, open_sink

    if args.unattended and not args.answers:
        raise UsageError("--unattended needs --answers FILE", "give the answers file the run should use")
    if args.sink and args.hook:
        raise UsageError("give --sink or --hook, not both", "a sink writes a file; a hook talks to an engine")

    hook = None
    store: VariableStore
    if args.sink:
        store = open_sink(args.sink)
    else:
        hook = load_hook(args.hook) if args.hook else detect_hook()
        store = hook.store()
    engine = store.read_all()
    engine_facts = hook.facts() if hook is not None else {}
    hook_dir = hook.log_dir() if hook is not None else None
    log_dir = default_log_dir(engine, args.log_dir or (str(hook_dir) if hook_dir else None))
    global _RUN_REDACTOR
    redactor, sink = _setup_logging(log_dir)
    _RUN_REDACTOR = redactor
    session = Session(args, engine=engine, engine_facts=engine_facts)
    receipt = session.receipt
    code = ExitCode.INTERNAL_ERROR
    try:
        log.info("prestart %s starting: %s", __version__, " ".join(sys.argv[1:]))
        if args.unattended:
            from agent import headless

            flow = session.build()
            answers = headless.load_answers(args.answers)
            receipt.choices = dict(answers)
            receipt.secret_fields = {f.id for _, f in flow.profile.fields() if f.is_secret}
            state = headless.run(flow, answers, source=str(args.answers), ca_bundle=_ca_bundle(args))
        else:
            state = _interactive(session, hook, commit=True)
            flow = session.flow
        for secret in flow.secrets:
            redactor.add(secret)
            receipt.secrets.add(secret)
        variables = flow.result(state)
        secret_vars = flow.secret_variables()
        receipt.set_variables(variables, flow.sources(state), secret_vars)
        receipt.plan = flow.what_will_run(state)
        store.commit(variables)
        log.info("committed %d variables through %s", len(variables), store.name)
        for name in variables:
            log.info("  %s = %s", name, "********" if name.casefold() in secret_vars else variables[name])
        code = ExitCode.SUCCESS
        receipt.result = "success"
        return int(code)
    except PrestartError as exc:
        code = exc.code
        receipt.result = code.name.lower()
        receipt.message = str(exc)
        log.error("%s (exit %d)", exc, int(code))
        raise
    except Exception as exc:
        code = ExitCode.INTERNAL_ERROR
        receipt.result = "internal_error"
        receipt.message = f"{exc.__class__.__name__}: {exc}"
        log.exception("internal error:")
        raise
    finally:
        if session.flow is not None:
            for secret in session.flow.secrets:
                redactor.add(secret)
                receipt.secrets.add(secret)
        receipt.exit_code = int(code)
        if session.flow is not None:
            # Sign-in may have changed who is at the machine and their role since the flow was built.
            receipt.role = session.flow.role
            receipt.user = session.flow.user or receipt.user
        try:
            receipt.write(log_dir / "prestart-receipt.json")
        except OSError as exc:
            log.warning("cannot write the receipt: %s", exc)
        if session.flow is not None and session.flow.profile.audit_url:
            from agent.audit import send_receipt

            send_receipt(
                session.flow.profile.audit_url,
                receipt.to_dict(),
                ca_bundle=_ca_bundle(args),
                timeout=session.flow.profile.audit_timeout,
            )
        _finish(session, hook, code)
        if sink is not None:
            remove_sink(sink, redactor=redactor)
            sink.close()


def _ca_bundle(args: Namespace) -> Path | None:
    """--ca-bundle, else the CA bundle the media carries beside the agent, else None (the system's)."""
    if getattr(args, "ca_bundle", None):
        return Path(args.ca_bundle)
    media = payload_dir() / PAYLOAD_CA
    return media if media.exists() else None


def _finish(session: Session, hook: Any, code: ExitCode) -> None:
    """on_cancel.then: reboot or shut down after a cancel, in WinPE through wpeutil."""
    flow = session.flow
    if flow is None or code != ExitCode.CANCELLED or session.args.unattended:
        return
    action = flow.profile.on_cancel
    if action in ("reboot", "shutdown") and hook is not None:
        log.info("on_cancel: %s", action)
        hook.power(action)


def _refresh_job(session: Session) -> Any:
    """A background job for the UI: fetch a newer signed catalog off the Tk thread, apply it on the Tk thread.

    On any failure the snapshot stays and the status line and the log say why (refresh never raises).
    """
    args = session.args
    flow = session.flow
    if flow.profile.refresh is None or args.no_refresh or session.loaded is None or not session.loaded.signed:
        return None
    from agent.catalog.refresh import RefreshSettings, refresh  # only where a refresh can happen

    key = Path(args.trust_key) if args.trust_key else payload_dir() / PAYLOAD_PUBKEY
    ca = _ca_bundle(args)
    if not key.exists():
        log.warning("catalog refresh skipped: no trusted public key")
        return None
    settings = RefreshSettings.from_profile(flow.profile.refresh, file=str(session.receipt.profile))

    def job() -> Any:
        result = refresh(settings, session.loaded, trust_key=key, ca_bundle=ca)
        log.info("catalog: %s", result.reason)

        def apply() -> None:
            session.receipt.catalog["refresh"] = result.reason
            if result.used == "network":
                session.loaded = result.loaded
                flow.reload_catalog(result.loaded.catalog, result.reason)
                session.receipt.rules_fired = list(flow.fired)
                session.receipt.catalog["serial"] = result.loaded.catalog.serial
            else:
                flow.catalog_note = result.reason

        return apply

    return job


def _interactive(session: Session, hook: Any, *, commit: bool) -> Any:
    """Build the flow and show its pages. Tk starts meanwhile (ui.window.open_window_while): loading the
    inputs and importing the pages cost nothing before the first page that Tk's own start does not hide."""
    from ui.window import discard, open_window_while

    def prepare() -> Any:  # on a second thread: nothing here may touch Tk or the hook (COM lives on this one)
        session.build()
        from ui.app import run_ui

        return run_ui, _refresh_job(session)

    root, (run_ui, job) = open_window_while(prepare)
    try:
        if hook is not None:
            hook.prepare_ui()
    except BaseException:
        discard(root)
        raise
    # The entry point starts with the collector off (agent/__main__.py). The wizard may run for an hour:
    # collect again from here, but never rescan what was loaded at start (catalog, profile, modules).
    gc.freeze()
    gc.enable()
    return run_ui(session.flow, preview=not commit, hook=hook, background=[job] if job else [], root=root)


def cmd_preview(args: Namespace) -> int:
    # Preview never talks to the network or an engine: the catalog given is the catalog shown.
    args.trust_key = None
    args.smbios = None
    args.no_refresh = True
    args.ca_bundle = None
    session = Session(args, engine={}, engine_facts={})
    if args.kiosk_windowed:
        os.environ["PRESTART_KIOSK_WINDOWED"] = "1"
    state = _interactive(session, None, commit=False)
    _print_json(session.flow.result(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
