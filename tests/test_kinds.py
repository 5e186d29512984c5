"""The kind registry: lookups, and a new kind flowing through tools, prompts, results and
relevance with no other file edited."""

import collections.abc
import typing
from typing import Any, Literal, Optional

import pytest
from PIL import Image

from nbagents import tool
from nbagents.errors import ConfigurationError
from nbagents.kinds import (
    Kind,
    data_words,
    display_names,
    dotted_name,
    is_media,
    kind_for_extension,
    kind_named,
    kind_of,
    kind_of_annotation,
    kinds,
    register_kind,
    takes_literal,
    unregister_kind,
)
from nbagents.prompts import PromptTemplate, build_prompt, input_type_name
from nbagents.relevance import tool_relevance
from nbagents.results import AgentAudio, AgentImage, AgentText, AgentType, wrap
from nbagents.runs import describe_value
from nbagents.tools import Toolbox, ToolInput
from nbagents.tools.base import TYPE_NAMES, type_of


def test_builtin_kinds_and_their_names():
    assert [k.name for k in kinds()] == ["str", "int", "float", "bool", "list", "dict", "image", "audio",
                                         "table", "bytes", "any"]
    assert dict(display_names()) == {"str": "str", "int": "int", "float": "float", "bool": "bool",
                                     "list": "list", "dict": "dict", "image": "Image", "audio": "Audio", "table": "Table",
                                     "bytes": "bytes", "any": "Any"}
    assert dict(TYPE_NAMES) == dict(display_names())
    for name in ("Image", "image", " PIL.Image.Image ", "AgentImage", "image.image"):
        assert kind_named(name).name == "image"
    assert kind_named("text").name == kind_named("AgentText").name == "str"
    assert kind_named("number").name == "float" and kind_named("Boolean").name == "bool"
    assert kind_named("picture") is None and kind_named(3) is None
    assert kind_named("audio").display == "Audio" and TYPE_NAMES.get("nothing", "Any") == "Any"
    assert ToolInput("x", "audio").render() == "x: Audio" and ToolInput("x", "nothing").render() == "x: Any"


def test_kind_of_a_value_follows_its_classes():
    assert kind_of("x").name == "str" and kind_of(AgentText("x")).name == "str"
    assert kind_of(True).name == "bool" and kind_of(3).name == "int" and kind_of(2.5).name == "float"
    assert kind_of(Image.new("RGB", (2, 2))).name == "image"
    assert kind_of(AgentImage(Image.new("RGB", (2, 2)))).name == "image"
    assert kind_of(AgentAudio([0.0, 0.1], 8000)).name == "audio"
    assert kind_of([1]).name == "list" and kind_of({}).name == "dict" and kind_of(b"x").name == "bytes"
    assert kind_of((1,)) is None and kind_of(None) is None and kind_of(bytearray(b"x")) is None


def test_kind_of_an_annotation():
    assert kind_of_annotation(list[int]).name == "list" and kind_of_annotation(tuple).name == "list"
    assert kind_of_annotation(typing.Iterable[int]).name == "list"
    # bare set / Iterable mean what set[int] / Iterable[int] mean (they were Any)
    assert kind_of_annotation(set).name == kind_of_annotation(set[int]).name == "list"
    assert kind_of_annotation(collections.abc.Iterable).name == "list"
    assert kind_of_annotation(typing.Mapping[str, int]).name == "dict"
    assert kind_of_annotation(Optional[int]).name == "int"  # noqa: UP045 - typing.Union, not int | None
    assert kind_of_annotation(int | None).name == "int"
    assert kind_of_annotation(Literal["a", "b"]).name == "str"
    assert kind_of_annotation(Literal[1, "a"]).name == "any"
    assert kind_of_annotation(Image.Image).name == "image" and kind_of_annotation(AgentAudio).name == "audio"
    assert kind_of_annotation(AgentText).name == "str" and kind_of_annotation(bool).name == "bool"
    assert kind_of_annotation(Any).name == kind_of_annotation(None).name == kind_of_annotation(object).name == "any"
    assert kind_of_annotation("Image").name == "image" and kind_of_annotation("nonsense").name == "any"
    assert type_of(Image.Image) == "image" and type_of("integer") == "int"


def test_literals_media_extensions_and_words():
    assert [n for n in display_names() if not takes_literal(n)] == ["image", "audio", "table", "bytes"]
    assert takes_literal("any") and takes_literal("unknown")
    assert is_media(AgentImage(Image.new("RGB", (2, 2)))) and is_media(AgentAudio([0.0], 8000))
    assert not is_media("x") and not is_media(b"x")
    assert kind_for_extension(".PNG").name == "image" and kind_for_extension("wav").name == "audio"
    assert kind_for_extension(".txt") is None
    assert data_words() == frozenset({"text", "image", "images", "audio", "table", "tables", "dataframe", "csv"})
    assert kind_named("image").result_class() is AgentImage
    assert kind_named("str").result_class() is AgentText and kind_named("int").result_class() is None


def test_registering_checks_what_it_is_given():
    with pytest.raises(ConfigurationError, match="lower-case identifier"):
        Kind("Video")
    with pytest.raises(ConfigurationError, match="takes a Kind"):
        register_kind("video")
    with pytest.raises(ConfigurationError, match="clashes") as e:
        register_kind(Kind("photo", aliases=("image",)))
    assert "'image'" in str(e.value) and e.value.hint
    with pytest.raises(ConfigurationError, match="clashes"):
        register_kind(Kind("image"))
    with pytest.raises(ConfigurationError, match="built-in"):
        register_kind(Kind("photo", extensions=(".png",)), replace=True)
    with pytest.raises(ConfigurationError, match="built-in"):
        unregister_kind("image")
    with pytest.raises(ConfigurationError, match="No kind") as e:
        unregister_kind("imag")
    assert "image" in e.value.hint
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        Kind("ghost", result="nbagents.results.AgentGhost").result_class()
    assert [k.name for k in kinds()][-1] == "any"  # nothing was added


def test_replacing_a_kind_keeps_its_place():
    old = kind_named("bytes")
    try:
        register_kind(Kind("bytes", "Bytes", types=(bytes,)), replace=True)
        assert [k.name for k in kinds()].index("bytes") == 9
        assert input_type_name(b"x") == "Bytes" and TYPE_NAMES["bytes"] == "Bytes"
    finally:
        register_kind(old, replace=True)
    assert input_type_name(b"x") == "bytes"


# --- a kind nbagents does not know, added from outside ----------------------------------------


class Video:
    """A stand-in for some library's video class."""

    def __init__(self, frames: int = 24) -> None:
        self.frames = frames


class AgentVideo(AgentType):
    kind = "video"

    def __init__(self, value: Any) -> None:
        self.video = value.video if isinstance(value, AgentVideo) else value

    def to_raw(self) -> Video:
        return self.video

    def to_string(self) -> str:
        return "clip.mp4"

    def summary(self) -> str:
        return f"video of {self.video.frames} frames"


@pytest.fixture
def video():
    kind = register_kind(Kind("video", "Video", result=AgentVideo, media=True, aliases=("movie",),
                              types=(Video, AgentVideo), extensions=(".mp4",), words=("video", "videos")))
    try:
        yield kind
    finally:
        unregister_kind("video")


def _video_tools():
    @tool
    def trim_video(clip: Video, seconds: float) -> Video:
        """Trim the video `clip` to its first `seconds`."""
        return Video(int(seconds * 24))

    @tool
    def video_caption(clip: "movie") -> str:  # noqa: F821 - a declared type name, not a class
        """Describe what happens in the video `clip`."""
        return "a cat"

    @tool
    def word_count(text: str) -> int:
        """Count the words in `text`."""
        return len(text.split())

    return Toolbox([trim_video, video_caption, word_count])


def test_a_new_kind_flows_through_tools_prompts_and_results(video):
    tools = _video_tools()
    trim = tools["trim_video"]
    assert trim.inputs[0].type == "video" and trim.output_type == "video"
    assert tools["video_caption"].inputs[0].type == "video"
    assert trim.signature().startswith("trim_video(clip: Video, seconds: float) -> Video:")
    prompt = build_prompt("Trim `clip` to a second", tools, {"clip": Video()}, template=PromptTemplate.load(None))
    assert "trim_video(clip: Video, seconds: float) -> Video" in prompt.text
    assert "Inputs: clip (Video)" in prompt.text
    out = trim(Video(), 0.5)  # a tool's result is wrapped in the kind's result class
    assert isinstance(out, AgentVideo) and out.video.frames == 12
    assert isinstance(wrap(Video()), AgentVideo)
    assert is_media(out) and describe_value(Video(48)) == "video of 48 frames"
    assert describe_value(out) == "video of 12 frames"
    assert not takes_literal("video") and kind_for_extension(".MP4") is video
    assert kind_of_annotation("Video") is video and kind_named("movie") is video


def test_a_new_kinds_words_weigh_less_in_relevance():
    task = "Describe the video"
    before = tool_relevance(_video_tools(), task)
    kind = register_kind(Kind("video", "Video", types=(Video,), words=("video",)))
    try:
        after = tool_relevance(_video_tools(), task)
        assert "video" in data_words()
    finally:
        unregister_kind(kind.name)
    # "describe" counts in full either way; "video" counts a quarter once it names a kind's data
    assert after["video_caption"] < before["video_caption"]
    assert before["trim_video"] == pytest.approx(4 * after["trim_video"])
    assert after["word_count"] == before["word_count"] == 0.0
    assert "video" not in data_words()


def test_dotted_names_need_no_import():
    assert dotted_name(Image.Image) == "PIL.Image.Image" and dotted_name(str) == "builtins.str"
    kind = Kind("sketch", types=("some.library.Sketch",), result="nbagents.results.AgentImage")
    assert kind.types == ("some.library.Sketch",) and kind.result_class() is AgentImage
