"""Tiny random models of the real architectures behind the model-backed tools, for tests.

Each ``build_*`` function saves, into the folder it is given, a model with random weights (one or
two layers, hidden size 16) next to a tokenizer / processor made here from the architecture's own
classes (a small vocabulary, no download), so the tools load them through their normal
``from_pretrained`` path. They test plumbing and types, not quality: outputs are gibberish.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

LETTERS = "abcdefghijklmnopqrstuvwxyz"
SMALL = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)


def _seed() -> None:
    torch.manual_seed(0)


def _bert_tokenizer(words=()):
    from transformers import BertTokenizer

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *LETTERS, *[f"##{c}" for c in LETTERS], "?", ".", *words]
    return BertTokenizer(vocab={t: i for i, t in enumerate(dict.fromkeys(tokens))})


def _bpe_vocab(specials, space="Ġ"):
    vocab = {t: i for i, t in enumerate(specials)}
    for c in LETTERS + space + ".?,'":
        vocab.setdefault(c, len(vocab))
    return vocab


def build_blip(folder: Path) -> Path:
    """BlipForConditionalGeneration + BlipProcessor (BLIP image processor + BERT tokenizer)."""
    from transformers import (
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessorPil,
        BlipProcessor,
    )

    _seed()
    tok = _bert_tokenizer()
    config = BlipConfig(
        vision_config=dict(**SMALL, image_size=32, patch_size=16),
        text_config=dict(**SMALL, vocab_size=len(tok), max_position_embeddings=64, bos_token_id=2,
                         sep_token_id=3, pad_token_id=0, eos_token_id=3),
        projection_dim=16,
    )
    BlipForConditionalGeneration(config).save_pretrained(folder)
    BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}), tokenizer=tok).save_pretrained(folder)
    return folder


def build_vilt(folder: Path) -> Path:
    """ViltForQuestionAnswering (three answer labels) + ViltProcessor."""
    from transformers import (
        ViltConfig,
        ViltForQuestionAnswering,
        ViltImageProcessorPil,
        ViltProcessor,
    )

    _seed()
    tok = _bert_tokenizer(["what", "color", "is", "the"])
    labels = ["red", "green", "blue"]
    config = ViltConfig(vocab_size=len(tok), **SMALL, image_size=32, patch_size=16, max_position_embeddings=40,
                        num_labels=3, id2label=dict(enumerate(labels)), label2id={v: i for i, v in enumerate(labels)},
                        max_image_length=-1)
    ViltForQuestionAnswering(config).save_pretrained(folder)
    ViltProcessor(image_processor=ViltImageProcessorPil(size={"shortest_edge": 32}, size_divisor=32),
                  tokenizer=tok).save_pretrained(folder)
    return folder


def build_clipseg(folder: Path) -> Path:
    """CLIPSegForImageSegmentation + CLIPSegProcessor (ViT image processor + CLIP tokenizer)."""
    from transformers import (
        CLIPSegConfig,
        CLIPSegForImageSegmentation,
        CLIPSegProcessor,
        CLIPTokenizer,
        ViTImageProcessorPil,
    )

    _seed()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in LETTERS:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    config = CLIPSegConfig(
        text_config=dict(**SMALL, vocab_size=len(vocab), max_position_embeddings=16, bos_token_id=0,
                         eos_token_id=1, pad_token_id=1),
        vision_config=dict(**SMALL, image_size=32, patch_size=16),
        projection_dim=16, reduce_dim=8, extract_layers=[0], decoder_num_attention_heads=2,
        decoder_intermediate_size=16,
    )
    CLIPSegForImageSegmentation(config).save_pretrained(folder)
    image_processor = ViTImageProcessorPil(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    CLIPSegProcessor(image_processor=image_processor, tokenizer=tok).save_pretrained(folder)
    return folder


def build_donut(folder: Path) -> Path:
    """VisionEncoderDecoderModel (Donut-Swin encoder + MBart decoder) + DonutProcessor."""
    from transformers import (
        DonutImageProcessorPil,
        DonutProcessor,
        DonutSwinConfig,
        MBartConfig,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        XLMRobertaTokenizer,
    )

    _seed()
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -1.0) for c in LETTERS + "?.0123456789"]
    tok = XLMRobertaTokenizer(vocab=pieces)
    tok.add_special_tokens({"additional_special_tokens": ["<s_docvqa>", "<s_question>", "</s_question>",
                                                          "<s_answer>", "</s_answer>"]})
    encoder = DonutSwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=[1, 1], num_heads=[1, 1], window_size=2)
    decoder = MBartConfig(vocab_size=len(tok), d_model=16, decoder_layers=1, decoder_attention_heads=2,
                          decoder_ffn_dim=32, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32,
                          max_position_embeddings=48, is_decoder=True, add_cross_attention=True,
                          pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=0)
    config = VisionEncoderDecoderConfig(encoder=encoder.to_dict(), decoder=decoder.to_dict())
    config.pad_token_id, config.decoder_start_token_id, config.eos_token_id = 1, 0, 2
    VisionEncoderDecoderModel(config).save_pretrained(folder)
    DonutProcessor(image_processor=DonutImageProcessorPil(size={"height": 32, "width": 32}), tokenizer=tok).save_pretrained(folder)
    return folder


def build_whisper(folder: Path) -> Path:
    """WhisperForConditionalGeneration + WhisperProcessor (8 mel bins, 2-second windows)."""
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    _seed()
    tok = WhisperTokenizer(vocab=_bpe_vocab([]), merges=[])
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|fr|>", "<|translate|>", "<|transcribe|>",
                "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
    tok.add_special_tokens({"additional_special_tokens": specials})
    ids = {s: tok.convert_tokens_to_ids(s) for s in specials}
    extractor = WhisperFeatureExtractor(feature_size=8, sampling_rate=16000, chunk_length=2, n_fft=400, hop_length=160)
    config = WhisperConfig(vocab_size=len(tok), num_mel_bins=8, d_model=16, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_ffn_dim=32, max_source_positions=100, max_target_positions=24,
                           pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"],
                           eos_token_id=ids["<|endoftext|>"], decoder_start_token_id=ids["<|startoftranscript|>"],
                           begin_suppress_tokens=None, suppress_tokens=None)
    WhisperForConditionalGeneration(config).save_pretrained(folder)
    WhisperProcessor(feature_extractor=extractor, tokenizer=tok).save_pretrained(folder)
    return folder


def build_speecht5(folder: Path, vocoder_folder: Path) -> tuple[Path, Path]:
    """SpeechT5ForTextToSpeech + SpeechT5Processor (a character sentencepiece model trained here)
    and a SpeechT5HifiGan vocoder in ``vocoder_folder``."""
    import sentencepiece as spm
    from transformers import (
        SpeechT5Config,
        SpeechT5FeatureExtractor,
        SpeechT5ForTextToSpeech,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        SpeechT5Processor,
        SpeechT5Tokenizer,
    )

    _seed()
    folder.mkdir(parents=True, exist_ok=True)
    model_file = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["hello world", "the quick brown fox jumps over the lazy dog", "read this aloud."]),
        model_writer=model_file, vocab_size=40, model_type="char", character_coverage=1.0,
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, minloglevel=2)
    (folder / "spm_char.model").write_bytes(model_file.getvalue())
    tok = SpeechT5Tokenizer(str(folder / "spm_char.model"))
    config = SpeechT5Config(
        vocab_size=len(tok), hidden_size=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=8,
        speech_decoder_prenet_units=16, speech_decoder_postnet_units=16, speech_decoder_postnet_layers=2,
        speech_decoder_postnet_kernel=3, speaker_embedding_dim=16, reduction_factor=2, max_speech_positions=200,
        max_text_positions=100, encoder_max_relative_position=10, num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2, conv_dim=(16,), conv_stride=(5,), conv_kernel=(10,),
        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    SpeechT5ForTextToSpeech(config).save_pretrained(folder)
    SpeechT5Processor(feature_extractor=SpeechT5FeatureExtractor(num_mel_bins=8), tokenizer=tok).save_pretrained(folder)
    vocoder = SpeechT5HifiGanConfig(model_in_dim=8, upsample_initial_channel=16, upsample_rates=[4, 4],
                                    upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3],
                                    resblock_dilation_sizes=[[1, 3]], sampling_rate=16000)
    SpeechT5HifiGan(vocoder).save_pretrained(vocoder_folder)
    return folder, vocoder_folder


def _roberta_tokenizer():
    from transformers import RobertaTokenizer

    return RobertaTokenizer(vocab=_bpe_vocab(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]), merges=[])


def _bart_config(vocab_size: int, **extra):
    from transformers import BartConfig

    return BartConfig(vocab_size=vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                      encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                      max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                      decoder_start_token_id=2, forced_bos_token_id=0, **extra)


def build_bart(folder: Path) -> Path:
    """BartForConditionalGeneration + a RoBERTa-style BPE tokenizer (as BART's)."""
    from transformers import BartForConditionalGeneration

    _seed()
    tok = _roberta_tokenizer()
    BartForConditionalGeneration(_bart_config(len(tok))).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_bart_mnli(folder: Path) -> Path:
    """BartForSequenceClassification with MNLI's labels (entailment included)."""
    from transformers import BartForSequenceClassification

    _seed()
    tok = _roberta_tokenizer()
    labels = {0: "contradiction", 1: "neutral", 2: "entailment"}
    config = _bart_config(len(tok), id2label=labels, label2id={v: k for k, v in labels.items()})
    BartForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_t5(folder: Path) -> Path:
    """T5ForConditionalGeneration + a unigram T5 tokenizer."""
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    _seed()
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)] + [(c, -2.0) for c in LETTERS + "?:.,"]
    tok = T5Tokenizer(vocab=pieces, extra_ids=0)
    config = T5Config(vocab_size=len(tok), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1,
                      num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_nllb(folder: Path) -> Path:
    """M2M100ForConditionalGeneration + an NLLB tokenizer (all 202 language codes)."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    _seed()
    tok = NllbTokenizer(vocab=_bpe_vocab(["<s>", "<pad>", "</s>", "<unk>"], space="▁"), merges=[])
    config = M2M100Config(vocab_size=len(tok), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
                          eos_token_id=2, decoder_start_token_id=2)
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_stable_diffusion(folder: Path, *, in_channels: int = 4, instruct: bool = False) -> Path:
    """A tiny StableDiffusionPipeline (or InstructPix2Pix: 8 UNet input channels), diffusers needed."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionInstructPix2PixPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    _seed()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in LETTERS:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)
    text_encoder = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=37,
                                                num_hidden_layers=1, num_attention_heads=2,
                                                max_position_embeddings=16, bos_token_id=0, eos_token_id=1,
                                                pad_token_id=1, projection_dim=32))
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=8,
                                in_channels=8 if instruct else in_channels, out_channels=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=32)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=32, sample_size=32)
    cls = StableDiffusionInstructPix2PixPipeline if instruct else StableDiffusionPipeline
    pipeline = cls(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                   scheduler=DDIMScheduler(clip_sample=False, steps_offset=1), safety_checker=None, feature_extractor=None,
                   requires_safety_checker=False)
    pipeline.save_pretrained(folder)
    return folder
