"""Plan mode: ask for a task graph, validate it, run it, then ask for the final response."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import EngineError, NbAgentsError, PlanError
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


def _generate(engine: Any, messages: list, stop: tuple, max_new_tokens: int, on_token: Any, **options: Any):
    try:
        return engine.generate(messages, stop=stop, max_new_tokens=max_new_tokens, on_token=on_token, **options)
    except NbAgentsError:
        raise
    except Exception as e:
        raise EngineError(f"The engine failed: {type(e).__name__}: {e}") from e


def plan_options(agent: Agent, engine: Any, tools: Mapping[str, Any], inputs: Mapping[str, Any], *,
                 constrained: bool | None, stop: tuple = (), task: str = "") -> dict[str, Any]:
    """``grammar=`` the plan grammar for engines that decode under a grammar, else nothing."""
    constrained = agent.constrained if constrained is None else constrained
    if not constrained or not getattr(engine, "supports_grammar", False):
        return {}
    from .grammar.plan import plan_grammar

    grammar = plan_grammar(tools, inputs, forbid=stop, task=task)
    return {"grammar": grammar} if grammar is not None else {}


def perform_plan(agent: Agent, task: str, inputs: Mapping[str, Any], *, execute: bool,
                 on_token: Callable[[str], None] | None, max_new_tokens: int,
                 constrained: bool | None = None) -> Run:
    """Generate a plan; with ``execute`` run it and write the response, else return it for review.

    With ``constrained`` (default: the agent's) and an engine that supports grammars, the plan is
    decoded under the grammar of :func:`~nbagents.constrain.plan_grammar.plan_grammar`, so it
    always parses and validates; otherwise the model writes freely and, with ``agent.repair``, an
    invalid plan is sent back once with the error.
    """
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
        tools = {name: agent.toolbox[name] for name in prompt.tools}
        options = plan_options(agent, engine, tools, inputs, constrained=constrained, stop=prompt.stop,
                               task=task)
        t = time.perf_counter()
        completion = _generate(engine, list(prompt.messages), prompt.stop, max_new_tokens, on_token, **options)
        timings["generate"] = time.perf_counter() - t
        run = run.with_changes(prompt=completion.prompt_text or prompt.text, raw_output=completion.text,
                               completion_tokens=completion.completion_tokens,
                               facts={**completion.facts, "constrained": bool(options)})
        t = time.perf_counter()
        try:
            tasks = validate_plan(parse_plan(completion.text), tools, inputs)
        except PlanError as e:
            if not agent.repair:
                raise
            run, tasks, error = _repair(agent, run, prompt, e, tools, inputs, on_token=on_token,
                                        max_new_tokens=max_new_tokens, options=options, timings=timings)
            if error is not None:
                raise error from None
        timings["parse"] = time.perf_counter() - t
        run = run.with_changes(code=plan_to_json(tasks))
    except NbAgentsError as e:
        run = run.with_changes(error=ErrorInfo.from_exception(e), exception=e)
    run = run.with_changes(timings={**timings, "total": time.perf_counter() - started})
    if execute and run.ok:
        run = _execute(agent, run, tasks, tools, inputs, on_token=on_token, max_new_tokens=max_new_tokens,
                       started=started)
    return run


def _repair(agent: Agent, run: Run, prompt: Any, error: PlanError, tools: Mapping[str, Any],
            inputs: Mapping[str, Any], *, on_token: Any, max_new_tokens: int, options: Mapping[str, Any],
            timings: dict[str, float]) -> tuple[Run, list, PlanError | None]:
    """Send the invalid plan back once with the error (kept in the facts as ``first_error``):
    the Run of the second try, its tasks, and its error (or the first one if the engine failed)."""
    messages = list(prompt.messages) + [
        {"role": "assistant", "content": run.raw_output},
        {"role": "user", "content": f"That plan is not valid.\nError: {error}\nWrite the corrected JSON list."},
    ]
    t = time.perf_counter()
    try:
        completion = _generate(agent.engine, messages, prompt.stop, max_new_tokens, on_token, **options)
    except NbAgentsError:
        return run, [], error
    finally:
        timings["repair"] = time.perf_counter() - t
    run = run.with_changes(prompt=completion.prompt_text or run.prompt, raw_output=completion.text,
                           completion_tokens=(run.completion_tokens or 0) + (completion.completion_tokens or 0),
                           facts={**completion.facts, "constrained": bool(options),
                                  "first_error": str(error)[:1000], "first_output": run.raw_output[:2000]})
    try:
        return run, validate_plan(parse_plan(completion.text), tools, inputs), None
    except PlanError as e:
        return run, [], e


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
