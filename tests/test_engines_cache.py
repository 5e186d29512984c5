"""The key/value cache under either of transformers' names for it."""

from __future__ import annotations

from types import SimpleNamespace

from nbagents.engines.local.cache import cache_argument, cache_of, forward


class NewStyle:  # transformers >= 5.x: forward(cache=...), output.cache
    def forward(self, input_ids=None, cache=None, use_cache=None):
        return SimpleNamespace(cache=("new", cache, use_cache), logits=input_ids)

    __call__ = forward


class OldStyle:  # transformers 4.x: forward(past_key_values=...), output.past_key_values
    def forward(self, input_ids=None, past_key_values=None, use_cache=None):
        return SimpleNamespace(past_key_values=("old", past_key_values, use_cache), logits=input_ids)

    __call__ = forward


def test_the_cache_goes_under_the_name_the_model_takes():
    assert cache_argument(NewStyle()) == "cache"
    assert cache_argument(OldStyle()) == "past_key_values"
    assert cache_of(forward(NewStyle(), "kv", input_ids=[1])) == ("new", "kv", True)
    assert cache_of(forward(OldStyle(), "kv", input_ids=[1])) == ("old", "kv", True)


def test_cache_of_a_real_model_output(tmp_path):
    import torch
    from tiny_models import save_tiny_chat_model
    from transformers import AutoModelForCausalLM

    from nbagents.engines.local.cache import cache_of, forward

    folder = save_tiny_chat_model(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(folder)
    with torch.inference_mode():
        first = forward(model, None, input_ids=torch.tensor([[1, 2, 3]]))
        cache = cache_of(first)
        assert cache.get_seq_length() == 3
        second = forward(model, cache, input_ids=torch.tensor([[4]]))
        whole = model(input_ids=torch.tensor([[1, 2, 3, 4]])).logits[0, -1]
    assert cache_of(second).get_seq_length() == 4
    assert torch.allclose(second.logits[0, -1], whole, atol=1e-4)


# --- a model with sliding-window layers (Gemma 3) starts from a plain cache ----------------------


def test_a_sliding_window_model_starts_from_a_plain_cache_that_is_exact():
    """Gemma 3's own cache drops keys older than the window; a plain one keeps them and the
    sliding mask (from the config) hides them, so prefill, steps and a crop give the same logits."""
    import torch
    from tiny_models import make_tiny_gemma3, make_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    from nbagents.engines.local.cache import is_plain_dynamic, sliding_window, start_cache

    torch.set_num_threads(1)
    tok = make_tokenizer()
    model = make_tiny_gemma3(tok, sliding_window=4)
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    assert sliding_window(model) == 4 and sliding_window(llama) is None
    assert start_cache(llama) is None  # the model's own cache, as before
    ids = tok("You solve tasks by writing a short Python program that calls tools.",
              add_special_tokens=False)["input_ids"]
    assert len(ids) > 3 * 4
    with torch.inference_mode():
        own = model(input_ids=torch.tensor([ids]), use_cache=True)
        assert not is_plain_dynamic(cache_of(own))  # why a plain one is started instead
        out = forward(model, start_cache(model), input_ids=torch.tensor([ids[:-3]]))
        cache = cache_of(out)
        assert is_plain_dynamic(cache)
        for k in range(len(ids) - 3, len(ids)):
            out = forward(model, cache, input_ids=torch.tensor([[ids[k]]]))
            cache = cache_of(out)
            assert torch.allclose(out.logits[0, -1], own.logits[0, k], atol=1e-4)
        cache.crop(-5)  # back to a prefix, then the rest again in one pass
        again = forward(model, cache, input_ids=torch.tensor([ids[-5:]]))
    assert torch.allclose(again.logits[0], own.logits[0, -5:], atol=1e-4)


def test_the_prefix_cache_is_kept_between_calls_on_a_sliding_window_model(tmp_path):
    import torch
    from tiny_models import save_tiny_gemma3_model

    from nbagents.engines.local import TransformersEngine

    torch.set_num_threads(1)
    folder = save_tiny_gemma3_model(tmp_path / "gemma3", sliding_window=4)
    system = {"role": "system", "content": "You solve tasks by writing a short Python program that calls tools."}
    first = [system, {"role": "user", "content": "Task: add two numbers"}]
    second = [system, {"role": "user", "content": "Task: translate the text to French"}]
    engine = TransformersEngine(str(folder), num_threads=1)
    fresh = TransformersEngine(str(folder), num_threads=1, prefix_cache=False, prompt_lookup=False)
    a1 = engine.generate(first, max_new_tokens=16)
    a2 = engine.generate(second, max_new_tokens=16)
    again = engine.generate(second, max_new_tokens=16)
    assert a1.facts["cached_prefix_tokens"] == 0
    assert a2.facts["cached_prefix_tokens"] > 8  # the shared system message, longer than the window
    assert again.facts["cached_prefix_tokens"] == again.prompt_tokens - 1
    assert a2.text == again.text == fresh.generate(second, max_new_tokens=16).text
    assert a1.text == fresh.generate(first, max_new_tokens=16).text
