"""Model-backed audio tools: transcriber (Whisper) and text_reader (SpeechT5 + HiFi-GAN).

``text_reader`` needs a speaker embedding (a 512-value x-vector). Transformers Agents downloaded
one from a dataset on every first use; here the default is a fixed vector computed on the spot
(:func:`default_speaker_embedding`: deterministic, unit length, no download), and
``TextToSpeechTool(speaker_embeddings=...)`` takes your own (an array, a tensor, a list or a
``.npy`` file), e.g. an x-vector from the ``Matthijs/cmu-arctic-xvectors`` dataset for a natural
voice.

Imports are absolute so that ``Tool.save`` writes a module that loads on its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from nbagents.errors import ToolError
from nbagents.results import AgentAudio
from nbagents.tools.audio import as_audio, resample
from nbagents.tools.payloads import raw_media
from nbagents.tools.pipeline import PipelineTool

__all__ = ["SpeechToTextTool", "TextToSpeechTool", "default_speaker_embedding", "split_sentences"]


class SpeechToTextTool(PipelineTool):
    name = "transcriber"
    description = "Transcribe the speech in `audio` to text."
    inputs = {"audio": {"type": "audio", "description": "The recording to transcribe."}}
    output_type = "str"
    default_checkpoint = "openai/whisper-base"
    model_class = "WhisperForConditionalGeneration"
    generate_kwargs = {"max_new_tokens": 440}

    def encode(self, audio: Any) -> Any:
        audio = as_audio(audio)
        samples = audio.samples if audio.samples.ndim == 1 else audio.samples.mean(axis=1)
        if len(samples) == 0:
            raise ToolError("transcriber got empty audio.")
        extractor = self.pre_processor.feature_extractor
        rate = int(extractor.sampling_rate)
        samples = resample(samples, audio.samplerate, rate)
        # Whisper hears 30 s at a time: longer audio is cut into windows transcribed as one batch.
        window = int(getattr(extractor, "n_samples", 30 * rate))
        chunks = [samples[i:i + window] for i in range(0, len(samples), window)]
        features = extractor(chunks, sampling_rate=rate, return_tensors="pt")
        return {"input_features": features.input_features}

    def run_model(self, inputs: Any) -> Any:
        kwargs = dict(self.generate_kwargs)
        limit = getattr(self.model.config, "max_target_positions", 448) - 4  # room for the prompt tokens
        kwargs["max_new_tokens"] = max(1, min(int(kwargs.get("max_new_tokens", limit)), limit))
        if getattr(self.model.generation_config, "task_to_id", None):
            kwargs.setdefault("task", "transcribe")
        return self.model.generate(inputs["input_features"], **kwargs)

    def decode(self, outputs: Any) -> str:
        texts = self.post_processor.batch_decode(outputs, skip_special_tokens=True)
        return " ".join(t.strip() for t in texts if t.strip())

    @classmethod
    def remote_payload(cls, arguments: Mapping[str, Any]) -> Any:
        return raw_media(as_audio(arguments["audio"]))


def default_speaker_embedding(dim: int = 512) -> np.ndarray:
    """A fixed speaker vector: the same on every machine, unit length, nothing downloaded."""
    rng = np.random.default_rng(7306)
    vector = rng.standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def split_sentences(text: str, limit: int = 300) -> list[str]:
    """Split ``text`` at sentence ends into pieces of at most about ``limit`` characters."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?;:])\s+|\n+", text) if s.strip()]
    pieces: list[str] = []
    for sentence in sentences:
        while len(sentence) > limit:  # a run-on sentence: cut at the last space before the limit
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if pieces and len(pieces[-1]) + len(sentence) + 1 <= limit:
            pieces[-1] = f"{pieces[-1]} {sentence}"
        elif sentence:
            pieces.append(sentence)
    return pieces


class TextToSpeechTool(PipelineTool):
    name = "text_reader"
    description = "Read `text` aloud as speech. The text is in English."
    inputs = {"text": {"type": "str", "description": "The English text to read."}}
    output_type = "audio"
    default_checkpoint = "microsoft/speecht5_tts"
    default_vocoder = "microsoft/speecht5_hifigan"
    model_class = "SpeechT5ForTextToSpeech"
    vocoder_class = "SpeechT5HifiGan"
    pause_seconds = 0.25

    def __init__(self, model: Any = None, pre_processor: Any = None, post_processor: Any = None, *,
                 vocoder: Any = None, speaker_embeddings: Any = None, **kwargs: Any) -> None:
        self.vocoder = vocoder if vocoder is not None else self.default_vocoder
        self.speaker_embeddings = speaker_embeddings
        super().__init__(model, pre_processor, post_processor, **kwargs)

    def checkpoints(self) -> list[tuple[str, tuple[str, ...]]]:
        found = super().checkpoints()
        if isinstance(self.vocoder, (str, os.PathLike)):
            found.append((str(self.vocoder), ("config.json",)))
        return found

    def load_extras(self) -> None:
        import torch

        dtype = getattr(self.model, "dtype", None)
        dtype = dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32
        if isinstance(self.vocoder, (str, os.PathLike)):
            self.vocoder = self.load_component(self.vocoder_class, self.vocoder)
            self.vocoder.to(device=self.model_device, dtype=dtype)  # it takes the model's spectrogram
        self.vocoder.eval()
        dim = int(getattr(self.model.config, "speaker_embedding_dim", 512))
        value = self.speaker_embeddings
        if value is None:
            value = default_speaker_embedding(dim)
        elif isinstance(value, (str, os.PathLike)):
            value = np.load(os.fspath(value))
        tensor = torch.as_tensor(np.asarray(value, dtype=np.float32)).reshape(1, -1)
        if tensor.shape[1] != dim:
            raise ToolError(f"The speaker embedding has {tensor.shape[1]} values; the model takes {dim}.")
        self.speaker_embeddings = tensor.to(device=self.model_device, dtype=dtype)

    def encode(self, text: str) -> Any:
        pieces = split_sentences(" ".join(str(text).split()))
        if not pieces:
            raise ToolError("text_reader got an empty text.")
        limit = self.max_input_tokens(self.pre_processor.tokenizer, default=600)
        return {"pieces": [self.pre_processor(text=p, return_tensors="pt", truncation=True, max_length=limit)
                           ["input_ids"] for p in pieces]}

    def run_model(self, inputs: Any) -> Any:
        waves = []
        for ids in inputs["pieces"]:
            wave = self.model.generate_speech(ids.to(self.model_device), self.speaker_embeddings,
                                              vocoder=self.vocoder, **self.generate_kwargs)
            waves.append(wave.float().cpu().numpy().reshape(-1))
        return waves

    def decode(self, outputs: Any) -> AgentAudio:
        rate = int(getattr(self.vocoder.config, "sampling_rate", 16000))
        pause = np.zeros(int(self.pause_seconds * rate), dtype=np.float32)
        parts = []
        for i, wave in enumerate(outputs):
            parts.extend([pause, wave] if i else [wave])
        return AgentAudio(np.concatenate(parts).astype(np.float32), rate)
