"""Credentials for the HTTP engines, and where each came from (for error messages that say
which token was refused without showing it)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from ...redaction import register_secret

log = logging.getLogger("nbagents.engines")


@dataclass(frozen=True)
class Credential:
    """A token or key and where it came from (the value never shows in repr, messages or logs)."""

    value: str | None = field(repr=False)
    source: str

    def __post_init__(self) -> None:
        register_secret(self.value)

    @property
    def present(self) -> bool:
        return bool(self.value)


def _clean(token: str) -> str:
    token = token.strip()
    return token[7:].strip() if token.lower().startswith("bearer ") else token


def hf_credential(token: str | bool | None) -> Credential:
    """The Hugging Face token: the argument, ``HF_TOKEN``, or the ``huggingface_hub`` login.

    ``token=False`` sends none.
    """
    if token is False:
        return Credential(None, "none (token=False)")
    if isinstance(token, str) and token.strip():
        return Credential(_clean(token), "the token= argument")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return Credential(value, f"the {name} environment variable")
    try:
        import huggingface_hub
    except ImportError:
        return Credential(None, "none")
    try:
        value = huggingface_hub.get_token()  # env vars were checked above: this is the login
    except Exception:  # a broken token file must not break generation
        log.debug("huggingface_hub.get_token() failed", exc_info=True)
        value = None
    if value:
        return Credential(value, "the huggingface_hub login (hf auth login)")
    return Credential(None, "none")


def env_credential(value: str | None, *env_names: str, argument: str = "api_key") -> Credential:
    """A key from the argument, else from the first environment variable that is set."""
    if value:
        return Credential(_clean(value), f"the {argument}= argument")
    for name in env_names:
        found = os.environ.get(name, "").strip()
        if found:
            return Credential(found, f"the {name} environment variable")
    return Credential(None, "none")
