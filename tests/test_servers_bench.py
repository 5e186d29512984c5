"""bench/servers_bench.py's summary (no model, no server): the tasks it picks, the figures and
ratios it prints from the runs, and ``make bench`` (bench/run.py) reading that table into rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import outcome_suites  # noqa: E402
import run as bench_run  # noqa: E402
import servers_bench  # noqa: E402
from outcome_checks import Mark  # noqa: E402

from nbagents import ScriptedEngine  # noqa: E402
from nbagents.engines.base import Completion  # noqa: E402
from nbagents.engines.http import IGNORED  # noqa: E402
from nbagents.runs import Run, Step  # noqa: E402


def test_the_tasks_are_spread_over_the_suite():
    suite = outcome_suites.SUITES["doable-held-out-2"].tasks
    picked = servers_bench.pick("doable-held-out-2", 4, 0)
    assert picked == [suite[i] for i in range(0, len(suite), 4)] and len(picked) == 8
    assert servers_bench.pick("doable-held-out-2", 4, 3) == picked[:3]


def run(seconds_generating: float, written: int, prompt: int, **facts) -> Run:
    return Run(prompt_tokens=prompt, completion_tokens=written, timings={"generate": seconds_generating},
               facts=facts)


def column(name: str, marks: list[Mark], runs: list[Run], tools: list[float]) -> servers_bench.Column:
    return servers_bench.Column(name, ready_s=1.5, ready_what="ready", marks=marks, runs=runs, tools=tools)


@pytest.fixture
def columns():
    local = column("in-process", [Mark(True, seconds=1.0), Mark(False, seconds=3.0)],
                   [run(0.5, 10, 1000, constrained=True), run(1.5, 30, 1000, constrained=True)], [1.0, 0.5])
    repaired = run(4.0, 60, 1200, constrained=True, structured_output="requested, followed by the server")
    repaired = repaired.with_changes(steps=(Step(index=0),), timings={"generate": 2.0, "repair": 2.0})
    llama = column("llama.cpp", [Mark(True, seconds=4.0), Mark(True, seconds=8.0)],
                   [run(2.0, 20, 1100, constrained=True), repaired], [1.0, 1.0])
    llama.completions = [Completion("{}", finish_reason="stop"), Completion("{", finish_reason="length"),
                         Completion("x", finish_reason="stop", facts={"structured_answer": "invalid"})]
    hf = servers_bench.Column("transformers", failure="Failed: transformers serve was not ready")
    return [local, llama, hf]


def test_the_summary_counts_what_the_runs_did(columns):
    local, llama, _ = columns
    s = servers_bench.summarize(llama)
    assert (s.tasks, s.right, s.tool_used, s.median_s, s.mean_s) == (2, 100.0, 100.0, 6.0, 6.0)
    assert s.prompt_tokens == 1150 and s.generate_s == 3.0 and s.written == 40
    assert s.tokens_per_s == pytest.approx(80 / 6.0)  # written tokens over generating seconds, repairs in
    assert (s.repairs, s.constrained, s.ignored, s.errors) == (1, 2, 0, 0)
    assert (s.requests, s.cut, s.unfit) == (3, 1, 1)
    ignored = column("transformers", [Mark(False)], [run(1.0, 5, 900, structured_output=IGNORED)], [0.0])
    assert servers_bench.summarize(ignored).ignored == 1 and servers_bench.summarize(ignored).constrained == 0
    assert servers_bench.summarize(local).right == 50.0


def test_the_table_gives_ratios_against_in_process_and_says_why_a_column_failed(columns):
    text = servers_bench.table(columns)
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")[1:]]
            for line in text.splitlines()[2:]}
    assert rows["right % (outcome checked)"] == ["50.0 %", "100.0 % (2.00×)", "—"]
    assert rows["latency per task, median"] == ["2.00 s", "6.00 s (3.00×)", "—"]
    assert rows["prompt tokens (first request, mean)"] == ["1000", "1150 (1.15×)", "—"]
    assert rows["runs repaired once"] == ["0", "1", "—"]  # counts get no ratio
    assert rows["answers cut at max_new_tokens"] == ["0", "1", "—"]
    assert rows["time to ready"][2].startswith("failed: Failed: transformers serve was not ready")


def test_every_answer_of_the_engine_is_kept():
    engine = ScriptedEngine(["```py\nresult = 1\n```", "```py\nresult = 2\n```"])
    kept: list = []
    servers_bench.keep_answers(engine, kept)
    engine.generate("one", max_new_tokens=8)
    engine.generate("two", max_new_tokens=8)
    assert [c.text for c in kept] == ["```py\nresult = 1\n```", "```py\nresult = 2\n```"]


def test_make_bench_reads_the_table_into_rows(columns, monkeypatch):
    printed = "SmolLM2 ...\n\n" + servers_bench.table(columns) + "\n\nper task (...):\n  ok 1.0s | ...  a task\n"
    seen = {}

    def fake_run(command, **kwargs):
        seen["command"] = command
        return subprocess.CompletedProcess(command, 0, stdout=printed, stderr="")

    monkeypatch.setattr(bench_run.subprocess, "run", fake_run)
    rows, notes = bench_run.servers_rows(SimpleNamespace(threads=1, max_new_tokens=128))
    assert seen["command"][1].endswith("servers_bench.py") and "--max-new-tokens" in seen["command"]
    by_name = {r[0]: r for r in rows}
    right = by_name["in-process vs servers: right % (outcome checked)"]
    assert right[1] == "50.0 %" and right[5] == "llama.cpp server: 100.0 % (2.00×); transformers serve: —"
    assert len(rows) == len(servers_bench.ROWS) + 1 and all(len(r) == len(bench_run.HEADER) for r in rows)
    assert notes[0] == "servers_bench.py said:"
