"""agent.stdio: piped std streams take any text (a Windows pipe is cp1252 unless told otherwise)."""

from __future__ import annotations

import io
import sys

import pytest

from agent.stdio import make_std_streams_safe


def _pipe(encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding)


def test_a_cp1252_pipe_becomes_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = _pipe("cp1252"), _pipe("cp1252")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv("PYTHONIOENCODING", raising=False)
    make_std_streams_safe()
    print('{"Make": "Łódź – 3"}')
    print("prestart: error: Łódź", file=sys.stderr)
    out.flush()
    err.flush()
    assert out.buffer.getvalue().decode("utf-8") == '{"Make": "Łódź – 3"}\n'  # type: ignore[attr-defined]
    assert "Łódź" in err.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def test_pythonioencoding_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _pipe("cp1252")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv("PYTHONIOENCODING", "cp1252")
    make_std_streams_safe()
    assert out.encoding == "cp1252"
