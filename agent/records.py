"""`Record`: typing.NamedTuple's class syntax at collections.namedtuple's cost, for the records on the boot path."""

# typing.NamedTuple turns every field's annotation into a ForwardRef, and a ForwardRef compiles its text:
# about 0.13 ms per class more than collections.namedtuple, and `import typing` itself costs ~3 ms. The
# agent defines ~40 record classes before its first page (bench/tried.md). Type checkers see the real
# typing.NamedTuple (they take any name TYPE_CHECKING as true); at run time a metaclass builds the same
# collections.namedtuple class typing would, from the field names and defaults alone.

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    # What typing.NamedTuple refuses, and what it does not copy onto the built class.
    _PROHIBITED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults", "_make", "_replace",
         "_asdict", "_source"}
    )  # fmt: skip
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _RecordMeta(type):
        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
            if namespace.get("_record_base"):
                return super().__new__(mcls, name, bases, namespace)
            if bases != (Record,):
                raise TypeError(f"{name}: a Record subclasses Record alone")
            fields = list(namespace.get("__annotations__", {}))  # type: ignore[call-overload]
            defaults = []
            for field in fields:
                if field in namespace:
                    defaults.append(namespace[field])
                elif defaults:
                    raise TypeError(f"{name}: field {field!r} without a default follows fields with one")
            cls = namedtuple(name, fields, defaults=defaults, module=str(namespace["__module__"]))
            cls.__annotations__ = namespace.get("__annotations__", {})
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"{name}: cannot overwrite Record attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    setattr(cls, key, value)
            return cls

    class Record(metaclass=_RecordMeta):
        """Base of a record class: annotated fields, optional defaults, methods; built as a namedtuple."""

        _record_base = True


__all__ = ["Record"]
