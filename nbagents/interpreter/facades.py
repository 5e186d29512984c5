"""Curated module facades: what ``import math`` binds is a namespace of listed members.

Never a real module object (``random._os``, ``statistics.sys``, ``json.decoder.re`` are exactly
the re-exports that broke other sandboxes). Functions that consume iterables or build big
numbers are wrapped with the same checks as the builtins; ``random`` is an instance owned by
the interpreter. ``re`` (:mod:`.regexes`) matches under a timeout, in the kernel too; ``time``,
``unicodedata``, ``stat``, ``heapq`` and ``bisect`` are in :mod:`.stdlib_extra`.
"""

from __future__ import annotations

import collections
import datetime
import itertools
import json
import math
import random
import string

from . import records
from .builtins import source
from .iteration import charge_result, materialize
from .limits import limit_error, square_ops
from .operators import add, mul
from .regexes import re_members
from .reprs import safe_repr
from .stdlib_extra import BUILDERS as STDLIB_EXTRA
from .values import Builtin, ChargedIter, Facade, NativeFunction, TypeValue

__all__ = ["FACADE_NAMES", "PROCESS_ONLY", "make_facade"]

FACADE_NAMES = frozenset(
    {"math", "json", "datetime", "statistics", "random", "itertools", "collections", "string", "re", "dataclasses"}
    | set(STDLIB_EXTRA)
)
PROCESS_ONLY: frozenset = frozenset()  # every facade runs in the kernel too


def _native(module, names: str) -> dict:
    prefix = module.__name__
    return {n: NativeFunction(f"{prefix}.{n}", getattr(module, n)) for n in names.split() if hasattr(module, n)}


def _bits_check(m, bits: int, what: str) -> None:
    if bits > m.limits.max_int_bits:
        raise limit_error("max_int_bits", f"{what} of about {bits} bits", m.line)


# --- math ------------------------------------------------------------------------------------------


def _factorial(m, n):
    if type(n) is int and n > 2:
        _bits_check(m, n * n.bit_length(), f"factorial({n})")
    return math.factorial(n)


def _comb(m, n, k):
    if type(n) is int and type(k) is int and 0 <= k <= n:
        _bits_check(m, min(k, n - k) * n.bit_length(), f"comb({n}, {k})")
    return math.comb(n, k)


def _perm(m, n, k=None):
    if type(n) is int and n > 0:
        _bits_check(m, (n if k is None or type(k) is not int else min(k, n)) * n.bit_length(), f"perm({n})")
    return math.perm(n, k)


def _prod(m, iterable, *, start=1):
    total = start
    for item in materialize(m, iterable):
        total = mul(m, total, item)
    return total


def _multi_int(fn):
    """gcd/lcm: bounded in bits, charged quadratically in the digits (Lehmer's gcd)."""

    def checked(m, *ints):
        bits = [i.bit_length() for i in ints if type(i) is int]
        _bits_check(m, sum(bits), fn.__name__)
        m.charge(sum(square_ops(b) for b in bits))
        return fn(*ints)

    return checked


def _isqrt(m, n):
    if type(n) is int:
        m.charge(square_ops(n.bit_length()) >> 1)
    return math.isqrt(n)


def _dist(m, p, q):
    return math.dist(materialize(m, p), materialize(m, q))


def _consuming(fn, cost=1, n_data=1):
    def checked(m, *args, **kwargs):
        data = [materialize(m, a) for a in args[:n_data]]
        m.charge(cost * sum(len(d) for d in data))
        return fn(*data, *args[n_data:], **kwargs)

    return checked


def _math(m) -> dict:
    names = (
        "acos acosh asin asinh atan atan2 atanh cbrt ceil copysign cos cosh degrees erf erfc "
        "exp exp2 expm1 fabs floor fmod frexp gamma hypot isclose isfinite isinf isnan ldexp "
        "lgamma log log10 log1p log2 modf nextafter pow radians remainder sin sinh sqrt tan tanh "
        "trunc ulp"
    )
    members = _native(math, names)
    members.update(
        pi=math.pi, e=math.e, tau=math.tau, inf=math.inf, nan=math.nan,
        factorial=Builtin("math.factorial", _factorial),
        comb=Builtin("math.comb", _comb),
        perm=Builtin("math.perm", _perm),
        prod=Builtin("math.prod", _prod),
        gcd=Builtin("math.gcd", _multi_int(math.gcd)),
        lcm=Builtin("math.lcm", _multi_int(math.lcm)),
        fsum=Builtin("math.fsum", _consuming(math.fsum)),
        isqrt=Builtin("math.isqrt", _isqrt),
        dist=Builtin("math.dist", _dist),
    )  # fmt: skip
    if hasattr(math, "sumprod"):
        members["sumprod"] = Builtin("math.sumprod", _consuming(math.sumprod, n_data=2))
    return members


# --- json ------------------------------------------------------------------------------------------


def _loads(m, s):
    if type(s) not in (str, bytes):
        raise TypeError(f"the JSON object must be str or bytes, not {type(s).__name__}")
    m.charge(len(s) >> 4)
    return json.loads(s)


def _dumps(m, obj, *, indent=None, sort_keys=False, ensure_ascii=True, separators=None):
    if indent is not None and not (type(indent) is int and indent <= 32 or type(indent) is str and len(indent) <= 32):
        raise ValueError("indent must be an int or a string of at most 32 characters")
    if separators is not None and any(type(s) is not str or len(s) > 32 for s in separators):
        raise ValueError("separators must be two short strings")
    safe_repr(m, obj)  # charges per element and bounds the size of what is written
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=separators)
    return charge_result(m, text)


def _json(m) -> dict:
    return {
        "loads": Builtin("json.loads", _loads),
        "dumps": Builtin("json.dumps", _dumps),
        "JSONDecodeError": TypeValue("JSONDecodeError", lambda m, *a: json.JSONDecodeError(*a), json.JSONDecodeError),
    }


# --- datetime --------------------------------------------------------------------------------------


def _strptime(cls):
    def strptime(m, text, fmt):
        if type(fmt) is str and len(fmt) > 1000 or type(text) is str and len(text) > 10_000:
            raise limit_error("max_sequence_length", "a strptime input", m.line)
        return cls.strptime(text, fmt)

    return strptime


def _dt_type(cls, classmethods: str, **extra) -> TypeValue:
    attrs = _native_methods(cls, classmethods)
    for name in ("min", "max", "resolution"):
        if hasattr(cls, name):
            attrs[name] = getattr(cls, name)
    attrs.update(extra)
    return TypeValue(cls.__name__, lambda m, *a, **k: cls(*a, **k), cls, attrs)


def _native_methods(cls, names: str) -> dict:
    return {n: NativeFunction(f"{cls.__name__}.{n}", getattr(cls, n)) for n in names.split() if hasattr(cls, n)}


def _datetime(m) -> dict:
    dt = datetime.datetime
    return {
        "datetime": _dt_type(
            dt, "now today utcnow fromisoformat fromtimestamp utcfromtimestamp combine fromordinal",
            strptime=Builtin("datetime.strptime", _strptime(dt)),
        ),  # fmt: skip
        "date": _dt_type(datetime.date, "today fromisoformat fromtimestamp fromordinal"),
        "time": _dt_type(datetime.time, "fromisoformat"),
        "timedelta": _dt_type(datetime.timedelta, ""),
        "timezone": _dt_type(datetime.timezone, "", utc=datetime.timezone.utc),
        "MINYEAR": datetime.MINYEAR,
        "MAXYEAR": datetime.MAXYEAR,
    }


# --- statistics ------------------------------------------------------------------------------------


def _statistic(fn, n_data):
    """A statistics function: 4 operations per element, and exact (Fraction) arithmetic on big
    ints charged quadratically in their digits (variances square them); ``quantiles(n=...)``
    builds ``n`` cut points."""

    def checked(m, *args, **kwargs):
        data = [materialize(m, a) for a in args[:n_data]]
        m.charge(4 * sum(len(d) for d in data))
        for items in data:
            for item in items:
                if type(item) is int and not -(1 << 256) < item < 1 << 256:
                    m.charge(square_ops(item.bit_length()) + 4 * (item.bit_length() >> 6))
        count = kwargs.get("n")
        if fn.__name__ == "quantiles" and type(count) is int:
            _check_count(m, count)
        return fn(*data, *args[n_data:], **kwargs)

    return checked


def _statistics(m) -> dict:
    import statistics

    names = (
        "mean fmean median median_low median_high median_grouped mode multimode pstdev pvariance "
        "stdev variance quantiles geometric_mean harmonic_mean correlation covariance linear_regression"
    )
    pairs = {"correlation", "covariance", "linear_regression"}
    members = {
        n: Builtin(f"statistics.{n}", _statistic(getattr(statistics, n), 2 if n in pairs else 1))
        for n in names.split()
        if hasattr(statistics, n)
    }
    members["StatisticsError"] = TypeValue(
        "StatisticsError", lambda m, *a: statistics.StatisticsError(*a), statistics.StatisticsError
    )
    return members


# --- random ----------------------------------------------------------------------------------------


def _random(m, rng=None) -> dict:
    members = {} if rng is not None else {"Random": records.generator_class(m, _random)}
    rng = rng if rng is not None else random.Random()
    names = (
        "random uniform randint randrange choice gauss normalvariate lognormvariate expovariate "
        "vonmisesvariate gammavariate betavariate paretovariate weibullvariate triangular seed"
    )
    members.update({n: NativeFunction(f"random.{n}", getattr(rng, n)) for n in names.split()})

    def choices(m, population, weights=None, *, cum_weights=None, k=1):
        if type(k) is int:
            _check_count(m, k)
        return rng.choices(
            materialize(m, population),
            None if weights is None else materialize(m, weights),
            cum_weights=None if cum_weights is None else materialize(m, cum_weights),
            k=k,
        )

    def sample(m, population, k, *, counts=None):
        if type(k) is int:
            _check_count(m, k)
        return rng.sample(materialize(m, population), k, counts=None if counts is None else materialize(m, counts))

    def shuffle(m, x):
        m.charge(len(x))
        return rng.shuffle(x)

    def getrandbits(m, k):
        if type(k) is int:
            _bits_check(m, k, "getrandbits")
        return rng.getrandbits(k)

    def randbytes(m, n):
        if type(n) is int:
            _check_count(m, n)
        return rng.randbytes(n)

    for fn in (choices, sample, shuffle, getrandbits, randbytes):
        members[fn.__name__] = Builtin(f"random.{fn.__name__}", fn)
    return members


def _check_count(m, k: int) -> None:
    if k > m.limits.max_sequence_length:
        raise limit_error("max_sequence_length", f"{k} elements", m.line)
    m.charge(k)


# --- itertools -------------------------------------------------------------------------------------


def _lazy(name, build):
    def make(m, *args, **kwargs):
        return ChargedIter(m, build(m, *args, **kwargs), f"itertools.{name}")

    return Builtin(f"itertools.{name}", make)


def _pools(m, iterables, repeat=1):
    pools = [materialize(m, i) for i in iterables]
    if type(repeat) is int and sum(len(p) for p in pools) * max(repeat, 0) > m.limits.max_sequence_length:
        raise limit_error("max_sequence_length", "itertools.product pools", m.line)
    return pools


def _tuples(m, it, r: int):
    """Combinatoric iterators build an ``r``-tuple per element: charged before each is built."""
    if r <= 64:
        return it
    nbytes = 8 * r + 40

    def charged():
        while True:
            m.charge(r)
            m.charge_memory(nbytes)
            try:
                item = next(it)
            except StopIteration:
                return
            yield item

    return charged()


def _product(m, *its, repeat=1):
    pools = _pools(m, its, repeat)
    r = len(pools) * repeat if type(repeat) is int else 0
    return _tuples(m, itertools.product(*pools, repeat=repeat), r)


def _combinatoric(native, longer=False):
    def make(m, iterable, r=None):
        pool = materialize(m, iterable)
        size = len(pool) if r is None else r
        if type(size) is not int or size > len(pool) and not (longer and pool):
            size = 0  # empty (or the native error)
        return _tuples(m, native(pool) if r is None else native(pool, r), size)

    return make


def _groupby(m, iterable, key=None):
    for k, group in itertools.groupby(source(m, iterable), key):
        yield k, ChargedIter(m, group, "itertools._grouper")


def _accumulate(m, iterable, func=None, *, initial=None):
    """Each accumulated value is new (a growing string, a big int...): charged as it is built."""
    if func is None:
        def step(a, b):
            return charge_result(m, add(m, a, b))
    else:
        def step(a, b):
            return charge_result(m, func(a, b))
    return itertools.accumulate(source(m, iterable), step, initial=initial)


def _itertools(m) -> dict:
    it = itertools
    members = {
        "count": _lazy("count", lambda m, *a: it.count(*a)),
        "cycle": _lazy("cycle", lambda m, i: it.cycle(materialize(m, i))),
        "repeat": _lazy("repeat", lambda m, *a, **k: it.repeat(*a, **k)),
        "chain": _lazy("chain", lambda m, *its: it.chain(*[source(m, i) for i in its])),
        "islice": _lazy("islice", lambda m, i, *a: it.islice(source(m, i), *a)),
        "product": _lazy("product", _product),
        "permutations": _lazy("permutations", _combinatoric(it.permutations)),
        "combinations": _lazy("combinations", _combinatoric(it.combinations)),
        "combinations_with_replacement": _lazy(
            "combinations_with_replacement", _combinatoric(it.combinations_with_replacement, longer=True)
        ),
        "accumulate": _lazy("accumulate", _accumulate),
        "groupby": _lazy("groupby", _groupby),
        "zip_longest": _lazy(
            "zip_longest", lambda m, *its, fillvalue=None: it.zip_longest(*[source(m, i) for i in its], fillvalue=fillvalue)
        ),
        "starmap": _lazy("starmap", lambda m, fn, i: it.starmap(fn, source(m, i))),
        "takewhile": _lazy("takewhile", lambda m, fn, i: it.takewhile(fn, source(m, i))),
        "dropwhile": _lazy("dropwhile", lambda m, fn, i: it.dropwhile(fn, source(m, i))),
        "filterfalse": _lazy("filterfalse", lambda m, fn, i: it.filterfalse(fn, source(m, i))),
        "compress": _lazy("compress", lambda m, d, s: it.compress(source(m, d), source(m, s))),
    }
    if hasattr(it, "pairwise"):
        members["pairwise"] = _lazy("pairwise", lambda m, i: it.pairwise(source(m, i)))
    members["chain"].attrs["from_iterable"] = _lazy(
        "chain", lambda m, i: it.chain.from_iterable(source(m, x) for x in source(m, i))
    )
    return members


# --- collections -----------------------------------------------------------------------------------


def _mapping_or_items(m, args):
    if args and not isinstance(args[0], dict):
        return (materialize(m, args[0]),) + args[1:]
    return args


def _collections(m) -> dict:
    c = collections
    return {
        "Counter": TypeValue("Counter", lambda m, *a, **k: c.Counter(*_mapping_or_items(m, a), **k), c.Counter),
        "OrderedDict": TypeValue(
            "OrderedDict", lambda m, *a, **k: c.OrderedDict(*_mapping_or_items(m, a), **k), c.OrderedDict
        ),
        "defaultdict": TypeValue(
            "defaultdict",
            lambda m, factory=None, *a, **k: c.defaultdict(factory, *_mapping_or_items(m, a), **k),
            c.defaultdict,
        ),
        "deque": TypeValue(
            "deque", lambda m, i=(), maxlen=None: c.deque(materialize(m, i), maxlen), c.deque
        ),
        "namedtuple": Builtin("collections.namedtuple", records.namedtuple),
    }


# --- string -------------------------------------------------------------------------------------


def _string(m) -> dict:
    names = "ascii_letters ascii_lowercase ascii_uppercase digits hexdigits octdigits punctuation whitespace printable"
    members = {n: getattr(string, n) for n in names.split()}
    members["capwords"] = NativeFunction("string.capwords", string.capwords)
    return members


_BUILDERS = {
    "dataclasses": records.members,
    "math": _math,
    "json": _json,
    "datetime": _datetime,
    "statistics": _statistics,
    "random": _random,
    "itertools": _itertools,
    "collections": _collections,
    "string": _string,
    "re": re_members,
    **STDLIB_EXTRA,
}


def make_facade(m, name: str) -> Facade:
    """The facade module ``name`` for machine ``m`` (built once per machine)."""
    facade = m.facades.get(name)
    if facade is None:
        facade = m.facades[name] = Facade(name, _BUILDERS[name](m))
    return facade

