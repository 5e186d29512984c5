import pytest

from nbagents.errors import ParseError
from nbagents.parsing import parse


def test_explanation_then_fenced_code_with_language():
    p = parse("I will caption the image.\n```py\nresult = image_captioner(image=image)\n```\nDone.")
    assert p.explanation == "I will caption the image."
    assert p.code == "result = image_captioner(image=image)"


@pytest.mark.parametrize("lang", ["", "python", "Python", "py3"])
def test_fence_language_tags(lang):
    assert parse(f"ok\n```{lang}\nx = 1\n```").code == "x = 1"


def test_transformers_agents_shape_with_markers():
    raw = "Answer: I will use the translator.\n\nCode:\n\n```py\nt = translator(text=text)\nprint(t)\n```"
    p = parse(raw)
    assert p.explanation == "I will use the translator."
    assert p.code == "t = translator(text=text)\nprint(t)"


def test_unterminated_fence_cut_by_token_limit():
    p = parse("Explanation: summing.\n```py\na = 1\nb = a + 2\nc = su")
    assert p.code.startswith("a = 1\nb = a + 2")


def test_several_fenced_blocks_are_joined():
    p = parse("First:\n```py\na = 1\n```\nThen:\n```py\nb = a + 1\n```")
    assert p.code == "a = 1\nb = a + 1"


def test_non_python_fence_is_ignored_when_python_exists():
    p = parse("```text\nnot code at all\n```\n```py\nx = 2\n```")
    assert p.code == "x = 2"


def test_code_only():
    assert parse("result = 3 ** 5 + 1").code == "result = 3 ** 5 + 1"


def test_code_marker_without_fence():
    p = parse("Code:\nresult = word_count(text=text)")
    assert p.code == "result = word_count(text=text)"


def test_explanation_lines_then_unfenced_code():
    p = parse("I will count the words in the text.\nresult = word_count(text=text)")
    assert p.explanation == "I will count the words in the text."
    assert p.code == "result = word_count(text=text)"


def test_indented_code_is_dedented():
    assert parse("```py\n    x = 1\n    y = 2\n```").code == "x = 1\ny = 2"


@pytest.mark.parametrize("raw", ["", "   ", "I cannot help with that.", "Sure! Here is the answer: blue."])
def test_no_code_raises_parse_error_showing_raw(raw):
    with pytest.raises(ParseError) as info:
        parse(raw)
    err = info.value
    assert err.stage == "parse"
    assert err.raw == raw
    if raw.strip():
        assert raw in str(err)
    else:
        assert "wrote nothing" in str(err)
    assert err.hint
