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
