"""Plan mode: ask for a task graph, validate it, run it, then ask for the final response.

The plan is written under the first constraint the engine accepts: the plan grammar
(:func:`~nbagents.grammar.plan_grammar`, local engines: it always parses and validates), or the
plan's JSON schema (:func:`~nbagents.grammar.plan_schema`, servers with structured output);
otherwise the model writes freely and, with ``repair``, an invalid plan is sent back once with the
error. Tasks call their tools through the interpreter's tool-call path.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..errors import NbAgentsError, PlanError, ToolError
from ..grammar.plan import plan_grammar
from ..grammar.plan_schema import plan_schema
from ..kinds import is_media
from ..prompts import Prompt, PromptTemplate
from ..results import AgentGroup, AgentText, AgentType, wrap
from ..runs import Run, Step
from .stages import Stages, describe_inputs, failed
from .taskgraph import (
    PlanTask,
    TaskOutcome,
    failure_report,
    parse_plan,
    plan_to_json,
    run_plan,
    validate_plan,
)

__all__ = ["execute_plan", "perform_plan"]

_REPAIR_FAILURE = "That plan is not valid."
_REPAIR_ASK = "Write the corrected JSON list."


def perform_plan(stages: Stages, task: str, inputs: Mapping[str, Any], *, execute: bool) -> Run:
    """Generate a plan; with ``execute`` run it and write the response, else return it for review."""
    started = time.perf_counter()
    run = Run(task=task, kind="plan", inputs=describe_inputs(inputs))
    tasks: list[PlanTask] = []
    tools: dict[str, Any] = {}
    try:
        run, routing = stages.begin(run, task, inputs)
        if routing is not None and routing.error is not None:  # say so before any tool runs
            raise routing.error
        prompt = stages.prompt(task, inputs, template=PromptTemplate.load(None, default="plan"), examples=[])
        run = stages.with_prompt(run, prompt)
        tools = stages.tools_of(prompt)
        constraint = stages.constraint(lambda: plan_grammar(tools, inputs, forbid=prompt.stop, task=task),
                                       lambda: plan_schema(tools, inputs))
        completion = stages.generate(prompt.messages, stop=prompt.stop, constraint=constraint)
        run = run.with_changes(prompt=completion.prompt_text or prompt.text, raw_output=completion.text,
                               completion_tokens=completion.completion_tokens, facts={**run.facts, **completion.facts})
        t = time.perf_counter()
        try:
            tasks = validate_plan(parse_plan(completion.text), tools, inputs)
        except PlanError as e:
            if not stages.settings.repair:
                raise
            run, tasks, error = _repair(stages, run, prompt, e, tools, inputs, constraint)
            if error is not None:
                raise error from None
        stages.timed("parse", t)
        run = run.with_changes(code=plan_to_json(tasks))
    except NbAgentsError as e:
        run = failed(run, e)
    run = run.with_changes(timings={**stages.timings, "total": time.perf_counter() - started})
    if execute and run.ok:
        run = _execute(stages, run, tasks, tools, inputs, started=started)
    return run


def _repair(stages: Stages, run: Run, prompt: Prompt, error: PlanError, tools: Mapping[str, Any],
            inputs: Mapping[str, Any], constraint: Any) -> tuple[Run, list, PlanError | None]:
    """Send the invalid plan back once with the error (kept in the facts as ``first_error``):
    the Run of the second try, its tasks, and its error (or the first one if the engine failed)."""
    completion = stages.repair(prompt, run.raw_output, error, failure=_REPAIR_FAILURE, ask=_REPAIR_ASK,
                               constraint=constraint)
    if completion is None:
        return run, [], error
    run = run.with_changes(prompt=completion.prompt_text or run.prompt, raw_output=completion.text,
                           completion_tokens=(run.completion_tokens or 0) + (completion.completion_tokens or 0),
                           facts={**completion.facts, "first_error": str(error)[:1000],
                                  "first_output": run.raw_output[:2000]})
    try:
        return run, validate_plan(parse_plan(completion.text), tools, inputs), None
    except PlanError as e:
        return run, [], e


def execute_plan(stages: Stages, plan: str, inputs: Mapping[str, Any], *, task: str = "",
                 parent: str | None = None, respond: bool = True) -> Run:
    """Validate and run an (edited) plan; ``respond`` asks the model for the final response."""
    started = time.perf_counter()
    run = Run(task=task, kind="plan", inputs=describe_inputs(inputs), code=plan, parent=parent)
    tools = dict(stages.toolbox)
    try:
        tasks = validate_plan(parse_plan(plan), tools, inputs)
    except NbAgentsError as e:
        return failed(run, e).with_changes(timings={"total": time.perf_counter() - started})
    return _execute(stages, run, tasks, tools, inputs, started=started, respond=respond and bool(task))


def _summary(value: Any) -> str:
    if isinstance(value, AgentType):
        return value.summary()
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


def _call_text(task: PlanTask) -> str:
    return f"{task.task}({', '.join(f'{k}={v!r}' for k, v in task.args.items())})"


def _execute(stages: Stages, run: Run, tasks: list[PlanTask], tools: Mapping[str, Any],
             inputs: Mapping[str, Any], *, started: float, respond: bool = True) -> Run:
    t = time.perf_counter()
    interpreter = stages.interpreter

    def call(name: str, tool: Any, kwargs: Mapping[str, Any]) -> Any:
        return interpreter.call_tool(name, tool, kwargs).value

    outcomes: list[TaskOutcome] = run_plan(tasks, tools, inputs, caller=call)
    execute_time = time.perf_counter() - t
    by_id = {task.id: task for task in tasks}
    steps = tuple(
        Step(index=o.id, code=_call_text(by_id[o.id]),
             observation=_summary(o.result) if o.status == "done" else o.status,
             error=o.error, timings={"start": o.started, "end": o.finished})
        for o in outcomes
    )
    timings = {**run.timings, "execute": execute_time}
    run = run.with_changes(steps=steps, timings=timings)
    report = failure_report(outcomes)
    if report:
        err = ToolError(report, hint="See the failed task's message; the inspector shows every task.")
        return failed(run, err).with_changes(timings={**timings, "total": time.perf_counter() - started})
    results = [wrap(o.result) for o in outcomes]
    media = [r for r in results if is_media(r)]
    response = ""
    if respond:
        template = PromptTemplate.load(None, default="response")
        listed = "\n".join(f"- step {o.id} ({o.task}): {_summary(r)}" for o, r in zip(outcomes, results))
        messages = template.messages({"task": run.task, "results": listed})
        t = time.perf_counter()
        try:
            completion = stages.generate(messages, stop=template.stop, stage="respond")
        except NbAgentsError as e:
            return failed(run, e).with_changes(timings={**timings, "total": time.perf_counter() - started})
        timings["respond"] = time.perf_counter() - t
        response = completion.text.strip()
    last = results[-1] if results else None
    if response:
        result = AgentGroup([AgentText(response), *media]) if media else AgentText(response)
    else:
        result = AgentGroup(media) if len(media) > 1 else last
    return run.with_changes(result=result, timings={**timings, "total": time.perf_counter() - started})
