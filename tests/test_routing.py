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


@pytest.mark.parametrize("mode", ["react", "plan"])
def test_every_mode_ends_before_any_tool_runs(mode, encoder):
    engine = ScriptedEngine(['Thought: draw.\n```py\nresult = make_image(width=8, height=8)\n```'])
    agent = Agent(engine=engine, route=True, mode=mode, tools=default_tools(model_tools="none"),
                  add_default_tools=False)
    run = agent.perform("Draw me a picture of rivers and lakes.")
    assert run.error is not None and run.error.type == "NoToolError"
    assert engine.calls == [] and run.facts["routing"]["decision"] == "no tool"


def test_a_named_file_of_a_kind_nothing_provides_is_opened_first(toolbox, encoder):
    r = routed("Make a thumbnail of cat.png that is at most 32 pixels.", toolbox, encoder)
    assert r.error is None and r.steps == ("load_image", "thumbnail")
    assert r.clauses[0].text == "open cat.png"


def test_plain_arithmetic_needs_no_tool(toolbox, encoder):
    r = routed("What is 6 times 7?", toolbox, encoder)
    assert r.error is None and r.steps == () and r.clauses[0].plain


def test_what_the_step_before_made_is_it(encoder):
    entries = catalogue({t.name: t for t in default_tools(model_tools="none")})
    r = route("Caption the image, then translate the caption into German.", entries, encoder=encoder,
              input_kinds={"image"}, input_names=["image"])
    assert r.error is not None and r.error.needed[0]["name"] == "image_captioner"
    assert next(iter(r.clauses[1].scores)) == "translator"  # not the captioner again


def test_a_follow_up_that_fits_only_the_step_before_is_part_of_it(toolbox, encoder):
    from nbagents.routing.router import FIT
    from nbagents.tools.audio import make_tone

    song = make_tone(duration=3)
    r = routed("Cut the first two seconds off the song and keep what is left.", toolbox, encoder, song=song)
    assert r.error is None and r.steps == ("trim_audio",)
    assert r.clauses[0].text == "Cut the first two seconds off the song; keep what is left"
    alone = routed("Keep what is left.", toolbox, encoder, song=song)
    assert alone.error is not None  # on its own it fits nothing: after a step, it says more of it
    assert next(iter(alone.clauses[0].scores)) == "trim_audio" and alone.clauses[0].scores["trim_audio"] < FIT
    from PIL import Image

    r = routed("Rotate the photo by 90 degrees and then email it to bob@example.com.", toolbox, encoder,
               photo=Image.new("RGB", (8, 4)))
    assert r.error is not None and "email" in r.error.clause  # a step of its own that nothing does


def test_a_chat_turn_that_says_it_reads_the_last_result(encoder):
    from PIL import Image

    engine = ScriptedEngine(['```py\nresult = rotate_image(image=photo, degrees=90)\n```',
                             '```py\nresult = grayscale_image(image=result)\n```'], accepts={"program"})
    agent = Agent(engine=engine, route=True, tools=default_tools(model_tools="none"), add_default_tools=False)
    photo = Image.new("RGB", (8, 4), "navy")
    agent.chat("Rotate the photo by 90 degrees.", photo=photo)
    assert "photo" in engine.calls[0].constraint.input_types
    result = agent.chat("Now make it grayscale.", photo=photo)
    spec = engine.calls[1].constraint
    assert "result" in spec.input_types and "photo" not in spec.input_types  # given again, need not be read
    assert spec.expected_tools == ("grayscale_image",)
    assert result.to_raw().size == (4, 8) and result.to_raw().mode == "L"
