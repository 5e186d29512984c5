"""The table suites of bench/table_suites.py judge outcomes correctly (no model).

Each task's reference program runs end to end through an ``Agent`` over a ``ScriptedEngine`` on
the real default toolbox (the table and chart tools), in a fresh folder with its inputs, and the
check must accept the result; a wrong outcome (the input table handed back unchanged, a number
10 % off) must be rejected, so no check passes everything.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from outcome_checks import in_folder  # noqa: E402
from table_suites import TABLE_SUITES, build_tables  # noqa: E402

from nbagents import Agent, ScriptedEngine  # noqa: E402
from nbagents.results import AgentTable  # noqa: E402

TASKS = [t for tasks in TABLE_SUITES.values() for t in tasks]


def _run(task, code: str, folder: Path):
    tables, inputs = build_tables(str(folder), task.inputs)
    agent = Agent(ScriptedEngine([f"```py\n{code}\n```"]), route=False)
    with in_folder(str(folder)):
        run = agent.perform(task.text, inputs)
    return run, tables, inputs


@pytest.mark.parametrize("task", TASKS, ids=[t.text[:60] for t in TASKS])
def test_reference_program_passes_its_check(task, tmp_path):
    run, tables, _ = _run(task, task.reference, tmp_path)
    assert run.error is None, (run.error, task.reference)
    assert task.check(run.result, tables) is None, (task.check(run.result, tables), task.reference)


@pytest.mark.parametrize("task", TASKS, ids=[t.text[:60] for t in TASKS])
def test_a_wrong_outcome_fails_the_check(task, tmp_path):
    run, tables, _ = _run(task, task.reference, tmp_path)
    right = run.result
    wrong = []
    frames = [tables[name] for name in task.inputs if name in tables.frames]
    if isinstance(right, AgentTable) and frames:
        wrong.append(AgentTable(frames[0]))  # the input handed back unchanged
    raw = right.to_raw() if hasattr(right, "to_raw") else right
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        wrong.append(raw * 1.1 + 1)  # past the checks' 1 % tolerance
    wrong.append("I could not do it.")
    for value in wrong:
        assert task.check(value, tables) is not None, (task.text, value)
