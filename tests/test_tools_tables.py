"""The table tools on real DataFrames and real files: each operation, each bad input's message, the
tools in the default toolbox, and an agent run that composes them through the interpreter."""

from __future__ import annotations

import html
import math

import pandas as pd
import pytest

from nbagents import Agent, ScriptedEngine
from nbagents.errors import (
    ColumnTypeError,
    EmptyResultError,
    TableError,
    TableFileError,
    ToolError,
    UnknownColumnError,
)
from nbagents.results import AgentTable
from nbagents.tools.defaults import default_tools
from nbagents.tools.loading import offline_tool_factories
from nbagents.tools.tables import (
    FUNCTIONS,
    column_value,
    count_rows,
    describe_table,
    filter_rows,
    group_and_aggregate,
    join_tables,
    list_columns,
    read_table,
    select_columns,
    sort_rows,
    table_tools,
    top_rows,
)


@pytest.fixture
def sales():
    return pd.DataFrame({
        "region": ["North", "South", "North", "East", "South", "West"],
        "units": [3, 5, 7, 1, 9, 4],
        "price": [1.5, 2.0, 3.25, 4.0, 0.5, 2.5],
        "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-15", "2024-03-01", "2024-03-20", "2024-04-02"]),
        "paid": [True, False, True, True, False, True],
    })


@pytest.fixture
def tools():
    return {t.name: t for t in table_tools()}


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,write", [
    ("s.csv", lambda f, p: f.to_csv(p, index=False)),
    ("s.tsv", lambda f, p: f.to_csv(p, index=False, sep="\t")),
    ("s.parquet", lambda f, p: f.to_parquet(p)),
    ("s.xlsx", lambda f, p: f.to_excel(p, index=False)),
    ("s.json", lambda f, p: f.to_json(p, orient="records")),
    ("s.jsonl", lambda f, p: f.to_json(p, orient="records", lines=True)),
    ("s.txt", lambda f, p: f.to_csv(p, index=False)),  # other extensions: CSV
])
def test_read_table_reads_each_format(tmp_path, name, write):
    frame = pd.DataFrame({"region": ["North", "South"], "units": [3, 5], "price": [1.5, 2.0]})
    write(frame, tmp_path / name)
    got = read_table(str(tmp_path / name))
    assert isinstance(got, pd.DataFrame) and got.equals(frame), got


def test_read_table_tool_gives_an_agent_table(tmp_path, tools):
    (tmp_path / "s.csv").write_text("a,b\n1,x\n2,y\n")
    table = tools["read_table"](path=str(tmp_path / "s.csv"))
    assert isinstance(table, AgentTable) and table.shape == (2, 2) and table.columns == ["a", "b"]


def test_a_missing_file_names_the_nearby_table_files(tmp_path):
    (tmp_path / "sales_2024.csv").write_text("a\n1\n")
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(TableFileError) as info:
        read_table(str(tmp_path / "sales_2023.csv"))
    assert "No table file at" in info.value.message and "sales_2023.csv" in info.value.message
    assert "sales_2024.csv" in info.value.hint and "notes.md" not in info.value.hint
    with pytest.raises(TableFileError) as info:
        read_table(str(tmp_path / "empty" / "x.csv"))
    assert "working directory" in info.value.hint


def test_a_file_that_is_not_a_table_says_what_pandas_said(tmp_path):
    (tmp_path / "photo.parquet").write_bytes(b"\x89PNG\r\n\x1a\nnot a table")
    with pytest.raises(TableFileError) as info:
        read_table(str(tmp_path / "photo.parquet"))
    assert "'photo.parquet' is not a table pandas can read" in info.value.message
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TableFileError, match="No columns to parse"):
        read_table(str(tmp_path / "empty.csv"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TableFileError, match="'bad.json' is not a table pandas can read as .json"):
        read_table(str(tmp_path / "bad.json"))
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(TableFileError, match="is not a file"):
        read_table(str(tmp_path / "folder.csv"))


def test_read_table_refuses_hidden_files(tmp_path):
    (tmp_path / ".secret").mkdir()
    (tmp_path / ".secret" / "keys.csv").write_text("a\n1\n")
    with pytest.raises(TableFileError, match="hidden"):
        read_table(str(tmp_path / ".secret" / "keys.csv"))


def test_tools_accept_a_file_path_a_series_and_rows(tmp_path, sales):
    sales[["region", "units"]].to_csv(tmp_path / "s.csv", index=False)
    assert count_rows(str(tmp_path / "s.csv")) == 6
    assert count_rows(sales["units"]) == 6
    assert count_rows([{"a": 1}, {"a": 2}]) == 2
    assert count_rows(AgentTable(sales)) == 6
    with pytest.raises(TableError, match="`table` must be a table, got int"):
        count_rows(3)


# --- facts -----------------------------------------------------------------------------------


def test_count_list_and_describe(sales):
    assert count_rows(sales) == 6 and count_rows(sales.head(0)) == 0
    assert list_columns(sales) == ["region", "units", "price", "date", "paid"]
    summary = describe_table(sales)
    assert summary["column"].tolist() == ["region", "units", "price", "date", "paid"]
    assert summary["type"].tolist() == ["text", "number", "number", "datetime", "bool"]
    units = summary.set_index("column").loc["units"]
    assert units["values"] == 6 and units["missing"] == 0 and units["unique"] == 6
    assert units["min"] == 1 and units["max"] == 9 and units["mean"] == pytest.approx(29 / 6)
    region = summary.set_index("column").loc["region"]
    assert region["unique"] == 4 and pd.isna(region["mean"])
    with_gap = describe_table(pd.DataFrame({"x": [1.0, None, 3.0]})).iloc[0]
    assert with_gap["values"] == 2 and with_gap["missing"] == 1 and with_gap["mean"] == 2.0


# --- rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize("op,value,units", [
    (">", 4, [5, 7, 9]), (">=", 5, [5, 7, 9]), ("<", 4, [3, 1]), ("<=", 3, [3, 1]),
    ("==", 7, [7]), ("!=", 7, [3, 5, 1, 9, 4]), (">", "4", [5, 7, 9]), (">", 4.5, [5, 7, 9]),
])
def test_filter_rows_compares_numbers(sales, op, value, units):
    got = filter_rows(sales, "units", op, value)
    assert got["units"].tolist() == units
    assert got.index.tolist() == list(range(len(units)))  # a fresh index


def test_filter_rows_on_text_dates_and_bools(sales):
    assert filter_rows(sales, "region", "==", "North")["units"].tolist() == [3, 7]
    assert filter_rows(sales, "region", "contains", "OUT")["region"].tolist() == ["South", "South"]
    assert filter_rows(sales, "region", "!=", "North")["region"].tolist() == ["South", "East", "South", "West"]
    assert filter_rows(sales, "date", ">=", "2024-03-01")["units"].tolist() == [1, 9, 4]
    assert filter_rows(sales, "paid", "==", "false")["units"].tolist() == [5, 9]
    assert filter_rows(sales, "paid", "==", True)["units"].tolist() == [3, 7, 1, 4]
    codes = pd.DataFrame({"code": ["7", "8"]})
    assert filter_rows(codes, "code", "==", 7)["code"].tolist() == ["7"]  # a number for a text column


def test_a_filter_that_matches_nothing_is_an_empty_table_with_a_note(sales, tools):
    empty = tools["filter_rows"](table=sales, column="units", op=">", value=100)
    assert isinstance(empty, AgentTable) and empty.shape == (0, 5)
    assert empty.note == "No rows where units > 100; units ranges from 1 to 9."
    assert html.escape(empty.note) in empty._repr_html_() and empty.note in empty._repr_mimebundle_()["text/plain"]
    assert empty.summary().endswith(empty.note)
    text = filter_rows(sales, "region", "==", "north")
    assert "No rows where region == 'north'" in text.note
    assert "'North', 'South', 'East', 'West'" in text.note
    assert tools["count_rows"](table=empty) == 0  # "how many" questions still get an answer


def test_bad_filter_arguments(sales):
    with pytest.raises(TableError, match="`op` must be one of ==, !=, >, >=, <, <=, contains, got '=~'"):
        filter_rows(sales, "units", "=~", 3)
    with pytest.raises(TableError) as info:
        filter_rows(sales, "units", ">", "many")
    assert "'units' holds numbers; 'many' is not a number" in info.value.message
    assert "units ranges from 1 to 9" in info.value.hint
    with pytest.raises(TableError, match="holds dates; 'soon' is not a date"):
        filter_rows(sales, "date", ">", "soon")


def test_sort_select_top_and_join(sales):
    assert sort_rows(sales, "units")["units"].tolist() == [1, 3, 4, 5, 7, 9]
    assert sort_rows(sales, "units", descending=True)["units"].tolist() == [9, 7, 5, 4, 3, 1]
    assert sort_rows(sales, "region")["region"].tolist() == ["East", "North", "North", "South", "South", "West"]
    picked = select_columns(sales, ["units", "region"])
    assert picked.columns.tolist() == ["units", "region"] and len(picked) == 6
    assert select_columns(sales, "price").columns.tolist() == ["price"]
    top = top_rows(sales, "price", n=2)
    assert top["price"].tolist() == [4.0, 3.25] and top["region"].tolist() == ["East", "North"]
    assert len(top_rows(sales, "units")) == 5
    managers = pd.DataFrame({"region": ["North", "South", "Central"], "manager": ["Ada", "Bo", "Cy"]})
    joined = join_tables(sales, managers, "region")
    assert joined["manager"].tolist() == ["Ada", "Bo", "Ada", "Bo"] and "units" in joined
    both = join_tables(pd.DataFrame({"k": [1, 2], "v": [1, 2]}), pd.DataFrame({"k": [2], "v": [9]}), "k")
    assert both.columns.tolist() == ["k", "v", "v_right"] and both.iloc[0].tolist() == [2, 2, 9]


def test_group_and_aggregate_each_way(sales):
    assert group_and_aggregate(sales, "region", "units").to_dict("list") == {
        "region": ["East", "North", "South", "West"], "units": [1, 10, 14, 4]}
    assert group_and_aggregate(sales, "region", "price", "mean")["price"].tolist() == [4.0, 2.375, 1.25, 2.5]
    assert group_and_aggregate(sales, "region", "units", "count")["units"].tolist() == [1, 2, 2, 1]
    assert group_and_aggregate(sales, "region", "units", "min")["units"].tolist() == [1, 3, 5, 4]
    assert group_and_aggregate(sales, "region", "units", "MAX")["units"].tolist() == [1, 7, 9, 4]
    with pytest.raises(TableError, match="`how` must be one of 'sum', 'mean', 'count', 'min', 'max', got 'avg'"):
        group_and_aggregate(sales, "region", "units", "avg")


def test_column_value_each_way(sales):
    assert column_value(sales, "units") == 29 and isinstance(column_value(sales, "units"), int)
    assert column_value(sales, "units", "mean") == pytest.approx(29 / 6)
    assert column_value(sales, "units", "median") == 4.5
    assert column_value(sales, "price", "min") == 0.5 and column_value(sales, "price", "max") == 4.0
    assert column_value(sales, "region", "count") == 6  # counting needs no numbers
    assert column_value(pd.DataFrame({"x": [1.0, math.nan]}), "x", "count") == 1
    assert column_value(sales.head(0), "units", "count") == 0


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda s: filter_rows(s, "unit", ">", 3),
    lambda s: sort_rows(s, "unit"),
    lambda s: select_columns(s, ["region", "unit"]),
    lambda s: group_and_aggregate(s, "region", "unit"),
    lambda s: top_rows(s, "unit"),
    lambda s: column_value(s, "unit"),
    lambda s: join_tables(s, s, "unit"),
])
def test_an_unknown_column_lists_the_columns_and_the_closest(sales, call):
    with pytest.raises(UnknownColumnError) as info:
        call(sales)
    e = info.value
    assert e.message == "The table has no column 'unit'; its columns: region, units, price, date, paid."
    assert e.hint.startswith("Did you mean 'units'?") and e.closest == ["units"]
    assert isinstance(e, ToolError) and e.stage == "tool"


def test_an_unknown_column_in_the_right_table_of_a_join(sales):
    with pytest.raises(UnknownColumnError, match="its columns: name, manager"):
        join_tables(sales, pd.DataFrame({"name": ["North"], "manager": ["Ada"]}), "region")


def test_no_close_column_gives_no_guess(sales):
    with pytest.raises(UnknownColumnError) as info:
        column_value(sales, "zzz")
    assert info.value.hint == "Pass one of the columns exactly as written." and info.value.closest == []


@pytest.mark.parametrize("call", [
    lambda s: column_value(s, "region"),
    lambda s: group_and_aggregate(s, "units", "region", "sum"),
    lambda s: top_rows(s, "region"),
])
def test_a_text_column_where_a_number_is_needed(sales, call):
    with pytest.raises(ColumnTypeError) as info:
        call(sales)
    e = info.value
    assert "The column 'region' holds" in e.message and "values, not numbers" in e.message
    assert e.dtype == str(sales["region"].dtype) and e.dtype in e.message
    assert e.hint.startswith("Numeric columns: units, price.")


def test_numbers_stored_as_text_say_there_is_no_numeric_column():
    with pytest.raises(ColumnTypeError) as info:
        column_value(pd.DataFrame({"n": ["1", "2"]}), "n")
    assert info.value.hint.startswith("The table has no numeric column.")


@pytest.mark.parametrize("how", ["sum", "mean", "median", "min", "max"])
def test_an_aggregate_over_no_rows_is_an_error(sales, how):
    empty = filter_rows(sales, "units", ">", 100).to_raw()
    with pytest.raises(EmptyResultError) as info:
        column_value(empty, "units", how)
    assert info.value.message == f"The column 'units' has no values (the table has no rows), so it has no {how}."
    assert "count_rows" in info.value.hint


def test_grouping_and_ranking_no_rows_are_errors(sales):
    empty = sales.head(0)
    with pytest.raises(EmptyResultError, match="The table has no rows, so there is nothing to group"):
        group_and_aggregate(empty, "region", "units")
    with pytest.raises(EmptyResultError, match="nothing to rank"):
        top_rows(empty, "units")
    with pytest.raises(EmptyResultError, match="'x' has no values, so it has no mean"):
        column_value(pd.DataFrame({"x": [math.nan, math.nan]}), "x", "mean")


def test_bad_counts(sales):
    with pytest.raises(TableError, match="`n` must be between 1 and 10000, got 0"):
        top_rows(sales, "units", n=0)
    with pytest.raises(TableError, match="`n` must be a whole number, got 'lots'"):
        top_rows(sales, "units", n="lots")
    with pytest.raises(TableError, match="`columns` must name at least one column"):
        select_columns(sales, [])


# --- the toolbox -----------------------------------------------------------------------------


def test_the_table_tools_are_default_offline_tools_with_column_markers():
    names = [f.__name__ for f in FUNCTIONS]
    defaults = {t.name: t for t in default_tools(model_tools="none")}
    assert set(names) <= set(defaults) and set(names) <= set(offline_tool_factories())
    for name in names:
        tool = defaults[name]
        assert tool.summary.endswith(".") and len(tool.summary) < 130, tool.summary
    filt = defaults["filter_rows"]
    assert [i.type for i in filt.inputs] == ["table", "str", "str", "any"] and filt.output_type == "table"
    column, op, value = filt.inputs[1:]
    assert column.column is not None and not column.column.numeric
    assert op.choices == ("==", "!=", ">", ">=", "<", "<=", "contains") and value.value_of == "column"
    agg = defaults["group_and_aggregate"]
    assert [(i.name, bool(i.column), i.column and i.column.numeric) for i in agg.inputs[1:3]] == [
        ("by", True, False), ("column", True, True)]
    assert defaults["select_columns"].inputs[1].type == "list" and defaults["select_columns"].inputs[1].column
    assert defaults["column_value"].inputs[1].column.numeric
    assert defaults["read_table"].signature(short=True) == "read_table(path: str) -> Table"
    assert defaults["count_rows"].signature(short=True) == "count_rows(table: Table) -> int"


def test_summaries_are_distinct():
    summaries = [t.summary for t in table_tools()]
    assert len(set(summaries)) == len(summaries)


# --- an agent run through the interpreter ------------------------------------------------------


def test_an_agent_program_composes_the_table_tools(sales):
    program = (
        'north = filter_rows(table=sales, column="region", op="!=", value="East")\n'
        'totals = group_and_aggregate(table=north, by="region", column="units", how="sum")\n'
        'result = sort_rows(table=totals, column="units", descending=True)\n'
    )
    engine = ScriptedEngine([f"I will filter, group and sort.\n```py\n{program}```"])
    agent = Agent(engine)
    result = agent.run("Total units per region except East, largest first.", sales=sales)
    assert agent.last_run.error is None, agent.last_run.error
    assert isinstance(result, AgentTable)
    assert result.to_raw().to_dict("list") == {"region": ["South", "North", "West"], "units": [14, 10, 4]}


def test_an_agent_program_gets_a_number_and_a_typed_error(sales):
    engine = ScriptedEngine([
        '```py\nresult = column_value(table=sales, column="units", how="mean")\n```',
        '```py\nresult = column_value(table=sales, column="unit")\n```',
    ])
    agent = Agent(engine)
    agent.repair = False
    assert agent.run("Mean units.", sales=sales) == pytest.approx(29 / 6)
    with pytest.raises(ToolError) as info:
        agent.run("Total units.", sales=sales)
    assert "no column 'unit'" in str(info.value) and "Did you mean 'units'?" in str(info.value)
    assert agent.last_run.error.stage == "tool"
