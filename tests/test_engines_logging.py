"""The HTTP stack's own DEBUG logs (httpx, httpcore, the openai SDK...) carry no credential while an
engine call runs, even from a server that echoes the ``Authorization`` header back in every answer;
ordinary records still come through, and the filter is gone once the call is over."""

from __future__ import annotations

import base64
import logging
import threading
import uuid

import httpx
import pytest
from servers import FakeServer, rate_limited, unauthorized

from nbagents.engines.azure import AzureOpenAIEngine
from nbagents.engines.endpoint import EndpointEngine
from nbagents.engines.openai import OpenAIEngine
from nbagents.errors import EngineError
from nbagents.redaction import (
    HTTP_LOGGERS,
    REDACTED,
    RedactingFilter,
    redact_log_text,
    redacted_http_logs,
    register_secret,
)

pytestmark = pytest.mark.usefixtures("no_ambient_credentials")

TGI_INFO = {"model_id": "fake/model", "max_total_tokens": 4096, "version": "2.4.0"}
REPLY = "I will add.\n```py\nresult = 1 + 2\n```"
FLAVOURS = ["tgi-generate", "tgi-chat", "hf-compat", "openai", "azure"]


class Records(logging.Handler):
    """Every record that reaches the root logger, kept."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]

    def text(self) -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(formatter.format(r) for r in self.records)


@pytest.fixture
def records(caplog):
    """DEBUG on, for root and every logger of the stack; a handler on root keeps the records."""
    caplog.set_level(logging.DEBUG)
    for name in HTTP_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    handler = Records()
    logging.root.addHandler(handler)
    yield handler
    logging.root.removeHandler(handler)


def secret(kind: str) -> str:
    """A key of no known shape (only registration and the header rules can catch it)."""
    return f"PLAIN-{kind}-{uuid.uuid4().hex[:16]}"


def build(flavour: str, url: str, key: str, **options):
    options = {"backoff": 0.01, "connect_timeout": 2.0, "read_timeout": 5.0, **options}
    if flavour == "tgi-generate":
        return EndpointEngine(url, token=key, route="generate", **options)
    if flavour == "tgi-chat":
        return EndpointEngine(url, token=key, route="chat", **options)
    if flavour == "hf-compat":
        return EndpointEngine(url, token=key, **options)
    if flavour == "openai":
        return OpenAIEngine("fake-model", api_key=key, base_url=url + "/v1", **options)
    return AzureOpenAIEngine("dep", api_key=key, azure_endpoint=url, **options)


def no_filters_left() -> bool:
    carriers = [logging.root, *logging.root.handlers,
                *(obj for name, obj in logging.root.manager.loggerDict.items()
                  if isinstance(obj, logging.Logger))]
    return not any(isinstance(f, RedactingFilter) for c in carriers for f in c.filters)


def assert_clean(records: Records, key: str, caplog) -> None:
    assert records.records, "no record was captured"
    for text in [*records.messages(), records.text(), caplog.text]:
        assert key not in text
    for record in caplog.records:
        assert key not in record.getMessage() and key not in str(record.__dict__)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "sse"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_echoed_key_is_in_no_log_record(flavour, stream, records, caplog):
    key = secret(flavour)
    info = dict(TGI_INFO) if flavour != "hf-compat" else None
    with FakeServer(REPLY, info=info, api_key=key, echo_auth=True) as server:
        engine = build(flavour, server.url, key, stream=stream)
        completion = engine.generate("Add one and two")
        assert completion.text == REPLY and completion.facts["streamed"] is stream
        engine.close()
        echoed = [r for r in server.requests if key in (r.header("authorization") or "")
                  + (r.header("api-key") or "")]
        assert echoed, "the key was sent (and echoed back)"
    assert_clean(records, key, caplog)
    messages = "\n".join(records.messages())
    # the ordinary records came through, with the echo in them redacted
    assert "receive_response_headers.complete" in messages
    echo = "(b'api-key', b'{}')" if flavour == "azure" else "(b'X-Echo-Authorization', b'{}')"
    assert echo.format(REDACTED) in messages
    assert any(r.name in ("httpx", "httpx2") for r in records.records)
    assert no_filters_left()


@pytest.mark.parametrize("flavour", ["tgi-chat", "openai"])
def test_retries_and_refusals_leave_no_key_in_the_logs(flavour, records, caplog):
    key = secret("retry")
    with FakeServer(REPLY, info=dict(TGI_INFO), echo_auth=True) as server:
        server.push(rate_limited("0"), unauthorized(401, echo_token=True))
        with pytest.raises(EngineError):
            build(flavour, server.url, key).generate("hi")
        assert len(server.generation_requests()) == 2
    assert_clean(records, key, caplog)
    assert no_filters_left()


def test_basic_auth_from_the_url_is_redacted_by_shape(records, caplog):
    """The password is registered, but the header carries base64(user:password): only the
    header rule knows it is a credential."""
    password = secret("pw")
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    with FakeServer(REPLY, info=dict(TGI_INFO), echo_auth=True) as server:
        url = server.url.replace("http://", f"http://alice:{password}@")
        assert EndpointEngine(url, route="generate", backoff=0.01).generate("hi").text == REPLY
        assert server.last.header("authorization") == f"Basic {basic}"
    assert_clean(records, basic, caplog)
    assert_clean(records, password, caplog)


def test_without_the_filter_httpcore_does_write_the_key(records, caplog):
    """The test above can fail: the same request outside an engine call leaks the echo."""
    key = secret("control")
    with FakeServer(REPLY, info=dict(TGI_INFO), echo_auth=True) as server:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client() as client:
            assert client.get(f"{server.url}/info", headers=headers).status_code == 200
            assert any(key in m for m in records.messages())
            records.records.clear()
            with redacted_http_logs():
                assert client.get(f"{server.url}/info", headers=headers).status_code == 200
            assert records.records and not any(key in m for m in records.messages())
            records.records.clear()
            assert client.get(f"{server.url}/info", headers=headers).status_code == 200
            assert any(key in m for m in records.messages())  # removed after the block


def test_loggers_created_during_the_block_are_redacted(records):
    key = secret("late")
    register_secret(key)
    name = f"httpcore.born_late_{uuid.uuid4().hex[:8]}"
    with redacted_http_logs():
        late = logging.getLogger(name)  # after the filter went on: only the handlers' copy sees it
        late.debug("headers=[(b'x-echo', b'%s')]", key)
        logging.getLogger("someone.else").debug("unrelated %s", "args")
    mine = [r for r in records.records if r.name == name]
    assert mine and key not in mine[0].getMessage() and REDACTED in mine[0].getMessage()
    other = [r for r in records.records if r.name == "someone.else"]
    assert other and other[0].args == ("args",)  # other libraries' records are left alone
    assert no_filters_left()


def test_nested_and_concurrent_blocks_share_one_filter(records):
    key = secret("threads")
    register_secret(key)
    logger = logging.getLogger("httpcore.http11")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(50):
                with redacted_http_logs():
                    with redacted_http_logs():
                        logger.debug("Authorization: Bearer %s", key)
                    logger.debug("value %s", key)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len([r for r in records.records if r.name == "httpcore.http11"]) == 8 * 50 * 2
    assert not any(key in m for m in records.messages())
    assert no_filters_left()


def test_a_bad_format_string_does_not_leak_through_logging_errors(records, capsys):
    key = secret("fmt")
    register_secret(key)
    with redacted_http_logs():
        logging.getLogger("httpx").debug("two %s %s", key)  # one arg short
    assert records.records and key not in records.messages()[-1]
    assert key not in capsys.readouterr().err


def test_exception_tracebacks_are_redacted(records):
    key = secret("exc")
    register_secret(key)
    with redacted_http_logs():
        try:
            raise ValueError(f"refused {key}")
        except ValueError:
            logging.getLogger("openai._base_client").debug("failed", exc_info=True)
    assert key not in records.text() and "ValueError: refused [REDACTED]" in records.text()


@pytest.mark.parametrize(("text", "expected"), [
    ("[(b'Authorization', b'Bearer abc.def'), (b'accept', b'*/*')]",
     f"[(b'Authorization', b'{REDACTED}'), (b'accept', b'*/*')]"),
    ("[(b'x-echo-authorization', b'Basic dXNlcjpwdw==')]", f"[(b'x-echo-authorization', b'{REDACTED}')]"),
    ("Headers({'api-key': 'k1k2k3', 'content-type': 'application/json'})",
     f"Headers({{'api-key': '{REDACTED}', 'content-type': 'application/json'}})"),
    ('{"Ocp-Apim-Subscription-Key": "abc"}', f'{{"Ocp-Apim-Subscription-Key": "{REDACTED}"}}'),
    ("Authorization: Digest x=1\r\nAccept: */*", f"Authorization: {REDACTED}\r\nAccept: */*"),
    ("Cookie: session=abc; theme=dark", f"Cookie: {REDACTED}; theme=dark"),
    ("X-API-Key=abc&q=1", f"X-API-Key={REDACTED}&q=1"),
    ("authorization failed: the key was refused", "authorization failed: the key was refused"),
    ("send_request_headers.started request=<Request [b'POST']>",
     "send_request_headers.started request=<Request [b'POST']>"),
    (f"(b'Authorization', b'{REDACTED}')", f"(b'Authorization', b'{REDACTED}')"),
])
def test_credential_header_values_whatever_their_shape(text, expected):
    assert redact_log_text(text) == expected
    assert redact_log_text(expected) == expected  # idempotent


def test_registered_secrets_are_caught_in_their_escaped_forms():
    key = 'PLAIN-"quoted"\\slash-é-' + uuid.uuid4().hex[:8]
    register_secret(key)
    import json

    for form in (key, repr(key), repr(key.encode()), json.dumps(key), str([key])):
        assert key.split("-")[-1] not in redact_log_text(form), form
