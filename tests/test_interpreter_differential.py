"""Differential testing: random allowed programs give CPython's printed output, final value and
exception type."""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbagents.errors import SandboxRuntimeError
from nbagents.interpreter import Interpreter

PRELUDE = "a = 3\nb = -4\ns = 'xy'\nxs = [1, 2, 3]\n"
FINALE = "(a, b, s, xs)"

small = st.integers(-20, 20).map(str)
count = st.integers(0, 4).map(str)
int_atom = st.one_of(small, st.sampled_from(["a", "b", "len(xs)", "len(s)", "True"]))


def _int_ext(children):
    pair = st.tuples(children, children)
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "//", "%", "&", "|", "^", ">>"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})"),
        st.tuples(children, st.integers(0, 8)).map(lambda t: f"({t[0]} << {t[1]})"),
        children.map(lambda e: f"(-{e})"),
        children.map(lambda e: f"abs({e})"),
        pair.map(lambda t: f"max({t[0]}, {t[1]})"),
        pair.map(lambda t: f"min([{t[0]}, {t[1]}])"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} > {t[2]} else {t[1]})"),
        children.map(lambda e: f"xs[{e} % len(xs)]"),
        children.map(lambda e: f"int(str({e}))"),
        pair.map(lambda t: f"sum(x * {t[0]} for x in range({t[1]} % 5))"),
        pair.map(lambda t: f"divmod({t[0]}, {t[1]})[0]"),
    )


int_expr = st.recursive(int_atom, _int_ext, max_leaves=6)
str_atom = st.one_of(st.sampled_from(["'ab'", "'Hello'", "' x '", "s", "''"]), int_expr.map(lambda e: f"str({e})"))


def _str_ext(children):
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(children, count).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(children, st.sampled_from(["upper()", "lower()", "strip()", "title()", "replace('l', 'L')", "zfill(4)", "center(7, '*')"])).map(
            lambda t: f"{t[0]}.{t[1]}"
        ),
        st.tuples(children, small, small).map(lambda t: f"{t[0]}[{t[1]}:{t[2]}]"),
        st.tuples(children, int_expr).map(lambda t: f"f'{{{t[1]}}}<{{{t[0]}!r}}>'"),
        st.tuples(children, int_expr).map(lambda t: f"'{{}}-{{}}'.format({t[0]}, {t[1]})"),
        st.tuples(children, children).map(lambda t: f"'-'.join([{t[0]}, {t[1]}])"),
        st.tuples(children, int_expr).map(lambda t: f"('%s=%d' % ({t[0]}, {t[1]}))"),
        children.map(lambda e: f"''.join(sorted({e}))"),
    )


str_expr = st.recursive(str_atom, _str_ext, max_leaves=4)
list_expr = st.one_of(
    st.just("xs"),
    st.tuples(int_expr, int_expr).map(lambda t: f"[{t[0]}, {t[1]}]"),
    st.just("sorted(xs)"),
    st.just("xs[::-1]"),
    int_expr.map(lambda e: f"xs + [{e}]"),
    int_expr.map(lambda e: f"[x * {e} for x in xs if x % 2]"),
    count.map(lambda n: f"list(range({n}))"),
    st.just("[x for x, y in zip(xs, s)]"),
    st.just("list(map(lambda v: v - 1, xs))"),
)
bool_expr = st.one_of(
    st.tuples(int_expr, st.sampled_from(["<", "<=", "==", "!=", ">", ">="]), int_expr).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    int_expr.map(lambda e: f"{e} in xs"),
    str_expr.map(lambda e: f"{e} in s"),
    st.tuples(int_expr, int_expr).map(lambda t: f"not ({t[0]} or {t[1]})"),
    st.tuples(int_expr, int_expr).map(lambda t: f"{t[0]} and {t[1]} > 0"),
)
any_expr = st.one_of(int_expr, str_expr, list_expr, bool_expr)


def _indent(lines: list) -> list:
    return ["    " + line for line in lines]


simple_statement = st.one_of(
    int_expr.map(lambda e: [f"a = {e}"]),
    int_expr.map(lambda e: [f"b += {e}"]),
    str_expr.map(lambda e: [f"s = {e}"]),
    list_expr.map(lambda e: [f"xs = {e}"]),
    int_expr.map(lambda e: [f"xs.append({e})"]),
    st.tuples(any_expr, any_expr, st.sampled_from([" ", ", ", "|"])).map(lambda t: [f"print({t[0]}, {t[1]}, sep={t[2]!r})"]),
    int_expr.map(lambda e: ["try:", f"    a = {e}", "except ZeroDivisionError:", "    a = -1"]),
)


def _compound(children):
    block = st.lists(children, min_size=1, max_size=3).map(lambda blocks: [line for b in blocks for line in b])
    return st.one_of(
        st.tuples(bool_expr, block, block).map(lambda t: [f"if {t[0]}:", *_indent(t[1]), "else:", *_indent(t[2])]),
        st.tuples(count, block).map(lambda t: [f"for i in range({t[0]}):", *_indent(t[1])]),
        st.tuples(int_expr, block).map(lambda t: ["def g(x, y=2):", f"    return {t[0]} + x * y", *t[1], "a = g(a)"]),
    )


statement = st.recursive(simple_statement, _compound, max_leaves=4)
program = st.lists(statement, min_size=1, max_size=6).map(
    lambda stmts: PRELUDE + "\n".join(line for s in stmts for line in s) + "\n" + FINALE
)


def _cpython(code: str):
    out = io.StringIO()
    namespace: dict = {}
    lines = code.rsplit("\n", 1)
    try:
        with contextlib.redirect_stdout(out):
            exec(lines[0], namespace)
            value = eval(lines[1], namespace)
    except Exception as exc:  # noqa: BLE001
        return None, out.getvalue(), type(exc).__name__
    return value, out.getvalue(), None


INTERPRETER = Interpreter()


def _ours(code: str):
    chunks: list = []
    try:
        execution = INTERPRETER.run(code, {}, {}, on_print=chunks.append)
    except SandboxRuntimeError as error:
        return None, "".join(chunks), error.exc_type
    return execution.value, execution.prints, None


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program)
def test_random_programs_behave_like_cpython(code):
    assert _ours(code) == _cpython(code), code


def test_known_tricky_programs():
    for code in [
        PRELUDE + "xs = [x for x in xs if x > a]\nprint(xs, sep='')\n" + FINALE,
        PRELUDE + "a = (b // 0)\n" + FINALE,
        PRELUDE + "s = f'{a}<{s!r}>'\n" + FINALE,
        PRELUDE + "for i in range(3):\n    b += i\nelse:\n    a = i\n" + FINALE,
        PRELUDE + "a = -1 << 3\nb = 1 << -1\n" + FINALE,
    ]:
        assert _ours(code) == _cpython(code), code
