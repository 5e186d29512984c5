"""Secrets never leave: a recognisable fake token goes through every remote engine and every fault
path, and is found in no Run, history row, error message, traceback, engine description or log line
(DEBUG, httpx/httpcore/openai loggers included)."""

from __future__ import annotations

import logging
import traceback
import uuid

import pytest
from servers import (
    FakeServer,
    closed_port,
    cut_stream,
    malformed_json,
    rate_limited,
    server_error,
    slow,
    stream_error,
    too_long,
    truncated_json,
    unauthorized,
    unfinished_stream,
)

from nbagents import Agent, tool
from nbagents.engines.azure import AzureOpenAIEngine
from nbagents.engines.endpoint import EndpointEngine
from nbagents.engines.openai import OpenAIEngine
from nbagents.redaction import REDACTED, redact, register_secret

TGI_INFO = {"model_id": "fake/model", "max_total_tokens": 4096, "version": "2.4.0"}
REPLY = "I will count.\n```py\nresult = word_count(text=sentence)\n```"
LOGGERS = ("nbagents", "httpx", "httpcore", "httpx2", "httpcore2", "openai", "huggingface_hub")
AMBIENT = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL",
           "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
           "http_proxy", "https_proxy", "all_proxy")

# Shaped like real tokens (the redactor knows these shapes) ...
HF_TOKEN = "hf_FAKEtoken1234567890abcdef"
OPENAI_KEY = "sk-FAKEkey1234567890abcdefghij"


def plain_secret(kind: str) -> str:
    """... and shapeless ones, new each time, that only register_secret can catch."""
    return f"FAKE-{kind}-{uuid.uuid4().hex[:16]}"


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


class _NoCheck:
    def check(self, code, tools):
        return None


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, caplog):
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


def agent_over(engine, tmp_path):
    from nbagents.history import HistoryStore

    agent = Agent(engine=engine, add_default_tools=False, tools=[word_count],
                  store=HistoryStore(tmp_path / "history.sqlite"))
    try:
        from nbagents.interpreter import Interpreter  # noqa: F401
    except ImportError:  # the interpreter is being written; generate_code only needs check()
        agent._interpreter = _NoCheck()
    return agent


def everything_written(agent, run, engine, caplog, tmp_path) -> str:
    """Every text a secret could leak into."""
    texts = [run.to_json(), repr(engine), engine.spec, str(engine.describe()), caplog.text]
    for handler_record in caplog.records:
        texts.append(str(handler_record.__dict__))
    exc = run.exception
    if exc is not None:
        texts += [str(exc), repr(exc), str(exc.to_dict()),
                  "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
        cause = exc.__cause__
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__
    for path in tmp_path.glob("history.sqlite*"):
        texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


FAULTS = {
    "ok": ([], {}),
    "401-echo": ([unauthorized(401, echo_token=True)], {}),
    "403-echo": ([unauthorized(403, echo_token=True)], {}),
    "429": ([rate_limited("0")] * 3, {"max_retries": 2}),
    "500-echo": ([server_error(500)] * 2, {"max_retries": 1}),
    "too-long": (["too_long"], {}),
    "malformed": ([malformed_json()], {"stream": False}),
    "truncated": ([truncated_json()], {"stream": False}),
    "cut-stream": ([cut_stream(2)], {}),
    "unfinished-stream": ([unfinished_stream(2)], {}),
    "stream-error": ([stream_error("worker crashed")], {}),
    "read-timeout": ([slow(0.6)], {"read_timeout": 0.1}),
    "refused": ([], {}),
}


def build(flavour: str, url: str, secret: str, **options):
    options = {"backoff": 0.01, "connect_timeout": 2.0, **options}
    if flavour == "tgi-generate":
        return EndpointEngine(url, token=secret, route="generate", **options)
    if flavour == "tgi-chat":
        return EndpointEngine(url, token=secret, route="chat", **options)
    if flavour == "hf-compat":
        return EndpointEngine(url, token=secret, **options)
    if flavour == "openai":
        return OpenAIEngine("fake-model", api_key=secret, base_url=url + "/v1", **options)
    return AzureOpenAIEngine("dep", api_key=secret, azure_endpoint=url, **options)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("flavour", ["tgi-generate", "tgi-chat", "hf-compat", "openai", "azure"])
def test_no_secret_anywhere_on_any_path(flavour, fault, caplog, tmp_path):
    shaped = OPENAI_KEY if flavour in ("openai", "azure") else HF_TOKEN
    plain = plain_secret(flavour)
    faults, options = FAULTS[fault]
    with FakeServer(REPLY, info=dict(TGI_INFO) if flavour != "hf-compat" else None) as server:
        url = f"http://127.0.0.1:{closed_port()}" if fault == "refused" else server.url
        for secret in (shaped, plain):
            if fault == "500-echo":  # a 5xx whose body quotes the credentials back
                faults = [server_error(500)] * 2
                for f in faults:
                    f.echo_token = True
            server.push(*[too_long("openai" if flavour in ("openai", "azure") else "tgi")
                          if f == "too_long" else f for f in faults])
            caplog.clear()
            engine = build(flavour, url, secret, **options)
            agent = agent_over(engine, tmp_path)
            run = agent.generate_code("Count the words", sentence="a b c")
            assert (run.error is None) == (fault == "ok"), run.error
            if fault != "refused":
                last = server.generation_requests()[-1]
                assert secret in (last.header("authorization") or "") + (last.header("api-key") or "")
                assert "127.0.0.1" in caplog.text  # the DEBUG logs were captured
            written = everything_written(agent, run, engine, caplog, tmp_path)
            assert secret not in written
            server.faults.clear()


def test_engines_register_their_secrets_without_sending_anything(monkeypatch):
    for make in (
        lambda s: EndpointEngine("http://127.0.0.1:9", token=s),
        lambda s: EndpointEngine("owner/model", token=f"Bearer {s}"),
        lambda s: OpenAIEngine("m", api_key=s),
        lambda s: AzureOpenAIEngine("dep", api_key=s, resource_name="res"),
    ):
        secret = plain_secret("reg")
        engine = make(secret)
        assert redact(f"x {secret} y") == f"x {REDACTED} y"
        assert secret not in repr(engine.credential) and secret not in str(engine.describe())
    for env, make in (("HF_TOKEN", lambda: EndpointEngine("http://127.0.0.1:9")),
                      ("OPENAI_API_KEY", lambda: OpenAIEngine("m")),
                      ("AZURE_OPENAI_API_KEY", lambda: AzureOpenAIEngine("dep", resource_name="r"))):
        secret = plain_secret("env")
        monkeypatch.setenv(env, secret)
        assert env in make().credential.source
        assert redact(secret) == REDACTED
    import huggingface_hub

    secret = plain_secret("login")
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: secret)
    assert "login" in EndpointEngine("owner/model").credential.source
    assert redact(secret) == REDACTED


def test_url_credentials_are_kept_out_of_spec_and_messages():
    password = plain_secret("pw")
    engine = EndpointEngine(f"http://user:{password}@127.0.0.1:{closed_port()}", connect_timeout=1)
    assert password not in engine.spec and password not in str(engine.describe())
    with pytest.raises(Exception) as info:
        engine.generate("hi")
    assert password not in str(info.value)


def test_redact_known_shapes_and_registered_secrets():
    assert redact(f"token {HF_TOKEN} and {OPENAI_KEY}") == f"token {REDACTED} and {REDACTED}"
    assert redact("Authorization: Bearer abcdefgh12345678") == f"Authorization: {REDACTED}"
    assert redact("https://x/y?api_key=abc123&q=1") == f"https://x/y?{REDACTED}&q=1"
    secret = plain_secret("unit")
    assert redact(secret) == secret
    register_secret(secret)
    assert redact({"a": [secret, (secret,)]}) == {"a": [REDACTED, (REDACTED,)]}
    register_secret("short")  # too short to be a secret worth matching everywhere
    assert redact("shortcut") == "shortcut"
