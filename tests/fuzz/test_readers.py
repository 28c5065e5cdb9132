"""Fuzz every reader of outside input: only our PrestartError subclasses may come out, never a crash."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import PrestartError
from tests.conftest import SPEC
from tests.fuzz.strategies import (
    FUZZ,
    HOSTILE_TEXT,
    HOSTILE_XML_PROLOGS,
    JSONISH,
    KEYS,
    mutate,
    mutate_bytes,
    nested_xml,
    splice,
)

TS_DATA = Path(__file__).resolve().parents[1] / "agent" / "tasksequence" / "data"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="prestart-fuzz-") as name:
        yield Path(name)


def _yaml(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return json.dumps(doc, default=str)


def _check_profile(path: Path, text: str | bytes) -> None:
    from agent.profile import check_file

    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(text)
    try:
        profile, problems, _ = check_file(path)
    except PrestartError:
        return
    assert (profile is None) == bool(problems) or profile is None


# -- profile -----------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), which=st.sampled_from(["technician.yaml", "kiosk.yaml"]))
def test_profile_mutations(scratch: Path, data: st.DataObject, which: str) -> None:
    reference = yaml.safe_load((SPEC / which).read_text(encoding="utf-8"))
    _check_profile(scratch / "mutated.yaml", _yaml(mutate(data, reference)))


@FUZZ
@given(doc=JSONISH)
def test_profile_generated_documents(scratch: Path, doc: Any) -> None:
    _check_profile(scratch / "generated.yaml", _yaml(doc))


@FUZZ
@given(data=st.data())
def test_profile_text_and_bytes(scratch: Path, data: st.DataObject) -> None:
    blob = mutate_bytes(data, (SPEC / "kiosk.yaml").read_bytes())
    _check_profile(scratch / "bytes.yaml", blob)


# -- catalog -----------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_catalog_mutations(data: st.DataObject) -> None:
    from agent.catalog.model import catalog_from_dict
    from agent.catalog.verify import load_catalog_bytes

    reference = json.loads((SPEC / "catalog.json").read_text(encoding="utf-8"))
    doc = mutate(data, reference)
    with contextlib.suppress(PrestartError):
        catalog_from_dict(doc, file="fuzz.json")
    raw = json.dumps(doc, default=str).encode("utf-8")
    if data.draw(st.booleans(), label="bytes"):
        raw = mutate_bytes(data, raw)
    with contextlib.suppress(PrestartError):
        load_catalog_bytes(raw, file="fuzz.json", trust_key=None)


# -- answers -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def technician() -> tuple[Any, Any, dict[str, str]]:
    from agent.catalog.model import catalog_from_dict
    from agent.profile import load_profile

    profile = load_profile(SPEC / "technician.yaml")
    catalog = catalog_from_dict(json.loads((SPEC / "catalog.json").read_text(encoding="utf-8")))
    facts = json.loads((SPEC / "facts" / "laptop.json").read_text(encoding="utf-8"))
    return profile, catalog, facts


def _answer_keys(profile: Any) -> list[str]:
    keys = [page.id for page in profile.pages] + [f.id for _, f in profile.fields()]
    return keys + [k.upper() for k in keys]


@FUZZ
@given(data=st.data())
def test_answers_against_the_technician_profile(technician: tuple[Any, Any, dict[str, str]],
                                                data: st.DataObject) -> None:
    from agent import headless
    from agent.flow import Flow

    profile, catalog, facts = technician
    reference = yaml.safe_load((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8"))
    keys = st.sampled_from(_answer_keys(profile)) | KEYS
    if data.draw(st.booleans(), label="from reference"):
        answers = mutate(data, reference)
    else:
        answers = data.draw(st.dictionaries(keys, JSONISH, max_size=8), label="answers")
    if not isinstance(answers, dict):
        answers = {"deployment": answers}
    flow = Flow(profile, catalog, facts)
    with contextlib.suppress(PrestartError):
        headless.run(flow, {str(k): v for k, v in answers.items()})


@FUZZ
@given(text=st.text(max_size=200) | JSONISH.map(_yaml))
def test_answers_files(scratch: Path, text: str) -> None:
    from agent import headless

    path = scratch / "answers.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(PrestartError):
        headless.load_answers(path)


# -- VARIABLES.DAT -----------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), variables=st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True),
                                                 st.text(max_size=40), max_size=6))
def test_variables_dat(data: st.DataObject, variables: dict[str, str]) -> None:
    from hooks.mdt import parse_variables_dat, render_variables_dat

    try:
        blob = render_variables_dat(variables)
    except PrestartError:
        blob = render_variables_dat({"OSDComputerName": "PC-1"})
    if data.draw(st.booleans(), label="mutate"):
        blob = mutate_bytes(data, blob)
    with contextlib.suppress(PrestartError):
        parse_variables_dat(blob, "VARIABLES.DAT")


# -- task sequence XML -------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), which=st.sampled_from(["lab.xml", "trycatch.xml"]))
def test_task_sequence_xml(data: st.DataObject, which: str) -> None:
    from agent.tasksequence.xml import read

    blob = mutate_bytes(data, (TS_DATA / which).read_bytes())
    with contextlib.suppress(PrestartError):
        read(blob, file=which)


# -- targeted: the classic XML and YAML expansion attacks --------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b"]>"
)


def test_task_sequence_xml_refuses_entity_expansion() -> None:
    from agent.tasksequence.xml import read

    with pytest.raises(PrestartError, match="unsafe XML"):
        read(LAUGHS + b"<sequence>&lol9;</sequence>")


def test_variables_dat_refuses_entity_declarations() -> None:
    from hooks.mdt import parse_variables_dat

    doc = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "AAAA">]>'
           b'<MediaVarList><var name="x">&a;</var></MediaVarList>')
    with pytest.raises(PrestartError):
        parse_variables_dat(doc, "VARIABLES.DAT")


BOMB = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
)


def test_profile_alias_bomb_is_refused_quickly(scratch: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    path = scratch / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    try:
        done = subprocess.run([sys.executable, "-m", "agent", "check", str(path)], capture_output=True, text=True,
                              timeout=5, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail("prestart check did not finish within 5 s")
    assert done.returncode == 13


# -- hostile shapes (issue 19): deep nesting, huge numbers, odd encodings, surrogates, dates, binary ----------


@FUZZ
@given(data=st.data(), snippet=HOSTILE_TEXT)
def test_hostile_answers(scratch: Path, technician: tuple[Any, Any, dict[str, str]], data: st.DataObject,
                         snippet: str) -> None:
    """Load and run: what load_answers returns must be plain data the run and the receipt can carry."""
    from agent import headless
    from agent.flow import Flow
    from agent.receipt import Receipt

    reference = (SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8")
    text = data.draw(st.sampled_from([reference + f"deployment: {snippet}\n", splice(data, reference, snippet),
                                      '{"deployment": ' + snippet + "}"]), label="text")
    path = scratch / "hostile-answers.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        answers = headless.load_answers(path)
    except PrestartError:
        return
    receipt = Receipt()
    receipt.choices = dict(answers)
    json.loads(receipt.render())  # the receipt can always be written
    profile, catalog, facts = technician
    with contextlib.suppress(PrestartError):
        headless.run(Flow(profile, catalog, facts), answers)


@FUZZ
@given(data=st.data(), snippet=HOSTILE_TEXT)
def test_hostile_profile(scratch: Path, data: st.DataObject, snippet: str) -> None:
    reference = (SPEC / "kiosk.yaml").read_text(encoding="utf-8")
    _check_profile(scratch / "hostile.yaml", splice(data, reference, snippet))


@FUZZ
@given(data=st.data(), snippet=HOSTILE_TEXT)
def test_hostile_catalog(data: st.DataObject, snippet: str) -> None:
    from agent.catalog.verify import load_catalog_bytes

    reference = (SPEC / "catalog.json").read_text(encoding="utf-8")
    text = splice(data, reference, snippet)
    with contextlib.suppress(PrestartError):
        load_catalog_bytes(text.encode("utf-8", "surrogatepass"), file="hostile.json", trust_key=None)


@FUZZ
@given(data=st.data(), snippet=HOSTILE_TEXT)
def test_hostile_facts(scratch: Path, data: st.DataObject, snippet: str) -> None:
    from agent.facts import load_facts_file

    text = splice(data, (SPEC / "facts" / "laptop.json").read_text(encoding="utf-8"), snippet)
    path = scratch / "hostile-facts.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(PrestartError):
        facts = load_facts_file(path)
        json.dumps(facts, ensure_ascii=False).encode("utf-8")  # every fact can be logged and receipted


@FUZZ
@given(data=st.data(), prolog=HOSTILE_XML_PROLOGS, depth=st.integers(0, 3000))
def test_hostile_task_sequence_and_variables_dat(data: st.DataObject, prolog: bytes, depth: int) -> None:
    from agent.tasksequence.xml import read
    from hooks.mdt import parse_variables_dat

    body = nested_xml(depth) if depth else (TS_DATA / "lab.xml").read_bytes().split(b"?>", 1)[-1]
    with contextlib.suppress(PrestartError):
        read(prolog + body, file="hostile.xml")
    dat = prolog + b"<MediaVarList>" + b"<var>" * min(depth, 500) + b"</var>" * min(depth, 500) + b"</MediaVarList>"
    with contextlib.suppress(PrestartError):
        parse_variables_dat(dat, "VARIABLES.DAT")
