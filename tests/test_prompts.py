import pytest

from nbagents import ScriptedEngine, tool
from nbagents.errors import ConfigurationError, PromptTooLongError
from nbagents.prompts import PromptTemplate, build_prompt, input_type_name, load_examples
from nbagents.tools import Toolbox


@tool
def translator(text: str, src_lang: str, tgt_lang: str) -> str:
    """Translate `text` from `src_lang` to `tgt_lang`."""
    return text


@tool
def text_reader(text: str):
    """Read `text` aloud and return the audio."""
    return text


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


def _tools(*tools):
    return Toolbox(tools)


def test_default_run_prompt_lists_tools_inputs_and_task():
    p = build_prompt("Count words in `text`", _tools(word_count), {"text": "a b"},
                     template=PromptTemplate.load(None))
    assert p.messages[0]["role"] == "system" and p.messages[1]["role"] == "user"
    assert "word_count(text: str) -> int: Count the words in `text`." in p.text
    assert "Task: Count words in `text`" in p.text
    assert "Inputs: text (str)" in p.text
    assert p.stop == ("\nTask:", "<|im_end|>")
    assert p.tools == ("word_count",)


def test_examples_only_when_their_tools_exist():
    names = [e.calls for e in load_examples()]
    assert frozenset({"translator", "text_reader"}) in names
    with_tools = build_prompt("x", _tools(translator, text_reader), {}, template=PromptTemplate.load(None))
    without = build_prompt("x", _tools(word_count), {}, template=PromptTemplate.load(None))
    assert "translator(text=text" in with_tools.text
    assert "translator(text=text" not in without.text
    assert "3 ** 5 + 1" in without.text  # the tool-free example always fits


def test_template_from_string_and_file(tmp_path):
    legacy = "Tools:\n<<all_tools>>\nTask: <<prompt>>\nAnswer:"
    p = build_prompt("do it", _tools(word_count), {}, template=PromptTemplate.load(legacy))
    assert len(p.messages) == 1
    assert p.text.startswith("Tools:\nword_count(text: str)")
    assert "Task: do it\nAnswer:" in p.text
    f = tmp_path / "t.txt"
    f.write_text("### system\nSYS {{tools}}\n### user\nUSR {{task}}\n### stop\nEND\n")
    t = PromptTemplate.load(str(f))
    assert t.stop == ("END",)
    p = build_prompt("hello", _tools(word_count), {}, template=t)
    assert p.messages[0]["content"].startswith("SYS word_count(")
    assert p.messages[1]["content"] == "USR hello"
    with pytest.raises(ConfigurationError):
        PromptTemplate.load("   ")


def test_token_count_is_the_engines():
    e = ScriptedEngine()
    p = build_prompt("x", _tools(word_count), {}, template=PromptTemplate.load(None), engine=e)
    assert p.token_count == e.count_tokens(p.text) + 8


def _many_tools(n):
    out = []
    for i in range(n):
        def f(text: str) -> str:
            return text
        f.__name__ = f"tool_number_{i}"
        f.__doc__ = f"Does thing number {i} with a rather long description " + "padding " * 20
        out.append(tool(f))
    return out


def test_fitting_drops_examples_then_descriptions_then_irrelevant_tools():
    tools = _tools(word_count, *_many_tools(12))
    template = PromptTemplate.load(None)
    full = build_prompt("count the words", tools, {}, template=template, engine=ScriptedEngine())
    engine = ScriptedEngine(context_length=full.token_count - 20 + 64)
    p = build_prompt("count the words", tools, {}, template=template, engine=engine, max_new_tokens=64)
    assert p.dropped and p.dropped[0] == "an example"
    assert p.token_count + 64 <= engine.context_length
    small = ScriptedEngine(context_length=150)
    p = build_prompt("count the words in text", tools, {}, template=template, engine=small, max_new_tokens=64)
    assert "tool descriptions" in p.dropped
    assert "word_count" in p.tools  # the relevant tool is kept
    assert len(p.tools) < len(tools)
    assert p.token_count + 64 <= 150


def test_prompt_too_long_reports_both_numbers():
    engine = ScriptedEngine(context_length=40)
    with pytest.raises(PromptTooLongError) as info:
        build_prompt("count the words " * 30, _tools(word_count), {}, template=PromptTemplate.load(None),
                     engine=engine, max_new_tokens=32)
    e = info.value
    assert e.context_length == 40 and e.max_new_tokens == 32 and e.prompt_tokens > 8
    assert str(e.prompt_tokens) in str(e) and "40" in str(e)


def test_input_type_names():
    from PIL import Image

    from nbagents.results import AgentAudio, AgentImage, AgentText
    assert input_type_name("x") == "str"
    assert input_type_name(AgentText("x")) == "str"
    assert input_type_name(Image.new("RGB", (2, 2))) == "Image"
    assert input_type_name(AgentImage(Image.new("RGB", (2, 2)))) == "Image"
    assert input_type_name(AgentAudio([0.0, 0.1], 8000)) == "Audio"
    assert input_type_name(3) == "int" and input_type_name(True) == "bool"
    assert input_type_name([1]) == "list"


def test_chat_template_shows_history_and_variables():
    from nbagents.prompts import Turn

    p = build_prompt("now double it", _tools(word_count), {}, template=PromptTemplate.load(None, default="chat"),
                     history=[Turn("count words", "n = word_count(text=text)", "Result: 2")],
                     state_names=["n", "text"])
    assert "Task: count words\n```py\nn = word_count(text=text)\n```\nResult: 2" in p.text
    assert "Variables from earlier turns: n, text" in p.text
    assert p.text.rstrip().endswith("Variables from earlier turns: n, text")
