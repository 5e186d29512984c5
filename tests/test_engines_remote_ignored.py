"""A server that accepts a JSON schema and ignores it (``transformers serve`` does) is found out from
its answer, once per engine: the Run says "structured output: requested, ignored by the server"
instead of claiming constrained decoding, and later requests go as free text with the plain prompt.
Against the loopback servers of tests/servers.py; tests/test_real_servers.py does it for real."""

from __future__ import annotations

import json

import pytest
from servers import FakeServer
from test_engines_remote_structured import (
    FREE_TEXT,
    GOOD,
    TGI_INFO,
    agent_for,
    make,
    sent_prompt,
    spec,
)

from nbagents.engines.http import IGNORED, Structure
from nbagents.grammar import JsonSchema
from nbagents.inspector import render_run_html

pytestmark = pytest.mark.usefixtures("no_ambient_credentials")

PLAN_SCHEMA = JsonSchema({"type": "object", "properties": {"steps": {"type": "array"}},
                          "required": ["steps"]}, name="plan")


@pytest.mark.parametrize("text,words", [
    (FREE_TEXT, "does not start like a JSON object"),
    ('["shout"]', "does not start like a JSON object"),
    ('{"calls": [}', "not JSON"),
    ('{"explanation": "x"}', "required 'calls'"),
])
def test_an_answer_that_does_not_follow_the_schema_is_named(text, words):
    reason = Structure.openai(spec()).ignored(text, "stop")
    assert reason is not None and words in reason


def test_an_answer_that_follows_it_or_was_cut_off_is_not_taken_for_ignoring():
    s = Structure.openai(spec())
    assert s.ignored(GOOD, "stop") is None
    assert s.ignored(GOOD[:20], "length") is None  # cut at max_new_tokens: it starts like one
    assert "start like a JSON object" in s.ignored("```python\ndef count(", "length")  # not even the start
    assert Structure.openai(PLAN_SCHEMA).ignored('{"steps": []}', None) is None
    assert "required 'steps'" in Structure.openai(PLAN_SCHEMA).ignored('{"plan": []}', None)


@pytest.mark.parametrize("flavour", ["openai", "tgi-chat"])
def test_a_server_that_ignores_the_schema_is_found_out_once(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured="ignore", structured_reply=GOOD) as server:
        engine = make(flavour, server)
        assert engine.structured_output and engine.accepts(spec())
        c = engine.generate("Count the words", constraint=spec())
        assert c.facts["constrained"] is False and c.facts["structured_output"] == IGNORED
        assert "start like a JSON object" in c.facts["structured_ignored"] and c.text == FREE_TEXT
        assert not engine.structured_output and not engine.accepts(spec())  # remembered
        assert "start like a JSON object" in engine.describe()["structured_ignored"]
        assert "start like a JSON object" in engine.structured_ignored
        c = engine.generate("Count the words")
        assert server.structures()[1:] == [None] and "structured_ignored" not in c.facts


def test_a_server_that_follows_it_is_recorded_as_constrained():
    with FakeServer(FREE_TEXT, structured_reply=GOOD) as server:
        engine = make("openai", server)
        task = "Shout the sentence and count the words"
        c = engine.generate(task, constraint=spec(task))
        assert c.facts["constrained"] is True
        assert c.facts["structured_output"] == "requested, followed by the server"
        assert engine.structured_output and engine.structured_ignored is None


def test_through_the_agent_the_next_run_gets_the_plain_prompt_and_the_inspector_says_so():
    with FakeServer(FREE_TEXT, structured="ignore", structured_reply=GOOD) as server:
        agent = agent_for(make("openai", server))
        run = agent.perform("Count the words", {"sentence": "a b c"})
        assert run.error is None, run.error
        assert run.result == 3 and run.facts["constrained"] is False
        assert run.facts["structured_output"] == IGNORED
        html = render_run_html(run)
        assert "requested, ignored by the server" in html and "constrained</td><td>on" not in html
        second = agent.perform("Count the words", {"sentence": "a b c d"})
        assert second.result == 4 and "structured_output" not in second.facts
        first_body, second_body = (r.json for r in server.generation_requests())
        assert "response_format" in first_body and "response_format" not in second_body
        assert "Answer with JSON" in sent_prompt(first_body)
        assert "Answer with JSON" not in sent_prompt(second_body)
        assert json.loads(json.dumps(run.facts))  # still serialisable


# --- a reply cut off mid-stream: what came stays in the Run ---------------------------------------


@pytest.mark.parametrize("flavour", ["openai", "tgi-generate"])
def test_a_stream_cut_mid_way_keeps_what_came_in_the_run(flavour):
    from servers import cut_stream

    from nbagents.errors import EngineResponseError

    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), chunk_size=4) as server:
        server.push(cut_stream(after=3))
        shown: list[str] = []
        run = agent_for(make(flavour, server, max_retries=0)).perform(
            "Count the words", {"sentence": "a b c"}, on_token=shown.append, constrained=False)
        assert isinstance(run.exception, EngineResponseError) and "cut off" in run.error.message
        assert run.raw_output and FREE_TEXT.startswith(run.raw_output)
        assert run.raw_output == "".join(shown) and len(run.raw_output) < len(FREE_TEXT)


# --- llama-cpp-python's server: a schema goes as response_format type json_object ------------------

LLAMA_CPP_REFUSAL = ("1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                     "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}")


def test_llama_cpp_servers_refusal_of_json_schema_is_recognised_and_the_schema_resent_as_json_object():
    from nbagents.engines.http import structure_rejected

    assert structure_rejected(500, LLAMA_CPP_REFUSAL)
    assert not structure_rejected(500, "CUDA out of memory")
    s = Structure.openai(spec())
    again = s.as_json_object()
    assert again.value == {"type": "json_object", "schema": dict(s.schema)}
    assert again.ignored(GOOD, "stop") is None and again.grammar == s.grammar


def test_a_raw_newline_inside_a_json_string_is_followed_json_not_an_ignored_schema():
    """llama-cpp-python's schema grammar lets a raw newline into a JSON string (its `char` rule
    is `[^"\\\\]`): strict JSON refuses it, but the server did follow the schema, so the answer is
    neither taken for ignoring it nor refused as a program."""
    s = Structure.openai(spec())
    raw = GOOD.replace("Shout the sentence,", "Shout the sentence,\n")
    with pytest.raises(ValueError):
        json.loads(raw)  # not strict JSON
    assert s.ignored(raw, "stop") is None
    text, facts = s.render(raw)
    assert "result = shout(text=sentence)" in text and "result = word_count(text=result)" in text, text
