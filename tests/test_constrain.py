"""Constrained decoding of tool programs (nbagents.constrain).

Grammar unit tests run the generated Lark grammars through llguidance with the small byte-level
tokenizer of ``tiny_models``. The end-to-end tests drive a tiny random Llama (greedy and random
sampling over whatever the grammar allows) across a task set of varied toolsets, inputs and
phrasings, and check that every program parses, calls only existing tools with valid parameter
names, reads only defined names, reads every input, and runs in the interpreter on stub tools.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Literal

import pytest

pytest.importorskip("llguidance")
torch = pytest.importorskip("torch")

from PIL.Image import Image as PILImage  # noqa: E402
from tiny_models import make_tokenizer  # noqa: E402

from nbagents.constrain import LineState, ProgramBuilder, ProgramSpec, line_grammar  # noqa: E402
from nbagents.constrain.grammar import compatible, explanation_grammar, value_type  # noqa: E402
from nbagents.constrain.matcher import Constraint, GrammarError, tokenizer_bridge  # noqa: E402
from nbagents.constrain.remote import (  # noqa: E402
    openai_response_format,
    program_regex,
    program_schema,
    render_calls,
    tgi_grammar,
)
from nbagents.engines._cache import cache_of, forward  # noqa: E402
from nbagents.errors import ParseError  # noqa: E402
from nbagents.parsing import parse  # noqa: E402
from nbagents.tools.base import tool  # noqa: E402

# --- stub toolsets (typed like real tools, return values of their output type) --------------------


def _image(color="white"):
    from PIL import Image

    return Image.new("RGB", (4, 4), color)


@tool
def translator(text: str, src_lang: str, tgt_lang: str) -> str:
    """Translate `text` from `src_lang` into `tgt_lang`."""
    return f"[{tgt_lang}] {text}"


@tool
def summarizer(text: str) -> str:
    """Summarize `text`."""
    return text[:20]


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


@tool
def text_qa(text: str, question: str) -> str:
    """Answer `question` from `text`."""
    return "yes"


@tool
def rotate_image(image: PILImage, degrees: float = 90.0) -> PILImage:
    """Rotate `image` by `degrees`."""
    return image


@tool
def grayscale_image(image: PILImage) -> PILImage:
    """Make `image` grayscale."""
    return image


@tool
def image_captioner(image: PILImage) -> str:
    """Describe `image`."""
    return "a picture"


@tool
def side_by_side(left: PILImage, right: PILImage) -> PILImage:
    """Put two images side by side."""
    return left


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def power(base: float, exponent: float = 2.0) -> float:
    """Raise `base` to `exponent`."""
    return float(base) * float(exponent)  # a stub: any numbers work


@tool
def describe_number(n: int) -> str:
    """Say a number in words."""
    return str(n)


@tool
def pick_label(text: str, labels: list) -> str:
    """Pick the best label for `text` from `labels`."""
    return labels[0] if labels else ""


@tool
def join_words(words: list, sep: str = " ") -> str:
    """Join `words` with `sep`."""
    return sep.join(str(w) for w in words)


@tool
def make_tone(frequency: float = 440.0, duration: float = 1.0) -> list:
    """A tone (as samples)."""
    return [0.0]


@tool
def lookup(table: dict, key: str) -> str:
    """Look `key` up in `table`."""
    return str(table.get(key, ""))


@tool
def anything(value, label=None) -> str:
    """Describe any value."""
    return "ok"


TEXT = [translator, summarizer, word_count, text_qa]
IMAGE = [rotate_image, grayscale_image, image_captioner, side_by_side]
MATH = [add, power, describe_number]
LISTS = [pick_label, join_words, word_count]
MIXED = TEXT + IMAGE + MATH + [pick_label, make_tone, lookup, anything]

# (task, toolset, inputs): varied toolsets, inputs and phrasings.
TASKS = [
    ("Translate the text into German.", TEXT, {"text": "good morning"}),
    ("Give me a short summary of `text`, then count its words.", TEXT, {"text": "a b c d"}),
    ("Answer the question using the document.", TEXT, {"document": "It rains.", "question": "Wet?"}),
    ("Turn the image a quarter turn and make it grayscale.", IMAGE, {"image": _image()}),
    ("put the two pictures next to each other", IMAGE, {"left": _image(), "right": _image("red")}),
    ("What is 3 plus 4, in words?", MATH, {}),
    ("Square the number n.", MATH, {"n": 7}),
    ("Which label fits the review best?", LISTS, {"review": "great", "labels": ["good", "bad"]}),
    ("Join these words with dashes.", LISTS, {"words": ["a", "b"]}),
    ("Caption the photo and translate the caption to French; also count words in notes.",
     MIXED, {"photo": _image(), "notes": "one two"}),
    ("Make a 2 second tone.", MIXED, {}),
    ("Look up the capital in the table.", MIXED, {"table": {"fr": "Paris"}, "country": "fr"}),
]


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


@pytest.fixture(scope="module")
def bridge(tok):
    return tokenizer_bridge(tok)


@pytest.fixture(scope="module")
def tiny_model(tok):
    """A 2-layer random Llama over the tiny tokenizer (not saved: the tests drive it directly)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    yield LlamaForCausalLM(config).eval()
    torch.set_num_threads(threads)


def accepts(bridge, tok, grammar: str, text: str, *, complete: bool = True) -> bool:
    """Whether ``text`` is allowed by ``grammar`` (all of it, and complete there)."""
    ids = tok(text, add_special_tokens=False)["input_ids"]
    c = Constraint(bridge, grammar)
    if c.validate(ids) != len(ids):
        return False
    c.consume_many(ids)
    return c.is_accepting() if complete else True


def tools_of(toolset) -> dict:
    return {t.name: t for t in toolset}


def state(names=None, must=(), may_end=False, index=0, **kw) -> LineState:
    return LineState(names=dict(names or {}), must=frozenset(must), may_end=may_end, index=index, **kw)


# --- types -----------------------------------------------------------------------------------------


def test_value_types_come_from_runtime_values():
    assert value_type("hi") == "str" and value_type(3) == "int" and value_type(2.5) == "float"
    assert value_type([1]) == "list" and value_type({"a": 1}) == "dict" and value_type(True) == "bool"
    assert value_type(_image()) == "image"
    assert compatible("float", "int") and not compatible("int", "float")
    assert compatible("any", "image") and compatible("image", "any") and not compatible("str", "image")


def test_spec_normalises_tools_and_types():
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x", "photo": _image()}, state={"old": 3, "_h": 1})
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
    assert accepts(bridge, tok, g, "result = side_by_side(left=photo, right=photo)\n")
    assert not accepts(bridge, tok, g, "result = summarizer(text=text)\n")
    assert not accepts(bridge, tok, g, 'result = power(base=2)\n')
    # the program cannot end while the demand stands
    assert not accepts(bridge, tok, g, "```")
    assert not Constraint(bridge, g).is_accepting()


def test_the_end_is_allowed_only_when_may_end(bridge, tok):
    names = {"text": "str", "result": "str"}
    g = line_grammar(tools_of(TEXT), state(names, may_end=True, index=1))
    assert accepts(bridge, tok, g, "```") and accepts(bridge, tok, g, "print(result)")
    c = Constraint(bridge, g)
    assert c.is_accepting()  # so <eos> is allowed
    assert c.allowed_mask()[tok.eos_token_id]
    g2 = line_grammar(tools_of(TEXT), state(names, must={"result"}, index=1))
    assert not accepts(bridge, tok, g2, "```")
    assert not Constraint(bridge, g2).allowed_mask()[tok.eos_token_id]


def test_no_callable_tool_falls_back_to_a_value(bridge, tok):
    g = line_grammar({}, state({"text": "str"}))
    assert accepts(bridge, tok, g, "result = text\n")
    assert accepts(bridge, tok, g, 'result = "hello"\n')


def test_stop_sequences_cannot_appear_in_strings(bridge, tok):
    g = line_grammar(tools_of(TEXT), state({"text": "str"}, forbid=("<|im_end|>", "\nTask:")))
    c = Constraint(bridge, g)
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
        Constraint(bridge, ProgramBuilder(spec).grammar())
        assert time.perf_counter() - started < 0.5


def test_a_bad_grammar_is_a_typed_error(bridge):
    with pytest.raises(GrammarError):
        Constraint(bridge, "start: undefined_rule\n")


# --- the per-line bookkeeping -----------------------------------------------------------------------


def test_builder_tracks_reads_types_and_the_end():
    spec = ProgramSpec.for_inputs(TEXT + IMAGE, {"text": "x", "photo": _image()})
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
    assert not b.accept("print(result)")
    assert b.end_reason == "print" and b.code().endswith("print(result)\n")
    parsed = parse(b.render())
    assert parsed.code == "result = summarizer(text=text)\nprint(result)"


# --- end to end on the tiny model -------------------------------------------------------------------


def _sampler(seed: int):
    gen = torch.Generator().manual_seed(seed)

    def sample(logits):
        probs = torch.softmax(logits.reshape(-1).float() / 2.0, dim=-1)
        return int(torch.multinomial(probs, 1, generator=gen))

    return sample


def _prompt_ids(tok, task: str, tools: dict, inputs: dict) -> list[int]:
    from nbagents.prompts import PromptTemplate, build_prompt

    prompt = build_prompt(task, tools, inputs, template=PromptTemplate.load(None, default="run"))
    text = tok.apply_chat_template(list(prompt.messages), add_generation_prompt=True, tokenize=False)
    return tok(text, add_special_tokens=False)["input_ids"]


def check_program(text: str, spec: ProgramSpec, facts: dict, inputs: dict) -> str:
    """Every property the constraint promises; returns the code."""
    parsed = parse(text)
    code = parsed.code
    tree = ast.parse(code)
    defined = set(spec.input_types) | set(spec.variables)
    read: set[str] = set()
    for stmt in tree.body:
        callees = {id(n.func) for n in ast.walk(stmt) if isinstance(n, ast.Call)}
        for node in ast.walk(stmt):
            if id(node) in callees:
                continue
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name in ("print", "append"):
                    continue
                assert name in spec.tools, code
                params = {p.name for p in spec.tools[name].inputs}
                required = {p.name for p in spec.tools[name].inputs if p.required}
                given = {k.arg for k in node.keywords}
                assert not node.args and given <= params and required <= given, code
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                assert node.id in defined, (node.id, code)
                read.add(node.id)
        for node in ast.walk(stmt):  # names are defined after the statement that assigns them
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
    if facts["program_end"] in ("eos", "fence", "print", "max_lines"):
        for name, ptype in spec.input_types.items():
            readable = any(compatible(p.type, ptype) for t in spec.tools.values() for p in t.inputs
                           if p.required)
            assert name in read or not readable, (name, code)
    return code


def run_stub_program(code: str, spec: ProgramSpec, inputs: dict) -> None:
    """The interpreter accepts and runs the program on the stub tools (no name or type errors)."""
    from nbagents.agent import _ending_with_result
    from nbagents.interpreter import Interpreter

    interp = Interpreter()
    interp.check(code, spec.tools)
    interp.run(_ending_with_result(code), dict(spec.tools), dict(inputs))


@pytest.mark.parametrize("rich", [False, True], ids=["simple", "rich"])
def test_constrained_output_is_always_a_valid_program(tiny_model, tok, rich):
    from nbagents.constrain.decode import generate_program

    ends = set()
    for i, (task, toolset, inputs) in enumerate(TASKS):
        spec = ProgramSpec.for_inputs(toolset, inputs, rich=rich, task=task)  # as the agent does
        ids = _prompt_ids(tok, task, spec.tools, inputs)
        for sampler in (None, _sampler(i)):
            pieces: list[str] = []
            with torch.inference_mode():
                out = generate_program(tiny_model, tok, ids, spec, max_new_tokens=140,
                                       emit=lambda p, got=pieces: got.append(p) and False, eos_ids={tok.eos_token_id},
                                       sampler=sampler, stop=("<|im_end|>",))
            facts = out.facts
            assert facts["constrained"] is True and facts["grammar"] and len(out.tokens) <= 140
            code = check_program(out.text, spec, facts, inputs)
            if not rich:
                run_stub_program(code, spec, inputs)
            if facts["program_end"] in ("fence", "print"):  # it chose to end: every expected tool is in
                called = {n.func.id for n in ast.walk(ast.parse(code))
                          if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
                assert set(spec.expected_tools) <= called, (task, code)
            if facts["program_end"] != "repeat" and facts["program_end"] != "length":
                assert "".join(pieces) == out.text
            ends.add(facts["program_end"])
    assert len(ends) >= 2  # the task set reaches more than one kind of ending


def test_chat_variables_may_be_read_but_need_not(tiny_model, tok):
    from nbagents.constrain.decode import generate_program

    spec = ProgramSpec.for_inputs(TEXT, {}, state={"earlier": "some text"})
    ids = _prompt_ids(tok, "Summarize what we had.", spec.tools, {})
    with torch.inference_mode():
        out = generate_program(tiny_model, tok, ids, spec, max_new_tokens=80, eos_ids={tok.eos_token_id},
                               sampler=_sampler(3))
    check_program(out.text, spec, out.facts, {})
    assert "earlier" in out.facts["grammars"][1]


def test_without_explanation_the_answer_starts_with_the_fence(tiny_model, tok):
    from nbagents.constrain.decode import generate_program

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, explanation=False)
    ids = _prompt_ids(tok, "Summarize the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate_program(tiny_model, tok, ids, spec, max_new_tokens=60, eos_ids={tok.eos_token_id})
    assert out.text.startswith("```py\nresult = ")
    assert parse(out.text).explanation == ""


def test_a_small_budget_still_gives_code_that_parses(tiny_model, tok):
    from nbagents.constrain.decode import generate_program

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    ids = _prompt_ids(tok, "Translate the text.", spec.tools, {"text": "x"})
    for budget in (12, 30, 45):
        with torch.inference_mode():
            out = generate_program(tiny_model, tok, ids, spec, max_new_tokens=budget, eos_ids={tok.eos_token_id})
        assert len(out.tokens) <= budget
        code = out.text.split("```py\n", 1)[1].rsplit("```", 1)[0]
        ast.parse(code)


# --- tool choice by likelihood -----------------------------------------------------------------------


def test_candidates_are_scored_exactly_in_one_pass(tiny_model, tok):
    from nbagents.constrain.choice import score_candidates

    ctx = tok("You solve tasks by writing a short Python program", add_special_tokens=False)["input_ids"]
    cands = [tok(s, add_special_tokens=False)["input_ids"] for s in (" translator(", " summarizer(", " a", " text_qa(")]
    with torch.inference_mode():
        out = tiny_model(input_ids=torch.tensor([ctx]), use_cache=True)
        cache, logits = cache_of(out), out.logits[:, -1]
        choice = score_candidates(tiny_model, cache, logits, cands)
        assert cache.get_seq_length() == len(ctx)  # the context's cache is left alone
        for c, score in zip(cands, choice.scores):
            full = tiny_model(input_ids=torch.tensor([ctx + c])).logits[0].log_softmax(-1)
            expected = sum(float(full[len(ctx) + k - 1, c[k]]) for k in range(len(c)))
            assert score == pytest.approx(expected, abs=1e-4)
        best = cands[choice.index]
        assert choice.index == max(range(len(cands)), key=choice.scores.__getitem__)
        after = tiny_model(input_ids=torch.tensor([ctx + best + [5]])).logits[0, -1]
        step = forward(tiny_model, choice.cache, input_ids=torch.tensor([[5]])).logits[0, -1]
        assert torch.allclose(after, step, atol=1e-4)  # the kept cache is the winner's


def test_tool_choice_is_recorded_and_forced(tiny_model, tok):
    from nbagents.constrain.decode import generate_program

    spec = ProgramSpec.for_inputs(MIXED, {"text": "x"})
    ids = _prompt_ids(tok, "Translate the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate_program(tiny_model, tok, ids, spec, max_new_tokens=80, eos_ids={tok.eos_token_id})
    first = out.facts["tool_choices"][0]
    assert first["line"] == 0 and first["chosen"] in spec.tools
    assert first["chosen"] == max(first["scores"], key=first["scores"].get)
    assert f"result = {first['chosen']}(" in out.text
    free = ProgramSpec.for_inputs(MIXED, {"text": "x"}, choose_tools=False)
    with torch.inference_mode():
        out2 = generate_program(tiny_model, tok, ids, free, max_new_tokens=40, eos_ids={tok.eos_token_id})
    assert out2.facts["tool_choices"] == []


# --- remote helpers ------------------------------------------------------------------------------------


def test_json_schema_and_rendering():
    spec = ProgramSpec.for_inputs(TEXT + IMAGE, {"text": "x", "photo": _image()})
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
    spec = ProgramSpec.for_inputs(TEXT + IMAGE, {"text": "x", "photo": _image()})
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


def test_json_schema_drives_llguidance_to_renderable_programs(tiny_model, tok, bridge):
    """The schema is valid for a JSON-schema engine: generate under it and render the answer."""
    import llguidance

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    grammar = llguidance.LLMatcher.grammar_from_json_schema(program_schema(spec))
    c = Constraint(bridge, grammar)
    ids = _prompt_ids(tok, "Summarize the text.", spec.tools, {"text": "x"})
    gen = torch.Generator().manual_seed(1)
    with torch.inference_mode():
        out = tiny_model(input_ids=torch.tensor([ids]), use_cache=True)
        cache = cache_of(out)
        logits = out.logits[:, -1]
        for _ in range(400):
            if c.is_done():
                break
            mask = torch.from_numpy(c.allowed_mask().copy())
            scores = logits.reshape(-1)[: mask.shape[0]].masked_fill(~mask, float("-inf"))
            if c.is_accepting() and not mask.any():
                break
            tok_id = int(torch.multinomial(torch.softmax(scores / 3.0, -1), 1, generator=gen))
            c.consume(tok_id)
            out = forward(tiny_model, cache, input_ids=torch.tensor([[tok_id]]))
            cache, logits = cache_of(out), out.logits[:, -1]
    if not c.is_done():
        pytest.skip("the random model did not finish its JSON in 400 tokens")
    answer = c.text()
    try:
        text = render_calls(answer, spec)
    except ParseError as e:  # only the rule JSON schema cannot say: result before the first call
        assert "not defined" in str(e)
        return
    ast.parse(parse(text).code)


# --- through the engine --------------------------------------------------------------------------------


def test_transformers_engine_takes_a_program_spec(tiny_model, tok):
    from nbagents.engines.local import TransformersEngine
    from nbagents.prompts import PromptTemplate, build_prompt

    engine = TransformersEngine(tiny_model, tok, num_threads=1)
    assert engine.supports_grammar
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    prompt = build_prompt("Summarize the text.", spec.tools, {"text": "x"},
                          template=PromptTemplate.load(None, default="run"), engine=engine)
    shown: list[str] = []
    completion = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=90,
                                 on_token=shown.append, constrained=spec)
    facts = completion.facts
    assert facts["constrained"] is True and facts["grammar"].startswith("start:")
    assert facts["completion_tokens"] == completion.completion_tokens <= 90
    check_program(completion.text, spec, facts, {"text": "x"})
    if facts["program_end"] not in ("repeat", "length"):
        assert "".join(shown) == completion.text
    again = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=90, constrained=spec)
    assert again.text == completion.text and again.facts["cached_prefix_tokens"] > 0  # prefix cache reused
    free = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=20)
    assert "constrained" not in free.facts


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


def test_a_given_prefix_cache_gives_the_same_program(tiny_model, tok):
    from nbagents.constrain.decode import generate_program

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    ids = _prompt_ids(tok, "Summarize the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        plain = generate_program(tiny_model, tok, ids, spec, max_new_tokens=50, eos_ids={tok.eos_token_id})
        prefix = cache_of(tiny_model(input_ids=torch.tensor([ids[:-5]]), use_cache=True))
        reused = generate_program(tiny_model, tok, ids, spec, max_new_tokens=50, eos_ids={tok.eos_token_id},
                                  past_key_values=prefix)
    assert reused.cached_prefix_tokens == len(ids) - 5
    assert reused.text == plain.text and reused.tokens == plain.tokens


def test_mask_pads_a_larger_model_vocabulary():
    import numpy as np

    from nbagents.constrain.matcher import apply_mask

    logits = torch.zeros(1, 6)
    apply_mask(logits, np.array([True, False, True, False]))
    assert logits[0].tolist() == [0.0, float("-inf"), 0.0, float("-inf"), float("-inf"), float("-inf")]


# --- the agent passes the spec to local engines ---------------------------------------------------


def test_agent_constrains_local_engines_and_can_be_freed(tmp_path):
    from tiny_models import save_tiny_chat_model

    from nbagents import Agent
    from nbagents.engines.local import TransformersEngine

    path = save_tiny_chat_model(tmp_path / "chat")
    engine = TransformersEngine(str(path), num_threads=1, max_new_tokens=48)
    agent = Agent(engine, tools=[word_count, summarizer], add_default_tools=False, max_new_tokens=48,
                  repair=False)
    for task in ("Count the words in `text`.", "Summarize the text, then count its words."):
        run = agent.perform(task, {"text": "one two three"})
        assert run.facts["constrained"] is True and run.facts["grammar"]
        assert run.error is None or run.error.stage == "tool", run.error  # the program always runs
        tree = ast.parse(run.code)
        calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        assert calls and set(calls) <= {"word_count", "summarizer", "print"}
        assert "text" in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}  # the input is used
    free = agent.perform("Count the words in `text`.", {"text": "one two"}, constrained=False)
    assert free.facts["constrained"] is False and "grammar" not in free.facts


# --- choices, the task's prior and expected tools -------------------------------------------------


@tool
def flip(image: PILImage, direction: Literal["horizontal", "vertical"] = "horizontal") -> PILImage:
    """Mirror `image` left to right, or upside down (vertical)."""
    return image


@tool
def speed(audio: list, factor: Literal[0.5, 1, 2]) -> list:
    """Play `audio` slower or faster by `factor`."""
    return audio


def test_a_parameter_with_choices_takes_only_those_literals(bridge, tok):
    g = line_grammar(tools_of([flip, speed]), state({"photo": "image", "clip": "list", "way": "str"}))
    for line in ('result = flip(image=photo, direction="vertical")\n', "result = flip(image=photo)\n",
                 "result = flip(image=photo, direction=way)\n",  # a str variable may hold one
                 "result = speed(audio=clip, factor=0.5)\n", "result = speed(audio=clip, factor=2)\n"):
        assert accepts(bridge, tok, g, line), line
    for line in ('result = flip(image=photo, direction="up")\n', "result = speed(audio=clip, factor=3)\n",
                 'result = speed(audio=clip, factor="2")\n'):
        assert not accepts(bridge, tok, g, line), line


def test_the_task_prior_decides_tool_choice_and_is_recorded(tiny_model, tok):
    from nbagents.constrain.decode import generate_program

    plain = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    ids = _prompt_ids(tok, "Do something with the text.", plain.tools, {"text": "x"})
    with torch.inference_mode():
        first = generate_program(tiny_model, tok, ids, plain, max_new_tokens=60, eos_ids={tok.eos_token_id})
    scores = first.facts["tool_choices"][0]["scores"]
    loser = min(scores, key=scores.get)  # the least likely of the top candidates
    biased = ProgramSpec.for_inputs(TEXT, {"text": "x"}, tool_prior={loser: 1000.0})
    with torch.inference_mode():
        out = generate_program(tiny_model, tok, ids, biased, max_new_tokens=60, eos_ids={tok.eos_token_id})
    choice = out.facts["tool_choices"][0]
    assert choice["chosen"] == loser and choice["prior"][loser] == 1000.0
    assert out.text.split("```py\n")[1].startswith(f"result = {loser}(")
    # With the task, the spec's prior comes from the task's words.
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, task="Translate the text into French.")
    assert max(spec.tool_prior, key=spec.tool_prior.get) == "translator"


def test_expected_tools_are_all_called_in_the_tasks_order(tiny_model, tok):
    from nbagents.constrain.decode import generate_program
    from nbagents.relevance import NEXT_TOOL_NATS

    task = "Summarize the text, then translate the summary into French."
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, task=task)
    assert spec.expected_tools == ("summarizer", "translator")
    assert spec.describe()["expected_tools"] == ["summarizer", "translator"]
    ids = _prompt_ids(tok, task, spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate_program(tiny_model, tok, ids, spec, max_new_tokens=120, eos_ids={tok.eos_token_id})
    code = check_program(out.text, spec, out.facts, {"text": "x"})
    called = [n.func.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)]
    assert {"summarizer", "translator"} <= set(called)  # the program could not end before both
    first = out.facts["tool_choices"][0]
    assert first["prior"]["summarizer"] >= NEXT_TOOL_NATS  # the first named tool comes first


def test_transformers_engine_follows_a_grammar_or_a_json_schema(tiny_model, tok):
    from nbagents.engines.local import TransformersEngine
    from nbagents.errors import ConfigurationError

    engine = TransformersEngine(tiny_model, tok, num_threads=1)
    messages = [{"role": "user", "content": "Pick a color and a size."}]
    lark = 'start: "color=" COLOR ", size=" SIZE\nCOLOR: "red" | "green" | "blue"\nSIZE: /[1-9][0-9]?/\n'
    shown: list[str] = []
    done = engine.generate(messages, max_new_tokens=40, grammar=lark, on_token=shown.append)
    assert re.fullmatch(r"color=(red|green|blue), size=[1-9][0-9]?", done.text), done.text
    assert done.facts["constrained"] is True and done.facts["grammar_kind"] == "lark"
    assert "".join(shown) == done.text
    schema = {"type": "object", "properties": {"label": {"enum": ["positive", "negative"]},
                                               "score": {"type": "integer"}},
              "required": ["label", "score"], "additionalProperties": False}
    answer = engine.generate(messages, max_new_tokens=60, json_schema=schema)
    assert answer.facts["grammar_kind"] == "json_schema" and answer.facts["grammar_end"] == "done"
    value = json.loads(answer.text)  # compact JSON: no whitespace to pad it out
    assert value["label"] in ("positive", "negative") and isinstance(value["score"], int)
    assert answer.text == json.dumps(value, separators=(",", ":"))
    with pytest.raises(ConfigurationError):
        engine.generate(messages, grammar=lark, json_schema=schema)
    with pytest.raises(ConfigurationError):
        engine.generate(messages, grammar=lark, constrained=ProgramSpec.for_inputs(TEXT, {"text": "x"}))
