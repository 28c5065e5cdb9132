"""`prestart run --unattended`: exit codes, all-or-nothing commit, log, receipt and secrets, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from agent.cmtrace import iter_records
from tests.conftest import REPO, SPEC, exit_status, run_prestart


def _run(
    tmp_path: Path,
    *,
    profile: Path | None = None,
    facts: str = "facts/laptop.json",
    answers: str | dict | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[subprocess.CompletedProcess[str], Path]:
    if isinstance(answers, dict) or answers is None:
        path = tmp_path / "answers.yaml"
        path.write_text(json.dumps(answers or {}), encoding="utf-8")
        answers_path = str(path)
    else:
        answers_path = str(SPEC / answers)
    out = tmp_path / "out.json"
    done = run_prestart(
        "run",
        "--profile",
        str(profile or SPEC / "technician.yaml"),
        "--catalog",
        str(SPEC / "catalog.json"),
        "--facts",
        str(SPEC / facts) if not Path(facts).is_absolute() else facts,
        "--answers",
        answers_path,
        "--unattended",
        "--sink",
        f"json:{out}",
        "--log-dir",
        str(tmp_path / "log"),
        *extra,
    )
    return done, out


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*")), "a temp file was left behind"


def test_unknown_answer_id_is_invalid_data(tmp_path: Path) -> None:
    done, out = _run(tmp_path, answers={"deployment": "win11-lab", "colour": "blue"})
    assert done.returncode == 13
    assert "unknown id 'colour'" in done.stderr
    _assert_nothing_written(out)


def test_value_not_offered_is_invalid_data(tmp_path: Path) -> None:
    done, out = _run(tmp_path, answers={"deployment": "win12-future"})
    assert done.returncode == 13
    assert "'win12-future' is not an allowed choice" in done.stderr
    _assert_nothing_written(out)


def test_item_for_another_role_is_not_offered(tmp_path: Path) -> None:
    done, out = _run(tmp_path, profile=SPEC / "kiosk.yaml", answers={"deployment": "win11-core", "confirm": "2HL3"})
    assert done.returncode == 13  # win11-core is for technicians only
    assert "offered: win11-lab" in done.stderr
    _assert_nothing_written(out)


def test_item_whose_requirement_fails_ends_not_ready(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    text = (SPEC / "technician.yaml").read_text(encoding="utf-8")
    profile.write_text(text.replace("check: Memory >= 4096", "check: Memory >= 1"), encoding="utf-8")
    facts = json.loads((SPEC / "facts/laptop.json").read_text(encoding="utf-8"))
    facts["Memory"] = "2048"
    facts_path = tmp_path / "facts.json"
    facts_path.write_text(json.dumps(facts), encoding="utf-8")
    done, out = _run(tmp_path, profile=profile, facts=str(facts_path), answers={"deployment": "win10-legacy"})
    assert done.returncode == 21
    assert "requires Memory >= 4096" in done.stderr
    _assert_nothing_written(out)


def test_missing_required_value_is_not_found(tmp_path: Path) -> None:
    done, out = _run(tmp_path, answers={"language": "de-DE"})
    assert done.returncode == exit_status(1168)
    assert "required field 'deployment'" in done.stderr
    _assert_nothing_written(out)


def test_invalid_computer_name_is_invalid_data(tmp_path: Path) -> None:
    done, out = _run(
        tmp_path,
        facts="facts/vm.json",
        answers={"deployment": "win11-core", "computer_name": "THIS NAME IS WAY TOO LONG"},
    )
    assert done.returncode == 13
    assert "at most 15 characters" in done.stderr
    _assert_nothing_written(out)


def test_answer_that_changes_a_locked_variable_is_refused(tmp_path: Path) -> None:
    done, out = _run(tmp_path, answers={"deployment": "win11-lab", "computer_name": "OTHER-NAME"})
    assert done.returncode == 13
    assert "locked" in done.stderr
    _assert_nothing_written(out)


def test_wrong_typed_confirmation_cancels(tmp_path: Path) -> None:
    done, out = _run(tmp_path, profile=SPEC / "kiosk.yaml", answers={"deployment": "win11-lab", "confirm": "XXXX"})
    assert done.returncode == exit_status(1223)
    assert "exit 1223 (ERROR_CANCELLED)" in done.stderr
    _assert_nothing_written(out)


def test_countdown_that_cancels_without_typed_text(tmp_path: Path) -> None:
    done, out = _run(tmp_path, profile=SPEC / "kiosk.yaml", answers={"deployment": "win11-lab"})
    assert done.returncode == exit_status(1223)
    assert "exit 1223 (ERROR_CANCELLED)" in done.stderr
    _assert_nothing_written(out)


def test_bad_command_line_is_87() -> None:
    assert run_prestart("run", "--no-such-flag").returncode == 87
    assert run_prestart("run", "--unattended", "--sink", "json:x.json").returncode == 87
    assert run_prestart("run", "--answers", "a.yaml", "--unattended", "--sink", "ftp:x").returncode == 87


def test_help_documents_exit_codes() -> None:
    done = run_prestart("run", "--help")
    assert done.returncode == 0
    for code in ("1168", "1223", "ERROR_NOT_READY", "--sink"):
        assert code in done.stdout


def test_log_is_cmtrace_and_receipt_tells_where_values_came_from(tmp_path: Path) -> None:
    done, _ = _run(tmp_path, answers="answers/technician-laptop.yaml")
    assert done.returncode == 0, done.stderr
    log_text = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    records = list(iter_records(log_text))
    assert records and all(r["component"] == "Prestart" for r in records)
    assert any("committed" in r["message"] for r in records)
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 0 and receipt["result"] == "success"
    assert receipt["machine"]["SerialNumber"] == "8XK2HL3"
    assert receipt["catalog"]["serial"] == 7
    variables = receipt["variables"]
    assert variables["OSDComputerName"] == {"value": "LAB-0042", "source": "lookup (rules[3])"}
    assert variables["OSDTimeZone"]["source"] == "rule (rules[0])"
    assert variables["OSDUILanguage"]["source"] == "user (language)"
    assert variables["OSDBitLocker"]["source"] == "default (bitlocker)"
    assert "rules[3]" in receipt["rules_fired"]


def test_failed_run_writes_a_receipt_with_its_exit_code(tmp_path: Path) -> None:
    done, _ = _run(tmp_path, facts="facts/laptop-on-battery.json", answers="answers/technician-laptop.yaml")
    assert done.returncode == 21
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 21 and receipt["variables"] == {}


SECRET_PROFILE = textwrap.dedent(
    """\
    version: 1
    pages:
      - id: join
        fields:
          - {id: account, type: text, variable: JoinAccount, required: true}
          - {id: secret, type: password, variable: JoinPassword, required: true,
             validate: {min_length: 8, message: too short}}
    """
)
CANARY = "Canary-7f3a-Zebra!"


@pytest.mark.parametrize("outcome", ["success", "validation"])
def test_password_never_reaches_log_receipt_or_error(tmp_path: Path, outcome: str) -> None:
    profile = tmp_path / "secret.yaml"
    profile.write_text(SECRET_PROFILE, encoding="utf-8")
    answers = {"account": "svc-join", "secret": CANARY}
    if outcome == "validation":
        answers["account"] = ""  # required field empty after the secret was read -> 1168/13
        answers["secret"] = CANARY[:5]  # too short: the error must not echo it
    done, out = _run(tmp_path, profile=profile, answers=answers)
    everything = done.stdout + done.stderr
    for path in (tmp_path / "log").rglob("*"):
        if path.is_file():
            everything += path.read_text(encoding="utf-8")
    secret = CANARY if outcome == "success" else CANARY[:5]
    assert secret not in everything
    if outcome == "success":
        assert done.returncode == 0, done.stderr
        assert json.loads(out.read_text(encoding="utf-8"))["JoinPassword"] == CANARY  # the engine gets it
        receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
        assert receipt["variables"]["JoinPassword"]["value"] == "********"
        assert receipt["choices"]["secret"] == "********"
    else:
        assert done.returncode != 0


def test_headless_run_imports_neither_tkinter_nor_requests(tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    script = textwrap.dedent(
        f"""
        import sys
        from agent.cli import main
        code = main(["run", "--profile", r"{SPEC / "technician.yaml"}", "--catalog", r"{SPEC / "catalog.json"}",
                     "--facts", r"{SPEC / "facts/laptop.json"}", "--answers",
                     r"{SPEC / "answers/technician-laptop.yaml"}", "--unattended", "--sink", r"json:{out}",
                     "--log-dir", r"{tmp_path / "log"}"])
        assert code == 0, code
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tkinter", "_tkinter", "requests", "urllib3"))
        print(",".join(heavy))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_receipt_shows_what_the_chosen_sequence_will_run(tmp_path: Path) -> None:
    catalog = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    catalog["lists"]["deployments"][0]["sequence"] = (
        '<sequence version="3.10">'
        '<step type="SMS_TaskSequence_RunCommandLineAction" name="German only">'
        '<condition><expression type="SMS_TaskSequence_VariableConditionExpression">'
        '<variable name="Operator">equals</variable><variable name="Value">de-DE</variable>'
        '<variable name="Variable">OSDUILanguage</variable></expression></condition>'
        "<action>cmd /c exit 0</action></step>"
        '<step type="SMS_TaskSequence_RunCommandLineAction" name="French only">'
        '<condition><expression type="SMS_TaskSequence_VariableConditionExpression">'
        '<variable name="Operator">equals</variable><variable name="Value">fr-FR</variable>'
        '<variable name="Variable">OSDUILanguage</variable></expression></condition>'
        "<action>cmd /c exit 0</action></step></sequence>"
    )
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart(
        "run",
        "--profile",
        str(SPEC / "technician.yaml"),
        "--catalog",
        str(catalog_path),
        "--facts",
        str(SPEC / "facts/laptop.json"),
        "--answers",
        str(SPEC / "answers/technician-laptop.yaml"),
        "--unattended",
        "--sink",
        f"json:{out}",
        "--log-dir",
        str(tmp_path / "log"),
    )
    assert done.returncode == 0, done.stderr
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    statuses = {entry["path"]: entry["status"] for entry in receipt["plan"]}
    assert statuses == {"German only": "run", "French only": "skip"}


def test_a_catalog_older_than_max_age_days_is_logged_and_kept(tmp_path: Path) -> None:
    catalog = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    catalog["generated"] = "2020-01-01T00:00:00Z"
    catalog_path = tmp_path / "old.json"
    catalog_path.write_text(json.dumps(catalog), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart(
        "run", "--profile", str(SPEC / "technician.yaml"), "--catalog", str(catalog_path),
        "--facts", str(SPEC / "facts/vm.json"), "--answers", str(SPEC / "answers/technician-vm.yaml"),
        "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # old choices still work
    assert "older than the 30 days the profile allows" in (tmp_path / "log" / "prestart.log").read_text("utf-8")
    receipt = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert "older than the 30 days" in receipt["catalog"]["stale"]


def _boot_from_media(tmp_path: Path, answers: Path) -> set[str]:
    """A headless technician-laptop run with the compiled profile media carry, in a fresh interpreter: the
    top-level names of the modules it loaded. Its variables must be the spec's expected ones."""
    compiled = tmp_path / "profile.json"
    assert run_prestart("compile", str(SPEC / "technician.yaml"), "-o", str(compiled)).returncode == 0
    out = tmp_path / "o.json"
    script = textwrap.dedent(
        f"""
        import sys
        from agent.cli import main
        code = main(["run", "--profile", r"{compiled}", "--catalog", r"{SPEC / "catalog.json"}",
                     "--facts", r"{SPEC / "facts/laptop.json"}", "--answers", r"{answers}", "--unattended",
                     "--sink", r"json:{out}", "--log-dir", r"{tmp_path / "log"}"])
        assert code == 0, code
        print(",".join(sorted({{m.split(".")[0] for m in sys.modules}})))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    expected = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))["variables"]
    assert {name: got.get(name) for name in expected} == expected
    loaded = set(done.stdout.strip().split(","))
    assert {"agent", "json"} <= loaded  # the listing is real
    return loaded


def test_a_headless_boot_from_media_leaves_the_heavy_optional_modules_unloaded(tmp_path: Path) -> None:
    """The directory client, the HTTP stack and the wizard are imported where they are used: a headless run
    with the compiled profile media carry, and no sign-in, refresh or audit, loads none of them."""
    loaded = _boot_from_media(tmp_path, SPEC / "answers/technician-laptop.yaml")
    assert sorted(loaded & {"ldap3", "requests", "urllib3", "tkinter", "_tkinter", "ui"}) == []


def test_yaml_answers_with_anchors_give_the_same_variables(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("deployment: &chosen win11-lab\nlanguage: de-DE\napps: [7zip, m365]\n", encoding="utf-8")
    _boot_from_media(tmp_path, answers)  # asserts the spec's expected variables


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployment: win11-lab\ncolour: blue  # not a field\n", "answers.yaml: unknown id 'colour'"),
        ("deployment: win12-future\n", "deployment: 'win12-future' is not an allowed choice"),
        ("deployment: win11-lab\napps: yes\n", "apps: True is not an allowed choice"),
        ("deployment: win11-lab\nlanguage: [de-DE]\n", "language: expected one choice"),
        ("deployment: win11-lab\ndeployment: win11-core\n", "line 2: deployment: duplicate key 'deployment'"),
    ],
)
def test_bad_plain_yaml_answers_are_reported_as_clearly_as_any(tmp_path: Path, text: str, message: str) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(text, encoding="utf-8")
    done, out = _run(tmp_path, answers=str(answers))
    assert done.returncode == 13, done.stderr
    assert message in done.stderr
    _assert_nothing_written(out)


def test_every_command_has_help_and_the_top_level_lists_them_all() -> None:
    from agent.cliparser import _COMMANDS

    top = run_prestart("--help")
    assert top.returncode == 0
    for name in _COMMANDS:
        assert name in top.stdout
        done = run_prestart(name, "--help")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"usage: prestart {name}")
    unknown = run_prestart("bogus")
    assert unknown.returncode == 87 and "invalid choice: 'bogus'" in unknown.stderr
    assert "hint: see `prestart --help`" in unknown.stderr


def test_a_catalog_older_than_max_age_days_is_refused_when_the_profile_says_so(tmp_path: Path) -> None:
    """An eight-year-old signed catalog: with `when_stale: refuse` the run exits 13 and writes nothing."""
    catalog = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    catalog["generated"] = "2018-11-20T08:00:00Z"
    catalog_path = tmp_path / "old.json"
    catalog_path.write_text(json.dumps(catalog), encoding="utf-8")
    profile = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    profile["catalog"]["when_stale"] = "refuse"
    profile_path = tmp_path / "profile.yaml"
    profile_path.write_text(json.dumps(profile), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart(
        "run", "--profile", str(profile_path), "--catalog", str(catalog_path),
        "--facts", str(SPEC / "facts/vm.json"), "--answers", str(SPEC / "answers/technician-vm.yaml"),
        "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert done.returncode == exit_status(13), done.stderr
    assert "older than the 30 days the profile allows" in done.stderr and "when_stale: warn" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize("generated,policy,code", [
    ("2018-11-20T08:00:00Z", None, 13),  # eight years old, from the media: refused by default
    ("2018-11-20T08:00:00Z", "warn", 0),  # the profile accepts old catalogs
    ("2099-01-01T00:00:00Z", None, 0),  # fresh (a clock behind the catalog is not "old")
])
def test_the_media_catalog_age_policy(tmp_path: Path, generated: str, policy: str | None, code: int) -> None:
    """As in WinPE: no --catalog, the signed catalog and its public key beside the agent (here: the cwd)."""
    from media_builder.signing import keygen, load_private_key, sign_payload

    media = tmp_path / "media"
    private, public = keygen(tmp_path / "keys")
    catalog = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    catalog["generated"] = generated
    media.mkdir()
    (media / "catalog.json").write_bytes(sign_payload(json.dumps(catalog).encode("utf-8"), load_private_key(private)))
    (media / "catalog.pub").write_bytes(public.read_bytes())
    profile = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    if policy:
        profile["catalog"]["when_stale"] = policy
    (media / "profile.yaml").write_text(json.dumps(profile), encoding="utf-8")
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--facts", str(SPEC / "facts/vm.json"), "--answers",
         str(SPEC / "answers/technician-vm.yaml"), "--unattended", "--sink", f"json:{out}", "--log-dir",
         str(tmp_path / "log")],
        capture_output=True, text=True, cwd=media, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert done.returncode == exit_status(code), done.stderr
    assert out.exists() == (code == 0)
    if code:
        assert "offline snapshot catalog" in done.stderr and "older than the 30 days" in done.stderr
