"""Native work whose cost is not linear in what was already charged: every such call is
charged or bounded *before* it runs, so each bomb below stops with a typed
``LimitExceededError`` naming its ``Limits`` field, quickly, in both modes, and the kernel stays
up. Property tests over sizes: small sizes give CPython's result, large ones are refused before
the work (quickly and with little memory)."""

from __future__ import annotations

import math
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from bombs import interpreter_for, refused
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbagents.errors import LimitExceededError
from nbagents.interpreter import Interpreter, Limits

sys.path.insert(0, str(Path(__file__).parent))
import interp_tools_module  # noqa: E402

DEFAULT = Limits()
SMALL_MEMORY = Limits(memory_mb=256)
STOP_GOAL_S = 6.0  # the goal is the limit + 0.5 s (bench/bombs_bench.py measures it); generous here
MEMORY_GOAL_MB = 400

_BIG = "x = 7 ** 300000\n"  # about 840,000 bits, under max_int_bits
_WIDE = "''.join([chr(256 + i) for i in range(8000)])"

# id: (program, limits, accepted Limits fields)
BOMBS = {
    # three-argument pow: cost ~ bits(e) * bits(m)^2
    "pow_mod_huge_exponent": ("pow(3, 2 ** 100000 - 1, 2 ** 4000 + 1)", DEFAULT, {"max_operations"}),
    "pow_mod_huge_modulus": ("pow(3, 2 ** 5000 - 1, 2 ** 200000 + 1)", DEFAULT, {"max_operations"}),
    "pow_mod_inverse": ("pow(7 ** 170000, -1, 2 ** 500000 + 1)", DEFAULT, {"max_operations"}),
    # quadratic big-int arithmetic in one native call
    "floordiv_big": (_BIG + "x // 3 ** 300000", DEFAULT, {"max_operations"}),
    "mod_big": (_BIG + "x % 3 ** 300000", DEFAULT, {"max_operations"}),
    "divmod_big": (_BIG + "divmod(x, 3 ** 300000)", DEFAULT, {"max_operations"}),
    "gcd_big": ("import math\nmath.gcd(7 ** 170000, 3 ** 300000)", DEFAULT, {"max_operations"}),
    "isqrt_big": ("import math\n" + _BIG + "math.isqrt(x)", DEFAULT, {"max_operations"}),
    "round_big": (_BIG + "round(x, -100000)", DEFAULT, {"max_operations"}),
    "prod_growing": ("import math\nmath.prod(range(1, 70000))", DEFAULT, {"max_operations", "max_int_bits"}),
    "sum_big_ints": (_BIG + "sum([x] * 1_000_000)", DEFAULT, {"max_operations"}),
    # C code that materialises a huge iterable or loops over a huge count
    "math_dist_ranges": ("import math\nmath.dist(range(10 ** 8), range(10 ** 8))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "math_hypot_star": ("import math\nmath.hypot(*range(10 ** 8))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "statistics_quantiles_n": ("import statistics\nstatistics.quantiles([1, 2, 3], n=10 ** 8)", DEFAULT, {"max_sequence_length", "max_operations"}),
    "statistics_big_ints": ("import statistics\n" + _BIG + "statistics.variance([x + i for i in range(2000)])", DEFAULT, {"max_operations"}),
    "statistics_huge_range": ("import statistics\nstatistics.mean(range(10 ** 9))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "sorted_huge_range": ("sorted(range(10 ** 9))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "counter_huge_range": ("import collections\ncollections.Counter(range(10 ** 9))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "fromkeys_huge_range": ("dict.fromkeys(range(10 ** 9))", DEFAULT, {"max_sequence_length", "max_operations"}),
    "join_generator": ("''.join(str(i) for i in range(10 ** 9))", DEFAULT, {"max_operations", "timeout_s"}),
    # searches whose every comparison scans a long equal-looking text
    "contains_long_texts": ("s = 'a' * 1_000_000\nt = s[:-1] + 'b'\ns in [t] * 1_000_000", DEFAULT, {"max_operations"}),
    "count_long_texts": ("s = 'a' * 1_000_000\nt = s[:-1] + 'b'\n([t] * 1_000_000).count(s)", DEFAULT, {"max_operations"}),
    "index_long_texts": ("s = 'a' * 1_000_000\nt = s[:-1] + 'b'\n((t,) * 1_000_000 + (s,)).index(s)", DEFAULT, {"max_operations"}),
    "equal_lists_of_long_texts": ("s = 'a' * 1_000_000\nt = s[:-1] + 'a'\n[s] * 100_000 == [t] * 100_000", DEFAULT, {"max_operations"}),
    "nested_lists_of_long_texts": ("s = 'a' * 1_000_000\nt = s[:-1] + 'a'\n[[s] * 1000] * 1000 < [[t] * 1000] * 1000", DEFAULT, {"max_operations"}),
    # codecs whose cost grows faster than their input
    "punycode_encode": (f"({_WIDE}).encode('punycode')", DEFAULT, {"max_operations"}),
    "idna_encode": (f"({_WIDE}).encode('idna')", DEFAULT, {"max_operations"}),
    "bytes_punycode": (f"bytes({_WIDE}, 'punycode')", DEFAULT, {"max_operations"}),
    # results built natively and kept: charged as memory (Limits.memory_mb)
    "product_tuples": ("import itertools\nlist(itertools.product([0, 1], repeat=10 ** 6))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "permutation_tuples": ("import itertools\nlist(itertools.permutations(range(10 ** 6)))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "accumulate_big_ints": ("import itertools\n" + _BIG + "list(itertools.accumulate([x] * 10 ** 6))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "bin_results": (_BIG + "a = []\nwhile True:\n    a.append(bin(x))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "hex_results": (_BIG + "a = []\nwhile True:\n    a.append(hex(x))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "fromhex_results": ("s = 'ab' * 5_000_000\na = []\nwhile True:\n    a.append(bytes.fromhex(s))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "format_results": ("x = 2 ** 49_000\na = []\nwhile True:\n    a.append(format(x, 'b'))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "float_precision_results": ("a = []\nwhile True:\n    a.append(format(1.5, '.9000000f'))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "repr_results": ("xs = ['y' * 10000] * 1000\na = []\nwhile True:\n    a.append(repr(xs))", SMALL_MEMORY, {"memory_mb", "max_operations", "max_sequence_length", "timeout_s"}),
    "fstring_results": ("xs = ['y' * 1000] * 1000\na = []\nwhile True:\n    a.append(f'{xs!r}')", SMALL_MEMORY, {"memory_mb", "max_operations"}),
    "format_method_results": ("xs = ['y' * 1000] * 1000\na = []\nwhile True:\n    a.append('{!r}'.format(xs))", SMALL_MEMORY, {"memory_mb", "max_operations"}),
    "encode_results": ("s = 'é' * 4_000_000\na = []\nwhile True:\n    a.append(s.encode('utf-32'))", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "split_pieces": ("s = 'ab ' * 3_000_000\na = []\nwhile True:\n    a.append(s.split())", SMALL_MEMORY, {"memory_mb", "max_operations", "timeout_s"}),
    "int_sub_results": ("x = 1 << 999_000\na = []\nwhile True:\n    a.append(x - 1)", DEFAULT, {"memory_mb", "max_operations"}),
    "int_add_results": ("x = 1 << 999_000\na = []\nwhile True:\n    a.append(x + 1)", DEFAULT, {"memory_mb", "max_operations"}),
    "int_neg_results": ("x = 1 << 999_000\na = []\nwhile True:\n    a.append(-x)", DEFAULT, {"memory_mb", "max_operations"}),
    "int_bitor_results": ("x = 1 << 999_000\na = []\nwhile True:\n    a.append(x | 1)", DEFAULT, {"memory_mb", "max_operations"}),
    "int_mul_results": ("x = 1 << 999_000\na = []\nwhile True:\n    a.append(x * 1)", DEFAULT, {"memory_mb", "max_operations"}),
    "int_inplace_results": ("x = 1 << 999_000\na = []\nwhile True:\n    y = x\n    y -= 1\n    a.append(y)", DEFAULT, {"memory_mb", "max_operations"}),
    "json_indent_results": ("import json\nx = [[0] * 100000]\nfor i in range(25):\n    x = [x]\na = []\nwhile True:\n    a.append(json.dumps(x, indent=32))", SMALL_MEMORY, {"memory_mb", "max_operations", "max_sequence_length", "timeout_s"}),
}


@pytest.fixture(scope="module")
def interpreters():
    made = {}
    yield made
    for interpreter in made.values():
        interpreter.close()


@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_native_bomb_is_refused(bomb, mode, interpreters):
    code, limits, accepted = BOMBS[bomb]
    interpreter = interpreter_for(interpreters, mode, limits)
    error, elapsed, peak = refused(interpreter, code, mode)
    assert elapsed < STOP_GOAL_S
    assert error.limit in accepted, str(error)
    assert f"Limits({error.limit}=" in str(error)
    if mode == "kernel":
        assert peak < MEMORY_GOAL_MB * 1024 * 1024
    assert interpreter.run("1 + 1", {}, {}).value == 2


# --- bombs fed by tools (a module's and an IPython namespace's) ----------------------------------

TOOL_BOMBS = {
    "pow_with_tool_modulus": "pow(3, 2 ** 100000 - 1, len(search('q', 3)) + 2 ** 4000)",
    "dist_over_tool_result": "import math\nmath.dist(search('q', 3) * 0 + list(range(10 ** 8)), range(10 ** 8))",
    "punycode_of_tool_text": f"(search('q', 1)[0] + {_WIDE}).encode('punycode')",
}


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    assert ip.run_cell("def search(query, limit=3):\n    return [f'{query} {i}' for i in range(limit)]").success
    return ip


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("bomb", sorted(TOOL_BOMBS))
def test_bomb_fed_by_tools_is_refused(bomb, mode, source, interpreters, shell):
    tools = {"search": interp_tools_module.search if source == "module" else shell.user_ns["search"]}
    interpreter = interpreter_for(interpreters, mode, DEFAULT)
    start = time.monotonic()
    with pytest.raises(LimitExceededError) as info:
        interpreter.run(TOOL_BOMBS[bomb], tools, {})
    assert time.monotonic() - start < STOP_GOAL_S
    assert f"Limits({info.value.limit}=" in str(info.value)
    assert interpreter.run("search('ok', 1)", tools, {}).value == ["ok 0"]


# --- property tests over sizes -------------------------------------------------------------------

_KERNEL = Interpreter(limits=DEFAULT)
_FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(code):
    return _KERNEL.run(code, {}, {}).value


def _refused_cheaply(code, field=None, peak_mb=64, seconds=3.0):
    """Refused with a LimitExceededError before the work: quickly and with little memory."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(LimitExceededError) as info:
            _KERNEL.run(code, {}, {})
    finally:
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds
    assert peak < peak_mb * 1024 * 1024
    if field is not None:
        assert info.value.limit == field
    return info.value


@_FAST
@given(st.integers(2, 10 ** 6), st.integers(0, 2 ** 64), st.integers(2, 2 ** 256))
def test_pow_mod_small_sizes_match_cpython(base, exp, mod):
    assert _run(f"pow({base}, {exp}, {mod})") == pow(base, exp, mod)


@_FAST
@given(st.integers(20_000, 200_000), st.integers(4_000, 20_000))
def test_pow_mod_large_sizes_are_refused_before_work(exp_bits, mod_bits):
    _refused_cheaply(f"pow(3, 2 ** {exp_bits} - 1, 2 ** {mod_bits} + 1)", "max_operations")


@_FAST
@given(st.integers(1, 3_000), st.integers(1, 3_000))
def test_division_small_sizes_match_cpython(a_bits, b_bits):
    a, b = 7 ** a_bits, 3 ** b_bits + 1
    assert _run(f"(7 ** {a_bits} // (3 ** {b_bits} + 1), 7 ** {a_bits} % (3 ** {b_bits} + 1), divmod(-7 ** {a_bits}, 3 ** {b_bits} + 1))") == (
        a // b, a % b, divmod(-a, b)
    )


@_FAST
@given(st.integers(900_000, 990_000), st.integers(300_000, 450_000))
def test_division_large_sizes_are_refused_before_work(a_bits, b_bits):
    _refused_cheaply(f"x = (1 << {a_bits}) - 1\ny = (1 << {b_bits}) - 1\nx // y", "max_operations", peak_mb=8)


@_FAST
@given(st.lists(st.integers(-50, 50), min_size=1, max_size=30), st.lists(st.integers(-50, 50), min_size=1, max_size=30))
def test_math_iterables_small_sizes_match_cpython(xs, ys):
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    got = _run(f"import math, statistics\n(math.dist({xs}, {ys}), math.prod({xs}), math.fsum({xs}), statistics.mean({xs}), math.gcd(*{xs}))")
    assert got == (math.dist(xs, ys), math.prod(xs), math.fsum(xs), statistics.mean(xs), math.gcd(*xs))


@_FAST
@given(st.integers(10 ** 7 + 1, 10 ** 12))
def test_math_iterables_large_sizes_are_refused_before_work(n):
    for code in (f"math.dist(range({n}), range({n}))", f"math.fsum(range({n}))", f"statistics.fmean(range({n}))",
                 f"math.hypot(*range({n}))", f"statistics.quantiles([1, 2], n={n})"):
        _refused_cheaply("import math, statistics\n" + code)


@_FAST
@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=60))
def test_codecs_small_sizes_match_cpython(text):
    expected = text.encode("punycode")
    assert _run(f"{text!r}.encode('punycode')") == expected
    assert _run(f"{expected!r}.decode('punycode')") == text


@_FAST
@given(st.integers(5_000, 40_000))
def test_punycode_large_sizes_are_refused_before_work(n):
    _refused_cheaply(f"''.join([chr(256 + i % 20000) for i in range({n})]).encode('punycode')", "max_operations")


@_FAST
@given(st.integers(0, 2 ** 2000), st.sampled_from(["b", "x", "o", "d", "_x", ",", ">10"]))
def test_conversions_small_sizes_match_cpython(n, spec):
    assert _run(f"(bin({n}), hex({n}), oct({n}), format({n}, {spec!r}), bytes.fromhex({hex(n)[2:].zfill(2 * ((len(hex(n)) - 1) // 2))!r}))") == (
        bin(n), hex(n), oct(n), format(n, spec), bytes.fromhex(hex(n)[2:].zfill(2 * ((len(hex(n)) - 1) // 2)))
    )


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(16, 64))
def test_conversion_results_count_against_memory(mb):
    limits = Limits(memory_mb=mb, max_operations=10 ** 9, timeout_s=20.0)
    interpreter = Interpreter(limits=limits)
    start = time.monotonic()
    with pytest.raises(LimitExceededError) as info:
        interpreter.run("x = (1 << 999_000) - 1\na = []\nwhile True:\n    a.append(hex(x))", {}, {})
    error = info.value
    assert error.limit == "memory_mb"
    assert time.monotonic() - start < 3 * STOP_GOAL_S
    assert interpreter.run("1", {}, {}).value == 1  # a new run starts with a fresh budget


@_FAST
@given(st.integers(1, 6), st.integers(1, 4))
def test_itertools_small_sizes_match_cpython(n, r):
    import itertools

    code = (f"import itertools\n(list(itertools.product(range({n}), repeat={r})), list(itertools.permutations(range({n}), {r})),"
            f" list(itertools.combinations(range({n}), {r})), list(itertools.accumulate(range({n}))))")
    assert _run(code) == (
        list(itertools.product(range(n), repeat=r)), list(itertools.permutations(range(n), r)),
        list(itertools.combinations(range(n), r)), list(itertools.accumulate(range(n))),
    )


@_FAST
@given(st.integers(5 * 10 ** 6, 10 ** 7))
def test_itertools_large_tuples_are_refused_before_work(r):
    _refused_cheaply(f"import itertools\nnext(itertools.product([0, 1], repeat={r}))", peak_mb=200)


@_FAST
@given(st.lists(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3)), max_size=80),
       st.lists(st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3)), max_size=80))
def test_sequence_comparisons_small_sizes_match_cpython(xs, ys):
    xs = [x for x in xs if type(x) is not list] if any(type(x) is int for x in ys) else xs  # keep them comparable
    ys = [y for y in ys if type(y) is not list] if any(type(y) is int for y in xs) else ys
    try:
        expected = (xs == ys, xs != ys, tuple(xs) < tuple(ys), xs[:1] in [ys[:1]], ys.count(xs[0]) if xs else 0)
    except TypeError:
        return
    got = _run(f"xs = {xs!r}\nys = {ys!r}\n(xs == ys, xs != ys, tuple(xs) < tuple(ys), xs[:1] in [ys[:1]], ys.count(xs[0]) if xs else 0)")
    assert got == expected


@_FAST
@given(st.integers(200_000, 2_000_000), st.integers(2_000, 100_000))
def test_sequence_comparisons_large_sizes_are_refused_before_work(chars, n):
    setup = f"s = 'a' * {chars}\nt = s[:-1] + 'a'\n"
    if (chars >> 11) * n > DEFAULT.max_operations:
        _refused_cheaply(setup + f"[s] * {n} == [t] * {n}", "max_operations", peak_mb=16)
        _refused_cheaply(setup + f"s in [t] * {n}", "max_operations", peak_mb=16)
