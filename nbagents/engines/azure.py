"""Azure OpenAI deployments: ``azure:<deployment>``.

:class:`AzureOpenAIEngine` is the OpenAI engine (:mod:`nbagents.engines.openai`) with Azure's client
(deployment routes, ``api-version``, keys or an Entra ID token provider) and Azure's own defaults:
``max_tokens``, and structured output from api-version 2024-08-01 on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError, EngineAuthError
from ..redaction import register_secret
from .http import safe_url
from .openai import OpenAIEngine

__all__ = ["AzureOpenAIEngine"]


class AzureOpenAIEngine(OpenAIEngine):
    """An engine over an Azure OpenAI deployment.

    Parameters
    ----------
    deployment_id:
        The deployment name.
    api_key:
        The key. Default: ``AZURE_OPENAI_API_KEY``.
    resource_name:
        The Azure resource (``https://<resource_name>.openai.azure.com``); or give
        ``azure_endpoint``. Defaults: ``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_RESOURCE_NAME``.
    api_version:
        Default: ``OPENAI_API_VERSION``, else ``2024-10-21``.
    is_chat_model:
        ``False`` uses the legacy completions API (Transformers' AzureOpenAiAgent parameter).
    azure_ad_token_provider:
        A function returning an Entra ID token, instead of a key.
    options:
        As for :class:`OpenAIEngine` (``stream``, ``temperature``, timeouts, retries, ...).
    """

    key_env = ("AZURE_OPENAI_API_KEY",)
    credential_help = ("Pass api_key=... or set AZURE_OPENAI_API_KEY (the key of the Azure OpenAI "
                       "resource, from its Keys and Endpoint page), or pass azure_ad_token_provider=.")
    default_api_version = "2024-10-21"

    def __init__(
        self,
        deployment_id: str,
        api_key: str | None = None,
        resource_name: str | None = None,
        api_version: str | None = None,
        is_chat_model: bool | None = None,
        *,
        azure_endpoint: str | None = None,
        azure_ad_token_provider: Callable[[], str] | None = None,
        **options: Any,
    ) -> None:
        if is_chat_model is not None:
            options.setdefault("api", "chat" if is_chat_model else "completions")
        options.setdefault("max_tokens_param", "max_tokens")
        super().__init__(deployment_id, api_key=api_key, **options)
        resource_name = resource_name or os.environ.get("AZURE_OPENAI_RESOURCE_NAME")
        endpoint = (azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
                    or (f"https://{resource_name}.openai.azure.com" if resource_name else None))
        if not endpoint:
            raise ConfigurationError(
                "The Azure OpenAI engine needs the resource's endpoint.",
                hint="Pass azure_endpoint='https://<resource>.openai.azure.com' or resource_name=..., "
                     "or set AZURE_OPENAI_ENDPOINT.")
        self.azure_endpoint = endpoint.rstrip("/")
        self.api_version = (api_version or os.environ.get("OPENAI_API_VERSION")
                            or os.environ.get("AZURE_OPENAI_API_VERSION") or self.default_api_version)
        self.token_provider = azure_ad_token_provider
        self.url = safe_url(f"{self.azure_endpoint}/openai/deployments/{deployment_id}")
        self.spec = f"azure:{deployment_id}"
        if azure_ad_token_provider is not None and not self.credential.present:
            self.credential = type(self.credential)(None, "azure_ad_token_provider")

    @classmethod
    def from_spec(cls, rest: str, **options: Any) -> AzureOpenAIEngine:
        """``azure:<deployment>``."""
        if not rest.strip():
            raise ConfigurationError("azure: needs a deployment name, e.g. azure:gpt-4o.")
        return cls(rest.strip(), **options)

    @property
    def server(self) -> str:
        return "azure-openai"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api_version": self.api_version}

    def _auto_structured(self) -> bool:
        """Azure takes ``json_schema`` from api-version 2024-08-01(-preview) on."""
        m = re.match(r"(\d{4}-\d{2}-\d{2})", self.api_version or "")
        return m is None or m.group(1) >= "2024-08-01"  # "preview", "latest": the v1 API

    def _check_credentials(self) -> None:
        if not self.credential.present and self.token_provider is None:
            raise EngineAuthError(f"No API key for {self.url} was found.", hint=self.credential_help)

    def _make_client(self, openai: Any, timeout: Any) -> Any:
        provider = self.token_provider
        if provider is not None:
            def provider_redacted() -> str:  # whatever token it hands out is redacted too
                token = self.token_provider()
                register_secret(token)
                return token

            provider = provider_redacted
        return openai.AzureOpenAI(
            api_key=self.credential.value, azure_ad_token_provider=provider,
            azure_endpoint=self.azure_endpoint, azure_deployment=self.model_id,
            api_version=self.api_version, timeout=timeout, max_retries=0,
            default_headers=self._headers or None, http_client=self._http_client)
