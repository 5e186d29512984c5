"""The tutorials (notebooks 02-09) executed in a real kernel, then their saved outputs checked.

Each notebook runs in its own kernel (nbclient, widget state stored), started with the
environment ``binder/start`` sets up on mybinder.org (thread counts), on top of the test
settings (offline, history and outputs in the test's temp dir). The checks read the saved
notebook: no error output, no traceback, and the outputs each tutorial exists to show, by MIME
type (``image/png``, ``text/html`` with ``<audio``, widget views, the ``nbagents`` metadata of a
run) and by value where the tutorial states one.

What runs for real: the tiny local models the notebooks build (transformers, bitsandbytes on
the CPU), the embedded default model (two tasks in 02, constrained and free, one in 04, the
table questions and charts in 09), the loopback HTTP servers (03), the restricted interpreter
and its child process (06). Everything else answers from the scripted replies in
``notebooks/replies``. Where the embedded model answers,
the checks name the tool call the notebook's text promises, so a change in the model's choice
shows up here.
"""

from __future__ import annotations

import ast
import base64
import html
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TUTORIALS = ["02-local-models.ipynb", "03-remote-engines.ipynb", "04-writing-tools.ipynb",
             "05-chat.ipynb", "06-safety.ipynb", "07-steps-and-plans.ipynb", "08-mcp-tools.ipynb",
             "09-tables.ipynb"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_TIMEOUT_S = 240  # the embedded model's first load and answer, on a busy 2-core machine


# --- running ------------------------------------------------------------------------------------


def binder_environment() -> dict[str, str]:
    """This process's environment as ``binder/start`` passes it on (what Binder's kernels get)."""
    show = "import json, os; print(json.dumps(dict(os.environ)))"
    done = subprocess.run(["bash", str(ROOT / "binder" / "start"), sys.executable, "-c", show],
                          capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def execute(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=binder_environment())
    return nb


# --- reading the saved notebook -----------------------------------------------------------------


def cells(nb, start: str) -> list:
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    assert found, f"no code cell starts with {start!r}"
    return found


def cell(nb, start: str, index: int = 0):
    return cells(nb, start)[index]


def outs(c, output_type: str) -> list:
    return [o for o in c.outputs if o.output_type == output_type]


def result(c) -> dict:
    """The data of the cell's result (its execute_result)."""
    [out] = outs(c, "execute_result")
    return out["data"]


def value(c):
    """The cell's result, read back from its text (for plain data)."""
    return ast.literal_eval(result(c)["text/plain"])


def stdout(c) -> str:
    return "".join(o["text"] for o in outs(c, "stream") if o["name"] == "stdout")


def run_of(c) -> dict:
    """The ``nbagents`` metadata of the run an agent cell shows (summary or error)."""
    found = [o["metadata"]["nbagents"] for o in outs(c, "display_data") if "nbagents" in o.get("metadata", {})]
    assert found, f"no run metadata in {c.source!r}"
    return found[-1]


def agent_error(c) -> str:
    """The text of the compact error an agent cell shows (and that there is one)."""
    texts = [o["data"]["text/plain"] for o in outs(c, "display_data")
             if o["data"].get("text/plain", "").startswith("Agent error")]
    assert texts, f"no agent error in {c.source!r}"
    return texts[-1]


def png(c):
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(result(c)["image/png"]))).convert("RGB")


def html_table(text: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """The header cells and the body rows of the first ``<table>`` in ``html``."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__()
            self.head, self.rows, self.cell, self.part, self.done = [], [], None, "", False

        def handle_starttag(self, tag, attrs):
            if self.done:
                return
            if tag in ("thead", "tbody"):
                self.part = tag
            elif tag == "tr" and self.part == "tbody":
                self.rows.append([])
            elif tag in ("th", "td"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "table":
                self.done = True
            elif tag in ("th", "td") and self.cell is not None and not self.done:
                (self.head if self.part == "thead" else self.rows[-1]).append(self.cell.strip())
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    reader = Reader()
    reader.feed(text)
    return reader.head, [tuple(r) for r in reader.rows]


def frame_rows(frame) -> list[tuple[str, ...]]:
    """A DataFrame's rows as the text an HTML table shows (numbers as pandas prints them)."""
    head, rows = html_table(frame.to_html(index=False))
    return rows


def widget_state(nb) -> dict:
    return nb.metadata["widgets"][WIDGET_STATE]["state"]


def inspectors(nb) -> list[dict]:
    return [m for m in widget_state(nb).values()
            if m["model_name"] == "VBoxModel" and "nbagents-inspector" in m["state"].get("_dom_classes", [])]


def widget_texts(nb) -> list[str]:
    return [m["state"].get("value", "") for m in widget_state(nb).values()
            if m["model_name"] in ("HTMLModel", "TextareaModel")]


def all_output_text(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", "") + json.dumps(o.get("data", {})) + o.get("evalue", ""))
    return "\n".join(parts)


def check_clean(nb) -> None:
    """No error output, no traceback, and every streamed answer settled into its summary."""
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        assert not outs(c, "error"), (c.source, [o.get("evalue") for o in outs(c, "error")])
        for o in c.outputs:
            text = json.dumps(o.get("data", {})) + o.get("text", "")
            assert "Traceback" not in text and "writing…" not in text, c.source


# --- the committed files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", TUTORIALS)
def test_committed_tutorial_is_clean(name):
    """Committed without outputs; every reply file and helper it names exists."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, c.source
        for reply_file in re.findall(r"fake:(replies/[\w.-]+)", c.source):
            assert (NOTEBOOKS / reply_file).is_file(), reply_file
        for link in re.findall(r"\]\(([\w./-]+\.(?:py|txt|ipynb|csv))\)", c.source):
            assert (NOTEBOOKS / link).is_file(), link


# --- each tutorial, executed --------------------------------------------------------------------


def test_02_local_models():
    nb = execute("02-local-models.ipynb")
    check_clean(nb)
    assert "model.safetensors" in value(cell(nb, "import tempfile"))

    first = cell(nb, "%%agent\nWhat is 6 times 7?")
    assert result(first)["text/plain"] == "42"
    run = run_of(first)
    assert run["engine"].startswith("local:") and run["model_id"].endswith("tiny-llama")
    assert run["code"] == "result = 6 * 7" and run["prompt_tokens"] > 1000
    facts = value(cell(nb, "facts = agent.last_run.facts"))
    assert facts["device"] == "cpu" and facts["dtype"] == "float32" and facts["cached_prefix_tokens"] == 0
    prompt_tokens, cached = value(cell(nb, "agent.last_run.prompt_tokens, agent.last_run.facts"))
    assert 0 < cached < prompt_tokens  # the second task reused the KV cache of the shared prefix

    assert result(cell(nb, "from nbagents import LocalAgent"))["text/plain"] == "42"
    assert result(cell(nb, "from transformers import"))["text/plain"] == "42"
    assert value(cell(nb, "type(agent.engine.model")) == "Linear4bit"
    memory = {k: float(v.split()[0]) for k, v in value(cell(nb, "memory = {}")).items()}
    assert memory["8bit, float16"] < memory["not quantized, float32"] / 3
    assert memory["4bit, float32"] < memory["8bit, float16"]
    assert value(cell(nb, "agent.last_run.facts[\"device\"]")) == ("cpu", {"cpu"})

    tokens, dropped = value(cell(nb, "agent.last_run.prompt_tokens, agent.last_run.dropped", 0))
    assert tokens + 256 <= 1024 and "an example" in dropped
    too_long = agent_error(cells(nb, "%%agent\nWhat is 6 times 7?")[-1])
    assert too_long.startswith("Agent error in the prompt stage (PromptTooLongError)")
    assert "256 new tokens were asked for, but the model takes at most 256 tokens" in too_long
    assert re.fullmatch(r"prompt \d+ \+ new 256 > window 256\n", stdout(cell(nb, "from nbagents import Agent, Prompt")))
    tokens, dropped = value(cell(nb, "agent.last_run.prompt_tokens, agent.last_run.dropped", 1))
    assert tokens + 64 <= 256 and any(d.startswith("tools ") for d in dropped)

    # The embedded model, constrained (the default for local models), then free.
    constrained = cell(nb, "%%agent\nMake `photo` grayscale.")
    run = run_of(constrained)
    assert run["engine"] == "default" and "SmolLM2-135M" in run["model_id"]
    assert "result = grayscale_image(image=photo)" in run["code"] and run["error"] is None
    image = png(constrained)
    assert image.size == (160, 90) and all(r == g == b for _, (r, g, b) in image.getcolors(1 << 16))
    free = run_of(cell(nb, "%%agent --free"))
    assert free["engine"] == "default" and free["completion_tokens"]
    inspector = result(cell(nb, "%agent inspect 2"))
    assert WIDGET_VIEW in inspector and "Make `photo` grayscale." in inspector["text/plain"]
    assert any("constrained" in text for text in widget_texts(nb))  # the inspector's engine facts


def test_03_remote_engines():
    nb = execute("03-remote-engines.ipynb")
    check_clean(nb)
    answers = cells(nb, "%%agent\nWhat is 6 times 7?")
    assert result(answers[0])["text/plain"] == "42"
    assert re.fullmatch(r"endpoint:http://127\.0\.0\.1:\d+", run_of(answers[0])["engine"])
    requests, fields, context = value(cell(nb, "from nbagents import get_agent"))
    assert requests == [("GET", "/info"), ("POST", "/v1/chat/completions")]
    assert {"messages", "max_tokens", "stream"} <= set(fields) and context == 2048
    assert png(cell(nb, "%%agent\nMake a banner.")).size == (320, 80)
    assert result(cell(nb, "from nbagents import HfAgent"))["text/plain"] == "42"

    assert result(answers[1])["text/plain"] == "42"
    assert run_of(answers[1])["engine"].startswith("openai:fake-model@http://127.0.0.1:")
    assert png(cell(nb, "from nbagents import OpenAiAgent")).size == (320, 80)

    # Plan mode on an OpenAI-compatible server: the plan's JSON schema, then the plan run.
    planned = cell(nb, "%%agent --plan --engine openai:")
    assert run_of(planned)["kind"] == "plan" and "planned over HTTP" in all_output_text(nb)
    constrained, kind, schema_name, steps = value(cell(nb, "run = get_agent().last_run"))
    assert (constrained, kind, schema_name) == (True, "json_schema", "plan")
    assert steps == ["make_image(width=320, height=80, color='navy')",
                     "draw_text(image='<GENERATED>-0', text='planned over HTTP', x=20, y=25)"]
    ok, constrained, declined, free_steps = value(cell(nb, "from nbagents import Agent\nfrom nbagents.engines.openai"))
    assert ok and constrained is False and declined == "lark, json_schema" and free_steps == steps

    unauthorized = agent_error(answers[2])
    assert unauthorized.startswith("Agent error in the engine stage (EngineAuthError)")
    assert "HTTP 401" in unauthorized and "api_key= argument" in unauthorized
    text = all_output_text(nb)
    assert "sk-not-the-right-key" not in text and "sk-loopback-key" not in text  # keys never shown

    assert result(answers[3])["text/plain"] == "42"  # after two 429s
    retries, waited = value(cell(nb, "agent.last_run.facts[\"retries\"]"))
    assert retries == 2 and waited >= 1.0
    rate_limited = agent_error(answers[4])
    assert "(RateLimitError)" in rate_limited and "asked to wait 600 s" in rate_limited
    too_long = agent_error(answers[5])
    assert "(PromptTooLongError)" in too_long and "1549 tokens and 200 new tokens" in too_long
    assert value(cell(nb, "error = agent.last_run.exception")) == (1549, 200, 1512)


def test_04_writing_tools():
    nb = execute("04-writing-tools.ipynb")
    check_clean(nb)
    assert value(cell(nb, "from nbagents import get_agent, tool")).startswith("count_vowels(text: str) -> int: Count")
    assert "count_vowels" in result(cell(nb, "%agent tools"))["text/html"]
    vowels = cell(nb, "%%agent --engine default\nHow many vowels")  # the embedded model, for real
    run = run_of(vowels)
    assert run["engine"] == "default" and run["inputs"] == {"sentence": "str"}
    assert "result = count_vowels(text=sentence)" in run["code"] and result(vowels)["text/plain"] == "10"

    signature, downloader_left = value(cell(nb, "from PIL import Image"))
    assert signature.startswith("make_image(width: int, height: int, color: str = 'white') -> Image: Make an image")
    assert downloader_left is False
    gradient = png(cell(nb, "%%agent\nMake an orange image"))
    assert gradient.size == (320, 80)
    ends = [gradient.getpixel((x, 40)) for x in (0, 319)]
    assert min(sum(p) for p in ends) < 60 and max(p[0] for p in ends) > 200  # black fading to orange

    assert result(cell(nb, "import tempfile"))["text/plain"].endswith("False)")  # not loaded yet
    label, loaded, model_class, _ = result(cell(nb, "label = sentiment(")).get("text/plain").strip("()").split(", ", 3)
    assert label in ("NEGATIVE", "POSITIVE") and loaded == "True"
    assert model_class == "'BertForSequenceClassification'"
    assert result(cell(nb, "%%agent\nIs `review`"))["text/plain"] in ("NEGATIVE", "POSITIVE")
    shared = cell(nb, "from nbagents import load_tool")
    assert "def count_vowels" in stdout(shared) and result(shared)["text/plain"] == "2"


def test_05_chat():
    nb = execute("05-chat.ipynb")
    check_clean(nb)
    sky = cell(nb, "%agent_chat Make a sky-blue image")
    assert png(sky).size == (320, 120) and run_of(sky)["kind"] == "chat"
    written = png(cell(nb, "%agent_chat Write hello on sky"))
    assert len(written.getcolors(maxcolors=1 << 16)) > 2  # sky blue, and the text on it
    assert value(cell(nb, "%agent_chat How big is sky?")) == [320, 120]
    beep = result(cell(nb, "%%agent_chat"))
    assert "<audio" in beep["text/html"] and "0.50 s" in beep["text/plain"]
    assert value(cell(nb, "%agent_chat Make beep twice as long")) == 1.0
    assert value(cell(nb, "from nbagents import get_agent")) == (["beep", "result", "sky"], 5)
    assert "Variables from earlier turns: beep, result, sky" in stdout(cell(nb, "print(agent.last_run.prompt"))

    reset = cell(nb, "%agent_chat --reset")
    assert outs(reset, "display_data")[0]["data"]["text/plain"] == "The chat was reset."
    after = cell(nb, "%agent_chat Make sky grayscale.")
    assert result(after)["text/plain"].startswith("There is no image called sky")
    assert "The name 'sky' is not defined." in value(cell(nb, "agent.last_run.steps[0]"))
    assert value(cell(nb, "from nbagents import Agent, ScriptedEngine")) == (["red", "green", "blue"], 3)
    assert value(cell(nb, "bot.prepare_for_new_chat()")) == ({}, [])


def test_06_safety():
    nb = execute("06-safety.ipynb")
    check_clean(nb)
    for start in ("ATTEMPTS = {", "isolated = Agent("):  # in the kernel, then in the child process
        page = result(cell(nb, start))["text/html"]
        assert page.count("RefusedConstructError") == 10 and "ran!" not in page
    injected = cell(nb, "%%agent\nSummarize the review")
    assert result(injected)["text/plain"] == "Great product."
    assert run_of(injected)["error"] is None
    first_try, second_try = value(cell(nb, "[step.code for step"))
    assert first_try.startswith("import os") and "os" not in second_try

    limits = result(cell(nb, "from nbagents import Agent"))["text/html"]
    assert limits.count("LimitExceededError") == 4
    for limit in ("max_operations", "max_int_bits", "max_sequence_length", "max_call_depth"):
        assert f"the {limit} limit" in limits
    size, tail = value(cell(nb, "run = strict.execute("))
    assert size < 100_200 and "output truncated" in tail

    isolated = cell(nb, "%%agent --isolation process")
    assert png(isolated).size == (160, 60)
    error_type, message, _ = value(cell(nb, "run = isolated.execute("))
    assert error_type == "LimitExceededError" and "the isolated child was killed" in message


def test_07_steps_and_plans():
    nb = execute("07-steps-and-plans.ipynb")
    check_clean(nb)
    react = cell(nb, "%%agent --steps 4 --inspect")
    assert png(react).size == (300, 80) and run_of(react)["kind"] == "react"
    assert any(WIDGET_VIEW in o["data"] for o in outs(react, "display_data"))
    observations = value(cell(nb, "from nbagents import get_agent"))
    assert [n for n, _ in observations] == [1, 2, 3]
    assert observations[0][1] == "1.5" and "unexpected keyword argument 'colour'" in observations[1][1]
    audio = result(cell(nb, "%%agent --steps 3"))
    assert "<audio" in audio["text/html"] and "0.25 s" in audio["text/plain"]
    assert "(StepLimitError)" in agent_error(cell(nb, "%%agent --steps 1"))

    plan = cell(nb, "%%agent --plan\n")
    shown = result(plan)["text/html"]
    assert run_of(plan)["kind"] == "plan"
    assert "Here is a navy banner" in shown and 'src="data:image/png' in shown and "<audio" in shown
    assert json.loads(stdout(cell(nb, "print(agent.last_run.code)")))[1]["task"] == "draw_text"
    review = cell(nb, "%%agent --plan --review")
    assert any(WIDGET_VIEW in o["data"] for o in outs(review, "display_data"))
    assert not outs(review, "execute_result")  # nothing ran
    edited = result(cell(nb, "plan = agent.last_run.code"))
    assert "image/png" in edited or "<img" in edited.get("text/html", "")
    assert WIDGET_VIEW in result(cell(nb, "%agent inspect"))
    assert value(cell(nb, "[(step.index, step.code"))[0][1] == "make_image(width=100, height=100, color='teal')"

    # The inspectors' saved state: the ReAct steps and the plan's tasks on their timelines.
    assert len(inspectors(nb)) == 3  # --inspect, --plan --review, %agent inspect
    texts = "\n".join(widget_texts(nb))
    assert "Step 2 · generate" in texts and "ToolExecutionError" in texts
    assert re.search(r"Task 1 · \d+\.\d\d–\d+\.\d\d s", texts)

    # The embedded model, for real, in code mode: one line per clause, in the task's order, with the
    # task's values; then a branch (a grayscale copy) and a join (side by side). Checked by outcome.
    from PIL import Image, ImageDraw, ImageOps

    photo = Image.new("RGB", (120, 80), "navy")
    ImageDraw.Draw(photo).rectangle([10, 10, 50, 70], fill="gold")
    chain = cell(nb, "%%agent --engine default\nRotate `photo`")
    assert run_of(chain)["error"] is None and run_of(chain)["engine"] == "default"
    code = stdout(cells(nb, "print(agent.last_run.code)")[1])
    assert "rotate_image(image=photo, degrees=180)" in code and "grayscale_image(" in code
    assert 'draw_text(image=result, text="hello")' in code and "print(" not in code
    import numpy as np

    got, gray = png(chain), ImageOps.grayscale(photo.rotate(180)).convert("RGB")
    assert got.size == (120, 80)
    pixels = np.asarray(got).astype(int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()  # grayscale
    changed = int((pixels != np.asarray(gray).astype(int)).any(axis=-1).sum())
    assert 0 < changed < 0.2 * 120 * 80  # the text was written, and nothing else changed
    joined = cell(nb, "%%agent --engine default\nPut `photo` next to")
    code = stdout(cells(nb, "print(agent.last_run.code)")[2])
    assert "image_1 = grayscale_image(image=photo)" in code and "side_by_side(" in code
    got = png(joined)
    assert got.size == (240, 80)
    halves = [got.crop((0, 0, 120, 80)), got.crop((120, 0, 240, 80))]
    assert {tuple(h.getpixel((30, 40))) for h in halves} == {photo.getpixel((30, 40)),
                                                               gray.rotate(180).getpixel((30, 40))}

    # The embedded model, for real: ReAct steps under the step grammar, then a plan under the plan
    # grammar; the task names make_tone and trim_audio, in that order.
    real = cell(nb, "%%agent --engine default --steps 3")
    assert run_of(real)["kind"] == "react" and run_of(real)["engine"] == "default"
    steps = value(cell(nb, "[(step.index + 1, step.code, step.observation[:80])"))
    assert steps[0][1].startswith("result = make_tone(") and "trim_audio(audio=result" in steps[1][1]
    assert all(code.startswith("result = ") for _, code, _ in steps)  # every step a program of tool calls
    real_plan = cell(nb, "%%agent --engine default --plan")
    assert run_of(real_plan)["kind"] == "plan" and run_of(real_plan)["error"] is None
    tasks = json.loads(stdout(cells(nb, "print(agent.last_run.code)")[-1]))
    assert [t["task"] for t in tasks] == ["make_tone", "trim_audio"]
    assert tasks[1]["dep"] == [0] and tasks[1]["args"]["audio"] == "<GENERATED>-0"


def test_08_mcp_tools():
    pytest.importorskip("mcp")
    pytest.importorskip("mcp_server_time")
    nb = execute("08-mcp-tools.ipynb")
    check_clean(nb)
    added = outs(cell(nb, "%agent tools add mcp"), "display_data")[0]["data"]["text/plain"]
    assert added == "2 tools from mcp:mcp_server_time are in the toolbox: get_current_time, convert_time."
    [tools] = [c for c in cells(nb, "%agent tools") if c.source == "%agent tools"]
    listing = result(tools)["text/plain"]
    assert "get_current_time" in listing and "convert_time" in listing
    sources = "\n".join(o["data"]["text/plain"] for o in outs(tools, "display_data"))
    assert re.search(r"get_current_time\s+mcp:mcp_server_time", sources) and re.search(r"make_image\s+default", sources)
    signature, source, annotations = value(cell(nb, "from nbagents import get_agent"))
    assert signature == "get_current_time(timezone: str) -> dict" and source == "mcp:mcp_server_time"
    assert annotations["read_only_hint"] is True and annotations["open_world_hint"] is False

    zone, stamp = value(cell(nb, "run = agent.execute('now = get_current_time"))
    assert zone == "Asia/Tokyo" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", stamp)
    asked = cell(nb, "%%agent\nWhat time is it in Tokyo?")
    assert run_of(asked)["error"] is None
    assert value(cell(nb, "agent.last_run.code, agent.last_run.result")) == (
        'result = get_current_time(timezone="Asia/Tokyo")', "Asia/Tokyo", "+09:00")
    zone, offset, difference = value(cell(nb, "run = agent.execute('result = convert_time"))
    assert (zone, offset, difference) in (("Europe/Paris", "+01:00", "-8.0h"), ("Europe/Paris", "+02:00", "-7.0h"))
    policies = result(cell(nb, "%agent approve"))["text/plain"]  # the first: the listing
    assert re.search(r"convert_time\s+allow\s+default", policies)

    # ask, refused with no frontend (and how to allow it); allow, and the call runs; deny.
    tries = cells(nb, "%%agent\nWhat time is it in Paris when it is noon in Tokyo?")
    refused = agent_error(tries[0])
    assert refused.startswith("Agent error in the tool stage (ApprovalError)")
    assert "The tool 'convert_time' needs approval (policy 'ask')" in refused
    assert "%agent approve convert_time allow" in refused and "the call did not run" in refused
    assert "needs approval" in value(cell(nb, "str(agent.last_run.error)"))
    allowed = value(tries[1])
    assert run_of(tries[1])["error"] is None
    assert allowed["source"]["datetime"].endswith("T12:00:00+09:00")
    assert allowed["target"]["timezone"] == "Europe/Paris" and allowed["target"]["datetime"][-6:] in ("+01:00", "+02:00")
    denied = agent_error(tries[2])
    assert "(ApprovalError)" in denied and "is denied by its approval policy" in denied
    assert value(cell(nb, 'agent.last_run.facts["approvals"]')) == [{
        "tool": "convert_time", "arguments": "source_timezone='Asia/Tokyo', time='12:00', target_timezone='Europe/Paris'",
        "policy": "deny", "decision": "denied", "by": "policy"}]
    count, asking = value(cell(nb, "from nbagents import mcp_tools"))  # nbagents mcp serve, over stdio
    assert count >= 20 and asking == {"save_audio": "ask", "text_downloader": "ask"}
    assert png(cell(nb, 'served["make_image"](')).size == (160, 60)
    stopped = outs(cell(nb, "%agent tools remove get_current_time"), "display_data")[0]["data"]["text/plain"]
    assert stopped.endswith("It was the last tool of mcp:mcp_server_time, which is stopped.")


def test_09_tables():
    import numpy as np
    import pandas as pd

    nb = execute("09-tables.ipynb")
    check_clean(nb)
    bakery = pd.read_csv(NOTEBOOKS / "data" / "bakery.csv")
    assert bakery.shape == (40, 5)
    columns = ["date", "shop", "product", "units", "revenue"]

    # The embedded model, for real: the tool calls the notebook's text promises, and their outcomes.
    rows = cell(nb, "%%agent\nCount the rows of `bakery`.")
    assert run_of(rows)["engine"] == "default" and run_of(rows)["code"] == "result = count_rows(table=bakery)"
    assert value(rows) == len(bakery)
    total = cell(nb, "%%agent -i bakery")
    assert run_of(total)["inputs"] == {"bakery": "table 40 rows × 5 columns (date, shop, product, units, revenue)"}
    assert 'column_value(table=bakery, column="revenue"' in run_of(total)["code"]
    assert value(total) == pytest.approx(bakery["revenue"].sum())

    croissants = cell(nb, "%%agent\nFilter the rows of `bakery` where product is Croissant.")
    assert run_of(croissants)["code"] == \
        'result = filter_rows(table=bakery, column="product", op="==", value="Croissant")'
    shown = result(croissants)["text/html"]
    head, body = html_table(shown)
    assert head == columns and body == frame_rows(bakery[bakery["product"] == "Croissant"])
    assert len(body) == 10 and "10 rows × 5 columns" in shown
    busy = cell(nb, "%%agent -o busy")
    head, body = html_table(result(busy)["text/html"])
    assert head == columns and body == frame_rows(bakery[bakery["units"] > 60])
    assert value(cell(nb, "frame = busy.to_raw()")) == (
        "DataFrame", (int((bakery["units"] > 60).sum()), 5), int(bakery.loc[bakery["units"] > 60, "units"].min()))

    # The bar chart: four bars, as high as each product's total revenue.
    bar = cell(nb, "%%agent\nMake a bar chart of revenue")
    assert run_of(bar)["code"] == 'result = bar_chart(table=bakery, x="product", y="revenue")'
    chart = png(bar)
    assert chart.size == (800, 500)
    pixels = np.asarray(chart).astype(int)
    blue = (pixels == (31, 119, 180)).all(axis=-1)  # matplotlib's first colour, the bars' fill
    xs = np.flatnonzero(blue.any(axis=0))
    runs = np.split(xs, np.flatnonzero(np.diff(xs) > 1) + 1)
    assert len(runs) == 4 and all(len(r) > 50 for r in runs)
    heights = np.array([blue[:, r[len(r) // 2]].sum() for r in runs], dtype=float)
    totals = bakery.groupby("product", sort=False)["revenue"].sum().to_numpy()
    assert np.allclose(heights / heights.max(), totals / totals.max(), atol=0.01), (heights, totals)

    # The inspector: the prompt's table line, and a grammar whose column is one of the numeric ones.
    histogram = cell(nb, "%%agent --inspect")
    assert run_of(histogram)["code"] in ('result = histogram(table=bakery, column="units")',
                                         'result = histogram(table=bakery, column="revenue")')
    assert png(histogram).size == (800, 500)
    assert any(WIDGET_VIEW in o["data"] for o in outs(histogram, "display_data"))
    assert len(inspectors(nb)) == 1
    line = ("Inputs: bakery (Table: 40 rows × 5 columns: date (text), shop (text), product (text), "
            "units (number), revenue (number))")
    [prompt_line] = value(cell(nb, "from nbagents import get_agent"))
    assert prompt_line.startswith(line)
    grammar = stdout(cell(nb, 'print(agent.last_run.facts["grammar"])'))
    offered = set(re.findall(r'"\\"(\w+)\\""', "\n".join(g for g in grammar.splitlines() if g.startswith("col_"))))
    assert offered == {"units", "revenue"}, grammar
    texts = [html.unescape(t) for t in widget_texts(nb)]
    assert any(line in t for t in texts)  # the prompt, in the inspector
    assert any(grammar.strip() in t for t in texts)  # the grammar, in the inspector

    # A mean and a group on the embedded model.
    mean = cell(nb, "%%agent\nWhat is the mean value of units")
    assert run_of(mean)["code"] == 'result = column_value(table=bakery, column="units", how="mean")'
    assert value(mean) == pytest.approx(bakery["units"].mean())
    group = result(cell(nb, "%%agent\nWhat is the total revenue for each product"))["text/html"]
    head, body = html_table(group)
    assert head == ["product", "revenue"]
    assert body == frame_rows(bakery.groupby("product", as_index=False)["revenue"].sum())

    # Where the model falls short: "number" read as a count, as the text says; then fixed by hand.
    short = cell(nb, "%%agent\nWhat is the average number of units per row")
    assert run_of(short)["code"] == 'result = column_value(table=bakery, column="units", how="count")'
    assert value(short) == len(bakery) == 40
    assert value(cell(nb, "fixed = agent.execute(")) == pytest.approx(bakery["units"].mean())

    # Scripted replies: a mean, a group, a filter then a pie chart, pandas code refused.
    scripted = cell(nb, "%%agent\nWhat is the average number", 1)  # the same task, scripted
    assert run_of(scripted)["engine"] == "fake:replies/09-tables.txt"
    assert value(scripted) == pytest.approx(bakery["units"].mean())
    per_product = result(cell(nb, "%%agent\nTotal revenue per product"))["text/html"]
    head, body = html_table(per_product)
    assert head == ["product", "revenue"]
    assert body == frame_rows(bakery.groupby("product", as_index=False)["revenue"].sum())
    pie = png(cell(nb, "%%agent\nA pie chart"))
    assert pie.size == (800, 500)
    pixels = np.asarray(pie).astype(int)
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]  # the slices, in order
    counts = np.array([(pixels == c).all(axis=-1).sum() for c in colours], dtype=float)
    station = bakery[bakery["shop"] == "Station"].groupby("product", sort=False)["revenue"].sum()
    assert np.allclose(counts / counts.sum(), station / station.sum(), atol=0.015), (counts, station)
    refused = cell(nb, "%%agent\nKeep the rows of `bakery` with more than 60 units.")
    assert run_of(refused)["error"] is None
    head, body = html_table(result(refused)["text/html"])
    assert body == frame_rows(bakery[bakery["units"] > 60])
    first, message, final = value(cell(nb, "first_try = agent.last_run.steps[0]"))
    assert first == 'result = bakery[bakery["units"] > 60]' and final.startswith("result = filter_rows(")
    assert "Subscripting (t[...]) a table (40 rows × 5 columns) is not allowed" in message
