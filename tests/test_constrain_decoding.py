"""Constrained decoding on a local model (nbagents.engines.local): tool programs, one grammar,
JSON schemas, tool choice by likelihood.

The end-to-end tests drive a tiny random Llama (greedy and random sampling over whatever the
grammar allows) across a task set of varied toolsets, inputs and phrasings, and check that every
program parses, calls only existing tools with valid parameter names, reads only defined names,
reads every input, and runs in the interpreter on stub tools.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

pytest.importorskip("llguidance")
torch = pytest.importorskip("torch")

from program_tools import MIXED, TASKS, TEXT, summarizer, word_count  # noqa: E402
from tiny_models import make_tokenizer  # noqa: E402

from nbagents.engines.local.cache import cache_of, forward  # noqa: E402
from nbagents.engines.local.generation import generate  # noqa: E402
from nbagents.engines.local.matcher import GrammarError, Matcher, tokenizer_bridge  # noqa: E402
from nbagents.errors import ParseError  # noqa: E402
from nbagents.grammar import Constraint, Grammar, JsonSchema, ProgramSpec  # noqa: E402
from nbagents.grammar.remote import program_schema, render_calls  # noqa: E402
from nbagents.grammar.types import compatible  # noqa: E402
from nbagents.parsing import parse  # noqa: E402

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


def test_a_bad_grammar_is_a_typed_error(bridge):
    with pytest.raises(GrammarError):
        Matcher(bridge, "start: undefined_rule\n")


# --- end to end on the tiny model -----------------------------------------------------------------


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
    from nbagents.interpreter import Interpreter
    from nbagents.parsing import ending_with_result

    interp = Interpreter()
    interp.check(code, spec.tools)
    interp.run(ending_with_result(code), dict(spec.tools), dict(inputs))


@pytest.mark.parametrize("rich", [False, True], ids=["simple", "rich"])
def test_constrained_output_is_always_a_valid_program(tiny_model, tok, rich):

    ends = set()
    for i, (task, toolset, inputs) in enumerate(TASKS):
        spec = ProgramSpec.for_inputs(toolset, inputs, rich=rich, task=task)  # as the agent does
        ids = _prompt_ids(tok, task, spec.tools, inputs)
        for sampler in (None, _sampler(i)):
            pieces: list[str] = []
            with torch.inference_mode():
                out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=140,
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

    spec = ProgramSpec.for_inputs(TEXT, {}, state={"earlier": "some text"})
    ids = _prompt_ids(tok, "Summarize what we had.", spec.tools, {})
    with torch.inference_mode():
        out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=80, eos_ids={tok.eos_token_id},
                               sampler=_sampler(3))
    check_program(out.text, spec, out.facts, {})
    assert "earlier" in out.facts["grammars"][1]


def test_without_explanation_the_answer_starts_with_the_fence(tiny_model, tok):

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, explanation=False)
    ids = _prompt_ids(tok, "Summarize the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=60, eos_ids={tok.eos_token_id})
    assert out.text.startswith("```py\nresult = ")
    assert parse(out.text).explanation == ""


def test_a_small_budget_still_gives_code_that_parses(tiny_model, tok):

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    ids = _prompt_ids(tok, "Translate the text.", spec.tools, {"text": "x"})
    for budget in (12, 30, 45):
        with torch.inference_mode():
            out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=budget, eos_ids={tok.eos_token_id})
        assert len(out.tokens) <= budget
        code = out.text.split("```py\n", 1)[1].rsplit("```", 1)[0]
        ast.parse(code)


# --- tool choice by likelihood --------------------------------------------------------------------


def test_candidates_are_scored_exactly_in_one_pass(tiny_model, tok):
    from nbagents.engines.local.choice import score_candidates

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

    spec = ProgramSpec.for_inputs(MIXED, {"text": "x"})
    ids = _prompt_ids(tok, "Translate the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=80, eos_ids={tok.eos_token_id})
    first = out.facts["tool_choices"][0]
    assert first["line"] == 0 and first["chosen"] in spec.tools
    assert first["chosen"] == max(first["scores"], key=first["scores"].get)
    assert f"result = {first['chosen']}(" in out.text
    free = ProgramSpec.for_inputs(MIXED, {"text": "x"}, choose_tools=False)
    with torch.inference_mode():
        out2 = generate(tiny_model, tok, ids, constraint=free, max_new_tokens=40, eos_ids={tok.eos_token_id})
    assert out2.facts["tool_choices"] == []


def test_the_task_prior_decides_tool_choice_and_is_recorded(tiny_model, tok):

    plain = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    ids = _prompt_ids(tok, "Do something with the text.", plain.tools, {"text": "x"})
    with torch.inference_mode():
        first = generate(tiny_model, tok, ids, constraint=plain, max_new_tokens=60, eos_ids={tok.eos_token_id})
    scores = first.facts["tool_choices"][0]["scores"]
    loser = min(scores, key=scores.get)  # the least likely of the top candidates
    biased = ProgramSpec.for_inputs(TEXT, {"text": "x"}, tool_prior={loser: 1000.0})
    with torch.inference_mode():
        out = generate(tiny_model, tok, ids, constraint=biased, max_new_tokens=60, eos_ids={tok.eos_token_id})
    choice = out.facts["tool_choices"][0]
    assert choice["chosen"] == loser and choice["prior"][loser] == 1000.0
    assert out.text.split("```py\n")[1].startswith(f"result = {loser}(")
    # With the task, the spec's prior comes from the task's words.
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, task="Translate the text into French.")
    assert max(spec.tool_prior, key=spec.tool_prior.get) == "translator"


def test_expected_tools_are_all_called_in_the_tasks_order(tiny_model, tok):
    from nbagents.relevance import NEXT_TOOL_NATS

    task = "Summarize the text, then translate the summary into French."
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"}, task=task)
    assert spec.expected_tools == ("summarizer", "translator")
    assert spec.describe()["expected_tools"] == ["summarizer", "translator"]
    ids = _prompt_ids(tok, task, spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=120, eos_ids={tok.eos_token_id})
    code = check_program(out.text, spec, out.facts, {"text": "x"})
    called = [n.func.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)]
    assert called == ["summarizer", "translator"]  # one line per step, in the task's order
    assert spec.line_cap == 2 and out.facts["program_lines"] == 2
    # with lines to spare, the next expected tool gets the extra prior at the choice
    roomy = ProgramSpec.for_inputs(TEXT, {"text": "x"}, task=task, max_lines=4)
    with torch.inference_mode():
        out = generate(tiny_model, tok, ids, constraint=roomy, max_new_tokens=120, eos_ids={tok.eos_token_id})
    first = out.facts["tool_choices"][0]
    assert first["prior"]["summarizer"] >= NEXT_TOOL_NATS  # the first named tool comes first


def test_a_grammar_choice_point_scores_the_candidates_whole(tiny_model, tok):
    """At a Grammar's choice point the candidates are scored whole and the best (with the prior)
    is forced; a lone candidate (the only one listed, where the grammar allows more) is forced
    unscored."""
    lark = 'start: "pick: " NAME "; size: " SIZE\nNAME: "alpha" | "beta" | "gamma"\nSIZE: "small" | /[0-9]+/\n'
    names = ["alpha", "beta", "gamma"]
    ids = tok("Pick one.", add_special_tokens=False)["input_ids"]

    def decode(grammar: Grammar):
        with torch.inference_mode():
            return generate(tiny_model, tok, ids, constraint=grammar, max_new_tokens=30,
                            eos_ids={tok.eos_token_id})

    plain = decode(Grammar(lark, choices={"pick: ": names, "size: ": ["small"]}))
    first, single = plain.facts["choices"]
    assert first["at"] == "pick: " and set(first["scores"]) == set(names)
    assert first["chosen"] == max(first["scores"], key=first["scores"].get)
    assert single == {"at": "size: ", "chosen": "small", "scores": {}}
    assert plain.text == f"pick: {first['chosen']}; size: small" and plain.facts["grammar_end"] == "done"
    loser = min(first["scores"], key=first["scores"].get)
    biased = decode(Grammar(lark, choices={"pick: ": names}, prior={loser: 1000.0}))
    choice = biased.facts["choices"][0]
    assert choice["chosen"] == loser and choice["prior"][loser] == 1000.0
    assert biased.text.startswith(f"pick: {loser}; size: ")


# --- a JSON schema, a prefix cache, a padded vocabulary -------------------------------------------


def test_json_schema_drives_llguidance_to_renderable_programs(tiny_model, tok, bridge):
    """The schema is valid for a JSON-schema engine: generate under it and render the answer."""
    import llguidance

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    grammar = llguidance.LLMatcher.grammar_from_json_schema(program_schema(spec))
    c = Matcher(bridge, grammar)
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


def test_a_given_prefix_cache_gives_the_same_program(tiny_model, tok):

    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    ids = _prompt_ids(tok, "Summarize the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        plain = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=50, eos_ids={tok.eos_token_id})
        prefix = cache_of(tiny_model(input_ids=torch.tensor([ids[:-5]]), use_cache=True))
        reused = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=50, eos_ids={tok.eos_token_id},
                                  past_key_values=prefix)
    assert reused.cached_prefix_tokens == len(ids) - 5
    assert reused.text == plain.text and reused.tokens == plain.tokens


def test_mask_pads_a_larger_model_vocabulary():
    import numpy as np

    from nbagents.engines.local.decoding import apply_mask

    logits = torch.zeros(1, 6)
    apply_mask(logits, np.array([True, False, True, False]))
    assert logits[0].tolist() == [0.0, float("-inf"), 0.0, float("-inf"), float("-inf"), float("-inf")]


# --- through the engine ---------------------------------------------------------------------------


def test_transformers_engine_takes_a_program_spec(tiny_model, tok):
    from nbagents.engines.local import TransformersEngine
    from nbagents.prompts import PromptTemplate, build_prompt

    engine = TransformersEngine(tiny_model, tok, num_threads=1)
    spec = ProgramSpec.for_inputs(TEXT, {"text": "x"})
    assert engine.accepts(spec)
    prompt = build_prompt("Summarize the text.", spec.tools, {"text": "x"},
                          template=PromptTemplate.load(None, default="run"), engine=engine)
    shown: list[str] = []
    completion = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=90,
                                 on_token=shown.append, constraint=spec)
    facts = completion.facts
    assert facts["constrained"] is True and facts["grammar"].startswith("start:")
    assert facts["completion_tokens"] == completion.completion_tokens <= 90
    check_program(completion.text, spec, facts, {"text": "x"})
    if facts["program_end"] not in ("repeat", "length"):
        assert "".join(shown) == completion.text
    again = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=90, constraint=spec)
    assert again.text == completion.text and again.facts["cached_prefix_tokens"] > 0  # prefix cache reused
    free = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=20)
    assert free.facts["constrained"] is False and "grammar" not in free.facts


def test_transformers_engine_follows_a_grammar_or_a_json_schema(tiny_model, tok):
    from nbagents.engines.local import TransformersEngine
    from nbagents.errors import ConfigurationError

    engine = TransformersEngine(tiny_model, tok, num_threads=1)
    messages = [{"role": "user", "content": "Pick a color and a size."}]
    lark = 'start: "color=" COLOR ", size=" SIZE\nCOLOR: "red" | "green" | "blue"\nSIZE: /[1-9][0-9]?/\n'
    shown: list[str] = []
    done = engine.generate(messages, max_new_tokens=40, constraint=Grammar(lark), on_token=shown.append)
    assert re.fullmatch(r"color=(red|green|blue), size=[1-9][0-9]?", done.text), done.text
    assert done.facts["constrained"] is True and done.facts["grammar_kind"] == "lark"
    assert "".join(shown) == done.text
    schema = {"type": "object", "properties": {"label": {"enum": ["positive", "negative"]},
                                               "score": {"type": "integer"}},
              "required": ["label", "score"], "additionalProperties": False}
    answer = engine.generate(messages, max_new_tokens=60, constraint=JsonSchema(schema))
    assert answer.facts["grammar_kind"] == "json_schema" and answer.facts["grammar_end"] == "done"
    value = json.loads(answer.text)  # compact JSON: no whitespace to pad it out
    assert value["label"] in ("positive", "negative") and isinstance(value["score"], int)
    assert answer.text == json.dumps(value, separators=(",", ":"))
    with pytest.raises(ConfigurationError):  # Lark text is not a constraint: Grammar(text) is
        engine.generate(messages, constraint=lark)

    class Unknown(Constraint):
        kind = "unknown"

    assert not engine.accepts(Unknown())
    with pytest.raises(ConfigurationError):
        engine.generate(messages, constraint=Unknown())


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


# --- grounded values and named intermediates on the tiny model ------------------------------------


def test_a_closed_set_of_values_is_scored_whole(tiny_model, tok):
    """At a parameter the task's values restrict, every allowed value (with the ``)`` or ``, ``
    after it) is scored in one pass and the best is forced; the Run's facts record it."""
    from program_tools import IMAGE, make_image

    task = "Rotate the photo by 45 or by 90 degrees."
    spec = ProgramSpec.for_inputs([t for t in IMAGE if t.name == "rotate_image"], {"photo": make_image()},
                                  task=task)
    assert spec.grounded() == {"rotate_image.degrees": ["45", "90"]}
    ids = _prompt_ids(tok, task, spec.tools, {"photo": "<photo>"})
    seen = set()
    for sampler in (None, _sampler(1), _sampler(2)):
        with torch.inference_mode():
            out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=80, eos_ids={tok.eos_token_id},
                           sampler=sampler)
        code = check_program(out.text, spec, out.facts, {"photo": None})
        for choice in out.facts["value_choices"]:
            assert choice["param"] == "degrees" and {"45)", "90)"} <= set(choice["scores"])
            assert choice["chosen"] in ("45", "90") and f"degrees={choice['chosen']})" in code
            seen.add(choice["chosen"])
        assert "degrees=" not in code or out.facts["value_choices"], code
        assert out.facts["program_spec"]["grounded"] == {"rotate_image.degrees": ["45", "90"]}
    assert seen  # the model wrote the parameter at least once


def test_known_steps_with_a_join_are_written_with_named_intermediates(tiny_model, tok):
    from program_tools import IMAGE, make_image

    inputs = {"photo": make_image()}
    task = "Make a grayscale copy and a rotated copy of the photo, then put them side by side."
    spec = ProgramSpec.for_inputs(IMAGE, inputs, task=task,
                                  expected_tools=("grayscale_image", "rotate_image", "side_by_side"))
    ids = _prompt_ids(tok, task, spec.tools, {"photo": "<photo>"})
    for sampler in (None, _sampler(3), _sampler(4)):
        with torch.inference_mode():
            out = generate(tiny_model, tok, ids, constraint=spec, max_new_tokens=120, eos_ids={tok.eos_token_id},
                           sampler=sampler)
        code = check_program(out.text, spec, out.facts, {"photo": None})
        lines = code.splitlines()
        assert [line.split(" = ")[0] for line in lines] == ["image_1", "image_2", "result"], code
        assert [line.split(" = ")[1].split("(")[0] for line in lines] == list(spec.expected_tools)
        assert "image_1" in lines[2] or "image_1" in lines[1], code  # every intermediate is read
        assert "image_2" in lines[2], code
        run_stub_program(code, spec, inputs)


# --- a model with sliding-window layers (Gemma 3) -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_gemma(tok):
    """A 2-layer random Gemma 3: a sliding-window layer (window 4) and a full-attention one."""
    from tiny_models import make_tiny_gemma3

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield make_tiny_gemma3(tok, sliding_window=4)
    torch.set_num_threads(threads)


def test_candidates_are_scored_exactly_past_a_sliding_window(tiny_gemma, tok):
    """With a context longer than the window, the sliding layer's own mask keeps the scores the
    log-likelihoods of full forward passes (one mask for all layers misses by nats)."""
    from nbagents.engines.local.cache import start_cache
    from nbagents.engines.local.choice import can_score, score_candidates, tree_inputs

    ctx = tok("You solve tasks by writing a short Python program", add_special_tokens=False)["input_ids"]
    cands = [tok(s, add_special_tokens=False)["input_ids"] for s in (" translator(", " summarizer(", " a", " text_qa(")]
    assert len(ctx) > 2 * 4 and max(map(len, cands)) > 4
    with torch.inference_mode():
        out = forward(tiny_gemma, start_cache(tiny_gemma), input_ids=torch.tensor([ctx]))
        cache, logits = cache_of(out), out.logits[:, -1]
        assert can_score(cache)
        choice = score_candidates(tiny_gemma, cache, logits, cands)
        assert cache.get_seq_length() == len(ctx)
        for c, score in zip(cands, choice.scores):
            full = tiny_gemma(input_ids=torch.tensor([ctx + c])).logits[0].log_softmax(-1)
            expected = sum(float(full[len(ctx) + k - 1, c[k]]) for k in range(len(c)))
            assert score == pytest.approx(expected, abs=1e-3)
        best = cands[choice.index]
        after = tiny_gemma(input_ids=torch.tensor([ctx + best + [5]])).logits[0, -1]
        step = forward(tiny_gemma, choice.cache, input_ids=torch.tensor([[5]])).logits[0, -1]
        assert torch.allclose(after, step, atol=1e-4)
    # the windowed mask: the full one, less the keys 4 or more positions back
    _, _, masks, _ = tree_inputs(6, [[1, 2], [3]], torch.float32, window=4)
    seen = {name: (m[0, 0] == 0).int().tolist() for name, m in masks.items()}
    assert seen["full_attention"] == [[1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 0],
                                      [1, 1, 1, 1, 1, 1, 0, 0, 1]]
    assert seen["sliding_attention"] == [[0, 0, 0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 0],
                                         [0, 0, 0, 1, 1, 1, 0, 0, 1]]


def test_tool_choice_is_scored_on_a_sliding_window_model(tiny_gemma, tok):
    spec = ProgramSpec.for_inputs(MIXED, {"text": "x"})
    ids = _prompt_ids(tok, "Translate the text.", spec.tools, {"text": "x"})
    with torch.inference_mode():
        out = generate(tiny_gemma, tok, ids, constraint=spec, max_new_tokens=80, eos_ids={tok.eos_token_id})
    first = out.facts["tool_choices"][0]
    assert len(first["scores"]) > 1  # scored, not left to the masked greedy pick
    assert first["chosen"] == max(first["scores"], key=first["scores"].get)
    assert f"result = {first['chosen']}(" in out.text
