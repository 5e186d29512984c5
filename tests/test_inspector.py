"""The inspector, driven in Python: sections, Edit, Run (button.click()), history, no secrets."""

from __future__ import annotations

import base64
import json

import pytest

from nbagents import Agent, AgentAudio, AgentImage, ScriptedEngine
from nbagents.errors import ConfigurationError, NbAgentsError
from nbagents.history import HistoryStore
from nbagents.inspector import Inspector, render_run_html
from nbagents.redaction import register_secret


def reply(code: str, explanation: str = "I will compute it.") -> str:
    return f"{explanation}\n```py\n{code}\n```"


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def agent(engine, tmp_path) -> Agent:
    return Agent(engine=engine, store=HistoryStore(tmp_path / "h.sqlite"), repair=False)


def widget_text(inspector: Inspector) -> str:
    """Everything the widgets hold, as the saved widget state would."""
    parts = [inspector.title.value, inspector.task.value, inspector.error.value, inspector.code.value,
             inspector.status.value, json.dumps(inspector.output.outputs)]
    parts += [s.value for s in inspector._sections]
    return "\n".join(parts)


def test_sections_show_what_the_model_saw_and_wrote(agent, engine):
    engine.queue(reply("result = n * 2", "I will double it."))
    run = agent.perform("Double `n`.", {"n": 21})
    ins = Inspector(agent, run, inputs={"n": 21})
    assert "Double `n`." in ins.task.value and "n (int)" in ins.task.value
    assert "I will double it." in ins.task.value
    prompt, stop, raw, prints, steps, grammar, timings, facts, routing, approvals = (s.value for s in ins._sections)
    assert "no tool was called" in approvals  # the program called no tool: no decision
    assert "off: the model chose the tools alone" in routing  # a scripted engine is not routed
    assert "off: the model wrote freely" in grammar  # the scripted engine has no grammar support
    assert "does not take" in grammar and "program" in grammar  # it declined the program spec
    assert "Double `n`." in prompt and f"{run.prompt_tokens} tokens" in prompt
    assert "&#x27;\\nTask:&#x27;" in stop  # repr: the newline is visible
    assert "result = n * 2" in raw
    assert "nothing printed" in prints
    assert "one step" in steps
    assert "generate" in timings and "prompt tokens" in timings
    assert "fake:" in facts and "scripted" in facts
    assert ins.code.value == "result = n * 2"
    assert ins.code.disabled and not ins.edit_toggle.value
    assert ins.output.outputs[-1]["data"]["text/plain"] == "42"
    assert ins.error.value == ""
    assert ins.details.titles[0] == "Prompt"


def test_grammar_section_names_the_constraint_used(tmp_path):
    engine = ScriptedEngine(accepts={"program"})
    agent = Agent(engine=engine, store=HistoryStore(tmp_path / "h.sqlite"), repair=False)
    engine.queue(reply("result = n * 2"))
    run = agent.perform("Double `n`.", {"n": 21})
    grammar = Inspector(agent, run)._sections[5].value
    assert "<b>constrained</b></td><td>on" in grammar and "<b>constraint</b></td><td>program" in grammar
    assert "wrote freely" not in grammar and "does not take" not in grammar
    # an HTTP engine's structured output names its schema
    schema_run = run.with_changes(facts={**run.facts, "constraint": "json_schema", "json_schema_name": "plan"})
    grammar = Inspector(agent, schema_run)._sections[5].value
    assert "<b>constraint</b></td><td>json_schema" in grammar and "<b>json_schema_name</b></td><td>plan" in grammar


def test_edit_and_run_makes_a_child_run(agent, engine):
    engine.queue(reply("result = n * 2"))
    run = agent.perform("Double `n`.", {"n": 21})
    results = []
    ins = Inspector(agent, run, inputs={"n": 21}, on_result=results.append)
    ins.edit_toggle.value = True
    assert not ins.code.disabled
    ins.code.value = "print('tripling')\nresult = n * 3"
    ins.run_button.click()
    new = ins.last_run
    assert new.ok and new.result == 63 and new.kind == "execute"
    assert new.parent == run.id and new.task == run.task and new.inputs == {"n": "int"}
    assert agent.history[-1] is new and results == [new]
    outs = ins.output.outputs
    assert outs[0] == {"output_type": "stream", "name": "stdout", "text": "tripling\n"}
    assert outs[1]["data"]["text/plain"] == "63"
    assert "✓ run " + new.id[:8] in ins.status.value
    assert not ins.run_button.disabled
    stored = agent.store.get(new.id)
    assert stored.parent == run.id and stored.code == "print('tripling')\nresult = n * 3"
    assert agent.store.children(run.id) == [new.id]
    ins.edit_toggle.value = False
    assert ins.code.disabled


def test_run_button_is_disabled_while_running_and_reenabled_after_errors(agent, engine, monkeypatch):
    engine.queue(reply("result = 1"))
    run = agent.perform("One.")
    ins = Inspector(agent, run)
    seen = []

    def failing_execute(code, **kwargs):
        seen.append(ins.run_button.disabled)
        raise ConfigurationError("Bad input name.", hint="Rename it.")

    monkeypatch.setattr(agent, "execute", failing_execute)
    ins.run_button.click()
    assert seen == [True] and not ins.run_button.disabled
    text = ins.output.outputs[-1]["data"]["text/plain"]
    assert "Bad input name." in text and "Rename it." in text

    def crashing_execute(code, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(agent, "execute", crashing_execute)
    ins.run_button.click()  # ipywidgets shows a handler's traceback; the button must come back
    assert not ins.run_button.disabled


def test_edited_code_that_fails_shows_the_error(agent, engine):
    engine.queue(reply("result = 1"))
    ins = Inspector(agent, agent.perform("One."))
    ins.code.value = "result = 1 / 0"
    ins.run_button.click()
    assert not ins.last_run.ok
    text = ins.output.outputs[-1]["data"]["text/plain"]
    assert "interpreter stage" in text and "ZeroDivisionError" in text
    assert "✗" in ins.status.value


def test_image_and_audio_results_render_through_their_mime_bundles(agent, engine):
    from PIL import Image

    engine.queue(reply("result = img"))
    img = Image.new("RGB", (8, 6), "navy")
    run = agent.perform("Return `img`.", {"img": img})
    ins = Inspector(agent, run, inputs={"img": img})
    data = ins.output.outputs[-1]["data"]
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG")
    json.dumps(ins.output.outputs)  # widget state must be JSON

    sound = AgentAudio([0.0, 0.5, -0.5, 0.0] * 100, samplerate=8000)
    ins.code.value = "result = sound"
    ins.input_values[run.id] = {"sound": sound}
    ins.run_button.click()
    assert isinstance(ins.last_run.result, AgentAudio)
    assert "<audio" in ins.output.outputs[-1]["data"]["text/html"]
    assert isinstance(run.result, AgentImage)


def test_inputs_come_from_the_namespace_when_not_remembered(agent, engine):
    engine.queue(reply("result = x + 1"))
    run = agent.perform("Add one to `x`.", {"x": 1})
    ins = Inspector(agent, run, namespace={"x": 10})
    ins.run_button.click()
    assert ins.last_run.result == 11
    ins2 = Inspector(agent, run, namespace={})
    ins2.run_button.click()
    assert "inputs not found: x" in ins2.status.value
    assert not ins2.last_run.ok


def test_previous_and_next_walk_the_history(agent, engine):
    engine.queue(reply("result = 1"), reply("result = 2"), reply("result = 3"))
    runs = [agent.perform(f"Task {i}") for i in range(3)]
    ins = Inspector(agent, runs[1])
    assert not ins.prev_button.disabled and not ins.next_button.disabled
    ins.prev_button.click()
    assert ins.run.id == runs[0].id and ins.prev_button.disabled
    assert ins.code.value == "result = 1"
    ins.next_button.click()
    ins.next_button.click()
    assert ins.run.id == runs[2].id and ins.next_button.disabled
    assert ins.run is runs[2]  # the live record, with its real result
    ins.run_button.click()  # a new run joins the history
    assert not ins.next_button.disabled
    ins.next_button.click()
    assert ins.run.id == ins.last_run.id and ins.run.kind == "execute"


def test_walks_runs_of_earlier_sessions_from_the_database(agent, engine, tmp_path):
    engine.queue(reply("result = 'old'"))
    old = agent.perform("An old task")
    later = Agent(engine=ScriptedEngine([reply("result = 'new'")]), store=HistoryStore(agent.store.path))
    new = later.perform("A new task")
    ins = Inspector(later, new)
    ins.prev_button.click()
    assert ins.run.id == old.id and ins.run.task == "An old task"
    assert ins.output.outputs[-1]["data"]["text/plain"] == "old"  # the stored summary


def test_without_a_store_it_walks_the_agent_history(engine):
    agent = Agent(engine=engine, repair=False)
    engine.queue(reply("result = 1"), reply("result = 2"))
    a, b = agent.perform("A"), agent.perform("B")
    ins = Inspector(agent)
    assert ins.run is b
    ins.prev_button.click()
    assert ins.run is a and ins.prev_button.disabled


def test_failed_run_shows_stage_message_and_hint(agent, engine):
    engine.queue("I do not know.")
    run = agent.perform("Something.")
    ins = Inspector(agent, run, editing=True)
    assert "parse stage" in ins.error.value and "ParseError" in ins.error.value
    assert "What to do" in ins.error.value
    assert ins.edit_toggle.value and not ins.code.disabled
    ins.code.value = "result = 'written by hand'"
    ins.run_button.click()
    assert ins.last_run.result == "written by hand"


def test_chat_runs_rerun_in_the_chat_state(agent, engine):
    engine.queue(reply("total = 5\nresult = total"))
    run = agent.perform("Set total.", chat=True)
    ins = Inspector(agent, run)
    ins.code.value = "total = total + 1\nresult = total"
    ins.run_button.click()
    assert ins.last_run.result == 6 and agent.chat_state["total"] == 6


def test_no_secret_is_shown(agent, engine):
    secret = "sk-" + "s3cret" * 4
    register_secret(secret)
    engine.queue(reply(f"key = '{secret}'\nresult = 'done'"))
    run = agent.perform(f"Use the key {secret}.")
    ins = Inspector(agent, run)
    everything = widget_text(ins) + render_run_html(run) + json.dumps(ins._repr_mimebundle_())
    assert secret not in everything
    assert "[REDACTED]" in ins.code.value


def test_static_fallback_and_short_repr(agent, engine):
    engine.queue(reply("result = 'x'"))
    run = agent.perform("A task with a long prompt behind it.")
    ins = Inspector(agent, run)
    bundle = ins._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ins.model_id
    assert "nbagents-inspector" in bundle["text/html"] and "<details>" in bundle["text/html"]
    assert run.prompt.splitlines()[0] in bundle["text/html"].replace("&#x27;", "'")
    assert repr(ins).startswith("<Inspector run ") and len(bundle["text/plain"]) < 120
    assert "nbagents-inspector" in ins._dom_classes


def test_nothing_to_inspect(engine):
    with pytest.raises(NbAgentsError, match="no run"):
        Inspector(Agent(engine=engine), None)


def test_earlier_steps_show_the_first_try(engine, tmp_path):
    agent = Agent(engine=engine, store=HistoryStore(tmp_path / "h.sqlite"))  # repair on
    engine.queue(reply("import os\nresult = os.getcwd()"), reply("result = 'second try'"))
    run = agent.perform("Where am I?")
    assert run.ok and run.result == "second try"
    steps = Inspector(agent, run)._sections[4].value
    assert "Step 1" in steps and "import os" in steps and "RefusedConstructError" in steps


def test_placeholders_when_there_is_no_result(agent, engine):
    engine.queue(reply("print('only printing')"), reply("result = 2"))
    nothing = Inspector(agent, agent.perform("Nothing."))
    assert nothing.output.outputs[0]["text"] == "only printing\n"
    assert "no result" in nothing.output.outputs[-1]["data"]["text/plain"]
    review = Inspector(agent, agent.perform("Later.", execute=False), editing=True)
    assert review.output.outputs[-1]["data"]["text/plain"] == "(not run yet: click Run)"
    review.run_button.click()
    assert review.output.outputs[-1]["data"]["text/plain"] == "2"
