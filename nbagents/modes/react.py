"""ReAct mode: thought → code → observation, one step at a time, until ``final_answer``.

The interpreter's variables carry across steps; what a step prints (or the error it raised, or
the value it left in ``result``) is the observation the model reads before the next step, so it
can correct itself. Each step is a :class:`~nbagents.runs.Step` inside the Run.

On engines that accept one, each step is written under a :class:`~nbagents.grammar.ProgramSpec`:
``Thought: <one line>``, then a program of tool calls (the tools and ``final_answer``) that reads
only the inputs and the variables of earlier steps, with their types; a call of ``final_answer``
ends the step, and on the last allowed step the program can end only with it. Other engines write
freely (a server that takes a JSON schema gets the step as one).
"""

from __future__ import annotations

import ast
import time
from collections.abc import Mapping
from typing import Any

from ..errors import ApprovalError, NbAgentsError, ParseError, StepLimitError
from ..grammar import ProgramSpec
from ..parsing import RESULT_NAME, ending_with_result, parse
from ..prompts import PromptTemplate
from ..results import wrap
from ..runs import ErrorInfo, Run, Step, describe_value
from ..tools.base import FunctionTool
from .stages import Stages, describe_inputs, failed

__all__ = ["FINAL_TOOL", "THOUGHT", "observation_text", "perform_react", "step_spec"]

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


def step_spec(tools: Mapping[str, Any], inputs: Mapping[str, Any], state: Mapping[str, Any], *,
              unread: set[str], last: bool, rich: bool = False, done: list[str] = (),
              task: str = "") -> ProgramSpec:
    """The :class:`ProgramSpec` of one step.

    The ``unread`` names (the inputs no step has read yet, and the ``result`` the last step left)
    must be read (the data-flow rule); the other variables may be, typed by their values;
    ``final_answer`` ends the step, and on the ``last`` step the program must end with it. A line
    that repeats one of the ``done`` steps' code is dropped and the step goes on to
    ``final_answer``.
    """
    state = {**inputs, **state}
    must = {n: state[n] for n in sorted(unread) if n in state}
    variables = {n: v for n, v in state.items() if n not in must}
    return ProgramSpec.for_inputs(tools, must, state=variables, rich=rich, explanation_prefix=THOUGHT,
                                  final_tool=FINAL_TOOL, must_finish=last, task=task,
                                  done_lines={line + "\n" for code in done for line in code.splitlines()})


def perform_react(stages: Stages, task: str, inputs: Mapping[str, Any], *,
                  template: PromptTemplate) -> Run:
    """Run the ReAct loop (at most ``stages.settings.max_steps`` steps); returns the Run."""
    max_steps = stages.settings.max_steps
    started = time.perf_counter()
    run = Run(task=task, kind="react", inputs=describe_inputs(inputs))
    holder: dict[str, Any] = {"answer": _NOT_SET}
    final = _final_answer_tool(holder)
    state: dict[str, Any] = dict(inputs)
    steps: list[Step] = []
    prints: list[str] = []
    codes: list[str] = []
    unread = set(inputs)
    facts: dict[str, Any] = {}
    try:
        run, routing = stages.begin(run, task, inputs)
        if routing is not None and routing.error is not None:  # say so before any tool runs
            raise routing.error
        prompt = stages.prompt(task, inputs, template=template, examples=[])
        tools = stages.tools_of(prompt)
        tools[FINAL_TOOL] = final
        messages = list(prompt.messages)
        run = run.with_changes(stop=prompt.stop, dropped=prompt.dropped, prompt=prompt.text)
        for index in range(max_steps):
            constraint = stages.constraint(lambda index=index, unread=unread: step_spec(
                tools, inputs, state, unread=unread, last=index == max_steps - 1,
                rich=stages.settings.rich_grammar, done=codes, task=task))
            t0 = time.perf_counter()
            completion = stages.generate(messages, stop=prompt.stop, constraint=constraint)
            t_gen = time.perf_counter() - t0
            facts = dict(completion.facts)
            error: NbAgentsError | None = None
            code = ""
            value = None
            step_prints = ""
            t1 = time.perf_counter()
            try:
                code = parse(completion.text).code
                unread -= _names(code, ast.Load)
                execution = stages.interpreter.run(ending_with_result(code), tools, state)
                value, step_prints = execution.value, execution.prints
                if RESULT_NAME in _names(code, ast.Store):  # the next step builds on it
                    unread.add(RESULT_NAME)
            except ParseError as e:
                error = e
            except ApprovalError:  # a call that was not approved ends the run (the tool did not run)
                raise
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
        run = failed(run, e)
    last_step = steps[-1] if steps else None
    return run.with_changes(
        facts={**run.facts, **facts},
        steps=tuple(steps),
        code="\n\n".join(codes),
        raw_output=last_step.raw_output if last_step else "",
        prompt=last_step.prompt if last_step and last_step.prompt else run.prompt,
        prints="".join(prints),
        timings={
            "prompt": stages.timings.get("prompt", 0.0),
            "generate": sum(s.timings.get("generate", 0.0) for s in steps),
            "execute": sum(s.timings.get("execute", 0.0) for s in steps),
            "total": time.perf_counter() - started,
        },
    )
