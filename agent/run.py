"""The run: `prestart run` and `prestart preview` from their options to committed variables and a receipt."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from agent import __version__
from agent.errors import ExitCode, InputError, PrestartError, UsageError
from agent.log import Redactor, add_sink, get_logger, remove_sink
from agent.payload import CA_BUNDLE as PAYLOAD_CA
from agent.payload import CATALOG as PAYLOAD_CATALOG
from agent.payload import PROFILE as PAYLOAD_PROFILE_COMPILED
from agent.payload import PROFILE_YAML as PAYLOAD_PROFILE
from agent.payload import PUBLIC_KEY as PAYLOAD_PUBKEY

log = get_logger("prestart")


class RunOptions(NamedTuple):
    """What a run is told on its command line (`prestart run --help`); None/False: not given.

    `preview` runs show the pages and commit nothing: no engine, no network, the catalog given is the
    catalog shown.
    """

    profile: str | None = None
    catalog: str | None = None
    trust_key: str | None = None
    ca_bundle: str | None = None
    facts: str | None = None
    smbios: str | None = None
    answers: str | None = None
    unattended: bool = False
    sink: str | None = None
    hook: str | None = None
    log_dir: str | None = None
    no_refresh: bool = False
    role: str | None = None
    preview: bool = False
    kiosk_windowed: bool = False

    @classmethod
    def from_namespace(cls, args: object, *, preview: bool = False) -> RunOptions:
        """The options of a parsed command line (argparse's namespace): every field the command has."""
        given = {name: getattr(args, name) for name in cls._fields if hasattr(args, name)}
        return cls(**given, preview=preview)


# The redactor of the run in progress: the CLI uses it for anything it prints after a crash.
_current_redactor: Redactor | None = None


def current_redactor() -> Redactor | None:
    """The redactor of the run in progress (None before a run set up its log)."""
    return _current_redactor


def payload_dir() -> Path:
    """Where the media builder put the profile and catalog: beside the frozen executable."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path.cwd()


def load_catalog_arg(path: str | None, trust_key: str | None = None) -> Any:
    """The catalog a command line names (None when it names none)."""
    if not path:
        return None
    from agent.catalog.verify import load_catalog

    return load_catalog(Path(path), trust_key=Path(trust_key) if trust_key else None)


class Session:
    """What `run` and `preview` share: inputs loaded, the flow built, the receipt filled in."""

    def __init__(self, options: RunOptions, *, engine: dict[str, str], engine_facts: dict[str, str]) -> None:
        from agent.receipt import Receipt

        self.options = options
        self.engine = engine
        self.engine_facts = engine_facts
        self.receipt = Receipt()
        self.flow: Any = None
        self.loaded: Any = None

    def build(self) -> Any:
        from agent.flow import Flow
        from agent.profile import load_profile

        options = self.options
        base = payload_dir()
        profile_path = Path(options.profile) if options.profile else _payload_profile(base)
        self.receipt.profile = str(profile_path)
        loaded = self._catalog(base)
        profile = load_profile(profile_path)
        self.receipt.mode = profile.mode
        facts = self._facts()
        facts.update(self.engine_facts)
        self.receipt.facts = dict(facts)
        note = _catalog_note(loaded)
        stale = _stale_note(loaded, profile.max_age_days)
        # An old catalog from the media is refused unless the profile says warn: replaying an old signed catalog
        # is the attack; one named on the command line (a bench, a test) is only warned about unless it says so.
        policy = profile.when_stale or ("warn" if options.catalog else "refuse")
        if stale and policy == "refuse":
            from agent.errors import DataError

            raise DataError(
                f"{loaded.origin} catalog (serial {loaded.catalog.serial}) is {stale}",
                "rebuild the media or publish a fresh catalog; `catalog.when_stale: warn` accepts old catalogs",
            )
        if stale:
            # Old choices still beat none (`when_stale: warn`): say so on screen and in the log, and go on.
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
        flow = Flow(
            profile, loaded.catalog if loaded else None, facts, self.engine, role=options.role, catalog_note=note
        )
        self.flow = flow
        self.loaded = loaded
        self.receipt.role = flow.role
        self.receipt.rules_fired = list(flow.fired)
        if stale:
            self.receipt.catalog["stale"] = stale
        return flow

    def _catalog(self, base: Path) -> Any:
        options = self.options
        if options.catalog:
            return load_catalog_arg(options.catalog, options.trust_key)
        media_catalog = base / PAYLOAD_CATALOG
        if media_catalog.exists():
            # From media a catalog must be signed by the key the media carries.
            from agent.catalog.verify import load_catalog

            key = Path(options.trust_key) if options.trust_key else base / PAYLOAD_PUBKEY
            if not key.exists():
                raise InputError(
                    f"{media_catalog}: the media carries no public key ({key})",
                    "rebuild the media with prestart-media, which adds catalog.pub",
                )
            return load_catalog(media_catalog, trust_key=key, origin="offline snapshot")
        return None

    def _facts(self) -> dict[str, str]:
        options = self.options
        if options.facts:
            from agent.facts import load_facts_file

            return load_facts_file(options.facts)
        from agent.facts import gather

        return gather(smbios_file=Path(options.smbios) if options.smbios else None)


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


def _setup_logging(log_dir: Path) -> tuple[Redactor, Any]:
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


def run(options: RunOptions) -> int:
    """`prestart run`: detect the engine, load, ask (or answer from a file), commit all or nothing, write the
    receipt. Raises the PrestartError that sets the exit code; no variable is written then."""
    from agent.cmtrace import default_log_dir
    from hooks.base import detect_hook, load_hook, open_sink

    if options.unattended and not options.answers:
        raise UsageError("--unattended needs --answers FILE", "give the answers file the run should use")
    if options.sink and options.hook:
        raise UsageError("give --sink or --hook, not both", "a sink writes a file; a hook talks to an engine")

    hook = None
    if options.sink:
        store = open_sink(options.sink)
    else:
        hook = load_hook(options.hook) if options.hook else detect_hook()
        store = hook.store()
    engine = store.read_all()
    engine_facts = hook.facts() if hook is not None else {}
    hook_dir = hook.log_dir() if hook is not None else None
    log_dir = default_log_dir(engine, options.log_dir or (str(hook_dir) if hook_dir else None))
    global _current_redactor
    redactor, sink = _setup_logging(log_dir)
    _current_redactor = redactor
    session = Session(options, engine=engine, engine_facts=engine_facts)
    receipt = session.receipt
    code = ExitCode.INTERNAL_ERROR
    committed = False
    try:
        log.info("prestart %s starting: %s", __version__, " ".join(sys.argv[1:]))
        if options.unattended:
            from agent import headless

            assert options.answers is not None  # checked above
            flow = session.build()
            answers = headless.load_answers(options.answers)
            receipt.choices = dict(answers)
            receipt.secret_fields = {f.id for _, f in flow.profile.fields() if f.is_secret}
            state = headless.run(flow, answers, source=str(options.answers), ca_bundle=ca_bundle(options))
        else:
            state = _interactive(session, hook)
            flow = session.flow
        for secret in flow.secrets:
            redactor.add(secret)
            receipt.secrets.add(secret)
        variables = flow.result(state)
        secret_vars = flow.secret_variables()
        for name, value in variables.items():  # values made from a secret by a template are secrets too
            if name.casefold() in secret_vars and len(value) >= 3:  # shorter would mask half the log
                redactor.add(value)
                receipt.secrets.add(value)
        receipt.set_variables(variables, flow.sources(state), secret_vars)
        receipt.plan = flow.what_will_run(state)
        # Everything that can fail happens in prepare(); after store.commit() nothing can fail the run.
        from agent import commit

        receipt.role, receipt.user = flow.role, flow.user or receipt.user
        receipt.directory = {k: v.message for k, v in flow.name_checks.items()}
        audit = _audit_target(options, flow)
        prepared = commit.prepare(variables, frozenset(n.casefold() for n in secret_vars), receipt,
                                  log_dir / "prestart-receipt.json", audit=audit is not None)
        try:
            store.commit(prepared.variables)
        except BaseException:
            commit.discard(prepared)
            raise
        committed = True
        code = ExitCode.SUCCESS
        with contextlib.suppress(BaseException):  # even Ctrl+C: the variables are written, the run succeeded
            commit.after_commit(prepared, store.name, audit)
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
            session.flow.close_directory()
        if not committed:  # a committed run wrote its receipt and sent its audit in commit.after_commit
            _failure_receipt(session, receipt, redactor, code, log_dir)
        try:
            _finish(session, hook, code)
        except Exception:  # main() says the traceback is in prestart.log: put it there
            log.exception("on_cancel action failed:")
            raise
        if sink is not None:
            remove_sink(sink, redactor=redactor)
            sink.close()


def _audit_target(options: RunOptions, flow: Any) -> Any:
    """The profile's audit URL with the CA bundle and budget, or None."""
    if not flow.profile.audit_url:
        return None
    from agent.commit import AuditTarget

    return AuditTarget(flow.profile.audit_url, ca_bundle(options), flow.profile.audit_timeout)


def _failure_receipt(session: Session, receipt: Any, redactor: Redactor, code: ExitCode, log_dir: Path) -> None:
    """A run that wrote no variables still leaves its receipt and audit; neither may raise over the real error."""
    try:
        if session.flow is not None:
            for secret in session.flow.secrets:
                redactor.add(secret)
                receipt.secrets.add(secret)
            # Sign-in may have changed who is at the machine and their role since the flow was built.
            receipt.directory = {k: v.message for k, v in session.flow.name_checks.items()}
            receipt.role = session.flow.role
            receipt.user = session.flow.user or receipt.user
        receipt.exit_code = int(code)
        receipt.write(log_dir / "prestart-receipt.json")
    except Exception as exc:
        log.warning("cannot write the receipt: %s", exc)
    if session.flow is not None and session.flow.profile.audit_url:
        from agent.commit import send_within

        with contextlib.suppress(Exception):
            send_within(_audit_target(session.options, session.flow), receipt.to_dict())


def preview(options: RunOptions) -> dict[str, str]:
    """`prestart preview`: the pages `run` would show, on this desktop; the variables they would set."""
    # Preview never talks to the network or an engine: the catalog given is the catalog shown.
    options = RunOptions(
        profile=options.profile,
        catalog=options.catalog,
        facts=options.facts,
        role=options.role,
        no_refresh=True,
        preview=True,
        kiosk_windowed=options.kiosk_windowed,
    )
    session = Session(options, engine={}, engine_facts={})
    if options.kiosk_windowed:
        os.environ["PRESTART_KIOSK_WINDOWED"] = "1"
    state = _interactive(session, None)
    result: dict[str, str] = session.flow.result(state)
    return result


def ca_bundle(options: RunOptions) -> Path | None:
    """--ca-bundle, else the CA bundle the media carries beside the agent, else None (the system's)."""
    if options.ca_bundle:
        return Path(options.ca_bundle)
    media = payload_dir() / PAYLOAD_CA
    return media if media.exists() else None


def _finish(session: Session, hook: Any, code: ExitCode) -> None:
    """on_cancel.then: reboot or shut down after a cancel, in WinPE through wpeutil."""
    flow = session.flow
    if flow is None or code != ExitCode.CANCELLED or session.options.unattended:
        return
    action = flow.profile.on_cancel
    if action in ("reboot", "shutdown") and hook is not None:
        log.info("on_cancel: %s", action)
        hook.power(action)


def _refresh_job(session: Session) -> Any:
    """A background job for the UI: fetch a newer signed catalog off the Tk thread, apply it on the Tk thread.

    On any failure the snapshot stays and the status line and the log say why (refresh never raises).
    """
    options = session.options
    flow = session.flow
    if flow.profile.refresh is None or options.no_refresh or session.loaded is None or not session.loaded.signed:
        return None
    from agent.catalog.refresh import RefreshSettings, refresh  # only where a refresh can happen

    key = Path(options.trust_key) if options.trust_key else payload_dir() / PAYLOAD_PUBKEY
    ca = ca_bundle(options)
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


def _interactive(session: Session, hook: Any) -> Any:
    """Build the flow, open the window and show the pages; what the person chose, as the flow's state."""
    from ui.app import run_ui
    from ui.window import discard, open_window

    flow = session.build()
    for page in flow.profile.pages:  # the wizard's login pages sign in with the run's CA bundle too
        if page.type == "login":
            flow.sign_in_gate(page, ca_bundle=ca_bundle(session.options))
    job = _refresh_job(session)
    root = open_window()
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
    preview = session.options.preview
    return run_ui(session.flow, preview=preview, hook=hook, background=[job] if job else [], root=root)
