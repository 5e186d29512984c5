"""Structured output on the HTTP engines: TGI's grammar (JSON schema or regex), OpenAI's and Azure's
``response_format``, the fallback when a server refuses it, and the agent's repair of a JSON answer
that does not fit, all against the loopback servers of tests/servers.py."""

from __future__ import annotations

import json

import pytest
from servers import (
    AZURE_JSON_SCHEMA_OLD_API,
    OPENAI_JSON_SCHEMA_UNSUPPORTED,
    TGI_GRAMMAR_UNSUPPORTED,
    FakeServer,
    Fault,
    unknown_field,
)

from nbagents import Agent, tool
from nbagents.engines.azure import AzureOpenAIEngine
from nbagents.engines.endpoint import EndpointEngine
from nbagents.engines.http import Structure
from nbagents.engines.openai import OpenAIEngine
from nbagents.errors import ConfigurationError, ParseError, PromptTooLongError
from nbagents.grammar import ProgramSpec
from nbagents.grammar.remote import (
    openai_response_format,
    program_regex,
    program_schema,
    tgi_grammar,
)
from nbagents.parsing import parse

TGI_INFO = {"model_id": "fake/model", "max_total_tokens": 2048, "max_input_tokens": 2000,
            "max_stop_sequences": 4, "version": "2.4.0", "router": "text-generation-router"}
FAST = {"backoff": 0.01, "max_wait": 5.0, "read_timeout": 5.0, "connect_timeout": 2.0}
FREE_TEXT = "I will count the words.\n```py\nresult = word_count(text=sentence)\n```"


pytestmark = pytest.mark.usefixtures("no_ambient_credentials")


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


@tool
def shout(text: str) -> str:
    """Upper-case `text` and add an exclamation mark."""
    return text.upper() + "!"


TOOLS = {"shout": shout, "word_count": word_count}  # the order of the prompt


def answer(*calls: tuple[str, dict], explanation: str = "I will do it.") -> str:
    """A JSON answer as a constrained server sends it."""
    return json.dumps({"explanation": explanation,
                       "calls": [{"tool": name, "args": args} for name, args in calls]})


GOOD = answer(("shout", {"text": {"ref": "sentence"}}), ("word_count", {"text": {"ref": "result"}}),
              explanation="Shout the sentence, then count its words.")
PROGRAM = ("Shout the sentence, then count its words.\n```py\nresult = shout(text=sentence)\n"
           "result = word_count(text=result)\n```")
# Fits the schema (``result`` is a name a reference may take) but not the program: nothing has
# assigned ``result`` before the first call.
READS_RESULT_FIRST = answer(("word_count", {"text": {"ref": "result"}}))


def make(flavour: str, server: FakeServer, **options):
    options = {**FAST, **options}
    if flavour == "tgi-generate":
        return EndpointEngine(server.url, route="generate", **options)
    if flavour == "tgi-chat":
        return EndpointEngine(server.url, route="chat", **options)
    if flavour == "openai":
        return OpenAIEngine("fake-model", base_url=server.url + "/v1", **options)
    if flavour == "azure":
        options.setdefault("api_key", "azure-test-key-0000")
        return AzureOpenAIEngine("dep", azure_endpoint=server.url, **options)
    raise AssertionError(flavour)


def agent_for(engine, **options) -> Agent:
    return Agent(engine=engine, add_default_tools=False, tools=[shout, word_count], **options)


def spec(task: str = "") -> ProgramSpec:
    return ProgramSpec.for_inputs(TOOLS, {"sentence": "a b c"}, task=task)


def sent_prompt(body: dict) -> str:
    return body.get("inputs") or "\n".join(m["content"] for m in body["messages"])


# --- what each server kind gets -------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["tgi-generate", "tgi-chat", "openai", "azure"])
def test_conforming_json_becomes_the_program_the_agent_runs(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=GOOD) as server:
        engine = make(flavour, server)
        assert engine.structured_output
        streamed: list[str] = []
        run = agent_for(engine).perform("Shout the sentence and count the words", {"sentence": "a b c"},
                                        on_token=streamed.append)
        assert run.error is None, run.error
        assert run.result == 3 and run.facts["tool_calls"] == ["shout", "word_count"]
        assert run.raw_output == PROGRAM
        assert run.code == "result = shout(text=sentence)\nresult = word_count(text=result)"
        assert "".join(streamed) == GOOD  # on_token sees the JSON as it comes
        body = server.last.json
        expected = {"tgi-generate": tgi_grammar(spec()), "tgi-chat": tgi_grammar(spec())}.get(
            flavour, openai_response_format(spec()))
        assert server.last.structure == json.loads(json.dumps(expected))
        if flavour == "tgi-generate":
            assert body["parameters"]["grammar"]["type"] == "json" and "response_format" not in body
            assert body["parameters"]["stop"] == list(run.stop)[:4]
        else:
            assert body["response_format"]["type"] == ("json" if flavour == "tgi-chat" else "json_schema")
            assert body["stop"] == list(run.stop)[:4]
        if flavour in ("openai", "azure"):
            assert body["response_format"]["json_schema"]["strict"] is True
        assert '"calls": [{"tool": "<tool name>"' in sent_prompt(body)  # the JSON shape, in one sentence
        facts = run.facts
        assert facts["constrained"] is True and facts["grammar_kind"] == "json"
        assert json.loads(facts["grammar"]) == program_schema(spec())
        assert facts["program_spec"] == spec("Shout the sentence and count the words").describe()
        assert facts["program_spec"]["expected_tools"] == ["shout", "word_count"]  # the task names both
        assert facts["structured_param"] == ("parameters.grammar" if flavour == "tgi-generate"
                                             else "response_format")
        assert facts["structured_answer"] == "rendered" and facts["structured_raw"] == GOOD
        assert "structured_fallback" not in facts and len(server.generation_requests()) == 1


@pytest.mark.parametrize("flavour", ["tgi-generate", "tgi-chat", "openai"])
def test_whole_replies_are_rendered_too(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=GOOD) as server:
        engine = make(flavour, server, stream=False)
        seen: list[str] = []
        c = engine.generate("Shout and count", constraint=spec(), on_token=seen.append)
        assert c.text == PROGRAM and seen == [GOOD] and c.facts["streamed"] is False
        assert c.facts["constrained"] is True and server.last.structure is not None


@pytest.mark.parametrize("route", ["generate", "chat"])
def test_tgi_regex_grammar_is_the_program_itself(route):
    program = "I will count.\n```py\nresult = word_count(text=sentence)\n```"
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=program) as server:
        engine = EndpointEngine(server.url, route=route, grammar_kind="regex", **FAST)
        run = agent_for(engine).perform("Count the words", {"sentence": "a b c d"})
        assert run.error is None, run.error
        assert run.result == 4 and run.raw_output == program
        grammar = server.last.structure
        assert grammar == {"type": "regex", "value": program_regex(ProgramSpec.for_inputs(
            TOOLS, {"sentence": "a b c d"}))}  # the fake server checked the reply with re.fullmatch
        assert run.facts["grammar_kind"] == "regex" and run.facts["grammar"] == grammar["value"]
        assert run.facts["structured_answer"] == "program"
        assert "Answer with JSON" not in sent_prompt(server.last.json)  # the regex is the prompt's shape


def test_tgi_auto_follows_the_version_and_route():
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO)) as server:
        cases = [("1.4.2", "generate", False), ("1.4.3", "generate", True), ("2.1.1", "chat", False),
                 ("2.2.0", "chat", True), ("3.0.1-dev0", "chat", True), ("nonsense", "generate", False)]
        for version, route, on in cases:
            server.info["version"] = version
            engine = EndpointEngine(server.url, route=route, **FAST)
            assert engine.structured_output is on, (version, route)
            assert engine.describe()["structured"] is on
        server.info["version"] = "2.4.0"
        assert not EndpointEngine(server.url, structured=False, **FAST).structured_output
        server.info = None  # an endpoint without /info: nothing says it takes a grammar
        assert not EndpointEngine(server.url, **FAST).structured_output
        assert EndpointEngine(server.url, structured=True, **FAST).structured_output
    assert not EndpointEngine("owner/model", token=False).structured_output  # serverless: not probed


def test_openai_engines_auto():
    assert OpenAIEngine("gpt-4o-mini", api_key="sk-unit-0000000000000000").structured_output
    assert not OpenAIEngine("m", base_url="http://127.0.0.1:9/v1", api="completions").structured_output
    assert not OpenAIEngine("m", base_url="http://127.0.0.1:9/v1", structured=False).structured_output
    azure = {"api_key": "azure-test-key-0000", "azure_endpoint": "https://r.openai.azure.com"}
    assert AzureOpenAIEngine("dep", **azure).structured_output  # 2024-10-21
    assert AzureOpenAIEngine("dep", api_version="2024-08-01-preview", **azure).structured_output
    assert AzureOpenAIEngine("dep", api_version="preview", **azure).structured_output
    assert not AzureOpenAIEngine("dep", api_version="2024-06-01", **azure).structured_output
    assert AzureOpenAIEngine("dep", api_version="2024-06-01", structured=True, **azure).structured_output


def test_bad_options_are_refused():
    with pytest.raises(ConfigurationError, match="structured must be"):
        EndpointEngine("http://127.0.0.1:9", structured="yes")
    with pytest.raises(ConfigurationError, match="grammar_kind must be"):
        EndpointEngine("http://127.0.0.1:9", grammar_kind="lark")
    with pytest.raises(ConfigurationError, match="needs api='chat'"):
        OpenAIEngine("m", base_url="http://127.0.0.1:9/v1", api="completions", structured=True)


# --- servers that refuse or ignore it ---------------------------------------------------------------


@pytest.mark.parametrize("flavour,engine_options,rejection,words", [
    ("tgi-generate", {}, None, TGI_GRAMMAR_UNSUPPORTED),
    ("tgi-chat", {}, None, TGI_GRAMMAR_UNSUPPORTED),
    ("openai", {}, None, OPENAI_JSON_SCHEMA_UNSUPPORTED[:60]),
    ("openai", {}, unknown_field("response_format"), "Extra inputs are not permitted"),
    ("azure", {"api_version": "2024-06-01", "structured": True}, None, AZURE_JSON_SCHEMA_OLD_API),
])
def test_a_refusal_falls_back_once_without_it_and_is_remembered(flavour, engine_options, rejection, words):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured="reject", rejection=rejection,
                    structured_reply=GOOD) as server:
        engine = make(flavour, server, **engine_options)
        assert engine.structured_output
        c = engine.generate("Count the words", constraint=spec())
        assert c.text == FREE_TEXT  # the same request without the parameter: free text
        assert [s is not None for s in server.structures()] == [True, False]
        assert words in c.facts["structured_fallback"] and c.facts["constrained"] is False
        assert c.facts["retries"] == 0
        assert not engine.structured_output  # remembered: the Agent stops asking
        assert not engine.accepts(spec())
        c = engine.generate("Count the words")
        assert server.structures()[2:] == [None] and "structured_fallback" not in c.facts
        first, second = (sent_prompt(r.json) for r in server.generation_requests()[:2])
        assert "Answer with JSON" in first and "Answer with JSON" not in second  # the plain prompt


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_a_refusal_through_the_agent_still_runs_the_free_text_program(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured="reject") as server:
        run = agent_for(make(flavour, server)).perform("Count the words", {"sentence": "a b c"})
        assert run.error is None, run.error
        assert run.result == 3 and run.facts["structured_fallback"]
        assert len(server.generation_requests()) == 2


def test_the_refusal_message_never_carries_the_key():
    key = "sk-StructuredSecret0000000000"
    careless = Fault(status=400, body={"error": {"message": f"response_format is not allowed for key {key}"}})
    with FakeServer(FREE_TEXT, structured="reject", rejection=careless) as server:
        engine = make("openai", server, api_key=key)
        run = agent_for(engine).perform("Count the words", {"sentence": "a b c"})
        assert run.error is None, run.error
        assert server.generation_requests()[0].header("authorization") == f"Bearer {key}"
        assert "response_format is not allowed" in run.facts["structured_fallback"]
        assert key not in json.dumps(run.facts, default=str) and key not in repr(run)


@pytest.mark.parametrize("flavour", ["tgi-chat", "openai"])
def test_a_server_ignoring_it_gets_the_lenient_parse(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured="ignore", structured_reply=GOOD) as server:
        run = agent_for(make(flavour, server)).perform("Count the words", {"sentence": "a b c"})
        assert run.error is None, run.error
        assert run.result == 3 and run.raw_output == FREE_TEXT
        assert server.last.structure is not None and run.facts["structured_answer"] == "free text"


def test_tgi_schema_it_cannot_compile_falls_back_too():
    cannot = Fault(status=422, body={"error": "Input validation error: cannot compile regex from schema: "
                                              "Unsupported JSON Schema structure", "error_type": "validation"})
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured="reject", rejection=cannot) as server:
        c = make("tgi-generate", server).generate("Count", constraint=spec())
        assert c.text == FREE_TEXT and "cannot compile regex" in c.facts["structured_fallback"]
        assert [s is not None for s in server.structures()] == [True, False]


def test_other_client_errors_are_not_taken_for_a_refusal():
    context = Fault(status=400, body={"error": {"message": "This model's maximum context length is 4097 "
                                                           "tokens. However, you requested 5000 tokens (4800 "
                                                           "in the messages, 200 in the completion)."}})
    with FakeServer(FREE_TEXT, structured_reply=GOOD) as server:
        engine = make("openai", server)
        server.push(context)
        with pytest.raises(PromptTooLongError):
            engine.generate("Count", constraint=spec())
        assert len(server.generation_requests()) == 1 and engine.structured_output


def test_openai_refusal_is_free_text():
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={
            "id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": None, "refusal": "I can't help with that."}}]})

    engine = OpenAIEngine("m", base_url="http://127.0.0.1:9/v1", stream=False,
                          http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    c = engine.generate("Count", constraint=spec())
    assert c.text == "I can't help with that." and c.facts["structured_answer"] == "free text"


def test_no_tools_no_grammar():
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=GOOD) as server:
        engine = make("tgi-generate", server)
        assert not engine.accepts(ProgramSpec())  # no tools: no program to constrain
        with pytest.raises(ConfigurationError, match="cannot honour a 'program' constraint"):
            engine.generate("hi", constraint=ProgramSpec())
        engine.generate("hi")
        assert server.structures() == [None]


# --- a JSON answer that does not fit: the agent's one repair -----------------------------------------


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_a_json_answer_that_does_not_fit_goes_through_the_agents_repair(flavour):
    replies = iter([READS_RESULT_FIRST, GOOD])
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=lambda body: next(replies)) as server:
        run = agent_for(make(flavour, server)).perform("Shout and count", {"sentence": "a b c"})
        assert run.error is None, run.error
        assert run.result == 3 and run.raw_output == PROGRAM
        (first,) = run.steps
        assert first.error.stage == "parse" and first.error.type == "ParseError"
        assert "'result' is not defined here" in first.raw_output and READS_RESULT_FIRST in first.raw_output
        assert [s is not None for s in server.structures()] == [True, True]  # the repair is constrained too
        repair_prompt = sent_prompt(server.last.json)
        assert "That failed." in repair_prompt and "'result' is not defined here" in repair_prompt


def test_a_cut_off_json_answer_is_a_parse_error_too():
    cut = GOOD[:40]
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=cut, check_structured=False) as server:
        engine = make("tgi-generate", server)
        run = agent_for(engine, repair=False).perform("Shout and count", {"sentence": "a b c"})
        assert run.error is not None and run.error.stage == "parse"
        assert "The answer is not JSON" in run.error.message
        assert run.facts["structured_answer"] == "invalid" and run.facts["structured_raw"] == cut


def test_rendering_is_lenient_and_an_answer_that_does_not_fit_never_parses_as_code():
    s = Structure.tgi(spec(), "json", param="parameters.grammar")
    assert s.render(GOOD)[0] == PROGRAM
    assert s.render(f"```json\n{GOOD}\n```")[0] == PROGRAM
    assert s.render(f"Here is the program: {GOOD}")[0] == PROGRAM
    assert s.render(FREE_TEXT) == (FREE_TEXT, {"structured_answer": "free text"})
    code_inside = json.dumps({"calls": [{"tool": "word_count", "args": {"txt": "```py\nresult = 1\n```"}}]},
                             indent=2)
    for bad in (READS_RESULT_FIRST, GOOD[:30], answer(("nope", {})), '{"calls": []}', code_inside,
                code_inside.replace("\\n", "\n")):  # (not JSON any more: raw newlines in a string)
        text, facts = s.render(bad)
        assert facts["structured_answer"] == "invalid" and facts["structured_error"]
        with pytest.raises(ParseError):
            parse(text)


# --- switched off ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["tgi-generate", "tgi-chat", "openai", "azure"])
def test_structured_false_sends_nothing(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=GOOD) as server:
        run = agent_for(make(flavour, server, structured=False)).perform("Count", {"sentence": "a b"})
        assert run.error is None and run.result == 2
        assert server.structures() == [None] and run.facts["constrained"] is False
        assert "Answer with JSON" not in sent_prompt(server.last.json)


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_agent_constrained_false_sends_nothing(flavour):
    with FakeServer(FREE_TEXT, info=dict(TGI_INFO), structured_reply=GOOD) as server:
        engine = make(flavour, server)
        run = agent_for(engine, constrained=False).perform("Count", {"sentence": "a b"})
        assert run.error is None and run.result == 2
        run = agent_for(engine).perform("Count", {"sentence": "a b"}, constrained=False)
        assert run.error is None and run.result == 2
        assert server.structures() == [None, None] and run.facts["constrained"] is False
