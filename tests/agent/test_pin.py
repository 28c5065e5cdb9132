"""The technician PIN: the reference kiosk hash, the encoded format, and the lockout."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from agent.auth.pin import PinFormatError, PinGate, hash_pin, parse_hash, verify_pin


@pytest.fixture(scope="module")
def kiosk_hash(spec_dir: Path) -> str:
    data = yaml.safe_load((spec_dir / "kiosk.yaml").read_text(encoding="utf-8"))
    return str(data["kiosk"]["technician_unlock"]["pin_hash"])


def test_reference_hash_accepts_its_pin(kiosk_hash: str) -> None:
    assert verify_pin("482913", kiosk_hash)


@pytest.mark.parametrize("wrong", ["", "482914", "48291", "4829130", " 482913", "000000"])
def test_reference_hash_rejects_other_pins(kiosk_hash: str, wrong: str) -> None:
    assert not verify_pin(wrong, kiosk_hash)


def test_hash_pin_reproduces_the_reference_with_its_salt(kiosk_hash: str) -> None:
    assert hash_pin("482913", salt=base64.b64decode("c3BlYy1raW9zay1zYWx0")) == kiosk_hash


def test_hash_format_and_random_salt() -> None:
    first, second = hash_pin("1234", n=1024), hash_pin("1234", n=1024)
    assert first != second  # a fresh salt each time
    n, r, p, salt, key = parse_hash(first)
    assert (n, r, p, len(salt), len(key)) == (1024, 8, 1, 16, 32)
    assert first.startswith("scrypt$1024$8$1$")
    assert verify_pin("1234", first) and not verify_pin("1235", first)


@pytest.mark.parametrize("bad", ["", "bcrypt$1$2$3$AA==$AA==", "scrypt$x$8$1$AA==$AA==", "scrypt$1000$8$1$AA==$AA==",
                                 "scrypt$1024$8$1$***$AA==", "scrypt$1024$8$1$AA=="])
def test_malformed_hash_is_refused_with_a_hint(bad: str) -> None:
    with pytest.raises(PinFormatError, match=r"scrypt|base64|power of two"):
        verify_pin("1234", bad)


def test_gate_locks_out_after_max_attempts() -> None:
    gate = PinGate(hash_pin("2468", n=1024), max_attempts=3)
    assert not gate.try_pin("1111") and gate.remaining == 2
    assert gate.try_pin("2468") and gate.failures == 0  # success resets the count
    for _ in range(3):
        assert not gate.try_pin("0000")
    assert gate.locked_out
    assert not gate.try_pin("2468")  # even the right PIN is refused once locked out


def test_the_flow_owns_the_unlock_the_wizard_and_headless_runs_share(spec_dir: Path) -> None:
    from agent.flow import Flow
    from agent.profile import load_profile

    flow = Flow(load_profile(spec_dir / "kiosk.yaml"), None, {})
    kiosk_role = flow.role
    assert flow.unlock_gate is flow.unlock_gate  # one count of attempts for the whole run
    assert not flow.unlock("000000") and flow.role == kiosk_role
    assert flow.unlock("482913") and flow.role == "technician"
    assert {"000000", "482913"} <= flow.secrets  # every PIN typed is masked in the log and the receipt
    for _ in range(5):
        flow.unlock("111111")
    assert flow.unlock_gate is not None and flow.unlock_gate.locked_out
    assert not flow.unlock("482913")  # after the lockout even the right PIN is refused


def test_a_profile_without_an_unlock_never_unlocks(spec_dir: Path) -> None:
    from agent.flow import Flow
    from agent.profile import load_profile

    flow = Flow(load_profile(spec_dir / "technician.yaml"), None, {})
    assert flow.unlock_gate is None and not flow.unlock("482913")
