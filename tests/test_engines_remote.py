"""The HTTP engines (EndpointEngine, OpenAIEngine, AzureOpenAIEngine) against real HTTP servers
on 127.0.0.1 speaking the TGI and OpenAI protocols (tests/servers.py), with every fault injected."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from servers import (
    OPENAI_TOO_LONG,
    TGI_TOO_LONG,
    FakeServer,
    Fault,
    closed_port,
    cut_stream,
    loading,
    malformed_json,
    rate_limited,
    server_error,
    slow,
    stream_error,
    too_long,
    truncated_json,
    unanswered_port,
    unauthorized,
    unfinished_stream,
)

from nbagents import Agent, AzureOpenAiAgent, HfAgent, OpenAiAgent, tool
from nbagents.engines import load_engine
from nbagents.engines.azure import AzureOpenAIEngine
from nbagents.engines.endpoint import EndpointEngine
from nbagents.engines.http import (
    Attempts,
    HTTPFailure,
    RetryPolicy,
    parse_context_error,
    retry_after_seconds,
    safe_url,
    server_message,
    sse_events,
)
from nbagents.engines.http.retries import RETRYABLE
from nbagents.engines.openai import OpenAIEngine
from nbagents.errors import (
    ConfigurationError,
    EngineAuthError,
    EngineConnectionError,
    EngineError,
    EngineResponseError,
    EngineTimeoutError,
    MissingDependencyError,
    PromptTooLongError,
    RateLimitError,
)

TGI_INFO = {"model_id": "fake/model", "max_total_tokens": 2048, "max_input_tokens": 2000,
            "max_stop_sequences": 4, "version": "2.4.0", "router": "text-generation-router"}
CODE_REPLY = "I will add the numbers.\n```py\nresult = 1 + 2\n```"
FLAVOURS = ["tgi-generate", "tgi-chat", "hf-compat", "openai", "azure"]
FAST = {"backoff": 0.01, "max_wait": 5.0, "read_timeout": 5.0, "connect_timeout": 2.0}


pytestmark = pytest.mark.usefixtures("no_ambient_credentials")


@pytest.fixture
def server():
    with FakeServer(CODE_REPLY, info=dict(TGI_INFO)) as s:
        yield s


def make(flavour: str, server: FakeServer, **options):
    """An engine of ``flavour`` pointed at ``server`` with test-sized waits and timeouts."""
    options = {**FAST, **options}
    if flavour == "tgi-generate":
        return EndpointEngine(server.url, route="generate", **options)
    if flavour == "tgi-chat":
        return EndpointEngine(server.url, route="chat", **options)
    if flavour == "hf-compat":
        server.info = None  # an Inference Endpoint: no /info, POST to the URL itself
        return EndpointEngine(server.url, **options)
    if flavour == "openai":
        return OpenAIEngine("fake-model", base_url=server.url + "/v1", **options)
    if flavour == "azure":
        options.setdefault("api_key", "azure-test-key-0000")
        return AzureOpenAIEngine("dep", azure_endpoint=server.url, **options)
    raise AssertionError(flavour)


def protocol(flavour: str) -> str:
    return "openai" if flavour in ("openai", "azure") else "tgi"


def posts(server: FakeServer) -> int:
    return len(server.generation_requests())


# --- routes, requests and replies --------------------------------------------------------------


def test_auto_route_asks_info_then_uses_tgi_chat(server):
    engine = EndpointEngine(server.url, **FAST)
    assert engine.context_length == 2048 and engine.model_id == "fake/model"
    assert engine.is_chat and engine.describe()["route"] == "chat"
    c = engine.generate([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
                        stop=["\nTask:"], max_new_tokens=33)
    assert c.text == CODE_REPLY and c.finish_reason == "stop"
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/info"),
                                                             ("POST", "/v1/chat/completions")]
    body = server.last.json
    assert body["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert body["stop"] == ["\nTask:"] and body["max_tokens"] == 33 and body["temperature"] == 0.0
    assert c.facts["route"] == "chat" and c.facts["server"] == "text-generation-router 2.4.0"
    assert engine.spec == f"endpoint:{server.url}"


def test_generate_route_sends_hfagent_parameters_and_reads_counts(server):
    engine = make("tgi-generate", server)
    c = engine.generate("Task: add", stop=["\nTask:", "<end>"], max_new_tokens=40)
    assert server.last.path == "/generate_stream"
    assert server.last.json == {"inputs": "Task: add\n", "parameters": {
        "max_new_tokens": 40, "return_full_text": False, "do_sample": False, "details": True,
        "stop": ["\nTask:", "<end>"]}}
    assert c.text == CODE_REPLY and c.prompt_text == "Task: add\n"
    assert c.prompt_tokens == 2 and c.completion_tokens == len(server.pieces(CODE_REPLY))
    c = engine.generate("Task: add", stream=False)
    assert server.last.path == "/generate" and c.text == CODE_REPLY and c.completion_tokens


def test_endpoint_without_info_posts_to_the_url_itself(server):
    engine = make("hf-compat", server)
    assert engine.context_length is None and engine.server == "unknown (no /info)"
    assert not engine.is_chat
    for stream in (True, False):
        c = engine.generate("hi", stop=["```\n"], stream=stream)
        assert c.text == CODE_REPLY
        assert server.last.path == "/" and server.last.json["stream"] is stream
        assert server.last.json["parameters"]["return_full_text"] is False


@pytest.mark.parametrize("flavour", ["tgi-chat", "openai", "azure"])
def test_chat_routes_stream_and_count_tokens(server, flavour):
    engine = make(flavour, server)
    pieces: list[str] = []
    c = engine.generate("one two three", max_new_tokens=20, on_token=pieces.append)
    assert "".join(pieces) == c.text == CODE_REPLY and len(pieces) > 3
    assert c.completion_tokens == len(server.pieces(CODE_REPLY))
    assert c.prompt_tokens == 3 and server.last.json["stream_options"] == {"include_usage": True}
    c = engine.generate("one two three", stream=False)
    assert c.text == CODE_REPLY and c.prompt_tokens == 3


def test_openai_legacy_completions_and_request_fields(server):
    engine = make("openai", server, api="completions", temperature=None)
    assert not engine.is_chat
    c = engine.generate([{"role": "user", "content": "Add"}], stop=["\nTask:"], max_new_tokens=9)
    assert c.text == CODE_REPLY and c.prompt_text == "Add\n"
    body = server.last.json
    assert server.last.path == "/v1/completions"
    assert body["prompt"] == "Add\n" and body["max_tokens"] == 9 and "temperature" not in body
    assert body["stop"] == ["\nTask:"] and body["stream"] is True


def test_azure_uses_deployment_route_api_version_and_key_header(server):
    engine = make("azure", server, api_version="2024-06-01", api_key="azure-test-key-0000")
    engine.generate("hi")
    rec = server.last
    assert rec.path == "/openai/deployments/dep/chat/completions"
    assert rec.query["api-version"] == ["2024-06-01"] and rec.header("api-key") == "azure-test-key-0000"
    assert engine.spec == "azure:dep"
    legacy = AzureOpenAIEngine("dep", api_key="azure-test-key-0000", azure_endpoint=server.url,
                               is_chat_model=False, **FAST)
    legacy.generate("hi")
    assert server.last.path == "/openai/deployments/dep/completions"


def test_azure_endpoint_from_resource_name_and_env(monkeypatch):
    engine = AzureOpenAIEngine("dep", api_key="k" * 12, resource_name="myres")
    assert engine.url == "https://myres.openai.azure.com/openai/deployments/dep"
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://other.example.com/")
    assert AzureOpenAIEngine("dep").url.startswith("https://other.example.com/openai/")
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(ConfigurationError, match="endpoint"):
        AzureOpenAIEngine("dep")


@pytest.mark.parametrize("server_kwargs", [{"chat": False}, {"chat_template": False}])
def test_auto_route_falls_back_to_generate_once(server_kwargs):
    with FakeServer(CODE_REPLY, info=dict(TGI_INFO), **server_kwargs) as server:
        engine = EndpointEngine(server.url, **FAST)
        c = engine.generate("hi")
        assert c.text == CODE_REPLY and c.facts["route_fallback"] == "chat -> generate"
        engine.generate("hi")
        assert [r.path for r in server.generation_requests()] == [
            "/v1/chat/completions", "/generate_stream", "/generate_stream"]


def test_old_tgi_and_url_suffixes_pick_the_generate_route(server):
    server.info["version"] = "1.3.4"
    assert EndpointEngine(server.url, **FAST).describe()["route"] == "generate"
    assert EndpointEngine(server.url + "/generate", **FAST).route == "generate"
    engine = EndpointEngine(server.url + "/v1/chat/completions", **FAST)
    assert engine.route == "chat" and engine.base_url == server.url


def test_stop_sequences_beyond_the_server_limit_are_cut_client_side(server):
    server.info["max_stop_sequences"] = 1
    server.reply = "x = 1\nSTOP2 and more"
    engine = make("tgi-generate", server)
    c = engine.generate("hi", stop=["STOP1", "STOP2"])
    assert server.last.json["parameters"]["stop"] == ["STOP1"]
    assert c.text == "x = 1\n" and c.stop_sequence == "STOP2"


def test_bare_model_id_means_the_serverless_api_and_no_network_until_used():
    import httpx

    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
                                         "usage": {"prompt_tokens": 5, "completion_tokens": 1}})

    engine = EndpointEngine("owner/model-1.5", token="hf_unit", transport=httpx.MockTransport(handler))
    assert engine.spec == "endpoint:owner/model-1.5" and engine.model_id == "owner/model-1.5"
    assert engine.describe()["route"] == "chat" and engine.context_length is None and not seen
    c = engine.generate("hi", stream=False)
    assert c.text == "ok" and c.prompt_tokens == 5
    assert str(seen[0].url) == ("https://router.huggingface.co/hf-inference/models/owner/model-1.5"
                                "/v1/chat/completions")
    assert seen[0].headers["authorization"] == "Bearer hf_unit"
    with pytest.raises(ConfigurationError, match="neither a URL nor a Hub model id"):
        EndpointEngine("not a model")


# --- stop sequences: a server that ignores them ------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_server_ignoring_stop_is_cut_and_the_stream_closed_early(flavour):
    tail = "\nTask: another task\n" + "x = 0\n" * 400
    with FakeServer(CODE_REPLY + tail, info=dict(TGI_INFO), ignore_stop=True, chunk_size=6,
                    chunk_delay=0.004) as server:
        engine = make(flavour, server)
        started = time.monotonic()
        c = engine.generate("hi", stop=["\nTask:"])
        elapsed = time.monotonic() - started
        assert c.text == CODE_REPLY and c.stop_sequence == "\nTask:" and c.finish_reason == "stop"
        sent = server.last.json.get("stop") or server.last.json["parameters"]["stop"]
        assert sent == ["\nTask:"]
        assert elapsed < 1.5  # the whole stream takes ~2.5 s
        assert server.wait_for_disconnect()
        c = engine.generate("hi", stop=["\nTask:"], stream=False)  # whole replies are cut too
        assert c.text == CODE_REPLY


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_429_and_503_are_retried_honouring_retry_after(server, flavour):
    engine = make(flavour, server)
    server.push(rate_limited("0.05"), rate_limited("0.05", status=503))
    started = time.monotonic()
    c = engine.generate("hi")
    assert c.text == CODE_REPLY
    assert posts(server) == 3 and c.facts["retries"] == 2
    assert c.facts["retry_wait_s"] == pytest.approx(0.1)
    assert time.monotonic() - started >= 0.1


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_retries_are_bounded_and_end_in_rate_limit_error(server, flavour):
    engine = make(flavour, server, max_retries=2)
    server.push(*[rate_limited("0")] * 3)
    with pytest.raises(RateLimitError) as info:
        engine.generate("hi")
    assert posts(server) == 3 and info.value.status == 429
    assert "after 2 retries" in str(info.value) and "Rate limit reached" in str(info.value)


def test_retry_after_longer_than_max_wait_is_not_waited_for(server):
    engine = make("tgi-generate", server, max_wait=1.0)
    server.push(rate_limited("30"))
    started = time.monotonic()
    with pytest.raises(RateLimitError, match="asked to wait 30 s"):
        engine.generate("hi")
    assert time.monotonic() - started < 1.0 and posts(server) == 1


def test_exponential_backoff_without_retry_after(server):
    engine = make("tgi-chat", server, backoff=0.02)
    server.push(rate_limited(None), rate_limited(None), rate_limited(None))
    c = engine.generate("hi")
    assert c.facts["retries"] == 3 and c.facts["retry_wait_s"] == pytest.approx(0.02 + 0.04 + 0.08)


def test_model_loading_503_waits_estimated_time(server):
    engine = make("hf-compat", server)
    server.push(loading(estimated_time=0.05))
    c = engine.generate("hi")
    assert c.facts["retries"] == 1 and c.facts["retry_wait_s"] == pytest.approx(0.05)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_gateway_5xx_retried_then_response_error_with_status_and_message(server, flavour):
    engine = make(flavour, server, max_retries=2)
    server.push(server_error(502), server_error(504))
    assert engine.generate("hi").facts["retries"] == 2
    server.push(*[server_error(502)] * 3)
    with pytest.raises(EngineResponseError) as info:
        engine.generate("hi")
    assert info.value.status == 502 and posts(server) == 3 + 3
    assert "HTTP 502 after 2 retries" in str(info.value) and "CUDA out of memory" in str(info.value)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_500_is_not_retried(server, flavour):
    engine = make(flavour, server, max_retries=4)
    server.push(*[server_error(500)] * 5)
    with pytest.raises(EngineResponseError) as info:
        engine.generate("hi")
    assert info.value.status == 500 and posts(server) == 1
    assert "HTTP 500:" in str(info.value) and "after" not in str(info.value)
    assert "CUDA out of memory" in str(info.value)
    server.faults.clear()


# status -> requests the server sees when it answers that status every time (max_retries=3)
RETRY_COUNTS = {400: 1, 404: 1, 408: 4, 409: 1, 425: 4, 429: 4, 500: 1, 501: 1, 502: 4, 503: 4,
                504: 4, 505: 1, 529: 4}


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_exact_requests_per_status(server, flavour):
    engine = make(flavour, server, max_retries=3, backoff=0.001)
    for status, expected in RETRY_COUNTS.items():
        before = posts(server)
        server.push(*[Fault(status=status, headers={"Retry-After": "0"},
                            body={"error": f"status {status}"})] * 6)
        with pytest.raises(EngineError) as info:
            engine.generate("hi")
        assert (status, posts(server) - before) == (status, expected)
        assert info.value.status == status and f"status {status}" in str(info.value)
        server.faults.clear()
    assert set(RETRY_COUNTS) >= RETRYABLE and {s for s, n in RETRY_COUNTS.items() if n > 1} == RETRYABLE


def test_client_errors_are_not_retried(server):
    engine = make("openai", server)
    server.push(Fault(status=400, body={"error": {"message": "Unknown parameter: 'foo'."}}))
    with pytest.raises(EngineResponseError, match="Unknown parameter") as info:
        engine.generate("hi")
    assert info.value.status == 400 and posts(server) == 1
    server.push(Fault(status=404, body={"error": "Model not found"}))
    with pytest.raises(EngineResponseError, match="Check the URL and the model name"):
        make("tgi-generate", server).generate("hi")


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("stream", [True, False])
def test_prompt_too_long_gives_both_numbers(server, flavour, stream):
    engine = make(flavour, server)
    server.push(too_long(protocol(flavour)))
    with pytest.raises(PromptTooLongError) as info:
        engine.generate("hi", max_new_tokens=200, stream=stream)
    e = info.value
    if protocol(flavour) == "tgi":
        assert (e.prompt_tokens, e.max_new_tokens, e.context_length) == (1549, 200, 1512)
        assert TGI_TOO_LONG in e.message
    else:
        assert (e.prompt_tokens, e.max_new_tokens, e.context_length) == (4800, 200, 4097)
        assert OPENAI_TOO_LONG[:40] in e.message
    assert "Shorten the task" in str(e) and posts(server) == 1


def test_prompt_too_long_teaches_the_context_length(server):
    engine = make("hf-compat", server)
    assert engine.context_length is None
    server.push(too_long("tgi"))
    with pytest.raises(PromptTooLongError):
        engine.generate("hi")
    assert engine.context_length == 1512


def test_tgi_validation_error_inside_the_stream(server):
    engine = make("tgi-generate", server)
    server.push(stream_error(TGI_TOO_LONG))
    with pytest.raises(PromptTooLongError) as info:
        engine.generate("hi")
    assert info.value.context_length == 1512
    server.push(stream_error("Request failed during generation: Server error: CUDA OOM"))
    with pytest.raises(EngineResponseError, match="error in the stream: Request failed"):
        engine.generate("hi")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_malformed_json_is_a_response_error_saying_so(server, flavour):
    engine = make(flavour, server)
    server.push(malformed_json())
    with pytest.raises(EngineResponseError, match="not valid JSON"):
        engine.generate("hi", stream=False)
    server.push(malformed_json())
    with pytest.raises(EngineResponseError, match="not valid JSON"):
        engine.generate("hi", stream=True)
    assert engine.generate("hi").text == CODE_REPLY


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_truncated_json_body(server, flavour):
    engine = make(flavour, server)
    server.push(truncated_json())
    with pytest.raises(EngineResponseError, match="closed before the reply was complete"):
        engine.generate("hi", stream=False)
    assert engine.generate("hi").text == CODE_REPLY  # the engine is still usable


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_stream_cut_mid_way(server, flavour):
    engine = make(flavour, server)
    server.push(cut_stream(after=3))
    with pytest.raises(EngineResponseError, match="cut off"):
        engine.generate("hi")
    server.push(unfinished_stream(after=3))
    with pytest.raises(EngineResponseError, match="ended the stream before generation finished"):
        engine.generate("hi")
    assert engine.generate("hi").text == CODE_REPLY


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_slow_server_hits_the_read_timeout_without_retry(server, flavour):
    engine = make(flavour, server, read_timeout=0.2)
    server.push(slow(1.0))
    started = time.monotonic()
    with pytest.raises(EngineTimeoutError, match=r"0\.2 s \(read timeout\)"):
        engine.generate("hi")
    assert time.monotonic() - started < 0.9 and posts(server) == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_refused_connection_names_the_url(flavour):
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    engine = {
        "tgi-generate": lambda: EndpointEngine(url, route="generate", **FAST),
        "tgi-chat": lambda: EndpointEngine(url, route="chat", **FAST),
        "hf-compat": lambda: EndpointEngine(url, **FAST),
        "openai": lambda: OpenAIEngine("m", base_url=url + "/v1", **FAST),
        "azure": lambda: AzureOpenAIEngine("dep", api_key="azure-test-key-0000", azure_endpoint=url, **FAST),
    }[flavour]()
    with pytest.raises(EngineConnectionError) as info:
        engine.generate("hi")
    assert f"127.0.0.1:{port}" in str(info.value) and "server is running" in str(info.value)


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_unanswered_connection_hits_the_connect_timeout_once(flavour):
    with unanswered_port() as port:
        url = f"http://127.0.0.1:{port}"
        engine = (EndpointEngine(url, route="generate", **{**FAST, "connect_timeout": 0.5})
                  if flavour == "tgi-generate" else
                  OpenAIEngine("m", base_url=url + "/v1", **{**FAST, "connect_timeout": 0.5}))
        engine._client()  # imports first
        started = time.monotonic()
        with pytest.raises(EngineTimeoutError, match=r"within 0\.5 s \(connect timeout\)") as info:
            engine.generate("hi")
        assert time.monotonic() - started < 0.95  # one connect timeout, not two
        assert f"127.0.0.1:{port}" in str(info.value)


@pytest.mark.parametrize("status,words", [(401, "refused the credentials"), (403, "refused access")])
def test_auth_error_says_where_the_hf_token_came_from(server, monkeypatch, status, words):
    import huggingface_hub

    cases = [
        ({"token": "hf_ArgumentToken000000000"}, {}, None, "the token= argument"),
        ({}, {"HF_TOKEN": "hf_EnvToken000000000000"}, None, "HF_TOKEN environment variable"),
        ({}, {}, "hf_LoginToken0000000000", "huggingface_hub login"),
        ({}, {}, None, "No token or key was sent"),
    ]
    for count, (kwargs, env, login, expected) in enumerate(cases, start=1):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(huggingface_hub, "get_token", lambda login=login: login)
        engine = make("tgi-generate", server, **kwargs)
        server.push(unauthorized(status))
        with pytest.raises(EngineAuthError) as info:
            engine.generate("hi")
        message = str(info.value)
        assert words in message and expected in message and "HF_TOKEN" in message
        secret = kwargs.get("token") or env.get("HF_TOKEN") or login
        if secret:
            assert server.last.header("authorization") == f"Bearer {secret}"
            assert secret not in message
        else:
            assert server.last.header("authorization") is None
        for name in env:
            monkeypatch.delenv(name)
        assert posts(server) == count  # never retried


def test_auth_error_says_where_the_openai_key_came_from(server, monkeypatch):
    server.api_key = "sk-the-right-key-000000"
    engine = make("openai", server, api_key="sk-WrongArgumentKey00000")
    with pytest.raises(EngineAuthError, match="the api_key= argument"):
        engine.generate("hi")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-WrongEnvKey000000000")
    with pytest.raises(EngineAuthError, match="OPENAI_API_KEY environment variable"):
        make("openai", server).generate("hi")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(EngineAuthError, match="No token or key was sent"):
        make("openai", server).generate("hi")
    assert make("openai", server, api_key="sk-the-right-key-000000").generate("hi").text == CODE_REPLY
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "wrong-azure-key-0000")
    with pytest.raises(EngineAuthError, match="AZURE_OPENAI_API_KEY environment variable"):
        AzureOpenAIEngine("dep", azure_endpoint=server.url, **FAST).generate("hi")


def test_missing_key_for_openai_itself_fails_before_sending():
    engine = OpenAIEngine("gpt-4o-mini")
    assert engine.max_tokens_param == "max_completion_tokens" and engine.spec == "openai:gpt-4o-mini"
    with pytest.raises(EngineAuthError, match="OPENAI_API_KEY"):
        engine.generate("hi")


def test_missing_client_libraries_name_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(MissingDependencyError, match=r"nbagents\[remote\]"):
        EndpointEngine("http://127.0.0.1:9").generate("hi")
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(MissingDependencyError, match=r"nbagents\[openai\]"):
        OpenAIEngine("m", base_url="http://127.0.0.1:9/v1").generate("hi")


@pytest.mark.parametrize("flavour", ["tgi-generate", "openai"])
def test_close_closes_the_pool_and_the_next_call_opens_a_new_one(server, flavour):
    engine = make(flavour, server)
    assert engine.generate("hi").text == CODE_REPLY
    first = engine._client()
    engine.close()
    assert first.is_closed if flavour == "tgi-generate" else first.is_closed()
    engine.close()  # closing twice is harmless
    assert engine.generate("hi").text == CODE_REPLY and engine._client() is not first


def test_the_served_model_is_a_fact_where_it_differs_from_the_one_asked_for():
    import httpx

    def client(served: str) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json={
            "id": "c", "object": "chat.completion", "created": 1, "model": served,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "hi"}}]})))

    for served, fact in (("gpt-4o-2024-08-06", "gpt-4o-2024-08-06"), ("gpt-4o", None)):
        engine = OpenAIEngine("gpt-4o", base_url="http://127.0.0.1:9/v1", stream=False,
                              http_client=client(served))
        assert engine.generate("hi").facts.get("served_model") == fact


def test_unknown_generate_options_are_refused(server):
    from nbagents.grammar import Grammar

    with pytest.raises(ConfigurationError, match="cannot honour a 'lark' constraint"):
        make("tgi-generate", server).generate("hi", constraint=Grammar('start: "x"'))
    with pytest.raises(ConfigurationError, match="Unknown sampling option.*bogus"):
        make("openai", server).generate("hi", sampling={"bogus": 1})
    with pytest.raises(ConfigurationError, match="does not take top_k"):
        make("openai", server).generate("hi", sampling={"top_k": 5})
    with pytest.raises(ConfigurationError, match="does not take top_k"):
        make("tgi-generate", server).generate("hi", sampling={"top_k": 5})
    with pytest.raises(ConfigurationError) as e:
        make("openai", server).generate("hi", sampling={"do_sample": True, "top_k": 5, "seed": 1})
    assert e.value.message == "The OpenAI engine does not take do_sample, top_k."
    assert e.value.hint.startswith("It takes: temperature, top_p, seed (the API always samples;")
    with pytest.raises(ConfigurationError) as e:
        make("tgi-chat", server).generate("hi", sampling={"top_k": 5, "do_sample": True})
    assert e.value.message == "The endpoint engine does not take top_k."
    assert e.value.hint == "It takes: do_sample, temperature, top_p, seed."
    assert server.generation_requests() == []  # refused before anything was sent


# --- KeyboardInterrupt ---------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_interrupt_while_streaming_closes_the_connection(flavour):
    with FakeServer("y = 1\n" * 300, info=dict(TGI_INFO), chunk_delay=0.005) as server:
        engine = make(flavour, server)
        seen = []

        def on_token(piece):
            seen.append(piece)
            if len(seen) == 3:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            engine.generate("hi", on_token=on_token)
        assert server.wait_for_disconnect()
        server.reply = CODE_REPLY
        assert engine.generate("hi").text == CODE_REPLY  # still usable


@pytest.mark.parametrize("flavour", ["tgi-generate", "tgi-chat", "openai"])
def test_sigint_during_a_blocking_read_cancels_the_request(server, flavour):
    engine = make(flavour, server)
    engine.generate("hi")  # imports and connections first: the signal must land in the request
    server.push(slow(1.5))
    main = threading.main_thread().ident
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    # A kernel turns SIGINT into KeyboardInterrupt; so does Python, unless started with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.generate("hi", stream=False)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 1.2
    assert engine.generate("hi").text == CODE_REPLY


# --- end to end through the Agent ---------------------------------------------------------------


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


AGENT_REPLY = "I will count the words.\n```py\nresult = word_count(text=sentence)\n```"


class _NoCheck:
    def check(self, code, tools):
        return None


def make_agent(engine, **options):
    """An Agent over ``engine`` with one tool."""
    return checkable(Agent(engine=engine, add_default_tools=False, tools=[word_count], **options))


def checkable(agent):
    """generate_code() only asks the interpreter to check the code; while the interpreter package
    is being written (not importable), a no-op checker stands in."""
    try:
        from nbagents.interpreter import Interpreter  # noqa: F401
    except ImportError:
        agent._interpreter = _NoCheck()
    return agent


@pytest.mark.parametrize("flavour", ["tgi-generate", "tgi-chat", "hf-compat", "openai"])
def test_agent_generate_code_end_to_end(flavour):
    with FakeServer(AGENT_REPLY + "\nTask: something else", info=dict(TGI_INFO), ignore_stop=True) as server:
        engine = make(flavour, server)
        run = make_agent(engine).generate_code("Count the words of the sentence", sentence="a b c")
        assert run.error is None, run.error
        assert run.raw_output == AGENT_REPLY
        assert run.code == "result = word_count(text=sentence)"
        body = server.last.json
        sent_prompt = body.get("inputs") or "\n".join(m["content"] for m in body.get("messages", [])) \
            or body.get("prompt")
        assert "Count the words of the sentence" in sent_prompt and "word_count(text: str)" in sent_prompt
        sent_stop = body.get("stop") or body["parameters"]["stop"]
        assert sent_stop == list(run.stop)[:4] and "\nTask:" in run.stop
        assert run.engine == engine.spec and run.facts["retries"] == 0
        if flavour in ("tgi-generate", "tgi-chat"):
            assert run.model_id == "fake/model"


def test_compat_agents_reach_the_servers(server):
    server.reply = AGENT_REPLY
    agent = checkable(HfAgent(server.url, token="hf_CompatToken0000000000", add_default_tools=False,
                              tools=[word_count], **FAST))
    assert agent.generate_code("Count", sentence="a").code == "result = word_count(text=sentence)"
    assert server.last.header("authorization") == "Bearer hf_CompatToken0000000000"
    agent = checkable(OpenAiAgent("fake-model", api_key="sk-CompatKey00000000000",
                                  base_url=server.url + "/v1", add_default_tools=False, tools=[word_count]))
    assert agent.generate_code("Count", sentence="a").error is None
    agent = checkable(AzureOpenAiAgent("dep", api_key="azure-test-key-0000", azure_endpoint=server.url,
                                       api_version="2024-02-01", is_chat_model=True,
                                       add_default_tools=False, tools=[word_count]))
    assert agent.generate_code("Count", sentence="a").error is None
    assert server.last.query["api-version"] == ["2024-02-01"]


def test_registry_specs(server):
    e = load_engine(f"endpoint:{server.url}", shared=False)
    assert isinstance(e, EndpointEngine) and e.spec == f"endpoint:{server.url}"
    e = load_engine(f"openai:fake-model@{server.url}/v1", shared=False)
    assert isinstance(e, OpenAIEngine) and e.base_url == f"{server.url}/v1"
    assert e.spec == f"openai:fake-model@{server.url}/v1" and e.generate("hi").text == CODE_REPLY
    e = load_engine("azure:dep", shared=False, api_key="azure-test-key-0000", azure_endpoint=server.url)
    assert isinstance(e, AzureOpenAIEngine) and e.generate("hi").text == CODE_REPLY
    e = load_engine("openai:llama3:8b", shared=False, base_url=server.url + "/v1")
    assert e.model_id == "llama3:8b"


# --- the shared helpers ------------------------------------------------------------------------


def test_parse_context_error_wordings():
    assert parse_context_error(TGI_TOO_LONG, 7) == (1549, 200, 1512)
    assert parse_context_error(OPENAI_TOO_LONG, 7) == (4800, 200, 4097)
    assert parse_context_error("This model's maximum context length is 8192 tokens. However, your "
                               "messages resulted in 9000 tokens.", 100) == (9000, 100, 8192)
    assert parse_context_error("'max_tokens' is too large: 500. This model's maximum context length "
                               "is 2048 tokens and your request has 1600 input tokens", 500) == (1600, 500, 2048)
    assert parse_context_error("Input validation error: `inputs` must have less than 1024 tokens. "
                               "Given: 1500", 100) == (1500, 100, 1123)
    assert parse_context_error("Something else", 10) is None


def test_retry_after_forms():
    assert retry_after_seconds({"Retry-After": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < retry_after_seconds({"Retry-After": date}) <= 31
    assert retry_after_seconds({}, b'{"error": "loading", "estimated_time": 3.5}') == 3.5
    assert retry_after_seconds({"Retry-After": "soon"}) is None


def test_retry_policy_caps_waits():
    policy = RetryPolicy(max_retries=5, max_wait=1.0, backoff=0.4, max_backoff=0.5)
    attempts = Attempts()
    waits = []
    for _ in range(5):
        wait = policy.next_wait(HTTPFailure(503, "x"), attempts)
        if wait is None:
            break
        waits.append(wait)
        attempts.retries += 1
        attempts.waited += wait
    assert waits == [0.4, 0.5, pytest.approx(0.1)] and "max_wait" in attempts.gave_up
    assert policy.next_wait(HTTPFailure(400, "x"), Attempts()) is None


def test_sse_and_server_messages_and_safe_urls():
    lines = ["data: {\"a\": 1}", "", ": comment", "event: error", "data:line1", "data: line2", ""]
    assert list(sse_events(iter(lines))) == ['{"a": 1}', "line1\nline2"]
    assert server_message({"error": {"message": "boom", "type": "x"}}) == "boom"
    assert server_message(b'{"error": "tgi says"}') == "tgi says"
    assert server_message("<html>\n  Bad gateway</html>") == "<html> Bad gateway</html>"
    assert safe_url("https://user:pa55word@host:8443/v1?api_key=abc") == "https://host:8443/v1"
    assert safe_url("http://user:pa55word@[::1]:8080/v1?k=1#f") == "http://[::1]:8080/v1"
    assert "pa55word" not in safe_url("http://user:pa55word@host:port/v1")  # a bad port: redacted
