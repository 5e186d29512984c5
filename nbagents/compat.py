"""Familiar names for people coming from Transformers Agents: each is a thin :class:`Agent` over
the matching engine, with the seeds' parameter names, so their code runs with only the import
changed."""

from __future__ import annotations

from typing import Any

from .agent import Agent

__all__ = ["HfAgent", "LocalAgent", "OpenAiAgent", "AzureOpenAiAgent"]


def _agent_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("chat_prompt_template", "run_prompt_template", "additional_tools", "tools",
             "add_default_tools", "max_new_tokens", "isolation", "limits", "store", "mode", "max_steps",
             "repair", "constrained", "rich_grammar")
    return {k: kwargs.pop(k) for k in list(kwargs) if k in names}


class HfAgent(Agent):
    """An agent over a Hugging Face inference endpoint or a TGI server.

    ``HfAgent(url_endpoint, token=None, chat_prompt_template=None, run_prompt_template=None,
    additional_tools=None)``.
    """

    def __init__(self, url_endpoint: str, token: str | None = None, **kwargs: Any) -> None:
        from .engines.endpoint import EndpointEngine

        options = _agent_options(kwargs)
        super().__init__(EndpointEngine(url_endpoint, token=token, **kwargs), **options)


class LocalAgent(Agent):
    """An agent over a transformers model already in memory: ``LocalAgent(model, tokenizer)``."""

    def __init__(self, model: Any, tokenizer: Any, **kwargs: Any) -> None:
        from .engines.local import TransformersEngine

        options = _agent_options(kwargs)
        super().__init__(TransformersEngine(model, tokenizer, **kwargs), **options)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **kwargs: Any) -> LocalAgent:
        """Load a model and tokenizer with ``from_pretrained`` (Hub id or local folder).

        Engine options (``dtype``, ``device_map``, ``quantization``, ``gguf_file``, ...) go to the
        engine; agent options (``additional_tools``, templates, ...) to the agent.
        """
        from .engines.local import TransformersEngine

        options = _agent_options(kwargs)
        engine = TransformersEngine.from_pretrained(pretrained_model_name_or_path, **kwargs)
        agent = cls.__new__(cls)
        Agent.__init__(agent, engine, **options)
        return agent


class OpenAiAgent(Agent):
    """An agent over OpenAI or an OpenAI-compatible server: ``OpenAiAgent(model, api_key=None)``."""

    def __init__(self, model: str = "gpt-4o-mini", api_key: str | None = None, **kwargs: Any) -> None:
        from .engines.openai import OpenAIEngine

        options = _agent_options(kwargs)
        super().__init__(OpenAIEngine(model, api_key=api_key, **kwargs), **options)


class AzureOpenAiAgent(Agent):
    """An agent over an Azure OpenAI deployment: ``AzureOpenAiAgent(deployment_id, api_key=None,
    resource_name=None, api_version=None, is_chat_model=None)``."""

    def __init__(self, deployment_id: str, api_key: str | None = None, **kwargs: Any) -> None:
        from .engines.azure import AzureOpenAIEngine

        options = _agent_options(kwargs)
        super().__init__(AzureOpenAIEngine(deployment_id, api_key=api_key, **kwargs), **options)
