"""The magics, through a real InteractiveShell: every option, every malformed invocation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import nbagents.display
from nbagents import AgentText, ScriptedEngine
from nbagents.errors import ConfigurationError
from nbagents.magics import AgentMagics, get_agent
from nbagents.redaction import register_secret


def reply(code: str, explanation: str = "I will do it.") -> str:
    return f"{explanation}\n```py\n{code}\n```"


@pytest.fixture
def shell(monkeypatch):
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("nbagents")
    magics = ip.magics_manager.registry["AgentMagics"]
    for name, trait in magics.traits(config=True).items():
        setattr(magics, name, trait.default())
    magics.reset()
    monkeypatch.setattr(ip, "display_pub", CapturingDisplayPublisher())
    monkeypatch.setattr(nbagents.display, "STREAM_INTERVAL", 0.0)
    before = set(ip.user_ns)
    yield ip
    for name in set(ip.user_ns) - before:
        del ip.user_ns[name]
    magics.reset()


@pytest.fixture
def magics(shell) -> AgentMagics:
    return shell.magics_manager.registry["AgentMagics"]


@pytest.fixture
def engine(shell) -> ScriptedEngine:
    e = ScriptedEngine()
    agent = get_agent(shell)
    agent.engine = e
    agent.repair = False  # one reply per task; the repair path has its own test
    return e


def published(ip) -> list[dict]:
    return list(ip.display_pub.outputs)


def final_displays(ip) -> list[dict]:
    """What the cell shows at the end: display_data (first publish of each display id, updated)
    and plain displays, like a frontend would keep them."""
    shown: dict[str, dict] = {}
    order: list[str] = []
    for i, out in enumerate(ip.display_pub.outputs):
        key = (out.get("transient") or {}).get("display_id") or f"plain-{i}"
        if key not in shown:
            order.append(key)
        shown[key] = out
    return [shown[k] for k in order]


def run(ip, source: str):
    result = ip.run_cell(source)
    return result


def assert_shell_works(ip) -> None:
    assert ip.run_cell("40 + 2").result == 42


# --- loading -------------------------------------------------------------------------------------


def test_loading_is_light_and_works_from_ipython_config(tmp_path):
    """`%load_ext` imports no torch/transformers/ipywidgets; the config file loads it and sets traits."""
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text(textwrap.dedent("""
        c.InteractiveShellApp.extensions = ["nbagents"]
        c.AgentMagics.default_engine = "fake:"
        c.AgentMagics.max_new_tokens = 77
    """))
    check = textwrap.dedent("""
        import sys, json
        ip = get_ipython()
        m = ip.magics_manager.registry["AgentMagics"]
        heavy = [n for n in ("torch", "transformers", "ipywidgets", "PIL") if n in sys.modules]
        print("RESULT", json.dumps({"cell": "agent" in ip.magics_manager.magics["cell"],
            "line": "agent" in ip.magics_manager.magics["line"],
            "chat": "agent_chat" in ip.magics_manager.magics["cell"],
            "engine": m.default_engine, "max": m.max_new_tokens, "heavy": heavy}))
    """)
    env = {"IPYTHONDIR": str(tmp_path / "ipython"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "-c", check],
                         capture_output=True, text=True, timeout=60, env=env)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, out.stdout + out.stderr
    got = json.loads(lines[0][len("RESULT "):])
    assert got["cell"] and got["line"] and got["chat"]
    assert got["engine"] == "fake:" and got["max"] == 77
    assert got["heavy"] == []

    # Plain `import nbagents` + load_extension stays light too.
    code = ("import sys, nbagents\nfrom IPython.core.interactiveshell import InteractiveShell\n"
            "ip = InteractiveShell.instance()\nip.extension_manager.load_extension('nbagents')\n"
            "print([n for n in ('torch', 'transformers', 'ipywidgets', 'PIL') if n in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_get_agent_needs_the_extension(shell):
    shell.extension_manager.unload_extension("nbagents")
    try:
        assert "agent" not in shell.magics_manager.magics["cell"]
        with pytest.raises(ConfigurationError, match="load_ext"):
            get_agent(shell)
    finally:
        shell.extension_manager.load_extension("nbagents")
    assert "agent" in shell.magics_manager.magics["cell"]


# --- %%agent ---------------------------------------------------------------------------------------


def test_cell_result_lands_in_out_with_metadata_summary(shell, engine):
    engine.queue(reply("result = 'Hello, ' + name", "I will greet the name."))
    shell.user_ns["name"] = "Ada"
    r = run(shell, "%%agent\nGreet `name`.\n")
    assert r.success
    assert r.result == "Hello, Ada" and isinstance(r.result, AgentText)
    assert shell.user_ns["_"] == "Hello, Ada"
    agent = get_agent(shell)
    assert agent.last_run.task == "Greet `name`."
    assert agent.last_run.inputs == {"name": "str"}
    assert "Greet `name`." in engine.last_call.prompt_text

    [summary] = final_displays(shell)
    md = summary["metadata"]["nbagents"]
    assert md["id"] == agent.last_run.id
    assert md["code"] == "result = 'Hello, ' + name"
    assert "Greet `name`." in md["prompt"]
    assert md["result"] == {"type": "str", "summary": "Hello, Ada"}
    assert md["stop"] == list(agent.last_run.stop)
    assert "inputs: name (str)" in summary["data"]["text/plain"]
    assert "<details" in summary["data"]["text/html"]
    assert "%agent inspect" in summary["data"]["text/plain"]
    json.dumps(summary["metadata"])  # lands in the notebook file as JSON


def test_streaming_updates_then_settles(shell, engine):
    engine.queue(reply("result = 1 + 1"))
    run(shell, "%%agent\nAdd one and one.")
    outs = published(shell)
    ids = {(o.get("transient") or {}).get("display_id") for o in outs}
    assert len(ids) == 1 and None not in ids  # one display, updated in place
    assert outs[0]["update"] is False and all(o["update"] for o in outs[1:])
    partial = [o["data"]["text/plain"] for o in outs[1:-1]]
    assert any("writing…" in p for p in partial)
    assert "```py" in outs[-2]["data"]["text/plain"]  # the model's text showed while it came
    assert outs[-1]["data"]["text/plain"].startswith("✓ agent run")
    assert outs[-1]["metadata"]["nbagents"]["code"] == "result = 1 + 1"


@pytest.mark.parametrize("how", ["--no-stream", "config"])
def test_no_stream(shell, engine, magics, how):
    engine.queue(reply("result = 3"))
    if how == "config":
        run(shell, "%config AgentMagics.stream = False")
        source = "%%agent\nThree."
    else:
        source = "%%agent --no-stream\nThree."
    r = run(shell, source)
    assert r.result == 3
    outs = published(shell)
    assert len(outs) == 1 and not outs[0]["update"]
    assert outs[0]["metadata"]["nbagents"]["result"]["summary"] == "3"


def test_backtick_names_are_passed_when_they_are_data(shell, engine):
    engine.queue(reply("result = len(words) + n"))
    shell.user_ns.update(words=["a", "b"], n=1, helper=len)
    r = run(shell, "%%agent\nCount `words` plus `n`, with `helper` and `missing` and `json`.")
    assert r.result == 3
    run_ = get_agent(shell).last_run
    assert run_.inputs == {"words": "list[2]", "n": "int"}
    text = final_displays(shell)[0]["data"]["text/plain"]
    assert "inputs: words (list[2]), n (int)" in text
    assert "words" in engine.last_call.prompt_text


def test_input_option(shell, engine):
    engine.queue(reply("result = a + b + c"))
    shell.user_ns.update(a=1, b=2, c=3)
    r = run(shell, "%%agent -i a -i b,c\nAdd them.")
    assert r.result == 6
    assert get_agent(shell).last_run.inputs == {"a": "int", "b": "int", "c": "int"}

    r = run(shell, "%%agent -i nope\nAdd them.")
    assert isinstance(r.error_in_exec, UsageError) and "nope" in str(r.error_in_exec)
    assert len(engine.calls) == 1  # the model was not asked
    assert_shell_works(shell)


def test_bad_input_name_is_a_compact_agent_error(shell, engine):
    shell.user_ns["_private"] = 1
    r = run(shell, "%%agent -i _private\nUse it.")
    assert r.success and r.result is None
    [err] = final_displays(shell)
    assert "config stage" in err["data"]["text/plain"]
    assert "_private" in err["data"]["text/plain"]
    assert_shell_works(shell)


def test_output_option(shell, engine):
    engine.queue(reply("result = 'kept'"))
    r = run(shell, "%%agent -o answer\nKeep it.")
    assert r.result == "kept" and shell.user_ns["answer"] == "kept"
    for bad in ("1x", "a-b"):
        r = run(shell, f"%%agent -o {bad}\nKeep it.")
        assert isinstance(r.error_in_exec, UsageError)
    r = run(shell, "%%agent -o\nKeep it.")
    assert isinstance(r.error_in_exec, UsageError)
    assert_shell_works(shell)


def test_code_option_puts_code_in_a_new_cell(shell, engine):
    engine.queue(reply("result = 6 * 7"))
    shell.rl_next_input = None
    r = run(shell, "%%agent --code -o src\nMultiply.")
    assert r.success and r.result is None
    assert shell.rl_next_input == "result = 6 * 7"
    assert shell.user_ns["src"] == "result = 6 * 7"
    last = get_agent(shell).last_run
    assert last.kind == "generate" and last.result is None  # nothing ran
    assert "new cell below" in final_displays(shell)[0]["data"]["text/plain"]


def test_code_and_review_cannot_be_combined(shell, engine):
    r = run(shell, "%%agent --code --review\nX.")
    assert isinstance(r.error_in_exec, UsageError)
    assert not engine.calls
    assert_shell_works(shell)


def test_review_option_runs_nothing_until_run_is_clicked(shell, engine):
    from nbagents.inspector import Inspector

    engine.queue(reply("result = x * 2"))
    shell.user_ns["x"] = 21
    r = run(shell, "%%agent --review -o doubled\nDouble `x`.")
    assert r.result is None
    agent = get_agent(shell)
    assert agent.last_run.kind == "generate"
    inspector = shell.display_pub.outputs[-1]
    assert "application/vnd.jupyter.widget-view+json" in inspector["data"]
    [widget] = [w for w in _live_inspectors() if w.run.id == agent.last_run.id]
    assert isinstance(widget, Inspector)
    assert widget.edit_toggle.value and not widget.code.disabled
    assert "doubled" not in shell.user_ns
    widget.code.value = "result = x * 3"
    widget.run_button.click()
    assert widget.last_run.ok and widget.last_run.result == 63
    assert widget.last_run.parent == agent.history[-2].id
    assert shell.user_ns["doubled"] == 63


def _live_inspectors():
    import ipywidgets

    from nbagents.inspector import Inspector

    return [w for w in ipywidgets.widgets.widget._instances.values() if isinstance(w, Inspector)]


def test_inspect_option_shows_the_inspector_after_the_run(shell, engine):
    engine.queue(reply("result = 5"))
    r = run(shell, "%%agent --inspect\nFive.")
    assert r.result == 5
    last = shell.display_pub.outputs[-1]
    assert "application/vnd.jupyter.widget-view+json" in last["data"]
    assert "nbagents-inspector" in last["data"]["text/html"]


def test_inspect_option_on_failure_shows_the_inspector_too(shell, engine):
    engine.queue("I have no idea.")
    r = run(shell, "%%agent --inspect\nSomething.")
    assert r.result is None
    kinds = [set(o["data"]) for o in final_displays(shell)]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds)


def test_max_new_tokens_option(shell, engine):
    engine.queue(reply("result = 1"))
    run(shell, "%%agent --max-new-tokens 7\nOne.")
    assert engine.last_call.max_new_tokens == 7
    for bad in ("--max-new-tokens x", "--max-new-tokens 0", "--max-new-tokens"):
        r = run(shell, f"%%agent {bad}\nOne.")
        assert isinstance(r.error_in_exec, UsageError), bad
    assert len(engine.calls) == 1
    assert_shell_works(shell)


def test_isolation_option_applies_to_one_cell(shell, engine):
    agent = get_agent(shell)
    seen = []

    def answer(prompt):
        seen.append(agent.isolation)
        return reply("result = 1")

    engine.queue(answer)
    run(shell, "%%agent --isolation process --code\nOne.")
    assert seen == ["process"] and agent.isolation == "none"
    r = run(shell, "%%agent --isolation maybe\nOne.")
    assert isinstance(r.error_in_exec, UsageError)
    assert_shell_works(shell)


def test_engine_option_applies_to_one_cell(shell, engine, tmp_path):
    replies = tmp_path / "replies.txt"
    replies.write_text(reply("result = 'from the file'") + "\n---\n" + reply("result = 2"))
    r = run(shell, f"%%agent -e fake:{replies}\nRead it.")
    assert r.result == "from the file"
    assert get_agent(shell).last_run.engine == f"fake:{replies}"
    assert get_agent(shell).engine is engine  # put back

    r = run(shell, "%%agent -e nope:x\nRead it.")
    assert r.success and r.result is None
    text = final_displays(shell)[-1]["data"]["text/plain"]
    assert "Unknown engine scheme" in text and "config stage" in text
    assert get_agent(shell).engine is engine
    assert_shell_works(shell)


def test_agent_failures_render_compactly(shell, engine, capsys):
    engine.queue("Sorry, I cannot write code for that.")
    r = run(shell, "%%agent\nDo something impossible.")
    assert r.success and r.result is None
    [err] = final_displays(shell)
    text = err["data"]["text/plain"]
    assert text.startswith("Agent error in the parse stage (ParseError)")
    assert "What to do:" in text
    assert "%agent inspect " + get_agent(shell).last_run.id[:8] in text
    assert "nbagents-error" in err["data"]["text/html"]
    assert err["metadata"]["nbagents"]["error"]["stage"] == "parse"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err

    engine.queue(reply("result = 1 / 0"))
    r = run(shell, "%%agent\nDivide.")
    assert r.success and r.result is None
    text = final_displays(shell)[-1]["data"]["text/plain"]
    assert "interpreter stage" in text and "ZeroDivisionError" in text

    r = run(shell, "%%agent\nNo reply is queued.")  # the engine fails
    assert "engine stage" in final_displays(shell)[-1]["data"]["text/plain"]
    assert "Traceback" not in "".join(capsys.readouterr())
    assert_shell_works(shell)


def test_printed_output_goes_to_stdout(shell, engine, capsys):
    engine.queue(reply("print('step one')\nresult = 'done'"))
    r = run(shell, "%%agent\nPrint then finish.")
    assert r.result == "done"
    assert "step one" in capsys.readouterr().out


@pytest.mark.parametrize("source", [
    "%%agent\n",
    "%%agent\n   \n",
    "%%agent --bogus\nTask.",
    "%%agent extra words\nTask.",
    '%%agent -e "fake:\nTask.',
    "%%agent -i\nTask.",
])
def test_malformed_cells_raise_usage_error(shell, engine, source):
    r = run(shell, source)
    assert isinstance(r.error_in_exec, UsageError), source
    assert not engine.calls
    assert_shell_works(shell)


def test_interrupt_settles_the_stream(shell, engine):
    def interrupted(prompt):
        raise KeyboardInterrupt

    engine.queue(interrupted)
    r = run(shell, "%%agent\nTake long.")
    assert isinstance(r.error_in_exec, KeyboardInterrupt)
    assert published(shell)[-1]["data"]["text/plain"] == "Interrupted."
    assert_shell_works(shell)


def test_secrets_never_reach_the_cell(shell, engine):
    secret = "sk-" + "x" * 24
    register_secret(secret)
    engine.queue(reply(f"result = 'ok'  # {secret}"))
    run(shell, "%%agent\nUse the key.")
    for out in published(shell):
        assert secret not in json.dumps(out["data"]) + json.dumps(out["metadata"])


def test_help_is_the_docstring(shell):
    doc = AgentMagics.agent_cell.__doc__
    assert "%%agent [-e SPEC] [-i NAME] [-o VAR]" in doc and "--review" in doc
    assert "%agent_chat" in AgentMagics.agent_chat.__doc__
    assert "%agent engine SPEC" in AgentMagics.agent_line.__doc__
    info = shell.object_inspect("%%agent")
    assert info["found"] and "--max-new-tokens" in info["docstring"]


# --- %agent_chat ----------------------------------------------------------------------------------


def test_chat_keeps_state_and_history_across_cells(shell, engine):
    engine.queue(reply("total = 10\nresult = total"), reply("result = total * 2"))
    r = run(shell, "%agent_chat Set a total of ten.")
    assert r.result == 10
    r = run(shell, "%%agent_chat\nDouble the total, don't forget it's 'total'.")
    assert r.result == 20
    assert "Set a total of ten." in engine.last_call.prompt_text  # the earlier turn is shown
    agent = get_agent(shell)
    assert agent.last_run.kind == "chat"
    assert agent.last_run.task == "Double the total, don't forget it's 'total'."
    assert len(agent.chat_turns) == 2


def test_chat_reset(shell, engine):
    engine.queue(reply("total = 1\nresult = total"), reply("result = total"))
    run(shell, "%agent_chat Set total.")
    r = run(shell, "%agent_chat --reset")
    assert r.result is None and "reset" in published(shell)[-1]["data"]["text/plain"]
    agent = get_agent(shell)
    assert agent.chat_turns == [] and agent.chat_state == {}
    r = run(shell, "%agent_chat --reset What is total?")  # a question, not a help request
    assert r.result is None and agent.last_run.task == "What is total?"  # `total` is gone: an interpreter error, shown compactly
    assert "interpreter stage" in final_displays(shell)[-1]["data"]["text/plain"]


def test_chat_line_options_and_quotes(shell, engine):
    engine.queue(reply("result = 'fine'"))
    shell.user_ns["doc"] = "text"
    r = run(shell, "%agent_chat -o out --no-stream -i doc What's in \"doc\"?")
    assert r.result == "fine" and shell.user_ns["out"] == "fine"
    assert get_agent(shell).last_run.task == "What's in \"doc\"?"
    assert get_agent(shell).last_run.inputs == {"doc": "str"}


@pytest.mark.parametrize("source", [
    "%agent_chat",
    "%agent_chat --bogus Hi",
    "%agent_chat --max-new-tokens many Hi",
    "%%agent_chat stray words\nHi",
    "%%agent_chat\n",
])
def test_malformed_chat_raises_usage_error(shell, engine, source):
    r = run(shell, source)
    assert isinstance(r.error_in_exec, UsageError), source
    assert_shell_works(shell)


# --- %agent ---------------------------------------------------------------------------------------


def test_engine_command_sets_the_kernel_engine(shell, tmp_path):
    replies = tmp_path / "r.txt"
    replies.write_text(reply("result = 'scripted'"))
    r = run(shell, f"%agent engine fake:{replies}")
    assert r.success
    assert get_agent(shell).engine.spec == f"fake:{replies}"
    assert "Engine set" in published(shell)[-1]["data"]["text/plain"]
    assert run(shell, "%%agent\nGo.").result == "scripted"
    view = run(shell, "%agent engine").result
    assert f"fake:{replies}" in repr(view)


def test_engine_command_passes_loading_options(shell, monkeypatch):
    import nbagents.engines.registry as registry

    calls = []
    monkeypatch.setattr(registry, "load_engine",
                        lambda spec, **options: calls.append((spec, options)) or ScriptedEngine())
    run(shell, "%agent engine local:some/model --8bit --device-map auto --dtype bfloat16")
    assert calls == [("local:some/model", {"quantization": "8bit", "device_map": "auto",
                                           "dtype": "bfloat16"})]
    run(shell, "%agent engine local:some/model --4bit")
    assert calls[-1][1] == {"quantization": "4bit"}


def test_engine_command_errors(shell):
    r = run(shell, "%agent engine nope:x")
    assert r.success and "Unknown engine scheme" in published(shell)[-1]["data"]["text/plain"]
    r = run(shell, "%agent engine fake: --8bit")  # the fake takes no quantization
    assert r.success and "does not take" in published(shell)[-1]["data"]["text/plain"]
    for bad in ("engine fake: --8bit --4bit", "tools --8bit", "history --dtype x",
                "bogus", "tools extra", "config x", "history many", "history 0",
                "engine fake: extra", 'engine "fake:'):
        r = run(shell, f"%agent {bad}")
        assert isinstance(r.error_in_exec, UsageError), bad
    assert_shell_works(shell)


def test_tools_command(shell):
    from nbagents import tool

    @tool
    def shout(text: str) -> str:
        """Make the text loud."""
        return text.upper()

    get_agent(shell).toolbox.add(shout)
    toolbox = run(shell, "%agent tools").result
    assert "shout" in toolbox
    assert "<table>" in toolbox._repr_html_() and "Make the text loud" in toolbox._repr_html_()


def test_history_command_lists_newest_first(shell, engine):
    assert "No runs yet" in repr(run(shell, "%agent history").result)
    engine.queue(reply("result = 1"), "no code here", reply("result = 3"))
    for task in ("first task", "second task", "third task"):
        run(shell, f"%%agent\n{task}")
    view = run(shell, "%agent history").result
    lines = repr(view).splitlines()
    assert "3 runs" in lines[0]
    assert lines[1].split()[:2] == ["#", "id"]
    assert "third task" in lines[2] and "ok" in lines[2]
    assert "second task" in lines[3] and "failed" in lines[3]
    assert "first task" in lines[4]
    assert len(repr(run(shell, "%agent history 1").result).splitlines()) == 3
    assert "<table>" in view._repr_html_()


def test_inspect_command(shell, engine, magics):
    from nbagents.inspector import Inspector

    r = run(shell, "%agent inspect")
    assert isinstance(r.error_in_exec, UsageError)  # nothing to inspect yet
    engine.queue(reply("result = 'a'"), reply("result = 'b'"))
    run(shell, "%%agent\nTask A")
    run(shell, "%%agent\nTask B")
    history = get_agent(shell).history
    last = run(shell, "%agent inspect").result
    assert isinstance(last, Inspector) and last.run is history[-1]
    assert run(shell, "%agent inspect 2").result.run is history[-2]
    assert run(shell, f"%agent inspect {history[0].id[:10]}").result.run is history[0]
    for bad in ("99", "ffffffffffff", "1 2"):
        r = run(shell, f"%agent inspect {bad}")
        assert isinstance(r.error_in_exec, UsageError), bad

    magics.reset()  # a new session: the runs come back from the database
    old = run(shell, "%agent inspect").result
    assert old.run.id == history[-1].id and old.run.task == "Task B"
    assert old.output.outputs[-1]["data"]["text/plain"] == "b"


def test_config_command_and_traitlets(shell, magics, tmp_path):
    view = run(shell, "%agent config").result
    assert "default_engine" in repr(view) and "history file" in repr(view)
    run(shell, "%config AgentMagics.default_engine = 'fake:'")
    assert get_agent(shell).engine.spec == "fake:"
    run(shell, "%config AgentMagics.max_new_tokens = 33")
    assert get_agent(shell).max_new_tokens == 33
    run(shell, "%config AgentMagics.isolation = 'process'")
    assert get_agent(shell).isolation == "process"
    run(shell, "%config AgentMagics.max_new_tokens = 0")
    assert magics.max_new_tokens == 33  # refused
    run(shell, "%config AgentMagics.isolation = 'elsewhere'")
    assert get_agent(shell).isolation == "process"
    db = tmp_path / "elsewhere" / "h.sqlite"
    run(shell, f"%config AgentMagics.history_path = {str(db)!r}")
    assert get_agent(shell).store.path == db
    get_agent(shell).engine.queue(reply("result = 1"))
    run(shell, "%%agent\nOne.")
    assert db.exists() and len(get_agent(shell).store) == 1
    assert "%config AgentMagics" in repr(run(shell, "%agent config").result)
    assert_shell_works(shell)


def test_reset_command(shell, engine):
    engine.queue(reply("total = 1\nresult = total"))
    run(shell, "%agent_chat Set it.")
    old = get_agent(shell)
    run(shell, "%agent reset")
    assert get_agent(shell) is not old
    assert get_agent(shell).chat_turns == [] and get_agent(shell).history == []
    assert "fresh agent" in published(shell)[-1]["data"]["text/plain"]
    assert len(get_agent(shell).store) == 1  # the history stays


def test_every_run_is_stored(shell, engine):
    engine.queue(reply("result = 1"), "no code")
    run(shell, "%%agent\nOne.")
    run(shell, "%%agent\nTwo.")
    store = get_agent(shell).store
    assert [r.task for r in store.list()] == ["Two.", "One."]
    assert [r.ok for r in store.list()] == [False, True]


def test_repair_retries_once_and_the_cell_shows_the_fixed_result(shell, engine):
    get_agent(shell).repair = True
    engine.queue("No code, sorry.", reply("result = 'fixed'"))
    r = run(shell, "%%agent\nTry twice.")
    assert r.result == "fixed"
    last = get_agent(shell).last_run
    assert len(last.steps) == 1 and last.steps[0].error.stage == "parse"
    assert final_displays(shell)[0]["metadata"]["nbagents"]["code"] == "result = 'fixed'"


def test_chat_help_still_works(shell):
    info = shell.object_inspect("%agent_chat")
    assert info["found"] and "--reset" in info["docstring"]
    r = run(shell, "%agent_chat?")
    assert r.success


def test_lab_status_never_loads_a_model(shell, magics):
    from nbagents import labcomm

    assert magics.lab_status() == {"engine": "default", "model_id": "", "loaded": False}
    assert labcomm.get_status()["engine"] == "default"
    run(shell, "%agent engine fake:")
    assert magics.lab_status() == {"engine": "fake:", "model_id": "scripted", "loaded": True}
    run(shell, "%agent reset")
    run(shell, "%config AgentMagics.default_engine = 'local:some/model'")
    assert magics.lab_status() == {"engine": "local:some/model", "model_id": "", "loaded": False}


def test_an_engine_from_the_config_is_loaded_once(shell, tmp_path):
    replies = tmp_path / "r.txt"
    replies.write_text(reply("result = 'one'") + "\n---\n" + reply("result = 'two'"))
    run(shell, f"%config AgentMagics.default_engine = 'fake:{replies}'")
    assert run(shell, "%%agent\nFirst.").result == "one"
    assert run(shell, "%%agent\nSecond.").result == "two"  # the same engine, its queue going on


def test_isolation_process_runs_the_program_in_a_child(shell, engine):
    engine.queue(reply("result = sum(range(10))"))
    r = run(shell, "%%agent --isolation process\nSum.")
    assert r.result == 45
    agent = get_agent(shell)
    assert agent.isolation == "none"  # for this cell only
    assert agent._interpreter is None or agent._interpreter.isolation == "none"


def test_an_unusable_history_file_is_shown_compactly(shell, engine, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    run(shell, f"%config AgentMagics.history_path = {str(blocker / 'h.sqlite')!r}")
    r = run(shell, "%agent history")
    assert r.success and "Cannot open the run history" in published(shell)[-1]["data"]["text/plain"]
    engine.queue(reply("result = 1"))
    assert run(shell, "%%agent\nStill works.").result == 1  # a run does not need the history


# --- ReAct and plan modes from the magic ------------------------------------------------------------


def test_steps_runs_react_mode_for_this_cell(shell, engine):
    engine.queue("Thought: compute.\n```py\nx = 6 * 7\n```",
                 "Thought: done.\n```py\nfinal_answer(answer=x)\n```")
    r = run(shell, "%%agent --steps 3\nSix times seven.")
    assert r.result == 42
    last = get_agent(shell).last_run
    assert last.kind == "react" and len(last.steps) == 2
    assert get_agent(shell).mode == "code"  # only this cell
    from nbagents.inspector import render_run_html

    html = render_run_html(last)
    assert "Step 1 · generate" in html and "Step 2 · generate" in html and "Thought: compute." in html
    assert engine.calls[0].stop == ("Observation:", "<|im_end|>")


def test_steps_limit_is_shown_compactly(shell, engine):
    engine.queue(*["Thought: again.\n```py\nx = 1\n```"] * 2)
    r = run(shell, "%%agent --steps 2\nLoop.")
    assert r.result is None and r.success
    text = final_displays(shell)[-1]["data"]["text/plain"]
    assert "2 steps without calling final_answer" in text
    assert_shell_works(shell)


def test_plan_runs_plan_mode(shell, engine):
    from nbagents import tool

    @tool
    def upper(text: str) -> str:
        """Upper-case `text`."""
        return text.upper()

    get_agent(shell).toolbox.add(upper)
    engine.queue('[{"task": "upper", "id": 0, "dep": [], "args": {"text": "<INPUT>-word"}}]', "It is HI.")
    shell.user_ns["word"] = "hi"
    r = run(shell, "%%agent --plan\nShout `word`.")
    assert r.result == "It is HI."
    last = get_agent(shell).last_run
    assert last.kind == "plan" and last.steps[0].observation == "HI"


def test_plan_review_then_edit_and_run_in_the_inspector(shell, engine):
    from nbagents import tool
    from nbagents.inspector import Inspector

    @tool
    def upper(text: str) -> str:
        """Upper-case `text`."""
        return text.upper()

    agent = get_agent(shell)
    agent.toolbox.add(upper)
    engine.queue('[{"task": "upper", "id": 0, "args": {"text": "one"}}]', "Edited: TWO.")
    assert run(shell, "%%agent --plan --review\nShout one.").result is None
    planned = agent.last_run
    assert planned.kind == "plan" and planned.result is None and '"text": "one"' in planned.code
    inspector = Inspector(agent, planned, editing=True)
    inspector.code.value = planned.code.replace('"one"', '"two"')
    inspector.run_button.click()
    new = agent.last_run
    assert new.parent == planned.id and new.ok and new.steps[0].observation == "TWO"
    assert new.result == "Edited: TWO."
    from nbagents.inspector import render_run_html

    html = render_run_html(new)
    assert "Steps (timeline)" in html and "Task 0 · " in html and "→ TWO" in html


@pytest.mark.parametrize("line, message", [
    ("--steps 2 --plan", "cannot be combined"),
    ("--steps 0", "at least 1"),
    ("--steps 2 --review", "cannot be combined"),
    ("--plan --code", "use --review"),
    ("--steps x", "invalid int value"),
])
def test_bad_mode_options(shell, engine, line, message):
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("agent", line, "task")
    assert_shell_works(shell)


def test_free_turns_constrained_decoding_off_for_the_cell(shell, engine):
    engine.accepted_kinds = frozenset({"program"})  # like a local engine: the agent sends a ProgramSpec
    engine.queue(reply("result = 1"), reply("result = 2"))
    assert run(shell, "%%agent\nOne.").result == 1
    assert engine.last_call.constraint is not None and engine.last_call.constraint.kind == "program"
    assert get_agent(shell).last_run.facts["constrained"] is True
    assert run(shell, "%%agent --free\nTwo.").result == 2
    assert engine.last_call.constraint is None
    assert get_agent(shell).last_run.facts["constrained"] is False


# --- %agent tools add ------------------------------------------------------------------------------


@pytest.fixture
def hub(monkeypatch, tmp_path, no_ambient_credentials):
    """A loopback Hub serving a tiny BLIP as the image captioner's real checkpoint id; the kernel's
    Hugging Face cache is an empty temp dir."""
    import tiny_tool_models as tiny
    from hub_server import HubServer, point_hub_at

    folder = tiny.build_blip(tmp_path / "blip")
    with HubServer() as server:
        server.add_repo("Salesforce/blip-image-captioning-base", folder)
        point_hub_at(server, monkeypatch, tmp_path / "hub-cache")
        yield server


def test_tools_lists_the_tools_that_are_not_ready(shell, hub):
    toolbox = run(shell, "%agent tools").result
    assert toolbox is get_agent(shell).toolbox and "image_captioner" not in toolbox
    table = published(shell)[-1]["data"]["text/plain"]
    assert table.startswith("Not ready here (")
    row = next(line for line in table.splitlines() if line.startswith("image_captioner "))
    assert "the weights of 'Salesforce/blip-image-captioning-base' are not downloaded" in row
    assert "%agent tools add image_captioner" in row
    assert "<table>" in published(shell)[-1]["data"]["text/html"]


def test_tools_add_downloads_the_weights_and_adds_the_tool(shell, hub, monkeypatch):
    from hub_server import go_offline
    from PIL import Image

    r = run(shell, "%agent tools add image_captioner")
    assert r.success and r.result is None
    message = published(shell)[-1]["data"]["text/plain"]
    assert message.startswith("image_captioner is ready: 6 files") and hub.url in message
    assert message.endswith("It is in the toolbox.")
    assert any(p.endswith("/model.safetensors") for p in hub.downloads())
    toolbox = get_agent(shell).toolbox
    assert "image_captioner" in toolbox
    assert "image_captioner" in run(shell, "%agent tools").result
    table = published(shell)[-1]["data"]["text/plain"]
    assert table.startswith("Not ready here (") and "image_captioner " not in table
    go_offline(monkeypatch)  # it runs from the cache, without a network
    assert isinstance(toolbox["image_captioner"](Image.new("RGB", (32, 32), "blue")), AgentText)


def test_tools_add_explains_bad_input(shell, hub):
    r = run(shell, "%agent tools add image_captionr")
    assert r.success  # a typed error shows as a compact error, the kernel goes on
    shown = published(shell)[-1]["data"]["text/plain"]
    assert "no tool named 'image_captionr'" in shown and "'image_captioner'" in shown
    hub.cut("Salesforce/blip-image-captioning-base", "model.safetensors", after=1000)
    run(shell, "%agent tools add image_captioner")
    shown = published(shell)[-1]["data"]["text/plain"]
    assert shown.startswith("Agent error in the tool stage (DownloadError)") and "HTTP 500" in shown
    assert "What to do: Nothing was kept in the cache" in shown
    assert "image_captioner" not in get_agent(shell).toolbox
    with pytest.raises(UsageError, match="which tool"):
        shell.run_line_magic("agent", "tools add")
    for bad in ("tools remove x", "tools list", "history 3 4", "tools add a b"):
        r = run(shell, f"%agent {bad}")
        assert isinstance(r.error_in_exec, UsageError), bad
    assert_shell_works(shell)
