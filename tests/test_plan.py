"""Plan mode: task graphs validated, run with independent tasks in parallel, reported clearly."""

import json
import threading
import time

import pytest
from PIL import Image

from nbagents import Agent, AgentImage, ScriptedEngine, tool
from nbagents.errors import PlanError, ToolError
from nbagents.interpreter import Interpreter
from nbagents.modes.taskgraph import parse_plan, run_plan, validate_plan
from nbagents.results import AgentGroup

_events = []
_lock = threading.Lock()


def _log(name, what):
    with _lock:
        _events.append((name, what, time.perf_counter()))


@tool
def fetch(text: str) -> str:
    """Return `text`."""
    _log("fetch", "start")
    _log("fetch", "end")
    return text


@tool
def slow_upper(text: str) -> str:
    """Upper-case `text`, slowly."""
    _log("upper", "start")
    time.sleep(0.3)
    _log("upper", "end")
    return text.upper()


@tool
def slow_reverse(text: str) -> str:
    """Reverse `text`, slowly."""
    _log("reverse", "start")
    time.sleep(0.3)
    _log("reverse", "end")
    return text[::-1]


@tool
def join(first: str, second: str) -> str:
    """Join two texts."""
    return f"{first}+{second}"


@tool
def square(size: int) -> Image.Image:
    """A red square."""
    return Image.new("RGB", (size, size), "red")


@tool
def broken(text: str) -> str:
    """Always fails."""
    raise ValueError("broken on purpose")


TOOLS = [fetch, slow_upper, slow_reverse, join, square, broken]

DIAMOND = [
    {"task": "fetch", "id": 0, "dep": [-1], "args": {"text": "<INPUT>-word"}},
    {"task": "slow_upper", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}},
    {"task": "slow_reverse", "id": 2, "dep": [0], "args": {"text": "<GENERATED>-0"}},
    {"task": "join", "id": 3, "dep": [1, 2], "args": {"first": "<GENERATED>-1", "second": "<GENERATED>-2"}},
]


def agent_with(*replies):
    engine = ScriptedEngine(replies)
    return Agent(engine, tools=TOOLS, add_default_tools=False, mode="plan"), engine


def test_diamond_runs_middle_tasks_in_parallel_and_responds():
    _events.clear()
    agent, engine = agent_with("```json\n" + json.dumps(DIAMOND) + "\n```", "The answer is ABC+cba.")
    out = agent.run("Combine the word both ways", word="abc")
    assert out == "The answer is ABC+cba."
    run = agent.last_run
    assert run.kind == "plan" and run.ok
    assert [s.observation for s in run.steps] == ["abc", "ABC", "cba", "ABC+cba"]
    t = {(n, w): ts for n, w, ts in _events}
    # the two middle tasks overlap in time: each starts before the other ends
    assert t[("upper", "start")] < t[("reverse", "end")] and t[("reverse", "start")] < t[("upper", "end")]
    assert t[("fetch", "end")] <= min(t[("upper", "start")], t[("reverse", "start")])
    response_prompt = engine.last_call.prompt_text
    assert "step 3 (join): ABC+cba" in response_prompt
    assert json.loads(run.code)[3]["dep"] == [1, 2]
    assert run.timings["execute"] < 0.55  # sequential would take 0.6 s; checked with margin in the overlap above


def test_media_results_are_referenced_and_rendered():
    plan = [{"task": "square", "id": 0, "dep": [], "args": {"size": 4}}]
    agent, _ = agent_with(json.dumps(plan), "Here is the square.")
    out = agent.run("make a square")
    assert isinstance(out, AgentGroup)
    assert out[0] == "Here is the square." and isinstance(out[1], AgentImage)
    html = out._repr_mimebundle_()["text/html"]
    assert "<img src=\"data:image/png;base64," in html and "Here is the square." in html


@pytest.mark.parametrize("plan, message", [
    ([{"task": "fetch", "id": 0, "dep": [1], "args": {"text": "a"}},
      {"task": "fetch", "id": 1, "dep": [0], "args": {"text": "b"}}], "cycle: 0 -> 1 -> 0"),
    ([{"task": "fetcher", "id": 0, "args": {"text": "a"}}], "'fetcher' is not a tool"),
    ([{"task": "fetch", "id": 0, "args": {"text": "<GENERATED>-7"}}], "refers to task 7"),
    ([{"task": "fetch", "id": 0, "args": {"txt": "a"}}], "has no argument 'txt'"),
    ([{"task": "join", "id": 0, "args": {"first": "a"}}], "needs the argument 'second'"),
    ([{"task": "fetch", "id": 0, "args": {"text": "<INPUT>-missing"}}], "input 'missing'"),
    ([{"task": "fetch", "id": 0, "args": {}}, {"task": "fetch", "id": 0, "args": {}}], "more than once"),
])
def test_invalid_plans_are_rejected_clearly(plan, message):
    agent, _ = agent_with(json.dumps(plan))
    with pytest.raises(PlanError, match=message):
        agent.run("x")
    assert agent.last_run.error.stage == "plan"


def test_unknown_tool_error_lists_closest():
    with pytest.raises(PlanError) as info:
        validate_plan(parse_plan('[{"task": "fetcher", "id": 0, "args": {}}]'), {t.name: t for t in TOOLS}, {})
    assert "Closest tools: fetch" in str(info.value)


def test_not_json_is_a_plan_error_with_output():
    agent, _ = agent_with("I would fetch then join.")
    with pytest.raises(PlanError, match="no JSON list"):
        agent.run("x")


def test_failed_task_reports_its_dependents():
    plan = [{"task": "broken", "id": 0, "args": {"text": "a"}},
            {"task": "fetch", "id": 1, "args": {"text": "<GENERATED>-0"}},
            {"task": "join", "id": 2, "args": {"first": "<GENERATED>-1", "second": "x"}},
            {"task": "fetch", "id": 3, "args": {"text": "independent"}}]
    agent, _ = agent_with(json.dumps(plan))
    with pytest.raises(ToolError) as info:
        agent.run("x")
    msg = str(info.value)
    assert "Task 0 (broken) failed" in msg and "broken on purpose" in msg
    assert "skipped because of it: 1, 2" in msg
    statuses = {s.index: s.observation for s in agent.last_run.steps}
    assert statuses == {0: "failed", 1: "skipped", 2: "skipped", 3: "independent"}


def test_review_mode_edit_then_execute_plan():
    agent, engine = agent_with(json.dumps(DIAMOND), "Edited result: ABC.")
    run = agent.generate_code("Combine", word="abc")
    assert run.kind == "plan" and run.ok and run.result is None and "execute" not in run.timings
    edited = json.loads(run.code)[:2]  # keep fetch and upper only
    new = agent.execute_plan(json.dumps(edited), task="Combine", parent=run.id, word="abc")
    assert new.ok and new.parent == run.id and new.result == "Edited result: ABC."
    assert [s.observation for s in new.steps] == ["abc", "ABC"]
    bad = agent.execute_plan('[{"task": "nope", "id": 0, "args": {}}]', word="abc")
    assert bad.error.type == "PlanError"


def test_non_thread_safe_tools_do_not_overlap():
    active = []
    peak = []

    @tool(thread_safe=False)
    def exclusive(n: int) -> int:
        """Not thread-safe."""
        active.append(n)
        peak.append(len(active))
        time.sleep(0.05)
        active.remove(n)
        return n

    tasks = validate_plan(parse_plan(json.dumps([{"task": "exclusive", "id": i, "args": {"n": i}} for i in range(4)])),
                          {"exclusive": exclusive}, {})
    interpreter = Interpreter()
    outcomes = run_plan(tasks, {"exclusive": exclusive}, {},
                        caller=lambda name, t, kwargs: interpreter.call_tool(name, t, kwargs).value)
    assert [o.result for o in outcomes] == [0, 1, 2, 3]
    assert max(peak) == 1


@pytest.mark.slow
def test_plans_decoded_under_the_plan_grammar_always_validate(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_models import save_tiny_chat_model

    from nbagents.engines.local import TransformersEngine

    engine = TransformersEngine(str(save_tiny_chat_model(tmp_path / "chat", max_position_embeddings=1024)),
                                num_threads=1)
    tools = [fetch, join, square]
    agent = Agent(engine, tools=tools, add_default_tools=False, repair=False, max_new_tokens=400)
    for task, inputs in (("Fetch the text, then join it with itself.", {"text": "hi"}),
                         ("Make a red square of 8 pixels.", {}),
                         ("Join the two texts.", {"a": "x", "b": "y"})):
        run = agent.perform(task, inputs, mode="plan")
        assert run.facts["constrained"] is True and run.facts.get("grammar_name") == "plan", run.facts
        assert run.error is None or run.error.stage == "tool", run.error  # the plan is always valid
        tasks = validate_plan(parse_plan(run.code), {t.name: t for t in tools}, inputs)
        read = json.dumps([t.args for t in tasks])
        for name in inputs:  # every input is used
            assert f"<INPUT>-{name}" in read, run.code
        if task.startswith("Fetch the text, then join"):  # the task names both tools, in this order
            from nbagents.relevance import NEXT_TOOL_NATS

            first = run.facts["choices"][0]
            assert first["prior"]['fetch",'] >= NEXT_TOOL_NATS, first  # the first named comes first
            assert {"fetch", "join"} <= {t.task for t in tasks}, run.code  # and the plan has both
