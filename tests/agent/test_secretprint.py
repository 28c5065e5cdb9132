"""SecretPrint: a secret masked wherever it appears, without the secret kept as text."""

from __future__ import annotations

import pickle

from agent.log import MASK, Redactor
from agent.receipt import Receipt
from agent.secretprint import SecretPrint

SECRET = "Canary-Print-5d1c8a"


def test_every_occurrence_is_masked_and_nothing_else() -> None:
    mark = SecretPrint(SECRET)
    text = f"{SECRET}bind as alice with {SECRET}, then {SECRET[:-1]} and {SECRET}{SECRET}"
    assert mark.redact(text, MASK) == f"{MASK}bind as alice with {MASK}, then {SECRET[:-1]} and {MASK}{MASK}"
    assert mark.redact("short", MASK) == "short" and mark.redact("", MASK) == ""


def test_the_print_holds_no_copy_of_the_secret() -> None:
    mark = SecretPrint(SECRET)
    assert SECRET not in repr(mark)
    state = b"".join(bytes(getattr(mark, name)) if isinstance(getattr(mark, name), bytes) else b""
                     for name in SecretPrint.__slots__)
    assert SECRET.encode() not in state and len(mark) == len(SECRET)
    assert not hasattr(mark, "__dict__")  # nowhere else to hide a copy
    assert SECRET.encode() not in pickle.dumps(mark)


def test_the_redactor_and_the_receipt_mask_with_prints_beside_plain_secrets() -> None:
    redactor = Redactor([SecretPrint(SECRET), "plain-secret"])
    assert redactor.redact(f"x {SECRET} y plain-secret z") == f"x {MASK} y {MASK} z"
    receipt = Receipt()
    receipt.secrets |= {SecretPrint(SECRET), "plain-secret"}
    assert receipt.mask(f"{SECRET}/plain-secret") == f"{MASK}/{MASK}"
