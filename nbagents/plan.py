"""Plan mode: ask for a task graph, validate it, run it, then ask for the final response."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import EngineError, NbAgentsError
from .prompts import PromptTemplate, _fill, build_prompt
from .results import AgentAudio, AgentGroup, AgentImage, AgentText, AgentType, wrap
from .runs import ErrorInfo, Run, Step
from .taskgraph import (
    TaskOutcome,
    failure_report,
    parse_plan,
    plan_to_json,
    run_plan,
    validate_plan,
)

if TYPE_CHECKING:  # pragma: no cover
    from .agent import Agent

__all__ = ["perform_plan", "execute_plan"]


def _generate(engine: Any, messages: list, stop: tuple, max_new_tokens: int, on_token: Any):
    try:
        return engine.generate(messages, stop=stop, max_new_tokens=max_new_tokens, on_token=on_token)
    except NbAgentsError:
        raise
    except Exception as e:
        raise EngineError(f"The engine failed: {type(e).__name__}: {e}") from e


def perform_plan(agent: Agent, task: str, inputs: Mapping[str, Any], *, execute: bool,
                 on_token: Callable[[str], None] | None, max_new_tokens: int) -> Run:
    """Generate a plan; with ``execute`` run it and write the response, else return it for review."""
    started = time.perf_counter()
    engine = agent.engine
    run = Run(task=task, kind="plan", inputs=agent._describe(inputs), engine=engine.spec,
              model_id=engine.model_id)
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        prompt = build_prompt(task, agent.toolbox, inputs, template=PromptTemplate.load(None, default="plan"),
                              engine=engine, max_new_tokens=max_new_tokens, examples=[])
        timings["prompt"] = time.perf_counter() - t
        run = run.with_changes(prompt=prompt.text, stop=prompt.stop, prompt_tokens=prompt.token_count,
                               dropped=prompt.dropped)
        t = time.perf_counter()
        completion = _generate(engine, list(prompt.messages), prompt.stop, max_new_tokens, on_token)
        timings["generate"] = time.perf_counter() - t
        run = run.with_changes(prompt=completion.prompt_text or prompt.text, raw_output=completion.text,
                               completion_tokens=completion.completion_tokens, facts=dict(completion.facts))
        tools = {name: agent.toolbox[name] for name in prompt.tools}
        t = time.perf_counter()
        tasks = validate_plan(parse_plan(completion.text), tools, inputs)
        timings["parse"] = time.perf_counter() - t
        run = run.with_changes(code=plan_to_json(tasks))
    except NbAgentsError as e:
        run = run.with_changes(error=ErrorInfo.from_exception(e), exception=e)
    run = run.with_changes(timings={**timings, "total": time.perf_counter() - started})
    if execute and run.ok:
        run = _execute(agent, run, tasks, tools, inputs, on_token=on_token, max_new_tokens=max_new_tokens,
                       started=started)
    return run


def execute_plan(agent: Agent, plan: str, inputs: Mapping[str, Any], *, task: str = "",
                 parent: str | None = None, respond: bool = True) -> Run:
    """Validate and run an (edited) plan; ``respond`` asks the model for the final response."""
    started = time.perf_counter()
    run = Run(task=task, kind="plan", inputs=agent._describe(inputs), code=plan, parent=parent)
    tools = dict(agent.toolbox)
    try:
        tasks = validate_plan(parse_plan(plan), tools, inputs)
    except NbAgentsError as e:
        return run.with_changes(error=ErrorInfo.from_exception(e), exception=e,
                                timings={"total": time.perf_counter() - started})
    return _execute(agent, run, tasks, tools, inputs, on_token=None, max_new_tokens=agent.max_new_tokens,
                    started=started, respond=respond and bool(task))


def _summary(value: Any) -> str:
    if isinstance(value, AgentType):
        return value.summary()
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


def _execute(agent: Agent, run: Run, tasks: list, tools: Mapping[str, Any], inputs: Mapping[str, Any], *,
             on_token: Any, max_new_tokens: int, started: float, respond: bool = True) -> Run:
    t = time.perf_counter()
    outcomes: list[TaskOutcome] = run_plan(tasks, tools, inputs)
    execute_time = time.perf_counter() - t
    steps = tuple(
        Step(index=o.id, code=f"{o.task}({', '.join(f'{k}={v!r}' for k, v in next(x for x in tasks if x.id == o.id).args.items())})",
             observation=_summary(o.result) if o.status == "done" else o.status,
             error=o.error, timings={"start": o.started, "end": o.finished})
        for o in outcomes
    )
    timings = {**run.timings, "execute": execute_time}
    run = run.with_changes(steps=steps, timings=timings)
    report = failure_report(outcomes)
    if report:
        from .errors import ToolError

        err = ToolError(report, hint="See the failed task's message; the inspector shows every task.")
        return run.with_changes(error=ErrorInfo.from_exception(err), exception=err,
                                timings={**timings, "total": time.perf_counter() - started})
    media = [wrap(o.result) for o in outcomes if isinstance(wrap(o.result), (AgentImage, AgentAudio))]
    response = ""
    if respond:
        template = PromptTemplate.load(None, default="response")
        results = "\n".join(f"- step {o.id} ({o.task}): {_summary(wrap(o.result))}" for o in outcomes)
        values = {"task": run.task, "results": results}
        messages = [{"role": "system", "content": _fill(template.system, values).strip()},
                    {"role": "user", "content": _fill(template.user, values).strip()}]
        t = time.perf_counter()
        try:
            completion = _generate(agent.engine, messages, template.stop, max_new_tokens, on_token)
        except NbAgentsError as e:
            return run.with_changes(error=ErrorInfo.from_exception(e), exception=e,
                                    timings={**timings, "total": time.perf_counter() - started})
        timings["respond"] = time.perf_counter() - t
        response = completion.text.strip()
    last = wrap(outcomes[-1].result) if outcomes else None
    if response:
        result = AgentGroup([AgentText(response), *media]) if media else AgentText(response)
    else:
        result = AgentGroup(media) if len(media) > 1 else last
    return run.with_changes(result=result, timings={**timings, "total": time.perf_counter() - started})
