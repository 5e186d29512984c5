"""``RemoteTool``: a tool whose work is done by an inference endpoint over HTTP.

``load_tool("image_captioner", remote=True)`` gives the ``image_captioner`` tool (same name,
inputs and description) calling the Hugging Face inference API for its checkpoint; pass
``endpoint_url=`` for your own endpoint (a TGI/Inference Endpoints URL, a local server).

The request is ``POST <endpoint>`` with the JSON body ``{"inputs": ..., "parameters": ...}`` the
task's tool class builds (:meth:`PipelineTool.remote_payload`; images travel as base64 PNG,
audio as base64 WAV), or a raw media body for single-media tasks. Answers that are images or
audio (by ``Content-Type``) become ``AgentImage``/``AgentAudio``; JSON answers are read by the
tool class (:meth:`PipelineTool.remote_result`). HTTP goes through httpx (the ``remote`` extra);
tests inject an ``httpx`` transport.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..deps import require
from ..errors import ToolError
from ..results import AgentAudio, AgentImage
from .base import Tool
from .declaration import save_declaration
from .payloads import RawBody, default_payload, default_result
from .tasks import TASKS

__all__ = ["RemoteTool", "DEFAULT_ENDPOINT"]

DEFAULT_ENDPOINT = "https://router.huggingface.co/hf-inference/models/{repo_id}"
_HF_HOSTS = ("huggingface.co", "hf.co", "hf.space")


def _httpx():
    return require("httpx", extra="remote", purpose="Remote tools")


class RemoteTool(Tool):
    """A tool that calls an inference endpoint.

    Parameters
    ----------
    endpoint_url:
        The URL to POST to; default: the Hugging Face inference API for ``repo_id``.
    repo_id:
        The model behind the default endpoint (default: ``spec``'s ``default_checkpoint``).
    spec:
        A tool class or instance whose declaration (name, description, inputs, output type) and
        ``remote_payload``/``remote_result`` this tool uses. Or give ``name``, ``description``,
        ``inputs`` and ``output_type`` directly.
    token:
        Sent as ``Authorization: Bearer``. Without it, the Hugging Face token of this machine
        (``$HF_TOKEN`` or ``hf auth login``) is sent, and only to Hugging Face hosts.
    timeout:
        Seconds for the whole request.
    headers:
        More request headers.
    transport:
        An ``httpx`` transport (tests use ``httpx.MockTransport``).
    """

    def __init__(self, endpoint_url: str | None = None, *, repo_id: str | None = None, spec: Any = None,
                 name: str | None = None, description: str | None = None, inputs: Any = None,
                 output_type: str | None = None, token: str | None = None, timeout: float = 120.0,
                 headers: Mapping[str, str] | None = None, transport: Any = None) -> None:
        self.spec = spec
        for attr, value in (("name", name), ("description", description), ("inputs", inputs),
                            ("output_type", output_type)):
            setattr(self, attr, value if value is not None else getattr(spec, attr, getattr(Tool, attr)))
        repo_id = repo_id or getattr(spec, "default_checkpoint", None)
        if not endpoint_url and not repo_id:
            raise ToolError(f"The remote tool {self.name!r} needs endpoint_url= or repo_id=.")
        self.repo_id = repo_id
        self.endpoint_url = endpoint_url or DEFAULT_ENDPOINT.format(repo_id=repo_id)
        if urlsplit(self.endpoint_url).scheme not in ("http", "https"):
            raise ToolError(f"The endpoint must be an http(s) URL, got {self.endpoint_url!r}.")
        self.token = token
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.transport = transport
        self._client = None
        super().__init__()

    def setup(self) -> None:
        httpx = _httpx()
        self._client = httpx.Client(transport=self.transport, timeout=self.timeout, follow_redirects=True)

    def _auth(self) -> dict[str, str]:
        token = self.token
        host = (urlsplit(self.endpoint_url).hostname or "").lower()
        if token is None and any(host == h or host.endswith("." + h) for h in _HF_HOSTS):
            token = os.environ.get("HF_TOKEN")
            if not token:
                try:
                    from huggingface_hub import get_token

                    token = get_token()
                except ImportError:  # pragma: no cover - a transformers dependency
                    token = None
        return {"Authorization": f"Bearer {token}"} if token else {}

    def bind(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        """Map positional and keyword arguments to the tool's input names."""
        bound = self.bind_arguments(args, kwargs)
        for i in self.inputs:
            if i.name not in bound:
                bound[i.name] = i.default
        return bound

    def payload(self, arguments: Mapping[str, Any]) -> Any:
        build = getattr(self.spec, "remote_payload", None)
        return build(arguments) if build is not None else default_payload(arguments)

    def result(self, data: Any) -> Any:
        read = getattr(self.spec, "remote_result", None)
        return read(data) if read is not None else default_result(data, self.output_type)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        httpx = _httpx()
        body = self.payload(self.bind(args, kwargs))
        headers = {"Accept": "application/json, image/*, audio/*", **self._auth(), **self.headers}
        try:
            if isinstance(body, RawBody):
                response = self._client.post(self.endpoint_url, content=bytes(body),
                                             headers={"Content-Type": body.content_type, **headers})
            else:
                response = self._client.post(self.endpoint_url, json=body, headers=headers)
        except httpx.TimeoutException as e:
            raise ToolError(f"The endpoint {self.endpoint_url} did not answer in {self.timeout:.0f} s.") from e
        except httpx.HTTPError as e:
            raise ToolError(f"Cannot reach the endpoint {self.endpoint_url}: {e}.",
                            hint="Check the URL and the network connection.") from e
        return self._read(response)

    def _read(self, response: Any) -> Any:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code >= 400:
            raise self._http_error(response, ctype)
        if ctype.startswith("image/"):
            return AgentImage(response.content).to_raw()
        if ctype.startswith("audio/"):
            return AgentAudio(response.content)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            if ctype.startswith("text/"):
                return self.result(response.text)
            raise ToolError(f"The endpoint answered {ctype or 'an unknown type'}, not JSON or media.") from None
        if isinstance(data, Mapping) and "error" in data and len(data) <= 3:
            raise ToolError(f"The endpoint answered with an error: {data['error']}")
        return self.result(data)

    def _http_error(self, response: Any, ctype: str) -> ToolError:
        detail = ""
        estimated = None
        if ctype == "application/json":
            try:
                data = response.json()
                detail = str(data.get("error", "")) if isinstance(data, Mapping) else ""
                estimated = data.get("estimated_time") if isinstance(data, Mapping) else None
            except ValueError:
                detail = ""
        detail = detail or response.text[:300]
        code = response.status_code
        if code in (401, 403):
            return ToolError(f"The endpoint refused the request ({code}): {detail}",
                             hint="Pass token=... to load_tool, or log in with `hf auth login`.")
        if code == 404:
            return ToolError(f"The endpoint {self.endpoint_url} does not exist (404).",
                             hint="Check the model id, or pass endpoint_url= for your own endpoint.")
        if code == 503:
            wait = f" (about {float(estimated):.0f} s)" if estimated else ""
            return ToolError(f"The endpoint is loading the model{wait}; call the tool again later.")
        if code == 429:
            return ToolError("The endpoint's rate limit was hit (429); wait and call again.")
        return ToolError(f"The endpoint answered {code}: {detail}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "endpoint_url": self.endpoint_url}

    def save(self, folder: Any) -> Any:
        """Save ``tool.json`` alone (declaration, endpoint, task): it loads without running code.

        The token is never written.
        """
        task = self.name if self.spec is not None and TASKS.get(self.name, "").endswith(
            ":" + getattr(self.spec, "__qualname__", type(self.spec).__qualname__)) else None
        return save_declaration(self, folder, task=task)

    def __repr__(self) -> str:
        return f"<RemoteTool {self.signature(short=True)} at {self.endpoint_url}>"

