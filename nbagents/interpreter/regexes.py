"""The ``re`` facade, the same in the kernel and in process isolation: CPython's ``re`` syntax,
matched by the ``regex`` package under a timeout.

A pattern is compiled first by CPython's ``re`` (its syntax and its error messages are the rule:
``\\p{L}``, ``(?r)``, ``\\G``... are errors as they are in ``re``), then by ``regex`` in
VERSION0 with the braces and brackets that ``re`` reads as literals escaped (``x{e<=1}`` stays
the literal text, not a fuzzy match; ``[[:alpha:]]`` stays a set). Every match runs with
``timeout=`` the run's remaining interpreter time, so catastrophic backtracking (``(x+x+)+y``)
ends with the ``timeout_s`` limit error, within the limit plus a few milliseconds, in the kernel
too; a lazy ``finditer`` renews its timeout as it goes. Patterns are capped at a quarter of
``max_source_chars`` (compiling is Python code that no clock interrupts); results that can
outgrow their subject (``findall``/``split`` with groups, ``sub``, ``Match.expand``) are bounded
by ``max_sequence_length`` before they are built. Patterns and matches expose only ``re``'s
methods and attributes (no ``flags``, ``groupindex``, ``regs``, nor ``regex``'s extras such as ``captures``);
methods take only ``re``'s parameters (no ``timeout``, ``concurrent``, ``partial``).

``regex`` counts its timeout in the process's CPU time: on an overloaded machine a match can
run past the deadline by the time the process waited for a CPU. The isolated child runs without
site-packages, so there the engine is CPython's ``re`` with the same checks and no timeout: the
kernel kills the child at the deadline.

Known differences from CPython's ``re`` (kernel): ``\\w`` also matches combining marks (U+0301...) and
``\\s`` does not match U+001C..U+001F; reprs name ``regex``.
"""

from __future__ import annotations

import re
import sys
import time
import warnings

from .capabilities import CHECKED, DATA, PLAIN, TABLES, call_value, entries
from .iteration import charge_result
from .limits import limit_error
from .values import Builtin, ChargedIter, NativeFunction, TypeValue, type_name

__all__ = ["re_members"]

_CACHE_SIZE = 512
_END = sys.maxsize
_REFRESH_S = 0.02  # a lazy finditer renews its timeout (the remaining time) this often
_REPEAT = re.compile(r"\{\d*(?:,\d*)?\}")
_RE_FLAGS = "IGNORECASE I MULTILINE M DOTALL S VERBOSE X ASCII A UNICODE U LOCALE L NOFLAG"
_ALLOWED_FLAGS = int(re.I | re.L | re.M | re.S | re.U | re.X | re.A)


def _literal_braces(pattern: str, verbose: bool) -> str:
    """``pattern`` with the ``{`` that ``re`` reads as literal text, and the ``[`` inside sets,
    escaped: ``regex`` would read them as fuzzy constraints and POSIX classes."""
    out: list = []
    i, n = 0, len(pattern)
    in_set, first = False, -1
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern.startswith("N{", i + 1):
                j = pattern.find("}", i)
                j = n - 1 if j < 0 else j
                out.append(pattern[i : j + 1])
                i = j + 1
            else:
                out.append(pattern[i : i + 2])
                i += 2
            continue
        if in_set:
            if c == "[":
                out.append("\\[")
            else:
                out.append(c)
                if c == "]" and i != first:
                    in_set = False
            i += 1
            continue
        if c == "[":
            in_set = True
            first = i + 2 if pattern.startswith("^", i + 1) else i + 1
        elif c == "{":
            match = _REPEAT.match(pattern, i)
            if match is not None and match.end() - i > 2:
                out.append(match.group())
                i = match.end()
                continue
            c = "\\{"
        elif c == "(" and pattern.startswith("?#", i + 1) or verbose and c == "#":
            j = pattern.find(")" if c == "(" else "\n", i)
            j = n if j < 0 else j + (c == "(")
            out.append(pattern[i:j])
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


class _Regex:
    """The engine (``regex``, else CPython's ``re`` without a timeout: the isolated child runs
    without site-packages and is killed at the deadline) and the types the facade lists."""

    def __init__(self) -> None:
        try:
            import regex
        except ImportError:  # the isolated child (python -I -S)
            regex = None
        self.module = regex if regex is not None else re
        self.timed = regex is not None
        self.pattern_type = type(self.module.compile(""))
        self.match_type = type(self.module.compile("").match(""))
        self.cache: dict = {}
        self.flags = {} if regex is None else {
            int(re.I): regex.I, int(re.L): regex.L, int(re.M): regex.M, int(re.S): regex.S,
            int(re.U): regex.U, int(re.X): regex.X, int(re.A): regex.A,
        }  # fmt: skip

    def compile(self, m, pattern, flags):
        if type(pattern) is self.pattern_type:
            if flags:
                raise ValueError("cannot process flags argument with a compiled pattern")
            return pattern
        if type(pattern) is not str and type(pattern) is not bytes:
            raise TypeError("first argument must be string or compiled pattern")
        if type(flags) is not int and type(flags) is not bool:
            raise TypeError(f"flags must be an int, not {type_name(flags)}")
        if flags & ~_ALLOWED_FLAGS:
            raise ValueError(f"unsupported regular expression flags: {flags & ~_ALLOWED_FLAGS:#x}")
        cap = m.limits.max_source_chars // 4
        if len(pattern) > cap:
            raise limit_error(
                "max_source_chars", f"a regular expression of {len(pattern)} characters (at most {cap}, a quarter)", m.line
            )
        m.charge(len(pattern))
        key = (type(pattern), pattern, flags)
        compiled = self.cache.get(key)
        if compiled is None:
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.clear()
            compiled = self.cache[key] = self._compile(pattern, flags)
        return compiled

    def _compile(self, pattern, flags):
        text = pattern if type(pattern) is str else pattern.decode("latin-1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                checked = re.compile(pattern, flags)  # CPython's syntax and messages
            except RecursionError:
                raise re.error("the pattern is nested too deeply", pattern) from None
            if not self.timed:
                return checked
            literal = _literal_braces(text, bool(checked.flags & re.X))
            regex_flags = self.module.V0
            for bit, value in self.flags.items():
                if checked.flags & bit:
                    regex_flags |= value
            try:
                return self.module.compile(literal if type(pattern) is str else literal.encode("latin-1"), regex_flags)
            except self.module.error as exc:
                raise re.error(str(exc), pattern) from None
            except RecursionError:
                raise re.error("the pattern is nested too deeply", pattern) from None


def _timeout(m) -> float:
    left = m.limits.timeout_s - m.elapsed()
    if left <= 0:
        m.checkpoint()  # raises the timeout_s limit error
    return max(left, 0.001)


def _timed_out(m):
    return limit_error("timeout_s", f"{m.limits.timeout_s} s (a regular expression was still matching)", m.line)


def _run(m, fn, *args):
    if not _ENGINE[0].timed:
        return fn(*args)
    try:
        return fn(*args, timeout=_timeout(m))
    except TimeoutError:
        raise _timed_out(m) from None
    except _ENGINE[0].module.error as exc:  # a bad template: re.error, as CPython raises it
        raise re.error(str(exc)) from None


def _subject(m, string) -> None:
    if type(string) is not str and type(string) is not bytes:
        raise TypeError(f"expected string or bytes-like object, got '{type_name(string)}'")
    m.charge(len(string) >> 6)


def _matches(m, pattern, string, pos=0, endpos=_END):
    """The matches of ``finditer``, its timeout renewed every ``_REFRESH_S`` from the remaining
    time (a fresh iterator from where the last match ended finds the same next match)."""
    start, seen_empty_at = pos, None
    while True:
        began = time.monotonic()
        if not _ENGINE[0].timed:
            yield from pattern.finditer(string, pos, endpos)
            return
        it = pattern.finditer(string, start, endpos, timeout=_timeout(m))
        while True:
            try:
                match = next(it)
            except StopIteration:
                return
            except TimeoutError:
                raise _timed_out(m) from None
            if seen_empty_at is not None:
                empty_again = match.start() == match.end() == seen_empty_at
                seen_empty_at = None
                if empty_again:
                    continue  # yielded already, before the renewal
            yield match
            if time.monotonic() - began > _REFRESH_S:
                start = match.end()
                seen_empty_at = start if match.start() == start else None
                break


def _longest_group(match, groups: int) -> int:
    longest = 0
    for g in range(groups + 1):
        s, e = match.span(g)
        longest = max(longest, e - s)
    return longest


def _check_groups(m, pattern, string, pos, endpos, count, what):
    """Refuse ``findall``/``split`` whose captured groups would add up past the limit."""
    limit, n, groups = m.limits.max_sequence_length, len(string), pattern.groups
    if not groups or (n + 1) * groups * n <= limit:
        return
    total = 0
    for i, match in enumerate(_matches(m, pattern, string, pos, endpos)):
        if count and i >= count:
            return
        for g in range(1, groups + 1):
            s, e = match.span(g)
            total += max(e - s, 0)
        if total > limit:
            raise limit_error("max_sequence_length", f"{what} capturing more than {limit} characters", m.line)


def _check_template(m, template, string, matches, count, groups):
    """Refuse a ``sub`` whose result would pass the limit (templates: ``len + \\-count * group``)."""
    limit, n = m.limits.max_sequence_length, len(string)
    refs = template.count("\\" if type(template) is str else b"\\")
    upper = n + 1 if count <= 0 else min(count, n + 1)
    if n + upper * (len(template) + refs * n) <= limit:
        return
    total = n
    for i, match in enumerate(matches):
        if count > 0 and i >= count:
            return
        total += len(template) + refs * _longest_group(match, groups) - (match.end() - match.start())
        if total > limit:
            raise limit_error("max_sequence_length", f"re.sub building more than {limit} characters", m.line)


# --- Pattern and Match methods: fn(machine, obj, *args) ----------------------------------------------


def _searching(name):
    def method(m, pattern, string, pos=0, endpos=_END):
        _subject(m, string)
        return _run(m, getattr(pattern, name), string, pos, endpos)

    return _named(method, name)


def _named(fn, name: str):
    """``fn`` under the name a ``TypeError`` about its arguments shows (``search()``)."""
    fn.__name__ = fn.__qualname__ = name
    return fn


def findall(m, pattern, string, pos=0, endpos=_END):
    _subject(m, string)
    _check_groups(m, pattern, string, pos, endpos, 0, "findall")
    return charge_result(m, _run(m, pattern.findall, string, pos, endpos))


def finditer(m, pattern, string, pos=0, endpos=_END):
    _subject(m, string)
    return ChargedIter(m, _matches(m, pattern, string, pos, endpos), "callable_iterator")


def split(m, pattern, string, maxsplit=0):
    _subject(m, string)
    _check_groups(m, pattern, string, 0, _END, maxsplit, "split")
    pieces = _run(m, pattern.split, string, maxsplit)
    m.charge(2 * len(pieces))
    return pieces


def _substituting(n: bool):
    def sub(m, pattern, repl, string, count=0):
        _subject(m, string)
        limit = m.limits.max_sequence_length
        if type(repl) is str or type(repl) is bytes:
            if type(count) is int:
                _check_template(m, repl, string, _matches(m, pattern, string), count, pattern.groups)
            call = repl
        elif callable(repl):
            built = [len(string)]

            def call(match):
                piece = call_value(m, repl, (match,), {})
                if type(piece) is str or type(piece) is bytes:
                    built[0] += len(piece)
                    if built[0] > limit:
                        raise limit_error("max_sequence_length", f"re.sub building more than {limit} characters", m.line)
                return piece
        else:
            raise TypeError(f"expected str or callable, not {type_name(repl)}")
        result = _run(m, pattern.subn if n else pattern.sub, call, string, count)
        charge_result(m, result[0] if n else result)
        return result

    return _named(sub, "subn" if n else "sub")


def _expand(m, match, template):
    if type(template) is str or type(template) is bytes:
        refs = template.count("\\" if type(template) is str else b"\\")
        size = len(template) + refs * _longest_group(match, match.re.groups)
        if size > m.limits.max_sequence_length:
            raise limit_error("max_sequence_length", f"Match.expand building {size} characters", m.line)
    return match.expand(template)


# --- the module ----------------------------------------------------------------------------------------


def _with_pattern(regex: _Regex, method):
    def function(m, pattern, string, flags=0):
        return method(m, regex.compile(m, pattern, flags), string)

    return _named(function, method.__name__.lstrip("_"))


def _split_function(regex: _Regex):
    def function(m, pattern, string, maxsplit=0, flags=0):
        return split(m, regex.compile(m, pattern, flags), string, maxsplit)

    return _named(function, "split")


def _sub_function(regex: _Regex, n: bool):
    method = _substituting(n)

    def sub(m, pattern, repl, string, count=0, flags=0):
        return method(m, regex.compile(m, pattern, flags), repl, string, count)

    return _named(sub, method.__name__)


def _escape(m, pattern):
    if type(pattern) is str or type(pattern) is bytes:
        if 2 * len(pattern) > m.limits.max_sequence_length:
            raise limit_error("max_sequence_length", f"re.escape of {len(pattern)} characters", m.line)
        m.charge(len(pattern) >> 4)
    return re.escape(pattern)


def _no_instances(name):
    def refuse(m, *args, **kwargs):
        raise TypeError(f"cannot create 're.{name}' instances")

    return refuse


_ENGINE: list = []


def re_members(m) -> dict:
    """The members of the ``re`` facade for machine ``m``."""
    if not _ENGINE:
        _ENGINE.append(_Regex())
    regex = _ENGINE[0]
    TABLES.setdefault(regex.pattern_type, {
        **{n: (CHECKED, _searching(n)) for n in ("search", "match", "fullmatch")},
        "findall": (CHECKED, findall),
        "finditer": (CHECKED, finditer),
        "split": (CHECKED, split),
        "sub": (CHECKED, _substituting(False)),
        "subn": (CHECKED, _substituting(True)),
        **{n: (DATA, None) for n in ("pattern", "groups")},
    })  # fmt: skip
    TABLES.setdefault(regex.match_type, {
        **entries(regex.match_type, "group groups groupdict start end span", PLAIN),
        "expand": (CHECKED, _expand),
        **{n: (DATA, None) for n in "string pos endpos lastindex lastgroup re".split()},
    })  # fmt: skip

    def compile_(m, pattern, flags=0):
        return regex.compile(m, pattern, flags)

    _named(compile_, "compile")

    members = {
        "compile": Builtin("re.compile", compile_),
        **{n: Builtin(f"re.{n}", _with_pattern(regex, _searching(n))) for n in ("search", "match", "fullmatch")},
        "findall": Builtin("re.findall", _with_pattern(regex, findall)),
        "finditer": Builtin("re.finditer", _with_pattern(regex, finditer)),
        "split": Builtin("re.split", _split_function(regex)),
        "sub": Builtin("re.sub", _sub_function(regex, False)),
        "subn": Builtin("re.subn", _sub_function(regex, True)),
        "escape": Builtin("re.escape", _escape),
        "purge": NativeFunction("re.purge", lambda: None),
        "error": TypeValue("error", lambda m, *a: re.error(*a), re.error),
        "Pattern": TypeValue("Pattern", _no_instances("Pattern"), regex.pattern_type),
        "Match": TypeValue("Match", _no_instances("Match"), regex.match_type),
    }
    for flag in _RE_FLAGS.split():
        if hasattr(re, flag):
            members[flag] = int(getattr(re, flag))
    return members
