"""Plan mode (HuggingGPT-style): the model writes a task graph, we validate and run it.

A plan is a JSON list of ``{"task": tool, "id": N, "dep": [ids], "args": {name: value}}``. A value
may be a literal, ``"<GENERATED>-N"`` (the result of task N) or ``"<INPUT>-name"`` (an input).
Validation refuses unknown tools, unknown or missing arguments, dangling references and cycles.
Independent tasks run at the same time in threads (a tool that is not ``thread_safe`` runs one
call at a time); a task runs as soon as its dependencies are done; a failed task is reported with
the tasks that depended on it. Tool calls take JSON data and references only — no code runs.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..errors import NbAgentsError, PlanError, closest_names
from ..grammar.references import GENERATED, INPUT, references
from ..runs import ErrorInfo

__all__ = ["PlanTask", "TaskOutcome", "ToolCaller", "parse_plan", "plan_to_json", "run_plan",
           "validate_plan"]

#: How a plan calls one tool: ``caller(name, tool, kwargs) -> value``; raises an NbAgentsError
#: (the interpreter's tool-call path: the same errors, limits and approvals as in a program).
ToolCaller = Callable[[str, Any, Mapping[str, Any]], Any]



@dataclass(frozen=True)
class PlanTask:
    id: int
    task: str
    dep: tuple[int, ...] = ()
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskOutcome:
    """What happened to one task."""

    id: int
    task: str
    status: str  # "done", "failed", "skipped"
    result: Any = None
    error: ErrorInfo | None = None
    started: float = 0.0
    finished: float = 0.0
    blocked_by: tuple[int, ...] = ()


def _find_json_list(raw: str) -> str:
    fenced = re.search(r"```(?:json)?\s*\n(.*?)(?:```|\Z)", raw, re.S)
    text = fenced.group(1) if fenced else raw
    start = text.find("[")
    if start == -1:
        raise PlanError("The model's output has no JSON list of tasks.\nThe model wrote:\n" + raw[:1500])
    depth = 0
    in_str = False
    escape = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise PlanError("The JSON list of tasks is not closed (the output may have been cut off).\n"
                    "The model wrote:\n" + raw[:1500])


def parse_plan(raw: str) -> list[PlanTask]:
    """Read the task list from the model's output (a JSON list, fenced or not)."""
    try:
        data = json.loads(_find_json_list(raw))
    except json.JSONDecodeError as e:
        raise PlanError(f"The plan is not valid JSON: {e}.") from None
    tasks = []
    for n, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise PlanError(f"Item {n} of the plan is not an object: {item!r}.")
        if not isinstance(item.get("task"), str):
            raise PlanError("A task needs a tool name in \"task\".", task_id=item.get("id", n))
        tid = item.get("id", n)
        if isinstance(tid, bool) or not isinstance(tid, int):
            raise PlanError(f"The id {tid!r} is not a number.", task_id=tid)
        dep = item.get("dep", [])
        dep = [dep] if isinstance(dep, int) else dep
        if not isinstance(dep, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dep):
            raise PlanError(f"\"dep\" must be a list of task ids, got {dep!r}.", task_id=tid)
        args = item.get("args", {})
        if not isinstance(args, Mapping):
            raise PlanError(f"\"args\" must be an object, got {args!r}.", task_id=tid)
        # null leaves an optional parameter out (what a strict JSON schema writes for it)
        args = {k: v for k, v in args.items() if v is not None}
        tasks.append(PlanTask(tid, item["task"], tuple(d for d in dep if d != -1), args))
    if not tasks:
        raise PlanError("The plan is empty.")
    return tasks


def validate_plan(tasks: list[PlanTask], tools: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[PlanTask]:
    """Check tools, arguments, references and cycles; return the tasks with references added to
    their dependencies, in a runnable (topological) order."""
    ids = [t.id for t in tasks]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PlanError(f"The ids {dupes} are used more than once.")
    known = set(ids)
    out = []
    for t in tasks:
        if t.task not in tools:
            close = closest_names(t.task, tools)
            raise PlanError(
                f"{t.task!r} is not a tool.",
                task_id=t.id,
                hint=(f"Closest tools: {', '.join(close)}. " if close else "")
                + f"Available tools: {', '.join(sorted(tools))}.",
            )
        tool = tools[t.task]
        params = {i.name: i for i in tool.inputs}
        unknown = [a for a in t.args if a not in params]
        if unknown:
            raise PlanError(f"{t.task} has no argument {', '.join(map(repr, unknown))}; "
                            f"it takes {tool.signature(short=True)}.", task_id=t.id)
        missing = [n for n, i in params.items() if i.required and n not in t.args]
        if missing:
            raise PlanError(f"{t.task} needs the argument {', '.join(map(repr, missing))}; "
                            f"it takes {tool.signature(short=True)}.", task_id=t.id)
        gen, inp = references(dict(t.args))
        dangling = sorted((gen | set(t.dep)) - known)
        if dangling:
            raise PlanError(f"It refers to task {', '.join(map(str, dangling))}, which is not in the plan.",
                            task_id=t.id)
        missing_inputs = sorted(inp - set(inputs))
        if missing_inputs:
            raise PlanError(f"It refers to the input {', '.join(map(repr, missing_inputs))}, which was not "
                            f"given (inputs: {', '.join(inputs) or 'none'}).", task_id=t.id)
        if t.id in gen or t.id in t.dep:
            raise PlanError("It depends on itself.", task_id=t.id)
        out.append(PlanTask(t.id, t.task, tuple(sorted(set(t.dep) | gen)), t.args))
    return _toposort(out)


def _toposort(tasks: list[PlanTask]) -> list[PlanTask]:
    by_id = {t.id: t for t in tasks}
    state: dict[int, int] = {}  # 1 visiting, 2 done
    order: list[PlanTask] = []

    def visit(tid: int, path: list[int]) -> None:
        if state.get(tid) == 2:
            return
        if state.get(tid) == 1:
            cycle = path[path.index(tid):] + [tid]
            raise PlanError("The plan has a cycle: " + " -> ".join(map(str, cycle)) + ".",
                            hint="Each task may depend only on tasks that come before it.")
        state[tid] = 1
        for d in by_id[tid].dep:
            visit(d, path + [tid])
        state[tid] = 2
        order.append(by_id[tid])

    for t in tasks:
        visit(t.id, [])
    return order


def _resolve(value: Any, results: Mapping[int, Any], inputs: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        m = GENERATED.match(value.strip())
        if m:
            return results[int(m.group(1))]
        m = INPUT.match(value.strip())
        if m:
            return inputs[m.group(1)]
        return value
    if isinstance(value, list):
        return [_resolve(v, results, inputs) for v in value]
    if isinstance(value, Mapping):
        return {k: _resolve(v, results, inputs) for k, v in value.items()}
    return value


def run_plan(tasks: list[PlanTask], tools: Mapping[str, Any], inputs: Mapping[str, Any], *,
             caller: ToolCaller, max_workers: int = 4) -> list[TaskOutcome]:
    """Run validated tasks: each as soon as its dependencies are done, independent ones in parallel.

    Every tool call goes through ``caller`` (the interpreter's :meth:`call_tool`), so a failing
    tool gives the same typed error as in a program. A tool that is not ``thread_safe`` runs one
    call at a time."""
    locks = {name: threading.Lock() for name in {t.task for t in tasks}}
    pending = {t.id: t for t in tasks}
    results: dict[int, Any] = {}
    outcomes: dict[int, TaskOutcome] = {}
    origin = time.perf_counter()

    def call(t: PlanTask) -> TaskOutcome:
        tool = tools[t.task]
        start = time.perf_counter() - origin
        kwargs = {k: _resolve(v, results, inputs) for k, v in t.args.items()}
        try:
            if getattr(tool, "thread_safe", True):
                value = caller(t.task, tool, kwargs)
            else:
                with locks[t.task]:
                    value = caller(t.task, tool, kwargs)
        except NbAgentsError as e:
            return TaskOutcome(t.id, t.task, "failed", error=ErrorInfo.from_exception(e), started=start,
                               finished=time.perf_counter() - origin)
        return TaskOutcome(t.id, t.task, "done", result=value, started=start, finished=time.perf_counter() - origin)

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="nbagents-plan") as pool:
        running: dict[Future, int] = {}
        while pending or running:
            for tid, t in list(pending.items()):
                failed = [d for d in t.dep if d in outcomes and outcomes[d].status != "done"]
                if failed:
                    outcomes[tid] = TaskOutcome(tid, t.task, "skipped", blocked_by=tuple(failed))
                    del pending[tid]
                elif all(d in results for d in t.dep):
                    running[pool.submit(call, t)] = tid
                    del pending[tid]
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                tid = running.pop(fut)
                outcome = fut.result()
                outcomes[tid] = outcome
                if outcome.status == "done":
                    results[tid] = outcome.result
    return [outcomes[t.id] for t in tasks if t.id in outcomes]


def plan_to_json(tasks: list[PlanTask]) -> str:
    """The plan as the editable JSON text shown in review mode."""
    return json.dumps(
        [{"task": t.task, "id": t.id, "dep": list(t.dep), "args": dict(t.args)} for t in tasks], indent=2
    )


def failure_report(outcomes: list[TaskOutcome]) -> str:
    """Failed tasks with what depended on them."""
    lines = []
    blocked = {x.id: set(x.blocked_by) for x in outcomes if x.status == "skipped"}

    def downstream(tid: int) -> list[int]:
        found: set[int] = set()
        frontier = {tid}
        while frontier:
            nxt = {sid for sid, by in blocked.items() if by & frontier and sid not in found}
            found |= nxt
            frontier = nxt
        return sorted(found)

    for o in outcomes:
        if o.status == "failed":
            dependents = downstream(o.id)
            line = f"Task {o.id} ({o.task}) failed: {o.error.message if o.error else 'unknown error'}"
            if dependents:
                line += f" — skipped because of it: {', '.join(map(str, dependents))}"
            lines.append(line)
    return "\n".join(lines)
