"""Grammar construction for tool programs (nbagents.grammar), without torch.

The generated Lark grammars run through llguidance (the local engine's ``Matcher``, which needs no
torch) with the small byte-level tokenizer of ``tiny_models`` (the tokenizers and transformers
packages, no torch); the remote schemas and the
rendering of JSON answers are plain functions. Decoding under these grammars on a model is in
``test_constrain_decoding.py``.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("llguidance")
pytest.importorskip("transformers")  # the tokenizer (transformers without torch is enough)

from PIL.Image import Image as PILImage  # noqa: E402
from program_tools import (  # noqa: E402
    IMAGE,
    LISTS,
    MIXED,
    TASKS,
    TEXT,
    flip,
    make_image,
    speed,
    summarizer,
)
from tiny_models import make_tokenizer  # noqa: E402

from nbagents.engines.local.matcher import Matcher, tokenizer_bridge  # noqa: E402
from nbagents.errors import ParseError  # noqa: E402
from nbagents.grammar import LineState, ProgramBuilder, ProgramSpec, line_grammar  # noqa: E402
from nbagents.grammar.lines import explanation_grammar  # noqa: E402
from nbagents.grammar.remote import (  # noqa: E402
    openai_response_format,
    program_regex,
    program_schema,
    render_calls,
    tgi_grammar,
)
from nbagents.grammar.types import compatible, value_type  # noqa: E402
from nbagents.parsing import parse  # noqa: E402
from nbagents.tools.base import tool  # noqa: E402

# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


@pytest.fixture(scope="module")
def bridge(tok):
    return tokenizer_bridge(tok)


def accepts(bridge, tok, grammar: str, text: str, *, complete: bool = True) -> bool:
    """Whether ``text`` is allowed by ``grammar`` (all of it, and complete there)."""
    ids = tok(text, add_special_tokens=False)["input_ids"]
    c = Matcher(bridge, grammar)
    if c.validate(ids) != len(ids):
        return False
    c.consume_many(ids)
    return c.is_accepting() if complete else True


def tools_of(toolset) -> dict:
    return {t.name: t for t in toolset}


def state(names=None, must=(), may_end=False, index=0, **kw) -> LineState:
    return LineState(names=dict(names or {}), must=frozenset(must), may_end=may_end, index=index, **kw)


# --- no torch -------------------------------------------------------------------------------------


def test_grammars_are_built_without_torch():
    """Importing nbagents.grammar and building a program's line grammar and a plan's grammar
    imports neither torch nor transformers (nor the local engine)."""
    code = textwrap.dedent("""
        import sys

        from nbagents.grammar import ProgramBuilder, ProgramSpec, plan_grammar
        from nbagents.tools.base import tool

        @tool
        def shout(text: str) -> str:
            \"\"\"Shout `text`.\"\"\"
            return text.upper()

        spec = ProgramSpec.for_inputs([shout], {"text": "hi"}, task="Shout the text.")
        assert "shout(" in ProgramBuilder(spec).grammar()
        plan = plan_grammar({"shout": shout}, {"text": "hi"}, task="Shout the text.")
        assert plan is not None and plan.text
        heavy = sorted(m for m in ("torch", "transformers", "nbagents.engines.local") if m in sys.modules)
        assert not heavy, heavy
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# --- types -----------------------------------------------------------------------------------------


def test_value_types_come_from_runtime_values():
    assert value_type("hi") == "str" and value_type(3) == "int" and value_type(2.5) == "float"
    assert value_type([1]) == "list" and value_type({"a": 1}) == "dict" and value_type(True) == "bool"
    assert value_type(make_image()) == "image"
    assert compatible("float", "int") and not compatible("int", "float")
    assert compatible("any", "image") and compatible("image", "any") and not compatible("str", "image")


def test_spec_normalises_tools_and_types():
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x", "photo": make_image()}, state={"old": 3, "_h": 1})
    assert set(spec.tools) == {"translator", "summarizer", "word_count", "text_qa"}
    assert spec.input_types == {"text": "str", "photo": "image"}
    assert spec.variables == {"old": "int"}
    assert ProgramSpec(tools=TEXT, input_types={"p": "Image"}).input_types == {"p": "image"}
    assert spec.line_cap == 4 and ProgramSpec(rich=True).line_cap == 8
    assert spec.describe()["tools"] == sorted(spec.tools)

# --- grammar: what a line may be --------------------------------------------------------------------


def test_line_grammar_allows_calls_with_signature_keywords(bridge, tok):
    g = line_grammar(tools_of(TEXT), state({"text": "str"}))
    ok = [
        'result = translator(text=text, src_lang="English", tgt_lang="French")\n',
        "result = summarizer(text=text)\n",
        'result = text_qa(text="It rains", question="Is it wet?")\n',
    ]
    for line in ok:
        assert accepts(bridge, tok, g, line), line
    bad = [
        "result = translate(text=text)\n",  # no such tool
        "result = summarizer(txt=text)\n",  # no such parameter
        'result = translator(src_lang="English", text=text, tgt_lang="French")\n',  # order
        'result = translator(text=text, tgt_lang="French")\n',  # a required one missing
        "result = summarizer(text=texts)\n",  # not defined
        'result = summarizer(text="text")\n',  # an input's name as a string: the variable, misspelt
        "result = summarizer(text=text) \n",  # one canonical layout
        "x = summarizer(text=text)\n",  # the fixed variable
        "result = summarizer(text=text)\nprint(result)\n",  # one line at a time
    ]
    for line in bad:
        assert not accepts(bridge, tok, g, line), line


def test_references_are_typed(bridge, tok):
    names = {"photo": "image", "text": "str", "n": "int", "words": "list"}
    g = line_grammar(tools_of(MIXED + LISTS), state(names))
    assert accepts(bridge, tok, g, "result = image_captioner(image=photo)\n")
    assert not accepts(bridge, tok, g, "result = image_captioner(image=text)\n")
    assert not accepts(bridge, tok, g, "result = summarizer(text=photo)\n")
    assert accepts(bridge, tok, g, "result = power(base=n)\n")  # an int where a float goes
    assert not accepts(bridge, tok, g, "result = add(a=1.5, b=2)\n")
    assert not accepts(bridge, tok, g, "result = add(a=007, b=2)\n")  # not Python
    assert accepts(bridge, tok, g, 'result = pick_label(text=text, labels=["good", "bad"])\n')
    assert accepts(bridge, tok, g, "result = join_words(words=words)\n")
    assert not accepts(bridge, tok, g, "result = join_words(words=text)\n")
    assert accepts(bridge, tok, g, 'result = lookup(table={"a": 1}, key="a")\n')
    assert accepts(bridge, tok, g, "result = anything(value=photo, label=None)\n")


def test_optional_parameters_may_be_left_out(bridge, tok):
    g = line_grammar(tools_of(MIXED), state({"n": "int"}))
    assert accepts(bridge, tok, g, "result = power(base=2)\n")
    assert accepts(bridge, tok, g, "result = power(base=2, exponent=3.5)\n")
    assert accepts(bridge, tok, g, "result = make_tone()\n")
    assert accepts(bridge, tok, g, "result = make_tone(duration=2)\n")
    assert accepts(bridge, tok, g, "result = make_tone(frequency=220, duration=2)\n")
    assert not accepts(bridge, tok, g, "result = make_tone(duration=2, frequency=220)\n")


def test_tools_whose_inputs_cannot_be_supplied_are_left_out(bridge, tok):
    g = line_grammar(tools_of(IMAGE + TEXT), state({"text": "str"}))  # no image anywhere
    assert "rotate_image" not in g and "side_by_side" not in g
    assert accepts(bridge, tok, g, "result = summarizer(text=text)\n")


def test_data_flow_rule_demands_an_unread_value(bridge, tok):
    names = {"text": "str", "photo": "image"}
    g = line_grammar(tools_of(MIXED), state(names, must={"photo"}))
    assert accepts(bridge, tok, g, "result = image_captioner(image=photo)\n")
    # a join takes two different values (a small model's self-join is a slip, not a wish)
    assert not accepts(bridge, tok, g, "result = side_by_side(left=photo, right=photo)\n")
    assert not accepts(bridge, tok, g, "result = summarizer(text=text)\n")
    assert not accepts(bridge, tok, g, 'result = power(base=2)\n')
    # the program cannot end while the demand stands
    assert not accepts(bridge, tok, g, "```")
    assert not Matcher(bridge, g).is_accepting()


def test_the_end_is_allowed_only_when_may_end(bridge, tok):
    names = {"text": "str", "result": "str"}
    g = line_grammar(tools_of(TEXT), state(names, may_end=True, index=1))
    assert accepts(bridge, tok, g, "```") and accepts(bridge, tok, g, "print(result)")
    c = Matcher(bridge, g)
    assert c.is_accepting()  # so <eos> is allowed
    assert c.allowed_mask()[tok.eos_token_id]
    g2 = line_grammar(tools_of(TEXT), state(names, must={"result"}, index=1))
    assert not accepts(bridge, tok, g2, "```")
    assert not Matcher(bridge, g2).allowed_mask()[tok.eos_token_id]


def test_no_callable_tool_falls_back_to_a_value(bridge, tok):
    g = line_grammar({}, state({"text": "str"}))
    assert accepts(bridge, tok, g, "result = text\n")
    assert accepts(bridge, tok, g, 'result = "hello"\n')


def test_stop_sequences_cannot_appear_in_strings(bridge, tok):
    g = line_grammar(tools_of(TEXT), state({"text": "str"}, forbid=("<|im_end|>", "\nTask:")))
    c = Matcher(bridge, g)
    c.consume_many(tok('result = summarizer(text="a<|im_e', add_special_tokens=False)["input_ids"])
    assert not c.allows(tok.convert_tokens_to_ids("n")) or c.validate(
        tok("nd|>", add_special_tokens=False)["input_ids"]) < 3
    e = explanation_grammar(("<|im_end|>",))
    assert accepts(bridge, tok, e, "I will do it.\n```py\n")
    assert accepts(bridge, tok, e, "```py\n")
    assert not accepts(bridge, tok, e, "Two\nlines\n```py\n")


def test_rich_grammar_allows_loops_names_and_nesting(bridge, tok):
    names = {"photos": "list", "text": "str"}
    tools = tools_of(MIXED)
    g = line_grammar(tools, state(names), rich=True)
    for line in [
        "captions = []\n",
        "for p in photos:\n",
        'summary = translator(text=summarizer(text=text), src_lang="en", tgt_lang="fr")\n',
        'result = summarizer(text=f"About {text}")\n',
        "result = image_captioner(image=photos[0])\n",
        "print(text)\n",
    ]:
        assert accepts(bridge, tok, g, line), line
    for line in [
        "for = summarizer(text=text)\n",  # a keyword as a name
        "summarizer = summarizer(text=text)\n",  # a tool's name as a variable
        "result = summarizer(text=summarizer(text=summarizer(text=text)))\n",  # one level of nesting
        "result = summarizer(text=undefined)\n",
        "import os\n",
    ]:
        assert not accepts(bridge, tok, g, line), line
    body = line_grammar(tools, state({**names, "p": "any", "captions": "list"}, indent="required"), rich=True)
    assert accepts(bridge, tok, body, "    captions.append(image_captioner(image=p))\n")
    assert not accepts(bridge, tok, body, "captions.append(image_captioner(image=p))\n")


@pytest.mark.parametrize("rich", [False, True])
def test_every_task_grammar_compiles_quickly(bridge, rich):
    import time

    for _, toolset, inputs in TASKS:
        spec = ProgramSpec.for_inputs(toolset, inputs, rich=rich)
        started = time.perf_counter()
        Matcher(bridge, ProgramBuilder(spec).grammar())
        assert time.perf_counter() - started < 0.5


# --- the per-line bookkeeping ---------------------------------------------------------------------


def test_builder_tracks_reads_types_and_the_end():
    spec = ProgramSpec.for_inputs(TEXT + IMAGE, {"text": "x", "photo": make_image()})
    b = ProgramBuilder(spec)
    s = b.state()
    assert s.must == {"text", "photo"} and not s.may_end
    assert b.accept("result = image_captioner(image=photo)\n")
    s = b.state()
    assert s.names["result"] == "str" and s.must == {"text", "result"} and not s.may_end
    assert b.accept('result = translator(text=result, src_lang="en", tgt_lang="fr")\n')
    s = b.state()
    assert s.must == {"text", "result"}  # two lines left for one unread input: result may still be read
    assert b.accept("result = summarizer(text=text)\n")
    s = b.state()
    assert s.may_end and s.must == {"result"}
    assert not b.accept("result = summarizer(text=text)\n")  # a repeat ends the program
    assert b.end_reason == "repeat" and len(b.lines) == 3
    code = b.code()
    ast.parse(code)
    assert b.render().startswith("```py\nresult = image_captioner(image=photo)\n")


def test_builder_puts_unread_inputs_first_when_lines_run_short():
    spec = ProgramSpec.for_inputs(TEXT, {"a": "x", "b": "y"}, max_lines=2)
    b = ProgramBuilder(spec)
    assert b.accept("result = summarizer(text=a)\n")
    assert b.state().must == {"b"}  # one line left: it must read b, not the fresh result
    assert not b.accept("result = summarizer(text=b)\n") and b.end_reason == "max_lines"


def test_builder_end_markers():
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    b = ProgramBuilder(spec)
    b.accept("result = summarizer(text=text)\n")
    assert not b.accept("print(result)")  # an end marker, not a line: it only restates the result
    assert b.end_reason == "print" and b.code() == "result = summarizer(text=text)\n"
    parsed = parse(b.render())
    assert parsed.code == "result = summarizer(text=text)"


# --- names and literals ---------------------------------------------------------------------------


def test_keywords_never_become_names_or_keyword_arguments(bridge, tok):
    from nbagents.tools.base import Tool, ToolInput

    class Odd(Tool):
        name = "odd"
        description = "A tool with a keyword parameter."
        inputs = (ToolInput("text", "str"), ToolInput("lambda", "int", default=1))
        output_type = "str"

        def forward(self, text, **kw):
            return text

    class Bad(Tool):
        name = "bad"
        description = "A tool that needs a keyword parameter."
        inputs = (ToolInput("from", "str"),)
        output_type = "str"

    g = line_grammar({"odd": Odd(), "bad": Bad()}, state({"text": "str", "class": "str"}))
    assert accepts(bridge, tok, g, "result = odd(text=text)\n")
    assert not accepts(bridge, tok, g, "result = odd(text=text, lambda=2)\n")
    assert not accepts(bridge, tok, g, "result = odd(text=class)\n")
    assert "bad(" not in g


def test_a_parameter_with_choices_takes_only_those_literals(bridge, tok):
    g = line_grammar(tools_of([flip, speed]), state({"photo": "image", "clip": "list", "way": "str"}))
    for line in ('result = flip(image=photo, direction="vertical")\n', "result = flip(image=photo)\n",
                 "result = flip(image=photo, direction=way)\n",  # a str variable may hold one
                 "result = speed(audio=clip, factor=0.5)\n", "result = speed(audio=clip, factor=2)\n"):
        assert accepts(bridge, tok, g, line), line
    for line in ('result = flip(image=photo, direction="up")\n', "result = speed(audio=clip, factor=3)\n",
                 'result = speed(audio=clip, factor="2")\n'):
        assert not accepts(bridge, tok, g, line), line


# --- remote helpers -------------------------------------------------------------------------------


def test_json_schema_and_rendering():
    spec = ProgramSpec.for_inputs(TEXT + IMAGE, {"text": "x", "photo": make_image()})
    schema = program_schema(spec)
    assert schema["required"] == ["explanation", "calls"] and schema["additionalProperties"] is False
    entries = schema["properties"]["calls"]["items"]["anyOf"]
    assert {e["properties"]["tool"]["enum"][0] for e in entries} == set(spec.tools)
    translator_args = next(e for e in entries if e["properties"]["tool"]["enum"] == ["translator"])
    text_opts = translator_args["properties"]["args"]["properties"]["text"]["anyOf"]
    refs = next(o for o in text_opts if o.get("type") == "object")["properties"]["ref"]["enum"]
    assert refs == ["text", "result"]  # typed: not the image
    rotate = next(e for e in entries if e["properties"]["tool"]["enum"] == ["rotate_image"])
    assert {"type": "null"} in rotate["properties"]["args"]["properties"]["degrees"]["anyOf"]
    fmt = openai_response_format(spec)
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert tgi_grammar(spec)["type"] == "json" and tgi_grammar(spec, kind="regex")["type"] == "regex"
    answer = {"explanation": "Caption, then translate.", "calls": [
        {"tool": "image_captioner", "args": {"image": {"ref": "photo"}}},
        {"tool": "translator", "args": {"text": {"ref": "result"}, "src_lang": "English", "tgt_lang": "French"}},
        {"tool": "rotate_image", "args": {"image": {"ref": "photo"}, "degrees": None}},
    ]}
    text = render_calls(json.dumps(answer), spec)
    parsed = parse(text)
    assert parsed.explanation == "Caption, then translate."
    assert parsed.code.splitlines() == [
        "result = image_captioner(image=photo)",
        "result = translator(text=result, src_lang='English', tgt_lang='French')",
        "result = rotate_image(image=photo)",
    ]


@pytest.mark.parametrize("calls, message", [
    ([{"tool": "nope", "args": {}}], "no tool named"),
    ([{"tool": "summarizer", "args": {"txt": "a"}}], "no parameter"),
    ([{"tool": "translator", "args": {"text": "a"}}], "needs src_lang"),
    ([{"tool": "summarizer", "args": {"text": {"ref": "result"}}}], "not defined"),
    ([{"tool": "summarizer", "args": {"text": {"name": "text"}}}], "reference"),
    ([], "non-empty"),
])
def test_render_calls_refuses_what_does_not_fit(calls, message):
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    with pytest.raises(ParseError, match=message):
        render_calls({"explanation": "", "calls": calls}, spec)
    with pytest.raises(ParseError, match="not JSON"):
        render_calls("{nope", spec)


def test_program_regex_matches_programs_and_refuses_others():
    spec = ProgramSpec.for_inputs(TEXT + IMAGE, {"text": "x", "photo": make_image()})
    rx = re.compile(program_regex(spec))
    good = ("I will do it.\n```py\nresult = image_captioner(image=photo)\n"
            'result = translator(text=result, src_lang="en", tgt_lang="fr")\n```')
    assert rx.fullmatch(good)
    assert rx.fullmatch("```py\nresult = summarizer(text=text)\n```")
    for bad in ("```py\nresult = summarizer(text=result)\n```",  # result before it exists
                "```py\nresult = summarizer(text=photo)\n```",  # typed
                "```py\nresult = summarise(text=text)\n```",
                "```py\n```"):
        assert not rx.fullmatch(bad), bad


# --- grounded literals: the task's values ----------------------------------------------------------


@tool
def draw_text(image: PILImage, text: str, color: str = "white", size: int = 24) -> PILImage:
    """Write `text` on `image`."""
    return image


@tool
def send_email(recipient: str, body: str) -> str:
    """Send `body` to `recipient`."""
    return "sent"


@tool
def change_volume(audio: list, factor: float) -> list:
    """Scale the loudness of `audio` by `factor`."""
    return audio


def first_line(tools, inputs, task, **options) -> str:
    return ProgramBuilder(ProgramSpec.for_inputs(tools, inputs, task=task, **options)).grammar()


def test_numbers_the_task_states_are_the_only_literals(bridge, tok):
    g = first_line(IMAGE, {"photo": make_image()}, "Rotate the photo by ninety degrees.")
    assert accepts(bridge, tok, g, "result = rotate_image(image=photo, degrees=90)\n")
    for bad in ("180", "90.5", "9", "-90"):
        assert not accepts(bridge, tok, g, f"result = rotate_image(image=photo, degrees={bad})\n"), bad
    g = first_line([change_volume], {"audio": [0.0]}, "Make the sound half as loud.")
    assert accepts(bridge, tok, g, "result = change_volume(audio=audio, factor=0.5)\n")
    assert not accepts(bridge, tok, g, "result = change_volume(audio=audio, factor=1.5)\n")
    # a task that states nothing: an optional parameter keeps its default, nothing is invented
    g = first_line(IMAGE, {"photo": make_image()}, "Rotate the photo.")
    assert accepts(bridge, tok, g, "result = rotate_image(image=photo)\n")
    assert not accepts(bridge, tok, g, "result = rotate_image(image=photo, degrees=33.5)\n")
    # numbers of other units do not fit: the parameter stays free
    g = first_line([change_volume], {"audio": [0.0]}, "Make the first 3 seconds louder.")
    assert accepts(bridge, tok, g, "result = change_volume(audio=audio, factor=1.25)\n")


def test_strings_the_task_states_are_the_only_literals(bridge, tok):
    g = first_line([draw_text], {"photo": make_image()}, "Write 'hello' in red on the photo")
    assert accepts(bridge, tok, g, 'result = draw_text(image=photo, text="hello", color="red")\n')
    # no size is stated: the default stands (the model never invents one)
    assert not accepts(bridge, tok, g, 'result = draw_text(image=photo, text="hello", color="red", size=30)\n')
    for bad in ('text="hi"', 'text="hello", color="white"', 'text="Hello"'):
        assert not accepts(bridge, tok, g, f"result = draw_text(image=photo, {bad})\n"), bad
    g = first_line([send_email], {}, "Email 'all done' to ada.lovelace@example.com.")
    assert accepts(bridge, tok, g, 'result = send_email(recipient="ada.lovelace@example.com", body="all done")\n')
    assert not accepts(bridge, tok, g, 'result = send_email(recipient="example.com", body="all done")\n')
    g = first_line(TEXT, {"text": "x"}, "Translate the text into French.")
    assert accepts(bridge, tok, g, 'result = translator(text=text, src_lang="English", tgt_lang="French")\n')
    assert not accepts(bridge, tok, g, 'result = translator(text=text, src_lang="English", tgt_lang="German")\n')
    # the stated target is no source language
    assert not accepts(bridge, tok, g, 'result = translator(text=text, src_lang="French", tgt_lang="French")\n')
    g = first_line(TEXT, {}, "Put this sentence into German: the house is big.")
    assert accepts(bridge, tok, g, 'result = summarizer(text="the house is big.")\n')
    assert not accepts(bridge, tok, g, 'result = summarizer(text="the house")\n')
    # references stay allowed next to the task's values
    g = first_line(TEXT, {"text": "x"}, "Translate 'hello' into French.")
    assert accepts(bridge, tok, g, 'result = translator(text=text, src_lang="English", tgt_lang="French")\n')


def test_choices_keep_their_choices_under_task_values(bridge, tok):
    g = first_line([flip], {"photo": make_image()}, "Flip the photo 'sideways' by 90 degrees")
    assert accepts(bridge, tok, g, 'result = flip(image=photo)\n')  # no choice named: the default
    assert not accepts(bridge, tok, g, 'result = flip(image=photo, direction="vertical")\n')
    assert not accepts(bridge, tok, g, 'result = flip(image=photo, direction="sideways")\n')


def test_literals_of_the_prompts_examples_cannot_be_chosen_when_the_task_states_a_value(bridge, tok):
    """Every literal argument in the built-in examples is refused where the task states another
    value for that parameter: examples show the shape, never the values."""
    from nbagents.grammar.values import calls_of
    from nbagents.prompts import load_examples
    from nbagents.tools.defaults import default_tools

    toolbox = {t.name: t for t in default_tools(model_tools="all")}
    example_literals = {(name, k, json.dumps(v)) for ex in load_examples()
                        for name, args in calls_of(ex.text.split("```py\n", 1)[-1].split("```")[0])
                        for k, v in args.items() if name in toolbox}
    assert {("rotate_image", "degrees"), ("translator", "src_lang"), ("translator", "tgt_lang")} <= {
        (n, k) for n, k, _ in example_literals}
    # tasks that state other values, and the line with those values
    tasks = {"rotate_image": ("Rotate the photo by 45 degrees.", {"photo": make_image()},
                              {"image": "photo", "degrees": "45"}),
             "translator": ("Translate the German text into Spanish.", {"text": "x"},
                            {"text": "text", "src_lang": '"German"', "tgt_lang": '"Spanish"'})}
    for name, param, example in sorted(example_literals):
        task, inputs, args = tasks[name]
        spec = ProgramSpec.for_inputs({name: toolbox[name]}, inputs, task=task)
        g = ProgramBuilder(spec).grammar()

        def line(changed, name=name, args=args):
            return f"result = {name}(" + ", ".join(f"{k}={v}" for k, v in {**args, **changed}.items()) + ")\n"

        assert accepts(bridge, tok, g, line({}))
        assert example != args[param] and not accepts(bridge, tok, g, line({param: example})), (name, param)


def test_the_spec_describes_the_values_it_used():
    spec = ProgramSpec.for_inputs(IMAGE, {"photo": make_image()}, task="Rotate the photo by 90 degrees.")
    d = spec.describe()
    assert d["task_values"]["numbers"][0]["value"] == 90 and d["grounded"] == {"rotate_image.degrees": ["90"]}
    assert "grounded" not in ProgramSpec.for_inputs(IMAGE, {"photo": make_image()}, task="Rotate it.").describe()
    json.dumps(d)


# --- steps, branches and joins -------------------------------------------------------------------------


def take(b: ProgramBuilder, bridge, tok, line: str, *, ok=(), refused=()) -> None:
    """Check what the next line's grammar accepts and refuses, then take ``line``."""
    g = b.grammar()
    for text in (line, *ok):
        assert accepts(bridge, tok, g, text), text
    for text in refused:
        assert not accepts(bridge, tok, g, text), text
    b.accept(line)


def test_known_steps_give_one_line_each_and_a_chain_by_default(bridge, tok):
    spec = ProgramSpec.for_inputs(IMAGE, {"photo": make_image()},
                                  expected_tools=("grayscale_image", "rotate_image"))
    assert spec.line_cap == 2 and ProgramSpec(tools=IMAGE, expected_tools=("rotate_image",), max_lines=3).line_cap == 3
    b = ProgramBuilder(spec)
    take(b, bridge, tok, "result = grayscale_image(image=photo)\n",
         refused=["image_1 = grayscale_image(image=photo)\n", "result = rotate_image(image=photo)\n"])
    take(b, bridge, tok, "result = rotate_image(image=result, degrees=90)\n",
         refused=["result = rotate_image(image=photo)\n"])  # no join ahead: no branch
    assert b.end_reason == "max_lines"
    assert b.code() == "result = grayscale_image(image=photo)\nresult = rotate_image(image=result, degrees=90)\n"


def run_code(code: str, tools, inputs):
    from nbagents.interpreter import Interpreter
    from nbagents.parsing import ending_with_result

    tools = tools_of(tools)
    Interpreter().check(code, tools)
    return Interpreter().run(ending_with_result(code), tools, dict(inputs)).value


def test_a_branch_and_a_join_with_named_intermediates(bridge, tok):
    inputs = {"photo": make_image()}
    spec = ProgramSpec.for_inputs(IMAGE, inputs, expected_tools=("grayscale_image", "rotate_image", "side_by_side"))
    b = ProgramBuilder(spec)
    take(b, bridge, tok, "image_1 = grayscale_image(image=photo)\n",
         refused=["result = grayscale_image(image=photo)\n"])
    assert not b.state().may_end  # image_1 is unread
    take(b, bridge, tok, "image_2 = rotate_image(image=photo, degrees=90)\n",  # a branch: the input again
         ok=["image_2 = rotate_image(image=image_1)\n"],  # or a chain
         refused=["image_1 = rotate_image(image=photo)\n", "result = rotate_image(image=photo)\n"])
    take(b, bridge, tok, "result = side_by_side(left=image_1, right=image_2)\n",
         ok=["result = side_by_side(left=image_2, right=image_1)\n"],
         refused=["result = side_by_side(left=image_1, right=photo)\n",  # image_2 would stay unread
                  "result = side_by_side(left=image_1, right=image_1)\n"])
    code = b.code()
    assert code.splitlines()[-1].startswith("result = side_by_side(")
    assert run_code(code, IMAGE, inputs) is not None


def test_a_join_with_the_input_and_a_chain_before_it(bridge, tok):
    inputs = {"photo": make_image()}
    spec = ProgramSpec.for_inputs(IMAGE, inputs, expected_tools=("grayscale_image", "side_by_side"))
    b = ProgramBuilder(spec)
    take(b, bridge, tok, "image_1 = grayscale_image(image=photo)\n")
    take(b, bridge, tok, "result = side_by_side(left=photo, right=image_1)\n",
         refused=["result = side_by_side(left=photo, right=photo)\n"])
    assert run_code(b.code(), IMAGE, inputs) is not None
    # intermediate names never take an input's or a variable's name
    spec = ProgramSpec.for_inputs(IMAGE, {"image_1": make_image()}, state={"image_2": make_image()},
                                  expected_tools=("grayscale_image", "side_by_side"))
    assert ProgramBuilder(spec).state().targets == {"image": "image_3"}


def test_the_last_line_reads_every_unread_value(bridge, tok):
    spec = ProgramSpec.for_inputs(TEXT, {"a": "x", "b": "y"}, max_lines=1)
    g = ProgramBuilder(spec).grammar()
    assert accepts(bridge, tok, g, "result = text_qa(text=a, question=b)\n")
    assert not accepts(bridge, tok, g, "result = text_qa(text=a, question=a)\n")
    # when no tool can read them all, one is enough
    spec = ProgramSpec.for_inputs([summarizer], {"a": "x", "b": "y"}, max_lines=1)
    assert accepts(bridge, tok, ProgramBuilder(spec).grammar(), "result = summarizer(text=a)\n")


def test_no_filler_lines():
    for rich in (False, True):
        spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, rich=rich)
        b = ProgramBuilder(spec)
        b.accept("result = summarizer(text=text)\n")
        b.accept("print(result)\n")
        assert b.code() == "result = summarizer(text=text)\n"
    b = ProgramBuilder(ProgramSpec.for_inputs(TEXT, {"text": "x"}, rich=True))
    for line in ("result = summarizer(text=text)\n", "n = word_count(text=result)\n", "result = result\n"):
        b.accept(line)
    assert b.code() == "result = summarizer(text=text)\nn = word_count(text=result)\n"


def test_the_previous_turn_grounds_a_relative_request(bridge, tok):
    from program_tools import make_tone

    spec = ProgramSpec.for_inputs([make_tone], {}, task="Now make it twice as long.",
                                  previous="result = make_tone(duration=1)\nprint(result)\n")
    g = ProgramBuilder(spec).grammar()
    assert accepts(bridge, tok, g, "result = make_tone(duration=2)\n")
    assert not accepts(bridge, tok, g, "result = make_tone(duration=1)\n")
    # the frequency is not stated and was not passed before: its default stands
    assert not accepts(bridge, tok, g, "result = make_tone(frequency=300.5, duration=2)\n")
    assert spec.describe()["task_values"]["derived"][0]["value"] == 2


def test_repeated_steps_and_a_join_of_their_results(bridge, tok):
    from program_tools import make_tone

    @tool
    def concatenate(first: list, second: list) -> list:
        """Join two sounds."""
        return first + second

    spec = ProgramSpec.for_inputs([make_tone, concatenate], {}, task="Make a 1 second tone and a 3 second tone, "
                                  "then join them.", expected_tools=("make_tone", "make_tone", "concatenate"))
    b = ProgramBuilder(spec)
    take(b, bridge, tok, "list_1 = make_tone(duration=1)\n", refused=["list_1 = make_tone(duration=2)\n"])
    take(b, bridge, tok, "list_2 = make_tone(duration=3)\n", refused=["result = concatenate(first=list_1, second=list_1)\n"])
    take(b, bridge, tok, "result = concatenate(first=list_1, second=list_2)\n")
    assert run_code(b.code(), [make_tone, concatenate], {}) == [0.0, 0.0]


def test_the_json_schema_form_takes_the_task_values_too():
    spec = ProgramSpec.for_inputs(IMAGE, {"photo": make_image()}, task="Rotate the photo by 90 degrees.")
    schema = program_schema(spec)
    rotate = next(s for s in schema["properties"]["calls"]["items"]["anyOf"]
                  if s["properties"]["tool"]["enum"] == ["rotate_image"])
    assert {"enum": [90]} in rotate["properties"]["args"]["properties"]["degrees"]["anyOf"]
    free = program_schema(ProgramSpec.for_inputs(IMAGE, {"photo": make_image()}, task="Rotate the photo."))
    rotate = free["properties"]["calls"]["items"]["anyOf"][0]["properties"]["args"]["properties"]
    assert {"type": "number"} in rotate["degrees"]["anyOf"]


@tool
def thumbnail(image: PILImage, size: int = 128) -> PILImage:
    """A small copy of `image`."""
    return image


@tool
def trim(audio: list, start: float = 0.0, end: float = None) -> list:
    """Keep `audio` from `start` to `end` seconds."""
    return audio


def test_an_optional_parameter_the_task_asks_for_is_written(bridge, tok):
    from program_tools import make_tone

    g = first_line([thumbnail], {"photo": make_image()}, "Make a 32 pixel thumbnail of the photo.")
    assert accepts(bridge, tok, g, "result = thumbnail(image=photo, size=32)\n")
    assert not accepts(bridge, tok, g, "result = thumbnail(image=photo)\n")
    g = first_line([draw_text], {"photo": make_image()}, "Write 'hi' in red on the photo.")
    assert accepts(bridge, tok, g, 'result = draw_text(image=photo, text="hi", color="red")\n')
    assert not accepts(bridge, tok, g, 'result = draw_text(image=photo, text="hi", color="red", size=30)\n')
    assert not accepts(bridge, tok, g, 'result = draw_text(image=photo, text="hi")\n')
    g = first_line([make_tone], {}, "Make a 2 second tone at 880 Hz.")
    assert accepts(bridge, tok, g, "result = make_tone(frequency=880, duration=2)\n")
    assert not accepts(bridge, tok, g, "result = make_tone(duration=2)\n")
    # "the first 2 seconds" ends the span: it is the end, not the start
    g = first_line([trim], {"clip": [0.0]}, "Keep the first 2 seconds of the clip.")
    assert accepts(bridge, tok, g, "result = trim(audio=clip, end=2)\n")
    assert not accepts(bridge, tok, g, "result = trim(audio=clip)\n")
    assert not accepts(bridge, tok, g, "result = trim(audio=clip, start=2, end=2)\n")
    # a value that fits two parameters asks for neither
    g = first_line([trim], {"clip": [0.0]}, "Keep 2 seconds of the clip.")
    assert accepts(bridge, tok, g, "result = trim(audio=clip, end=2)\n")
    assert accepts(bridge, tok, g, "result = trim(audio=clip)\n")
    # nor does a value carried over from the previous turn
    spec = ProgramSpec.for_inputs([thumbnail], {"photo": make_image()}, task="Now the other photo.",
                                  previous="result = thumbnail(image=photo, size=32)")
    assert accepts(bridge, tok, ProgramBuilder(spec).grammar(), "result = thumbnail(image=photo)\n")


def test_choices_narrow_to_those_the_task_states(bridge, tok):
    g = first_line([flip], {"photo": make_image()}, "Mirror the photo from left to right.")
    assert accepts(bridge, tok, g, 'result = flip(image=photo, direction="horizontal")\n')
    assert not accepts(bridge, tok, g, 'result = flip(image=photo, direction="vertical")\n')
    g = first_line([flip], {"photo": make_image()}, "Flip the photo.")  # no choice named: the default
    assert accepts(bridge, tok, g, 'result = flip(image=photo)\n')
    assert not accepts(bridge, tok, g, 'result = flip(image=photo, direction="vertical")\n')
    g = first_line([flip], {"photo": make_image()}, "Flip the photo vertically.")
    assert accepts(bridge, tok, g, 'result = flip(image=photo, direction="vertical")\n')
