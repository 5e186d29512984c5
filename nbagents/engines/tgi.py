"""TGI's wire format: request bodies for the generate route and the Messages API, whole and
streamed replies (server-sent events), finish reasons and server versions.

Functions of what they need (the messages, the settings, the httpx response), not of the engine:
:class:`~nbagents.engines.endpoint.EndpointEngine` chooses the route and the grammar and feeds them
here. A response is anything with ``headers``, ``read()`` and ``iter_lines()`` (an httpx response
opened with ``stream=True``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import EngineResponseError
from .http import Reply, cut_off, sentence_case, server_message, sse_events, stream_error

__all__ = [
    "CHAT_SINCE",
    "GRAMMAR_SINCE",
    "chat_body",
    "finish_reason",
    "generate_body",
    "header_int",
    "is_event_stream",
    "max_stop",
    "read_chat",
    "read_event",
    "read_generate",
    "read_json",
    "version",
]

#: The first TGI version with the Messages API (``/v1/chat/completions``).
CHAT_SINCE = (1, 4, 0)
#: The first TGI versions that take a grammar: on /generate (1.4.3), in the Messages API's
#: response_format (2.2; it came in mid-2024, the exact release is not pinned, so stay on the safe side).
GRAMMAR_SINCE = {"generate": (1, 4, 3), "chat": (2, 2, 0)}
#: TGI's default ``max_stop_sequences``.
DEFAULT_MAX_STOP = 4


def version(text: Any) -> tuple[int, int, int] | None:
    """``"2.4.0"`` (or ``"2.4"``, ``"1.4.3-dev"``) as ``(2, 4, 0)``; ``None`` if it is no version."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(text or ""))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)) if m else None


def max_stop(info: Mapping[str, Any]) -> int:
    """TGI refuses more than ``max_stop_sequences`` (4 by default); the rest are cut client-side."""
    value = info.get("max_stop_sequences")
    return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_STOP


# --- requests ----------------------------------------------------------------------------------


def generate_body(prompt_text: str, stop: Sequence[str], max_new_tokens: int,
                  settings: Mapping[str, Any], *, max_stop: int = DEFAULT_MAX_STOP,
                  grammar: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body for ``/generate`` and ``/generate_stream`` (``parameters.grammar`` if given).

    ``settings`` holds ``do_sample``, ``temperature``, ``top_p`` and ``seed`` (``None``: not sent).
    """
    params: dict[str, Any] = {"max_new_tokens": max_new_tokens, "return_full_text": False,
                              "do_sample": bool(settings["do_sample"]), "details": True}
    if stop:
        params["stop"] = list(stop[:max_stop])
    for name in ("temperature", "top_p", "seed"):
        if settings[name] is not None:
            params[name] = settings[name]
    if grammar is not None:
        params["grammar"] = dict(grammar)
    return {"inputs": prompt_text, "parameters": params}


def chat_body(messages: Sequence[Mapping[str, str]], stop: Sequence[str], max_new_tokens: int,
              settings: Mapping[str, Any], *, model: str, max_stop: int = DEFAULT_MAX_STOP,
              grammar: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body for the Messages API (``response_format`` if a grammar is given).

    ``settings`` holds ``stream``, ``do_sample``, ``temperature``, ``top_p`` and ``seed``; greedy
    (``do_sample`` false) is sent as ``temperature=0``.
    """
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_new_tokens,
                            "stream": bool(settings["stream"])}
    if settings["stream"]:
        body["stream_options"] = {"include_usage": True}
    if stop:
        body["stop"] = list(stop[:max_stop])
    temperature = settings["temperature"]
    body["temperature"] = 0.0 if not settings["do_sample"] else (temperature or 1.0)
    for name in ("top_p", "seed"):
        if settings[name] is not None:
            body[name] = settings[name]
    if grammar is not None:
        body["response_format"] = dict(grammar)
    return body


# --- replies -----------------------------------------------------------------------------------


def finish_reason(reason: Any) -> str | None:
    """TGI's finish reasons in the engines' words (``eos_token``, ``stop_sequence``: ``"stop"``)."""
    return {"eos_token": "stop", "stop_sequence": "stop"}.get(reason, reason)


def read_json(data: str | bytes, where: str, what: str) -> Any:
    """``data`` as JSON; an :class:`~nbagents.errors.EngineResponseError` naming ``where`` if not."""
    try:
        return json.loads(data)
    except ValueError as e:
        shown = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        raise EngineResponseError(
            f"{sentence_case(where)} sent {what} that is not valid JSON ({getattr(e, 'msg', e)}): "
            f"{server_message(shown, limit=200)!r}",
            hint="The server, or a proxy in front of it, is not speaking the expected protocol; "
                 "check the URL and route.") from None


def read_event(data: str, where: str, max_new_tokens: int) -> dict[str, Any]:
    """One stream event as a dict; an error event raises (:func:`~nbagents.engines.http.stream_error`)."""
    event = read_json(data, where, "a stream event")
    if not isinstance(event, dict):
        raise EngineResponseError(
            f"{sentence_case(where)} sent an unexpected stream event: {data[:200]!r}")
    if "error" in event:
        raise stream_error(where, server_message({"error": event["error"]}), max_new_tokens)
    return event


def is_event_stream(response: Any) -> bool:
    """Whether the answer is server-sent events (rather than one JSON body)."""
    return "text/event-stream" in response.headers.get("content-type", "")


def header_int(response: Any, name: str) -> int | None:
    """A header's whole-number value (TGI's ``x-prompt-tokens``), or ``None``."""
    value = response.headers.get(name)
    return int(value) if value and value.isdigit() else None


def read_generate(response: Any, emit: Callable[[str], bool], *, where: str, max_new_tokens: int,
                  prompt_text: str) -> Reply:
    """The generate route's answer, whole or streamed; ``emit`` returning true stops reading.

    ``prompt_text`` is cut from the front of a whole answer that repeats it (an endpoint that
    ignored ``return_full_text=False``).
    """
    prompt_tokens = header_int(response, "x-prompt-tokens")
    if not is_event_stream(response):
        reply = read_json(response.read(), where, "a reply")
        first = reply[0] if isinstance(reply, list) and reply else reply
        text = first.get("generated_text") if isinstance(first, dict) else None
        if not isinstance(text, str):
            raise EngineResponseError(
                f"{sentence_case(where)} sent a reply without 'generated_text': "
                f"{server_message(reply, limit=200)!r}",
                hint="Is this a text-generation endpoint? Check the URL and the endpoint's task.")
        if text.startswith(prompt_text):
            text = text[len(prompt_text):]
        details = first.get("details") or {}
        emit(text)
        return Reply(text, prompt_tokens,
                     details.get("generated_tokens") or header_int(response, "x-generated-tokens"),
                     finish_reason(details.get("finish_reason")))
    pieces: list[str] = []
    final: dict[str, Any] | None = None
    for data in sse_events(response.iter_lines()):
        if final is not None:  # read to the end of the body so the connection can be reused
            continue
        event = read_event(data, where, max_new_tokens)
        token = event.get("token") or {}
        piece = "" if token.get("special") else str(token.get("text") or "")
        pieces.append(piece)
        if event.get("generated_text") is not None or event.get("details"):
            final = event
        if piece and emit(piece):
            return Reply("".join(pieces), prompt_tokens, len(pieces), "stop")
    if final is None:
        raise cut_off(where, len(pieces), "no final event")
    details = final.get("details") or {}
    return Reply("".join(pieces), prompt_tokens, details.get("generated_tokens") or len(pieces),
                 finish_reason(details.get("finish_reason")))


def read_chat(response: Any, emit: Callable[[str], bool], *, where: str,
              max_new_tokens: int) -> Reply:
    """The Messages API's answer, whole or streamed; ``emit`` returning true stops reading."""
    if not is_event_stream(response):
        reply = read_json(response.read(), where, "a reply")
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise EngineResponseError(
                f"{sentence_case(where)} sent a chat reply without choices[0].message.content: "
                f"{server_message(reply, limit=200)!r}") from None
        usage = reply.get("usage") or {}
        emit(text)
        return Reply(text, usage.get("prompt_tokens"), usage.get("completion_tokens"),
                     choice.get("finish_reason"))
    pieces: list[str] = []
    finish, usage, done = None, {}, False
    for data in sse_events(response.iter_lines()):
        if done or data.strip() == "[DONE]":
            done = True
            continue
        event = read_event(data, where, max_new_tokens)
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            finish = choice.get("finish_reason") or finish
            piece = (choice.get("delta") or {}).get("content") or ""
            if piece:
                pieces.append(piece)
                if emit(piece):
                    return Reply("".join(pieces), None, len(pieces), "stop")
    if not done and finish is None:
        raise cut_off(where, len(pieces), "no final event")
    return Reply("".join(pieces), usage.get("prompt_tokens"),
                 usage.get("completion_tokens") or len(pieces), finish)
