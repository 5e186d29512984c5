from nbagents.errors import (
    MissingDependencyError,
    NbAgentsError,
    PromptTooLongError,
    UndefinedNameError,
    UnknownToolError,
    closest_names,
)


def test_unknown_tool_names_it_and_lists_closest():
    e = UnknownToolError("image_drawer", ["image_captioner", "draw_text", "translator"], line=2)
    assert "'image_drawer'" in str(e) and "Line 2" in str(e)
    assert "image_captioner" in e.closest
    assert "Available tools: draw_text, image_captioner, translator" in str(e)
    assert e.stage == "interpreter"


def test_undefined_name_lists_what_is_defined():
    e = UndefinedNameError("image", ["text", "result"])
    assert "'image' is not defined" in str(e)
    assert "Defined here: result, text." in str(e)


def test_prompt_too_long_gives_both_numbers():
    e = PromptTooLongError(1549, 200, 1512, dropped=["an example"])
    s = str(e)
    assert "1549" in s and "1512" in s and "200" in s and "an example" in s
    assert e.to_dict()["stage"] == "prompt"


def test_missing_dependency_names_the_extra():
    e = MissingDependencyError("bitsandbytes", "quant", "8-bit loading")
    assert "pip install 'nbagents[quant]'" in str(e)
    assert isinstance(e, NbAgentsError)


def test_closest_names_no_fuzzy_guess_when_nothing_close():
    assert closest_names("zzz", ["alpha", "beta"]) == []
