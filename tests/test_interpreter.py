"""The interpreter on ordinary agent programs: same results and printed output as CPython, and
the public API (state, handles, tools, final value, streaming, errors)."""

from __future__ import annotations

import ast
import contextlib
import io

import pytest

from nbagents.errors import (
    ConfigurationError,
    InterpreterError,
    RefusedConstructError,
    SandboxRuntimeError,
    ToolExecutionError,
    UndefinedNameError,
    UnknownToolError,
)
from nbagents.interpreter import Execution, Handle, Interpreter, Limits, run


def search(query: str, limit: int = 3) -> list:
    return [f"{query} result {i}" for i in range(limit)]


def word_count(text: str) -> dict:
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


TOOLS = {"search": search, "word_count": word_count}


def cpython(code: str, state: dict | None = None) -> tuple:
    """What plain ``exec`` gives: (final value, printed output)."""
    tree = ast.parse(code)
    namespace = dict(TOOLS)
    namespace.update(state or {})
    out = io.StringIO()
    last = tree.body[-1]
    with contextlib.redirect_stdout(out):
        if isinstance(last, ast.Expr):
            exec(compile(ast.Module(tree.body[:-1], []), "<agent>", "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), "<agent>", "eval"), namespace)
        else:
            exec(compile(tree, "<agent>", "exec"), namespace)
            value = None
            if isinstance(last, ast.Assign):
                value = namespace[last.targets[0].id]
            elif isinstance(last, ast.AugAssign):
                value = namespace[last.target.id]
    return value, out.getvalue()


BENIGN = {
    "arithmetic": "x = 7\ny = 3\nprint(x + y, x - y, x * y, x / y, x // y, x % y, x ** y, -x // y, divmod(-7, 3))\nx * 1.5",
    "string_methods": "s = '  Hello, World!  '\nprint(s.strip().lower(), s.split(','), s.replace('l', 'L'), s.strip().upper().center(20, '*'))\ns.count('l')",
    "fstrings": "name = 'Ada'\npi = 3.14159\nn = 1234567\nprint(f'{name!r:>8}|{pi:.2f}|{n:,}|{n:_x}|{pi:10.3e}|{name:^9}|{42:08b}|{0.25:%}')\nf'{name=} {pi=:.1f}'",
    "percent_format": "print('%s has %d items costing %.2f' % ('cart', 3, 9.5))\nprint('%-6s|%6s|%06.2f|%x|%r' % ('a', 'b', 3.14159, 255, 'q'))\n'%(a)s-%(b)s' % {'a': 1, 'b': 2}",
    "str_format": "print('{} + {} = {}'.format(1, 2, 3))\nprint('{0}{1}{0}'.format('ab', 'cd'))\n'{name:>6}|{count:03d}'.format(name='x', count=7)",
    "list_ops": "xs = [5, 3, 8, 1]\nxs.append(9)\nxs.extend([2, 7])\nxs.insert(0, 4)\nxs.remove(8)\nprint(xs, xs.pop(), xs.index(1), xs.count(3))\nxs.sort(reverse=True)\nxs[1:4]",
    "dict_ops": "d = {'b': 2, 'a': 1}\nd['c'] = 3\nd.update({'d': 4}, e=5)\nprint(sorted(d.items()), d.get('z', 0), d.pop('a'), list(d.keys()), 'b' in d)\ndel d['b']\nd",
    "comprehensions": "squares = [x * x for x in range(10) if x % 2 == 0]\npairs = {(i, j) for i in range(3) for j in range(i)}\ninv = {v: k for k, v in {'a': 1, 'b': 2}.items()}\nprint(squares, sorted(pairs), inv)\nsum(x for x in range(100) if x % 7 == 0)",
    "nested_comprehension": "matrix = [[i * 3 + j for j in range(3)] for i in range(3)]\nprint(matrix)\n[row[i] for i in range(3) for row in matrix if row[i] % 2]",
    "sorting_with_keys": "people = [('ann', 31), ('bob', 25), ('cy', 31), ('dee', 22)]\nprint(sorted(people, key=lambda p: (-p[1], p[0])))\nprint(max(people, key=lambda p: p[1]), min(people, key=lambda p: len(p[0])))\nsorted(people, key=lambda p: p[1], reverse=True)",
    "functions_defaults_kwargs": "def greet(name, greeting='Hello', *rest, punct='!', **extra):\n    return f'{greeting}, {name}{punct} {rest} {sorted(extra.items())}'\nprint(greet('a'))\nprint(greet('b', 'Hi', 1, 2, punct='?', x=1))\ngreet(name='c', y=2)",
    "recursion": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\ndef fact(n):\n    return 1 if n == 0 else n * fact(n - 1)\nprint([fib(i) for i in range(15)])\nfact(30)",
    "closures": "def make_counter(start):\n    count = [start]\n    def step(by=1):\n        count[0] += by\n        return count[0]\n    return step\nc = make_counter(10)\nprint(c(), c(5), c())\nadders = [lambda x, n=n: x + n for n in range(3)]\n[a(10) for a in adders]",
    "while_break_continue_else": "i = 0\nfound = None\nwhile i < 20:\n    i += 1\n    if i % 2:\n        continue\n    if i * i > 50:\n        found = i\n        break\nelse:\n    found = -1\nfor j in range(3):\n    pass\nelse:\n    print('loop done', j)\nfound",
    "exceptions": "def safe_div(a, b):\n    try:\n        return a / b\n    except ZeroDivisionError as e:\n        print('error:', e)\n        return None\n    finally:\n        print('checked', a, b)\nprint(safe_div(1, 2), safe_div(1, 0))\ntry:\n    {}['missing']\nexcept (KeyError, IndexError) as e:\n    print(type(e) is KeyError if False else 'key', repr(e), e.args)\ntry:\n    raise ValueError('bad value', 42)\nexcept Exception as e:\n    msg = str(e)\nmsg",
    "raise_reraise": "def check(x):\n    if x < 0:\n        raise ValueError(f'negative: {x}')\n    return x\nresults = []\nfor v in [1, -2, 3]:\n    try:\n        results.append(check(v))\n    except ValueError as e:\n        results.append(str(e))\ntry:\n    try:\n        int('abc')\n    except ValueError:\n        raise\nexcept ValueError as e:\n    results.append(str(e))\nresults",
    "unpacking": "a, b = 1, 2\na, b = b, a\nfirst, *middle, last = range(6)\n(x, y), z = (1, 2), 3\nprint(a, b, first, middle, last, x, y, z)\nfor i, (k, v) in enumerate(sorted({'x': 1, 'y': 2}.items())):\n    print(i, k, v)\n[*middle, *'ab']",
    "zip_enumerate_map_filter": "names = ['a', 'b', 'c']\nvals = [1, 2, 3]\nprint(dict(zip(names, vals)), list(enumerate(names, 1)))\nprint(list(map(str.upper, names)), list(filter(lambda v: v > 1, vals)), list(map(lambda a, b: a * b, vals, vals)))\nlist(reversed(vals))",
    "any_all_sum_minmax": "xs = [3, 1, 4, 1, 5, 9, 2, 6]\nprint(any(x > 8 for x in xs), all(x > 0 for x in xs), sum(xs), sum(xs, 10), min(xs), max(xs), min([], default=0))\nround(sum(xs) / len(xs), 3)",
    "math_module": "import math\nprint(math.sqrt(16), math.floor(2.7), math.ceil(2.1), math.pi, math.gcd(12, 18), math.factorial(10), math.isclose(0.1 + 0.2, 0.3))\nfrom math import log, exp\nround(log(exp(2)), 6)",
    "json_module": "import json\ndata = {'name': 'x', 'items': [1, 2, {'k': None}], 'ok': True}\ntext = json.dumps(data, sort_keys=True)\nprint(text)\nprint(json.dumps(data, indent=2))\njson.loads(text)['items'][2]",
    "datetime_module": "from datetime import date, datetime, timedelta\nd = date(2024, 2, 27)\nprint(d + timedelta(days=3), (date(2024, 12, 25) - d).days, d.strftime('%Y/%m/%d'), d.weekday(), d.isoformat())\ndt = datetime(2024, 1, 1, 12, 30)\nprint(dt.hour, dt + timedelta(hours=13), f'{dt:%H:%M}')\ndatetime.fromisoformat('2024-03-04T05:06:07').minute",
    "collections_module": "from collections import Counter, defaultdict, deque, OrderedDict\nc = Counter('abracadabra')\nprint(c.most_common(2), c['a'], c['z'])\ndd = defaultdict(list)\nfor w in ['apple', 'bob', 'avocado']:\n    dd[w[0]].append(w)\nprint(dict(dd))\nq = deque([1, 2, 3], maxlen=3)\nq.append(4)\nq.appendleft(0)\nprint(list(q), OrderedDict(a=1))\nsorted(c.elements())[:5]",
    "itertools_module": "import itertools\nprint(list(itertools.islice(itertools.count(5, 2), 4)), list(itertools.chain([1], (2, 3))))\nprint(list(itertools.combinations('abc', 2)), list(itertools.product([0, 1], repeat=2)))\nprint([(k, len(list(g))) for k, g in itertools.groupby('aaabbc')], list(itertools.accumulate([1, 2, 3])))\nlist(itertools.permutations([1, 2, 3], 2))",
    "statistics_string_modules": "import statistics, string\nprint(statistics.mean([1, 2, 3, 4]), statistics.median([3, 1, 2]), round(statistics.stdev([1, 2, 3, 4]), 4))\nprint(string.ascii_lowercase[:5], string.digits, string.capwords('hello world'))\n'x'.join(string.punctuation[:3])",
    "sets": "a = {1, 2, 3, 4}\nb = {3, 4, 5}\nprint(sorted(a | b), sorted(a & b), sorted(a - b), sorted(a ^ b), a.issubset({1, 2, 3, 4, 5}))\na.add(9)\na.discard(1)\nsorted(a.union([10, 11]))",
    "slicing_and_strings": "s = 'abcdefghij'\nprint(s[2:5], s[::-1], s[::3], s[-3:], s[:100])\nwords = 'the quick brown fox'.split()\nprint(' '.join(w.capitalize() for w in words), '-'.join(reversed(words)))\n[w[0] for w in words]",
    "tools_calls": "results = search('cats', limit=2)\nprint(results)\ncounts = word_count('a b a c b a')\nbest = max(counts, key=counts.get)\nprint(best, counts)\n{k: v for k, v in counts.items() if v > 1}",
    "walrus_and_ifexp": "data = [1, 5, 12, 7, 20]\nbig = [y for x in data if (y := x * 2) > 10]\nlabel = 'many' if len(big) > 2 else 'few'\nprint(big, label)\nif (n := len(data)) > 3:\n    print('n =', n)\nn",
    "print_sep_end": "print('a', 'b', sep='-', end='!\\n')\nprint('x', end='')\nprint('y')\nprint(1, 2.5, None, True, [1, 'a'], (1,), {'k': (2, 3)}, set(), sep=' | ')\nprint()\nprint(*range(3))",
    "conversions": "print(int('42'), float('3.5'), str(12), bool([]), list('ab'), tuple([1, 2]), int('ff', 16), hex(255), bin(5), oct(8), chr(97), ord('a'))\nprint(repr('x'), abs(-3), round(2.675, 2), round(7.5), isinstance(3, int), isinstance('a', (int, str)))\n'caf\\xe9'.encode('utf-8').decode('utf-8')",
    "accumulate_report": "sales = [{'region': 'north', 'amount': 120.5}, {'region': 'south', 'amount': 80.0}, {'region': 'north', 'amount': 19.5}]\ntotals = {}\nfor s in sales:\n    totals[s['region']] = totals.get(s['region'], 0) + s['amount']\nfor region, amount in sorted(totals.items(), key=lambda kv: kv[1], reverse=True):\n    print(f'{region:<8}{amount:>10.2f}')\nreport = '\\n'.join(f'{r}: {a}' for r, a in totals.items())\nreport",
    "text_processing": "text = 'To be, or not to be: that is the question.'\nclean = ''.join(ch.lower() if ch.isalpha() or ch == ' ' else ' ' for ch in text)\nwords = clean.split()\nfreq = {}\nfor w in words:\n    freq[w] = freq.get(w, 0) + 1\ntop = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:3]\nprint(top, len(words), len(set(words)))\ntext.translate(str.maketrans('', '', ',.:')).title()",
    "assert_and_del": "x = [1, 2, 3]\nassert len(x) == 3, 'length'\ndel x[0]\ny = 5\ndel y\ntry:\n    assert x[0] > 5, f'too small: {x[0]}'\nexcept AssertionError as e:\n    print('assert:', e)\nx",
    "generators_lazy": "g = (i * i for i in range(10))\nprint(next(g), next(g))\nprint(list(g))\nit = iter([1, 2, 3])\nprint(next(it), list(it), next(it, 'done'))\nfirst_big = next(x for x in range(10**9) if x > 5)\nfirst_big",
    "nested_data": "records = {'users': [{'name': 'a', 'tags': ['x', 'y']}, {'name': 'b', 'tags': []}]}\nfor u in records['users']:\n    u['n_tags'] = len(u['tags'])\nrecords['users'][1]['tags'].append('z')\nprint(records)\n[(u['name'], u['n_tags']) for u in records['users']]",
    "augmented_assignments": "n = 10\nn += 5\nn *= 2\nn -= 3\nn //= 4\nn **= 2\nn %= 7\ns = 'ab'\ns += 'cd'\ns *= 2\nlst = [1]\nalias = lst\nlst += [2, 3]\nd = {'k': 1}\nd['k'] += 41\nprint(n, s, alias, d)\nn <<= 3\nn",
    "bytes_and_numbers": "b = 'héllo'.encode('utf-8')\nprint(b, len(b), b.hex(), b.decode('utf-8').upper(), bytes([65, 66]), b[1:3])\nprint(2 ** 100, 10 ** -2, 7 / 2, complex(1, 2) * 2, 0.1 + 0.2, float('inf') > 10**300, 1e300 * 10)\n(255).to_bytes(2, 'big')",
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_program_matches_cpython(name):
    code = BENIGN[name]
    expected_value, expected_prints = cpython(code)
    execution = run(code, TOOLS)
    assert execution.prints == expected_prints
    assert execution.value == expected_value
    assert type(execution.value) is type(expected_value)


def test_there_are_enough_benign_programs():
    assert len(BENIGN) >= 30


# --- the API ---------------------------------------------------------------------------------


def test_execution_record():
    execution = run("x = search('q', limit=1)\nprint(len(x))\nx", TOOLS)
    assert isinstance(execution, Execution)
    assert execution.value == ["q result 0"]
    assert execution.prints == "1\n"
    assert execution.operations > 0
    assert execution.duration_s >= 0
    assert [name for name, _ in execution.tool_calls] == ["search"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = 5", 5),
        ("x = y = [1]", [1]),
        ("x = 1\nx += 2", 3),
        ("3 * 4", 12),
        ("x = 1\nif x:\n    y = 2", None),
        ("def f():\n    return 1", None),
        ("for i in range(3):\n    i", None),
        ("", None),
    ],
)
def test_final_value_rule(code, expected):
    assert run(code, {}).value == expected


def test_state_persists_across_runs_and_holds_assigned_variables():
    interpreter = Interpreter()
    state = {"inputs": [1, 2, 3]}
    interpreter.run("total = sum(inputs)\ndef double(x):\n    return 2 * x", {}, state)
    assert state["total"] == 6
    assert interpreter.run("double(total)", {}, state).value == 12
    assert set(state) == {"inputs", "total", "double"}


def test_state_functions_work_with_another_interpreter():
    state = {}
    run("def inc(x):\n    return x + 1", {}, state)
    assert run("inc(41)", {}, state).value == 42


def test_str_subclass_input_becomes_plain_str():
    class AgentText(str):
        def upper(self):  # pragma: no cover - must never be called
            raise AssertionError("sandbox called the subclass")

    state = {"text": AgentText("hello")}
    assert run("text.upper()", {}, state).value == "HELLO"
    assert type(state["text"]) is str


def test_non_plain_values_become_opaque_handles():
    class Image:
        pass

    image = Image()
    seen = []
    state = {"picture": image}
    execution = run(
        "print(picture)\nsame = picture is picture\nkeep = [picture]\ninspect(picture)\npicture",
        {"inspect": seen.append},
        state,
    )
    assert execution.prints == "<image handle #1>\n"
    assert execution.value is image  # handles are unwrapped in the final value
    assert seen == [image]  # and when passed to tools
    assert isinstance(state["picture"], Handle) and state["picture"].value is image
    with pytest.raises(RefusedConstructError):
        run("picture.size", {}, state)


def test_tool_results_that_are_not_plain_data_are_handles():
    class Frame:
        columns = ["a"]

    frame = Frame()
    execution = run("df = load()\nprint(df)\n[df, df]", {"load": lambda: frame})
    assert execution.prints == "<frame handle #1>\n"
    assert execution.value == [frame, frame]


def test_sandbox_function_as_final_value_is_its_repr():
    value = run("def helper(x):\n    return x\nhelper", {}).value
    assert value == "<function helper>"


def test_sandbox_function_cannot_run_outside_a_run():
    state = {}
    run("def f():\n    return 1", {}, state)
    with pytest.raises(InterpreterError):
        state["f"]()


def test_print_is_captured_and_streamed(capsys):
    chunks = []
    interpreter = Interpreter()
    execution = interpreter.run("for i in range(3):\n    print('line', i)", {}, on_print=chunks.append)
    assert execution.prints == "line 0\nline 1\nline 2\n"
    assert "".join(chunks) == execution.prints
    assert capsys.readouterr().out == ""


def test_print_truncation_marker():
    execution = run("print('x' * 500)", {}, limits=Limits(max_print_chars=100))
    assert execution.prints.startswith("x" * 100)
    assert "output truncated" in execution.prints


def test_tool_error_is_message_only():
    def failing(x):
        raise ValueError(f"bad input {x}")

    with pytest.raises(ToolExecutionError) as info:
        run("y = 1\nfailing(3)", {"failing": failing})
    error = info.value
    assert error.tool == "failing"
    assert error.detail == "ValueError: bad input 3"
    assert error.line == 2
    assert error.__context__ is None and error.__cause__ is None


def test_tool_error_can_be_caught_by_the_program():
    def failing():
        raise RuntimeError("down")

    code = "try:\n    failing()\nexcept Exception as e:\n    msg = str(e)\nmsg"
    assert "RuntimeError: down" in run(code, {"failing": failing}).value


def test_unknown_tool_lists_closest_tools():
    with pytest.raises(UnknownToolError) as info:
        run("serch('x')", TOOLS)
    assert info.value.closest == ["search"]
    assert "search" in info.value.hint


def test_undefined_name_lists_defined_names():
    with pytest.raises(UndefinedNameError) as info:
        run("alpha = 1\nprint(alpah)", {}, {"beta": 2})
    assert info.value.line == 2
    assert {"alpha", "beta"} <= set(info.value.defined)
    assert "print" not in info.value.defined  # builtins would bury the names that matter


def test_uncaught_exception_is_a_sandbox_runtime_error():
    with pytest.raises(SandboxRuntimeError) as info:
        run("x = 1\ny = x / 0", {})
    assert info.value.exc_type == "ZeroDivisionError"
    assert info.value.line == 2


def test_syntax_error():
    with pytest.raises(SandboxRuntimeError) as info:
        run("x = (1,", {})
    assert info.value.exc_type == "SyntaxError"


def test_check_is_parse_time_only():
    interpreter = Interpreter()
    interpreter.check("x = undefined_name + 1")
    with pytest.raises(RefusedConstructError):
        interpreter.check("class A(metaclass=M): pass")
    with pytest.raises(RefusedConstructError):
        interpreter.check("search = 1", TOOLS)


def test_limits_defaults_and_isolation_option():
    limits = Limits()
    assert (limits.max_operations, limits.timeout_s, limits.max_call_depth) == (5_000_000, 2.0, 100)
    with pytest.raises(ConfigurationError):
        Interpreter(isolation="docker")


def test_process_isolation_same_api():
    class Image:
        pass

    image = Image()
    chunks = []
    interpreter = Interpreter(isolation="process")
    try:
        state = {"n": 3, "picture": image}
        execution = interpreter.run(
            "import math\nfrom collections import Counter\nprint(picture, n)\nc = Counter('aab')\n"
            "def f(x):\n    return x\nxs = [math.sqrt(i) for i in range(n)]\n(picture, xs)",
            {},
            state,
            on_print=chunks.append,
        )
        assert execution.value == (image, [0.0, 1.0, 2**0.5])
        assert execution.prints == "<image handle #1> 3\n" == "".join(chunks)
        assert state["c"] == {"a": 2, "b": 1} and "f" not in state  # functions are dropped
        assert state["picture"].value is image
        execution = interpreter.run("(math.floor(xs[2]), picture is picture, c['a'])", {}, state)
        assert execution.value == (1, True, 2)
    finally:
        interpreter.close()


def test_interpreter_modules_import_no_cycle():
    # Every import counts, lazy ones inside functions too (as import-linter sees them).
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("nbagents")
    assert graph.nominate_cycle_breakers("nbagents.interpreter") == set()
