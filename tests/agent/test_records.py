"""agent.records: Record builds the same classes typing.NamedTuple would, without importing typing."""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import NamedTuple, get_type_hints

import pytest

from agent.records import Record


class Point(Record):
    """A point with a label."""

    x: int
    y: int = 0
    label: str = ""

    def moved(self, dx: int) -> Point:
        return self._replace(x=self.x + dx)

    @property
    def far(self) -> bool:
        return abs(self.x) > 100


class TypedPoint(NamedTuple):
    """A point with a label."""

    x: int
    y: int = 0
    label: str = ""


def test_a_record_behaves_like_the_typing_namedtuple_it_stands_for() -> None:
    ours, theirs = Point(1, label="a"), TypedPoint(1, label="a")
    assert tuple(ours) == tuple(theirs) == (1, 0, "a")
    assert Point._fields == TypedPoint._fields
    assert Point._field_defaults == TypedPoint._field_defaults
    assert Point.__doc__ == TypedPoint.__doc__
    assert get_type_hints(Point) == get_type_hints(TypedPoint) == {"x": int, "y": int, "label": str}
    assert repr(ours) == "Point(x=1, y=0, label='a')"
    assert ours.moved(200) == (201, 0, "a") and ours.moved(200).far and not ours.far
    assert isinstance(ours, tuple) and type(ours.moved(1)) is Point
    assert Point.__module__ == __name__ and Point.__qualname__ == "Point"
    assert pickle.loads(pickle.dumps(ours)) == ours
    with pytest.raises(AttributeError):
        ours.x = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_what_typing_refuses_a_record_refuses() -> None:
    with pytest.raises(TypeError, match="without a default"):

        class Bad(Record):
            a: int = 1
            b: int

    with pytest.raises(AttributeError, match="_make"):

        class Clash(Record):
            a: int

            def _make(self) -> None: ...


def test_importing_the_records_on_the_boot_path_does_not_import_typing() -> None:
    code = "import sys, agent.profile.model, agent.catalog.model, agent.expr; print('typing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_field_name_with_a_leading_underscore_is_refused_as_namedtuple_refuses_it() -> None:
    with pytest.raises(ValueError, match="underscore"):

        class Hidden(Record):
            _secret: int
