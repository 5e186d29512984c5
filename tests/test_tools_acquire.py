"""``add_tool`` against a real loopback Hub (tests/hub_server.py) serving tiny random checkpoints.

Every download here is real: huggingface_hub's ``snapshot_download`` talks HTTP to the server on
127.0.0.1 and writes a real Hugging Face cache in a temp dir; the tool then loads from that cache
with downloads switched off again, as it would on the next offline day. Faults are the server's
(a response cut short, an error status, an announced size no disk has) or the disk's (a tiny
tmpfs that fills up); only the no-space fault has a fake, for machines where a tmpfs cannot be
mounted.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tiny_tool_models as tiny
import torch
from hub_server import HubServer, go_offline, point_hub_at
from PIL import Image
from servers import closed_port

from nbagents.errors import DownloadError, MissingDependencyError, ToolError
from nbagents.results import AgentImage, AgentText
from nbagents.tools import Toolbox
from nbagents.tools.acquire import acquire, add_tool, human_size, select_files
from nbagents.tools.catalogue import catalogue
from nbagents.tools.models.diffusion import ImageGenerationTool
from nbagents.tools.models.vision import ImageCaptioningTool

torch.set_num_threads(1)
pytestmark = pytest.mark.usefixtures("no_ambient_credentials")

BLIP = "Salesforce/blip-image-captioning-base"


@pytest.fixture(scope="module")
def blip_files(tmp_path_factory) -> dict[str, bytes]:
    """The tiny BLIP checkpoint's files, plus copies in formats the tool never loads."""
    folder = tiny.build_blip(tmp_path_factory.mktemp("blip") / "blip")
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    return {**files, "tf_model.h5": b"tf" * 50, "pytorch_model.bin": b"pickle" * 50,
            "model.fp16.safetensors": b"half" * 50, "onnx/model.onnx": b"onnx" * 50, "README.md": b"# tiny"}


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "hub-cache"


@pytest.fixture
def hub(monkeypatch, cache):
    with HubServer() as server:
        point_hub_at(server, monkeypatch, cache)
        yield server


def entry(name: str, **kwargs):
    return next(e for e in catalogue(**kwargs) if e.name == name)


def leftovers(cache: Path) -> list[str]:
    """What a failed download left in the cache: repo folders and staging folders."""
    if not cache.exists():
        return []
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(("models--", ".nbagents-staging")))


def photo() -> Image.Image:
    return Image.new("RGB", (40, 30), (200, 30, 30))


# --- a download that works ----------------------------------------------------------------------


def test_a_real_download_makes_the_tool_ready(hub, cache, blip_files, monkeypatch):
    repo = hub.add_repo(BLIP, blip_files)
    before = entry("image_captioner")
    assert not before.ready and BLIP in before.missing and "%agent tools add image_captioner" in before.command
    box = Toolbox()
    done = acquire("image_captioner", toolbox=box, progress=False)
    assert done.repos == (BLIP,) and done.endpoint == hub.url and done.cache_dir == str(cache)
    wanted = {"config.json", "generation_config.json", "model.safetensors", "processor_config.json",
              "tokenizer.json", "tokenizer_config.json", "README.md"}
    assert {p.rsplit("/", 1)[1] for p in hub.downloads()} == wanted  # no h5, pickle, fp16 or onnx copy
    assert done.files == len(wanted) and done.bytes == sum(len(blip_files[p]) for p in wanted)
    assert "image_captioner is ready: 7 files" in done.summary() and hub.url in done.summary()
    assert (cache / "models--Salesforce--blip-image-captioning-base" / "refs" / "main").read_text() == repo.sha
    assert leftovers(cache) == ["models--Salesforce--blip-image-captioning-base"]  # no staging folder
    assert entry("image_captioner").ready and box["image_captioner"] is done.tool
    go_offline(monkeypatch)  # what the next day without a network looks like
    caption = box["image_captioner"](photo())
    assert isinstance(caption, AgentText) and str(caption).strip()


def test_adding_again_downloads_nothing(hub, cache, blip_files):
    hub.add_repo(BLIP, blip_files)
    add_tool("image_captioner", progress=False)
    count = len(hub.requests)
    again = acquire("image_captioner", progress=False)
    assert again.repos == () and again.files == 0 and len(hub.requests) == count
    assert again.summary() == "image_captioner is ready: nothing to download."


def test_only_the_missing_files_are_downloaded_into_an_existing_snapshot(hub, cache, blip_files):
    repo = hub.add_repo(BLIP, blip_files)
    from huggingface_hub import hf_hub_download

    hf_hub_download(BLIP, "config.json", revision=repo.sha, cache_dir=cache, endpoint=hub.url)  # a model card look
    assert not entry("image_captioner").ready
    first = len(hub.downloads())
    done = acquire("image_captioner", progress=False)
    fetched = [p.rsplit("/", 1)[1] for p in hub.downloads()[first:]]
    assert "config.json" not in fetched and "model.safetensors" in fetched and done.files == len(fetched)
    assert entry("image_captioner").ready


def test_endpoint_and_cache_dir_arguments(hub, tmp_path, blip_files, monkeypatch):
    hub.add_repo(BLIP, blip_files)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")  # endpoint= wins over it
    elsewhere = tmp_path / "elsewhere"
    tool = add_tool("image_captioner", endpoint=hub.url, cache_dir=elsewhere, progress=False)
    assert tool.hub_kwargs["cache_dir"] == str(elsewhere)  # the tool loads from where it was put
    assert entry("image_captioner", cache_dir=elsewhere).ready and not entry("image_captioner").ready
    assert entry("image_captioner", toolbox=[tool]).ready  # the tool's own cache_dir is looked in
    go_offline(monkeypatch)
    assert isinstance(tool(photo()), AgentText)


def test_the_progress_bar_counts_every_byte(hub, blip_files):
    from tqdm.std import tqdm

    bars: list[tqdm] = []

    class RecordingBar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115 - closed with the bar
            super().__init__(*args, **kwargs)
            bars.append(self)

    hub.add_repo(BLIP, blip_files)
    done = acquire("image_captioner", progress=RecordingBar)
    byte_bars = [b for b in bars if b.unit == "B" and b.n]
    assert byte_bars and max(b.n for b in byte_bars) == done.bytes
    assert any(b.total == done.files and b.n == done.files for b in bars)  # the files bar
    for b in bars:
        b.fp.close()


def test_a_tool_of_the_toolbox_downloads_its_own_checkpoint(hub, blip_files):
    hub.add_repo("someone/my-blip", blip_files)
    box = Toolbox([ImageCaptioningTool(model="someone/my-blip")])
    e = entry("image_captioner", toolbox=box)
    assert not e.ready and "'someone/my-blip'" in e.missing
    tool = add_tool("image_captioner", toolbox=box, progress=False)
    assert tool is box["image_captioner"] and tool.checkpoint == "someone/my-blip"
    assert all("/someone/my-blip/" in p for p in hub.downloads())
    assert entry("image_captioner", toolbox=box).ready


def test_both_checkpoints_of_text_reader(hub, cache):
    files = {"config.json": b"{}", "model.safetensors": b"w" * 300}
    hub.add_repo("microsoft/speecht5_tts", files)
    hub.add_repo("microsoft/speecht5_hifigan", files)
    done = acquire("text_reader", progress=False)
    assert done.repos == ("microsoft/speecht5_tts", "microsoft/speecht5_hifigan") and done.files == 4
    assert entry("text_reader").ready


def test_a_tool_that_needs_no_model_is_added_as_it_is(hub):
    box = Toolbox()
    tool = add_tool("rotate_image", toolbox=box)
    assert box["rotate_image"] is tool and hub.requests == []


def test_a_diffusers_pipeline_downloads_its_components_and_runs_offline(hub, tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    folder = tiny.build_stable_diffusion(tmp_path / "sd")
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    # a real pipeline repo also holds single-file weights at the top, which diffusers never reads
    hub.add_repo("stable-diffusion-v1-5/stable-diffusion-v1-5",
                 {**files, "v1-5-pruned.safetensors": b"big" * 100, "v1-5-pruned.ckpt": b"big" * 100})
    tool = add_tool(ImageGenerationTool(num_inference_steps=2, pipeline_kwargs={"height": 32, "width": 32}),
                    progress=False)
    assert not any("v1-5-pruned" in p for p in hub.downloads())
    assert entry("image_generator", toolbox=[tool]).ready
    go_offline(monkeypatch)
    picture = tool(prompt="a red square")
    assert isinstance(picture, AgentImage) and picture.size == (32, 32)


# --- bad input ------------------------------------------------------------------------------------


def test_an_unknown_name_names_the_closest_tools(hub):
    with pytest.raises(ToolError) as info:
        add_tool("image_captionr")
    assert "no tool named 'image_captionr'" in str(info.value) and "'image_captioner'" in str(info.value)
    assert "text_reader" in info.value.hint  # the tools that can be added
    with pytest.raises(ToolError, match="no tool named"):
        add_tool("draw_me_a_picture")
    with pytest.raises(ToolError, match="needs a tool name"):
        add_tool("  ")
    assert hub.requests == []


def test_a_server_failing_halfway_leaves_no_partial_repo(hub, cache, blip_files):
    hub.add_repo(BLIP, blip_files)
    hub.cut(BLIP, "model.safetensors", after=len(blip_files["model.safetensors"]) // 2)
    with pytest.raises(DownloadError) as info:
        add_tool("image_captioner", progress=False)
    message = str(info.value)
    assert hub.url in message and BLIP in message and "HTTP 500" in message and "model.safetensors" in message
    assert "Nothing was kept" in info.value.hint
    assert leftovers(cache) == [] and not entry("image_captioner").ready
    hub.heal()  # the server is back: adding again works
    add_tool("image_captioner", progress=False)
    assert entry("image_captioner").ready


def test_an_error_status_on_one_file_keeps_none_of_the_others(hub, cache, blip_files):
    hub.add_repo(BLIP, blip_files)
    hub.fail(BLIP, "tokenizer.json", status=503)
    with pytest.raises(DownloadError, match="HTTP 503"):
        add_tool("image_captioner", progress=False)
    assert leftovers(cache) == []


def test_the_second_checkpoint_failing_keeps_the_first_out_too(hub, cache):
    files = {"config.json": b"{}", "model.safetensors": b"w" * 300}
    hub.add_repo("microsoft/speecht5_tts", files)
    hub.add_repo("microsoft/speecht5_hifigan", files)
    hub.cut("microsoft/speecht5_hifigan", "model.safetensors", after=100)
    with pytest.raises(DownloadError, match="speecht5_hifigan"):
        add_tool("text_reader", progress=False)
    assert leftovers(cache) == []


def test_a_missing_repo_and_an_unreachable_hub(hub, cache):
    with pytest.raises(DownloadError) as info:
        add_tool(ImageCaptioningTool(model="someone/no-such-model"), progress=False)
    assert "no such repo" in str(info.value) and "'someone/no-such-model'" in str(info.value)
    port = closed_port()
    with pytest.raises(DownloadError) as info:
        add_tool("image_captioner", endpoint=f"http://127.0.0.1:{port}", progress=False)
    assert f"Cannot reach the Hub at http://127.0.0.1:{port}" in str(info.value) and BLIP in str(info.value)
    assert "HF_ENDPOINT" in info.value.hint
    assert leftovers(cache) == []


def test_offline_mode_says_so_before_any_request(hub, monkeypatch):
    go_offline(monkeypatch)
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE"):
        add_tool("image_captioner")
    assert hub.requests == []


def test_a_missing_package_names_the_extra(hub, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "diffusers", None)
    with pytest.raises(MissingDependencyError, match=r"nbagents\[diffusers\]"):
        add_tool("image_generator")
    assert hub.requests == []


def test_a_folder_checkpoint_has_nothing_to_download(tmp_path):
    with pytest.raises(ToolError, match="holds no saved model"):
        add_tool(ImageCaptioningTool(model=str(tmp_path / "nowhere")))


# --- no disk space --------------------------------------------------------------------------------


def test_files_larger_than_the_free_space_are_refused_before_downloading(hub, cache, blip_files):
    hub.add_repo(BLIP, blip_files)
    hub.claim_size(BLIP, "model.safetensors", 10**18)  # the listing announces an exabyte
    with pytest.raises(DownloadError) as info:
        add_tool("image_captioner", progress=False)
    message = str(info.value)
    needed = 10**18 + sum(len(blip_files[p]) for p in select_files(blip_files) if p != "model.safetensors")
    assert message.startswith("Not enough disk space to download 'image_captioner': its files need 1000000.0 TB "
                              f"({needed} bytes) in {cache}, which has ")
    free = int(re.search(r"which has [\d.]+ [kMGT]?B free \((\d+) bytes\)", message).group(1))
    assert 0 < free <= shutil.disk_usage(cache.parent).total
    assert "cache_dir=" in info.value.hint and "HF_HUB_CACHE" in info.value.hint
    assert hub.downloads() == [] and leftovers(cache) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (root only): a real disk that can fill up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("a tmpfs cannot be mounted here (needs root); the fake below covers the message")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> None:
    """Write into ``folder`` until its disk is full."""
    with open(folder / "filler", "wb", buffering=0) as f:  # unbuffered: nothing is left to flush
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC


def test_a_disk_that_fills_up_during_the_download(hub, small_disk, blip_files, monkeypatch):
    cache = small_disk / "cache"
    point_hub_at(hub, monkeypatch, cache)
    hub.add_repo(BLIP, blip_files)
    hub.before_body(BLIP, "model.safetensors", lambda: fill(small_disk))  # another program fills the disk
    with pytest.raises(DownloadError) as info:
        add_tool("image_captioner", progress=False)
    assert str(info.value).startswith("Not enough disk space to download 'image_captioner'")
    assert str(cache) in str(info.value)
    assert leftovers(cache) == []


def test_no_space_left_while_writing_gives_the_message(hub, cache, blip_files, monkeypatch):
    """The fake of the full disk, for machines where no tmpfs can be mounted: the write fails as
    a full disk's does (OSError ENOSPC) after the first bytes."""
    import huggingface_hub.file_download as file_download

    real = file_download.http_get

    def http_get_on_a_full_disk(url, temp_file, **kwargs):
        if url.endswith("model.safetensors"):
            temp_file.write(b"\0" * 10)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(url, temp_file, **kwargs)

    monkeypatch.setattr(file_download, "http_get", http_get_on_a_full_disk)
    hub.add_repo(BLIP, blip_files)
    with pytest.raises(DownloadError) as info:
        add_tool("image_captioner", progress=False)
    needed = sum(len(blip_files[p]) for p in select_files(blip_files))
    assert f"need {human_size(needed)} ({needed} bytes) in {cache}" in str(info.value)
    assert leftovers(cache) == []


# --- which files ------------------------------------------------------------------------------------


def test_select_files_keeps_one_loadable_copy():
    blip = ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "preprocessor_config.json",
            "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", ".gitattributes",
            "README.md"]
    assert select_files(blip) == [".gitattributes", "README.md", "config.json", "model.safetensors",
                                  "preprocessor_config.json", "special_tokens_map.json", "tokenizer.json",
                                  "tokenizer_config.json", "vocab.txt"]
    old = ["config.json", "pytorch_model.bin", "flax_model.msgpack", "rust_model.ot", "onnx/decoder.onnx"]
    assert select_files(old) == ["config.json", "pytorch_model.bin"]  # no safetensors: the pickle it is
    sharded = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
               "model.safetensors.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json"]
    assert select_files(sharded) == sharded[:4]
    sd = ["model_index.json", "v1-5-pruned.safetensors", "v1-5-pruned-emaonly.ckpt", "unet/config.json",
          "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.bin",
          "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.non_ema.safetensors",
          "vae/config.json", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
          "tokenizer/vocab.json", "tokenizer/merges.txt", "safety_checker/pytorch_model.bin", "v1-inference.yaml"]
    assert select_files(sd) == ["model_index.json", "safety_checker/pytorch_model.bin", "text_encoder/model.safetensors",
                                "tokenizer/merges.txt", "tokenizer/vocab.json", "unet/config.json",
                                "unet/diffusion_pytorch_model.safetensors", "v1-inference.yaml", "vae/config.json",
                                "vae/diffusion_pytorch_model.safetensors"]


def test_human_size():
    assert [human_size(n) for n in (0, 999, 1000, 93_600, 990_000_000, 4.2e12, 10**18)] == [
        "0 B", "999 B", "1.0 kB", "93.6 kB", "990.0 MB", "4.2 TB", "1000000.0 TB"]
