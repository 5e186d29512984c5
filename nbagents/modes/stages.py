"""The stages every mode is made of, in one place: build the prompt, ask the engine (with a
constraint it accepts, typed failure and timing), parse and run a program, and send a failure back
for one repair.

A mode (code, ReAct, plan) is a short loop over these. It is handed a :class:`Stages` (the engine,
the toolbox, the interpreter and the :class:`Settings`), not the Agent.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..engines.base import Completion, Engine
from ..errors import ConfigurationError, EngineError, NbAgentsError
from ..parsing import ending_with_result, parse
from ..prompts import Prompt, PromptTemplate, build_prompt
from ..results import wrap
from ..runs import ErrorInfo, Run, describe_value

if TYPE_CHECKING:  # the constraint values load with the first constrained request
    from ..grammar.constraint import Constraint
    from ..routing import Routing

__all__ = ["Settings", "Stages", "describe_inputs", "failed", "retry_messages"]

TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """What a mode needs to know from the agent's configuration, for one call.

    Attributes
    ----------
    max_new_tokens:
        The most tokens per answer.
    constrained:
        Ask for a constraint (a program grammar, a plan grammar or schema) where the engine
        accepts one.
    rich_grammar:
        The richer program grammar (loops, f-strings, free names) for stronger models.
    repair:
        Send a program that does not parse or run (or a plan that does not validate) back to the
        model once.
    max_steps:
        ReAct's step limit.
    route:
        Decide which tools the task needs before the model writes anything, and end the run with
        a :class:`~nbagents.errors.NoToolError` when no ready tool can do it: ``True``, ``False``
        or ``None`` (the engine's ``routes_tools``: local models yes, servers and fakes no).
    """

    max_new_tokens: int = 256
    constrained: bool = True
    rich_grammar: bool = False
    repair: bool = True
    max_steps: int = 5
    route: bool | None = None


def describe_inputs(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The inputs as the Run records them (a short description each); names must be usable as
    variables in agent code."""
    for name in inputs:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ConfigurationError(
                f"The input name {name!r} cannot be a variable in agent code.",
                hint="Use plain identifiers that do not start with an underscore.",
            )
    return {name: describe_value(value) for name, value in inputs.items()}


def _is_factory(value: Any) -> bool:
    """A function or method that makes the thing (an engine or interpreter is not one)."""
    return inspect.isfunction(value) or inspect.ismethod(value)


def failed(run: Run, error: NbAgentsError) -> Run:
    """``run`` with its typed error (and, from a reply cut off mid-stream, the text that came)."""
    partial = getattr(error, "partial_output", "")
    return run.with_changes(error=ErrorInfo.from_exception(error), exception=error,
                            raw_output=run.raw_output or partial)


def retry_messages(messages: Sequence[Mapping[str, str]], raw_output: str, failure: str,
                   error: Any, ask: str) -> list[dict[str, str]]:
    """The conversation for one repair: the model's answer, then what went wrong and what to write."""
    return [dict(m) for m in messages] + [
        {"role": "assistant", "content": raw_output},
        {"role": "user", "content": f"{failure}\nError: {error}\n{ask}"},
    ]


class Stages:
    """The stages of a run, over one engine, toolbox and interpreter.

    Parameters
    ----------
    engine:
        The engine, or a function that returns it (so that loading a model happens inside the
        mode, where a failure lands in the Run).
    toolbox:
        The tools by name.
    interpreter:
        The restricted interpreter (an :class:`~nbagents.interpreter.Interpreter`), or a function
        that returns it.
    settings:
        The call's :class:`Settings`.
    on_token:
        Called with each piece of streamed model output.

    ``timings`` collects the seconds per stage (``prompt``, ``generate``, ``parse``, ``execute``,
    ``repair``...) of the call.
    """

    def __init__(self, *, engine: Engine | Callable[[], Engine], toolbox: Mapping[str, Any],
                 interpreter: Any, settings: Settings, on_token: TokenCallback | None = None) -> None:
        self._engine = engine
        self.toolbox = toolbox
        self._interpreter = interpreter
        self.settings = settings
        self.on_token = on_token
        self.timings: dict[str, float] = {}
        self.declined: list[str] = []

    @property
    def engine(self) -> Engine:
        if _is_factory(self._engine):
            self._engine = self._engine()
        return self._engine

    @property
    def interpreter(self) -> Any:
        if _is_factory(self._interpreter):
            self._interpreter = self._interpreter()
        return self._interpreter

    def timed(self, stage: str, started: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started

    # --- prompt ------------------------------------------------------------------------------

    def prompt(self, task: str, inputs: Mapping[str, Any], *, template: PromptTemplate,
               **options: Any) -> Prompt:
        """The prompt for ``task`` (fitted to the engine's window), timed as ``prompt``."""
        t = time.perf_counter()
        try:
            return build_prompt(task, self.toolbox, inputs, template=template, engine=self.engine,
                                max_new_tokens=self.settings.max_new_tokens, **options)
        finally:
            self.timed("prompt", t)

    @staticmethod
    def with_prompt(run: Run, prompt: Prompt) -> Run:
        return run.with_changes(prompt=prompt.text, stop=prompt.stop, prompt_tokens=prompt.token_count,
                                dropped=prompt.dropped)

    def tools_of(self, prompt: Prompt) -> dict[str, Any]:
        """The tools the prompt shows (fitting may have dropped some)."""
        return {name: self.toolbox[name] for name in prompt.tools if name in self.toolbox}

    # --- route -------------------------------------------------------------------------------

    def route(self, task: str, inputs: Mapping[str, Any], *, state: Mapping[str, Any] | None = None,
              previous_code: str = "") -> Routing | None:
        """Which tools ``task`` needs, in order (:func:`~nbagents.routing.route`), over every tool
        the agent knows of, ready or not; ``None`` when routing is off. Timed as ``route``. The
        caller raises ``routing.error`` (before any tool runs) when it is set."""
        wanted = self.settings.route
        if wanted is False or (wanted is None and not getattr(self.engine, "routes_tools", False)):
            return None
        from ..routing import route_task

        t = time.perf_counter()
        try:
            return route_task(task, self.toolbox, inputs, state=state, previous_code=previous_code)
        finally:
            self.timed("route", t)

    def begin(self, run: Run, task: str, inputs: Mapping[str, Any], *,
              state: Mapping[str, Any] | None = None, previous_code: str = "") -> tuple[Run, Routing | None]:
        """The start of every mode: the engine (loaded here, so a failure lands in the Run) and
        :meth:`route`, both recorded in the Run (``engine``, ``model_id``, facts ``routing``).
        The caller raises ``routing.error`` when it is set: no ready tool can do the task, and no
        tool has run."""
        engine = self.engine
        run = run.with_changes(engine=engine.spec, model_id=engine.model_id)
        routing = self.route(task, inputs, state=state, previous_code=previous_code)
        if routing is not None:
            run = run.with_changes(facts={**run.facts, "routing": routing.describe()})
        return run, routing

    # --- generate ----------------------------------------------------------------------------

    def constraint(self, *candidates: Callable[[], Constraint | None]) -> Constraint | None:
        """The first candidate constraint the engine accepts, or ``None`` (unconstrained).

        Candidates are functions that build a constraint (or return ``None`` when there is none
        to build), tried in order: a local engine takes a grammar, a server a JSON schema. Nothing
        is asked for when the settings say unconstrained; the kinds the engine declined are kept
        in :attr:`declined` for the Run's facts.
        """
        if not self.settings.constrained:
            return None
        for build in candidates:
            constraint = build()
            if constraint is None:
                continue
            if self.engine.accepts(constraint):
                return constraint
            self.declined.append(constraint.kind)
        return None

    def generate(self, messages: Sequence[Mapping[str, str]], *, stop: Sequence[str] = (),
                 constraint: Constraint | None = None, stage: str = "generate") -> Completion:
        """Ask the engine; a backend failure that is not ours becomes an :class:`EngineError`.

        The completion's facts say whether it was ``constrained`` and, when the engine declined
        every candidate constraint, which kinds (``constraint_declined``); ``tokens_per_s`` is
        this call's, where the engine does not measure it itself."""
        t = time.perf_counter()
        try:
            completion = self.engine.generate(list(messages), stop=stop,
                                              max_new_tokens=self.settings.max_new_tokens,
                                              on_token=self.on_token, constraint=constraint)
        except NbAgentsError:
            raise
        except Exception as e:  # a backend failure that is not ours: keep it typed by stage
            raise EngineError(f"The engine failed: {type(e).__name__}: {e}") from e
        finally:
            seconds = time.perf_counter() - t
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        facts = dict(completion.facts)  # the engine's base already says whether it was constrained
        if constraint is None and self.declined:
            facts["constraint_declined"] = ", ".join(dict.fromkeys(self.declined))
        if completion.completion_tokens and seconds > 0:
            facts.setdefault("tokens_per_s", round(completion.completion_tokens / seconds, 2))
        return replace(completion, facts=facts)

    def repair(self, prompt: Prompt, raw_output: str, error: Any, *, failure: str, ask: str,
               constraint: Constraint | None = None) -> Completion | None:
        """The one repair of every mode: the model's answer goes back with what went wrong
        (``failure``, the error) and what to write (``ask``), under the same constraint; timed as
        ``repair``. ``None`` when the engine fails on it (the first try's error then stands)."""
        messages = retry_messages(prompt.messages, raw_output, failure, error, ask)
        if constraint is not None and not self.engine.accepts(constraint):
            constraint = None  # the server was found to ignore it meanwhile: free text now
        try:
            return self.generate(messages, stop=prompt.stop, constraint=constraint, stage="repair")
        except NbAgentsError:
            return None

    # --- parse and run -----------------------------------------------------------------------

    def execute(self, run: Run, code: str, tools: Mapping[str, Any], state: dict,
                inputs: Mapping[str, Any]) -> Run:
        """Run ``code`` against ``state`` (the inputs added); the value becomes the result."""
        state.update(inputs)
        t = time.perf_counter()
        try:
            execution = self.interpreter.run(ending_with_result(code), tools, state)
        except NbAgentsError as e:
            return failed(run, e).with_changes(timings={**run.timings, "execute": time.perf_counter() - t})
        return run.with_changes(
            result=wrap(execution.value),
            prints=execution.prints,
            timings={**run.timings, "execute": time.perf_counter() - t},
            facts={**run.facts, "operations": execution.operations,
                   "tool_calls": [name for name, _ in execution.tool_calls]},
        )

    def parse_and_execute(self, run: Run, *, execute: bool, tools: Mapping[str, Any], state: dict,
                          inputs: Mapping[str, Any]) -> Run:
        """Parse the run's raw output; run the code, or (``execute=False``) check that it could run."""
        t = time.perf_counter()
        try:
            parsed = parse(run.raw_output)
        except NbAgentsError as e:
            return failed(run, e)
        finally:
            self.timed("parse", t)
        run = run.with_changes(explanation=parsed.explanation, code=parsed.code)
        if execute:
            return self.execute(run, parsed.code, tools, state, inputs)
        if tools:
            try:  # refuse code that could never run before showing it as the answer
                self.interpreter.check(parsed.code, tools)
            except NbAgentsError as e:
                return failed(run, e)
        return run
