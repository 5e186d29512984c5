"""Model-backed text tools: summarizer (BART), text_classifier (zero-shot BART-MNLI), text_qa
(Flan-T5) and translator (NLLB-200).

Imports are absolute so that ``Tool.save`` writes a module that loads on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbagents.errors import ToolError
from nbagents.tools.models.languages import language_code
from nbagents.tools.pipeline import PipelineTool

__all__ = ["TextSummarizationTool", "TextClassificationTool", "TextQuestionAnsweringTool", "TranslationTool"]


class _Seq2SeqTool(PipelineTool):
    """A tokenizer + ``generate`` tool: encode text, generate, decode the first sequence."""

    model_class = "AutoModelForSeq2SeqLM"
    pre_processor_class = "AutoTokenizer"
    generate_kwargs: Mapping[str, Any] = {"max_new_tokens": 128}

    def tokenize(self, text: str, **kwargs: Any) -> Any:
        text = str(text)
        if not text.strip():
            raise ToolError(f"{self.name} got an empty text.")
        return self.pre_processor(text, return_tensors="pt", truncation=True,
                                  max_length=self.max_input_tokens(self.pre_processor), **kwargs)

    def encode(self, text: str) -> Any:
        return self.tokenize(text)

    def run_model(self, inputs: Any) -> Any:
        return self.model.generate(**inputs, **self.generation_options())

    def decode(self, outputs: Any) -> str:
        return self.post_processor.batch_decode(outputs, skip_special_tokens=True)[0].strip()


class TextSummarizationTool(_Seq2SeqTool):
    name = "summarizer"
    description = "Summarize `text`. The text is in English; the summary is a few sentences."
    inputs = {"text": {"type": "str", "description": "The English text to summarize."}}
    output_type = "str"
    default_checkpoint = "philschmid/bart-large-cnn-samsum"
    generate_kwargs = {"max_new_tokens": 142, "num_beams": 4}


class TextQuestionAnsweringTool(_Seq2SeqTool):
    name = "text_qa"
    description = "Answer `question` from `text`. Both are in English."
    inputs = {
        "text": {"type": "str", "description": "The English text that holds the answer."},
        "question": {"type": "str", "description": "The question to answer."},
    }
    output_type = "str"
    default_checkpoint = "google/flan-t5-base"
    generate_kwargs = {"max_new_tokens": 64}
    # The question comes first so that truncating a long text never cuts it off.
    prompt = "Answer the question from the text.\nQuestion: {question}\nText: {text}"

    def encode(self, text: str, question: str) -> Any:
        return self.tokenize(self.prompt.format(question=str(question).strip(), text=str(text).strip()))

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": cls.prompt.format(question=arguments["question"], text=arguments["text"])}


class TextClassificationTool(PipelineTool):
    name = "text_classifier"
    description = ("Pick the best of `labels` (positive, negative) for `text`. "
                   "The text is in English.")
    inputs = {
        "text": {"type": "str", "description": "The English text to classify."},
        "labels": {"type": "list", "description": "The candidate labels, e.g. ['positive', 'negative']."},
    }
    output_type = "str"
    default_checkpoint = "facebook/bart-large-mnli"
    model_class = "AutoModelForSequenceClassification"
    pre_processor_class = "AutoTokenizer"
    hypothesis = "This example is {}."

    @staticmethod
    def candidate_labels(labels: Any) -> list[str]:
        if isinstance(labels, str):
            labels = [p for p in (s.strip() for s in labels.split(",")) if p]
        labels = [str(label) for label in (labels or [])]
        if len(labels) < 2:
            raise ToolError("text_classifier needs at least two labels to choose from.",
                            hint="Pass labels=['positive', 'negative'].")
        return labels

    def load_extras(self) -> None:
        label2id = {str(k).lower(): int(v) for k, v in self.model.config.label2id.items()}
        entail = [i for name, i in label2id.items() if name.startswith("entail")]
        if not entail:
            raise ToolError(f"The model {self.checkpoint!r} has no 'entailment' label, so it cannot do "
                            "zero-shot classification.", hint="Use an NLI model such as facebook/bart-large-mnli.")
        self.entailment_id = entail[0]

    def encode(self, text: str, labels: list) -> Any:
        labels = self.candidate_labels(labels)
        encoded = self.pre_processor([str(text)] * len(labels), [self.hypothesis.format(label) for label in labels],
                                     return_tensors="pt", padding=True, truncation="only_first",
                                     max_length=self.max_input_tokens(self.pre_processor))
        return {**encoded, "candidate_labels": labels}

    def run_model(self, inputs: Any) -> Any:
        labels = inputs.pop("candidate_labels")
        return self.model(**inputs).logits, labels

    def decode(self, outputs: Any) -> str:
        logits, labels = outputs
        return labels[int(logits[:, self.entailment_id].argmax().item())]

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": str(arguments["text"]),
                "parameters": {"candidate_labels": cls.candidate_labels(arguments["labels"])}}


class TranslationTool(_Seq2SeqTool):
    name = "translator"
    description = "Translate `text`; languages are names like 'French'. `src_lang` is the language of the text, `tgt_lang` the one to translate into."
    inputs = {
        "text": {"type": "str", "description": "The text to translate."},
        "src_lang": {"type": "str", "description": "The language of the text, e.g. 'English'."},
        "tgt_lang": {"type": "str", "description": "The language to translate into, e.g. 'French'."},
    }
    output_type = "str"
    default_checkpoint = "facebook/nllb-200-distilled-600M"
    generate_kwargs = {"max_new_tokens": 256}

    def encode(self, text: str, src_lang: str, tgt_lang: str) -> Any:
        src, tgt = language_code(src_lang), language_code(tgt_lang)
        tokenizer = self.pre_processor
        target_id = tokenizer.convert_tokens_to_ids(tgt)
        if target_id is None or target_id == tokenizer.unk_token_id:
            raise ToolError(f"The model {self.checkpoint!r} does not know the language code {tgt!r}.")
        if hasattr(tokenizer, "src_lang"):
            tokenizer.src_lang = src
        return {**self.tokenize(text), "forced_bos_token_id": target_id}

    def run_model(self, inputs: Any) -> Any:
        target_id = inputs.pop("forced_bos_token_id")
        return self.model.generate(**inputs, forced_bos_token_id=target_id, **self.generation_options())

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {"inputs": str(arguments["text"]),
                "parameters": {"src_lang": language_code(arguments["src_lang"]),
                               "tgt_lang": language_code(arguments["tgt_lang"])}}
