"""``PipelineTool``: a tool backed by a transformers model, loaded lazily on its first call.

A call runs three steps, as in Transformers Agents: :meth:`PipelineTool.encode` turns the tool's
arguments into model inputs with the pre-processor, :meth:`PipelineTool.run_model` runs the model
(``torch.no_grad``, inputs moved to the model's device and dtype) and :meth:`PipelineTool.decode`
turns the outputs into the result with the post-processor. (The model step is ``run_model``, not
``forward`` as in Transformers Agents, because :meth:`Tool.forward` is the whole call here.)

The checkpoint is the class's ``default_checkpoint`` unless ``model=`` names another Hub repo id or
a local folder (or passes a model object). Loading options: ``device``, ``device_map`` (through
accelerate), ``dtype`` and ``quantization="8bit"|"4bit"`` (through bitsandbytes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..deps import require
from ..errors import MissingDependencyError, ToolError
from .base import Tool
from .declaration import save_declaration
from .payloads import default_payload, default_result
from .tasks import TASKS

__all__ = ["PipelineTool", "resolve_device", "resolve_dtype", "checkpoint_cached", "load_failure",
           "is_registered_task"]

logger = logging.getLogger(__name__)


def _torch():
    return require("torch", extra="all", purpose="Model-backed tools")


def _transformers():
    return require("transformers", extra="all", purpose="Model-backed tools")


def resolve_device(device: Any = None) -> Any:
    """``device`` as given, else CUDA, then Apple MPS, then the CPU."""
    torch = _torch()
    if device is not None:
        return torch.device(device) if isinstance(device, (str, int)) else device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_dtype(dtype: Any) -> Any:
    """A torch dtype from a dtype, a name (``"float16"``, ``"bf16"``) or ``"auto"``/``None``."""
    if dtype is None or dtype == "auto" or not isinstance(dtype, str):
        return dtype
    torch = _torch()
    names = {"fp16": "float16", "half": "float16", "bf16": "bfloat16", "fp32": "float32", "float": "float32"}
    value = getattr(torch, names.get(dtype.lower(), dtype.lower()), None)
    if not isinstance(value, torch.dtype):
        raise ToolError(f"Unknown dtype {dtype!r}.", hint="Use 'float32', 'float16', 'bfloat16' or 'auto'.")
    return value


def quantization_config(quantization: Any) -> Any:
    """A ``BitsAndBytesConfig`` for ``"8bit"``/``"4bit"`` (a config object is returned as is)."""
    if quantization is None or not isinstance(quantization, str):
        return quantization
    kind = quantization.lower().replace("-", "").replace("_", "")
    if kind not in ("8bit", "4bit", "int8", "int4", "nf4"):
        raise ToolError(f"Unknown quantization {quantization!r}.", hint="Use '8bit' or '4bit'.")
    require("bitsandbytes", extra="quant", purpose=f"quantization={quantization!r}")
    transformers = _transformers()
    if kind in ("8bit", "int8"):
        return transformers.BitsAndBytesConfig(load_in_8bit=True)
    return transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")


def checkpoint_cached(repo_id: str, filenames: tuple[str, ...] = ("config.json",), *,
                      cache_dir: str | os.PathLike | None = None) -> bool:
    """Whether ``repo_id`` (a Hub id or a local folder) is usable without a network.

    A local folder counts when it holds the files; a Hub id when the files and at least one
    weights file are in the local Hugging Face cache. Only the file system is read.
    """
    if Path(repo_id).is_dir():
        return all((Path(repo_id) / f).exists() for f in filenames)
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a transformers dependency
        return False
    found = []
    for name in filenames:
        try:
            path = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
        except Exception:  # malformed ids and the like
            return False
        if not isinstance(path, str):
            return False
        found.append(Path(path))
    snapshot = found[0].parent if found else None
    weights = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")
    return snapshot is not None and any(next(snapshot.rglob(p), None) is not None for p in weights)


def load_failure(tool_name: str, checkpoint: str, error: BaseException) -> ToolError:
    """A readable error for a checkpoint that could not be loaded."""
    offline = os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True") or "offline" in str(error).lower()
    hint = (
        f"Download it once with a network (`hf download {checkpoint}`), or pass model='/path/to/folder' "
        f"holding a copy."
        if not Path(checkpoint).exists() else "Check that the folder holds a saved model and its processor."
    )
    reason = "it is not in the local cache and the Hub cannot be reached" if offline else str(error).splitlines()[0]
    return ToolError(f"The tool {tool_name!r} cannot load the model {checkpoint!r}: {reason}.", hint=hint)


def is_registered_task(tool: Tool) -> bool:
    """Whether ``tool`` is an instance of the built-in class of its task (not a subclass)."""
    return TASKS.get(tool.name) == f"{type(tool).__module__}:{type(tool).__qualname__}"


def _dtype_kwarg() -> str:
    transformers = _transformers()
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


class PipelineTool(Tool):
    """Base of the model-backed tools: pre-processor, model, post-processor, loaded in ``setup()``.

    Parameters
    ----------
    model:
        A Hub repo id or local folder (default: the class's ``default_checkpoint``), or a model
        object already loaded. ``checkpoint=`` is accepted as another name for it.
    pre_processor, post_processor:
        Repo ids, folders or objects; default: the model's checkpoint (the post-processor defaults
        to the pre-processor).
    device:
        Where to run (default: CUDA, then MPS, then CPU); ignored with ``device_map``.
    device_map:
        Passed to ``from_pretrained`` (``"auto"`` spreads the model with accelerate).
    dtype:
        ``"float16"``, ``"bfloat16"``, ``"float32"``, ``"auto"`` or a torch dtype.
    quantization:
        ``"8bit"`` or ``"4bit"`` (bitsandbytes), or a quantization config.
    token:
        Hub token for gated or private checkpoints.
    model_kwargs, hub_kwargs:
        More arguments for the model's ``from_pretrained``, and for every ``from_pretrained``
        (``revision``, ``cache_dir``, ``local_files_only``...).
    generate_kwargs:
        Overrides of the class's ``generate_kwargs`` (e.g. ``max_new_tokens``).
    """

    default_checkpoint: str = ""
    model_class: str = "AutoModel"
    pre_processor_class: str = "AutoProcessor"
    post_processor_class: str | None = None
    generate_kwargs: Mapping[str, Any] = {}
    thread_safe = False

    def __init__(self, model: Any = None, pre_processor: Any = None, post_processor: Any = None, *,
                 checkpoint: str | None = None, device: Any = None, device_map: Any = None,
                 dtype: Any = None, quantization: Any = None, token: str | None = None,
                 model_kwargs: Mapping[str, Any] | None = None, hub_kwargs: Mapping[str, Any] | None = None,
                 generate_kwargs: Mapping[str, Any] | None = None) -> None:
        if model is not None and checkpoint is not None:
            raise ToolError("Pass either model= or checkpoint=, not both.")
        self.model = model if model is not None else (checkpoint or self.default_checkpoint)
        if not self.model:
            raise ToolError(f"The tool {self.name!r} has no checkpoint.", hint="Pass model='repo/id' or a folder.")
        self.pre_processor = pre_processor
        self.post_processor = post_processor
        self.device = device
        self.device_map = device_map
        self.dtype = dtype
        self.quantization = quantization
        self.token = token
        self.model_kwargs = dict(model_kwargs or {})
        self.hub_kwargs = dict(hub_kwargs or {})
        self.generate_kwargs = {**type(self).generate_kwargs, **(generate_kwargs or {})}
        super().__init__()

    # --- loading -----------------------------------------------------------------------------

    @property
    def checkpoint(self) -> str:
        """The repo id or folder the model comes from (``""`` for a model object)."""
        return str(self.model) if isinstance(self.model, (str, os.PathLike)) else ""

    def checkpoints(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every ``(repo, files)`` the tool loads, for the offline check of the default toolbox."""
        return [(self.checkpoint, ("config.json",))] if self.checkpoint else []

    def is_available_offline(self, *, cache_dir: str | os.PathLike | None = None) -> bool:
        """Whether every checkpoint the tool needs is on disk (no network is used)."""
        needed = self.checkpoints()
        return bool(needed) and all(checkpoint_cached(repo, files, cache_dir=cache_dir) for repo, files in needed)

    def _hub(self) -> dict[str, Any]:
        return {**({"token": self.token} if self.token else {}), **self.hub_kwargs}

    def load_component(self, class_name: str, source: Any, **kwargs: Any) -> Any:
        """``getattr(transformers, class_name).from_pretrained(source)`` with readable errors."""
        if not isinstance(source, (str, os.PathLike)):
            return source
        transformers = _transformers()
        cls = getattr(transformers, class_name)
        try:
            return cls.from_pretrained(str(source), **self._hub(), **kwargs)
        except (ImportError, OSError, ValueError) as e:
            import importlib.util

            for package, module in (("sentencepiece", "sentencepiece"), ("protobuf", "google.protobuf")):
                if package in str(e).lower() and importlib.util.find_spec(module.split(".")[0]) is None:
                    raise MissingDependencyError(package, "tools", f"The tool {self.name!r}") from e
            if isinstance(e, ImportError):
                raise
            raise load_failure(self.name, str(source), e) from e

    def model_load_kwargs(self) -> dict[str, Any]:
        """What goes to the model's ``from_pretrained``: dtype, device_map, quantization, extras."""
        kwargs: dict[str, Any] = dict(self.model_kwargs)
        if self.dtype is not None:
            kwargs[_dtype_kwarg()] = resolve_dtype(self.dtype)
        quant = quantization_config(self.quantization)
        if quant is not None:
            kwargs["quantization_config"] = quant
            kwargs.setdefault("device_map", self.device_map or {"": str(resolve_device(self.device))})
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        return kwargs

    def setup(self) -> None:
        source = self.checkpoint or self.default_checkpoint
        pre = self.pre_processor if self.pre_processor is not None else source
        self.pre_processor = self.load_component(self.pre_processor_class, pre)
        if isinstance(self.model, (str, os.PathLike)):
            kwargs = self.model_load_kwargs()
            self.model = self.load_component(self.model_class, self.model, **kwargs)
            if "device_map" not in kwargs:
                self.model.to(resolve_device(self.device))
        if self.post_processor is None:
            self.post_processor = self.pre_processor
        else:
            self.post_processor = self.load_component(self.post_processor_class or self.pre_processor_class,
                                                      self.post_processor)
        self.model.eval()
        self.load_extras()

    def load_extras(self) -> None:
        """Load anything more the tool needs (a vocoder...). Runs at the end of ``setup()``."""

    # --- running -----------------------------------------------------------------------------

    @property
    def model_device(self) -> Any:
        return getattr(self.model, "device", None) or resolve_device(self.device)

    def to_model(self, inputs: Any) -> Any:
        """Move tensors in ``inputs`` to the model's device; floating tensors to its dtype."""
        torch = _torch()
        device = self.model_device
        dtype = getattr(self.model, "dtype", None)

        def move(v: Any) -> Any:
            if isinstance(v, torch.Tensor):
                if v.is_floating_point() and dtype is not None and dtype.is_floating_point:
                    return v.to(device=device, dtype=dtype)
                return v.to(device)
            return v

        if isinstance(inputs, Mapping):
            return {k: move(v) for k, v in inputs.items()}
        if isinstance(inputs, (list, tuple)):
            return type(inputs)(move(v) for v in inputs)
        return move(inputs)

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        """Tool arguments -> model inputs (default: the pre-processor on the arguments)."""
        return self.pre_processor(*args, return_tensors="pt", **kwargs)

    def run_model(self, inputs: Any) -> Any:
        """Model inputs -> model outputs (default: ``model(**inputs)``)."""
        return self.model(**inputs)

    def decode(self, outputs: Any) -> Any:
        """Model outputs -> the tool's result (default: the post-processor's decoding)."""
        return self.post_processor(outputs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        torch = _torch()
        encoded = self.to_model(self.encode(*args, **kwargs))
        with torch.no_grad():
            outputs = self.run_model(encoded)
        return self.decode(outputs)

    def max_input_tokens(self, tokenizer: Any, default: int = 1024) -> int:
        """The longest input the model takes (tokenizer limit, model positions, ``default``)."""
        limits = [default]
        limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < 1_000_000:
            limits.append(limit)
        config = getattr(self.model, "config", None)
        for attr in ("max_text_positions", "max_position_embeddings", "n_positions"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                limits.append(value)
                break
        return min(limits)

    def save(self, folder: str | os.PathLike) -> Path:
        """Save the tool to ``folder``.

        A built-in task tool with a checkpoint is saved as ``tool.json`` alone (task, checkpoint and
        loading options), which ``load_tool(folder)`` loads without running any saved code; other
        tools are saved with their code (see :meth:`Tool.save`).
        """
        if not (is_registered_task(self) and self.checkpoint):
            return super().save(folder)
        options = {k: getattr(self, k) for k in ("device_map", "dtype", "quantization")
                   if isinstance(getattr(self, k), str)}
        return save_declaration(self, folder, task=self.name, model=self.checkpoint, options=options)

    def generation_options(self, prompt_length: int = 0) -> dict[str, Any]:
        """``generate_kwargs`` with ``max_new_tokens`` capped by the decoder's position limit."""
        kwargs = dict(self.generate_kwargs)
        config = getattr(self.model, "config", None)
        config = getattr(config, "decoder", None) or config
        limit = getattr(config, "max_position_embeddings", None) or getattr(config, "max_target_positions", None)
        if isinstance(limit, int) and "max_new_tokens" in kwargs:
            kwargs["max_new_tokens"] = max(1, min(int(kwargs["max_new_tokens"]), limit - prompt_length - 2))
        return kwargs

    # --- remote use --------------------------------------------------------------------------

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body an inference endpoint expects for these arguments (see RemoteTool)."""
        return default_payload(arguments)

    @classmethod
    def remote_result(cls, data: Any) -> Any:
        """The tool's result from an inference endpoint's JSON answer (see RemoteTool)."""
        return default_result(data, cls.output_type)

    def __repr__(self) -> str:
        where = self.checkpoint or type(self.model).__name__
        return f"<{type(self).__name__} {self.signature(short=True)} model={where!r}>"
