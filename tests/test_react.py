"""ReAct mode on the scripted engine: steps, observations, recovery, the step limit."""

import pytest

from nbagents import Agent, ScriptedEngine, tool
from nbagents.errors import StepLimitError


@tool
def lookup(key: str) -> int:
    """Look up the number stored under `key`."""
    return {"apples": 3, "pears": 5}[key]


def step(thought, code):
    return f"Thought: {thought}\n```py\n{code}\n```"


def react_agent(*replies, **kwargs):
    engine = ScriptedEngine(replies)
    return Agent(engine, tools=[lookup], add_default_tools=False, mode="react", **kwargs), engine


def test_recovers_from_an_error_through_its_observation():
    agent, engine = react_agent(
        step("Look up apples.", "a = lookup(key='apple')"),
        step("The key is plural.", "a = lookup(key='apples')\nprint(a)"),
        step("Add pears.", "final_answer(answer=a + lookup(key='pears'))"),
    )
    assert agent.run("How many apples and pears?") == 8
    run = agent.last_run
    assert run.kind == "react" and run.ok and len(run.steps) == 3
    assert run.steps[0].error.type == "ToolExecutionError" and "KeyError" in run.steps[0].observation
    assert run.steps[1].observation == "3"
    # the model read the first error before writing step 2, and variables carried over to step 3
    second_messages = engine.calls[1].messages
    assert second_messages[-1]["role"] == "user"
    assert second_messages[-1]["content"].startswith("Observation: Error:")
    assert "KeyError" in second_messages[-1]["content"]
    assert engine.calls[0].stop == ("Observation:", "<|im_end|>")
    assert "final_answer(answer: Any)" in run.steps[0].prompt
    assert run.code.count("lookup(") == 3


def test_step_limit():
    agent, _ = react_agent(*[step("again", "x = 1")] * 3, max_steps=3)
    with pytest.raises(StepLimitError, match="3 steps"):
        agent.run("never ends")
    assert len(agent.last_run.steps) == 3
    assert agent.last_run.error.type == "StepLimitError"


def test_per_call_step_limit_and_last_value_observation():
    agent, engine = react_agent(step("compute", "y = 6 * 7"), step("done", "final_answer(answer=y)"))
    run = agent.perform("six times seven", max_steps=2)
    assert run.result == 42
    assert run.steps[0].observation == "Last value: 42"


def test_parse_errors_are_observations_too():
    agent, _ = react_agent("I am thinking without code.", step("ok", "final_answer(answer='done')"))
    assert agent.run("x") == "done"
    assert agent.last_run.steps[0].error.type == "ParseError"


def test_tokens_per_second_is_each_calls_own():
    """The last step's tokens/s is its own call's, not its tokens over all the steps' time."""
    import time

    class Slow(ScriptedEngine):
        def _generate(self, messages, **kw):
            time.sleep(0.1)
            return super()._generate(messages, **kw)

    engine = Slow([step("Look up apples.", "a = lookup(key='apples')"),
                   step("Look up pears.", "b = lookup(key='pears')"),
                   step("Add them.", "final_answer(answer=a + b)")])
    agent = Agent(engine, tools=[lookup], add_default_tools=False, mode="react")
    assert agent.run("How many apples and pears?") == 8
    facts, last = agent.last_run.facts, agent.last_run.steps[-1]
    tokens = engine.count_tokens(last.raw_output)
    assert facts["tokens_per_s"] == pytest.approx(tokens / last.timings["generate"], rel=0.25)
    assert facts["tokens_per_s"] > tokens / 0.25  # not over the 3 calls' 0.3 s
