"""Local transformers models (``local:<hub id or folder>``): :class:`TransformersEngine`.

Modules: :mod:`.engine` (the engine), :mod:`.loading` and :mod:`.threads` (loading a model, torch
threads), :mod:`.cache` (the KV cache and the prefix kept between calls), :mod:`.decoding` (the
one decode loop: prefill, step, result), :mod:`.sampling` (sampler, prompt-lookup drafts),
:mod:`.generation` (one generation, free or under a constraint), and the constrained decoders:
:mod:`.constrained`, :mod:`.program` (tool programs), :mod:`.guided` (one grammar),
:mod:`.choice` (candidate scoring), :mod:`.matcher` (llguidance). Nothing heavy is imported
until a model loads.
"""

from __future__ import annotations

from .engine import TransformersEngine

__all__ = ["TransformersEngine"]
