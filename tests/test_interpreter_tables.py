"""Tables in agent code: opaque handles with read-only facts, the pandas routes refused, and the
size limit on tables tools return, in the kernel and in process isolation.

Every escape program runs on a ``Spy`` table (a DataFrame subclass whose dangerous methods and
operators record that they ran): each must end in ``RefusedConstructError`` (the interpreter's
refusal) with nothing recorded and nothing written under ``tmp_path``; the interpreter still
works afterwards. Tables arrive as inputs (the state), from tools (alone and inside containers),
as ``AgentTable``-like wrappers, and through ``Agent.execute``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbagents.errors import (
    LimitExceededError,
    NbAgentsError,
    RefusedConstructError,
    SandboxRuntimeError,
)
from nbagents.interpreter import Handle, Interpreter, Limits
from nbagents.interpreter.codec import encode
from nbagents.interpreter.tablefacts import FACTS, TableFacts, table_facts
from nbagents.interpreter.values import HandleRegistry
from nbagents.tabular import Table
from nbagents.tools import tool

MODES = ["kernel", "process"]

# Methods and operators that must never run from agent code (recorded when they do).
WATCHED = (
    "query eval pipe apply map agg aggregate transform applymap groupby style plot to_csv to_pickle "
    "to_parquet to_sql to_clipboard to_html to_json to_excel to_markdown to_string to_dict to_records "
    "to_numpy to_latex to_xml to_feather to_hdf to_stata head tail sample describe info memory_usage "
    "__getitem__ __setitem__ __delitem__ __iter__ __contains__ __bool__ __eq__ __ne__ __lt__ __gt__ "
    "__add__ __radd__ __sub__ __mul__ __neg__ __invert__ __abs__ __and__ __matmul__ __pow__ __format__ "
    "__array__ __reduce_ex__ __getattr__"
).split()
CALLS: list[str] = []


def _watch(cls, name):
    original = getattr(cls, name, None)

    def watched(self, *args, **kwargs):
        CALLS.append(name)
        if original is None:
            raise AttributeError(name)
        return original(self, *args, **kwargs)

    setattr(cls, name, watched)


class Spy(pd.DataFrame):
    """A DataFrame that records every watched method that runs on it."""


class SpySeries(pd.Series):
    """A Series that records every watched method that runs on it."""


for _name in WATCHED:
    if _name != "__getattr__":
        _watch(Spy, _name)
        _watch(SpySeries, _name)


class AgentTable:
    """Stands for nbagents.results.AgentTable: the class name and ``to_raw()`` make it a table."""

    def __init__(self, frame):
        self.frame = frame

    def to_raw(self):
        return self.frame


def frame() -> Spy:
    return Spy({"region": ["north", "south", "east"], "units": [3, 5, 7]})


def series() -> SpySeries:
    return SpySeries([1.5, 2.5], name="price")


def first_rows(table, n: int = 2):
    """A table from a tool (a new Spy: the result is watched too)."""
    return Spy(pd.DataFrame(table).iloc[:n])


def pack(table):
    """Tables inside containers."""
    return {"tables": [Spy(pd.DataFrame(table).iloc[:1])], "n": 1}


def add_column(table):
    """Changes the table in place (a new column)."""
    table["extra"] = 0
    return "done"


def filter_rows(table, column: str, value: str):
    """The rows of `table` whose `column` equals `value`."""
    return table[table[column] == value]


@tool
def count_rows(table: Table, column: str, value: str) -> int:
    """How many rows of `table` have `value` in `column` (a tool whose input takes a table)."""
    return int((table[column] == value).sum())


TOOLS = {"first_rows": first_rows, "pack": pack, "filter_rows": filter_rows, "count_rows": count_rows,
         "shout": lambda text: text.upper()}


@pytest.fixture(scope="module")
def interpreters():
    made = {"kernel": Interpreter(limits=Limits(timeout_s=1.0)), "process": Interpreter(limits=Limits(timeout_s=1.0), isolation="process")}
    yield made
    made["process"].close()


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


# --- escapes ------------------------------------------------------------------------------------

# name -> program; `t` is a table input, `s` a Series input, `{path}` a file under tmp_path.
ESCAPES = {
    # evaluation
    "query": "t.query('units > 3')",
    "eval": "t.eval('units * 2')",
    "eval_assign": "t.eval('x = units * 2', inplace=True)",
    # I/O
    **{f"io_{name}": f"t.{name}('{{path}}')" for name in (
        "to_csv", "to_pickle", "to_parquet", "to_json", "to_html", "to_excel", "to_markdown", "to_latex",
        "to_xml", "to_feather", "to_hdf", "to_stata", "to_string", "to_clipboard",
    )},
    "to_sql": "t.to_sql('x', '{path}')",
    "to_dict": "t.to_dict()",
    "to_records": "t.to_records()",
    "to_numpy": "t.to_numpy()",
    "read_csv_module": "import pandas as pd\npd.read_csv('{path}')",
    "read_csv_from": "from pandas import read_csv\nread_csv('{path}')",
    "read_via_class": "type(t).read_csv('{path}')",
    "read_via_dunder_class": "t.__class__.__module__",
    "read_via_io": "t.io",
    # callables and strings handed to pandas
    "pipe": "t.pipe(print)",
    "pipe_tool": "t.pipe(shout)",
    "apply_lambda": "t.apply(lambda c: c)",
    "apply_string": "t.apply('sum')",
    "map": "t.map(str)",
    "agg": "t.agg('sum')",
    "aggregate": "t.aggregate(len)",
    "transform": "t.transform(lambda x: x)",
    "groupby": "t.groupby('region').sum()",
    "head": "t.head(1)",
    "describe": "t.describe()",
    "style": "t.style",
    "plot": "t.plot()",
    "plot_line": "t.plot.line()",
    "method_value": "f = t.to_csv\nf('{path}')",
    # dunders and internals
    "class": "t.__class__",
    "dict": "t.__dict__",
    "init": "t.__init__({{}})",
    "mgr": "t._mgr",
    "data": "t._data",
    "reduce_ex": "t.__reduce_ex__(2)",
    "getattribute": "t.__getattribute__('query')",
    "array": "t.__array__()",
    # attribute chains
    "loc": "t.loc[0]",
    "iloc": "t.iloc[0]",
    "at": "t.at[0, 'units']",
    "values": "t.values",
    "transpose": "t.T",
    "index": "t.index",
    "column_attribute": "t.units",
    "columns_index_method": "t.columns.str.upper()",
    "columns_to_series": "t.columns.to_series().to_csv('{path}')",
    "dtypes_series": "t.dtypes.to_csv('{path}')",
    # getattr with strings
    "getattr": "getattr(t, 'query')('units > 3')",
    "getattr_computed": "getattr(t, 'to_' + 'csv')('{path}')",
    "hasattr": "hasattr(t, 'to_csv')",
    "vars": "vars(t)",
    "dir": "dir(t)",
    # format strings
    "fstring_class": "f'{{t.__class__}}'",
    "format_class": "'{{0.__class__}}'.format(t)",
    "format_method": "'{{0.to_csv}}'.format(t)",
    "format_subscript": "'{{0[units]}}'.format(t)",
    "format_shape_field": "'{{t.shape}}'.format(t=t)",
    "format_map": "'{{x.values}}'.format_map({{'x': t}})",
    "format_spec": "format(t, '>10')",
    "fstring_spec": "f'{{t:>10}}'",
    # operators producing frames
    **{f"op_{i}": code for i, code in enumerate((
        "t + 1", "1 + t", "t - 1", "t * 2", "t / 2", "t // 2", "t % 2", "t ** 2", "t @ t", "t & t", "t | t",
        "t ^ t", "t << 1", "t >> 1", "-t", "+t", "~t", "abs(t)", "divmod(t, 2)", "x = t\nx += 1", "x = t\nx *= 2",
    ))},
    **{f"compare_{i}": code for i, code in enumerate((
        "t == 1", "t != 1", "1 == t", "t > 1", "t < t", "t >= 1", "t <= 1", "sorted([t, t])", "max(t, t)",
        "t == t", "[t].index(1)", "[1, t].count(t)",
    ))},
    # iteration, in, truth
    **{f"iterate_{i}": code for i, code in enumerate((
        "for c in t:\n    pass", "list(t)", "[c for c in t]", "{{c: 1 for c in t}}", "a, b = t", "sorted(t)", "sum(t)",
        "max(t)", "min(t)", "dict(t)", "set(t)", "tuple(t)", "list(enumerate(t))", "list(zip(t))", "''.join(t)",
        "any(t)", "all(t)", "print(*t)", "[*t]", "list(map(str, t))", "list(filter(None, t))", "list(reversed(t))",
        "iter(t)",
    ))},
    "in": "'units' in t",
    "not_in": "'units' not in t",
    "in_series": "1.5 in s",
    **{f"truth_{i}": code for i, code in enumerate((
        "if t:\n    pass", "not t", "t and 1", "t or 1", "bool(t)", "while t:\n    break", "1 if t else 2", "assert t",
        "[x for x in [1] if t]",
    ))},
    # subscripts and writes
    "subscript_column": "t['units']",
    "subscript_index": "t[0]",
    "subscript_mask": "t[t]",
    "subscript_slice": "t[0:1]",
    "setitem": "t['units'] = 1",
    "delitem": "del t['units']",
    "setattr": "t.units = 1",
    "delattr": "del t.units",
    "augmented_attribute": "t.units += 1",
    # a Series
    "series_to_csv": "s.to_csv('{path}')",
    "series_str": "s.str",
    "series_apply": "s.apply(len)",
    "series_subscript": "s[0]",
    "series_add": "s + 1",
    "series_iterate": "list(s)",
    # tables that came back from tools
    "tool_result_query": "r = first_rows(t)\nr.query('units > 3')",
    "tool_result_to_csv": "r = first_rows(t)\nr.to_csv('{path}')",
    "tool_result_subscript": "first_rows(t)['units']",
    "tool_result_iterate": "list(first_rows(t))",
    "tool_result_in_container": "r = pack(t)\nr['tables'][0].to_pickle('{path}')",
    "tool_result_container_op": "r = pack(t)\nr['tables'][0] + 1",
    "wrapped_table_to_csv": "w.to_csv('{path}')",
    "wrapped_table_to_raw": "w.to_raw()",
    "wrapped_table_frame": "w.frame",
    "wrapped_table_subscript": "w['units']",
}


# Routes through a fact: the fact is plain data, so they end at a plain AttributeError on it.
PLAIN_DATA_ENDS = {"columns_index_method": "'list' object", "columns_to_series": "'list' object",
                   "dtypes_series": "'dict' object"}


# Conversions Python itself refuses on the handle (a TypeError naming it): no pandas code runs.
CONVERSIONS = {
    "int": "int(t)", "float": "float(t)", "round": "round(t)", "range": "range(t)", "percent_d": "'%d' % t",
    "list_index": "[1, 2][t]", "math_floor": "import math\nmath.floor(t)", "json_dumps": "import json\njson.dumps(t)",
    "call": "t()", "key_function": "min([1, 2], key=t)",
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_conversions_of_a_table_fail_on_the_handle(name, mode, interpreters, tmp_path):
    with pytest.raises(SandboxRuntimeError) as info:
        interpreters[mode].run(CONVERSIONS[name], TOOLS, _state())
    assert "TypeError" in str(info.value) and "andle" in str(info.value)
    assert CALLS == []


def _state():
    return {"t": frame(), "s": series(), "w": AgentTable(frame())}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_table_escape_is_refused(name, mode, interpreters, tmp_path):
    code = ESCAPES[name].format(path=tmp_path / "out")
    expected = SandboxRuntimeError if name in PLAIN_DATA_ENDS else RefusedConstructError
    with pytest.raises(expected) as info:
        interpreters[mode].run(code, TOOLS, _state())
    if name in PLAIN_DATA_ENDS:
        assert f"AttributeError: {PLAIN_DATA_ENDS[name]} has no attribute" in str(info.value)
    assert CALLS == []  # no watched pandas method ran
    assert list(tmp_path.iterdir()) == []
    assert len(str(info.value)) < 2_000
    assert interpreters[mode].run("len(t)", TOOLS, {"t": frame()}).value == 3


@pytest.mark.parametrize("mode", MODES)
def test_table_refusal_names_the_facts_and_the_table_tools(mode, interpreters):
    with pytest.raises(RefusedConstructError) as info:
        interpreters[mode].run("t.query('units > 3')", TOOLS, {"t": frame()})
    error = info.value
    assert "The attribute 'query' of a table (3 rows × 2 columns)" in error.message
    assert "t.shape, t.columns, t.dtypes" in error.hint and "len(t)" in error.hint
    assert "count_rows" in error.hint  # the one tool here whose inputs declare a table
    assert "first_rows" not in error.hint and "shout" not in error.hint
    assert error.line == 1


@pytest.mark.parametrize("mode", MODES)
def test_table_refusal_cannot_be_caught(mode, interpreters):
    code = "try:\n    t['units']\nexcept Exception:\n    caught = 1\ncaught = 2"
    with pytest.raises(RefusedConstructError):
        interpreters[mode].run(code, TOOLS, {"t": frame()})
    assert CALLS == []


@pytest.mark.parametrize("mode", MODES)
def test_refusal_without_table_tools_has_a_generic_hint(mode, interpreters):
    with pytest.raises(RefusedConstructError) as info:
        interpreters[mode].run("t + 1", {}, {"t": frame()})
    assert "a tool that takes a table (filter, sort" in info.value.hint


# --- the facts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_facts_are_plain_python_data(mode, interpreters):
    code = (
        "cols = t.columns\ncols.append('mine')\n"
        "result = [t.shape, t.columns, t.dtypes, t.size, t.ndim, t.empty, len(t), cols,\n"
        "          s.shape, s.columns, s.dtypes, len(s), s.ndim, w.shape, len(w), str(t)]"
    )
    value = interpreters[mode].run(code, TOOLS, _state()).value
    assert value[:8] == [(3, 2), ["region", "units"], {"region": "str", "units": "int64"}, 6, 2, False, 3,
                         ["region", "units", "mine"]]
    assert value[8:15] == [(2,), ["price"], {"price": "float64"}, 2, 1, (3, 2), 3]
    assert value[15].startswith("<spy handle #") and value[15].endswith(": 3 rows × 2 columns>")
    assert "north" not in value[15]
    assert [type(v) for v in value[:7]] == [tuple, list, dict, int, int, bool, int]
    assert CALLS == []


@pytest.mark.parametrize("mode", MODES)
def test_facts_cannot_reach_pandas_objects(mode, interpreters):
    for code, message in (
        ("t.columns.to_list()", "'list' object has no attribute 'to_list'"),
        ("t.dtypes.to_dict()", "'dict' object has no attribute 'to_dict'"),
        ("t.shape()", "'tuple' object is not callable"),
        ("t.columns()", "'list' object is not callable"),
    ):
        with pytest.raises(SandboxRuntimeError) as info:
            interpreters[mode].run(code, TOOLS, {"t": frame()})
        assert message in str(info.value)
    assert CALLS == []


@pytest.mark.parametrize("mode", MODES)
def test_tables_pass_to_tools_and_come_back(mode, interpreters):
    df = frame()
    code = (
        "north = filter_rows(t, 'region', 'north')\n"
        "r = first_rows(t, 1)\n"
        "info = (north.shape, r.columns, pack(t)['tables'][0].shape, t is t, north is t)\n"
        "r"
    )
    state = {"t": df}
    execution = interpreters[mode].run(code, TOOLS, state)
    assert isinstance(execution.value, pd.DataFrame) and execution.value.shape == (1, 2)
    assert interpreters[mode].run("(info, t.shape)", TOOLS, state).value == (((1, 2), ["region", "units"], (1, 2), True, False), (3, 2))
    # the input itself comes back as the same object
    assert interpreters[mode].run("t", TOOLS, {"t": df}).value is df


@pytest.mark.parametrize("mode", MODES)
def test_facts_follow_a_table_a_tool_changed(mode, interpreters):
    df = pd.DataFrame({"a": [1, 2]})
    code = "before = t.columns\nadd_column(t)\n(before, t.columns, t.shape)"
    value = interpreters[mode].run(code, {"add_column": add_column}, {"t": df}).value
    assert value == (["a"], ["a", "extra"], (2, 2))


@pytest.mark.parametrize("mode", MODES)
def test_facts_follow_the_callers_table_between_runs(mode, interpreters):
    df = pd.DataFrame({"a": [1, 2]})
    state = {"t": df, "xs": [df]}
    assert interpreters[mode].run("t.shape", {}, state).value == (2, 1)
    df["b"] = "x"
    assert interpreters[mode].run("(t.shape, xs[0].dtypes)", {}, state).value == ((2, 2), {"a": "int64", "b": "str"})


@pytest.mark.parametrize("mode", MODES)
def test_tables_as_handles_in_containers_and_identity(mode, interpreters):
    code = "xs = [t, t]\nd = {'k': t}\n(len(xs), xs[0] is t, d['k'] is t, t in [t], len(d['k']))"
    assert interpreters[mode].run(code, TOOLS, {"t": frame()}).value == (2, True, True, True, 3)
    assert CALLS == []


def test_agent_table_inputs_are_opaque():
    import nbagents.results
    from nbagents import Agent, ScriptedEngine

    if not hasattr(nbagents.results, "AgentTable"):  # describing a table input needs it
        pytest.skip("nbagents.results.AgentTable is not on this branch yet")

    agent = Agent(ScriptedEngine([]), tools=[count_rows], add_default_tools=False)
    run = agent.execute("result = [sales.shape, sales.columns, count_rows(sales, 'region', 'east')]", sales=frame())
    assert run.ok, run.error
    assert run.result == [(3, 2), ["region", "units"], 1]
    run = agent.execute("result = sales.to_csv('x.csv')", sales=frame())
    assert run.error is not None and run.error.type == "RefusedConstructError"
    assert "count_rows" in run.error.hint
    # the host describes the input for the Run (its text and HTML): the program itself ran no
    # pandas method, and wrote nothing
    assert "to_csv" not in CALLS and not Path("x.csv").exists()


def test_table_facts_of_non_tables_and_broken_tables():
    class Broken(pd.DataFrame):
        @property
        def shape(self):
            raise RuntimeError("broken")

    assert table_facts([1]) is None and table_facts("x") is None and table_facts(np.zeros(3)) is None
    assert table_facts(Broken({"a": [1]})) is None  # an ordinary opaque handle then
    assert table_facts(pd.DataFrame()) == TableFacts(0, (), ())
    assert set(FACTS) == {"shape", "columns", "dtypes", "size", "ndim", "empty"}


def test_handles_of_other_objects_keep_their_plain_errors(interpreters):
    class Thing:
        pass

    for code, message in (("len(x)", "has no len()"), ("x[0]", "not subscriptable"), ("list(x)", "not iterable"),
                          ("x + 1", "unsupported operand"), ("'a' in x", "is not iterable")):
        with pytest.raises(SandboxRuntimeError) as info:
            interpreters["kernel"].run(code, {}, {"x": Thing()})
        assert message in str(info.value)
    assert interpreters["kernel"].run("bool(x) and x == x and x != 1", {}, {"x": Thing()}).value is True


# --- what crosses the process boundary -----------------------------------------------------------


def test_only_the_facts_of_a_table_cross_the_boundary():
    df = pd.DataFrame({"secret": ["SECRET-CELL"] * 3, "n": [1, 2, 3]})
    handle = HandleRegistry().wrap(df)
    data = encode({"t": handle, "xs": [handle]})
    text = json.dumps(data)
    assert "SECRET-CELL" not in text
    assert data["v"][0][1] == {"$": "handle", "n": 1, "k": "dataframe", "t": [3, ["secret", "n"], ["str", "int64"], False]}
    assert TableFacts.decode([3, ["secret", "n"], ["str", "int64"], False]) == table_facts(df)
    for bad in ([3, ["a"], [], False], ["3", [], [], False], [1, [1], ["x"], False], {"rows": 1}, [1, 2]):
        assert TableFacts.decode(bad) is None


def test_handle_values_on_the_host_stay_usable():
    handle = HandleRegistry().wrap(frame())
    assert bool(handle) and handle == handle and handle != Handle(None, 9, "x") and len({handle: 1}) == 1
    assert len(handle) == 3 and "3 rows × 2 columns" in repr(handle)
    assert CALLS == []


# --- size limits --------------------------------------------------------------------------------


def _table(rows: int, cols: int) -> pd.DataFrame:
    return pd.DataFrame(np.zeros((rows, cols)), columns=[f"c{i}" for i in range(cols)])


SIZED_TOOLS = {
    "make": lambda rows, cols: _table(rows, cols),
    "make_in_list": lambda rows, cols: [_table(1, 1), {"big": _table(rows, cols)}],
    "make_series": lambda n: pd.Series(np.zeros(n)),
}


@pytest.fixture(scope="module")
def limited():
    limits = Limits(timeout_s=1.0, max_table_cells=100)
    made = {"kernel": Interpreter(limits=limits), "process": Interpreter(limits=limits, isolation="process")}
    yield made
    made["process"].close()


def test_default_table_limit():
    assert Limits().max_table_cells == 1_000_000


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", ["make(11, 10)", "x = make_in_list(11, 10)", "make_series(101)",
                                  "try:\n    make(11, 10)\nexcept Exception:\n    pass"])
def test_a_tool_table_over_the_limit_is_refused(code, mode, limited):
    with pytest.raises(LimitExceededError) as info:
        limited[mode].run(code, SIZED_TOOLS, {})
    error = info.value
    assert error.limit == "max_table_cells"
    assert "cells, over max_table_cells=100" in error.message and "the result of the tool 'make" in error.message
    assert "Limits(max_table_cells=...)" in error.hint
    if "series" not in code:
        assert "11 rows × 10 columns = 110 cells" in error.message


@pytest.mark.parametrize("mode", MODES)
def test_tables_within_the_limit_and_inputs_pass(mode, limited):
    value = limited[mode].run("(make(10, 10).shape, make_series(100).shape, len(big))", SIZED_TOOLS,
                              {"big": _table(50, 10)}).value
    assert value == ((10, 10), (100,), 50)  # the caller's own table is not limited


@pytest.mark.parametrize("mode", MODES)
def test_the_default_limit_refuses_a_million_cells(mode, interpreters):
    with pytest.raises(LimitExceededError) as info:
        interpreters[mode].run("make(1001, 1000)", SIZED_TOOLS, {})
    assert "1,001 rows × 1,000 columns = 1,001,000 cells, over max_table_cells=1,000,000" in info.value.message
    assert interpreters[mode].run("make(1000, 1000).shape", SIZED_TOOLS, {}).value == (1000, 1000)


def test_call_tool_outside_a_program_checks_tables():
    interpreter = Interpreter(limits=Limits(max_table_cells=100))
    assert interpreter.call_tool("make", SIZED_TOOLS["make"], {"rows": 10, "cols": 10}).value.shape == (10, 10)
    with pytest.raises(LimitExceededError) as info:
        interpreter.call_tool("make", SIZED_TOOLS["make"], {"rows": 11, "cols": 10})
    assert info.value.limit == "max_table_cells"


def test_agent_limits_reach_the_table_check():
    from nbagents import Agent, ScriptedEngine

    @tool
    def make(rows: int, cols: int) -> dict:
        """A table of zeros (in a dict)."""
        return {"table": _table(rows, cols)}

    agent = Agent(ScriptedEngine([]), tools=[make], add_default_tools=False, limits=Limits(max_table_cells=100))
    run = agent.execute("result = make(20, 10)")
    assert run.error is not None and run.error.type == "LimitExceededError"
    assert "max_table_cells" in run.error.message


def test_nbagents_errors_are_the_one_hierarchy():
    assert issubclass(RefusedConstructError, NbAgentsError) and issubclass(LimitExceededError, NbAgentsError)


def test_the_spy_sees_pandas_methods_run():
    spy = frame()
    spy.query("units > 3")
    _ = spy["units"]
    assert CALLS[:1] == ["query"] and "__getitem__" in CALLS
