"""Local transformers models: ``local:<hub id or folder>`` and ``LocalAgent(model, tokenizer)``.

The model loads on the first generation (``engine.loaded`` tells), stays resident (the registry
shares one engine per spec), and keeps the KV cache of the last prompt so that the next prompt
only pays for the tokens after their common prefix (the instructions and the tool list do not
change between tasks). Greedy decoding also drafts tokens by prompt lookup and verifies each draft
in one forward pass (same output, fewer passes where the answer copies spans). A constraint
(:mod:`nbagents.grammar`: a tool program, a grammar, a JSON schema) is followed token by token.

The decode loop is in :mod:`.decoding` (one prefill, one step loop, one result) and
:mod:`.generation`, the constrained decoders in :mod:`.program` and :mod:`.guided`, loading
helpers in :mod:`.loading`, thread sizing in :mod:`.threads`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ...deps import require
from ...errors import ConfigurationError, PromptTooLongError
from ...grammar.constraint import Constraint
from ...threads import resolve_threads, torch_threads
from ..base import Completion, Engine, Sampling, flatten_messages, normalize_messages
from . import prefix_store
from .cache import PrefixCache
from .decoding import LogitsHook
from .generation import CONSTRAINTS, generate
from .loading import (
    QUANTIZATIONS,
    accepts_logits_to_keep,
    from_pretrained_kwargs,
    load_pretrained,
    model_facts,
    quiet_local_load,
)
from .sampling import NgramDrafter, Sampler

__all__ = ["TransformersEngine"]

log = logging.getLogger("nbagents")

_HUB_OPTIONS = ("revision", "cache_dir", "local_files_only")
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length",
                 "n_ctx", "max_seq_len")


class TransformersEngine(Engine):
    """A causal language model run in this process with transformers.

    Parameters
    ----------
    model:
        A loaded ``PreTrainedModel``, or a Hub id or local folder (loaded with ``from_pretrained``
        on first use; ``HF_HUB_OFFLINE=1`` reads only the local cache, ``HF_TOKEN`` or ``token=``
        opens gated models).
    tokenizer:
        The tokenizer, or a Hub id / folder; by default the model's own.
    gguf_file:
        Load a GGUF file of the repo or folder (dequantized by transformers).
    dtype:
        ``"float32"``, ``"bfloat16"``, ``"float16"``, ``"auto"`` or a ``torch.dtype``. Default:
        float32 on CPU, the checkpoint's dtype on CUDA.
    device_map:
        Passed to ``from_pretrained`` (``"auto"`` spreads the model with accelerate). Default: the
        first GPU when there is one, else the CPU.
    quantization:
        ``"8bit"`` or ``"4bit"`` (bitsandbytes; CUDA, and CPU with ``device_map="cpu"``).
    max_new_tokens:
        The default most tokens per answer.
    trust_remote_code, token:
        As in ``from_pretrained``.
    do_sample:
        Sample instead of greedy decoding by default (a call's ``sampling=`` sets ``do_sample``,
        ``temperature``, ``top_k``, ``top_p`` and ``seed``).
    num_threads:
        Torch CPU threads while generating (default ``$NBAGENTS_TORCH_THREADS`` or
        ``min(4, cores - 1)``).
    prefix_cache:
        Reuse the KV cache of the prompt prefix shared with the previous call.
    prompt_lookup:
        Greedy decoding drafts tokens by prompt lookup (spans of the prompt, the output so far or
        the previous answer) and verifies each draft in one forward pass; the output is the
        same, copied spans are faster.
    logits_hook:
        ``hook(logits, tokens_so_far) -> logits``, called on the next-token logits (``[1, V]``)
        before each pick of unconstrained decoding (no prompt-lookup drafts then); for
        experiments and tests. Also settable as the attribute ``engine.logits_hook``.
    **model_kwargs:
        Passed on to ``AutoModelForCausalLM.from_pretrained``.

    Examples
    --------
    >>> engine = TransformersEngine("HuggingFaceTB/SmolLM2-360M-Instruct")  # doctest: +SKIP
    >>> engine.generate("Say hi", max_new_tokens=8).text  # doctest: +SKIP

    ``generate(..., constraint=ProgramSpec(...))`` writes a tool program under a grammar;
    ``constraint=Grammar(lark_text)`` or ``constraint=JsonSchema(schema)`` follows one grammar for
    the whole answer (llguidance).
    """

    #: A small local model needs the tools decided for it (and an honest error when none fits).
    routes_tools = True

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        gguf_file: str | None = None,
        dtype: Any = None,
        device_map: Any = None,
        quantization: str | None = None,
        max_new_tokens: int = 256,
        trust_remote_code: bool = False,
        token: str | None = None,
        do_sample: bool = False,
        num_threads: int | None = None,
        prefix_cache: bool = True,
        prompt_lookup: bool = True,
        logits_hook: LogitsHook | None = None,
        **model_kwargs: Any,
    ) -> None:
        if quantization is not None and quantization not in QUANTIZATIONS:
            raise ConfigurationError(
                f"quantization must be '8bit' or '4bit', not {quantization!r}.",
                hint="Or pass a transformers quantization_config=... yourself.",
            )
        self._model: Any = None
        self._source: str | None = None
        if isinstance(model, (str, os.PathLike)):
            self._source = os.fspath(model)
            if not self._source.strip():
                raise ConfigurationError("The model id is empty.", hint="For example local:HuggingFaceTB/SmolLM2-360M-Instruct")
        elif model is not None and hasattr(model, "config") and callable(model):
            self._model = model
        elif model is not None or type(self)._model_source is TransformersEngine._model_source:
            raise ConfigurationError(
                f"model must be a transformers model, a Hub id or a folder, not {type(model).__name__}.",
                hint="For example TransformersEngine('HuggingFaceTB/SmolLM2-360M-Instruct').",
            )
        self._tokenizer_arg = tokenizer
        self._tokenizer: Any = None if isinstance(tokenizer, (str, os.PathLike)) else tokenizer
        self._config: Any = None
        self.gguf_file = gguf_file
        self.dtype = dtype
        self.device_map = device_map
        self.quantization = quantization
        self.max_new_tokens = max_new_tokens
        self.trust_remote_code = trust_remote_code
        self.token = token
        self.do_sample = do_sample
        self.num_threads = resolve_threads(num_threads)
        self.model_kwargs = model_kwargs
        self.load_time_s: float | None = None
        self._prefix = PrefixCache(enabled=prefix_cache)
        self.prompt_lookup = prompt_lookup
        self.logits_hook = logits_hook
        self._history: list[int] = []  # the last call's prompt and output tokens, for drafts
        self._lock = threading.RLock()
        self._static_facts: dict[str, Any] = {}
        name = self._source or getattr(getattr(self._model, "config", None), "_name_or_path", "") or ""
        self.model_id = self.model_id or name
        self.spec = self.spec or (f"local:{self._source}" if self._source else "")
        if self._model is not None:
            self._prepare_loaded_model(self._model, load_time=None)

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **kwargs: Any) -> TransformersEngine:
        """An engine over a Hub id or local folder (loaded on first use)."""
        return cls(pretrained_model_name_or_path, **kwargs)

    @classmethod
    def from_spec(cls, rest: str, **options: Any) -> TransformersEngine:
        """``local:<hub id or folder>``."""
        if not rest.strip():
            raise ConfigurationError(
                "The local engine needs a model: local:<hub id or folder>.",
                hint="For example local:HuggingFaceTB/SmolLM2-360M-Instruct, or 'default' for the "
                "embedded model.",
            )
        return cls(rest.strip(), **options)

    # --- lazy loading ---------------------------------------------------------------------------

    def _model_source(self) -> str:
        """Where ``from_pretrained`` reads the model (subclasses may prepare it first)."""
        if self._source is None:
            raise ConfigurationError("This engine has no model to load.")
        return self._source

    def _hub_kwargs(self) -> dict[str, Any]:
        """Options for the tokenizer, the config and the model alike."""
        kwargs: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        kwargs.update({k: v for k, v in self.model_kwargs.items() if k in _HUB_OPTIONS})
        if self.token is not None:
            kwargs["token"] = self.token
        if self.gguf_file is not None:
            kwargs["gguf_file"] = self.gguf_file
        return kwargs

    @property
    def tokenizer(self) -> Any:
        """The tokenizer (loaded on first use, without the model)."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    source = self._tokenizer_arg
                    kwargs = self._hub_kwargs()
                    if source is None:
                        source = self._model_source() if self._model is None else self._model.name_or_path
                    else:
                        kwargs.pop("gguf_file", None)
                    self._tokenizer = load_pretrained("AutoTokenizer", source, kwargs, what="tokenizer",
                                                      name=self.model_id or self._source)
        return self._tokenizer

    @property
    def config(self) -> Any:
        """The model's configuration (read without loading the weights)."""
        if self._model is not None:
            return self._model.config
        if self._config is None:
            with self._lock:
                if self._config is None:
                    self._config = load_pretrained("AutoConfig", self._model_source(), self._hub_kwargs(),
                                                   what="configuration", name=self.model_id or self._source)
        return self._config

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        """The transformers model (loaded on first use)."""
        self.load()
        return self._model

    def save(self, path: str | os.PathLike) -> str:
        """Save the loaded model (quantized as loaded) and its tokenizer to the folder ``path``.

        ``local:<path>`` (or ``TransformersEngine(path)``) then loads it with its quantization,
        without bitsandbytes quantizing the weights again: "quantize once, save to disk".

        >>> TransformersEngine("HuggingFaceTB/SmolLM2-360M-Instruct", quantization="8bit").save("smol-8bit")  # doctest: +SKIP
        """
        self.load()
        target = os.fspath(path)
        with self._lock:
            try:
                self.model.save_pretrained(target)
                self.tokenizer.save_pretrained(target)
            except (OSError, ValueError, NotImplementedError) as e:
                raise ConfigurationError(f"Could not save {self.model_id or 'the model'} to {target}: {e}") from e
        log.info("Saved %s to %s", self.model_id, target)
        return target

    def load(self) -> TransformersEngine:
        """Load the model now (otherwise the first generation does)."""
        if self._model is not None:
            return self
        with self._lock:
            if self._model is None:
                started = time.perf_counter()
                model = self._load_model()
                self._prepare_loaded_model(model, load_time=time.perf_counter() - started)
        return self

    def _load_model(self) -> Any:
        require("torch", extra="all", purpose="Local models")
        source = self._model_source()
        kwargs = {
            **self._hub_kwargs(),
            **from_pretrained_kwargs(dtype=self.dtype, device_map=self.device_map, quantization=self.quantization),
            **self.model_kwargs,
        }
        log.info("Loading %s", self.model_id or source)
        with torch_threads(self.num_threads), quiet_local_load(source):
            return load_pretrained("AutoModelForCausalLM", source, kwargs, what="model",
                                   name=self.model_id or self._source)

    def _prepare_loaded_model(self, model: Any, *, load_time: float | None) -> None:
        model.eval()
        self.load_time_s = load_time
        self._model = model
        self._logits_to_keep = accepts_logits_to_keep(model)
        facts = model_facts(model)
        self._static_facts = {
            **facts,
            "load_time_s": round(load_time, 3) if load_time is not None else None,
            "threads": self.num_threads if facts["device"] == "cpu" else None,
        }

    # --- what the model sees --------------------------------------------------------------------

    @property
    def is_chat(self) -> bool:  # type: ignore[override]
        """Whether the tokenizer has a chat template (else prompts are completion-style text)."""
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        """The most tokens the model takes, from its configuration."""
        config = self.config
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        for key in _CONTEXT_KEYS:
            value = getattr(text_config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        return limit if isinstance(limit, int) and 0 < limit < 10_000_000 else None

    def render(self, messages: str | Sequence[dict[str, str]]) -> tuple[str, list[int]]:
        """The exact prompt text fed to the model and its token ids."""
        messages = normalize_messages(messages)
        tok = self.tokenizer
        if self.is_chat:
            text = self._apply_template(messages)
            return text, list(tok(text, add_special_tokens=False)["input_ids"])
        text = flatten_messages(messages)
        ids = list(tok(text)["input_ids"])
        bare = tok(text, add_special_tokens=False)["input_ids"]
        if len(ids) > len(bare) and ids[0] != (bare[0] if bare else None) and tok.bos_token:
            text = tok.bos_token + text  # the tokenizer added a BOS token: show it
        return text, ids

    def _apply_template(self, messages: list[dict[str, str]]) -> str:
        tok = self.tokenizer
        try:
            return tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception as e:  # templates without a system role raise: fold it into the user turn
            if not messages or messages[0]["role"] != "system" or len(messages) < 2:
                raise ConfigurationError(f"The chat template of {self.model_id!r} failed: {e}") from e
            system, first, *rest = messages
            merged = {"role": first["role"], "content": system["content"] + "\n\n" + first["content"]}
            return tok.apply_chat_template([merged, *rest], add_generation_prompt=True, tokenize=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def count_message_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        """Tokens of the whole prompt as fed to the model (chat template included)."""
        return len(self.render(list(messages))[1])

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (getattr(self._model, "generation_config", None), self.config, self.tokenizer):
            value = getattr(source, "eos_token_id", None)
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, (list, tuple)):
                ids.update(int(v) for v in value)
        return ids

    def _special_stop_ids(self, stop: Sequence[str]) -> dict[int, str]:
        tok = self.tokenizer
        special = set(getattr(tok, "all_special_tokens", ()))
        special.update(t.content for t in getattr(tok, "added_tokens_decoder", {}).values()
                       if getattr(t, "special", False))
        return {tok.convert_tokens_to_ids(s): s for s in stop if s in special}

    # --- generation -----------------------------------------------------------------------------

    def accepts(self, constraint: Constraint) -> bool:
        """Local models follow a :class:`~nbagents.grammar.ProgramSpec`, a
        :class:`~nbagents.grammar.Grammar` or a :class:`~nbagents.grammar.JsonSchema`."""
        return isinstance(constraint, CONSTRAINTS)

    #: Where :meth:`warm_up` keeps the prompt prefix's key/value cache between kernels
    #: (:mod:`.prefix_store`); ``None``: not kept. The embedded engine keeps it in its cache root.
    prefix_store: Path | None = None

    def warm_up(self, messages: Sequence[dict[str, str]]) -> dict[str, Any]:
        """Get ready for prompts that start like ``messages``: load the model, build the grammar
        bridge of the tokenizer (llguidance), and run ``messages`` into the kept prefix — read from
        :attr:`prefix_store` when another kernel already ran this very prompt on this model, else
        computed (and stored there). Returns what was done: ``prompt_tokens`` and ``prefix``
        (``"stored"``, ``"computed"``)."""
        from .decoding import prefill
        from .matcher import tokenizer_bridge

        self.load()
        with self._lock:
            model = self.model
            head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
            width = getattr(getattr(head, "weight", None), "shape", (None,))[0] or model.config.vocab_size
            tokenizer_bridge(self.tokenizer, n_vocab=int(width))  # the logits' width, as decoding asks
            _, ids = self.render(normalize_messages(messages))
            stored = prefix_store.load(self.prefix_store, model, ids) if self.prefix_store is not None else None
            if stored is not None:
                self._prefix.keep(ids, stored)
                return {"prompt_tokens": len(ids), "prefix": "stored"}
            import torch

            with torch_threads(self.num_threads), torch.inference_mode():
                begun = prefill(model, ids, prefix_cache=self._prefix, keep_logits=self._logits_to_keep)
            if self.prefix_store is not None:
                prefix_store.save(self.prefix_store, model, ids, begun.state.cache)
            return {"prompt_tokens": len(ids), "prefix": "computed"}

    @property
    def last_prompt_ids(self) -> tuple[int, ...]:
        """The token ids of the last prompt this engine ran (empty before the first)."""
        return self._prefix.tokens

    def kept_prefix(self, ids: Sequence[int]) -> tuple[Any, int]:
        """A private copy of the kept key/value cache, cut to the longest prefix it shares with
        ``ids``, and how many tokens that covers (``(None, 0)`` when nothing is shared): what the
        next prompt starting with ``ids`` would not pay for (benchmarks compare against it)."""
        with self._lock:
            return self._prefix.take(ids)

    def clear_prefix_cache(self) -> None:
        """Forget the kept KV cache (the next prompt runs from scratch)."""
        with self._lock:
            self._prefix.clear()
            self._history = []

    def _generate(self, messages: list[dict[str, str]], *, stop: tuple[str, ...], max_new_tokens: int,
                  emit: Callable[[str], bool], constraint: Constraint | None, sampling: Sampling,
                  stream: bool | None) -> Completion:
        with self._lock:
            model = self.model
            sampler = Sampler.of(sampling, do_sample=self.do_sample)
            prompt_text, ids = self.render(messages)
            context = self.context_length
            if context is not None:
                if len(ids) >= context:
                    raise PromptTooLongError(len(ids), max_new_tokens, context)
                max_new_tokens = min(max_new_tokens, context - len(ids))
            # A stop sequence that is one special token (``<|im_end|>``) never shows in the decoded
            # text (special tokens are skipped), so it ends generation like an end token.
            special_stops = self._special_stop_ids(stop)
            import torch

            with torch_threads(self.num_threads), torch.inference_mode():
                result = generate(
                    model, self.tokenizer, ids, constraint=constraint, max_new_tokens=max_new_tokens,
                    emit=emit, eos_ids=self._eos_ids() | set(special_stops), sampler=sampler, stop=stop,
                    prefix_cache=self._prefix, keep_logits=self._logits_to_keep, logits_hook=self.logits_hook,
                    drafter=NgramDrafter() if self.prompt_lookup else None, history=self._history,
                )
            self._history = [*ids, *result.tokens]
        n = len(result.tokens)
        facts = {
            **self._static_facts,
            "prompt_tokens": len(ids),
            "completion_tokens": n,
            "cached_prefix_tokens": result.cached_prefix_tokens,
            "forward_passes": result.forward_passes,
            "draft_tokens_proposed": result.draft_tokens_proposed,
            "draft_tokens_accepted": result.draft_tokens_accepted,
            "prefill_s": round(result.prefill_s, 4),
            "decode_s": round(result.decode_s, 4),
            "tokens_per_s": round((n - 1) / result.decode_s, 2) if n > 1 and result.decode_s > 0 else None,
            **result.facts,  # constrained: True, the grammars, the program's end
        }
        return Completion(
            text=result.text,
            prompt_text=prompt_text,
            prompt_tokens=len(ids),
            completion_tokens=n,
            finish_reason=result.finish_reason,
            stop_sequence=special_stops.get(result.tokens[-1]) if result.tokens else None,
            facts=facts,
        )

    def describe(self) -> dict[str, Any]:
        """Spec, model id, whether it is loaded, and once loaded its device, dtype, memory..."""
        facts: dict[str, Any] = {"spec": self.spec, "model_id": self.model_id, "loaded": self.loaded}
        if self.loaded:
            facts["context_length"] = self.context_length
        return {**facts, **self._static_facts}
