"""The notebook interface: ``%%agent``, ``%agent_chat`` and ``%agent``.

Load with ``%load_ext nbagents`` (or ``c.InteractiveShellApp.extensions = ["nbagents"]``).
Settings are traitlets on :class:`AgentMagics` (``%config AgentMagics``). Loading is light: the
agent, its history database and the engine are created on first use, ipywidgets when an inspector
is shown, and torch/transformers only by a local engine.
"""

from __future__ import annotations

import re
import sys
import time
import types
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Enum, Integer, TraitError, Unicode, observe, validate

from .agent import Agent
from .display import (
    TokenStream,
    View,
    error_bundle,
    format_inputs,
    run_metadata,
    summary_bundle,
)
from .errors import ConfigurationError, NbAgentsError
from .history import HistoryStore
from .runs import Run, describe_value

__all__ = ["AgentMagics", "get_agent", "load_ipython_extension", "unload_ipython_extension"]

_BACKTICK_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_REMEMBERED_RUNS = 100  # input values kept for the inspector's Run button

# Options shared by %%agent and %agent_chat.
_SHARED_OPTIONS = (
    argument("-e", "--engine", metavar="SPEC",
             help="Use this engine for this cell only: default, local:<id>, endpoint:<url>, "
                  "openai:<model>, fake:<file>."),
    argument("-i", "--input", metavar="NAME", action="append", default=[],
             help="Pass the notebook variable NAME to the program (repeatable; NAME,NAME works "
                  "too). Names written in backticks in the task are passed when they exist."),
    argument("-o", "--output", metavar="VAR",
             help="Also store the result in the variable VAR (with --code: the code)."),
    argument("--inspect", action="store_true", help="Show the inspector after the run."),
    argument("--max-new-tokens", metavar="N", type=int,
             help="The most tokens the model may write (default: AgentMagics.max_new_tokens)."),
    argument("--isolation", choices=("none", "process"),
             help="Run the program in the kernel (none) or in a separate limited process."),
    argument("--no-stream", action="store_true",
             help="Do not show the model's output while it is written."),
)


def _shared_options(func):
    for option in reversed(_SHARED_OPTIONS):
        func = option(func)
    return func


def _unquote(value: str | None) -> str | None:
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _parse(func, line: str):
    try:
        return parse_argstring(func, line)
    except ValueError as e:  # unbalanced quotes
        raise UsageError(f"Cannot read the options {line!r}: {e}.") from None


def _split_options(func, line: str) -> tuple[Any, str]:
    """Parse the leading options of ``line``; the rest (the task of a line magic) is returned
    untouched, so quotes and backticks in it need no escaping. ``--`` ends the options."""
    actions = func.parser._option_string_actions
    tokens = list(re.finditer(r"\S+", line))
    end, i = 0, 0
    while i < len(tokens):
        tok = tokens[i].group()
        if tok == "--":
            end = tokens[i].end()
            options = line[: tokens[i].start()]
            return _parse(func, options), line[end:].strip()
        if not tok.startswith("-") or tok == "-":
            break
        action = actions.get(tok.split("=", 1)[0])
        takes_value = action is not None and action.nargs != 0 and "=" not in tok
        i += 2 if takes_value else 1
        end = tokens[min(i, len(tokens)) - 1].end()
    return _parse(func, line[:end]), line[end:].strip()


def _engine_name(agent: Agent) -> str:
    return agent.engine_spec


def _overrides(agent: Agent, *, engine: str | None, isolation: str | None):
    """Use another engine / isolation for one cell, then put the agent back as it was."""
    return agent.using(engine=engine, isolation=isolation)


@magics_class
class AgentMagics(Magics):
    """The ``%%agent``, ``%agent_chat`` and ``%agent`` magics and their settings."""

    default_engine = Unicode(
        "default",
        help="The engine spec the kernel's agent starts with: default (the embedded model), "
             "local:<id or path>, endpoint:<url>, openai:<model>, fake:<file>.",
    ).tag(config=True)
    max_new_tokens = Integer(256, help="The most tokens the model may write per answer.").tag(config=True)
    isolation = Enum(
        ("none", "process"), "none",
        help="Where agent code runs: 'none' (the kernel's restricted interpreter) or 'process' "
             "(a separate, resource-limited process).",
    ).tag(config=True)
    stream = Bool(True, help="Show the model's output in the cell while it is written.").tag(config=True)
    history_path = Unicode(
        "",
        help="The SQLite file that keeps every run. Empty: $NBAGENTS_HISTORY_DB, else "
             "<user data dir>/nbagents/history.sqlite.",
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs: Any) -> None:
        # set before the config is loaded: the observers below run while it is
        self._agent: Agent | None = None
        self._store: HistoryStore | None = None
        self.input_values: OrderedDict[str, Mapping[str, Any]] = OrderedDict()
        super().__init__(shell=shell, **kwargs)

    # --- state ----------------------------------------------------------------------------------

    @property
    def store(self) -> HistoryStore:
        """The history database (opened on first use)."""
        if self._store is None:
            self._store = HistoryStore(self.history_path or None)
        return self._store

    @property
    def agent(self) -> Agent:
        """The kernel's agent, created from the settings on first use."""
        if self._agent is None:
            self._agent = Agent(engine=self.default_engine or None, max_new_tokens=self.max_new_tokens,
                                isolation=self.isolation, store=self.store)
        return self._agent

    def reset(self) -> None:
        """Forget the agent (engine, chat, this session's runs) and reopen the history database
        (its runs stay) at the configured path."""
        self._agent = None
        self.input_values.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        self._notify_lab()

    @validate("max_new_tokens")
    def _check_max_new_tokens(self, proposal):
        if proposal["value"] < 1:
            raise TraitError("max_new_tokens must be at least 1.")
        return proposal["value"]

    @observe("default_engine")
    def _default_engine_changed(self, change) -> None:
        if self._agent is not None:
            self._agent.engine = change["new"] or None
        self._notify_lab()

    @observe("max_new_tokens")
    def _max_new_tokens_changed(self, change) -> None:
        if self._agent is not None:
            self._agent.max_new_tokens = change["new"]

    @observe("isolation")
    def _isolation_changed(self, change) -> None:
        if self._agent is not None:
            self._agent.isolation = change["new"]

    @observe("history_path")
    def _history_path_changed(self, change) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None
        if self._agent is not None:
            self._agent.store = self.store

    def lab_status(self) -> dict[str, Any]:
        """The engine status for the JupyterLab status bar (never loads a model)."""
        agent = self._agent
        engine = agent.created_engine if agent is not None else None
        if engine is None:
            spec = _engine_name(agent) if agent is not None else (self.default_engine or "default")
            return {"engine": spec, "model_id": "", "loaded": False}
        return {"engine": engine.spec or "default", "model_id": engine.model_id, "loaded": engine.loaded}

    @staticmethod
    def _notify_lab() -> None:
        from . import labcomm

        labcomm.notify_status()

    # --- helpers --------------------------------------------------------------------------------

    def _streams(self, args) -> bool:
        terminal = type(self.shell).__module__.startswith("IPython.terminal")
        return self.stream and not args.no_stream and not terminal

    def _collect_inputs(self, names: list[str], task: str) -> dict[str, Any]:
        ns = self.shell.user_ns
        inputs: dict[str, Any] = {}
        for spec in names:
            for name in spec.split(","):
                name = name.strip()
                if not name:
                    continue
                if name not in ns:
                    raise UsageError(f"-i {name}: there is no variable named {name!r} in the notebook.")
                inputs[name] = ns[name]
        hidden = getattr(self.shell, "user_ns_hidden", {})
        for name in _BACKTICK_NAME.findall(task):
            if name in inputs or name.startswith("_") or name in hidden or name not in ns:
                continue
            value = ns[name]
            if isinstance(value, (types.ModuleType, type)) or callable(value):
                continue  # `name` of a tool or a function is a reference, not data
            inputs[name] = value
        return inputs

    def _remember(self, run: Run, inputs: Mapping[str, Any]) -> None:
        self.input_values[run.id] = dict(inputs)
        while len(self.input_values) > _REMEMBERED_RUNS:
            self.input_values.popitem(last=False)

    def _inspector(self, run: Run | None, *, editing: bool = False, output: str | None = None):
        from .inspector import Inspector

        on_result = None
        if output:
            def on_result(new: Run) -> None:
                if new.ok:
                    self.shell.user_ns[output] = new.result

        return Inspector(self.agent, run, input_values=self.input_values, namespace=self.shell.user_ns,
                         editing=editing, on_result=on_result)

    @staticmethod
    def _show(bundle: Mapping[str, str], stream: TokenStream | None,
              metadata: Mapping[str, Any] | None = None) -> None:
        if stream is not None:
            stream.finish(bundle, metadata=metadata)
        else:
            display(dict(bundle), raw=True, metadata=dict(metadata or {}))

    def _perform(self, task: str, args, *, chat: bool, code: bool = False, review: bool = False):
        """Check the options, run the agent with a token stream, then present the Run."""
        if not task.strip():
            where = "after %agent_chat" if chat else "in the cell body, below %%agent"
            raise UsageError(f"The task is empty: write it {where}.")
        if args.output is not None and (not args.output.isidentifier() or args.output.startswith("__")):
            raise UsageError(f"-o {args.output}: not a variable name.")
        if args.max_new_tokens is not None and args.max_new_tokens < 1:
            raise UsageError("--max-new-tokens must be at least 1.")
        inputs = self._collect_inputs(args.input, task)
        agent = self.agent
        stream = None
        try:
            with _overrides(agent, engine=_unquote(args.engine), isolation=args.isolation):
                if self._streams(args):
                    stream = TokenStream(self._stream_title(agent, inputs))
                mode = ("react" if getattr(args, "steps", None) is not None
                        else "plan" if getattr(args, "plan", False) else None)
                run = agent.perform(task, inputs, chat=chat, execute=not (code or review), on_token=stream,
                                    max_new_tokens=args.max_new_tokens, mode=mode,
                                    max_steps=getattr(args, "steps", None),
                                    constrained=False if getattr(args, "free", False) else None)
        except NbAgentsError as e:  # before any run existed: an unusable input name, ...
            self._show(error_bundle(e), stream)
            return None
        except KeyboardInterrupt:
            if stream is not None:
                stream.finish({"text/plain": "Interrupted.", "text/html": "<i>Interrupted.</i>"})
            raise
        self._remember(run, inputs)
        self._notify_lab()
        return self._present(run, stream, args, code=code, review=review)

    @staticmethod
    def _stream_title(agent: Agent, inputs: Mapping[str, Any]) -> str:
        title = f"agent · {_engine_name(agent)}"
        if inputs:
            title += " · inputs: " + format_inputs({k: describe_value(v) for k, v in inputs.items()})
        return title

    def _present(self, run: Run, stream: TokenStream | None, args, *, code: bool, review: bool):
        """Settle the stream into a summary or an error, and return what the cell's result is."""
        metadata = run_metadata(run)
        if not run.ok:
            self._show(error_bundle(run.error, run_id=run.id), stream, metadata)
        elif code:
            self._show(summary_bundle(run, note="the code is in a new cell below"), stream, metadata)
        elif review:
            self._show(summary_bundle(run, note="review the code, then click Run"), stream, metadata)
        else:
            self._show(summary_bundle(run), stream, metadata)
        if run.prints:
            sys.stdout.write(run.prints if run.prints.endswith("\n") else run.prints + "\n")
            sys.stdout.flush()
        if args.inspect or review:
            display(self._inspector(run, editing=review, output=args.output))
        if not run.ok or review:
            return None
        if code:
            self.shell.set_next_input(run.code, replace=False)
            if args.output:
                self.shell.user_ns[args.output] = run.code
            return None
        if args.output:
            self.shell.user_ns[args.output] = run.result
        return run.result

    # --- %%agent --------------------------------------------------------------------------------

    @magic_arguments(name="%agent")
    @_shared_options
    @argument("--code", action="store_true",
              help="Put the generated code in a new cell below instead of running it.")
    @argument("--review", action="store_true",
              help="Show the code in the inspector, editable; nothing runs until you click Run.")
    @argument("--steps", metavar="N", type=int,
              help="ReAct mode: thought, code, observation, up to N steps, until final_answer.")
    @argument("--plan", action="store_true",
              help="Plan mode: the model writes a task graph; independent tasks run in parallel.")
    @argument("--free", action="store_true",
              help="Let a local model write freely (no grammar constraining its output to valid programs).")
    @cell_magic("agent")
    def agent_cell(self, line: str, cell: str):
        """Ask the agent to do the task written in the cell body; the result is the cell's result.

        The model writes a short Python program that calls tools; a restricted interpreter runs
        it. While the model writes, its output shows in the cell; then a one-line summary (click
        to see the code) and the result (text, image or audio) remain. The result is in ``_`` and
        ``Out`` like any cell's result. Errors are shown compactly: the stage that failed, the
        message, and what to do; ``%agent inspect`` shows everything the model saw and wrote.

        Examples::

            %%agent
            Caption the image `photo`, then read the caption aloud.

            %%agent -i text -o summary --inspect
            Summarize the text.
        """
        args = _parse(self.agent_cell, line)
        if args.code and args.review:
            raise UsageError("--code and --review cannot be combined: pick one.")
        if args.steps is not None and args.plan:
            raise UsageError("--steps (ReAct) and --plan cannot be combined: pick one.")
        if args.steps is not None and args.steps < 1:
            raise UsageError("--steps must be at least 1.")
        if args.plan and args.code:
            raise UsageError("--plan writes a task graph, not Python: use --review to edit it before it runs.")
        if args.steps is not None and (args.code or args.review):
            raise UsageError("--steps runs step by step; it cannot be combined with --code or --review.")
        return self._perform(cell.strip(), args, chat=False, code=args.code, review=args.review)

    # --- %agent_chat ----------------------------------------------------------------------------

    @magic_arguments(name="agent_chat")
    @argument("--reset", action="store_true", help="Start a new conversation (forget the chat).")
    @_shared_options
    @argument("task", nargs="*", help="The task (line form); in the cell form, the cell body.")
    @line_cell_magic("agent_chat")
    def agent_chat(self, line: str, cell: str | None = None):
        """Chat with the agent: earlier tasks, their code and their variables carry over.

        Line form: ``%agent_chat TASK`` (options first). Cell form: ``%%agent_chat`` with the
        task in the cell body. ``--reset`` forgets the conversation (alone, or before a task).

        Examples::

            %agent_chat Draw a picture of a river and call it `river`.
            %agent_chat Now make `river` grayscale.
            %agent_chat --reset
        """
        args, rest = _split_options(self.agent_chat, line)
        if cell is not None and rest:
            raise UsageError(f"Unexpected text after the options: {rest!r}. Write the task in the cell body.")
        task = (cell if cell is not None else rest).strip()
        if args.reset:
            self.agent.prepare_for_new_chat()
            if not task.strip():
                display({"text/plain": "The chat was reset.", "text/html": "<i>The chat was reset.</i>"},
                        raw=True)
                return None
        return self._perform(task, args, chat=True)

    # --- %agent ---------------------------------------------------------------------------------

    @magic_arguments(name="agent")
    @argument("command", nargs="?", default="config",
              choices=("engine", "tools", "history", "inspect", "config", "reset"),
              help="What to do (default: config).")
    @argument("arg", nargs="?", help="engine: the SPEC; history: how many runs; inspect: N or a run id.")
    @argument("--8bit", dest="eight_bit", action="store_true", help="engine: load the model in 8 bits.")
    @argument("--4bit", dest="four_bit", action="store_true", help="engine: load the model in 4 bits.")
    @argument("--device-map", metavar="MAP", help="engine: where the model goes (e.g. auto).")
    @argument("--dtype", metavar="DTYPE", help="engine: the weights' dtype (e.g. bfloat16).")
    @line_magic("agent")
    def agent_line(self, line: str):
        """Settings and history of the kernel's agent.

        Commands::

            %agent engine SPEC [--8bit|--4bit] [--device-map auto] [--dtype bfloat16]
                                 set the kernel's engine (no SPEC: show it)
            %agent tools         the toolbox, as a table
            %agent history [N]   the N newest runs (default 10), kept across kernels
            %agent inspect [N|ID]  open a run in the inspector: the last one, the N-th newest,
                                 or a run id (a prefix of it is enough)
            %agent config        the settings (change them with %config AgentMagics.<name> = ...)
            %agent reset         a fresh agent: default engine, no chat (the history stays)
        """
        args = _parse(self.agent_line, line)
        engine_options = args.eight_bit or args.four_bit or args.device_map or args.dtype
        if engine_options and args.command != "engine":
            raise UsageError("--8bit, --4bit, --device-map and --dtype go with %agent engine.")
        if args.arg is not None and args.command in ("tools", "config", "reset"):
            raise UsageError(f"%agent {args.command} takes no argument (got {args.arg!r}).")
        handler = getattr(self, f"_cmd_{args.command}")
        try:
            return handler(args)
        except NbAgentsError as e:  # e.g. a history database that cannot be opened
            display(error_bundle(e), raw=True)
            return None

    def _cmd_engine(self, args):
        spec = _unquote(args.arg)
        if spec is None:
            return View.table("Engine", [("engine", _engine_name(self.agent)),
                                         ("default_engine", self.default_engine)])
        if args.eight_bit and args.four_bit:
            raise UsageError("Pick one of --8bit and --4bit.")
        options: dict[str, Any] = {}
        if args.eight_bit or args.four_bit:
            options["quantization"] = "8bit" if args.eight_bit else "4bit"
        if args.device_map:
            options["device_map"] = _unquote(args.device_map)
        if args.dtype:
            options["dtype"] = _unquote(args.dtype)
        from .engines.registry import load_engine

        started = time.perf_counter()
        try:
            engine = load_engine(spec, **options)
        except NbAgentsError as e:
            display(error_bundle(e), raw=True)
            return None
        except TypeError as e:  # an option this engine does not take
            err = ConfigurationError(f"The engine {spec!r} does not take these options: {e}.",
                                     hint="Engine options (--8bit, --4bit, --device-map, --dtype) "
                                          "apply to local models.")
            display(error_bundle(err), raw=True)
            return None
        self.agent.engine = engine
        self._notify_lab()
        facts = [("engine", engine.spec or spec), ("model", engine.model_id or "")]
        facts += [(k, v) for k, v in options.items()]
        facts.append(("ready in", f"{time.perf_counter() - started:.2f} s"))
        display(View.table("Engine set", facts))
        return None

    def _cmd_tools(self, args):
        return self.agent.toolbox

    def _cmd_history(self, args):
        limit = 10
        if args.arg is not None:
            if not args.arg.isdigit() or int(args.arg) < 1:
                raise UsageError(f"%agent history N: N is a number of runs, not {args.arg!r}.")
            limit = int(args.arg)
        rows = []
        for i, r in enumerate(self.store.rows(limit), 1):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["created"]))
            task = " ".join(r["task"].split())
            task = task if len(task) <= 60 else task[:60] + "…"
            status = "ok" if r["ok"] else "failed"
            parent = f" (edit of {r['parent'][:8]})" if r["parent"] else ""
            rows.append((str(i), r["id"][:8], when, r["kind"], task or "(code)", status + parent))
        if not rows:
            return View.message("No runs yet.")
        return View.table(f"History ({len(self.store)} runs in {self.store.path})", rows,
                          header=("#", "id", "time", "kind", "task", "status"))

    def _find_run(self, ref: str | None) -> Run:
        agent = self.agent
        if ref is None:
            if agent.last_run is not None:
                return agent.last_run
            newest = self.store.list(1)
            if newest:
                return newest[0]
            raise UsageError("There is no run to inspect yet: run a %%agent cell first.")
        if ref.isdigit() and len(ref) <= 6:
            n = int(ref)
            found = self.store.rows(1, n - 1) if n >= 1 else []
            if not found:
                raise UsageError(f"There is no run number {n} (see %agent history).")
            ref = found[0]["id"]
        for r in reversed(agent.history):
            if r.id == ref or r.id.startswith(ref):
                return r
        try:
            run = self.store.get(ref)
        except KeyError as e:
            raise UsageError(str(e.args[0])) from None
        if run is None:
            raise UsageError(f"No run with the id {ref!r} (see %agent history).")
        for r in agent.history:  # prefer the live record (it holds the real result)
            if r.id == run.id:
                return r
        return run

    def _cmd_inspect(self, args):
        return self._inspector(self._find_run(args.arg))

    def _cmd_config(self, args):
        rows = [(name, repr(getattr(self, name))) for name in
                ("default_engine", "max_new_tokens", "isolation", "stream", "history_path")]
        rows.append(("engine now", _engine_name(self.agent)))
        rows.append(("history file", str(self.store.path)))
        rows.append(("runs stored", str(len(self.store))))
        rows.append(("chat turns", str(len(self.agent.chat_turns))))
        return View.table("nbagents settings (change with %config AgentMagics.<name> = ...)", rows)

    def _cmd_reset(self, args):
        self.reset()
        display(View.message(f"A fresh agent: engine {self.default_engine!r}, no chat. "
                             "The history stays (%agent history)."))
        return None


_CHAT_QUESTION = re.compile(r"^(\s*)%agent_chat[ \t]+(\S.*\?)[ \t]*$")


def _chat_questions(lines: list[str]) -> list[str]:
    """Input transformer: a ``%agent_chat`` line ending in ``?`` is a question, not a help request
    (``%agent_chat?`` alone still shows the help)."""
    if not lines or lines[0].lstrip().startswith("%%"):
        return lines
    out = []
    for line in lines:
        m = _CHAT_QUESTION.match(line.rstrip("\n"))
        if m is None:
            out.append(line)
            continue
        newline = "\n" if line.endswith("\n") else ""
        out.append(f"{m.group(1)}get_ipython().run_line_magic('agent_chat', {m.group(2)!r}){newline}")
    return out


def get_agent(shell: Any = None) -> Agent:
    """The agent the magics of this kernel use (``get_agent().engine.queue(...)`` for a fake)."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    magics = shell.magics_manager.registry.get("AgentMagics") if shell is not None else None
    if magics is None:
        raise ConfigurationError("The nbagents extension is not loaded.", hint="Run %load_ext nbagents first.")
    return magics.agent


def load_ipython_extension(ipython) -> None:
    """Register the magics (once per shell)."""
    if "AgentMagics" not in ipython.magics_manager.registry:
        ipython.register_magics(AgentMagics)
        from . import labcomm

        labcomm.register_comm(ipython, status=ipython.magics_manager.registry["AgentMagics"].lab_status)
    cleanup = getattr(ipython, "input_transformers_cleanup", None)
    if cleanup is not None and _chat_questions not in cleanup:
        cleanup.append(_chat_questions)


def unload_ipython_extension(ipython) -> None:
    cleanup = getattr(ipython, "input_transformers_cleanup", [])
    if _chat_questions in cleanup:
        cleanup.remove(_chat_questions)
    magics = ipython.magics_manager.registry.pop("AgentMagics", None)
    if magics is None:
        return
    from . import labcomm

    labcomm.unregister_comm(ipython)
    for kind, names in magics.magics.items():
        for name in names:
            ipython.magics_manager.magics[kind].pop(name, None)
    if magics in getattr(ipython, "configurables", []):
        ipython.configurables.remove(magics)

