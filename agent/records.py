"""`Record`: typing.NamedTuple's class syntax at collections.namedtuple's cost, for the records on the boot path."""

# typing.NamedTuple turns every field's annotation into a ForwardRef, and a ForwardRef compiles its text:
# about 0.13 ms per class more than collections.namedtuple, and `import typing` itself costs ~3 ms. The
# agent defines ~40 record classes before its first page (bench/tried.md). Type checkers see the real
# typing.NamedTuple (they take any name TYPE_CHECKING as true); at run time a metaclass builds a tuple
# class that behaves as the collections.namedtuple typing would build, from the field names and defaults alone.

from __future__ import annotations

from collections import _tuplegetter  # type: ignore[attr-defined]  # the C field accessor namedtuple uses

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

    _tuple_new = tuple.__new__
    _NEW_GLOBALS = {"_tuple_new": _tuple_new, "__builtins__": {}}
    _NEW_CODE: dict[int, object] = {}

    def _new(name: str, fields: tuple[str, ...], defaults: tuple[object, ...]) -> object:
        """`__new__(cls, a, b=...)` for these fields. collections.namedtuple compiles one with eval() per class,
        ~40 us, half of its cost; the code of a given arity is compiled once and its argument names replaced."""
        code = _NEW_CODE.get(len(fields))
        if code is None:
            args = "".join(f"_{i}, " for i in range(len(fields)))
            code = eval(f"lambda _cls, {args}: _tuple_new(_cls, ({args}))", _NEW_GLOBALS).__code__
            _NEW_CODE[len(fields)] = code
        code = code.replace(co_varnames=("_cls", *fields), co_name="__new__", co_qualname=f"{name}.__new__")
        new = type(_new)(code, _NEW_GLOBALS, "__new__", defaults or None)
        new.__doc__ = f"Create new instance of {name}({', '.join(fields)})"
        return new

    class _Tuple(tuple):
        """What collections.namedtuple gives every class, written once for all records."""

        __slots__ = ()

        @classmethod
        def _make(cls, iterable):
            """Make a new record from a sequence or iterable."""
            result = _tuple_new(cls, iterable)
            if len(result) != len(cls._fields):
                raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
            return result

        def _replace(self, /, **kwds):
            """Return a new record replacing specified fields with new values."""
            result = self._make(map(kwds.pop, self._fields, self))
            if kwds:
                raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
            return result

        def __repr__(self):
            """Return a nicely formatted representation string."""
            inner = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True))
            return f"{self.__class__.__name__}({inner})"

        def _asdict(self):
            """Return a new dict which maps field names to their values."""
            return dict(zip(self._fields, self, strict=True))

        def __getnewargs__(self):
            """Return self as a plain tuple. Used by copy and pickle."""
            return tuple(self)

    class _RecordMeta(type):
        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
            if namespace.get("_record_base"):
                return super().__new__(mcls, name, bases, namespace)
            if bases != (Record,):
                raise TypeError(f"{name}: a Record subclasses Record alone")
            annotations = namespace.get("__annotations__", {})
            fields = tuple(annotations)  # type: ignore[arg-type]
            defaults = []
            for field in fields:
                if field.startswith("_"):
                    raise ValueError(f"Field names cannot start with an underscore: {field!r}")
                if field in namespace:
                    defaults.append(namespace[field])
                elif defaults:
                    raise TypeError(f"{name}: field {field!r} without a default follows fields with one")
            body: dict[str, object] = {
                "__doc__": f"{name}({', '.join(fields)})",
                "__slots__": (),
                "_fields": fields,
                "_field_defaults": dict(zip(fields[len(fields) - len(defaults) :], defaults, strict=True)),
                "__new__": _new(name, fields, tuple(defaults)),
                "__match_args__": fields,
                "__annotations__": annotations,
            }
            for index, field in enumerate(fields):
                body[field] = _tuplegetter(index, f"Alias for field number {index}")
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"{name}: cannot overwrite Record attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    body[key] = value
            body["__module__"] = namespace["__module__"]
            return type(name, (_Tuple,), body)

    class Record(metaclass=_RecordMeta):
        """Base of a record class: annotated fields, optional defaults, methods; built like a namedtuple."""

        _record_base = True


__all__ = ["Record"]
