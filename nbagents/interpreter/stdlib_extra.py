"""Facades of small standard modules: ``time``, ``unicodedata``, ``stat``, ``heapq``, ``bisect``.

Each builder returns the members of one facade (see :mod:`.facades`): listed functions and
constants only, never the module (``time.sys``, ``stat.os``, ``unicodedata.ucd_3_2_0`` do not
exist). ``time.sleep`` counts as interpreter time: a sleep that would pass the deadline is
refused at once with the ``timeout_s`` limit error, and a sleep sleeps in short slices that read
the clock, so ``while True: time.sleep(0.01)`` stops at the deadline; nothing touches the process
(no ``tzset``). ``unicodedata.normalize`` is bounded by its largest possible output (NFKD/NFKC
expand a character up to 18 times). Consumers of whole iterables (``heapq.nlargest``,
``heapify``, ``bisect.insort``...) are charged per element like the builtins.
"""

from __future__ import annotations

import bisect
import heapq
import math
import stat
import time
import unicodedata

from .builtins import source
from .capabilities import DATA, SCAN, TABLES, entries
from .iteration import charge_result, materialize
from .limits import check_strftime, limit_error
from .values import Builtin, ChargedIter, NativeFunction, TypeValue, type_name

__all__ = ["BUILDERS", "INSTEAD"]

# Modules that stay refused, and what to use instead (for the refusal's hint).
INSTEAD = {
    "queue": "collections.deque (append/popleft; maxlen for a bounded buffer) or heapq for a priority queue",
}

_SLICE_S = 0.02  # a sleep reads the clock (and the interrupt flag) this often


def _natives(module, names: str) -> dict:
    prefix = module.__name__
    return {n: NativeFunction(f"{prefix}.{n}", getattr(module, n)) for n in names.split() if hasattr(module, n)}


# --- time ------------------------------------------------------------------------------------------


def _sleep(m, secs):
    if type(secs) not in (int, float, bool):
        raise TypeError(f"'{type_name(secs)}' object cannot be interpreted as an integer")
    if math.isnan(secs):
        raise ValueError("Invalid value NaN (not a number)")
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    left = m.limits.timeout_s - m.elapsed()
    if secs > left:
        raise limit_error(
            "timeout_s", f"time.sleep({secs}) with {max(left, 0.0):.3f} s of {m.limits.timeout_s} s left", m.line
        )
    m.charge(1)
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(left, _SLICE_S))
        m.checkpoint()  # the deadline, the operation budget and interrupts, as at any node


def _strftime(m, fmt, *t):
    check_strftime(fmt, m.limits)
    return time.strftime(fmt, *t)


def _strptime(m, text, fmt="%a %b %d %H:%M:%S %Y"):
    if type(fmt) is str and len(fmt) > 1000 or type(text) is str and len(text) > 10_000:
        raise limit_error("max_sequence_length", "a strptime input", m.line)
    return time.strptime(text, fmt)


_STRUCT_FIELDS = "tm_year tm_mon tm_mday tm_hour tm_min tm_sec tm_wday tm_yday tm_isdst tm_zone tm_gmtoff"


def _time(m) -> dict:
    TABLES.setdefault(time.struct_time, {
        **{n: (DATA, None) for n in _STRUCT_FIELDS.split()},
        **entries(tuple, "count index", SCAN),
    })  # fmt: skip
    clocks = "time time_ns monotonic monotonic_ns perf_counter perf_counter_ns process_time process_time_ns"
    members = _natives(time, clocks + " gmtime localtime mktime asctime ctime")
    members.update(
        sleep=Builtin("time.sleep", _sleep),
        strftime=Builtin("time.strftime", _strftime),
        strptime=Builtin("time.strptime", _strptime),
        struct_time=TypeValue("struct_time", lambda m, seq: time.struct_time(materialize(m, seq)), time.struct_time),
        timezone=time.timezone, altzone=time.altzone, daylight=time.daylight, tzname=tuple(time.tzname),
    )  # fmt: skip
    return members


# --- unicodedata -----------------------------------------------------------------------------------

# The longest decompositions: NFKD of U+FDFA is 18 characters, NFD of U+1F82 is 4, and
# composition never makes a text longer than its decomposition.
_GROWTH = {"NFC": 4, "NFD": 4, "NFKC": 18, "NFKD": 18}


def _normalize(m, form, text):
    if type(text) is str and type(form) is str:
        bound = len(text) * _GROWTH.get(form, 1)
        if bound > m.limits.max_sequence_length:
            raise limit_error(
                "max_sequence_length", f"unicodedata.normalize({form!r}) of {len(text)} characters (up to {bound})", m.line
            )
        m.charge(bound >> 4)
    return charge_result(m, unicodedata.normalize(form, text))


def _is_normalized(m, form, text):
    if type(text) is str:
        m.charge(len(text) >> 4)
    return unicodedata.is_normalized(form, text)


def _unicodedata(m) -> dict:
    names = "lookup name category bidirectional combining east_asian_width mirrored decomposition decimal digit numeric"
    members = _natives(unicodedata, names)
    members.update(
        normalize=Builtin("unicodedata.normalize", _normalize),
        is_normalized=Builtin("unicodedata.is_normalized", _is_normalized),
        unidata_version=unicodedata.unidata_version,
    )
    return members


# --- stat ------------------------------------------------------------------------------------------


def _stat(m) -> dict:
    members = {n: getattr(stat, n) for n in dir(stat) if n[:1] != "_" and type(getattr(stat, n)) is int}
    functions = "S_ISDIR S_ISCHR S_ISBLK S_ISREG S_ISFIFO S_ISLNK S_ISSOCK S_ISDOOR S_ISPORT S_ISWHT S_IMODE S_IFMT filemode"
    members.update(_natives(stat, functions))
    return members


# --- heapq and bisect -------------------------------------------------------------------------------


def _heapify(m, heap):
    if type(heap) is list:
        m.charge(len(heap))
    return heapq.heapify(heap)


def _selecting(fn):
    def select(m, n, iterable, key=None):
        return fn(n, materialize(m, iterable), key=key)

    return select


def _merge(m, *iterables, key=None, reverse=False):
    return ChargedIter(m, heapq.merge(*[source(m, i) for i in iterables], key=key, reverse=reverse), "generator")


def _heapq(m) -> dict:
    members = _natives(heapq, "heappush heappop heapreplace heappushpop")
    members.update(
        heapify=Builtin("heapq.heapify", _heapify),
        nlargest=Builtin("heapq.nlargest", _selecting(heapq.nlargest)),
        nsmallest=Builtin("heapq.nsmallest", _selecting(heapq.nsmallest)),
        merge=Builtin("heapq.merge", _merge),
    )
    return members


def _inserting(fn):
    def insort(m, a, x, *args, **kwargs):
        if type(a) is list:
            m.charge(len(a) >> 4)  # the elements after the insertion point move
        return fn(a, x, *args, **kwargs)

    return insort


def _bisect(m) -> dict:
    members = _natives(bisect, "bisect_left bisect_right bisect")
    for name in ("insort_left", "insort_right", "insort"):
        members[name] = Builtin(f"bisect.{name}", _inserting(getattr(bisect, name)))
    return members


BUILDERS = {"time": _time, "unicodedata": _unicodedata, "stat": _stat, "heapq": _heapq, "bisect": _bisect}
