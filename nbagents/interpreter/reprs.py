"""A bounded ``repr``/``str`` for sandbox values.

Plain containers are rendered by the interpreter itself, one charged operation per element and
at most a given number of characters, so printing a structure that shares sub-lists (``x = [x, x]``
forty times) stops at the budget instead of running natively for hours. Scalars use the native
repr; the interpreter's own objects have short, safe reprs; anything else is described by its
type name and never asked for its repr.
"""

from __future__ import annotations

import sys

from .classes import instance_text
from .limits import Limits, limit_error
from .values import (
    COLLECTIONS,
    CONTAINERS,
    DATES,
    SANDBOX_OBJECTS,
    SCALARS,
    VIEWS,
    Instance,
    NoneType,
    type_name,
)

__all__ = ["safe_repr", "safe_str", "safe_text", "error_part"]

_ReprCap = 2_000
_DEFAULT_NESTING = Limits().max_nesting  # outside a run


def _too_deep(m) -> Exception:
    bound = m.limits.max_nesting if m is not None else _DEFAULT_NESTING
    return limit_error("max_nesting", f"the text of a value nested more than {bound} deep")


def _nesting(m) -> int:
    return m.limits.max_nesting if m is not None else _DEFAULT_NESTING


def safe_text(obj: object) -> str:
    """A short text for any value, never calling sandbox code (used for final values)."""
    try:
        return safe_repr(None, obj, cap=_ReprCap)
    except Exception:  # noqa: BLE001 - a description must never fail
        return f"<{type_name(obj)} object>"



class _Full(Exception):
    pass


def _int_repr(x: int) -> str:
    if x.bit_length() > 50_000:
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        if limit == 0 or limit > 15_000:
            raise ValueError(
                "Exceeds the limit (4300 digits) for integer string conversion; "
                "use a hex() representation instead"
            )
    return repr(x)


_SCALAR_REPR = {
    NoneType: repr,
    bool: repr,
    float: repr,
    complex: repr,
    int: _int_repr,
    str: repr,
    bytes: repr,
}
_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}
_RECURSIVE = {list: "[...]", tuple: "(...)", dict: "{...}"}


def safe_repr(m, obj: object, cap: int | None = None) -> str:
    """``repr(obj)`` computed by the interpreter for plain containers: one operation per
    element and at most ``cap`` characters (``max_sequence_length`` when ``cap`` is None, a
    :class:`LimitExceededError` beyond; with a ``cap``, the text is cut with ``...``)."""
    f = _SCALAR_REPR.get(type(obj))
    if f is not None and (type(obj) not in (str, bytes) or len(obj) < 10_000):
        return f(obj)
    limit = cap if cap is not None else (m.limits.max_sequence_length if m else 10_000_000)
    out: list[str] = []
    room = [limit]
    try:
        _repr(m, obj, out, room, set(), 0)
    except _Full:
        if cap is None:
            raise limit_error("max_sequence_length", f"a text of more than {limit} characters") from None
        return "".join(out)[:cap] + "..."
    return "".join(out)


def _put(text: str, out: list, room: list) -> None:
    room[0] -= len(text)
    out.append(text)
    if room[0] < 0:
        raise _Full


def _repr(m, obj, out, room, active, depth) -> None:
    t = type(obj)
    f = _SCALAR_REPR.get(t)
    if f is not None:
        if t in (str, bytes) and len(obj) > room[0] + 8:
            _put(f(obj[: room[0] + 8]), out, room)  # longer than what is left: raises _Full
        _put(f(obj), out, room)
        return
    if t not in CONTAINERS:
        _put(_other_repr(m, obj, depth), out, room)
        return
    if id(obj) in active:
        _put(_RECURSIVE.get(t, "..."), out, room)
        return
    if depth >= _nesting(m):
        raise _too_deep(m)
    if m is not None:
        m.charge(len(obj) + 1)
    active.add(id(obj))
    try:
        if t is dict:
            _put("{", out, room)
            first = True
            for k, v in list(obj.items()):
                if not first:
                    _put(", ", out, room)
                first = False
                _repr(m, k, out, room, active, depth + 1)
                _put(": ", out, room)
                _repr(m, v, out, room, active, depth + 1)
            _put("}", out, room)
            return
        if not obj and t in (set, frozenset):
            _put(f"{t.__name__}()", out, room)
            return
        left, right = _BRACKETS[t]
        _put(left, out, room)
        first = True
        for v in list(obj):
            if not first:
                _put(", ", out, room)
            first = False
            _repr(m, v, out, room, active, depth + 1)
        if t is tuple and len(obj) == 1:
            _put(",", out, room)
        _put(right, out, room)
    finally:
        active.discard(id(obj))


def _other_repr(m, obj, depth: int) -> str:
    t = type(obj)
    if t is Instance:
        return instance_text(m, obj, "__repr__", error_part)
    if t in SANDBOX_OBJECTS or t in DATES:
        return repr(obj)
    if isinstance(obj, BaseException):
        args = obj.args
        if depth + 1 >= _nesting(m):
            raise _too_deep(m)
        out: list[str] = []
        try:
            _repr(m, args[0] if len(args) == 1 else args, out, [_ReprCap], set(), depth + 1)
        except _Full:
            inner = "".join(out)[:_ReprCap] + "..."
        else:
            inner = "".join(out)
        return f"{t.__name__}({inner if len(args) == 1 else inner[1:-1]})"
    if t in COLLECTIONS or t in VIEWS:
        _walk(m, obj, 0)
        return repr(obj)
    return f"<{type_name(obj)} object>"


def _walk(m, obj, depth) -> None:
    """Charge one operation per element of a nested structure (before a native repr)."""
    if depth >= _nesting(m):
        raise _too_deep(m)
    if type(obj) in SCALARS:
        return
    try:
        items = list(obj.items()) if isinstance(obj, dict) else list(obj)
    except TypeError:
        return
    if m is not None:
        m.charge(len(items) + 1)
    for item in items:
        if type(item) not in SCALARS:
            _walk(m, item, depth + 1)


def safe_str(m, obj: object, cap: int | None = None) -> str:
    """``str(obj)`` with the same bounds as :func:`safe_repr`."""
    t = type(obj)
    if t is str:
        return obj
    depth = 0
    while isinstance(obj, BaseException) and t not in SANDBOX_OBJECTS:  # str(e) is str(e.args[0])
        args = obj.args
        if not args:
            return ""
        if len(args) != 1 or isinstance(obj, KeyError):
            return safe_repr(m, args[0] if len(args) == 1 else args, cap)
        depth += 1
        if depth >= _nesting(m):
            raise _too_deep(m)
        obj = args[0]
        t = type(obj)
        if t is str:
            return obj
    if t is int:
        return _int_repr(obj)
    if t is float or t is bool or t is NoneType or t in DATES:
        return str(obj)
    if t is Instance:
        return instance_text(m, obj, "__str__", error_part)
    return safe_repr(m, obj, cap)


def error_part(m, value, hook: str) -> str:
    """A part of an exception's text (its ``args``): bounded ``repr`` or ``str``."""
    return safe_repr(m, value, _ReprCap) if hook == "__repr__" else safe_str(m, value, _ReprCap)
