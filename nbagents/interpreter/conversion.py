"""Conversions at the boundary: values from outside into sandbox values (plain data of exact
builtin types, handles for the rest), tool arguments back to host objects, and the final value.
"""

from __future__ import annotations

from ..errors import RefusedConstructError
from .active import current_line
from .reprs import safe_text
from .values import (
    COLLECTIONS,
    CONTAINERS,
    DATES,
    SANDBOX_OBJECTS,
    SCALARS,
    VIEWS,
    Handle,
    HandleRegistry,
    type_name,
)

__all__ = ["to_sandbox", "to_host", "to_result", "host_value"]



def _exact(obj: object):
    """Copy an instance of a plain builtin's subclass into the exact builtin type, without
    calling methods the subclass may override; ``None`` when not a plain subclass."""
    mro = type(obj).__mro__  # the real type, never the object's own __class__
    for base, copy in _EXACT_COPIES:
        if base in mro:
            return base, copy(obj)
    return None


_EXACT_COPIES = (
    (bool, bool),
    (int, int.__int__),
    (float, float.__float__),
    (complex, lambda z: complex(float(z.real), float(z.imag))),
    (str, str.__str__),
    (bytes, lambda b: bytes(memoryview(b))),
    (list, list.copy),
    (tuple, lambda t: tuple.__getitem__(t, slice(None))),
    (dict, dict.copy),
    (set, set.copy),
    (frozenset, lambda s: frozenset(frozenset.__iter__(s))),
)


def to_sandbox(obj: object, handles: HandleRegistry, *, trusted: bool = False, memo=None):
    """Convert a value from outside: plain data to exact builtin types, the rest to handles.

    With ``trusted`` (values already in the state from earlier runs), the interpreter's own
    objects are kept as they are; tool results are never trusted.
    """
    t = type(obj)
    if t in SCALARS:
        return obj
    if memo is None:
        memo = {}
    key = id(obj)
    if key in memo:
        return memo[key]
    if t in CONTAINERS:
        return _convert_container(obj, t, handles, trusted, memo, copy=not trusted)
    if t is Handle:
        obj.refresh()  # a table a run starts with again: as it is now
        return obj
    if trusted and (t in SANDBOX_OBJECTS or t in DATES or t in VIEWS or t in COLLECTIONS):
        return obj
    if trusted and isinstance(obj, Exception):
        return obj
    exact = _exact(obj)
    if exact is not None:
        base, copy = exact
        if base in CONTAINERS:
            return _convert_container(copy, base, handles, trusted, memo, copy=True, key=id(obj))
        return copy
    return handles.wrap(obj)


def _convert_container(src, t, handles, trusted, memo, *, copy: bool, key: int | None = None):
    """Convert the elements of ``src`` (of exact type ``t``). The container itself is kept when
    nothing changed (state from earlier runs keeps its identities) unless ``copy`` (tool
    results never alias the tool's own data)."""
    key = id(src) if key is None else key

    def convert(value):
        return to_sandbox(value, handles, trusted=trusted, memo=memo)

    if t is dict:
        memo[key] = result = {}
        pairs = [(convert(k), convert(v)) for k, v in list(src.items())]
        if not copy and all(a is k and b is v for (a, b), (k, v) in zip(pairs, src.items())):
            memo[key] = src
            return src
        result.update(pairs)
        return result
    if t is list:
        memo[key] = result = []
        items = [convert(v) for v in src]
        if not copy and all(a is b for a, b in zip(items, src)):
            memo[key] = src
            return src
        result.extend(items)
        return result
    items = [convert(v) for v in src]
    if not copy and all(a is b for a, b in zip(items, src)):
        memo[key] = src
        return src
    memo[key] = result = t(items)
    return result


def to_host(obj: object, memo=None):
    """A tool argument: handles unwrapped (inside containers too); sandbox code refused."""
    t = type(obj)
    if t in SCALARS or t in DATES or t is range:
        return obj
    if t is Handle:
        return obj._obj
    if memo is None:
        memo = {}
    if id(obj) in memo:
        return memo[id(obj)]
    if t in CONTAINERS or t in COLLECTIONS:
        if t is dict or isinstance(obj, dict):
            items = [(to_host(k, memo), to_host(v, memo)) for k, v in obj.items()]
            changed = any(a is not k or b is not v for (a, b), (k, v) in zip(items, obj.items()))
            result = dict(items) if changed else obj
        else:
            items = [to_host(v, memo) for v in obj]
            changed = any(a is not b for a, b in zip(items, obj))
            result = (list(items) if t is list else t(items)) if changed else obj
        memo[id(obj)] = result
        return result
    if isinstance(obj, Exception):
        return obj
    raise RefusedConstructError(
        f"passing a {type_name(obj)} to a tool",
        line=current_line(),
        hint="Tools take plain data (numbers, strings, lists, dicts...) and handles.",
    )


def host_value(obj: object):
    """A host value as a tool receives it after passing through a program: plain data copied
    into exact builtin types, handles unwrapped, any other object as it is. Thread-safe (the
    handles it makes are its own and gone when it returns)."""
    return to_host(to_sandbox(obj, HandleRegistry()))


def to_result(obj: object, memo=None, *, keep_handles: bool = False):
    """The final value for the host: handles unwrapped, sandbox code replaced by its repr."""
    t = type(obj)
    if t in SCALARS or t in DATES or t is range:
        return obj
    if t is Handle:
        return obj if keep_handles else obj._obj
    if memo is None:
        memo = {}
    if id(obj) in memo:
        return memo[id(obj)]
    if t in CONTAINERS or t in COLLECTIONS:
        memo[id(obj)] = obj
        if isinstance(obj, dict):
            items = [
                (to_result(k, memo, keep_handles=keep_handles), to_result(v, memo, keep_handles=keep_handles))
                for k, v in obj.items()
            ]
            changed = any(a is not k or b is not v for (a, b), (k, v) in zip(items, obj.items()))
            result = dict(items) if changed else obj
        else:
            items = [to_result(v, memo, keep_handles=keep_handles) for v in obj]
            changed = any(a is not b for a, b in zip(items, obj))
            result = (list(items) if t is list else t(items)) if changed else obj
        memo[id(obj)] = result
        return result
    return repr(obj) if t in SANDBOX_OBJECTS else safe_text(obj)
