"""Which tools a task needs, and the honest "no tool can do that" (nbagents.routing), on the real
default toolbox, the real catalogue of tools that are not ready and the packaged embedding model."""

import pytest

from nbagents import Agent, NoToolError, ScriptedEngine
from nbagents.routing import route, route_task
from nbagents.tools.catalogue import catalogue
from nbagents.tools.defaults import default_tools

embeddings = pytest.importorskip("nbagents.embeddings")
if not embeddings.available():  # pragma: no cover - make test installs it
    pytest.skip("the packaged sentence-embedding model is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def toolbox():
    return {t.name: t for t in default_tools(model_tools="none")}


@pytest.fixture(scope="module")
def encoder():
    return embeddings.default_encoder()


def routed(task, toolbox, encoder, **inputs):
    return route_task(task, toolbox, inputs, encoder=encoder)


def test_a_task_for_a_tool_that_is_not_ready_names_it_and_the_command(toolbox, encoder):
    r = routed("Draw me a picture of rivers and lakes.", toolbox, encoder)
    assert isinstance(r.error, NoToolError)
    assert [n["name"] for n in r.error.needed] == ["image_generator"]
    assert "image_generator" in r.error.needed[0]["command"]
    assert r.error.closest and all(n in toolbox for n in r.error.closest)
    assert "image_generator" in str(r.error) and "Closest ready tools" in str(r.error)


def test_a_task_nothing_can_do_says_so(toolbox, encoder):
    r = routed("Book me a flight to Paris for Friday.", toolbox, encoder)
    assert isinstance(r.error, NoToolError) and r.error.needed == []
    assert "nothing in the toolbox fits" in r.error.message


@pytest.mark.parametrize("task, inputs, expected", [
    ("Make the photo grayscale and write 'hello' on it.", {"photo": "image"}, ("grayscale_image", "draw_text")),
    ("Turn the picture upside down.", {"picture": "image"}, ("flip_image",)),
    ("How many words are in the text?", {"text": "str"}, ("word_count",)),
    ("Make a one-second beep.", {}, ("make_tone",)),
])
def test_doable_tasks_route_to_ready_tools_in_order(task, inputs, expected, toolbox, encoder):
    entries = catalogue(toolbox)
    r = route(task, entries, encoder=encoder, input_kinds=set(inputs.values()))
    assert r.error is None, r.error
    assert r.expected == expected
    assert r.prior[expected[0]] == 0.0 and min(r.prior.values()) < 0


def test_a_follow_up_in_a_chat_prefers_the_previous_turns_tool(toolbox, encoder):
    entries = catalogue(toolbox)
    r = route("Now make it twice as long.", entries, encoder=encoder, input_kinds={"audio"},
              previous_tools=["make_tone"], chat=True)
    assert r.expected == ("make_tone",)


def test_words_alone_still_route_without_the_embedding_model(toolbox):
    r = route("Rotate the image by 90 degrees.", catalogue(toolbox), encoder=None, input_kinds={"image"})
    assert r.method == "words" and r.expected == ("rotate_image",)


def test_the_run_ends_before_any_tool_runs_and_the_engine_is_not_asked(encoder):
    engine = ScriptedEngine(['```py\nresult = load_image(path="res/rivers_and_lakes.png")\n```'])
    agent = Agent(engine=engine, route=True, tools=default_tools(model_tools="none"), add_default_tools=False)
    run = agent.perform("Draw me a picture of rivers and lakes.")
    assert run.error is not None and run.error.type == "NoToolError" and run.error.stage == "route"
    assert engine.calls == [] and not run.facts.get("tool_calls")
    routing = run.facts["routing"]
    assert routing["decision"] == "no tool" and routing["clauses"][0]["needs"] == ["image_generator"]
    from nbagents.inspector import render_run_html

    html = render_run_html(run)
    assert "Tool choice" in html and "image_generator</code> (not ready)" in html
    with pytest.raises(NoToolError):
        agent.run("Draw me a picture of rivers and lakes.")


def test_a_scripted_engine_is_not_routed_unless_asked():
    agent = Agent(engine=ScriptedEngine(['```py\nresult = word_count(text="a b")\n```']),
                  tools=default_tools(model_tools="none"), add_default_tools=False)
    run = agent.perform("Book me a flight.")
    assert run.ok and "routing" not in run.facts
