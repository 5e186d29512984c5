"""ReAct mode: thought → code → observation, one step at a time, until ``final_answer``.

The interpreter's variables carry across steps; what a step prints (or the error it raised) is
the observation the model reads before the next step, so it can correct itself. Each step is a
:class:`~nbagents.runs.Step` inside the Run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import EngineError, NbAgentsError, ParseError, StepLimitError
from .parsing import parse
from .prompts import PromptTemplate, build_prompt
from .results import wrap
from .runs import ErrorInfo, Run, Step
from .tools.base import FunctionTool

if TYPE_CHECKING:  # pragma: no cover
    from .agent import Agent

__all__ = ["perform_react", "observation_text"]

_MAX_OBSERVATION = 2000
_NOT_SET = object()


def observation_text(prints: str, value: Any = None, error: NbAgentsError | None = None) -> str:
    """What the model reads after a step: printed output, then the error or the last value."""
    parts = []
    if prints.strip():
        parts.append(prints.rstrip())
    if error is not None:
        parts.append(f"Error: {error}")
    elif not parts and value is not None:
        parts.append(f"Last value: {value!r}"[:_MAX_OBSERVATION])
    text = "\n".join(parts) or "(no output)"
    return text if len(text) <= _MAX_OBSERVATION else text[:_MAX_OBSERVATION] + "…"


def _final_answer_tool(holder: dict) -> FunctionTool:
    def final_answer(answer: Any) -> Any:
        """End the task and give the answer."""
        holder["answer"] = answer
        return answer

    return FunctionTool(final_answer)


def perform_react(
    agent: Agent,
    task: str,
    inputs: Mapping[str, Any],
    *,
    max_steps: int,
    on_token: Callable[[str], None] | None = None,
    max_new_tokens: int,
    template: PromptTemplate,
) -> Run:
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
    try:
        prompt = build_prompt(task, agent.toolbox, inputs, template=template, engine=engine,
                              max_new_tokens=max_new_tokens, examples=[])
        tools = {name: agent.toolbox[name] for name in prompt.tools}
        tools["final_answer"] = final
        messages = list(prompt.messages)
        run = run.with_changes(stop=prompt.stop, dropped=prompt.dropped, prompt=prompt.text)
        for index in range(max_steps):
            t0 = time.perf_counter()
            try:
                completion = engine.generate(messages, stop=prompt.stop, max_new_tokens=max_new_tokens,
                                             on_token=on_token)
            except NbAgentsError:
                raise
            except Exception as e:
                raise EngineError(f"The engine failed: {type(e).__name__}: {e}") from e
            t_gen = time.perf_counter() - t0
            error: NbAgentsError | None = None
            code = ""
            value = None
            step_prints = ""
            t1 = time.perf_counter()
            try:
                code = parse(completion.text).code
                execution = agent.interpreter.run(code, tools, state)
                value, step_prints = execution.value, execution.prints
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
