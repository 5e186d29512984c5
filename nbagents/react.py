"""ReAct mode: thought → code → observation, one step at a time, until ``final_answer``.

The interpreter's variables carry across steps; what a step prints (or the error it raised, or
the value it left in ``result``) is the observation the model reads before the next step, so it
can correct itself. Each step is a :class:`~nbagents.runs.Step` inside the Run.

On engines that decode under a grammar (local models), each step is written under a
:class:`~nbagents.constrain.ProgramSpec`: ``Thought: <one line>``, then a program of tool calls
(the tools and ``final_answer``) that reads only the inputs and the variables of earlier steps,
with their types; a call of ``final_answer`` ends the step, and on the last allowed step the
program can end only with it. Other engines write freely.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .agent import RESULT_NAME, _ending_with_result
from .errors import EngineError, NbAgentsError, ParseError, StepLimitError
from .parsing import parse
from .prompts import PromptTemplate, build_prompt
from .results import wrap
from .runs import ErrorInfo, Run, Step, describe_value
from .tools.base import FunctionTool

if TYPE_CHECKING:  # pragma: no cover
    from .agent import Agent

__all__ = ["perform_react", "observation_text"]

_MAX_OBSERVATION = 2000
_NOT_SET = object()
FINAL_TOOL = "final_answer"
THOUGHT = "Thought: "


def _shown(value: Any) -> str:
    """A value as the model reads it: the repr of plain data, a short description of media."""
    if value is None or isinstance(value, (str, int, float, bool, list, tuple, dict)):
        return repr(value)
    return describe_value(value)


def observation_text(prints: str, value: Any = None, error: NbAgentsError | None = None) -> str:
    """What the model reads after a step: printed output, then the error or the last value."""
    parts = []
    if prints.strip():
        parts.append(prints.rstrip())
    if error is not None:
        parts.append(f"Error: {error}")
    elif not parts and value is not None:
        parts.append(f"Last value: {_shown(value)}"[:_MAX_OBSERVATION])
    text = "\n".join(parts) or "(no output)"
    return text if len(text) <= _MAX_OBSERVATION else text[:_MAX_OBSERVATION] + "…"


def _final_answer_tool(holder: dict) -> FunctionTool:
    def final_answer(answer: Any) -> Any:
        """End the task and give the answer."""
        holder["answer"] = answer
        return answer

    return FunctionTool(final_answer)


def _names(code: str, ctx: type[ast.expr_context]) -> set[str]:
    """The names ``code`` reads (``ast.Load``) or assigns (``ast.Store``)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def step_options(agent: Agent, engine: Any, tools: Mapping[str, Any], inputs: Mapping[str, Any],
                 state: Mapping[str, Any], *, unread: set[str], last: bool, constrained: bool,
                 done: list[str] = (), task: str = "") -> dict[str, Any]:
    """``constrained=ProgramSpec`` for one step on engines that decode under a grammar, else nothing.

    The ``unread`` names (the inputs no step has read yet, and the ``result`` the last step left)
    must be read (the data-flow rule); the other variables may be, typed by their values;
    ``final_answer`` ends the step, and on the ``last`` step the program must end with it. A line
    that repeats one of the ``done`` steps' code is dropped and the step goes on to
    ``final_answer``.
    """
    if not constrained or not getattr(engine, "supports_grammar", False):
        return {}
    from .grammar import ProgramSpec

    state = {**inputs, **state}
    must = {n: state[n] for n in sorted(unread) if n in state}
    variables = {n: v for n, v in state.items() if n not in must}
    spec = ProgramSpec.for_inputs(tools, must, state=variables,
                                  rich=agent.rich_grammar, explanation_prefix=THOUGHT, final_tool=FINAL_TOOL,
                                  must_finish=last, task=task,
                                  done_lines={line + "\n" for code in done for line in code.splitlines()})
    return {"constrained": spec}


def perform_react(
    agent: Agent,
    task: str,
    inputs: Mapping[str, Any],
    *,
    max_steps: int,
    on_token: Callable[[str], None] | None = None,
    max_new_tokens: int,
    template: PromptTemplate,
    constrained: bool | None = None,
) -> Run:
    """Run the ReAct loop; ``constrained`` (default: the agent's) decodes each step under a
    program grammar on engines that support one."""
    constrained = agent.constrained if constrained is None else constrained
    started = time.perf_counter()
    engine = agent.engine
    run = Run(task=task, kind="react", inputs=agent._describe(inputs), engine=engine.spec,
              model_id=engine.model_id)
    holder: dict[str, Any] = {"answer": _NOT_SET}
    final = _final_answer_tool(holder)
    state: dict[str, Any] = dict(inputs)
    steps: list[Step] = []
    prints: list[str] = []
    codes: list[str] = []
    unread = set(inputs)
    facts: dict[str, Any] = {}
    try:
        prompt = build_prompt(task, agent.toolbox, inputs, template=template, engine=engine,
                              max_new_tokens=max_new_tokens, examples=[])
        tools = {name: agent.toolbox[name] for name in prompt.tools}
        tools[FINAL_TOOL] = final
        messages = list(prompt.messages)
        run = run.with_changes(stop=prompt.stop, dropped=prompt.dropped, prompt=prompt.text)
        for index in range(max_steps):
            options = step_options(agent, engine, tools, inputs, state, unread=unread,
                                   last=index == max_steps - 1, constrained=constrained, done=codes,
                                   task=task)
            t0 = time.perf_counter()
            try:
                completion = engine.generate(messages, stop=prompt.stop, max_new_tokens=max_new_tokens,
                                             on_token=on_token, **options)
            except NbAgentsError:
                raise
            except Exception as e:
                raise EngineError(f"The engine failed: {type(e).__name__}: {e}") from e
            t_gen = time.perf_counter() - t0
            facts = {**completion.facts, "constrained": bool(options)}
            error: NbAgentsError | None = None
            code = ""
            value = None
            step_prints = ""
            t1 = time.perf_counter()
            try:
                code = parse(completion.text).code
                unread -= _names(code, ast.Load)
                execution = agent.interpreter.run(_ending_with_result(code), tools, state)
                value, step_prints = execution.value, execution.prints
                if RESULT_NAME in _names(code, ast.Store):  # the next step builds on it
                    unread.add(RESULT_NAME)
            except ParseError as e:
                error = e
            except NbAgentsError as e:  # interpreter and tool errors are observations
                error = e
            observation = observation_text(step_prints, value, error)
            steps.append(Step(
                index=index,
                prompt=completion.prompt_text or "",
                raw_output=completion.text,
                code=code,
                observation=observation,
                error=ErrorInfo.from_exception(error) if error else None,
                timings={"generate": t_gen, "execute": time.perf_counter() - t1},
            ))
            prints.append(step_prints)
            if code:
                codes.append(code)
            if holder["answer"] is not _NOT_SET:
                run = run.with_changes(result=wrap(holder["answer"]))
                break
            messages.append({"role": "assistant", "content": completion.text})
            messages.append({"role": "user", "content": f"Observation: {observation}"})
        else:
            last = steps[-1].observation if steps else ""
            raise StepLimitError(max_steps, last)
    except NbAgentsError as e:
        run = run.with_changes(error=ErrorInfo.from_exception(e), exception=e)
    last_step = steps[-1] if steps else None
    return run.with_changes(
        facts=facts,
        steps=tuple(steps),
        code="\n\n".join(codes),
        raw_output=last_step.raw_output if last_step else "",
        prompt=last_step.prompt if last_step and last_step.prompt else run.prompt,
        prints="".join(prints),
        timings={
            "generate": sum(s.timings.get("generate", 0.0) for s in steps),
            "execute": sum(s.timings.get("execute", 0.0) for s in steps),
            "total": time.perf_counter() - started,
        },
    )
