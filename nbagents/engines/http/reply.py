"""What a protocol module reads from one answer, before the engine makes it a Completion."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reply"]


@dataclass(frozen=True)
class Reply:
    """One answer as the server gave it.

    Attributes
    ----------
    text:
        The generated text (streamed pieces joined), before structured output is rendered.
    prompt_tokens, completion_tokens:
        The server's token counts, or ``None`` where it did not say.
    finish_reason:
        ``"stop"``, ``"length"`` or the server's own word; ``"stop"`` too when reading stopped
        early at a stop sequence.
    served_model:
        The model the server says answered, where it says one.
    """

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    served_model: str | None = None
