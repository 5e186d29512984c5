"""Image generation and editing: image_generator (Stable Diffusion) and image_transformer
(InstructPix2Pix), run locally through diffusers (the ``diffusers`` extra) or remotely.

``load_tool("image_generator")`` gives the local tool: it needs ``pip install 'nbagents[diffusers]'``
and the weights (about 2 to 4 GB); without diffusers its first call raises a
:class:`~nbagents.errors.MissingDependencyError` naming the extra. ``load_tool("image_generator",
remote=True)`` gives the same tool calling an inference endpoint instead (no local weights, but the
prompt leaves the machine and a token is usually needed). Local is the default, as for every task:
nothing is sent anywhere unless asked, and the tool works offline once the weights are cached. On
a CPU a 512x512 image takes minutes, so these tools join the default toolbox only when diffusers
and their weights are present (see :mod:`nbagents.tools.defaults`).

Imports are absolute so that ``Tool.save`` writes a module that loads on its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from nbagents.deps import require
from nbagents.errors import ToolError
from nbagents.tools.base import Tool
from nbagents.tools.declaration import save_declaration
from nbagents.tools.image import as_image
from nbagents.tools.payloads import encode_value
from nbagents.tools.pipeline import (
    checkpoint_cached,
    is_registered_task,
    load_failure,
    resolve_device,
    resolve_dtype,
)

__all__ = ["DiffusersTool", "ImageGenerationTool", "ImageTransformationTool", "diffusers_available"]


def diffusers_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("diffusers") is not None


class DiffusersTool(Tool):
    """Base of the diffusers tools: a pipeline loaded in ``setup()``, called in ``forward()``.

    Parameters
    ----------
    model:
        A Hub repo id or local folder (default: ``default_checkpoint``), or a pipeline object.
    device, dtype, token:
        As for :class:`~nbagents.tools.pipeline.PipelineTool` (default dtype: float16 on a GPU,
        float32 on the CPU).
    num_inference_steps:
        Denoising steps (fewer is faster and rougher).
    pipeline_kwargs:
        More arguments for each pipeline call (``guidance_scale``, ``height``, ``width``...).
    hub_kwargs:
        More arguments for ``from_pretrained`` (``revision``, ``variant``, ``cache_dir``...).
    """

    default_checkpoint: str = ""
    remote_checkpoint: str | None = None
    pipeline_class = "DiffusionPipeline"
    thread_safe = False

    def __init__(self, model: Any = None, *, checkpoint: str | None = None, device: Any = None,
                 dtype: Any = None, token: str | None = None, num_inference_steps: int = 25,
                 pipeline_kwargs: Mapping[str, Any] | None = None,
                 hub_kwargs: Mapping[str, Any] | None = None) -> None:
        self.model = model if model is not None else (checkpoint or self.default_checkpoint)
        self.device = device
        self.dtype = dtype
        self.token = token
        self.num_inference_steps = int(num_inference_steps)
        self.pipeline_kwargs = dict(pipeline_kwargs or {})
        self.hub_kwargs = dict(hub_kwargs or {})
        self.pipeline = None
        super().__init__()

    @property
    def checkpoint(self) -> str:
        return str(self.model) if isinstance(self.model, (str, os.PathLike)) else ""

    def checkpoints(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(self.checkpoint, ("model_index.json",))] if self.checkpoint else []

    def is_available_offline(self, *, cache_dir: Any = None) -> bool:
        needed = self.checkpoints()
        return diffusers_available() and bool(needed) and all(
            checkpoint_cached(repo, files, cache_dir=cache_dir) for repo, files in needed)

    def setup(self) -> None:
        if not isinstance(self.model, (str, os.PathLike)):  # a pipeline object, already loaded
            self.pipeline = self.model
            return
        diffusers = require("diffusers", extra="diffusers", purpose=f"The tool {self.name!r}")
        device = resolve_device(self.device)
        dtype = resolve_dtype(self.dtype)
        if dtype is None:
            import torch

            dtype = torch.float16 if device.type == "cuda" else torch.float32
        cls = getattr(diffusers, self.pipeline_class)
        from diffusers.utils import deprecation_utils

        # diffusers renamed torch_dtype to dtype (and warns about the old name since then)
        dtype_name = "dtype" if hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE") else "torch_dtype"
        kwargs = {dtype_name: dtype, **({"token": self.token} if self.token else {}), **self.hub_kwargs}
        try:
            pipeline = cls.from_pretrained(str(self.model), **kwargs)
        except (OSError, ValueError) as e:
            raise load_failure(self.name, str(self.model), e) from e
        pipeline.to(device)
        if hasattr(pipeline, "set_progress_bar_config"):
            pipeline.set_progress_bar_config(disable=True)
        self.pipeline = pipeline

    def save(self, folder: Any) -> Any:
        """``tool.json`` alone for a built-in task with a checkpoint (see ``PipelineTool.save``)."""
        if not (is_registered_task(self) and self.checkpoint):
            return super().save(folder)
        options = {"dtype": self.dtype} if isinstance(self.dtype, str) else {}
        return save_declaration(self, folder, task=self.name, model=self.checkpoint, options=options)

    def call_pipeline(self, **kwargs: Any) -> Any:
        kwargs = {"num_inference_steps": self.num_inference_steps, **self.pipeline_kwargs, **kwargs}
        return self.pipeline(**kwargs).images[0]


class ImageGenerationTool(DiffusersTool):
    name = "image_generator"
    description = "Draw a new picture of what the description `prompt` says. The prompt is in English."
    inputs = {"prompt": {"type": "str", "description": "What the image shows, in English."}}
    output_type = "image"
    default_checkpoint = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    remote_checkpoint = "stabilityai/stable-diffusion-xl-base-1.0"

    def forward(self, prompt: str) -> Any:
        prompt = str(prompt).strip()
        if not prompt:
            raise ToolError("image_generator needs a prompt.")
        return self.call_pipeline(prompt=prompt)


class ImageTransformationTool(DiffusersTool):
    name = "image_transformer"
    description = "Change `image` as the instruction `prompt` says. The prompt is in English, like 'make it winter'."
    inputs = {
        "image": {"type": "image", "description": "The image to change."},
        "prompt": {"type": "str", "description": "The change to make, in English."},
    }
    output_type = "image"
    default_checkpoint = "timbrooks/instruct-pix2pix"
    pipeline_class = "StableDiffusionInstructPix2PixPipeline"
    max_side = 768

    def forward(self, image: Any, prompt: str) -> Any:
        from PIL import Image

        image = as_image(image).convert("RGB")
        scale = min(1.0, self.max_side / max(image.size))
        size = tuple(max(8, int(side * scale) // 8 * 8) for side in image.size)
        if size != image.size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        return self.call_pipeline(prompt=str(prompt), image=image)

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": encode_value(as_image(arguments["image"])),
                "parameters": {"prompt": str(arguments["prompt"])}}
