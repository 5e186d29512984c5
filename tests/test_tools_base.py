import json

import pytest
from PIL import Image

from nbagents import Tool, Toolbox, tool
from nbagents.errors import ConfigurationError, ToolError
from nbagents.results import AgentImage, AgentText


@tool
def shout(text: str, times: int = 1) -> str:
    """Repeat `text` in capitals.

    Args:
        text: What to shout.
        times: How many times.
    """
    return " ".join([text.upper()] * times)


def test_tool_from_function_signature_docstring_and_call():
    assert shout.name == "shout"
    assert shout.description.startswith("Repeat `text` in capitals.")
    assert [(i.name, i.type, i.description) for i in shout.inputs] == [
        ("text", "str", "What to shout."), ("times", "int", "How many times.")]
    assert shout.signature() == "shout(text: str, times: int = 1) -> str: Repeat `text` in capitals."
    out = shout(text=AgentText("hi"), times=2)
    assert out == "HI HI" and isinstance(out, AgentText)


def test_tool_decorator_with_options_and_image_types():
    @tool(name="thumb", output_type="image")
    def make(image: Image.Image, size: int = 4):
        """Shrink an image."""
        im = image.copy()
        im.thumbnail((size, size))
        return im

    assert make.name == "thumb"
    assert make.signature(short=True) == "thumb(image: Image, size: int = 4) -> Image"
    result = make(image=AgentImage(Image.new("RGB", (16, 8))))  # agent type unwrapped for the tool
    assert isinstance(result, AgentImage) and result.size == (4, 2)


def test_subclassed_tool_setup_runs_once_lazily():
    class Counter(Tool):
        name = "counter"
        description = "Count calls."
        inputs = {"step": {"type": "int", "description": "increment"}}
        output_type = "int"

        def setup(self):
            self.loaded = getattr(self, "loaded", 0) + 1

        def forward(self, step):
            return step + 1

    t = Counter()
    assert not t.is_initialized
    assert t(step=1) == 2 and t(step=2) == 3
    assert t.loaded == 1
    assert t.signature(short=True) == "counter(step: int) -> int"


@pytest.mark.parametrize("name", ["", "1abc", "has space", "_private"])
def test_bad_tool_names_are_refused(name):
    with pytest.raises(ToolError):
        tool(lambda x: x, name=name, description="d")


def test_tool_without_description_is_refused():
    def nodoc(x):
        return x
    with pytest.raises(ToolError, match="no description"):
        tool(nodoc)


def test_toolbox_add_replace_remove():
    box = Toolbox([shout])
    assert list(box) == ["shout"]

    @tool
    def shout2(text: str) -> str:
        """Other."""
        return text
    with pytest.raises(ConfigurationError, match="stored under"):
        box["shout"] = shout2
    box.add(shout2)
    del box["shout"]
    assert list(box) == ["shout2"]
    with pytest.raises(KeyError, match="Closest: shout2"):
        box["shout"]
    with pytest.raises(ConfigurationError):
        box.add(shout2, replace=False)
    with pytest.raises(ConfigurationError):
        box.add(42)
    assert "<code>shout2</code>" in box._repr_html_()


def test_tool_to_dict_and_save(tmp_path):
    d = shout.to_dict()
    assert d["inputs"][1] == {"name": "times", "type": "int", "description": "How many times.", "default": 1}
    folder = shout.save(tmp_path / "shout")
    decl = json.loads((folder / "tool.json").read_text())
    assert decl["name"] == "shout" and decl["class"] == "TOOL"
    src = (folder / "tool.py").read_text()
    assert "def shout(" in src and "@tool" not in src
    namespace = {}
    exec(compile(src, "tool.py", "exec"), namespace)
    assert namespace["TOOL"](text="a") == "A"


def test_literal_hints_and_input_specs_give_choices():
    from typing import Literal

    from nbagents.tools.base import Tool, literal_choices

    @tool
    def flip(image: str, direction: Literal["horizontal", "vertical"] = "horizontal",
             times: Literal[1, 2] | None = None) -> str:
        """Flip `image`."""
        return image

    direction, times = flip.inputs[1], flip.inputs[2]
    assert direction.type == "str" and direction.choices == ("horizontal", "vertical")
    assert times.type == "int" and times.choices == (1, 2)
    assert flip.inputs[0].choices == ()
    assert "direction: 'horizontal' | 'vertical' = 'horizontal'" in flip.signature()
    assert literal_choices(int) == ()

    class Pick(Tool):
        name = "pick"
        description = "Pick a `mode`."
        inputs = {"mode": {"type": "str", "choices": ["fast", "slow"]},
                  "level": {"type": "int", "enum": [1, 2, 3], "default": 1}}
        output_type = "str"

        def forward(self, mode, level=1):
            return mode

    assert [i.choices for i in Pick().inputs] == [("fast", "slow"), (1, 2, 3)]
