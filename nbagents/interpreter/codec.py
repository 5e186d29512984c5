"""Plain data <-> JSON for the pipes between the kernel and the isolated child.

Never pickle (CVE-2025-14931 was exactly that). Lists are JSON arrays, strings, small ints,
floats, booleans and ``None`` are themselves; everything else is a tagged object
``{"$": tag, ...}``: dicts (any plain keys), tuples, sets, bytes, big ints, complex, ranges,
dates, collections, facade modules, builtin types, and handles (by number: the object stays in
the kernel; a table handle carries its facts, rows, column names and dtypes, never its rows). Cycles and other values raise :class:`Unencodable`.
"""

from __future__ import annotations

import base64
import collections
import datetime

from .builtins import BUILTINS
from .values import Facade, Handle, TypeValue

__all__ = ["Unencodable", "encode", "decode"]


class Unencodable(Exception):
    """The value cannot cross the process boundary."""


_DATES = {
    datetime.datetime: ("datetime", datetime.datetime.fromisoformat),
    datetime.date: ("date", datetime.date.fromisoformat),
    datetime.time: ("time", datetime.time.fromisoformat),
}
_SMALL = 1 << 62


def encode(obj, active=None):
    t = type(obj)
    if t is str or t is bool or obj is None:
        return obj
    if t is int:
        return obj if -_SMALL < obj < _SMALL else {"$": "int", "v": hex(obj)}
    if t is float:
        return obj
    if active is None:
        active = set()
    if id(obj) in active:
        raise Unencodable("a value that contains itself")
    active.add(id(obj))
    try:
        return _encode_compound(obj, t, active)
    finally:
        active.discard(id(obj))


def _encode_compound(obj, t, active):
    if t is list:
        return [encode(v, active) for v in obj]
    if t is dict:
        return {"$": "dict", "v": [[encode(k, active), encode(v, active)] for k, v in obj.items()]}
    if t in (tuple, set, frozenset):
        return {"$": t.__name__, "v": [encode(v, active) for v in obj]}
    if t is bytes:
        return {"$": "bytes", "v": base64.b64encode(obj).decode("ascii")}
    if t is complex:
        return {"$": "complex", "v": [obj.real, obj.imag]}
    if t is range:
        return {"$": "range", "v": [obj.start, obj.stop, obj.step]}
    if t is Handle:
        facts = obj.facts
        if facts is None:
            return {"$": "handle", "n": obj.number, "k": obj.kind}
        return {"$": "handle", "n": obj.number, "k": obj.kind, "t": facts.encode()}
    if t in _DATES:
        return {"$": _DATES[t][0], "v": obj.isoformat()}
    if t is datetime.timedelta:
        return {"$": "timedelta", "v": [obj.days, obj.seconds, obj.microseconds]}
    if t is datetime.timezone:
        return {"$": "timezone", "v": [encode(obj.utcoffset(None), active), obj.tzname(None)]}
    if t is collections.Counter or t is collections.OrderedDict:
        return {"$": t.__name__, "v": [[encode(k, active), encode(v, active)] for k, v in obj.items()]}
    if t is collections.deque:
        return {"$": "deque", "v": [encode(v, active) for v in obj], "max": obj.maxlen}
    if t is collections.defaultdict:
        factory = obj.default_factory
        if factory is not None and (type(factory) is not TypeValue or factory.name not in BUILTINS):
            raise Unencodable("a defaultdict whose factory is a function")
        return {
            "$": "defaultdict",
            "f": None if factory is None else factory.name,
            "v": [[encode(k, active), encode(v, active)] for k, v in obj.items()],
        }
    if t is Facade:
        return {"$": "module", "v": obj.name}
    if t is TypeValue and obj.name in BUILTINS:
        return {"$": "type", "v": obj.name}
    raise Unencodable(f"a {t.__name__} value")


def decode(data, handle, facade, type_value):
    """Decode; ``handle(number, kind, table)`` (``table``: the :class:`~.tablefacts.TableFacts`
    data of a table handle, else ``None``), ``facade(name)`` and ``type_value(name)`` rebuild the
    values that are references."""
    t = type(data)
    if t is list:
        return [decode(v, handle, facade, type_value) for v in data]
    if t is not dict:
        return data
    tag = data.get("$")
    value = data.get("v")

    def each(items):
        return [decode(v, handle, facade, type_value) for v in items]

    def pairs(items):
        return [(decode(k, handle, facade, type_value), decode(v, handle, facade, type_value)) for k, v in items]

    if tag == "int":
        return int(value, 16)
    if tag == "dict":
        return dict(pairs(value))
    if tag == "tuple":
        return tuple(each(value))
    if tag == "set":
        return set(each(value))
    if tag == "frozenset":
        return frozenset(each(value))
    if tag == "bytes":
        return base64.b64decode(value)
    if tag == "complex":
        return complex(*value)
    if tag == "range":
        return range(*value)
    if tag == "handle":
        return handle(int(data["n"]), str(data["k"]), data.get("t"))
    if tag in ("datetime", "date", "time"):
        return {v[0]: v[1] for v in _DATES.values()}[tag](value)
    if tag == "timedelta":
        return datetime.timedelta(*value)
    if tag == "timezone":
        offset = decode(value[0], handle, facade, type_value)
        return datetime.timezone(offset, value[1]) if value[1] else datetime.timezone(offset)
    if tag == "Counter":
        return collections.Counter(dict(pairs(value)))
    if tag == "OrderedDict":
        return collections.OrderedDict(pairs(value))
    if tag == "deque":
        return collections.deque(each(value), data.get("max"))
    if tag == "defaultdict":
        factory = data.get("f")
        return collections.defaultdict(None if factory is None else type_value(factory), pairs(value))
    if tag == "module":
        return facade(str(value))
    if tag == "type":
        return type_value(str(value))
    raise ValueError(f"unknown tag {tag!r}")
