"""The capability model: which attributes exist for sandbox code, and what it may call.

:func:`lookup` is the ONE attribute check. Every path that reaches an attribute (reads,
method calls, method values, the read of an augmented assignment) goes through it; writes and
deletes go through :func:`set_attribute`/:func:`delete_attribute`, which allow only the
program's own instances and classes. An attribute exists only when it is listed for the value's
exact type (or is a member of a facade module, or a listed class attribute, or is in a sandbox
instance's or class's namespace, :mod:`.classes`); names starting with ``_`` and the
frame/generator/code names are refused whatever the type (``super()`` alone reaches the hooks
of :data:`.classes.HONOURED`).
"""

from __future__ import annotations

import collections
import datetime
import json
from dataclasses import FrozenInstanceError

from ..errors import RefusedConstructError
from .active import current_line
from .classes import (
    FROZEN,
    HONOURED,
    MISSING,
    ClassMethod,
    Property,
    StaticMethod,
    Super,
    error_text,
    find,
    instance_text,
)
from .iteration import charge_result, materialize
from .limits import check_codec, check_strftime, limit_error
from .operators import search_ops
from .reprs import error_part, safe_text
from .tablefacts import FACTS, fact, table_refusal
from .values import (
    CONTAINERS,
    SANDBOX_OBJECTS,
    SCALARS,
    Builtin,
    ChargedIter,
    Facade,
    Handle,
    Instance,
    MethodRef,
    NativeFunction,
    SandboxClass,
    SandboxFunction,
    ToolRef,
    TypeValue,
    type_name,
)

__all__ = [
    "BLOCKED_ATTRIBUTES",
    "TABLES",
    "lookup",
    "get_attribute",
    "call_method",
    "call_value",
    "call_entry",
    "set_attribute",
    "delete_attribute",
    "entries",
]

PLAIN, SCAN, CHECKED, DATA, VALUE, METHOD, PROPERTY = range(7)

BLOCKED_ATTRIBUTES = frozenset(
    "gi_frame gi_code gi_yieldfrom gi_running cr_frame cr_code cr_await cr_running ag_frame "
    "ag_code ag_await f_back f_builtins f_code f_globals f_locals f_trace f_lasti tb_frame "
    "tb_next tb_lasti co_code co_consts co_names obj mro format_map".split()
)


def entries(cls: type, names: str, kind: int) -> dict:
    """Allow-list entries ``{name: (kind, method)}`` for the listed methods ``cls`` has."""
    return {n: (kind, getattr(cls, n)) for n in names.split() if hasattr(cls, n)}


def _data(names: str) -> dict:
    return {n: (DATA, None) for n in names.split()}


def _check_len(m, n: int, what: str) -> None:
    if n > m.limits.max_sequence_length:
        raise limit_error("max_sequence_length", f"{what} of {n} elements", m.line)
    if n > 1024:
        m.charge(n >> 4)


# --- size-checked methods: fn(machine, obj, *args, **kwargs) --------------------------------------


def _padding(method):
    def padded(m, s, width, *rest):
        if type(width) is int:
            _check_len(m, width, "a padded text")
        return method(s, width, *rest)

    return padded


def _splitting(method):
    """split/rsplit/splitlines: each piece is a new string object (~50 bytes): 2 operations."""

    def split(m, s, *args, **kwargs):
        m.charge(len(s) >> 6)
        if len(s) > 1 << 16:  # at most one piece per two characters: refused when that cannot fit
            room = (m.limits.memory_mb << 20) - m.memory
            if 32 * len(s) > room:
                raise limit_error("memory_mb", f"splitting a text of {len(s)} characters", m.line)
        pieces = method(s, *args, **kwargs)
        m.charge(2 * len(pieces))
        if len(pieces) > 64:
            m.charge_memory(len(s) + 64 * len(pieces))  # the texts, their headers, the list
        return pieces

    return split


def _expandtabs(m, s, *args, **kwargs):
    size = args[0] if args else kwargs.get("tabsize", 8)
    if type(size) is int and size > 1:
        _check_len(m, len(s) + s.count(b"\t" if type(s) is bytes else "\t") * size, "a text")
    return type(s).expandtabs(s, *args, **kwargs)


def _replace(m, s, old, new, *args):
    count = args[0] if args else -1
    if type(old) is type(s) and type(new) is type(s) and len(new) > len(old):
        hits = s.count(old) if old else len(s) + 1
        if type(count) is int and count >= 0:
            hits = min(hits, count)
        _check_len(m, len(s) + hits * (len(new) - len(old)), "a replaced text")
    return type(s).replace(s, old, new, *args)


def _codec(method, default="utf-8"):
    """encode/decode: codecs whose cost grows faster than the input are charged first."""

    def coded(m, s, *args, **kwargs):
        check_codec(m, s, args[0] if args else kwargs.get("encoding", default))
        m.charge(len(s) >> 6)
        return charge_result(m, method(s, *args, **kwargs))

    return coded


def _join(m, sep, iterable):
    items = materialize(m, iterable)
    if type(items) is not list and type(items) is not tuple:
        items = list(items)
    total = len(sep) * max(len(items) - 1, 0)
    for item in items:
        if type(item) is type(sep):
            total += len(item)
    _check_len(m, total, "a joined text")
    return type(sep).join(sep, items)


def _translate(m, s, table, *args):
    if type(s) is str:
        widest = 1
        values = table.values() if type(table) is dict else table if type(table) in (list, tuple) else ()
        for value in values:
            if type(value) is str:
                widest = max(widest, len(value))
        _check_len(m, len(s) * widest, "a translated text")
    return type(s).translate(s, table, *args)


def _extend(m, xs, iterable):
    items = materialize(m, iterable)
    _check_len(m, len(xs) + len(items), "a list")
    return type(xs).extend(xs, items)


def _extendleft(m, xs, iterable):
    items = materialize(m, iterable)
    _check_len(m, len(xs) + len(items), "a deque")
    return xs.extendleft(items)


def _sort(m, xs, *args, **kwargs):
    m.charge(len(xs) * max(len(xs).bit_length() >> 2, 1))  # n log n comparisons
    return xs.sort(*args, **kwargs)


def _searching(method):
    """count/index/remove on a list, tuple or deque: one comparison with the needle per element."""

    def search(m, xs, needle, *args):
        m.charge((len(xs) >> 6) + search_ops(needle, len(xs)))
        return method(xs, needle, *args)

    return search


def _with_iterables(method):
    def checked(m, obj, *others, **kwargs):
        return method(obj, *[materialize(m, o) for o in others], **kwargs)

    return checked


def _update(m, d, *args, **kwargs):
    if args and not isinstance(args[0], dict):
        args = (materialize(m, args[0]),) + args[1:]
    elif args:
        m.charge(len(args[0]))
    return type(d).update(d, *args, **kwargs)


def _to_bytes(m, n, *args, **kwargs):
    length = args[0] if args else kwargs.get("length", 1)
    if type(length) is int:
        _check_len(m, length, "bytes")
    return n.to_bytes(*args, **kwargs)


def _strftime(m, d, fmt):
    check_strftime(fmt, m.limits)
    return d.strftime(fmt)


def _elements(m, counter):
    return ChargedIter(m, counter.elements(), "itertools.chain")


def _isocalendar(m, d):
    return tuple(d.isocalendar())


_STR_SCAN = (
    "capitalize casefold count encode endswith find index isalnum isalpha isascii isdecimal "
    "isdigit isidentifier islower isnumeric isprintable isspace istitle isupper lower lstrip "
    "partition removeprefix removesuffix rfind rindex rpartition rsplit rstrip split splitlines "
    "startswith strip swapcase title upper decode hex"
)


def _text_table(cls: type) -> dict:
    table = entries(cls, _STR_SCAN, SCAN)
    for name in ("center", "ljust", "rjust", "zfill"):
        table[name] = (CHECKED, _padding(getattr(cls, name)))
    for name in ("split", "rsplit", "splitlines"):
        table[name] = (CHECKED, _splitting(getattr(cls, name)))
    table.update(
        expandtabs=(CHECKED, _expandtabs),
        replace=(CHECKED, _replace),
        join=(CHECKED, _join),
        translate=(CHECKED, _translate),
    )
    for name in ("encode", "decode"):
        if hasattr(cls, name):
            table[name] = (CHECKED, _codec(getattr(cls, name)))
    return table


_DICT = {
    **entries(dict, "get keys values items pop popitem setdefault clear", PLAIN),
    **entries(dict, "copy", SCAN),
    "update": (CHECKED, _update),
}
_SET_ITER = "difference intersection isdisjoint issubset issuperset symmetric_difference union"
_SET_MUT = "difference_update intersection_update symmetric_difference_update update"
_NUMBER = "conjugate as_integer_ratio bit_length bit_count is_integer hex"
_DATE = "weekday isoweekday isoformat toordinal ctime replace"
_TIME_FIELDS = "hour minute second microsecond tzinfo fold"
_VIEW = {"isdisjoint": (CHECKED, _with_iterables(lambda v, o: v.isdisjoint(o)))}

TABLES: dict[type, dict] = {
    str: _text_table(str),
    bytes: _text_table(bytes),
    list: {
        **entries(list, "append clear insert pop", PLAIN),
        **entries(list, "copy reverse", SCAN),
        **{n: (CHECKED, _searching(getattr(list, n))) for n in ("count", "index", "remove")},
        "extend": (CHECKED, _extend),
        "sort": (CHECKED, _sort),
    },
    tuple: {n: (CHECKED, _searching(getattr(tuple, n))) for n in ("count", "index")},
    dict: _DICT,
    set: {
        **entries(set, "add clear discard pop remove", PLAIN),
        **entries(set, "copy", SCAN),
        **{n: (CHECKED, _with_iterables(getattr(set, n))) for n in (_SET_ITER + " " + _SET_MUT).split()},
    },
    frozenset: {
        **entries(frozenset, "copy", SCAN),
        **{n: (CHECKED, _with_iterables(getattr(frozenset, n))) for n in _SET_ITER.split()},
    },
    int: {**entries(int, _NUMBER, PLAIN), **_data("real imag numerator denominator"), "to_bytes": (CHECKED, _to_bytes)},
    bool: {**entries(bool, _NUMBER, PLAIN), **_data("real imag numerator denominator")},
    float: {**entries(float, _NUMBER, PLAIN), **_data("real imag")},
    complex: {**entries(complex, "conjugate", PLAIN), **_data("real imag")},
    range: {**entries(range, "count index", PLAIN), **_data("start stop step")},
    type({}.keys()): _VIEW,
    type({}.items()): _VIEW,
    type({}.values()): {},
    datetime.date: {
        **entries(datetime.date, _DATE, PLAIN),
        **_data("year month day"),
        "strftime": (CHECKED, _strftime),
        "isocalendar": (CHECKED, _isocalendar),
    },
    datetime.datetime: {
        **entries(datetime.datetime, _DATE + " date time timetz timestamp astimezone utcoffset tzname dst", PLAIN),
        **_data("year month day " + _TIME_FIELDS),
        "strftime": (CHECKED, _strftime),
        "isocalendar": (CHECKED, _isocalendar),
    },
    datetime.time: {
        **entries(datetime.time, "isoformat replace utcoffset tzname dst", PLAIN),
        **_data(_TIME_FIELDS),
        "strftime": (CHECKED, _strftime),
    },
    datetime.timedelta: {**entries(datetime.timedelta, "total_seconds", PLAIN), **_data("days seconds microseconds")},
    datetime.timezone: entries(datetime.timezone, "utcoffset tzname dst", PLAIN),
    collections.Counter: {
        **_DICT,
        **entries(collections.Counter, "most_common total", SCAN),
        "elements": (CHECKED, _elements),
        "update": (CHECKED, _with_iterables(collections.Counter.update)),
        "subtract": (CHECKED, _with_iterables(collections.Counter.subtract)),
    },
    collections.OrderedDict: {**_DICT, **entries(collections.OrderedDict, "move_to_end popitem", PLAIN)},
    collections.defaultdict: {**_DICT, **_data("default_factory")},
    collections.deque: {
        **entries(collections.deque, "append appendleft pop popleft clear insert", PLAIN),
        **entries(collections.deque, "copy reverse rotate", SCAN),
        **{n: (CHECKED, _searching(getattr(collections.deque, n))) for n in ("count", "index", "remove")},
        **_data("maxlen"),
        "extend": (CHECKED, _extend),
        "extendleft": (CHECKED, _extendleft),
    },
}

_HINTS = {
    Handle: "Handles are opaque: they can only be passed to tools, stored and returned.",
    ToolRef: "Tools can only be called.",
    SandboxFunction: "Functions can only be called.",
    Instance: "Names starting with '_' (and frame or code names) are never attributes; use a plain name like self.items.",
    SandboxClass: "Names starting with '_' (and frame or code names) are never attributes of a class.",
    Super: "super() reaches the methods of the base classes, and __init__/__repr__/__str__/__enter__/__exit__.",
}


def refused(obj: object, name: object) -> RefusedConstructError:
    shown = name if type(name) is str else "<computed>"
    if type(obj) is Handle and obj.facts is not None:
        return table_refusal(f"The attribute {shown!r} of", obj.facts)
    table = TABLES.get(type(obj))
    if type(obj) is Facade:
        hint = f"Module {obj.name!r} has: {', '.join(sorted(obj.members))}."
    elif table:
        hint = f"Available on {type_name(obj)} values: {', '.join(sorted(table))}."
    else:
        hint = _HINTS.get(type(obj), "Values of this kind have no attributes in agent code.")
    return RefusedConstructError(f"The attribute {shown!r} of a {type_name(obj)} value", line=current_line(), hint=hint)


def lookup(obj: object, name: str) -> tuple:
    """The one attribute check: ``(kind, impl)`` for an allowed attribute, else refuse."""
    if type(name) is not str or name in BLOCKED_ATTRIBUTES or (
        name[:1] == "_" and not (type(obj) is Super and name in HONOURED)
    ):
        raise refused(obj, name)
    t = type(obj)
    table = TABLES.get(t)
    if table is not None:
        entry = table.get(name)
        if entry is not None:
            return entry
    elif t is Facade:
        if name in obj.members:
            return VALUE, obj.members[name]
    elif t is TypeValue or t is Builtin:
        value = obj.attrs.get(name)
        if value is None and t is TypeValue and name in TABLES.get(obj.type, ()):
            value = obj.attrs[name] = _unbound(obj, name)
        if value is not None:
            return VALUE, value
    elif t is Instance or t is SandboxClass or t is Super:
        return _member(obj, t, name)
    elif t is Handle:
        if name in FACTS and obj.facts is not None:
            return PROPERTY, (obj, _FACT_GETTERS[name])
    elif isinstance(obj, BaseException) and t not in SANDBOX_OBJECTS:
        if name == "args" or name in _ERROR_FIELDS.get(t, ()):
            return DATA, None
    raise _unknown(obj, t, table, name)


_FACT_GETTERS = {
    name: Builtin(f"table.{name}", lambda m, h, name=name: charge_result(m, fact(h.facts, name))) for name in FACTS
}
"""The facts of a table handle: fresh plain data (``t.columns`` a list of ``str``...), charged
as built (a wide table's columns cost what a list that long costs)."""

_ERROR_FIELDS = {json.JSONDecodeError: frozenset({"msg", "pos", "lineno", "colno"})}
"""Data attributes of caught exceptions besides ``args`` (plain values set by the library)."""


def _unknown(obj, t, table, name: str) -> Exception:
    """The error for an ordinary name that is not allowed on ``obj``: an ``AttributeError``
    (which ``except``/``hasattr`` see) when ``obj``'s class has no such attribute at all (a
    misspelt method of plain data, ``[].push``), else the refusal (an attribute that exists on
    the host class but is not on the allow-list stays out of reach, and uncatchable)."""
    if table is not None:
        cls = t
    elif t is TypeValue and type(obj.type) is type:
        if not hasattr(obj.type, name):
            return AttributeError(f"type object '{obj.name}' has no attribute '{name}'")
        return refused(obj, name)
    elif isinstance(obj, BaseException) and t not in SANDBOX_OBJECTS and type(t) is type:
        cls = t
    else:
        return refused(obj, name)
    if hasattr(cls, name):
        return refused(obj, name)
    return AttributeError(f"'{type_name(obj)}' object has no attribute '{name}'")


def _member(obj, t, name: str) -> tuple:
    """An attribute of a sandbox instance, class or ``super()``: ``(VALUE, value)``, or
    ``(METHOD, (self, fn))`` / ``(PROPERTY, (self, getter))`` to call with ``self`` first."""
    if t is Instance:
        value = obj.attrs.get(name, MISSING)
        if value is not MISSING:
            return VALUE, value
        owner, cls, value = obj, obj.cls, find(obj.cls, name)
        missing = f"'{cls.name}' object has no attribute '{name}'"
    elif t is SandboxClass:
        owner, cls, value = None, obj, find(obj, name)
        missing = f"type object '{obj.name}' has no attribute '{name}'"
    else:
        owner = obj.target
        if type(owner) is Instance:
            cls = owner.cls
        elif type(owner) is SandboxClass:
            cls = owner
        else:
            raise TypeError("super(type, obj): obj must be an instance or subtype of type")
        mro = cls.mro
        value = MISSING
        for c in mro[mro.index(obj.cls) + 1 :] if obj.cls in mro else ():
            value = c.attrs.get(name, MISSING)
            if value is not MISSING:
                break
        if type(owner) is not Instance:
            owner = None
        if value is MISSING and name in _OBJECT_HOOKS:
            return VALUE, _OBJECT_HOOKS[name] if owner is None else _object_hook(owner, name)
        missing = f"'super' object has no attribute '{name}'"
    if value is MISSING:
        raise AttributeError(missing)
    kind = type(value)
    if kind is SandboxFunction:
        return (VALUE, value) if owner is None else (METHOD, (owner, value))
    if kind is StaticMethod:
        return VALUE, value.fn
    if kind is ClassMethod:
        return METHOD, (cls, value.fn)
    if kind is Property:
        return (VALUE, value) if owner is None else (PROPERTY, (owner, value.fn))
    return VALUE, value


def _object_init(m, *args, **kwargs):
    if args or kwargs:
        raise TypeError("object.__init__() takes exactly one argument (the instance to initialize)")


_OBJECT_HOOKS = {"__init__": Builtin("object.__init__", _object_init), "__repr__": None, "__str__": None}


def _error_init(owner: Instance, args: tuple, kwargs: dict) -> None:
    if kwargs:
        raise TypeError(f"{owner.cls.name}() takes no keyword arguments")
    owner.attrs["args"] = args


def _object_hook(owner: Instance, name: str) -> Builtin:
    """``object.__init__``/``__repr__``/``__str__`` bound to an instance (what ``super()`` finds
    when no sandbox base defines the hook)."""
    if name == "__init__" and owner.cls.error is not None:
        return Builtin("BaseException.__init__", lambda m, *args, **kwargs: _error_init(owner, args, kwargs))
    if name == "__init__":
        return _OBJECT_HOOKS[name]
    if owner.cls.error is not None:  # BaseException's own text, from the args
        return Builtin(f"BaseException.{name}", lambda m: error_text(m, owner, name, error_part))
    if name == "__repr__":
        return Builtin("object.__repr__", lambda m: repr(owner))
    return Builtin("object.__str__", lambda m: instance_text(m, owner, "__repr__"))


def set_attribute(m, obj: object, name: str, value) -> None:
    """``obj.name = value``: only on instances and classes the program defined."""
    t = type(obj)
    if type(name) is not str or name[:1] == "_" or name in BLOCKED_ATTRIBUTES or (t is not Instance and t is not SandboxClass):
        raise _refused_write(obj, name, "assigning")
    if t is Instance:
        if type(find(obj.cls, name)) is Property:
            raise AttributeError(f"property '{name}' of '{obj.cls.name}' object has no setter")
        if find(obj.cls, FROZEN) is True:
            raise FrozenInstanceError(f"cannot assign to field '{name}'")
    obj.attrs[name] = value


def delete_attribute(m, obj: object, name: str) -> None:
    """``del obj.name``: only on instances and classes the program defined."""
    t = type(obj)
    if type(name) is not str or name[:1] == "_" or name in BLOCKED_ATTRIBUTES or (t is not Instance and t is not SandboxClass):
        raise _refused_write(obj, name, "deleting")
    if t is Instance and find(obj.cls, FROZEN) is True:
        raise FrozenInstanceError(f"cannot delete field '{name}'")
    if obj.attrs.pop(name, MISSING) is MISSING:
        raise AttributeError(
            f"'{obj.cls.name}' object has no attribute '{name}'" if t is Instance
            else f"type object '{obj.name}' has no attribute '{name}'"
        )  # fmt: skip


def _refused_write(obj, name, verb: str) -> RefusedConstructError:
    shown = name if type(name) is str else "<computed>"
    if type(obj) is Handle and obj.facts is not None:
        return table_refusal(f"{verb} the attribute {shown!r} of", obj.facts)
    return RefusedConstructError(
        f"{verb} the attribute {shown!r} of a {type_name(obj)} value",
        line=current_line(),
        hint="Only attributes of objects made from classes the program defines can be assigned or deleted.",
    )


def _unbound(tv: TypeValue, name: str) -> Builtin:
    """``str.lower`` as a value: calls the allow-listed method of its first argument."""
    cls = tv.type

    def method(m, obj, *args, **kwargs):
        if not isinstance(obj, cls) or type(obj) not in TABLES:
            raise TypeError(f"descriptor '{name}' for '{cls.__name__}' objects doesn't apply to a '{type_name(obj)}' object")
        kind, impl = lookup(obj, name)
        return call_entry(m, obj, kind, impl, args, kwargs)

    return Builtin(f"{tv.name}.{name}", method)


def _data_value(obj: object, name: str):
    value = getattr(obj, name)
    if name == "args":
        return tuple(a if type(a) in SCALARS or type(a) in CONTAINERS else safe_text(a) for a in value)
    return value


def get_attribute(m, obj: object, name: str):
    """``obj.name`` as a value."""
    kind, impl = lookup(obj, name)
    if kind == DATA:
        return _data_value(obj, name)
    if kind == VALUE:
        return impl
    if kind == PROPERTY:
        return call_value(m, impl[1], (impl[0],), {})
    return MethodRef(obj, name, kind, impl, call_entry)


def call_method(m, obj: object, name: str, args, kwargs):
    """``obj.name(*args, **kwargs)``."""
    kind, impl = lookup(obj, name)
    if kind == DATA:
        return call_value(m, _data_value(obj, name), args, kwargs)
    return call_entry(m, obj, kind, impl, args, kwargs)


def call_entry(m, obj, kind, impl, args, kwargs):
    if kind == PLAIN:
        return impl(obj, *args, **kwargs)
    if kind == SCAN:
        m.charge(len(obj) >> 6)
        return charge_result(m, impl(obj, *args, **kwargs))
    if kind == CHECKED:
        return impl(m, obj, *args, **kwargs)
    if kind == VALUE:
        return call_value(m, impl, args, kwargs)
    if kind == METHOD:
        return call_value(m, impl[1], (impl[0], *args), kwargs)
    if kind == PROPERTY:
        return call_value(m, call_value(m, impl[1], (impl[0],), {}), args, kwargs)
    raise TypeError(f"this attribute of a '{type_name(obj)}' object is not callable")


def call_value(m, fn, args, kwargs):
    """Call a sandbox value: only sandbox functions, tools, listed builtins and methods."""
    t = type(fn)
    if t is SandboxFunction:
        code = fn.code if fn.m is m else fn.template.code_for(fn, m)
        return code(fn, args, kwargs)
    if t is Builtin or t is TypeValue:
        return fn.fn(m, *args, **kwargs)
    if t is NativeFunction:
        return fn.fn(*args, **kwargs)
    if t is ToolRef:
        return m.tool_caller(m, fn, args, kwargs)
    if t is MethodRef:
        return call_entry(m, fn.obj, fn.kind, fn.impl, args, kwargs)
    if t is SandboxClass:
        return fn.new(m, fn, args, kwargs)
    raise TypeError(f"'{type_name(fn)}' object is not callable")
