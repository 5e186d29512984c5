"""The standard modules programs may import besides the first facades: ``time``, ``unicodedata``,
``stat``, ``heapq``, ``bisect`` and ``re`` (in the kernel too, under a backtracking guard).

Functional tests compare with CPython's own modules, in the kernel and in process isolation;
adversarial tests (sleeping past the deadline, catastrophic regexes, blow-ups of results,
re-exports of the real modules) run in both modes with tools from a module and from an IPython
namespace, and check that the interpreter (and its child) still works afterwards.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbagents.errors import IsolationError, LimitExceededError, NbAgentsError, RefusedConstructError
from nbagents.interpreter import Interpreter, Limits

sys.path.insert(0, os.path.dirname(__file__))
import interp_tools_module  # noqa: E402
from test_interpreter_escapes import IPYTHON_CELL  # noqa: E402

TIMEOUT_S = 1.0
STOP_GOAL_S = TIMEOUT_S + 4.0  # the goal is the limit plus 0.5 s; a generous margin for a loaded machine
MODES = ["kernel", "process"]


@pytest.fixture(scope="module")
def interpreters():
    limits = Limits(timeout_s=TIMEOUT_S)
    made = {"kernel": Interpreter(limits=limits), "process": Interpreter(limits=limits, isolation="process")}
    yield made
    made["process"].close()


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    assert ip.run_cell(IPYTHON_CELL).success
    return ip


def _tools(source, shell):
    if source == "module":
        return dict(interp_tools_module.TOOLS)
    return {name: shell.user_ns[name] for name in interp_tools_module.TOOLS}


def _cpython(code: str, inputs: dict | None = None):
    """The value of ``code``'s last line under CPython, with the real modules."""
    *body, last = code.strip().splitlines()
    namespace = dict(inputs or {})
    exec("\n".join(body), namespace)
    return eval(last, namespace)


# --- results equal CPython's ---------------------------------------------------------------------

PROGRAMS = {
    "unicodedata": (
        "import unicodedata as u\n"
        "(u.name('a'), u.name('\\x00', 'none'), u.lookup('GREEK SMALL LETTER ALPHA'), u.category('\\u0301'),"
        " u.bidirectional('\\u05d0'), u.combining('\\u0301'), u.east_asian_width('\\u4e00'), u.mirrored('('),"
        " u.decomposition('\\u00e9'), u.numeric('\\u00bd'), u.decimal('7'), u.digit('\\u00b2'),"
        " u.normalize('NFKD', '\\ufdfa caf\\u00e9'), u.normalize('NFC', 'e\\u0301'),"
        " u.is_normalized('NFD', '\\u00e9'), u.unidata_version)"
    ),
    "stat": (
        "import stat\n"
        "([stat.S_ISDIR(m) for m in (0o40755, 0o100644)], stat.S_ISREG(0o100644), stat.S_ISLNK(0o120777),"
        " stat.filemode(0o40755), stat.filemode(0o104755), stat.S_IMODE(0o100644), stat.S_IFMT(0o100644),"
        " stat.S_IFDIR | stat.S_IRWXU, stat.ST_MTIME, stat.UF_HIDDEN)"
    ),
    "heapq": (
        "import heapq\n"
        "h = [5, 1, 8, 3, 9, 2]\n"
        "heapq.heapify(h)\n"
        "heapq.heappush(h, 0)\n"
        "out = [heapq.heappop(h), heapq.heappushpop(h, 4), heapq.heapreplace(h, 7)]\n"
        "(out, sorted(h), heapq.nlargest(3, [4, 9, 2, 7]), heapq.nsmallest(2, ['bb', 'a', 'ccc'], key=len),"
        " list(heapq.merge([1, 4, 9], [2, 3, 10], [0])), list(heapq.merge([9, 1], [5], key=lambda x: -x)))"
    ),
    "bisect": (
        "import bisect\n"
        "a = [1, 2, 2, 4]\n"
        "bisect.insort(a, 3)\n"
        "bisect.insort_left(a, 2)\n"
        "bisect.insort_right(a, 5, key=None)\n"
        "(a, bisect.bisect_left(a, 2), bisect.bisect_right(a, 2), bisect.bisect(a, 9), bisect.bisect(a, 2, 0, 3),"
        " bisect.bisect_left([('a', 1), ('b', 2)], 'b', key=lambda p: p[0]))"
    ),
    "deque": (
        "from collections import deque\n"
        "d = deque([1, 2, 3], maxlen=3)\n"
        "d.append(4)\n"
        "d.appendleft(0)\n"
        "d.rotate(1)\n"
        "(list(d), d.maxlen, d.popleft(), list(deque(maxlen=2)))"
    ),
    "time_pure": (
        "import time\n"
        "t = time.gmtime(1_700_000_000)\n"
        "(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_wday, t.tm_yday, t[0], tuple(t)[:6], len(t),"
        " time.strftime('%Y-%m-%d %H:%M:%S %a %j', t), time.asctime(t), time.gmtime(0).tm_year,"
        " time.strptime('2024-02-29', '%Y-%m-%d')[:3], time.struct_time((2020, 1, 2, 3, 4, 5, 3, 2, 0)).tm_mday,"
        " isinstance(t, time.struct_time), time.strftime('%%Y'))"
    ),
    "re_basics": (
        "import re\n"
        "m = re.search(r'(?P<key>\\w+)=(?P<value>\\d+)', 'x: alpha=12, beta=7')\n"
        "(m.group(), m.group(1, 2), m['key'], m.groups(), m.groupdict(), m.span(2), m.start('value'), m.end(),"
        " m.lastindex, m.lastgroup, m.string, m.pos, m.endpos, m.re.pattern, m.expand(r'\\2:\\g<key>'),"
        " re.findall(r'(\\w+)=(\\d+)', 'a=1 b=22 c'), re.findall(r'\\d+', 'a1b22c333'),"
        " re.sub(r'(\\d+)', r'<\\1>', 'a1b22'), re.subn('a', lambda mt: mt.group().upper(), 'banana'),"
        " re.split(r'[,;]\\s*', 'a, b;c', maxsplit=1), re.split(r'(,)', 'a,b'), re.escape('a.b*c'),"
        " re.fullmatch(r'[a-z]+', 'abc') is not None, re.match('b', 'abc'), [x.span() for x in re.finditer('a*', 'baac')],"
        " re.sub('x*', '-', 'abxd'), re.split('x*', 'axbc'), re.findall('x{e<=1}', 'x{e<=1}'), re.findall('[[:a]', 'a:[b'))"
    ),
    "re_flags_and_patterns": (
        "import re\n"
        "p = re.compile(r'''\n  (\\d+)  # digits\n  \\s* [a-z]{2,} ''', re.VERBOSE | re.IGNORECASE)\n"
        "(p.findall('12 AB 3 c 45 xyz'), p.groups, p.pattern[:5], re.findall(r'^\\w', 'a\\nb', re.M),"
        " re.findall('.', 'a\\nb', flags=re.S), re.findall(r'\\w+', 'caf\\u00e9 x', re.A), re.search('B', 'abc', re.I).span(),"
        " p.search('zz 7 qq', 2).group(), p.match('7 qq') is not None, p.fullmatch('7 qq', 0, 4) is not None,"
        " re.compile('a').sub('b', 'aaa', 2), re.compile('(a)(b)?').groups,"
        " re.findall(r'(?<=a)b', 'ab cb'), re.findall(r'(a)(?(1)b|c)', 'ab ac'), re.sub(r'\\bx\\b', 'y', 'x xx x'),"
        " re.findall(r'a++b', 'aab'), re.findall(r'(?>a+)b', 'aab'), re.findall(r'\\N{LATIN SMALL LETTER A}{2}', 'aaa'),"
        " int(re.I | re.M), re.NOFLAG)"
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_module_results_equal_cpython(name, mode, interpreters):
    code = PROGRAMS[name]
    assert interpreters[mode].run(code, {}, {}).value == _cpython(code)


@pytest.mark.parametrize("mode", MODES)
def test_re_errors_are_re_errors_with_cpython_messages(mode, interpreters):
    code = (
        "import re\n"
        "out = []\n"
        "for p in ['(', 'a{2,1}', '\\\\p{L}', '(?r)a', '(?<n>a)', '\\\\G', '[a', '*']:\n"
        "    try:\n"
        "        re.compile(p)\n"
        "    except re.error as e:\n"
        "        out.append(str(e))\n"
        "out"
    )
    expected = []
    for p in ["(", "a{2,1}", "\\p{L}", "(?r)a", "(?<n>a)", "\\G", "[a", "*"]:
        try:
            re.compile(p)
        except re.error as exc:
            expected.append(str(exc))
    assert interpreters[mode].run(code, {}, {}).value == expected
    assert len(expected) == 8


@pytest.mark.parametrize("mode", MODES)
def test_time_clocks_and_sleep(mode, interpreters):
    code = (
        "import time\n"
        "t0, p0, w0, n0 = time.monotonic(), time.perf_counter(), time.time(), time.monotonic_ns()\n"
        "time.sleep(0.05)\n"
        "(time.monotonic() - t0, time.perf_counter() - p0, time.time() - w0, time.monotonic_ns() - n0,"
        " time.process_time() >= 0, isinstance(time.time_ns(), int), time.localtime(w0).tm_year, time.mktime(time.localtime(w0)) - int(w0))"
    )
    before = time.time()
    mono, perf, wall, nanos, process, ns_type, year, mktime_delta = interpreters[mode].run(code, {}, {}).value
    assert 0.05 <= mono < 2.0 and 0.05 <= perf < 2.0 and nanos >= 50_000_000
    assert -1.0 < wall < 5.0 and process is True and ns_type is True
    assert year == time.gmtime(before).tm_year or abs(year - time.gmtime(before).tm_year) == 1
    assert -1 < mktime_delta <= 0


@pytest.mark.parametrize("mode", MODES)
def test_strftime_widths_are_refused_as_in_datetime(mode, interpreters):
    with pytest.raises(NbAgentsError) as info:
        interpreters[mode].run("import time\ntime.strftime('%10000000Y', time.gmtime(0))", {}, {})
    assert "field width" in str(info.value)


# --- re against CPython's re, over generated patterns and subjects -----------------------------------

_ATOMS = ["a", "b", "x", ".", r"\d", r"\w", r"\s", "[ab]", "[^a]", "[a-c1]", r"\b", "^", "$", "{", "}", "[{]", "-", "x{e<=1}", "{1,a}", "a{,}"]
_SUFFIXES = ["", "", "*", "+", "?", "*?", "+?", "{2}", "{1,2}", "{,2}", "{2,}"]


@st.composite
def _patterns(draw, depth=0):
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5 if depth < 2 else 3))
        if kind <= 3:
            atom = draw(st.sampled_from(_ATOMS))
        elif kind == 4:
            atom = "(" + draw(_patterns(depth + 1)) + ")"
        else:
            atom = "(?:" + draw(_patterns(depth + 1)) + "|" + draw(_patterns(depth + 1)) + ")"
        suffix = draw(st.sampled_from(_SUFFIXES))
        if atom in ("^", "$", r"\b") or atom[-1:] in "{}" and suffix:
            suffix = ""
        pieces.append(atom + suffix)
    return "".join(pieces)


_SUBJECTS = st.text(alphabet="abx1 _-{}\n\u00e9", max_size=12)
_PROGRAM = (
    "import re\n"
    "def outcome(f):\n"
    "    try:\n"
    "        return f()\n"
    "    except re.error:\n"
    "        return 'error'\n"
    "(outcome(lambda: re.findall(p, s)), outcome(lambda: re.sub(p, '<\\\\g<0>>', s)), outcome(lambda: re.split(p, s)),"
    " outcome(lambda: [m.span() for m in re.finditer(p, s)]), outcome(lambda: re.fullmatch(p, s) is None),"
    " outcome(lambda: re.findall(p, s, re.I)))"
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=_patterns(), subject=_SUBJECTS)
def test_re_in_the_kernel_agrees_with_cpython(pattern, subject, interpreters):
    inputs = {"p": pattern, "s": subject}
    assert interpreters["kernel"].run(_PROGRAM, {}, dict(inputs)).value == _cpython(_PROGRAM, inputs)


# --- adversarial: time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_sleep_past_the_deadline_is_refused_at_once(mode, interpreters):
    start = time.monotonic()
    with pytest.raises(LimitExceededError) as info:
        interpreters[mode].run("import time\ntime.sleep(60)", {}, {})
    assert time.monotonic() - start < TIMEOUT_S  # refused before sleeping
    assert info.value.limit == "timeout_s" and "time.sleep(60)" in str(info.value)


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", MODES)
def test_sleeping_loops_stop_at_the_deadline(mode, source, interpreters, shell):
    tools = _tools(source, shell)
    for code in ("import time\nwhile True:\n    time.sleep(0.01)", "import time\nwhile True:\n    time.sleep(0.3)\n    search('x', 1)"):
        start = time.monotonic()
        with pytest.raises(LimitExceededError) as info:
            interpreters[mode].run(code, tools, {})
        assert time.monotonic() - start < STOP_GOAL_S
        assert info.value.limit == "timeout_s"
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]


@pytest.mark.parametrize("mode", MODES)
def test_bad_sleep_arguments_raise_like_cpython(mode, interpreters):
    code = (
        "import time\n"
        "out = []\n"
        "for x in [-1, 'a', float('nan')]:\n"
        "    try:\n"
        "        time.sleep(x)\n"
        "    except ValueError:\n"
        "        out.append('ValueError')\n"
        "    except TypeError:\n"
        "        out.append('TypeError')\n"
        "out"
    )
    assert interpreters[mode].run(code, {}, {}).value == ["ValueError", "TypeError", "ValueError"]


# --- adversarial: regular expressions --------------------------------------------------------------------

CATASTROPHIC = {
    "nested_plus": ("(a+)+$", "'a' * 40 + 'b'"),
    "x_plus_x_plus": ("(x+x+)+y", "'x' * 40"),
    "alternation": ("(a|aa)+b", "'a' * 60"),
    "backreference": (r"(a|aa)+\\1b", "'a' * 60"),
    "nested_groups": ("((a|aa)+)+c", "'a' * 50"),
}
RE_CALLS = {  # the call, and its result when nothing matches (none of the bombs matches)
    "match": ("re.match(p, s)", lambda s: None),
    "finditer": ("[m.span() for m in re.finditer(p, s + ' ' + s)]", lambda s: []),
    "sub_callable": ("re.sub(p, lambda m: 'x', s)", lambda s: s),
    "split": ("re.split(p, s)", lambda s: [s]),
    "compiled_findall": ("re.compile(p).findall(s)", lambda s: []),
}
PROCESS_CALLS = ("match", "finditer")  # each kills the child (CPython's re there): keep it short


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bomb", sorted(CATASTROPHIC))
def test_catastrophic_regexes_stop_at_the_deadline(bomb, mode, source, interpreters, shell):
    pattern, subject = CATASTROPHIC[bomb]
    tools = _tools(source, shell)
    for name, (call, unmatched) in RE_CALLS.items():
        if mode == "process" and name not in PROCESS_CALLS:
            continue
        code = f"import re\np = '{pattern}'\ns = {subject}\nsearch('before', 1)\n{call}"
        start = time.monotonic()
        try:
            execution = interpreters[mode].run(code, tools, {})
        except LimitExceededError as exc:
            assert exc.limit == "timeout_s"
        else:  # the engine saw quickly that nothing matches
            assert execution.value == unmatched(eval(subject))
        assert time.monotonic() - start < STOP_GOAL_S
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]


def test_a_backtracking_bomb_times_out_in_the_kernel():
    interpreter = Interpreter(limits=Limits(timeout_s=TIMEOUT_S))
    start = time.monotonic()
    with pytest.raises(LimitExceededError) as info:
        interpreter.run("import re\nre.match('(a|aa)+b', 'a' * 80)", {}, {})
    assert time.monotonic() - start < STOP_GOAL_S
    assert info.value.limit == "timeout_s" and "regular expression" in str(info.value)
    assert interpreter.run("import re\nre.findall('a+', 'aa b a')", {}, {}).value == ["aa", "a"]


def test_a_lazy_finditer_renews_its_timeout_from_the_remaining_time():
    """A finditer made early, consumed late, cannot run a full timeout past the deadline."""
    interpreter = Interpreter(limits=Limits(timeout_s=TIMEOUT_S))
    code = (
        "import re, time\n"
        "it = re.finditer('(a|aa)+c|b', ('a' * 22 + 'b') * 1000)\n"
        "next(it)\n"
        "time.sleep(0.8)\n"
        "n = 0\n"
        "for m in it:\n"
        "    n += 1\n"
    )
    start = time.monotonic()
    with pytest.raises(LimitExceededError) as info:
        interpreter.run(code, {}, {})
    assert time.monotonic() - start < STOP_GOAL_S
    assert info.value.limit == "timeout_s"


BLOW_UPS = {
    "findall_lookahead_groups": ("re.findall('(?=(a*))', 'a' * 20000)", "max_sequence_length"),
    "split_lookahead_groups": ("re.split('(?=(a*))', 'a' * 20000)", "max_sequence_length"),
    "sub_group_template": ("re.sub('(a+)', '\\\\1' * 100, 'a' * 200000)", "max_sequence_length"),
    "sub_literal_template": ("re.sub('', 'x' * 1000, 'a' * 20000)", "max_sequence_length"),
    "sub_callable": ("re.sub('a', lambda m: 'x' * 5000, 'a' * 5000)", "max_sequence_length"),
    "expand": ("re.match('(a+)', 'a' * 100000).expand('\\\\1' * 200)", "max_sequence_length"),
    "long_pattern": ("re.compile('a' * 20000)", "max_source_chars"),
    "escape": ("re.escape('.' * 6_000_000)", "max_sequence_length"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bomb", sorted(BLOW_UPS))
def test_regex_results_are_bounded_before_they_are_built(bomb, mode, interpreters):
    code, limit = BLOW_UPS[bomb]
    start = time.monotonic()
    with pytest.raises(LimitExceededError) as info:
        interpreters[mode].run("import re\n" + code, {}, {})
    assert time.monotonic() - start < STOP_GOAL_S
    assert info.value.limit == limit


@pytest.mark.parametrize("mode", MODES)
def test_normalize_is_bounded_by_its_largest_output(mode, interpreters):
    with pytest.raises(LimitExceededError) as info:
        interpreters[mode].run("import unicodedata\nunicodedata.normalize('NFKD', '\\ufdfa' * 1_000_000)", {}, {})
    assert info.value.limit == "max_sequence_length" and "18000000" in str(info.value)
    value = interpreters[mode].run("import unicodedata\nlen(unicodedata.normalize('NFKD', '\\ufdfa' * 1000))", {}, {}).value
    assert value == 18_000


# --- adversarial: what the modules must not expose ----------------------------------------------------

RE_EXPORTS = {
    "time_sys": "import time\ntime.sys",
    "time_tzset": "import time\ntime.tzset()",
    "time_struct_class": "import time\ntime.gmtime(0).__class__",
    "time_sleep_self": "import time\ntime.sleep.__self__",
    "re_compiler": "import re\nre._compiler",
    "re_sre_compile": "import re\nre.sre_compile",
    "re_functools": "import re\nre.functools",
    "re_enum": "import re\nre.enum",
    "re_scanner": "import re\nre.compile('a').scanner('a')",
    "re_regs": "import re\nre.match('a', 'a').regs",
    "re_captures": "import re\nre.match('a', 'a').captures()",
    "re_detach": "import re\nre.match('a', 'a').detach_string()",
    "re_flags_attr": "import re\nre.compile('a').flags",
    "re_groupindex": "import re\nre.compile('(?P<n>a)').groupindex",
    "re_pattern_class": "import re\nre.compile('a').__class__",
    "re_match_class": "import re\nre.match('a', 'a').re.__class__.__subclasses__()",
    "re_error_subclasses": "import re\nre.error.__subclasses__()",
    "re_pattern_type": "import re\nre.Pattern('a')",
    "re_timeout_off": "import re\nre.compile('(a|aa)+b').match('a' * 60, timeout=None)",
    "re_concurrent": "import re\nre.search('a', 'a', concurrent=True)",
    "re_debug_flag": "import re\nre.compile('a', 128)",
    "re_version1_flag": "import re\nre.compile('a', 256 * 32)",
    "unicodedata_ucd": "import unicodedata\nunicodedata.ucd_3_2_0.__class__",
    "unicodedata_ucd_name": "import unicodedata\nunicodedata.ucd_3_2_0.name('a')",
    "unicodedata_ucd_type": "import unicodedata\nunicodedata.UCD",
    "stat_os": "import stat\nstat.os",
    "stat_filemode_table": "import stat\nstat._filemode_table",
    "heapq_private": "import heapq\nheapq._heapify_max([1])",
    "heapq_merge_frame": "import heapq\nheapq.merge([1]).gi_frame",
    "bisect_private": "import bisect\nbisect._bisect",
    "queue": "import queue\nqueue.Queue()",
    "queue_from": "from queue import Queue",
}


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("payload", sorted(RE_EXPORTS))
def test_module_internals_are_refused(payload, mode, source, interpreters, shell):
    tools = _tools(source, shell)
    namespace = dict(vars(interp_tools_module) if source == "module" else shell.user_ns)
    environ = dict(os.environ)
    start = time.monotonic()
    with pytest.raises(NbAgentsError) as info:
        interpreters[mode].run(RE_EXPORTS[payload], tools, {})
    assert not isinstance(info.value, IsolationError)
    assert not isinstance(info.value, LimitExceededError)  # refused, not stopped by a limit
    assert time.monotonic() - start < STOP_GOAL_S
    assert dict(os.environ) == environ
    current = vars(interp_tools_module) if source == "module" else shell.user_ns
    assert {k: id(v) for k, v in current.items() if not k.startswith("_")} == {
        k: id(v) for k, v in namespace.items() if not k.startswith("_")
    }
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]


@pytest.mark.parametrize("mode", MODES)
def test_queue_is_refused_at_parse_time(mode, interpreters):
    with pytest.raises(RefusedConstructError) as info:
        interpreters[mode].run("import queue", {}, {})
    assert "'queue'" in str(info.value) and "collections" in str(info.value)


def test_queue_refusal_points_to_deque():
    with pytest.raises(RefusedConstructError) as info:
        Interpreter().run("import queue", {}, {})
    assert "collections.deque" in str(info.value)


def test_modules_are_listed_in_the_refusal_hint():
    with pytest.raises(RefusedConstructError) as info:
        Interpreter().run("import os", {}, {})
    for name in ("re", "time", "unicodedata", "stat", "heapq", "bisect"):
        assert name in info.value.hint



@pytest.mark.parametrize("mode", MODES)
def test_bad_templates_raise_re_error(mode, interpreters):
    code = "import re\ntry:\n    re.sub('(a)', '\\\\9', 'a')\n    x = 'no error'\nexcept re.error:\n    x = 're.error'\nx"
    assert interpreters[mode].run(code, {}, {}).value == "re.error"
