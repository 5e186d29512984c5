"""The Agent: task → prompt → model → code → restricted interpreter → result, every step recorded."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .engines.base import Engine
from .engines.registry import load_engine
from .errors import ConfigurationError, EngineError, NbAgentsError
from .parsing import parse
from .prompts import PromptTemplate, Turn, build_prompt
from .results import wrap
from .runs import ErrorInfo, Run, describe_value
from .tools.base import Toolbox

__all__ = ["Agent"]

RESULT_NAME = "result"


def _ending_with_result(code: str) -> str:
    """The prompt asks for the answer in ``result``: when the program assigns it at top level but
    ends with another statement (often a ``print``), its value is still the program's result."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code  # the interpreter reports it with the line
    if not tree.body:
        return code

    def stores_result(node: ast.AST) -> bool:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        return any(isinstance(n, ast.Name) and n.id == RESULT_NAME for t in targets for n in ast.walk(t))

    top_level = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not any(stores_result(n) for n in top_level):
        return code
    last = tree.body[-1]
    if stores_result(last) or (isinstance(last, ast.Expr) and isinstance(last.value, ast.Name)
                               and last.value.id == RESULT_NAME):
        return code
    return code.rstrip("\n") + f"\n{RESULT_NAME}"

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
        self.history: list[Run] = []
        self._interpreter = None
        self.prepare_for_new_chat()

    # --- engine and interpreter --------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine (created, and for local models loaded, on first use)."""
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
        return self._interpreter

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
        run = Run(task=task, kind="execute", inputs=self._describe(inputs), code=code, parent=parent,
                  engine="", model_id="")
        run = self._execute_stage(run, code, dict(self.toolbox), state, inputs)
        run = run.with_changes(timings={**run.timings, "total": time.perf_counter() - started})
        return self._record(run)

    def execute_plan(self, plan: str, *, task: str = "", parent: str | None = None, respond: bool = True,
                     **inputs: Any) -> Run:
        """Validate and run a plan (JSON task list, e.g. edited in review mode); returns the Run.

        With a ``task`` and ``respond=True`` the model writes the final response from the results.
        """
        from .plan import execute_plan

        return self._record(execute_plan(self, plan, inputs, task=task, parent=parent, respond=respond))

    # --- the pipeline --------------------------------------------------------------------------

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
        constrained = self.constrained if constrained is None else constrained
        mode = mode or self.mode
        if mode not in ("code", "react", "plan"):
            raise ConfigurationError(f"mode must be 'code', 'react' or 'plan', not {mode!r}.")
        if not isinstance(task, str) or not task.strip():
            raise ConfigurationError("The task is empty.", hint="Describe what the agent should do.")
        inputs = dict(inputs or {})
        started = time.perf_counter()
        max_new = max_new_tokens or self.max_new_tokens
        if mode == "react" and not chat and execute:
            from .react import perform_react

            return self._record(perform_react(
                self, task, inputs, max_steps=max_steps or self.max_steps, on_token=on_token,
                max_new_tokens=max_new, template=PromptTemplate.load(None, default="react")))
        if mode == "plan" and not chat:
            from .plan import perform_plan

            return self._record(perform_plan(self, task, inputs, execute=execute, on_token=on_token,
                                             max_new_tokens=max_new))
        kind = "chat" if chat else ("run" if execute else "generate")
        run = Run(task=task, kind=kind, inputs=self._describe(inputs))
        timings: dict[str, float] = {}
        try:
            engine = self.engine
            run = run.with_changes(engine=engine.spec, model_id=engine.model_id)
            t = time.perf_counter()
            template = self.chat_prompt_template if chat else self.run_prompt_template
            prompt = build_prompt(
                task, self.toolbox, inputs, template=template, engine=engine, max_new_tokens=max_new,
                history=self.chat_turns if chat else (),
                state_names=sorted(self.chat_state) if chat else (),
            )
            timings["prompt"] = time.perf_counter() - t
            run = run.with_changes(prompt=prompt.text, stop=prompt.stop, prompt_tokens=prompt.token_count,
                                   dropped=prompt.dropped)

            tools = {name: self.toolbox[name] for name in prompt.tools if name in self.toolbox}
            state = self.chat_state if chat else {}
            options = self._generation_options(engine, tools, inputs, chat=chat, constrained=constrained,
                                               task=task)
            t = time.perf_counter()
            try:
                completion = engine.generate(list(prompt.messages), stop=prompt.stop,
                                             max_new_tokens=max_new, on_token=on_token, **options)
            except NbAgentsError:
                raise
            except Exception as e:  # a backend failure that is not ours: keep it typed by stage
                raise EngineError(f"The engine failed: {type(e).__name__}: {e}") from e
            timings["generate"] = time.perf_counter() - t
            facts = {**completion.facts,
                     "constrained": completion.facts.get("constrained", bool(options))}
            if completion.completion_tokens and timings["generate"] > 0:
                facts.setdefault("tokens_per_s", round(completion.completion_tokens / timings["generate"], 2))
            run = run.with_changes(
                prompt=completion.prompt_text or prompt.text,
                raw_output=completion.text,
                prompt_tokens=completion.prompt_tokens or prompt.token_count,
                completion_tokens=completion.completion_tokens,
                facts=facts,
            )
            run = self._parse_and_execute(run, timings, execute, tools, state, inputs)
            if self.repair and run.error is not None and run.error.stage in ("parse", "interpreter"):
                run = self._repair(run, prompt, engine, timings, execute, tools, state, inputs,
                                   on_token=on_token, max_new_tokens=max_new, options=options)
            if chat and execute and run.code:
                outcome = f"Result: {run.result_summary()}" if run.ok else f"Error: {run.error.message}"
                self.chat_turns.append(Turn(task, run.code, outcome[:300]))
        except NbAgentsError as e:
            run = run.with_changes(error=ErrorInfo.from_exception(e), exception=e)
        run = run.with_changes(timings={**timings, **run.timings, "total": time.perf_counter() - started})
        return self._record(run)

    def _generation_options(self, engine: Engine, tools: Mapping[str, Any], inputs: Mapping[str, Any], *,
                            chat: bool, constrained: bool, task: str = "") -> dict[str, Any]:
        """``constrained=ProgramSpec`` for engines that decode under a grammar, else nothing."""
        if not constrained or not getattr(engine, "supports_grammar", False):
            return {}
        from .grammar import ProgramSpec

        return {"constrained": ProgramSpec.for_inputs(tools, inputs, state=self.chat_state if chat else None,
                                                      rich=self.rich_grammar, task=task)}

    def _parse_and_execute(self, run: Run, timings: dict, execute: bool, tools: Mapping[str, Any],
                           state: dict, inputs: Mapping[str, Any]) -> Run:
        t = time.perf_counter()
        try:
            parsed = parse(run.raw_output)
        except NbAgentsError as e:
            return run.with_changes(error=ErrorInfo.from_exception(e), exception=e)
        finally:
            timings["parse"] = time.perf_counter() - t
        run = run.with_changes(explanation=parsed.explanation, code=parsed.code)
        if execute:
            run = self._execute_stage(run, parsed.code, tools, state, inputs)
        elif tools:
            try:  # refuse code that could never run before showing it as the answer
                self.interpreter.check(parsed.code, tools)
            except NbAgentsError as e:
                run = run.with_changes(error=ErrorInfo.from_exception(e), exception=e)
        return run

    def _repair(self, run: Run, prompt: Any, engine: Engine, timings: dict, execute: bool,
                tools: Mapping[str, Any], state: dict, inputs: Mapping[str, Any], *,
                on_token: TokenCallback | None, max_new_tokens: int, options: Mapping[str, Any]) -> Run:
        """Send the error back once and run the corrected program; the first try becomes a Step."""
        from .runs import Step

        first = Step(index=0, prompt=run.prompt, raw_output=run.raw_output, code=run.code,
                     observation=f"Error: {run.error}", error=run.error, timings=dict(timings))
        messages = list(prompt.messages) + [
            {"role": "assistant", "content": run.raw_output},
            {"role": "user", "content": f"That failed.\nError: {run.error}\n"
                                        "Write the corrected code in a ```py block."},
        ]
        t = time.perf_counter()
        try:
            completion = engine.generate(messages, stop=prompt.stop, max_new_tokens=max_new_tokens,
                                         on_token=on_token, **options)
        except NbAgentsError:
            return run.with_changes(steps=(first,))
        timings["repair"] = time.perf_counter() - t
        if state is not self.chat_state:  # a one-shot run starts again from its inputs
            state.clear()
        state.update(inputs)
        repaired = run.with_changes(
            prompt=completion.prompt_text or run.prompt, raw_output=completion.text, error=None,
            exception=None, explanation="", code="", steps=(first,),
            completion_tokens=(run.completion_tokens or 0) + (completion.completion_tokens or 0),
        )
        return self._parse_and_execute(repaired, timings, execute, tools, state, inputs)

    def _execute_stage(self, run: Run, code: str, tools: Mapping[str, Any], state: dict,
                       inputs: Mapping[str, Any]) -> Run:
        state.update(inputs)
        t = time.perf_counter()
        try:
            execution = self.interpreter.run(_ending_with_result(code), tools, state)
        except NbAgentsError as e:
            return run.with_changes(error=ErrorInfo.from_exception(e), exception=e,
                                    timings={**run.timings, "execute": time.perf_counter() - t})
        result = wrap(execution.value)
        return run.with_changes(
            result=result,
            prints=execution.prints,
            timings={**run.timings, "execute": time.perf_counter() - t},
            facts={**run.facts, "operations": execution.operations,
                   "tool_calls": [name for name, _ in execution.tool_calls]},
        )

    def _record(self, run: Run) -> Run:
        self.history.append(run)
        if self.store is not None:
            try:
                self.store.add(run)
            except Exception:  # history is a convenience; never fail a run because of it
                log.warning("Could not write the run to the history store.", exc_info=True)
        return run

    @staticmethod
    def _describe(inputs: Mapping[str, Any]) -> dict[str, str]:
        for name in inputs:
            if not name.isidentifier() or name.startswith("_"):
                raise ConfigurationError(
                    f"The input name {name!r} cannot be a variable in agent code.",
                    hint="Use plain identifiers that do not start with an underscore.",
                )
        return {name: describe_value(value) for name, value in inputs.items()}

    def __repr__(self) -> str:
        return f"<Agent engine={self.engine_spec!r} mode={self.mode!r} tools={len(self.toolbox)}>"
