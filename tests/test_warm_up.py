"""Warming the agent up before the first task: ``Agent.warm_up`` and the background warm-up that
``%load_ext nbagents`` starts (issue 19), in process and in a real kernel."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from nbagents import Agent, ScriptedEngine

pytestmark = pytest.mark.slow


def test_warm_up_keeps_the_prompt_prefix_for_the_first_task():
    agent = Agent()  # the embedded model
    seconds = agent.warm_up()
    assert set(seconds) == {"engine", "route", "prefill"}
    assert agent.engine.loaded
    run = agent.perform("Make a 440 Hz tone of one second.")
    assert run.error is None, run.error
    # the first real prompt ran only its own task's tokens: the instructions, tools and examples
    # came from the warm-up's kept cache
    cached, total = run.facts["cached_prefix_tokens"], run.facts["prompt_tokens"]
    assert cached > 0.9 * total, (cached, total)
    assert len(agent.history) == 1  # the warm-up is not a run


def test_warm_up_on_a_server_engine_sends_nothing():
    engine = ScriptedEngine([])  # any request would fail: nothing is queued
    agent = Agent(engine=engine)
    seconds = agent.warm_up()
    assert "prefill" not in seconds
    assert agent.history == []


def _kernel(tmp_path, monkeypatch, cells: list[str], *, warm: str) -> nbformat.NotebookNode:
    monkeypatch.setenv("NBAGENTS_WARM_UP", warm)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


PROBE = """
import json
from nbagents.magics import get_agent
magics = get_ipython().magics_manager.registry["AgentMagics"]
thread = magics.warm_up_thread
if thread is not None:
    thread.join(240)
engine = get_agent().created_engine
print(json.dumps({"thread": thread is not None, "alive": thread is not None and thread.is_alive(),
                  "loaded": bool(engine is not None and engine.loaded)}))
"""


def test_load_ext_warms_the_kernel_up_in_the_background(tmp_path, monkeypatch):
    nb = _kernel(tmp_path, monkeypatch, [
        "%load_ext nbagents",
        PROBE,
        "%%agent\nMake a 440 Hz tone of one second.",
        "import json\nr = get_agent().last_run\n"
        "print(json.dumps({'error': r.error is not None, 'cached': r.facts['cached_prefix_tokens'], "
        "'total': r.facts['prompt_tokens'], 'runs': len(get_agent().history)}))",
    ], warm="1")
    probe = json.loads(_stdout(nb.cells[1]).strip().splitlines()[-1])
    assert probe == {"thread": True, "alive": False, "loaded": True}
    facts = json.loads(_stdout(nb.cells[3]).strip().splitlines()[-1])
    assert not facts["error"] and facts["runs"] == 1
    assert facts["cached"] > 0.9 * facts["total"], facts


def test_no_warm_up_when_turned_off_or_for_a_server(tmp_path, monkeypatch):
    nb = _kernel(tmp_path, monkeypatch, ["%load_ext nbagents", PROBE], warm="0")
    assert json.loads(_stdout(nb.cells[1]).strip().splitlines()[-1]) == {"thread": False, "alive": False,
                                                                         "loaded": False}
    monkeypatch.setenv("NBAGENTS_WARM_UP", "1")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [
        "get_ipython().config.AgentMagics.default_engine = 'openai:some-model@http://127.0.0.1:9/v1'",
        "%load_ext nbagents", PROBE]])
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert json.loads(_stdout(nb.cells[2]).strip().splitlines()[-1]) == {"thread": False, "alive": False,
                                                                         "loaded": False}


def test_nbagents_prepare_does_the_one_time_work(capsys):
    from nbagents.cli import main
    from nbagents.embeddings import default_encoder

    assert main(["prepare"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("nbagents: ready (model converted and loaded in ")
    assert default_encoder().loaded  # the tool router's encoder ran (its vectors are on disk)


def test_the_prompt_prefix_is_stored_between_engines_and_gives_the_same_answer(tmp_path):
    from tiny_models import save_tiny_chat_model

    from nbagents.engines.local import TransformersEngine

    folder = save_tiny_chat_model(tmp_path / "tiny")
    messages = [{"role": "system", "content": "You write short programs. " * 8},
                {"role": "user", "content": "Task: add two numbers."}]

    def engine():
        e = TransformersEngine(str(folder), num_threads=1)
        e.prefix_store = tmp_path / "prefixes"
        return e

    first = engine()
    assert first.warm_up(messages)["prefix"] == "computed"
    assert len(list((tmp_path / "prefixes").glob("*.safetensors"))) == 1
    a = first.generate(messages, max_new_tokens=8)
    second = engine()  # a new kernel's engine: the prefix comes from the file
    assert second.warm_up(messages)["prefix"] == "stored"
    b = second.generate(messages, max_new_tokens=8)
    assert b.facts["cached_prefix_tokens"] == a.facts["cached_prefix_tokens"] > 0
    assert a.text == b.text
    # another prompt (another toolbox) is another file; the first is not read for it
    other = [messages[0] | {"content": "Something else entirely. " * 8}, messages[1]]
    assert engine().warm_up(other)["prefix"] == "computed"
    assert len(list((tmp_path / "prefixes").glob("*.safetensors"))) == 2
    # a damaged file is not an error: the prompt runs again
    for f in (tmp_path / "prefixes").glob("*.safetensors"):
        f.write_bytes(b"not a safetensors file")
    assert engine().warm_up(messages)["prefix"] == "computed"
