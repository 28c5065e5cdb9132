"""agent.digest: the boot path's SHA-256 is exactly hashlib's, without loading OpenSSL."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from agent.digest import sha256_hex
from tests.conftest import REPO


@given(st.binary(max_size=4096))
def test_sha256_hex_is_hashlibs(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_known_vector() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_importing_it_loads_neither_hashlib_nor_openssl() -> None:
    code = "import sys, agent.digest; print(sorted({'hashlib', '_hashlib'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
