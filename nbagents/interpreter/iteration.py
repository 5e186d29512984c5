"""Handing iterables to native code: charged per element, bounded in length.

``materialize`` gives native consumers (``list``, ``sum``, ``sorted``, ``str.join``,
``list.extend``...) something finite: sized values are charged their length up front and
refused beyond ``max_sequence_length``; lazy ones are drained one charged element at a time.
``stream`` is the lazy variant for consumers that may stop early (``any``, ``zip``, ``map``).
"""

from __future__ import annotations

import sys

from .limits import limit_error
from .values import COLLECTIONS, CONTAINERS, VIEWS, ChargedIter, Handle, type_name

__all__ = ["materialize", "stream", "sized_len", "charge_result", "SIZED"]

SIZED = frozenset(CONTAINERS | VIEWS | COLLECTIONS | {str, bytes, range})


_BYTES_PER_OP = {str: 4, bytes: 4, list: 1, tuple: 1}  # shift: about 16 bytes of memory per operation


def charge_result(m, result):
    """Charge a freshly built value by its approximate memory (strings: 1 op per 16 characters,
    lists and tuples: 1 op per 2 elements, dicts and sets: 1 op per element, ints: 1 op per 16
    bytes); values of more than about a kilobyte also count against ``Limits.memory_mb``."""
    t = type(result)
    shift = _BYTES_PER_OP.get(t)
    if shift is not None:
        n = len(result) >> shift
    elif t is int:
        n = result.bit_length() >> 7
    elif t in (dict, set, frozenset):
        n = len(result)
    else:
        return result
    if n > 64:
        m.charge(n)
        m.charge_memory(sys.getsizeof(result))
    return result


def sized_len(obj) -> int:
    try:
        return len(obj)
    except OverflowError:  # range(10**20)
        return 1 << 62


def not_iterable(obj) -> TypeError:
    """The error of iterating over ``obj``; a table handle raises its refusal instead."""
    if type(obj) is Handle:
        obj.refuse("iterating over")
    return TypeError(f"'{type_name(obj)}' object is not iterable")


def materialize(m, obj):
    """A finite iterable for a native consumer (the object itself when already sized)."""
    t = type(obj)
    if t in SIZED:
        n = sized_len(obj)
        if n > m.limits.max_sequence_length:
            raise limit_error("max_sequence_length", f"{n} elements", m.line)
        m.charge(n)
        return obj
    if t is Handle:
        raise not_iterable(obj)
    limit = m.limits.max_sequence_length
    out: list = []
    append = out.append
    if t is ChargedIter:  # charges itself
        for item in obj:
            append(item)
            if len(out) > limit:
                raise limit_error("max_sequence_length", f"more than {limit} elements", m.line)
        return out
    for item in iter(obj):
        m.ops += 1
        if m.ops > m.next_check:
            m.checkpoint()
        append(item)
        if len(out) > limit:
            raise limit_error("max_sequence_length", f"more than {limit} elements", m.line)
    return out


def _charged(m, it):
    for item in it:
        m.ops += 1
        if m.ops > m.next_check:
            m.checkpoint()
        yield item


def stream(m, obj):
    """An iterator over ``obj`` that charges one operation per element it yields."""
    t = type(obj)
    if t is ChargedIter:
        return obj
    if t is Handle:
        raise not_iterable(obj)
    return _charged(m, iter(obj))
