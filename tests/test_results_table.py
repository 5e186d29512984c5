"""AgentTable: what it accepts, how it renders (shape, head and tail, escaping), its CSV, wrap and
unwrap; a DataFrame as an agent input and a table as its result (Agent.run, the magics in IPython
and a real kernel, the CLI)."""

from __future__ import annotations

import html
import re

import nbformat
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from nbclient import NotebookClient

from nbagents import Agent, ScriptedEngine
from nbagents.cli import main
from nbagents.errors import TableFileError, ToolError
from nbagents.magics import get_agent
from nbagents.results import AgentTable, AgentText, output_dir, unwrap, wrap


def reply(code: str) -> str:
    return f"I will do it.\n```py\n{code}\n```"


@pytest.fixture
def outputs_here(tmp_path, monkeypatch):
    monkeypatch.setenv("NBAGENTS_OUTPUT_DIR", str(tmp_path / "out"))
    return tmp_path / "out"


@pytest.fixture
def sales():
    return pd.DataFrame({"region": ["North", "South", "North", "East"], "units": [3, 5, 7, 1],
                         "price": [1.5, 2.0, 3.25, 4.0]})


def test_accepts_frames_series_rows_columns_and_one_row(sales):
    assert AgentTable(sales).to_raw() is sales
    series = AgentTable(pd.Series([1, 2, 3], name="n"))
    assert series.columns == ["n"] and series.shape == (3, 1)
    assert AgentTable(pd.Series([1, 2])).columns == ["value"]
    rows = AgentTable([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert rows.shape == (2, 2) and rows.to_raw()["b"].tolist() == ["x", "y"]
    assert AgentTable({"a": [1, 2, 3], "b": [4, 5, 6]}).shape == (3, 2)
    assert AgentTable({"a": 1, "b": "x"}).shape == (1, 2)  # a dict of scalars is one row
    assert AgentTable(AgentTable(sales, note="n")).note == "n"
    with pytest.raises(ToolError, match="Cannot make a table from a int"):
        AgentTable(3)


def test_short_table_renders_whole_with_its_shape(sales):
    bundle = AgentTable(sales)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    page = bundle["text/html"]
    assert page.count("<tr") == 5  # the header and four rows
    assert "4 rows × 3 columns" in page and "North" in page and "3.25" in page
    assert "<th>region</th>" in page
    plain = bundle["text/plain"]
    assert "[4 rows × 3 columns]" in plain and "South" in plain and "East" in plain


def test_long_table_shows_head_and_tail():
    frame = pd.DataFrame({"n": [f"row{i}" for i in range(100)]})
    table = AgentTable(frame)
    page = table._repr_html_()
    shown = re.findall(r"row\d+", page)
    assert shown == [f"row{i}" for i in (*range(5), *range(95, 100))]
    assert "100 rows × 1 column; the first and last 5 rows shown" in page
    assert "<td>...</td>" in page
    plain = table._repr_mimebundle_()["text/plain"]
    assert re.findall(r"row\d+", plain) == shown
    # exactly SHOW_ROWS rows still show whole
    assert len(re.findall(r"row\d+", AgentTable(frame.head(20))._repr_html_())) == 20


def test_cells_and_column_names_are_escaped():
    frame = pd.DataFrame({"<b>name</b>": ["<script>alert(1)</script>", "a & b"]})
    page = AgentTable(frame, note="<i>note</i>")._repr_html_()
    assert "<script>" not in page and "<b>name</b>" not in page and "<i>note</i>" not in page
    assert html.escape("<script>alert(1)</script>") in page and "a &amp; b" in page
    assert "&lt;i&gt;note&lt;/i&gt;" in page


def test_summary_repr_and_a_shown_index():
    frame = pd.DataFrame({"units": [1, 2]}, index=pd.Index(["a", "b"], name="region"))
    table = AgentTable(frame)
    assert table.summary() == "table 2 rows × 1 column (units)"
    assert repr(table) == "<AgentTable table 2 rows × 1 column (units)>"
    assert "region" in table._repr_html_()  # a meaningful index is shown
    assert ">0<" not in AgentTable(pd.DataFrame({"a": ["x"]}))._repr_html_().replace("<td>x</td>", "")


def test_to_string_writes_a_csv_that_reads_back_equal(sales, outputs_here):
    table = AgentTable(sales)
    path = table.to_string()
    assert path.endswith(".csv") and str(outputs_here) in path
    assert pd.read_csv(path).equals(sales)
    assert table.to_string() == path  # written once
    indexed = pd.DataFrame({"units": [1, 2]}, index=pd.Index(["a", "b"], name="region"))
    back = pd.read_csv(AgentTable(indexed).to_string(), index_col="region")
    assert back.equals(indexed)


def test_from_file_reads_each_format_and_reports_what_is_not_a_table(sales, tmp_path):
    sales.to_csv(tmp_path / "s.csv", index=False)
    sales.to_csv(tmp_path / "s.tsv", index=False, sep="\t")
    sales.to_parquet(tmp_path / "s.parquet")
    sales.to_excel(tmp_path / "s.xlsx", index=False)
    sales.to_json(tmp_path / "s.json", orient="records")
    for name in ("s.csv", "s.tsv", "s.parquet", "s.xlsx", "s.json"):
        assert AgentTable.from_file(tmp_path / name).to_raw().equals(sales), name
    assert AgentTable(str(tmp_path / "s.csv")).to_raw().equals(sales)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(TableFileError, match="'bad.parquet' is not a table pandas can read"):
        AgentTable.from_file(tmp_path / "bad.parquet")
    with pytest.raises(TableFileError, match="No table file"):
        AgentTable.from_file(tmp_path / "none.csv")


def test_wrap_and_unwrap(sales):
    assert isinstance(wrap(sales), AgentTable) and isinstance(wrap(sales["units"]), AgentTable)
    assert isinstance(wrap([{"a": 1}], "table"), AgentTable)
    table = AgentTable(sales)
    assert wrap(table) is table and unwrap(table) is sales
    assert unwrap([table])[0] is sales
    assert table == AgentTable(sales.copy()) and table != AgentTable(sales.head(2))


def test_a_dataframe_input_and_a_table_result_through_agent_run(sales):
    engine = ScriptedEngine([reply('result = sort_rows(table=sales, column="units", descending=True)')])
    agent = Agent(engine)
    result = agent.run("Sort `sales` by units, largest first.", sales=sales)
    assert isinstance(result, AgentTable)
    assert result.to_raw()["units"].tolist() == [7, 5, 3, 1]
    assert agent.last_run.inputs == {"sales": "table 4 rows × 3 columns (region, units, price)"}
    assert "sales (Table: 4 rows" in engine.last_call.prompt_text


# --- the magics in IPython -------------------------------------------------------------------


@pytest.fixture
def shell(monkeypatch):
    from IPython.core.displaypub import CapturingDisplayPublisher

    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("nbagents")
    magics = ip.magics_manager.registry["AgentMagics"]
    magics.reset()
    monkeypatch.setattr(ip, "display_pub", CapturingDisplayPublisher())
    before = set(ip.user_ns)
    yield ip
    for name in set(ip.user_ns) - before:
        del ip.user_ns[name]
    magics.reset()


def test_magics_pass_a_dataframe_by_backticks_and_dash_i_and_keep_the_table(shell, sales):
    engine = ScriptedEngine([reply('result = filter_rows(table=sales, column="region", op="==", value="North")'),
                             reply('result = top_rows(table=df, column="units", n=1)')])
    agent = get_agent(shell)
    agent.engine, agent.repair = engine, False
    shell.user_ns.update(sales=sales, df=sales)
    r = shell.run_cell("%%agent -o north\nThe rows of `sales` in the North.", store_history=True)
    assert isinstance(r.result, AgentTable) and r.result.to_raw()["units"].tolist() == [3, 7]
    assert shell.user_ns["north"] is r.result and shell.user_ns["_"] is r.result
    assert shell.user_ns["Out"][r.execution_count] is r.result
    assert agent.last_run.inputs["sales"].startswith("table 4 rows")
    r = shell.run_cell("%%agent -i df\nThe best row.")
    assert r.result.to_raw()["units"].tolist() == [7]


# --- a real kernel ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_dataframe_cell_shows_a_table_in_a_kernel(tmp_path):
    code = 'result = filter_rows(table=sales, column="units", op=">", value=2)'
    cells = [
        "%load_ext nbagents",
        "import pandas as pd\nfrom nbagents import ScriptedEngine\nfrom nbagents.magics import get_agent\n"
        f"get_agent().engine = ScriptedEngine([{reply(code)!r}])\n"
        "sales = pd.DataFrame({'region': ['North', 'South', 'East'], 'units': [3, 5, 1]})",
        "%%agent -o big\nThe rows of `sales` with more than 2 units.",
        "type(big).__name__, big.to_raw()['region'].tolist()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    [result] = [o for o in nb.cells[2].outputs if o.output_type == "execute_result"]
    assert "<table" in result["data"]["text/html"] and "2 rows × 2 columns" in result["data"]["text/html"]
    assert "North" in result["data"]["text/plain"] and "East" not in result["data"]["text/plain"]
    [check] = [o for o in nb.cells[3].outputs if o.output_type == "execute_result"]
    assert check["data"]["text/plain"] == "('AgentTable', ['North', 'South'])"


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_reads_a_csv_input_and_saves_a_table_result(sales, tmp_path, capsys, outputs_here, monkeypatch):
    sales.to_csv(tmp_path / "sales.csv", index=False)
    replies = tmp_path / "replies.txt"
    replies.write_text(reply('result = filter_rows(table=data, column="units", op=">=", value=5)'))
    monkeypatch.chdir(tmp_path)
    code = main(["run", "Rows with at least 5 units.", "-e", f"fake:{replies}", "--input", "data=sales.csv",
                 "-o", str(tmp_path / "saved")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "table 2 rows × 3 columns" in out.out
    saved = list((tmp_path / "saved").glob("*.csv"))
    assert len(saved) == 1 and pd.read_csv(saved[0])["units"].tolist() == [5, 7]
    assert str(output_dir()).startswith(str(outputs_here))
    assert isinstance(AgentText("x"), AgentText)
