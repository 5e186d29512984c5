"""The Agent: task → prompt → model → code → restricted interpreter → result, every step recorded."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .engines.base import Engine
from .engines.registry import load_engine
from .errors import ConfigurationError, NbAgentsError
from .modes.stages import Settings, Stages, describe_inputs
from .prompts import PromptTemplate, Turn
from .runs import Run
from .tools.base import Toolbox

__all__ = ["Agent", "WARM_UP_TASK", "WARM_UP_ENV"]

#: The task :meth:`Agent.warm_up` prepares with: only the prompt's fixed part, which every task
#: shares, is what the warm-up is for.
WARM_UP_TASK = "Say hello."
#: ``0``/``off`` here stops ``%load_ext nbagents`` from warming the kernel's agent up in the background.
WARM_UP_ENV = "NBAGENTS_WARM_UP"

log = logging.getLogger("nbagents")

TokenCallback = Callable[[str], None]


class Agent:
    """An agent that answers a task by writing a tool program and running it.

    Parameters
    ----------
    engine:
        An :class:`~nbagents.engines.Engine` or a spec string (``"default"``, ``"local:<id>"``,
        ``"endpoint:<url>"``, ``"openai:<model>"``, ``"fake:"``). ``None`` is the embedded default
        model. The engine is created on first use.
    tools:
        Tools (or ``@tool`` functions) added to the toolbox.
    add_default_tools:
        Start from the default toolbox.
    run_prompt_template, chat_prompt_template:
        Override the prompts: a template string, a file path or a ``PromptTemplate``.
    additional_tools:
        Alias of ``tools`` (the Transformers Agents name).
    max_new_tokens:
        The most tokens the model may write per answer.
    isolation:
        ``"none"`` runs code in the kernel's restricted interpreter (a guard rail); ``"process"``
        runs it in a separate, resource-limited process (the security boundary).
    limits:
        :class:`~nbagents.interpreter.Limits` for the interpreter.
    store:
        Where finished runs are also written (an object with ``add(run)``, e.g. the SQLite
        history); ``None`` keeps them in memory only.
    mode:
        ``"code"`` (one program per task), ``"react"`` (thought → code → observation steps until
        ``final_answer``) or ``"plan"`` (a JSON task graph run with independent tasks in parallel).
    max_steps:
        The step limit in ReAct mode.
    repair:
        In code mode, when the program does not parse or the interpreter refuses it, send the
        error back to the model once and run its corrected program.
    constrained:
        On engines that support it (local models), decode under a grammar built from the toolbox
        and the inputs, so the program always parses and calls only existing tools with their own
        parameter names. ``False`` lets the model write freely.
    rich_grammar:
        With ``constrained``, allow a richer program grammar (loops, f-strings, free variable
        names) for stronger models; the interpreter still checks everything.
    route:
        Decide which tools the task needs before the model writes (by meaning, with the packaged
        sentence-embedding model, and by words), and end the run with a
        :class:`~nbagents.errors.NoToolError` naming the tool that would do it, what it lacks and
        the command that gets it, when no ready tool can. ``None`` (default): for local models
        (``engine.routes_tools``), whose small models need it; servers' models choose their own
        tools unless ``True``; ``False``: never.
    """

    def __init__(
        self,
        engine: Engine | str | None = None,
        tools: Iterable[Any] | None = None,
        *,
        add_default_tools: bool = True,
        run_prompt_template: str | Path | PromptTemplate | None = None,
        chat_prompt_template: str | Path | PromptTemplate | None = None,
        additional_tools: Iterable[Any] | None = None,
        max_new_tokens: int = 256,
        isolation: str = "none",
        limits: Any = None,
        store: Any = None,
        mode: str = "code",
        max_steps: int = 5,
        repair: bool = True,
        constrained: bool = True,
        rich_grammar: bool = False,
        route: bool | None = None,
        approvals: Mapping[str, str] | None = None,
    ) -> None:
        if mode not in ("code", "react", "plan"):
            raise ConfigurationError(f"mode must be 'code', 'react' or 'plan', not {mode!r}.")
        if max_steps < 1:
            raise ConfigurationError(f"max_steps must be at least 1, not {max_steps}.")
        if isolation not in ("none", "process"):
            raise ConfigurationError(
                f"isolation must be 'none' or 'process', not {isolation!r}.",
                hint="'process' runs the code in a separate, resource-limited process.",
            )
        self._engine: Engine | None = engine if isinstance(engine, Engine) else None
        self._engine_lock = threading.Lock()  # the engine is made once, also with a warm-up thread
        self._engine_spec = engine if isinstance(engine, str) or engine is None else None
        if engine is not None and not isinstance(engine, (Engine, str)):
            raise ConfigurationError(f"engine must be an Engine or a spec string, not {type(engine).__name__}.")
        self.toolbox = Toolbox()
        if add_default_tools:
            from .tools.defaults import default_tools

            for t in default_tools():
                self.toolbox.add(t)
        for t in list(tools or []) + list(additional_tools or []):
            self.toolbox.add(t)
        self.run_prompt_template = PromptTemplate.load(run_prompt_template, default="run")
        self.chat_prompt_template = PromptTemplate.load(chat_prompt_template, default="chat")
        self.max_new_tokens = max_new_tokens
        self._isolation = isolation
        self.limits = limits
        self.store = store
        self.mode = mode
        self.max_steps = max_steps
        self.repair = repair
        self.constrained = constrained
        self.rich_grammar = rich_grammar
        self.route = route
        self.history: list[Run] = []
        from .approvals import Gate, Policies

        self.gate = Gate(Policies(approvals), self._tool_named)
        self._interpreter = None
        self.prepare_for_new_chat()

    # --- engine and interpreter --------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine (created, and for local models loaded, on first use)."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = load_engine(self._engine_spec)
        return self._engine

    @engine.setter
    def engine(self, value: Engine | str | None) -> None:
        self._engine = value if isinstance(value, Engine) else None
        self._engine_spec = None if isinstance(value, Engine) else value

    @property
    def engine_spec(self) -> str:
        """The engine's spec, without creating or loading it."""
        if self._engine is not None:
            return self._engine.spec or "default"
        return self._engine_spec or "default"

    @property
    def created_engine(self) -> Engine | None:
        """The engine if it was already created, else ``None`` (never loads a model)."""
        return self._engine

    @property
    def isolation(self) -> str:
        return self._isolation

    @isolation.setter
    def isolation(self, value: str) -> None:
        if value not in ("none", "process"):
            raise ConfigurationError(f"isolation must be 'none' or 'process', not {value!r}.")
        if value != self._isolation:
            self._close_interpreter()
            self._isolation = value

    def _close_interpreter(self) -> None:
        close = getattr(self._interpreter, "close", None)
        if callable(close):
            close()
        self._interpreter = None

    @contextmanager
    def using(self, *, engine: Engine | str | None = None, isolation: str | None = None) -> Iterator[Agent]:
        """Use another engine and/or isolation for the duration of a ``with`` block."""
        saved_engine = (self._engine, self._engine_spec)
        saved_isolation = self._isolation
        try:
            if engine is not None:
                self.engine = engine
            if isolation is not None:
                self.isolation = isolation
            yield self
        finally:
            if engine is not None:
                self._engine, self._engine_spec = saved_engine
            self.isolation = saved_isolation

    @property
    def interpreter(self):
        if self._interpreter is None:
            from .interpreter import Interpreter

            self._interpreter = Interpreter(limits=self.limits, isolation=self.isolation)
            self._interpreter.before_tool_call = self.gate
        return self._interpreter

    def _tool_named(self, name: str) -> Any:
        return self.toolbox[name] if name in self.toolbox else None

    def approve(self, name: str, policy: str) -> None:
        """Set the approval policy of the tool ``name``: ``"allow"``, ``"ask"`` or ``"deny"``."""
        self.gate.policies.set(name, policy)

    @property
    def last_run(self) -> Run | None:
        """The most recent run, or ``None``."""
        return self.history[-1] if self.history else None

    # --- public API --------------------------------------------------------------------------

    def run(self, task: str, *, return_code: bool = False, **inputs: Any) -> Any:
        """Solve ``task`` once and return the result.

        ``inputs`` are passed to the program as variables of the same names. With
        ``return_code=True`` the generated code is returned instead of being run.
        Raises the run's typed error if any stage fails (the Run is in ``agent.history``).
        """
        run = self.perform(task, inputs, execute=not return_code)
        if run.exception is not None:
            raise run.exception
        return run.code if return_code else run.result

    def chat(self, task: str, **inputs: Any) -> Any:
        """Like :meth:`run`, but the conversation and its variables carry over between calls."""
        run = self.perform(task, inputs, chat=True)
        if run.exception is not None:
            raise run.exception
        return run.result

    def prepare_for_new_chat(self) -> None:
        """Forget the chat history and the chat's variables."""
        self.chat_state: dict[str, Any] = {}
        self.chat_turns: list[Turn] = []

    def generate_code(self, task: str, **inputs: Any) -> Run:
        """Ask the model for code without running it; returns the Run (``run.code``)."""
        return self.perform(task, inputs, execute=False)

    def execute(self, code: str, *, chat: bool = False, parent: str | None = None, task: str = "",
                **inputs: Any) -> Run:
        """Run ``code`` in the restricted interpreter (no model); returns the Run.

        ``chat=True`` runs it against the chat's variables. ``parent`` links the Run to the run
        whose code was edited.
        """
        started = time.perf_counter()
        state = self.chat_state if chat else {}
        run = Run(task=task, kind="execute", inputs=describe_inputs(inputs), code=code, parent=parent,
                  engine="", model_id="")
        run = self._stages().execute(run, code, dict(self.toolbox), state, inputs)
        run = run.with_changes(timings={**run.timings, "total": time.perf_counter() - started})
        return self._record(run)

    def execute_plan(self, plan: str, *, task: str = "", parent: str | None = None, respond: bool = True,
                     **inputs: Any) -> Run:
        """Validate and run a plan (JSON task list, e.g. edited in review mode); returns the Run.

        With a ``task`` and ``respond=True`` the model writes the final response from the results.
        """
        from .modes import execute_plan

        return self._record(execute_plan(self._stages(), plan, inputs, task=task, parent=parent,
                                         respond=respond))

    # --- warming up ----------------------------------------------------------------------------

    def warm_up(self) -> dict[str, float]:
        """Get ready now for the first task, instead of during it: load the engine (a local model),
        load the router's sentence encoder and its tool-description vectors, and, on a local engine,
        run the prompt's fixed part (instructions, tools, examples) once, so that its key/value cache
        is kept for the first real prompt, which then pays only for its own task's tokens.

        Safe to call from a background thread (``%load_ext nbagents`` does, see
        :data:`WARM_UP_ENV`): every part takes the same lock the first task would, so the task
        waits for what is half-done instead of doing it twice. Nothing is recorded in the history.
        Returns the seconds each part took (``engine``, ``route``, ``prefill``).
        """
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        engine = self.engine
        load = getattr(engine, "load", None)
        if callable(load):
            load()
        seconds["engine"] = time.perf_counter() - started
        stages = self._stages(max_new_tokens=1)
        with contextlib.suppress(NbAgentsError):  # a task no tool can do is not a warm-up failure
            stages.route(WARM_UP_TASK, {})
        seconds["route"] = stages.timings.get("route", 0.0)
        warm = getattr(engine, "warm_up", None)  # a local engine: it keeps the prompt's prefix
        if callable(warm):
            t = time.perf_counter()
            prompt = stages.prompt(WARM_UP_TASK, {}, template=self.run_prompt_template)
            warm(list(prompt.messages))
            seconds["prefill"] = time.perf_counter() - t
        return seconds

    # --- the pipeline --------------------------------------------------------------------------

    def _stages(self, *, on_token: TokenCallback | None = None, max_new_tokens: int | None = None,
                max_steps: int | None = None, constrained: bool | None = None) -> Stages:
        """The stages of one call, over this agent's engine (loaded on first use), toolbox and
        interpreter, with its settings (the call's overrides on top)."""
        self.gate.take()  # decisions made outside a run are not this run's
        settings = Settings(
            max_new_tokens=max_new_tokens or self.max_new_tokens,
            constrained=self.constrained if constrained is None else constrained,
            rich_grammar=self.rich_grammar, repair=self.repair, max_steps=max_steps or self.max_steps,
            route=self.route)
        return Stages(engine=lambda: self.engine, toolbox=self.toolbox, interpreter=lambda: self.interpreter,
                      settings=settings, on_token=on_token)

    def perform(
        self,
        task: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        chat: bool = False,
        execute: bool = True,
        on_token: TokenCallback | None = None,
        max_new_tokens: int | None = None,
        max_steps: int | None = None,
        mode: str | None = None,
        constrained: bool | None = None,
    ) -> Run:
        """The whole pipeline, returning the Run record whatever happens (errors land in it).

        ``mode``, ``max_steps`` and ``constrained`` override the agent's own for this call.
        """
        mode = mode or self.mode
        if mode not in ("code", "react", "plan"):
            raise ConfigurationError(f"mode must be 'code', 'react' or 'plan', not {mode!r}.")
        if not isinstance(task, str) or not task.strip():
            raise ConfigurationError("The task is empty.", hint="Describe what the agent should do.")
        inputs = dict(inputs or {})
        stages = self._stages(on_token=on_token, max_new_tokens=max_new_tokens, max_steps=max_steps,
                              constrained=constrained)
        from .modes import perform_code, perform_plan, perform_react  # the modes load on first use
        if mode == "react" and not chat and execute:
            run = perform_react(stages, task, inputs, template=PromptTemplate.load(None, default="react"))
        elif mode == "plan" and not chat:
            run = perform_plan(stages, task, inputs, execute=execute)
        elif chat:
            run = perform_code(stages, task, inputs, template=self.chat_prompt_template, execute=execute,
                               chat_state=self.chat_state, chat_turns=self.chat_turns)
        else:
            run = perform_code(stages, task, inputs, template=self.run_prompt_template, execute=execute)
        return self._record(run)

    def _record(self, run: Run) -> Run:
        decisions = self.gate.take()
        if decisions:
            run = run.with_changes(facts={**run.facts, "approvals": [d.to_dict() for d in decisions]})
        self.history.append(run)
        if self.store is not None:
            try:
                self.store.add(run)
            except Exception:  # history is a convenience; never fail a run because of it
                log.warning("Could not write the run to the history store.", exc_info=True)
        return run

    def __repr__(self) -> str:
        return f"<Agent engine={self.engine_spec!r} mode={self.mode!r} tools={len(self.toolbox)}>"
