"""Model-backed image tools: document_qa (Donut), image_captioner (BLIP), image_qa (ViLT) and
image_segmenter (CLIPSeg).

Imports are absolute so that ``Tool.save`` writes a module that loads on its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nbagents.errors import ToolError
from nbagents.tools.image import as_image
from nbagents.tools.payloads import encode_value, raw_media
from nbagents.tools.pipeline import PipelineTool

__all__ = ["DocumentQuestionAnsweringTool", "ImageCaptioningTool", "ImageQuestionAnsweringTool",
           "ImageSegmentationTool"]


def _rgb(image: Any, name: str = "image") -> Any:
    return as_image(image, name).convert("RGB")


def _question(question: Any) -> str:
    question = " ".join(str(question).split())
    if not question:
        raise ToolError("The question is empty.")
    return question


class DocumentQuestionAnsweringTool(PipelineTool):
    name = "document_qa"
    description = "Answer `question` about a document image. The document is a scan, a form or a receipt."
    inputs = {
        "document": {"type": "image", "description": "The image of the document."},
        "question": {"type": "str", "description": "The question, in English."},
    }
    output_type = "str"
    default_checkpoint = "naver-clova-ix/donut-base-finetuned-docvqa"
    model_class = "VisionEncoderDecoderModel"
    pre_processor_class = "DonutProcessor"
    task_prompt = "<s_docvqa><s_question>{question}</s_question><s_answer>"

    def encode(self, document: Any, question: str) -> Any:
        tokenizer = self.pre_processor.tokenizer
        prompt = self.task_prompt.format(question=_question(question))
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        pixels = self.pre_processor(_rgb(document, "document"), return_tensors="pt").pixel_values
        return {"pixel_values": pixels, "decoder_input_ids": ids}

    def run_model(self, inputs: Any) -> Any:
        tokenizer = self.pre_processor.tokenizer
        decoder = self.model.decoder.config
        kwargs = {"max_length": getattr(decoder, "max_position_embeddings", 512), "num_beams": 1,
                  "use_cache": True, "pad_token_id": tokenizer.pad_token_id,
                  "eos_token_id": tokenizer.eos_token_id, **self.generate_kwargs}
        if tokenizer.unk_token_id is not None:
            kwargs.setdefault("bad_words_ids", [[tokenizer.unk_token_id]])
        return self.model.generate(inputs["pixel_values"], decoder_input_ids=inputs["decoder_input_ids"], **kwargs)

    def decode(self, outputs: Any) -> str:
        tokenizer = self.pre_processor.tokenizer
        sequence = self.pre_processor.batch_decode(outputs)[0]
        for token in (tokenizer.eos_token, tokenizer.pad_token):
            if token:
                sequence = sequence.replace(token, "")
        sequence = re.sub(r"<.*?>", "", sequence, count=1).strip()  # the task start token
        parsed = self.pre_processor.token2json(sequence)
        if isinstance(parsed, Mapping) and "answer" in parsed:
            return str(parsed["answer"]).strip()
        # No closed answer field (a model that stopped early): the text after <s_answer>.
        tail = sequence.split("<s_answer>", 1)[-1]
        return re.sub(r"<.*?>", " ", tail).split("</s_answer>")[0].strip()

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": {"image": encode_value(as_image(arguments["document"], "document")),
                           "question": str(arguments["question"])}}


class ImageCaptioningTool(PipelineTool):
    name = "image_captioner"
    description = "Describe `image` in a short caption. The caption is in English."
    inputs = {"image": {"type": "image", "description": "The image to describe."}}
    output_type = "str"
    default_checkpoint = "Salesforce/blip-image-captioning-base"
    model_class = "BlipForConditionalGeneration"
    generate_kwargs = {"max_new_tokens": 30}

    def encode(self, image: Any) -> Any:
        return self.pre_processor(images=_rgb(image), return_tensors="pt")

    def run_model(self, inputs: Any) -> Any:
        return self.model.generate(**inputs, **self.generation_options())

    def decode(self, outputs: Any) -> str:
        return self.post_processor.batch_decode(outputs, skip_special_tokens=True)[0].strip()

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> Any:
        return raw_media(as_image(arguments["image"]))


class ImageQuestionAnsweringTool(PipelineTool):
    name = "image_qa"
    description = ("Answer `question` about `image`, such as what color it is. "
                   "The answer is a word or two.")
    inputs = {
        "image": {"type": "image", "description": "The image the question is about."},
        "question": {"type": "str", "description": "The question, in English."},
    }
    output_type = "str"
    default_checkpoint = "dandelin/vilt-b32-finetuned-vqa"
    model_class = "ViltForQuestionAnswering"

    def encode(self, image: Any, question: str) -> Any:
        tokenizer = self.pre_processor.tokenizer
        limit = getattr(self.model.config, "max_position_embeddings", 40)
        return self.pre_processor(_rgb(image), _question(question), return_tensors="pt", truncation=True,
                                  max_length=min(limit, getattr(tokenizer, "model_max_length", limit)))

    def run_model(self, inputs: Any) -> Any:
        return self.model(**inputs).logits

    def decode(self, outputs: Any) -> str:
        index = int(outputs.argmax(-1)[0].item())
        return str(self.model.config.id2label[index])

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": {"image": encode_value(as_image(arguments["image"])),
                           "question": str(arguments["question"])}}


class ImageSegmentationTool(PipelineTool):
    name = "image_segmenter"
    description = "Black-and-white mask of `label` in `image`. White is where the object is."
    inputs = {
        "image": {"type": "image", "description": "The image to segment."},
        "label": {"type": "str", "description": "What to find, e.g. 'cat'."},
    }
    output_type = "image"
    default_checkpoint = "CIDAS/clipseg-rd64-refined"
    model_class = "CLIPSegForImageSegmentation"
    threshold = 0.5

    def encode(self, image: Any, label: str) -> Any:
        image = _rgb(image)
        label = str(label).strip()
        if not label:
            raise ToolError("image_segmenter needs a label (what to find).")
        encoded = self.pre_processor(text=[label], images=[image], padding=True, truncation=True,
                                     return_tensors="pt")
        return {**encoded, "target_size": image.size}

    def run_model(self, inputs: Any) -> Any:
        size = inputs.pop("target_size")
        return self.model(**inputs).logits, size

    def decode(self, outputs: Any) -> Any:
        import numpy as np
        from PIL import Image

        logits, size = outputs
        probs = logits.float().sigmoid().reshape(logits.shape[-2:]).cpu().numpy().astype(np.float32)
        probs = np.asarray(Image.fromarray(probs).resize(size, Image.Resampling.BILINEAR))
        return Image.fromarray(((probs > self.threshold) * 255).astype(np.uint8))
