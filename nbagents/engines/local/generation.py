"""One generation on a loaded model: :func:`generate` prefills the prompt once and runs the
decoder the constraint calls for (free, a tool program, or one grammar) to one result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...errors import ConfigurationError
from ...grammar.constraint import Constraint, Grammar, JsonSchema
from ...grammar.program import ProgramSpec
from .cache import PrefixCache
from .decoding import Decoded, Decoder, FreeDecoder, LogitsHook, ModelState, prefill, run
from .guided import GuidedDecoder
from .program import ProgramDecoder
from .sampling import NgramDrafter

__all__ = ["CONSTRAINTS", "generate"]

#: The constraints local decoding honours.
CONSTRAINTS = (ProgramSpec, Grammar, JsonSchema)


def _decoder(state: ModelState, tokenizer: Any, constraint: Constraint | None, *, stop: Sequence[str],
             logits_hook: LogitsHook | None, drafter: NgramDrafter | None, context: Sequence[int],
             **common: Any) -> Decoder:
    if constraint is None:
        return FreeDecoder(state, tokenizer, logits_hook=logits_hook, drafter=drafter, context=context, **common)
    if isinstance(constraint, ProgramSpec):
        return ProgramDecoder(state, tokenizer, constraint, stop=stop, **common)
    return GuidedDecoder(state, tokenizer, constraint, **common)


def generate(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    constraint: Constraint | None = None,
    emit: Callable[[str], bool] = lambda piece: False,
    eos_ids: set[int] | Sequence[int] = (),
    sampler: Callable[[Any], int] | None = None,
    stop: Sequence[str] = (),
    prefix_cache: PrefixCache | None = None,
    past_key_values: Any = None,
    keep_logits: bool = True,
    logits_hook: LogitsHook | None = None,
    drafter: NgramDrafter | None = None,
    history: Sequence[int] = (),
) -> Decoded:
    """Generate up to ``max_new_tokens`` after ``prompt_ids``. Run it under
    ``torch.inference_mode()`` (and the engine's thread setting).

    Parameters
    ----------
    constraint:
        ``None`` (free decoding), a :class:`~nbagents.grammar.ProgramSpec` (a tool program, one
        grammar per line: ``text`` is the rendered program, an explanation then the code in a
        ```py block), a :class:`~nbagents.grammar.Grammar` or a
        :class:`~nbagents.grammar.JsonSchema` (one grammar for the whole answer).
    emit:
        Called with each new piece of text; a True return (a stop sequence) ends generation.
    eos_ids:
        Tokens that end the answer (the end token, special-token stop sequences).
    sampler:
        Picks a token from the (masked) logits ``[1, V]``; default greedy.
    stop:
        The engine's stop sequences: a program's string literals and explanation may not
        contain them.
    prefix_cache:
        The engine's :class:`~.cache.PrefixCache` (the prompt starts from the longest cached
        prefix, and its cache is kept); or
    past_key_values:
        A KV cache of a prefix of the prompt to start from (its length says how many tokens).
    keep_logits:
        The model's forward takes ``logits_to_keep``.
    logits_hook, drafter, history:
        Free decoding only: a hook on the logits before each pick; a prompt-lookup drafter
        (greedy decoding without a hook), drafting from ``history`` (the previous call's
        tokens), the prompt and the output so far.
    """
    if constraint is not None and not isinstance(constraint, CONSTRAINTS):
        raise ConfigurationError(f"Local models cannot follow a {type(constraint).__name__} constraint.",
                                 hint="Use ProgramSpec, Grammar or JsonSchema from nbagents.grammar.")
    if isinstance(constraint, JsonSchema):
        constraint = Grammar.from_json_schema(constraint.schema, name=constraint.name)
    begun = prefill(model, prompt_ids, prefix_cache=prefix_cache, past_key_values=past_key_values,
                    keep_logits=keep_logits)
    decoder = _decoder(begun.state, tokenizer, constraint, stop=stop, logits_hook=logits_hook, drafter=drafter,
                       context=[*history, *prompt_ids], max_new_tokens=max_new_tokens, emit=emit,
                       eos_ids=set(eos_ids), sampler=sampler)
    return run(decoder, begun)
