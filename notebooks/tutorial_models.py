"""Tiny models the tutorials build and save themselves, so they run offline in seconds.

* :func:`save_answering_model` saves a small Llama (4 layers, a ChatML chat template) whose weights
  are set by hand so that, whatever the prompt, greedy decoding writes one fixed answer. It stands
  in for a real chat model: it is loaded, quantized, cached and run by the same transformers code
  as a real one, but it knows nothing and always gives the same answer.
* :func:`save_tiny_classifier` saves a one-layer BERT text classifier with random weights (its
  labels are meaningless) to show a model-backed tool's plumbing.

Both are written with ``save_pretrained``, so they load through ``from_pretrained`` exactly like a
model downloaded from the Hub.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

__all__ = ["save_answering_model", "save_tiny_classifier", "CHATML"]

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


@contextmanager
def _quiet_progress():
    """No progress bar while saving (it would be a widget in the notebook)."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _training_text() -> list[str]:
    """nbagents' own prompt templates and a few sentences: prompts get realistic token counts."""
    from importlib import resources

    folder = resources.files("nbagents.templates")
    texts = [f.read_text("utf-8") for f in folder.iterdir() if f.name.endswith(".txt")]
    return texts + ["You solve tasks by writing a short Python program that calls tools.",
                    "Make an image, draw text on it, resize it, make a tone, trim the audio."] * 3


def _tokenizer(pieces: list[str]):
    """A byte-level BPE tokenizer (1,000 tokens) with ``pieces`` added as whole tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(_training_text(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|im_start|>",
                                        eos_token="<|im_end|>", unk_token="<|endoftext|>",
                                        pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML
    tokenizer.add_tokens(pieces)
    return tokenizer


def _answer_pieces(answer: str) -> list[str]:
    """Split the answer into lines (kept whole, each one token)."""
    return [line for line in answer.splitlines(keepends=True) if line]


def save_answering_model(folder: str | Path, answer: str, *, context_length: int = 2048,
                         hidden_size: int = 256, layers: int = 4) -> Path:
    """Save a Llama that answers every prompt with ``answer``; returns the folder.

    How: each line of the answer is one token; the attention and MLP outputs are made almost
    zero, so the hidden state at the last position is that token's embedding; the output layer
    maps the last token of the chat template's ``<|im_start|>assistant\\n`` to the first line,
    each line to the next, and the last line to ``<|im_end|>``. ``context_length`` is the window
    the config declares (prompt fitting reads it).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    pieces = _answer_pieces(answer)
    tokenizer = _tokenizer(pieces)
    generation_prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}],
                                                      add_generation_prompt=True, tokenize=False)
    start = tokenizer(generation_prompt, add_special_tokens=False)["input_ids"][-1]
    chain = [start, *tokenizer.convert_tokens_to_ids(pieces), tokenizer.eos_token_id]
    if len(set(chain)) != len(chain):
        raise ValueError("Every line of the answer must be different.")

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=4 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=context_length, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:  # the residual stream keeps the token's embedding
            layer.self_attn.o_proj.weight.mul_(1e-3)
            layer.mlp.down_proj.weight.mul_(1e-3)
        embeddings = model.model.embed_tokens.weight
        embeddings.copy_(torch.nn.functional.normalize(embeddings, dim=-1) * hidden_size**0.5)
        head = model.lm_head.weight
        head.zero_()
        for here, following in zip(chain, chain[1:]):
            head[following] = 10.0 * embeddings[here] / hidden_size**0.5
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    with _quiet_progress():
        model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_classifier(folder: str | Path, labels: list[str]) -> Path:
    """Save a one-layer BERT sequence classifier with random weights and its tokenizer."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = Path(folder)
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *[f"##{c}" for c in letters], ".", "!"]
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(tokens)})
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokens), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                        num_attention_heads=2, max_position_embeddings=128, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    with _quiet_progress():
        BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
