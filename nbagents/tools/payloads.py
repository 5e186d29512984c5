"""What travels between a tool and an inference endpoint: the JSON body built from a tool's
arguments (images as base64 PNG, audio as base64 WAV, or a raw media body) and the result read
from the JSON answer. Used by :class:`~nbagents.tools.remote.RemoteTool` and by the tool classes'
``remote_payload``/``remote_result`` (:class:`~nbagents.tools.pipeline.PipelineTool`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ..errors import ToolError
from ..kinds import kind_of
from ..results import AgentAudio, AgentImage

__all__ = ["RawBody", "default_payload", "default_result", "encode_value", "raw_media"]


class RawBody(bytes):
    """A request body sent as is (not JSON), with its content type."""

    content_type = "application/octet-stream"

    def __new__(cls, data: bytes, content_type: str = "application/octet-stream") -> RawBody:
        obj = super().__new__(cls, data)
        obj.content_type = content_type
        return obj


def encode_value(value: Any) -> Any:
    """A JSON-friendly value: images as base64 PNG, audio as base64 WAV, containers recursively."""
    kind = kind_of(value)
    if kind is not None and kind.name == "image":  # an AgentImage or a PIL image
        return base64.b64encode(AgentImage(value).png_bytes()).decode("ascii")
    if isinstance(value, AgentAudio):
        return base64.b64encode(value.wav_bytes()).decode("ascii")
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    return str(value) if isinstance(value, str) else value


def raw_media(value: Any) -> RawBody:
    """An image or audio value as a raw request body (PNG / WAV)."""
    if isinstance(value, AgentAudio):
        return RawBody(value.wav_bytes(), "audio/wav")
    return RawBody(AgentImage(value).png_bytes(), "image/png")


def default_payload(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``{"inputs": value}`` for one argument, ``{"inputs": {name: value, ...}}`` for several."""
    values = {k: encode_value(v) for k, v in arguments.items() if v is not None}
    if len(values) == 1:
        return {"inputs": next(iter(values.values()))}
    return {"inputs": values}


_TEXT_KEYS = ("generated_text", "summary_text", "translation_text", "answer", "text", "label",
              "caption", "output")


def _find_text(data: Any) -> Any:
    if isinstance(data, str):
        return data
    if isinstance(data, list) and data:
        if all(isinstance(d, Mapping) and "score" in d for d in data):
            data = sorted(data, key=lambda d: d.get("score", 0), reverse=True)
        return _find_text(data[0])
    if isinstance(data, Mapping):
        for key in _TEXT_KEYS:
            if key in data:
                return _find_text(data[key])
        if isinstance(data.get("labels"), list) and data["labels"]:
            return str(data["labels"][0])
    return None


def _b64(value: str) -> bytes:
    if value.startswith("data:"):
        value = value.split(",", 1)[1]
    return base64.b64decode(value)


def default_result(data: Any, output_type: str) -> Any:
    """The result from a JSON answer: text under the usual keys, base64 media for image/audio."""
    if output_type in ("image", "audio"):
        found = data
        if isinstance(found, list) and found:
            found = found[0]
        if isinstance(found, Mapping):
            for key in ("image", "mask", "images", "audio", "blob", "data"):
                if key in found:
                    found = found[key]
                    break
        if isinstance(found, list) and found:
            found = found[0]
        if isinstance(found, str):
            raw = _b64(found)
            return AgentImage(raw) if output_type == "image" else AgentAudio(raw)
        raise ToolError(f"The endpoint's answer holds no {output_type}: {json.dumps(data)[:200]}")
    if output_type == "str":
        text = _find_text(data)
        if text is None:
            raise ToolError(f"The endpoint's answer holds no text: {json.dumps(data)[:200]}")
        return str(text).strip()
    return data
