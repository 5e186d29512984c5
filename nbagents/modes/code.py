"""Code mode: one program per task (and per chat turn), repaired once when it fails to parse or run.

On engines that accept one, the program is written under a :class:`~nbagents.grammar.ProgramSpec`
built from the tools the prompt shows and the inputs; other engines write freely.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NbAgentsError
from ..grammar import ProgramSpec
from ..interpreter.values import host_value
from ..parsing import RESULT_NAME
from ..prompts import Prompt, PromptTemplate, Turn
from ..routing.clauses import refers_back
from ..runs import Run, Step
from .stages import Stages, describe_inputs, failed

if TYPE_CHECKING:
    from ..routing import Routing

__all__ = ["perform_code"]

_REPAIR_FAILURE = "That failed."
_REPAIR_ASK = "Write the corrected code in a ```py block."


def perform_code(stages: Stages, task: str, inputs: Mapping[str, Any], *, template: PromptTemplate,
                 execute: bool = True, chat_state: dict | None = None,
                 chat_turns: list[Turn] | None = None) -> Run:
    """Ask for one program and run it (``execute=False``: only check it). Returns the Run whatever
    happens; a failure of any stage lands in ``run.error``.

    With ``chat_state`` (the chat's variables) and ``chat_turns`` (its earlier turns) this is one
    turn of a conversation: the program reads and leaves variables there, and the turn is added.
    """
    chat = chat_state is not None
    started = time.perf_counter()
    kind = "chat" if chat else ("run" if execute else "generate")
    run = Run(task=task, kind=kind, inputs=describe_inputs(inputs))
    try:
        previous = chat_turns[-1].code if chat and chat_turns else ""
        run, routing = stages.begin(run, task, inputs, state=chat_state if chat else None,
                                    previous_code=previous)
        if routing is not None and routing.error is not None:  # say so before any tool runs
            raise routing.error
        prompt = stages.prompt(task, inputs, template=template, history=chat_turns or (),
                               state_names=sorted(chat_state) if chat else ())
        run = stages.with_prompt(run, prompt)
        tools = stages.tools_of(prompt)
        state = chat_state if chat else {}
        # In a chat, an input given again (the same value) is already in the chat's variables:
        # the program may read it, but need not (it may work on the last result instead).
        fresh = {n: v for n, v in inputs.items() if not (chat and host_value(chat_state.get(n)) is v)}
        if chat and RESULT_NAME in chat_state and refers_back(task):  # "now make it louder": it is the result
            fresh.setdefault(RESULT_NAME, chat_state[RESULT_NAME])
        constraint = stages.constraint(lambda: ProgramSpec.for_inputs(
            tools, fresh, state=chat_state if chat else None, rich=stages.settings.rich_grammar,
            task=task, previous=previous or None, **_routed(routing, tools)))
        completion = stages.generate(prompt.messages, stop=prompt.stop, constraint=constraint)
        run = run.with_changes(
            prompt=completion.prompt_text or prompt.text,
            raw_output=completion.text,
            prompt_tokens=completion.prompt_tokens or prompt.token_count,
            completion_tokens=completion.completion_tokens,
            facts={**run.facts, **completion.facts},
        )
        run = stages.parse_and_execute(run, execute=execute, tools=tools, state=state, inputs=inputs)
        if stages.settings.repair and run.error is not None and run.error.stage in ("parse", "interpreter"):
            run = _repair(stages, run, prompt, constraint, execute=execute, tools=tools, state=state,
                          inputs=inputs, chat=chat)
        if chat and execute and run.code:
            outcome = f"Result: {run.result_summary()}" if run.ok else f"Error: {run.error.message}"
            chat_turns.append(Turn(task, run.code, outcome[:300]))
    except NbAgentsError as e:
        run = failed(run, e)
    return run.with_changes(timings={**stages.timings, **run.timings, "total": time.perf_counter() - started})


def _routed(routing: Routing | None, tools: Mapping[str, Any]) -> dict[str, Any]:
    """The program grammar's options from the routing: the tool of each step in the task's order
    (the simple grammar writes one line per step: no steps the task did not ask for), the
    routing's scores as the tool prior, and the columns of the table files the task names."""
    if routing is None:
        return {}
    files = {"file_tables": dict(routing.tables)} if routing.tables else {}
    if not routing.expected or not all(n in tools for n in routing.expected):
        return files
    return {"expected_tools": routing.steps, "tool_prior": dict(routing.prior), **files}


def _repair(stages: Stages, run: Run, prompt: Prompt, constraint: Any, *, execute: bool,
            tools: Mapping[str, Any], state: dict, inputs: Mapping[str, Any], chat: bool) -> Run:
    """Send the error back once and run the corrected program; the first try becomes a Step.

    When the engine fails on the repair request the first try's error stands."""
    first = Step(index=0, prompt=run.prompt, raw_output=run.raw_output, code=run.code,
                 observation=f"Error: {run.error}", error=run.error, timings=dict(stages.timings))
    completion = stages.repair(prompt, run.raw_output, run.error, failure=_REPAIR_FAILURE, ask=_REPAIR_ASK,
                               constraint=constraint)
    if completion is None:
        return run.with_changes(steps=(first,))
    if not chat:  # a one-shot run starts again from its inputs
        state.clear()
    state.update(inputs)
    repaired = run.with_changes(
        prompt=completion.prompt_text or run.prompt, raw_output=completion.text, error=None,
        exception=None, explanation="", code="", steps=(first,),
        completion_tokens=(run.completion_tokens or 0) + (completion.completion_tokens or 0),
    )
    return stages.parse_and_execute(repaired, execute=execute, tools=tools, state=state, inputs=inputs)
