"""Operator tables. Operators whose native cost is not O(1) are checked first (``fn(m, a, b)``);
the others are the ``operator`` module's functions (``fn(a, b)``)."""

from __future__ import annotations

import ast
import collections
import operator

from .iteration import charge_result, materialize
from .limits import check_percent, division_ops, limit_error, modpow_ops, pow_bits, product_ops
from .reprs import safe_repr
from .values import SCALARS

__all__ = ["BINOPS", "CHECKED_BINOPS", "INPLACE", "UNARY", "COMPARE", "CHECKED_COMPARE", "SMALL_INT", "floordiv", "divmod_", "counted", "INT_RESULTS", "search_ops", "charge_compare"]

SMALL_INT = 1 << 2048  # ints below this divide, reduce and multiply in well under one step

_SEQUENCES = frozenset({str, bytes, list, tuple, collections.deque})
_INTS = (int, bool)


def _too_long(m, n: int, t: type = str) -> None:
    if n > m.limits.max_sequence_length:
        raise limit_error("max_sequence_length", f"a result of {n} elements", m.line)
    if n > 256:
        m.charge(n >> 4 if t is str or t is bytes else n >> 1)


def counted(m, r):
    """An int result beyond a few kilobits is charged as it is kept (operations and memory):
    a loop of ``a.append(x - 1)`` over a big ``x`` stops at the budget, not at gigabytes."""
    if type(r) is int and not -SMALL_INT < r < SMALL_INT:
        charge_result(m, r)
    return r


def add(m, a, b):
    ta = type(a)
    if ta in _SEQUENCES and type(b) is ta:
        _too_long(m, len(a) + len(b), ta)
    elif ta is int:
        return counted(m, a + b)
    return a + b


def mul(m, a, b):
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        bits = a.bit_length() + b.bit_length()
        if bits > m.limits.max_int_bits:
            raise limit_error("max_int_bits", f"a product of about {bits} bits", m.line)
        if bits > 4096:
            m.charge(product_ops(a.bit_length(), b.bit_length()))
            return counted(m, a * b)
    elif ta in _SEQUENCES and tb in _INTS:
        _too_long(m, len(a) * b, ta)
    elif tb in _SEQUENCES and ta in _INTS:
        _too_long(m, len(b) * a, tb)
    return a * b


def power(m, a, b, mod=None):
    if mod is None and type(a) in _INTS and type(b) in _INTS:
        bits = pow_bits(a, b)
        if bits > m.limits.max_int_bits:
            raise limit_error("max_int_bits", f"a power of about {bits} bits", m.line)
    if mod is not None:
        if type(mod) in _INTS and type(b) in _INTS and type(a) in _INTS:
            mod_bits = mod.bit_length()
            if mod_bits > m.limits.max_int_bits:
                raise limit_error("max_int_bits", f"a modulus of {mod_bits} bits", m.line)
            m.charge(modpow_ops(abs(b).bit_length(), mod_bits, b < 0) + division_ops(a.bit_length(), mod_bits))
        return counted(m, pow(a, b, mod))
    return counted(m, a**b)


def _charge_division(m, a, b) -> None:
    if type(a) in _INTS and type(b) in _INTS and not -SMALL_INT < a < SMALL_INT:
        m.charge(division_ops(a.bit_length(), b.bit_length()))


def floordiv(m, a, b):
    _charge_division(m, a, b)
    return counted(m, a // b)


def divmod_(m, a, b):
    _charge_division(m, a, b)
    q, r = divmod(a, b)
    return counted(m, q), counted(m, r)


def lshift(m, a, b):
    if type(a) in _INTS and type(b) in _INTS and a and b > 0:
        bits = a.bit_length() + b
        if bits > m.limits.max_int_bits:
            raise limit_error("max_int_bits", f"a shift result of about {bits} bits", m.line)
    return counted(m, a << b)


def mod(m, a, b):
    ta = type(a)
    if ta is str or ta is bytes:
        check_percent(a, b, m.limits)
        for value in b if type(b) is tuple else (b,):
            if type(value) not in SCALARS:
                safe_repr(m, value)  # bounds and charges what %s / %r will print
        result = a % b
        _too_long(m, len(result))
        return result
    _charge_division(m, a, b)
    return counted(m, a % b)


def iadd(m, a, b):
    ta = type(a)
    if ta is list or ta is collections.deque:
        items = materialize(m, b)
        _too_long(m, len(a) + len(items), list)
        a.extend(items)
        return a
    return add(m, a, b)


def imul(m, a, b):
    if type(a) is list and type(b) in _INTS:
        _too_long(m, len(a) * b, list)
        a *= b
        return a
    return mul(m, a, b)


def search_ops(needle, n: int) -> int:
    """Operations of comparing ``needle`` with ``n`` elements (``in``, ``count``, ``index``,
    ``remove``): each comparison with an equal-looking text or int scans it, about 1 op per 2 KB."""
    t = type(needle)
    if t is str or t is bytes:
        return n * (len(needle) >> 11)
    if t is int:
        return n * (needle.bit_length() >> 14)
    return 0


_ARRAYS = (list, tuple)


def _compare_cost(x, memo: dict, depth: int) -> int:
    t = type(x)
    if t is str or t is bytes:
        return len(x) >> 11
    if t is int:
        return x.bit_length() >> 14
    if t is not list and t is not tuple:
        return 0
    key = id(x)
    cost = memo.get(key)
    if cost is None:
        if depth > 50:
            return len(x)
        memo[key] = 0  # a list that contains itself
        cost = len(x) >> 4
        for item in x:
            ti = type(item)
            if ti is str or ti is bytes or ti is int or ti is list or ti is tuple:
                cost += _compare_cost(item, memo, depth + 1)
        memo[key] = cost
    return cost


def charge_compare(m, a, b) -> None:
    """``==``, ``<``... of two lists or tuples compare element by element, natively: charge what
    scanning the elements (long texts, big ints, nested lists) costs before comparing."""
    if type(b) in _ARRAYS and len(a) > 64 and len(b) > 64:
        m.charge(_compare_cost(a if len(a) <= len(b) else b, {}, 0))


def contains(m, a, b):
    tb = type(b)
    if tb in _SEQUENCES:
        n = len(b)
        m.charge(n >> 6)
        if tb is not str and tb is not bytes and n > 64:
            m.charge(search_ops(a, n))
    return a in b


def not_contains(m, a, b):
    return not contains(m, a, b)


CHECKED_BINOPS = {ast.Add: add, ast.Mult: mul, ast.Pow: power, ast.LShift: lshift, ast.Mod: mod, ast.FloorDiv: floordiv}
BINOPS = {
    ast.Sub: operator.sub,
    ast.Div: operator.truediv,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
    ast.MatMult: operator.matmul,
}
INPLACE = {
    ast.Add: iadd,
    ast.Mult: imul,
    ast.Pow: power,
    ast.LShift: lshift,
    ast.Mod: mod,
    ast.Sub: lambda m, a, b: counted(m, operator.isub(a, b)),
    ast.Div: lambda m, a, b: operator.itruediv(a, b),
    ast.FloorDiv: floordiv,
    ast.RShift: lambda m, a, b: counted(m, operator.irshift(a, b)),
    ast.BitOr: lambda m, a, b: counted(m, operator.ior(a, b)),
    ast.BitXor: lambda m, a, b: counted(m, operator.ixor(a, b)),
    ast.BitAnd: lambda m, a, b: counted(m, operator.iand(a, b)),
    ast.MatMult: lambda m, a, b: operator.imatmul(a, b),
}
# operators whose int result can be as big as an operand (charged by ``counted`` when it is big)
INT_RESULTS = frozenset({ast.Sub, ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.USub, ast.UAdd, ast.Invert})
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert}
COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
CHECKED_COMPARE = {ast.In: contains, ast.NotIn: not_contains}
