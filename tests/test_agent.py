"""The Agent API end to end on the scripted engine and the real restricted interpreter."""

import pytest
from PIL import Image

from nbagents import (
    Agent,
    AgentImage,
    AgentText,
    AzureOpenAiAgent,
    HfAgent,
    LocalAgent,
    OpenAiAgent,
    ScriptedEngine,
    tool,
)
from nbagents.errors import (
    ConfigurationError,
    EngineError,
    ParseError,
    PromptTooLongError,
    ToolExecutionError,
    UndefinedNameError,
    UnknownToolError,
)


@tool
def shout(text: str) -> str:
    """Return `text` in capitals."""
    return text.upper()


@tool
def make_square(size: int, color: str = "red") -> Image.Image:
    """Make a square image of `size` pixels in `color`."""
    return Image.new("RGB", (size, size), color)


@tool
def explode(text: str) -> str:
    """Always fails."""
    raise RuntimeError("kaboom " + text)


def fenced(code, explanation="I will do it."):
    return f"{explanation}\n```py\n{code}\n```"


def make_agent(*replies, **kwargs):
    engine = ScriptedEngine(replies)
    kwargs.setdefault("repair", False)
    return Agent(engine, tools=[shout, make_square, explode], add_default_tools=False, **kwargs), engine


def test_run_returns_wrapped_text_and_records_everything():
    agent, engine = make_agent(fenced('result = shout(text=greeting + " world")\nprint("shouted")'))
    out = agent.run("Shout the greeting", greeting="hello")
    assert out == "HELLO WORLD" and isinstance(out, AgentText)
    run = agent.last_run
    assert run is agent.history[-1] and run.ok
    assert run.task == "Shout the greeting" and run.kind == "run"
    assert run.inputs == {"greeting": "str"}
    assert run.prompt == engine.last_call.prompt_text
    assert "shout(text: str) -> str: Return `text` in capitals." in run.prompt
    assert "Inputs: greeting (str)" in run.prompt
    assert run.stop == ("\nTask:", "<|im_end|>") and engine.last_call.stop == run.stop
    assert run.raw_output.startswith("I will do it.")
    assert run.explanation == "I will do it."
    assert run.code == 'result = shout(text=greeting + " world")\nprint("shouted")'
    assert run.prints == "shouted\n"
    assert {"prompt", "generate", "parse", "execute", "total"} <= set(run.timings)
    assert run.prompt_tokens > 0 and run.completion_tokens > 0
    assert run.engine == "fake:" and run.model_id == "scripted"


def test_image_result_is_agent_image():
    agent, _ = make_agent(fenced("result = make_square(size=8, color='blue')"))
    out = agent.run("Make a blue square")
    assert isinstance(out, AgentImage) and out.size == (8, 8)
    assert out.to_raw().getpixel((0, 0)) == (0, 0, 255)


def test_agent_image_input_reaches_tool_unwrapped():
    seen = {}

    @tool
    def width(image: Image.Image) -> int:
        """Width of `image`."""
        seen["type"] = type(image)
        return image.size[0]

    agent = Agent(ScriptedEngine([fenced("result = width(image=picture)")]), tools=[width],
                  add_default_tools=False)
    assert agent.run("How wide?", picture=AgentImage(Image.new("RGB", (5, 2)))) == 5
    assert issubclass(seen["type"], Image.Image)
    assert agent.last_run.inputs == {"picture": "image 5x2"}


def test_return_code_does_not_execute():
    agent, _ = make_agent(fenced("result = explode(text='x')"))
    assert agent.run("boom", return_code=True) == "result = explode(text='x')"
    assert agent.last_run.kind == "generate" and agent.last_run.ok


def test_generate_code_returns_run_without_executing():
    agent, _ = make_agent(fenced("result = shout(text='a')"))
    run = agent.generate_code("shout a")
    assert run.code == "result = shout(text='a')" and run.result is None and "execute" not in run.timings


def test_execute_runs_code_without_model():
    agent, engine = make_agent()
    run = agent.execute("x = shout(text=word)\nresult = x + '!'", word="hey")
    assert run.kind == "execute" and run.result == "HEY!" and run.ok
    assert engine.calls == []
    assert agent.last_run is run


def test_chat_keeps_history_and_state():
    agent, engine = make_agent(fenced("n = 2 * base"), fenced("result = n + 1"))
    assert agent.chat("double it", base=20) == 40
    assert agent.chat("add one") == 41
    second_prompt = engine.last_call.prompt_text
    assert "Task: double it\n```py\nn = 2 * base\n```\nResult: 40" in second_prompt
    assert "Variables from earlier turns: base, n" in second_prompt
    agent.prepare_for_new_chat()
    engine.queue(fenced("result = n"))
    with pytest.raises(UndefinedNameError):
        agent.chat("what is n?")
    assert "Task: double it" not in engine.last_call.prompt_text


def test_invented_tool_names_it_and_lists_closest():
    agent, _ = make_agent(fenced("result = shouter(text='a')"))
    with pytest.raises(UnknownToolError) as info:
        agent.run("shout")
    assert info.value.name == "shouter" and "shout" in info.value.closest
    run = agent.last_run
    assert run.error.stage == "interpreter" and run.error.type == "UnknownToolError"
    assert run.code == "result = shouter(text='a')"  # everything up to the failure is recorded


def test_undefined_variable_names_it():
    agent, _ = make_agent(fenced("result = shout(text=image)"))
    with pytest.raises(UndefinedNameError) as info:
        agent.run("shout", text="x")
    assert info.value.name == "image"
    assert "text" in info.value.defined and "shout" in info.value.defined


def test_no_code_is_a_parse_error_with_raw_output():
    agent, _ = make_agent("I'm sorry, I can't do that.")
    with pytest.raises(ParseError) as info:
        agent.run("anything")
    assert "I'm sorry, I can't do that." in str(info.value)
    assert agent.last_run.error.stage == "parse"
    assert agent.last_run.raw_output == "I'm sorry, I can't do that."


def test_tool_failure_is_a_tool_error_with_message_only():
    agent, _ = make_agent(fenced("result = explode(text='now')"))
    with pytest.raises(ToolExecutionError) as info:
        agent.run("explode")
    assert "kaboom now" in str(info.value) and info.value.tool == "explode"
    assert agent.last_run.error.stage == "tool"


def test_engine_failure_is_typed_by_stage():
    agent, _ = make_agent()
    with pytest.raises(EngineError, match="no reply left"):
        agent.run("x")
    assert agent.last_run.error.stage == "engine"


def test_prompt_too_long_gives_both_numbers():
    agent = Agent(ScriptedEngine([], context_length=30), tools=[shout], add_default_tools=False)
    with pytest.raises(PromptTooLongError) as info:
        agent.run("shout " * 40)
    assert info.value.context_length == 30 and info.value.prompt_tokens > 30
    assert agent.last_run.error.stage == "prompt"


def test_tools_dropped_from_prompt_cannot_be_called():
    tools = [shout, make_square, explode]
    for i in range(8):
        def f(text: str) -> str:
            return text
        f.__name__ = f"filler_tool_{i}"
        f.__doc__ = "Filler " + "words " * 30
        tools.append(tool(f))
    engine = ScriptedEngine([fenced("result = make_square(size=2)")], context_length=120)
    agent = Agent(engine, tools=tools, add_default_tools=False, max_new_tokens=32, repair=False)
    with pytest.raises(UnknownToolError):
        agent.run("shout the text")
    run = agent.last_run
    assert run.dropped and "make_square" not in run.prompt


def test_toolbox_can_be_edited():
    agent, _ = make_agent(fenced("result = shout(text='a')"))
    del agent.toolbox["shout"]

    @tool
    def shout(text: str) -> str:
        """Replacement shout."""
        return "replaced"

    agent.toolbox.add(shout)
    assert agent.run("x") == "replaced"


def test_prompt_templates_can_be_overridden():
    engine = ScriptedEngine([fenced("result = 1")])
    agent = Agent(engine, tools=[shout], add_default_tools=False,
                  run_prompt_template="TOOLS:\n<<all_tools>>\nQ: <<prompt>>")
    agent.run("question")
    assert engine.last_call.prompt_text.startswith("TOOLS:\nshout(text: str)")


def test_bad_arguments():
    with pytest.raises(ConfigurationError):
        Agent(ScriptedEngine(), isolation="docker")
    with pytest.raises(ConfigurationError):
        Agent(123)
    agent, _ = make_agent()
    with pytest.raises(ConfigurationError, match="empty"):
        agent.run("  ")
    with pytest.raises(ConfigurationError, match="cannot be a variable"):
        agent.run("x", **{"_secret": 1})


def test_history_store_receives_every_run():
    class Store:
        def __init__(self):
            self.runs = []

        def add(self, run):
            self.runs.append(run)

    store = Store()
    agent, _ = make_agent(fenced("result = 1"), store=store)
    agent.run("one")
    agent.execute("result = 2")
    assert [r.kind for r in store.runs] == ["run", "execute"]


def test_process_isolation_runs_the_same_program():
    agent, _ = make_agent(fenced("result = shout(text='iso')"), isolation="process")
    assert agent.run("shout") == "ISO"


def test_familiar_names_are_agents():
    for cls in (HfAgent, LocalAgent, OpenAiAgent, AzureOpenAiAgent):
        assert issubclass(cls, Agent)


def test_one_automatic_repair_sends_the_error_back():
    agent, engine = make_agent(fenced("result = shouter(text='a')"), fenced("result = shout(text='a')"),
                               repair=True)
    assert agent.run("shout a") == "A"
    run = agent.last_run
    assert run.ok and run.code == "result = shout(text='a')"
    assert len(run.steps) == 1 and run.steps[0].error.type == "UnknownToolError"
    assert run.steps[0].code == "result = shouter(text='a')"
    repair_messages = engine.last_call.messages
    assert repair_messages[-2] == {"role": "assistant", "content": fenced("result = shouter(text='a')")}
    assert "'shouter' is not a tool" in repair_messages[-1]["content"]
    assert "Closest tools: shout" in repair_messages[-1]["content"]


def test_repair_happens_once_only():
    agent, engine = make_agent("no code here", "still no code", "never asked", repair=True)
    with pytest.raises(ParseError, match="still no code"):
        agent.run("x")
    assert len(engine.calls) == 2 and len(agent.last_run.steps) == 1


def test_tool_errors_are_not_repaired():
    agent, engine = make_agent(fenced("result = explode(text='a')"), "unused", repair=True)
    with pytest.raises(ToolExecutionError):
        agent.run("x")
    assert len(engine.calls) == 1


def test_bad_mode_and_steps():
    with pytest.raises(ConfigurationError):
        Agent(ScriptedEngine(), mode="magic")
    with pytest.raises(ConfigurationError):
        Agent(ScriptedEngine(), max_steps=0)
