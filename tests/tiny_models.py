"""Tiny random causal language models for engine tests, built and saved locally.

``make_tokenizer`` trains a small byte-level BPE tokenizer (any text encodes; characters may
split across tokens, as in real models). ``save_tiny_chat_model`` saves a 2-layer Llama with a
ChatML chat template; ``save_tiny_base_model`` a 2-layer GPT-2 without one. Both are written with
``save_pretrained`` so that tests load them through the same ``from_pretrained`` path users take.
``make_tiny_gemma3`` is a 2-layer Gemma 3 (one sliding-window layer, one full-attention layer)
and ``save_tiny_gemma3_model`` saves it with the ChatML tokenizer.
"""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CORPUS = [
    "You solve tasks by writing a short Python program that calls tools.",
    "The tools are Python functions: translate(text, src_lang, tgt_lang) -> str",
    "Task: summarize the text and translate it to French. Reply with the code in a ```py block.",
    "result = translator(text=text, src_lang='English', tgt_lang='French')\nprint(result)\n",
    "def add(a: int, b: int) -> int:\n    return a + b\n",
    "Les élèves écrivent du code — naïve café, 10 € et 😀 emoji.",
] * 4


def _corpus() -> list[str]:
    """A few sentences plus nbagents' prompt templates (so prompts take realistic token counts)."""
    from importlib import resources

    folder = resources.files("nbagents.templates")
    texts = [f.read_text("utf-8") for f in folder.iterdir() if f.name.endswith(".txt")]
    return CORPUS + texts


def make_tokenizer(*, chat_template: bool = True, vocab_size: int = 1000):
    """A byte-level BPE tokenizer trained on a few sentences, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token="<|im_start|>" if chat_template else "<|endoftext|>",
        eos_token="<|im_end|>" if chat_template else "<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    if chat_template:
        tokenizer.chat_template = CHATML
    return tokenizer


def save_tiny_chat_model(path: Path, *, max_position_embeddings: int = 512, seed: int = 0) -> Path:
    """A 2-layer random Llama with a ChatML chat template, saved to ``path``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = make_tokenizer(chat_template=True)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    _spread_logits(model, tokenizer)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def save_tiny_base_model(path: Path, *, n_positions: int = 128, seed: int = 0) -> Path:
    """A 2-layer random GPT-2 (no chat template), saved to ``path``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = make_tokenizer(chat_template=False)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=64,
        n_layer=2,
        n_head=4,
        n_positions=n_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = GPT2LMHeadModel(config)
    _spread_logits(model, tokenizer)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def make_tiny_gemma3(tokenizer, *, sliding_window: int = 4, max_position_embeddings: int = 2048, seed: int = 0):
    """A 2-layer random Gemma 3 over ``tokenizer``: layer 0 sliding-window attention (the last
    ``sliding_window`` positions), layer 1 full attention; in eval mode."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        query_pre_attn_scalar=8,
        sliding_window=sliding_window,
        layer_types=["sliding_attention", "full_attention"],
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attn_implementation="eager",
    )
    model = Gemma3ForCausalLM(config)
    _spread_logits(model, tokenizer)
    return model.eval()


def save_tiny_gemma3_model(path: Path, *, sliding_window: int = 4, seed: int = 0) -> Path:
    """:func:`make_tiny_gemma3` with a ChatML tokenizer, saved to ``path``."""
    tokenizer = make_tokenizer(chat_template=True)
    model = make_tiny_gemma3(tokenizer, sliding_window=sliding_window, seed=seed)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _spread_logits(model, tokenizer) -> None:
    """Scale the output layer so greedy decoding is decisive and varied (random init gives near
    ties, which would make outputs depend on float rounding), and silence the end token and the
    tokens that are not printable ASCII, so that outputs are readable text of a known length."""
    import torch

    with torch.no_grad():
        head = model.get_output_embeddings()
        head.weight.mul_(20.0)
        for token_id in range(len(tokenizer)):
            text = tokenizer.decode([token_id])
            if token_id in tokenizer.all_special_ids or not all(c.isascii() and (c.isprintable() or c == "\n")
                                                                for c in text):
                head.weight[token_id].zero_()
