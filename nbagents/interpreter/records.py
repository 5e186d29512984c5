"""``@dataclass`` and ``collections.namedtuple`` on the class model (and the ``dataclasses``
facade: dataclass, field, asdict, replace, is_dataclass, FrozenInstanceError).

A dataclass is an ordinary :class:`~.values.SandboxClass` to which the decorator adds the
methods Python's ``dataclasses`` would generate (``__init__``, ``__repr__``, ``__eq__``, with
``order=True`` the comparisons, with ``frozen=True`` a guard against attribute writes), made
here as :class:`~.values.Builtin` hooks: interpreter code, never a Python class, so nothing in
Python's machinery runs them. The field list comes from the class body's annotated names, in
order, after the fields of dataclass bases. A namedtuple is a frozen record class whose
instances also index, unpack, iterate and compare as tuples (``_replace``/``_asdict`` are ``_``
names, out of reach: use ``dataclasses.replace`` or a dict). Their bookkeeping lives in the class namespace under
``__`` names, which no program can read or write.
"""

from __future__ import annotations

import dataclasses
import keyword
import random
from dataclasses import dataclass as _record

from ..errors import RefusedConstructError
from .capabilities import call_value
from .classes import FROZEN, MISSING, construct, find, make_class
from .reprs import safe_repr
from .values import DATES, Builtin, Instance, SandboxClass, TypeValue, type_name

__all__ = ["Field", "DATACLASS", "OPTIONS", "make_dataclass", "members", "plain_hash", "namedtuple", "generator_class"]

FIELDS = "__dataclass_fields__"
OPTIONS = frozenset({"init", "repr", "eq", "order", "frozen"})
"""The keyword arguments ``@dataclass(...)`` takes (constants)."""


@_record(frozen=True)
class Field:
    """What ``field(default=..., default_factory=...)`` gives in a class body."""

    default: object = MISSING
    default_factory: object = MISSING

    def __repr__(self) -> str:
        return "Field()"


def _field(m, *, default=MISSING, default_factory=MISSING, **options):
    if options:
        raise TypeError(f"field() got an unexpected keyword argument '{next(iter(options))}'")
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory)


def _dataclass_value(m, *args, **kwargs):
    raise RefusedConstructError(
        "calling dataclass() other than as a class decorator",
        line=m.line,
        hint="Write @dataclass (or @dataclass(frozen=True)) directly above a class statement.",
    )


DATACLASS = Builtin("dataclass", _dataclass_value)
"""The ``dataclass`` value: only the ``class`` statement applies it (:func:`make_dataclass`)."""


def _specs(cls: SandboxClass) -> tuple:
    specs = find(cls, FIELDS)
    return () if specs is MISSING else specs


def make_dataclass(m, cls: SandboxClass, annotated: list, options: dict, *, check_defaults: bool = True) -> SandboxClass:
    """Turn ``cls`` into a dataclass: ``annotated`` are the body's annotated names in order."""
    unknown = set(options) - OPTIONS
    if unknown:
        raise TypeError(f"dataclass() got an unexpected keyword argument '{sorted(unknown)[0]}'")
    ns = cls.attrs
    inherited: dict = {}
    for base in reversed(cls.mro[1:]):
        for spec in base.attrs.get(FIELDS, ()):
            inherited[spec[0]] = spec
    for name in annotated:
        value = ns.get(name, MISSING)
        default, factory = value, MISSING
        if type(value) is Field:
            default, factory = value.default, value.default_factory
            if default is MISSING:
                del ns[name]
            else:
                ns[name] = default
        if check_defaults and type(default) in (list, dict, set):
            raise ValueError(f"mutable default {type(default)!r} for field {name} is not allowed: use default_factory")
        inherited.pop(name, None)
        inherited[name] = (name, default, factory)
    specs = tuple(inherited.values())
    seen_default = None
    for name, default, factory in specs:
        if default is MISSING and factory is MISSING and seen_default is not None:
            raise TypeError(f"non-default argument '{name}' follows default argument '{seen_default}'")
        if default is not MISSING or factory is not MISSING:
            seen_default = name
    ns[FIELDS] = specs
    names = tuple(s[0] for s in specs)
    frozen = bool(options.get("frozen", False))
    if options.get("init", True) and "__init__" not in ns:
        ns["__init__"] = Builtin(f"{cls.name}.__init__", _init(cls.name, specs))
    if options.get("repr", True) and "__repr__" not in ns:
        ns["__repr__"] = Builtin(f"{cls.name}.__repr__", lambda m, obj: _repr(m, obj, names))
    if options.get("eq", True) and "__eq__" not in ns:
        ns["__eq__"] = Builtin(f"{cls.name}.__eq__", _compare(names, lambda a, b: a == b))
    if options.get("order", False):
        if not options.get("eq", True):
            raise ValueError("eq must be true if order is true")
        for hook, op in (("__lt__", "lt"), ("__le__", "le"), ("__gt__", "gt"), ("__ge__", "ge")):
            ns[hook] = Builtin(f"{cls.name}.{hook}", _compare(names, getattr(_ORDER, op)))
    if frozen:
        ns[FROZEN] = True
        if options.get("eq", True) and "__hash__" not in ns:
            ns["__hash__"] = Builtin(f"{cls.name}.__hash__", lambda m, obj: hash(tuple(obj.attrs.get(n) for n in names)))
    elif any(base.attrs.get(FROZEN) for base in cls.mro[1:]):
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
    return cls


class _ORDER:
    lt = staticmethod(lambda a, b: a < b)
    le = staticmethod(lambda a, b: a <= b)
    gt = staticmethod(lambda a, b: a > b)
    ge = staticmethod(lambda a, b: a >= b)


def _init(name: str, specs: tuple):
    names = [s[0] for s in specs]

    def init(m, obj, *args, **kwargs):
        if len(args) > len(specs):
            raise TypeError(f"{name}.__init__() takes {len(specs) + 1} positional arguments but {len(args) + 1} were given")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{key}'")
            if key in values:
                raise TypeError(f"{name}.__init__() got multiple values for argument '{key}'")
            values[key] = value
        missing = [n for n, default, factory in specs if n not in values and default is MISSING and factory is MISSING]
        if missing:
            shown = " and ".join(f"'{n}'" for n in missing) if len(missing) <= 2 else ", ".join(f"'{n}'" for n in missing)
            word = "argument" if len(missing) == 1 else "arguments"
            raise TypeError(f"{name}.__init__() missing {len(missing)} required positional {word}: {shown}")
        for n, default, factory in specs:
            if n in values:
                obj.attrs[n] = values[n]
            elif factory is not MISSING:
                obj.attrs[n] = call_value(m, factory, (), {})
            else:
                obj.attrs[n] = default
        return None

    return init


def _repr(m, obj, names) -> str:
    parts = [f"{n}={safe_repr(m, obj.attrs.get(n))}" for n in names]
    return f"{obj.cls.name}({', '.join(parts)})"


def _compare(names, op):
    def compare(m, obj, other):
        if type(other) is not Instance or other.cls is not obj.cls:
            return NotImplemented
        return op(tuple(obj.attrs.get(n) for n in names), tuple(other.attrs.get(n) for n in names))

    return compare


def _need_instance(obj, what: str) -> None:
    if type(obj) is not Instance or not _specs(obj.cls):
        raise TypeError(f"{what}() should be called on dataclass instances")


def _asdict(m, obj):
    _need_instance(obj, "asdict")
    return _as_plain(m, obj, 0)


def _as_plain(m, value, depth: int):
    if depth > 100:
        raise RecursionError("maximum recursion depth exceeded in asdict()")
    m.charge(1)
    t = type(value)
    if t is Instance and _specs(value.cls):
        return {s[0]: _as_plain(m, value.attrs.get(s[0]), depth + 1) for s in _specs(value.cls)}
    if t is list or t is tuple:
        return t(_as_plain(m, v, depth + 1) for v in value)
    if t is dict:
        return {_as_plain(m, k, depth + 1): _as_plain(m, v, depth + 1) for k, v in value.items()}
    return value


def _replace(m, obj, /, **changes):
    _need_instance(obj, "replace")
    current = {s[0]: obj.attrs.get(s[0]) for s in _specs(obj.cls)}
    for key in changes:
        if key not in current:
            raise TypeError(f"{obj.cls.name}.__init__() got an unexpected keyword argument '{key}'")
    return construct(m, obj.cls, (), {**current, **changes})


def _is_dataclass(m, obj):
    cls = obj.cls if type(obj) is Instance else obj
    return type(cls) is SandboxClass and bool(_specs(cls))


def members(m) -> dict:
    """The members of the ``dataclasses`` facade."""
    return {
        "dataclass": DATACLASS,
        "field": Builtin("field", _field),
        "asdict": Builtin("asdict", _asdict),
        "replace": Builtin("replace", _replace),
        "is_dataclass": Builtin("is_dataclass", _is_dataclass),
        "FrozenInstanceError": TypeValue(
            "FrozenInstanceError", lambda m, *a: dataclasses.FrozenInstanceError(*a), dataclasses.FrozenInstanceError
        ),
    }


_HASHABLE = frozenset({type(None), bool, int, float, complex, str, bytes, range})


def plain_hash(m, value):
    """``hash(value)`` for plain immutable data (numbers, text, bytes, dates, ranges, and tuples
    and frozensets of them) and frozen dataclass instances; anything hashed by identity is a
    ``TypeError`` (its hash would be its address)."""
    _check_hashable(m, value, 0)
    return hash(value)


def _check_hashable(m, value, depth: int) -> None:
    t = type(value)
    if t in _HASHABLE or t in DATES:
        return
    if depth > 100:
        raise RecursionError("maximum recursion depth exceeded in hash()")
    if t is tuple or t is frozenset:
        m.charge(len(value) + 1)
        for item in value:
            _check_hashable(m, item, depth + 1)
        return
    if t is Instance and type(find(value.cls, "__hash__")) is Builtin:
        for spec in _specs(value.cls):
            _check_hashable(m, value.attrs.get(spec[0]), depth + 1)
        return
    raise TypeError(f"unhashable type: '{type_name(value)}'")


# --- collections.namedtuple -------------------------------------------------------------------------


def namedtuple(m, typename, field_names, *, rename=False, defaults=None, module=None):
    """``collections.namedtuple``: a frozen record class on the class model whose instances
    index, unpack, iterate, measure and compare (also with tuples) as tuples do."""
    if type(field_names) is str:
        field_names = field_names.replace(",", " ").split()
    names = [n for n in (field_names if type(field_names) in (list, tuple) else list(field_names))]
    for name in [typename, *names]:
        if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"Type names and field names must be valid identifiers: {name!r}")
    for name in names:
        if name[:1] == "_":
            raise ValueError(f"Field names cannot start with an underscore: {name!r}")
    if len(set(names)) != len(names):
        raise ValueError("Encountered duplicate field name")
    defaults = tuple(defaults) if defaults is not None else ()
    if len(defaults) > len(names):
        raise TypeError("Got more default values than field names")
    m.charge(len(names) + 2)
    namespace: dict = dict(zip(names[len(names) - len(defaults):], defaults))
    cls = make_class(m, typename, [], namespace)
    make_dataclass(m, cls, names, {"frozen": True, "eq": False}, check_defaults=False)
    values = _values(names)
    hooks = {
        "__iter__": lambda m, obj: iter(values(obj)),
        "__len__": lambda m, obj: len(names),
        "__getitem__": lambda m, obj, key: values(obj)[key],
        "__hash__": lambda m, obj: hash(values(obj)),
        "__eq__": _as_tuple(values, lambda a, b: a == b),
        "__lt__": _as_tuple(values, lambda a, b: a < b),
        "__le__": _as_tuple(values, lambda a, b: a <= b),
        "__gt__": _as_tuple(values, lambda a, b: a > b),
        "__ge__": _as_tuple(values, lambda a, b: a >= b),
    }
    for hook, fn in hooks.items():
        namespace[hook] = Builtin(f"{typename}.{hook}", fn)
    return cls


def _values(names):
    def values(obj) -> tuple:
        return tuple(obj.attrs.get(n) for n in names)

    return values


def _as_tuple(values, op):
    def compare(m, obj, other):
        if type(other) is Instance and type(find(other.cls, "__iter__")) is Builtin and _specs(other.cls):
            return op(values(obj), tuple(other.attrs.get(s[0]) for s in _specs(other.cls)))
        if type(other) is tuple:
            return op(values(obj), other)
        return NotImplemented

    return compare


# --- random.Random ----------------------------------------------------------------------------------


def generator_class(m, members_for) -> SandboxClass:
    """``random.Random``: a class on the class model whose instances carry the ``random``
    facade's functions bound to a generator of their own (``members_for(m, rng)``), seeded
    with ``None``, a number, a text or bytes."""

    def init(m, obj, seed=None):
        if type(seed) not in (type(None), int, float, str, bytes):
            raise TypeError("The only supported seed types are: None, int, float, str, bytes, and bytearray.")
        m.charge(24)
        obj.attrs.update(members_for(m, random.Random(seed)))

    return make_class(m, "Random", [], {"__init__": Builtin("Random.__init__", init)})
