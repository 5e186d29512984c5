"""Every model-backed tool end to end, against a tiny random model of its real architecture.

The models and their processors are built and saved in a fixture (tests/tiny_tool_models.py) and
loaded through each tool's own ``setup()`` (``Tool(model=folder)``). The assertions are about
plumbing and types (an ``AgentText``, a mask of the right size, audio at the vocoder's rate), not
quality: the weights are random.
"""

from __future__ import annotations

import numpy as np
import pytest
import tiny_tool_models as tiny
import torch
from PIL import Image, ImageDraw

from nbagents.errors import MissingDependencyError, ToolError
from nbagents.results import AgentAudio, AgentImage, AgentText
from nbagents.tools.models.diffusion import (
    ImageGenerationTool,
    ImageTransformationTool,
)
from nbagents.tools.models.language import (
    TextClassificationTool,
    TextQuestionAnsweringTool,
    TextSummarizationTool,
    TranslationTool,
)
from nbagents.tools.models.languages import LANGUAGE_CODES, language_code
from nbagents.tools.models.speech import (
    SpeechToTextTool,
    TextToSpeechTool,
    default_speaker_embedding,
    split_sentences,
)
from nbagents.tools.models.vision import (
    DocumentQuestionAnsweringTool,
    ImageCaptioningTool,
    ImageQuestionAnsweringTool,
    ImageSegmentationTool,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-tool-models")
    speecht5, hifigan = tiny.build_speecht5(root / "speecht5", root / "hifigan")
    return {
        "blip": tiny.build_blip(root / "blip"),
        "vilt": tiny.build_vilt(root / "vilt"),
        "clipseg": tiny.build_clipseg(root / "clipseg"),
        "donut": tiny.build_donut(root / "donut"),
        "whisper": tiny.build_whisper(root / "whisper"),
        "bart": tiny.build_bart(root / "bart"),
        "mnli": tiny.build_bart_mnli(root / "mnli"),
        "t5": tiny.build_t5(root / "t5"),
        "nllb": tiny.build_nllb(root / "nllb"),
        "speecht5": speecht5,
        "hifigan": hifigan,
    }


@pytest.fixture
def photo():
    """A drawn scene: sky, grass and a red square."""
    img = Image.new("RGB", (80, 60), (120, 180, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 40, 79, 59], fill=(40, 160, 40))
    draw.rectangle([30, 20, 50, 40], fill=(220, 20, 20))
    return img


@pytest.fixture
def receipt():
    img = Image.new("RGB", (60, 90), "white")
    draw = ImageDraw.Draw(img)
    for y in (10, 25, 40):
        draw.text((5, y), "ITEM 4.20", fill="black")
    draw.text((5, 70), "TOTAL 12.60", fill="black")
    return img


def speech_like(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


# --- loading ---------------------------------------------------------------------------------


def test_nothing_loads_until_the_first_call(models, photo):
    captioner = ImageCaptioningTool(model=str(models["blip"]))
    assert not captioner.is_initialized and isinstance(captioner.model, str)
    assert captioner.checkpoint == str(models["blip"])
    captioner(photo)
    assert captioner.is_initialized and isinstance(captioner.model, torch.nn.Module)
    assert not captioner.model.training


def test_default_checkpoints_are_the_real_ones():
    assert ImageCaptioningTool().checkpoint == "Salesforce/blip-image-captioning-base"
    assert DocumentQuestionAnsweringTool().checkpoint == "naver-clova-ix/donut-base-finetuned-docvqa"
    assert ImageQuestionAnsweringTool().checkpoint == "dandelin/vilt-b32-finetuned-vqa"
    assert ImageSegmentationTool().checkpoint == "CIDAS/clipseg-rd64-refined"
    assert SpeechToTextTool().checkpoint == "openai/whisper-base"
    assert TextSummarizationTool().checkpoint == "philschmid/bart-large-cnn-samsum"
    assert TextClassificationTool().checkpoint == "facebook/bart-large-mnli"
    assert TextQuestionAnsweringTool().checkpoint == "google/flan-t5-base"
    assert TranslationTool().checkpoint == "facebook/nllb-200-distilled-600M"
    reader = TextToSpeechTool()
    assert reader.checkpoint == "microsoft/speecht5_tts" and reader.vocoder == "microsoft/speecht5_hifigan"
    assert TranslationTool(checkpoint="my/nllb").checkpoint == "my/nllb"


def test_missing_checkpoint_is_a_clear_tool_error(tmp_path):
    tool = TextSummarizationTool(model="nbagents-tests/no-such-model")
    with pytest.raises(ToolError) as info:
        tool("Some text.")
    assert "no-such-model" in str(info.value) and "hf download" in str(info.value)
    assert not tool.is_initialized  # a later call tries again
    with pytest.raises(ToolError, match="cannot load"):
        TextSummarizationTool(model=str(tmp_path))("Some text.")


def test_dtype_and_device_map_options(models, monkeypatch):
    import transformers

    bf16 = TextSummarizationTool(model=str(models["bart"]), dtype="bfloat16", generate_kwargs={"max_new_tokens": 4})
    assert isinstance(bf16("hello world."), AgentText)
    assert bf16.model.dtype == torch.bfloat16
    seen = []
    real = transformers.AutoModelForSeq2SeqLM.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        seen.append(kwargs)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForSeq2SeqLM, "from_pretrained", classmethod(spy))
    mapped = TextSummarizationTool(model=str(models["bart"]), device_map="auto",
                                   generate_kwargs={"max_new_tokens": 4, "num_beams": 1})
    assert isinstance(mapped("hello world."), AgentText)
    assert seen[-1]["device_map"] == "auto" and mapped.model.device.type == "cpu"
    with pytest.raises(ToolError, match="dtype"):
        TextSummarizationTool(model=str(models["bart"]), dtype="float7")("x")


def test_quantization_8bit_runs_through_bitsandbytes(models):
    pytest.importorskip("bitsandbytes")
    tool = TextSummarizationTool(model=str(models["bart"]), quantization="8bit",
                                 generate_kwargs={"max_new_tokens": 4, "num_beams": 1})
    kwargs = tool.model_load_kwargs()
    assert kwargs["quantization_config"].load_in_8bit and kwargs["device_map"] == {"": "cpu"}
    assert isinstance(tool("hello world."), AgentText)
    assert type(tool.model.model.encoder.layers[0].fc1).__name__ == "Linear8bitLt"
    # 4-bit needs layer sizes that are multiples of 32 on the CPU: only its config is checked here
    four = TextSummarizationTool(quantization="4bit").model_load_kwargs()["quantization_config"]
    assert four.load_in_4bit
    with pytest.raises(ToolError, match="quantization"):
        TextSummarizationTool(quantization="3bit").model_load_kwargs()


# --- vision ----------------------------------------------------------------------------------


def test_image_captioner_blip(models, photo):
    captioner = ImageCaptioningTool(model=str(models["blip"]))
    caption = captioner(image=AgentImage(photo))
    assert isinstance(caption, AgentText) and caption.strip()
    assert isinstance(captioner(photo.convert("L")), AgentText)  # converted to RGB first


def test_image_qa_vilt_answers_with_a_label(models, photo):
    tool = ImageQuestionAnsweringTool(model=str(models["vilt"]))
    answer = tool(image=AgentImage(photo), question="what color is the square?")
    assert isinstance(answer, AgentText) and answer in {"red", "green", "blue"}
    long_question = "what " * 200 + "color?"  # truncated to the model's 40 positions
    assert tool(photo, long_question) in {"red", "green", "blue"}
    with pytest.raises(ToolError, match="empty"):
        tool(photo, "   ")


def test_image_segmenter_clipseg_returns_a_binary_mask_of_the_input_size(models, photo):
    tool = ImageSegmentationTool(model=str(models["clipseg"]))
    mask = tool(image=AgentImage(photo), label="red square")
    assert isinstance(mask, AgentImage)
    raw = mask.to_raw()
    assert raw.mode == "L" and raw.size == photo.size
    assert set(np.unique(np.asarray(raw))) <= {0, 255}


def test_document_qa_donut(models, receipt):
    tool = DocumentQuestionAnsweringTool(model=str(models["donut"]))
    answer = tool(document=AgentImage(receipt), question="What is the total?")
    assert isinstance(answer, AgentText)
    assert "<" not in answer  # tags are stripped


# --- speech ----------------------------------------------------------------------------------


def test_transcriber_whisper_resamples_mixes_and_windows(models):
    tool = SpeechToTextTool(model=str(models["whisper"]))
    stereo = np.stack([speech_like(5.0, 8000), speech_like(5.0, 8000)], axis=1)
    audio = AgentAudio(stereo, 8000)
    text = tool(audio=audio)
    assert isinstance(text, AgentText)
    features = tool.encode(audio)["input_features"]
    assert features.shape[0] == 3  # 5 s in the tiny model's 2 s windows
    assert isinstance(tool(AgentAudio(speech_like(0.5, 16000), 16000)), AgentText)
    with pytest.raises(ToolError, match="empty"):
        tool(AgentAudio(np.zeros(0, dtype=np.float32), 16000))


def test_text_reader_speecht5_with_hifigan(models):
    reader = TextToSpeechTool(model=str(models["speecht5"]), vocoder=str(models["hifigan"]),
                              generate_kwargs={"minlenratio": 1.0, "maxlenratio": 2.0})
    speech = reader(text="Hello world. Read this aloud.")
    assert isinstance(speech, AgentAudio)
    assert speech.samplerate == 16000 and speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert 0 < speech.duration < 0.25  # one piece, no pause
    long = reader(text=("hello world " * 30).strip() + ". " + ("read this " * 40).strip() + ".")
    assert long.duration > 2 * reader.pause_seconds  # read in 300-character pieces joined by pauses
    assert reader.speaker_embeddings.shape == (1, 16)
    assert np.allclose(reader.speaker_embeddings.numpy()[0], default_speaker_embedding(16))
    with pytest.raises(ToolError, match="empty"):
        reader(text="   ")


def test_text_reader_in_bfloat16(models):
    reader = TextToSpeechTool(model=str(models["speecht5"]), vocoder=str(models["hifigan"]), dtype="bfloat16",
                              generate_kwargs={"minlenratio": 1.0, "maxlenratio": 2.0})
    speech = reader("hello world")
    assert isinstance(speech, AgentAudio) and speech.samples.dtype == np.float32 and speech.duration > 0
    assert reader.vocoder.dtype == torch.bfloat16 and reader.speaker_embeddings.dtype == torch.bfloat16


def test_text_reader_takes_a_speaker_embedding(models, tmp_path):
    voice = np.linspace(-0.1, 0.1, 16, dtype=np.float32)
    np.save(tmp_path / "voice.npy", voice)
    reader = TextToSpeechTool(model=str(models["speecht5"]), vocoder=str(models["hifigan"]),
                              speaker_embeddings=str(tmp_path / "voice.npy"))
    assert isinstance(reader("hello"), AgentAudio)
    assert np.allclose(reader.speaker_embeddings.numpy()[0], voice)
    wrong = TextToSpeechTool(model=str(models["speecht5"]), vocoder=str(models["hifigan"]),
                             speaker_embeddings=np.zeros(7))
    with pytest.raises(ToolError, match="7 values"):
        wrong("hello")


def test_speaker_embedding_and_sentence_splitting():
    vector = default_speaker_embedding()
    assert vector.shape == (512,) and np.linalg.norm(vector) == pytest.approx(1.0)
    assert np.array_equal(vector, default_speaker_embedding())
    assert split_sentences("One. Two! Three?", limit=8) == ["One.", "Two!", "Three?"]
    assert split_sentences("One. Two! Three?") == ["One. Two! Three?"]
    pieces = split_sentences("word " * 100, limit=50)
    assert all(len(p) <= 50 for p in pieces) and " ".join(pieces).split() == ["word"] * 100


# --- language --------------------------------------------------------------------------------


def test_summarizer_bart(models):
    tool = TextSummarizationTool(model=str(models["bart"]), generate_kwargs={"num_beams": 1})
    summary = tool(text="The tide was high. " * 100)  # longer than the 64 positions: truncated
    assert isinstance(summary, AgentText)
    with pytest.raises(ToolError, match="empty"):
        tool(text="  ")


def test_text_classifier_zero_shot_bart_mnli(models):
    tool = TextClassificationTool(model=str(models["mnli"]))
    label = tool(text="What a lovely day", labels=["positive", "negative", "neutral"])
    assert isinstance(label, AgentText) and label in {"positive", "negative", "neutral"}
    assert tool.entailment_id == 2
    assert tool("What a day", "happy, sad") in {"happy", "sad"}
    with pytest.raises(ToolError, match="at least two labels"):
        tool("text", ["only"])


def test_text_classifier_needs_an_entailment_label(models):
    tool = TextClassificationTool(model=str(models["bart"]))  # a summarizer: no NLI labels
    with pytest.raises(ToolError, match="entailment"):
        tool("text", ["a", "b"])


def test_text_qa_flan_t5(models):
    tool = TextQuestionAnsweringTool(model=str(models["t5"]), generate_kwargs={"max_new_tokens": 8})
    answer = tool(text="The tide is high at six.", question="When is the tide high?")
    assert isinstance(answer, AgentText)
    encoded = tool.encode("the text " * 1000, "the question?")
    ids = encoded["input_ids"][0].tolist()
    prompt = tool.pre_processor.decode(ids, skip_special_tokens=True)
    assert "question" in prompt  # the question comes first, so truncation keeps it


def test_translator_nllb(models):
    tool = TranslationTool(model=str(models["nllb"]), generate_kwargs={"max_new_tokens": 8})
    out = tool(text="hello world", src_lang="English", tgt_lang="French")
    assert isinstance(out, AgentText)
    assert tool.pre_processor.src_lang == "eng_Latn"
    encoded = tool.encode("bonjour", "fr", "German")
    assert encoded["forced_bos_token_id"] == tool.pre_processor.convert_tokens_to_ids("deu_Latn")
    assert encoded["input_ids"][0, 0].item() == tool.pre_processor.convert_tokens_to_ids("fra_Latn")
    with pytest.raises(ToolError, match="Unknown language 'Frnch'") as info:
        tool("hello", "English", "Frnch")
    assert "French" in str(info.value)


def test_language_table_matches_nllb_codes():
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    assert set(LANGUAGE_CODES.values()) == set(FAIRSEQ_LANGUAGE_CODES)
    assert language_code("French") == "fra_Latn"
    assert language_code("  simplified   chinese ") == "zho_Hans"
    assert language_code("fra_latn") == "fra_Latn"
    assert language_code("de") == "deu_Latn"
    assert language_code("Spanish language") == "spa_Latn"


# --- diffusion -------------------------------------------------------------------------------


def test_diffusers_tools_name_the_extra_when_missing(photo, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if it were not installed: import fails
    with pytest.raises(MissingDependencyError) as info:
        ImageGenerationTool()("a red square")
    assert "nbagents[diffusers]" in str(info.value)
    with pytest.raises(MissingDependencyError):
        ImageTransformationTool()(photo, "make it blue")
    assert not ImageGenerationTool().is_available_offline()


def test_diffusers_tools_run_a_pipeline_object(photo):
    calls = []

    class FakePipeline:
        def __call__(self, **kwargs):
            calls.append(kwargs)
            image = kwargs.get("image") or Image.new("RGB", (16, 16), "purple")
            return type("Out", (), {"images": [image.convert("L")]})()

    generator = ImageGenerationTool(model=FakePipeline(), num_inference_steps=3)
    result = generator("a purple square")
    assert isinstance(result, AgentImage) and calls[-1]["num_inference_steps"] == 3
    editor = ImageTransformationTool(model=FakePipeline())
    edited = editor(photo, "make it gray")
    assert edited.size == (80, 56)  # multiples of 8


def test_diffusers_route_with_tiny_pipelines(tmp_path, photo):
    pytest.importorskip("diffusers")
    generator = ImageGenerationTool(model=str(tiny.build_stable_diffusion(tmp_path / "sd")), num_inference_steps=2,
                                    pipeline_kwargs={"height": 32, "width": 32})
    assert generator.is_available_offline()
    picture = generator(prompt="a red square")
    assert isinstance(picture, AgentImage) and picture.size == (32, 32)
    editor = ImageTransformationTool(model=str(tiny.build_stable_diffusion(tmp_path / "p2p", instruct=True)),
                                     num_inference_steps=2)
    edited = editor(image=AgentImage(photo), prompt="make it blue")
    assert isinstance(edited, AgentImage) and edited.size == (80, 56)
