"""Loading a transformers causal LM: optional imports, dtype, device and quantization arguments,
and the facts about a loaded model (device, dtype, quantization, memory) for the Run. Optional
packages are imported through :func:`nbagents.deps.require`."""

from __future__ import annotations

import inspect
import os
from contextlib import contextmanager
from typing import Any

from ...deps import require
from ...errors import ConfigurationError

__all__ = ["QUANTIZATIONS", "accepts_logits_to_keep", "from_pretrained_kwargs", "model_facts",
           "quiet_local_load", "torch_dtype"]

QUANTIZATIONS = ("8bit", "4bit")


def torch_dtype(dtype: Any) -> Any:
    """``"bfloat16"`` → ``torch.bfloat16``; ``"auto"``, ``None`` and dtypes pass through."""
    if isinstance(dtype, str) and dtype != "auto":
        import torch

        value = getattr(torch, dtype.removeprefix("torch."), None)
        if not isinstance(value, torch.dtype):
            raise ConfigurationError(f"Unknown dtype {dtype!r}.", hint="Use float32, bfloat16, float16 or auto.")
        return value
    return dtype


def from_pretrained_kwargs(*, dtype: Any, device_map: Any, quantization: str | None) -> dict[str, Any]:
    """dtype / device_map / quantization_config for ``from_pretrained``.

    Defaults: float32 on CPU (fast everywhere, unlike bfloat16 matmuls on most CPUs), the
    checkpoint's dtype on CUDA; the first GPU when there is one. Quantized models need a
    device map: ``"auto"`` on CUDA, ``"cpu"`` otherwise (bitsandbytes runs on the CPU too).
    """
    import torch

    cuda = torch.cuda.is_available()
    kwargs: dict[str, Any] = {}
    if quantization is not None:
        transformers = require("transformers", extra="all", purpose="Local models")
        require("bitsandbytes", extra="quant", purpose=f"{quantization} quantization")
        if quantization == "8bit":
            config = transformers.BitsAndBytesConfig(load_in_8bit=True)
        else:
            compute = torch_dtype(dtype) if dtype not in (None, "auto") else (
                torch.bfloat16 if cuda else torch.float32)
            config = transformers.BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)
        kwargs["quantization_config"] = config
        if device_map is None:
            device_map = "auto" if cuda else "cpu"
    if dtype is None:
        dtype = "auto" if cuda else torch.float32
    kwargs["dtype"] = torch_dtype(dtype)
    if device_map is None and cuda:
        device_map = "cuda"
    if device_map is not None:
        kwargs["device_map"] = device_map
    return kwargs


def _quantization_of(model: Any) -> str | None:
    qconfig = getattr(model.config, "quantization_config", None)
    if qconfig is None:
        return None
    if getattr(qconfig, "load_in_8bit", False):
        return "8bit"
    if getattr(qconfig, "load_in_4bit", False):
        return "4bit"
    method = qconfig.get("quant_method") if isinstance(qconfig, dict) else getattr(qconfig, "quant_method", None)
    return str(getattr(method, "value", method))


def model_facts(model: Any) -> dict[str, Any]:
    """Device(s), dtype, quantization and memory footprint (bytes) of a loaded model."""
    devices = sorted({f"cuda:{d}" if isinstance(d, int) else str(d)
                      for d in (getattr(model, "hf_device_map", None) or {}).values()})
    try:
        memory = int(model.get_memory_footprint())
    except Exception:  # not a PreTrainedModel: count parameters and buffers
        memory = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    return {
        "device": ",".join(devices) if len(devices) > 1 else str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "quantization": _quantization_of(model),
        "memory_bytes": memory,
    }


def accepts_logits_to_keep(model: Any) -> bool:
    """Whether the model's forward can skip the logits of all but the last prompt token."""
    try:
        return "logits_to_keep" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


@contextmanager
def quiet_local_load(source: Any):
    """No "Loading weights" progress bar while a model loads from a local folder (under a second
    to a few seconds, and in a notebook the bar stays behind as a stale widget); downloads from the
    Hub keep their bars."""
    import transformers.utils.logging as tlog

    local = isinstance(source, (str, os.PathLike)) and os.path.isdir(source)
    was = tlog.is_progress_bar_enabled()
    if local and was:
        tlog.disable_progress_bar()
    try:
        yield
    finally:
        if local and was:
            tlog.enable_progress_bar()


def load_pretrained(auto_class: str, source: Any, kwargs: dict[str, Any], *, what: str, name: Any) -> Any:
    """``transformers.<auto_class>.from_pretrained(source, **kwargs)``, its failures typed: a
    missing package, or files that cannot be read (``what`` and ``name`` say which, for the
    message)."""
    transformers = require("transformers", extra="all", purpose="Local models")
    try:
        return getattr(transformers, auto_class).from_pretrained(os.fspath(source), **kwargs)
    except ImportError as e:
        raise ConfigurationError(f"Loading {name!r} needs a package: {e}") from e
    except (OSError, ValueError) as e:
        raise ConfigurationError(
            f"Could not load the {what} of {name!r}: {type(e).__name__}: {e}",
            hint="Check the Hub id or folder. Offline, the files must already be in the Hugging Face "
            "cache (HF_HUB_OFFLINE=1 uses only the cache); gated models need HF_TOKEN or token=.",
        ) from e
