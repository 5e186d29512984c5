"""The curated builtins: the only names a program finds besides its variables and tools.

Higher-order builtins (``map``, ``filter``, ``sorted``, ``min``, ``max``, ``sum``, ``any``,
``all``, ``zip``, ``enumerate``) are the interpreter's own: what they consume is charged one
operation per element, what they return lazily is a charged iterator, and callbacks are
sandbox values (sandbox functions, tools, these builtins), never a host callable.
"""

from __future__ import annotations

from ..errors import RefusedConstructError
from .formatting import safe_format
from .iteration import charge_result, materialize, not_iterable, stream
from .limits import check_codec, division_ops, limit_error
from .operators import add, divmod_, power
from .reprs import safe_repr, safe_str
from .values import (
    SANDBOX_CALLABLES,
    Builtin,
    ChargedIter,
    Handle,
    NativeFunction,
    TypeValue,
)

__all__ = ["BUILTINS", "FORBIDDEN_BUILTINS", "EXCEPTIONS", "exception_types", "source"]

_MISSING = object()

FORBIDDEN_BUILTINS = frozenset(
    "getattr setattr delattr hasattr vars globals locals dir eval exec compile open input "
    "__import__ type object super memoryview breakpoint help exit quit id classmethod "
    "staticmethod property issubclass bytearray BaseException SystemExit KeyboardInterrupt "
    "GeneratorExit __builtins__ copyright credits license aiter anext hash".split()
)

EXCEPTIONS = (
    Exception, ArithmeticError, AssertionError, AttributeError, IndexError, KeyError,
    LookupError, NameError, NotImplementedError, OverflowError, RuntimeError, StopIteration,
    TypeError, ValueError, ZeroDivisionError, UnicodeError, UnicodeDecodeError,
    UnicodeEncodeError, UnboundLocalError,
)  # fmt: skip


def source(m, obj):
    """An iterator for a lazy adaptor: charged iterators as they are, ranges charged per
    element (native adaptors may skip many), containers natively (bounded by their size)."""
    t = type(obj)
    if t is ChargedIter:
        return obj
    if t is range:
        return stream(m, obj)
    if t is Handle:
        raise not_iterable(obj)
    return iter(obj)


def _print(m, *args, sep=" ", end="\n", file=None, flush=False):
    if file is not None:
        raise RefusedConstructError("print(file=...)", line=m.line, hint="print writes to the captured output only.")
    if sep is None:
        sep = " "
    if end is None:
        end = "\n"
    if type(sep) is not str or type(end) is not str:
        raise TypeError("sep and end must be None or a string")
    m.write(sep.join([safe_str(m, a) for a in args]) + end)


def _minmax(native, name):
    def minmax(m, *args, key=None, default=_MISSING):
        if not args:
            raise TypeError(f"{name} expected at least 1 argument, got 0")
        if len(args) == 1:
            items = materialize(m, args[0])
            if default is not _MISSING:
                return native(items, key=key, default=default)
        elif default is not _MISSING:
            raise TypeError(f"Cannot specify a default for {name}() with multiple positional arguments")
        else:
            items = args
        return native(items, key=key)

    return minmax


def _int_sum_ops(items) -> int:
    """Operations of a native sum of big ints (1 op per 64 digits added); 0 for other items."""
    if len(items) < 64:
        return 0
    try:
        bits = sum(map(int.bit_length, items))
    except TypeError:  # not all ints: floats and the rest add in constant time
        return 0
    return bits // 30 >> 6


def _sum(m, iterable, /, start=0):
    items = materialize(m, iterable)
    m.charge(_int_sum_ops(items))
    if type(start) in (int, float, complex, bool):
        try:
            return sum(items, start)
        except TypeError:
            pass
    if type(start) is str:
        raise TypeError("sum() can't sum strings [use ''.join(seq) instead]")
    total = start
    for item in items:
        total = add(m, total, item)
    return total


def _sorted(m, iterable, /, *, key=None, reverse=False):
    items = list(materialize(m, iterable))
    m.charge(len(items) * max(len(items).bit_length() >> 2, 1))  # n log n comparisons
    items.sort(key=key, reverse=reverse)
    return items


def _any(m, iterable):
    return any(stream(m, iterable))


def _all(m, iterable):
    return all(stream(m, iterable))


def _enumerate(m, iterable, start=0):
    return ChargedIter(m, enumerate(source(m, iterable), start), "enumerate")


def _zip(m, *iterables, strict=False):
    return ChargedIter(m, zip(*[source(m, i) for i in iterables], strict=strict), "zip")


def _map(m, fn, *iterables):
    if not iterables:
        raise TypeError("map() must have at least two arguments.")
    return ChargedIter(m, map(fn, *[source(m, i) for i in iterables]), "map")


def _filter(m, fn, iterable):
    return ChargedIter(m, filter(fn, source(m, iterable)), "filter")


def _reversed(m, seq):
    return ChargedIter(m, reversed(seq), "reversed")


def _iter(m, obj, *sentinel):
    if sentinel:
        raise RefusedConstructError("iter() with two arguments", line=m.line, hint="Use a while loop.")
    if type(obj) is ChargedIter:
        return obj
    return ChargedIter(m, iter(source(m, obj)), f"{type(obj).__name__}_iterator")


def _next(m, iterator, *default):
    if type(iterator) is not ChargedIter:
        raise TypeError(f"'{type(iterator).__name__}' object is not an iterator")
    return next(iterator, *default)


def _pow(m, base, exp, mod=None):
    return power(m, base, exp, mod)


def _round(m, number, ndigits=None):
    if type(ndigits) is int and ndigits < 0 and type(number) is int:
        if -ndigits > m.limits.max_int_bits // 3:
            raise limit_error("max_int_bits", f"round to {ndigits} digits", m.line)
        m.charge(division_ops(number.bit_length(), -ndigits * 10 // 3))
    return round(number) if ndigits is None else round(number, ndigits)


def _isinstance(m, obj, classinfo):
    return isinstance(obj, exception_types(classinfo, what="isinstance() arg 2"))


def exception_types(value, what="catching classes"):
    """Real classes behind a TypeValue or a (nested) tuple of them."""
    if type(value) is TypeValue:
        return value.type
    if type(value) is tuple:
        return tuple(exception_types(v, what) for v in value)
    raise TypeError(f"{what} must be a type or tuple of types")


def _callable(m, obj):
    return type(obj) in SANDBOX_CALLABLES


def _format(m, value, spec=""):
    return charge_result(m, safe_format(m, value, spec))


def _repr(m, obj):
    return charge_result(m, safe_repr(m, obj))


def _ascii(m, obj):
    return charge_result(m, safe_repr(m, obj).encode("ascii", "backslashreplace").decode("ascii"))


def _divmod(m, a, b):
    return divmod_(m, a, b)


def _built(fn):
    """A native conversion whose result (``bin``, ``hex``, ``bytes.fromhex``...) is charged."""

    def call(m, *args):
        return charge_result(m, fn(*args))

    return call


# --- checked constructors -------------------------------------------------------------------------


def _str(m, *args, **kwargs):
    if len(args) == 1 and not kwargs:
        text = safe_str(m, args[0])
        return text if len(text) <= 1024 else charge_result(m, text)
    if args and type(args[0]) is bytes:
        check_codec(m, args[0], args[1] if len(args) > 1 else kwargs.get("encoding", "utf-8"))
    return charge_result(m, str(*args, **kwargs))


def _int(m, *args, **kwargs):
    if args and type(args[0]) in (str, bytes) and len(args[0]) > m.limits.max_int_bits // 3:
        raise limit_error("max_int_bits", f"int() of a {len(args[0])}-character text", m.line)
    return int(*args, **kwargs)


def _container(cls):
    def make(m, *args):
        if not args:
            return cls()
        if len(args) > 1:
            raise TypeError(f"{cls.__name__} expected at most 1 argument, got {len(args)}")
        return cls(materialize(m, args[0]))

    return make


def _dict(m, *args, **kwargs):
    if args and not isinstance(args[0], dict):
        args = (materialize(m, args[0]),) + args[1:]
    return dict(*args, **kwargs)


def _bytes(m, *args, **kwargs):
    if args and type(args[0]) is int and args[0] > m.limits.max_sequence_length:
        raise limit_error("max_sequence_length", f"bytes({args[0]})", m.line)
    if args and type(args[0]) not in (int, str, bytes):
        args = (materialize(m, args[0]),) + args[1:]
    if args and type(args[0]) is str:
        check_codec(m, args[0], args[1] if len(args) > 1 else kwargs.get("encoding", "utf-8"))
    return charge_result(m, bytes(*args, **kwargs))


def _native(cls):
    def make(m, *args, **kwargs):
        return cls(*args, **kwargs)

    return make


def _fromkeys(m, iterable, value=None):
    return dict.fromkeys(materialize(m, iterable), value)


def _from_bytes(m, data, *args, **kwargs):
    data = materialize(m, data)
    if len(data) * 8 > m.limits.max_int_bits:
        raise limit_error("max_int_bits", f"int.from_bytes of {len(data)} bytes", m.line)
    return int.from_bytes(data, *args, **kwargs)


def _maketrans(cls):
    def maketrans(m, *args):
        for arg in args:
            if type(arg) is dict:
                m.charge(len(arg))
        return cls.maketrans(*args)

    return maketrans


def _type(name, cls, fn, **attrs):
    return TypeValue(name, fn, cls, attrs)


def _natives(names: str) -> dict:
    import builtins

    return {n: NativeFunction(n, getattr(builtins, n)) for n in names.split()}


BUILTINS: dict = {
    **_natives("len abs chr ord"),
    **{f.__name__: Builtin(f.__name__, _built(f)) for f in (hex, oct, bin)},
    "divmod": Builtin("divmod", _divmod),
    "print": Builtin("print", _print),
    "min": Builtin("min", _minmax(min, "min")),
    "max": Builtin("max", _minmax(max, "max")),
    "sum": Builtin("sum", _sum),
    "sorted": Builtin("sorted", _sorted),
    "any": Builtin("any", _any),
    "all": Builtin("all", _all),
    "enumerate": Builtin("enumerate", _enumerate),
    "zip": Builtin("zip", _zip),
    "map": Builtin("map", _map),
    "filter": Builtin("filter", _filter),
    "reversed": Builtin("reversed", _reversed),
    "iter": Builtin("iter", _iter),
    "next": Builtin("next", _next),
    "pow": Builtin("pow", _pow),
    "round": Builtin("round", _round),
    "isinstance": Builtin("isinstance", _isinstance),
    "callable": Builtin("callable", _callable),
    "format": Builtin("format", _format),
    "repr": Builtin("repr", _repr),
    "ascii": Builtin("ascii", _ascii),
    "str": _type("str", str, _str, maketrans=Builtin("str.maketrans", _maketrans(str))),
    "bytes": _type(
        "bytes", bytes, _bytes,
        fromhex=Builtin("bytes.fromhex", _built(bytes.fromhex)),
        maketrans=Builtin("bytes.maketrans", _maketrans(bytes)),
    ),  # fmt: skip
    "int": _type("int", int, _int, from_bytes=Builtin("int.from_bytes", _from_bytes)),
    "float": _type("float", float, _native(float), fromhex=NativeFunction("float.fromhex", float.fromhex)),
    "complex": _type("complex", complex, _native(complex)),
    "bool": _type("bool", bool, _native(bool)),
    "list": _type("list", list, _container(list)),
    "tuple": _type("tuple", tuple, _container(tuple)),
    "set": _type("set", set, _container(set)),
    "frozenset": _type("frozenset", frozenset, _container(frozenset)),
    "dict": _type("dict", dict, _dict, fromkeys=Builtin("dict.fromkeys", _fromkeys)),
    "range": _type("range", range, _native(range)),
    **{e.__name__: _type(e.__name__, e, _native(e)) for e in EXCEPTIONS},
}
