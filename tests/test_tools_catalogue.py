"""The catalogue: every tool that exists, whether it is ready here, what it lacks and the one
command that gets it. Caches are real folders in the Hugging Face layout (a tiny model saved
into one, or the layout written by hand where only the file names matter)."""

from __future__ import annotations

import socket
import sys

import pytest
import tiny_tool_models as tiny
import torch

from nbagents.errors import NoToolError
from nbagents.tools import Toolbox, default_tools, tool
from nbagents.tools.catalogue import ToolEntry, catalogue, entry_for, missing_packages
from nbagents.tools.models.speech import TextToSpeechTool
from nbagents.tools.models.vision import ImageCaptioningTool
from nbagents.tools.remote import RemoteTool
from nbagents.tools.tasks import TASKS

torch.set_num_threads(1)
pytestmark = pytest.mark.usefixtures("no_ambient_credentials")


def cached(root, repo_id, files=("config.json", "model.safetensors"), commit="c0ffee" * 6 + "c0ff"):
    """Write ``repo_id`` into the cache ``root`` as huggingface_hub lays it out."""
    folder = root / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for name in files:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_text("{}")
    return root


def by_name(entries: list[ToolEntry]) -> dict[str, ToolEntry]:
    return {e.name: e for e in entries}


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test: the catalogue reads only the file system."""
    def refuse(self, address):
        raise AssertionError(f"the catalogue opened a connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def test_an_empty_cache_lists_every_task_as_not_ready(tmp_path, no_network):
    entries = by_name(catalogue(cache_dir=tmp_path))
    offline = {t.name for t in default_tools(model_tools="none")}
    assert set(entries) == offline | set(TASKS)
    assert all(entries[n].ready and not entries[n].missing and not entries[n].command for n in offline)
    captioner = entries["image_captioner"]
    assert not captioner.ready
    assert captioner.missing == "the weights of 'Salesforce/blip-image-captioning-base' are not downloaded"
    assert captioner.command == "%agent tools add image_captioner (or nbagents.add_tool('image_captioner'))"
    assert captioner.needed() == {"name": "image_captioner", "missing": captioner.missing,
                                  "command": captioner.command}
    assert captioner.tool.name == "image_captioner" and not captioner.tool.is_initialized
    assert [i.name for i in captioner.tool.inputs] == ["image"] and captioner.description == captioner.tool.description


def test_cached_weights_make_a_task_ready(tmp_path, no_network):
    cached(tmp_path, "facebook/nllb-200-distilled-600M")
    cached(tmp_path, "google/flan-t5-base", files=("config.json",))  # no weights file: not ready
    entries = by_name(catalogue(cache_dir=tmp_path))
    assert entries["translator"].ready and entries["translator"].missing == ""
    assert not entries["text_qa"].ready and "'google/flan-t5-base'" in entries["text_qa"].missing


def test_text_reader_names_only_the_checkpoint_it_lacks(tmp_path):
    cached(tmp_path, "microsoft/speecht5_tts")
    reader = by_name(catalogue(cache_dir=tmp_path))["text_reader"]
    assert reader.missing == "the weights of 'microsoft/speecht5_hifigan' are not downloaded"
    cached(tmp_path, "microsoft/speecht5_hifigan")
    assert entry_for(TextToSpeechTool(), cache_dir=tmp_path).ready
    empty = entry_for(TextToSpeechTool(), cache_dir=tmp_path / "empty")
    assert empty.missing == ("the weights of 'microsoft/speecht5_tts' and 'microsoft/speecht5_hifigan' "
                             "are not downloaded")


def test_the_toolbox_tools_come_first_and_tasks_are_not_repeated(tmp_path):
    @tool
    def shout(text: str) -> str:
        """Make the text loud."""
        return text.upper()

    box = Toolbox([shout, ImageCaptioningTool(model="someone/my-blip")])
    entries = catalogue(box, cache_dir=tmp_path)
    assert [e.name for e in entries[:2]] == ["shout", "image_captioner"]
    assert [e.name for e in entries].count("image_captioner") == 1
    mine = entries[1]
    assert not mine.ready and "'someone/my-blip'" in mine.missing
    assert mine.tool is box["image_captioner"]
    assert entries[0].ready and set(e.name for e in entries[2:]) == set(TASKS) - {"image_captioner"}
    assert by_name(catalogue({"shout": shout}, cache_dir=tmp_path))["shout"].ready  # a mapping works too


def test_a_tiny_model_in_a_folder_or_in_memory_is_ready(tmp_path):
    folder = tiny.build_blip(tmp_path / "blip")
    assert entry_for(ImageCaptioningTool(model=str(folder))).ready
    gone = entry_for(ImageCaptioningTool(model=str(tmp_path / "nowhere")))
    assert not gone.ready and "holds no saved model" in gone.missing and "%agent tools add" not in gone.command
    loaded = ImageCaptioningTool(model=str(folder))
    loaded.setup()
    loaded.is_initialized = True
    assert entry_for(loaded, cache_dir=tmp_path / "empty").ready
    from transformers import BlipForConditionalGeneration

    in_memory = ImageCaptioningTool(model=BlipForConditionalGeneration.from_pretrained(folder),
                                    pre_processor=str(folder))
    assert entry_for(in_memory, cache_dir=tmp_path / "empty").ready


def test_a_missing_package_is_named_with_its_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if it were not installed
    generator = by_name(catalogue(cache_dir=tmp_path))["image_generator"]
    assert generator.missing == ("the package 'diffusers' (extra 'diffusers') is not installed and the weights "
                                 "of 'stable-diffusion-v1-5/stable-diffusion-v1-5' are not downloaded")
    assert generator.command == ("pip install 'nbagents[diffusers]', then %agent tools add image_generator "
                                 "(or nbagents.add_tool('image_generator'))")
    assert missing_packages(generator.tool) == [("diffusers", "diffusers")]
    assert missing_packages(ImageCaptioningTool()) == []


def test_a_diffusers_pipeline_in_the_cache_is_ready(tmp_path):
    pytest.importorskip("diffusers")
    cached(tmp_path, "stable-diffusion-v1-5/stable-diffusion-v1-5",
           files=("model_index.json", "unet/diffusion_pytorch_model.safetensors"))
    assert by_name(catalogue(cache_dir=tmp_path))["image_generator"].ready


def test_a_remote_tool_needs_a_token_only_for_hugging_face(tmp_path, monkeypatch):
    from nbagents.tools.models.vision import ImageCaptioningTool as Spec

    hosted = RemoteTool(spec=Spec, repo_id="Salesforce/blip-image-captioning-base")
    e = entry_for(hosted)
    assert not e.ready and e.missing == "no Hugging Face token ($HF_TOKEN)" and e.command.startswith("export HF_TOKEN=")
    assert entry_for(RemoteTool(spec=Spec, repo_id="x/y", token="hf_abc")).ready
    assert entry_for(RemoteTool("http://127.0.0.1:9/caption", spec=Spec)).ready  # your own server
    monkeypatch.setenv("HF_TOKEN", "hf_from_the_environment")
    assert entry_for(hosted).ready
    box = Toolbox([hosted])
    monkeypatch.delenv("HF_TOKEN")
    assert not by_name(catalogue(box, cache_dir=tmp_path))["image_captioner"].ready


def test_a_custom_model_tool_is_added_through_the_toolbox(tmp_path):
    class MyCaptioner(ImageCaptioningTool):
        name = "my_captioner"

    e = entry_for(MyCaptioner(), cache_dir=tmp_path)
    assert e.command == "%agent tools add my_captioner (or nbagents.add_tool('my_captioner', toolbox=agent.toolbox))"


def test_entries_feed_the_no_tool_error(tmp_path):
    waiting = [e for e in catalogue(cache_dir=tmp_path) if e.name == "image_generator"]
    error = NoToolError("draw a picture of rivers and lakes", needed=[e.needed() for e in waiting],
                        closest=["make_image"])
    assert "'image_generator' (the weights of 'stable-diffusion-v1-5/stable-diffusion-v1-5' are not downloaded)" \
        in error.message
    assert error.hint.startswith("Get it with: %agent tools add image_generator") and "make_image" in error.hint


def test_entries_are_frozen_values():
    e = ToolEntry("x", "Does x.", ready=True)
    with pytest.raises(AttributeError):
        e.ready = False
    assert e == ToolEntry("x", "Does x.", ready=True, tool=ImageCaptioningTool())  # the instance is not compared
