"""The model-backed tools by task name: :data:`TASKS` maps each task (tool) name to
``"module:Class"`` (the classes live in :mod:`nbagents.tools.models`, one module per family);
:func:`task_class` imports the module only when a task is used.
"""

from __future__ import annotations

import importlib

from ..errors import ToolError, closest_names

__all__ = ["TASKS", "task_class"]

TASKS: dict[str, str] = {
    "document_qa": "nbagents.tools.models.vision:DocumentQuestionAnsweringTool",
    "image_captioner": "nbagents.tools.models.vision:ImageCaptioningTool",
    "image_qa": "nbagents.tools.models.vision:ImageQuestionAnsweringTool",
    "image_segmenter": "nbagents.tools.models.vision:ImageSegmentationTool",
    "transcriber": "nbagents.tools.models.speech:SpeechToTextTool",
    "text_reader": "nbagents.tools.models.speech:TextToSpeechTool",
    "summarizer": "nbagents.tools.models.language:TextSummarizationTool",
    "text_classifier": "nbagents.tools.models.language:TextClassificationTool",
    "text_qa": "nbagents.tools.models.language:TextQuestionAnsweringTool",
    "translator": "nbagents.tools.models.language:TranslationTool",
    "image_generator": "nbagents.tools.models.diffusion:ImageGenerationTool",
    "image_transformer": "nbagents.tools.models.diffusion:ImageTransformationTool",
}


def task_class(task: str) -> type:
    """The tool class of a task name (``"translator"`` -> ``TranslationTool``)."""
    try:
        target = TASKS[task]
    except KeyError:
        close = closest_names(task, TASKS)
        raise ToolError(f"No model-backed tool named {task!r}.",
                        hint=f"Closest: {', '.join(close)}." if close else f"Known: {', '.join(TASKS)}.") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
