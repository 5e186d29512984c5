"""``%agent``: the admin console of the kernel's agent (engine, tools, history, inspect, config,
reset)."""

from __future__ import annotations

import re
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..display import View, error_bundle
from ..errors import ConfigurationError, NbAgentsError
from ..runs import Run
from .options import parse, unquote
from .session import AgentSession

__all__ = ["ConsoleMagics"]


@magics_class
class ConsoleMagics(AgentSession):
    """``%agent COMMAND``: show and change the engine, list tools and runs, inspect a run."""

    @magic_arguments(name="agent")
    @argument("command", nargs="?", default="config",
              choices=("engine", "tools", "history", "inspect", "config", "reset", "approve"),
              help="What to do (default: config).")
    @argument("arg", nargs="?", help="engine: the SPEC; history: how many runs; inspect: N or a run id; "
                                     "tools: add or remove.")
    @argument("name", nargs="?", help="tools add: the tool to download and add (or: mcp COMMAND-OR-URL); "
                                      "tools remove: the tool to remove.")
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
            %agent tools         the toolbox, as a table, and the tools that are not ready here
                                 (what each lacks and the command that gets it)
            %agent tools add NAME  download the tool's weights (with a progress bar) and add it
                                 to the toolbox ($HF_ENDPOINT picks the Hub)
            %agent tools add mcp COMMAND-OR-URL  start an MCP server (a stdio command, or an
                                 http(s):// URL) and add its tools; the servers of
                                 ~/.nbagents/mcp.json ($NBAGENTS_MCP_CONFIG) are added at the
                                 agent's first use
            %agent tools remove NAME  remove a tool (the last tool of an MCP server stops it)
            %agent history [N]   the N newest runs (default 10), kept across kernels
            %agent inspect [N|ID]  open a run in the inspector: the last one, the N-th newest,
                                 or a run id (a prefix of it is enough)
            %agent config        the settings (change them with %config AgentMagics.<name> = ...)
            %agent reset         a fresh agent: default engine, no chat (the history stays)
            %agent approve [NAME allow|ask|deny]  set a tool's approval policy (no NAME: list them)
        """
        mcp = re.match(r"\s*tools\s+add\s+mcp(?:\s+(.*))?$", line, re.S)
        if mcp:
            return self._guarded(self._add_mcp, mcp.group(1))
        args = parse(self.agent_line, line)
        if args.command == "approve":
            return self._cmd_approve(args)
        engine_options = args.eight_bit or args.four_bit or args.device_map or args.dtype
        if engine_options and args.command != "engine":
            raise UsageError("--8bit, --4bit, --device-map and --dtype go with %agent engine.")
        if args.arg is not None and args.command in ("config", "reset"):
            raise UsageError(f"%agent {args.command} takes no argument (got {args.arg!r}).")
        if args.command == "tools" and args.arg not in (None, "add", "remove"):
            raise UsageError(f"%agent tools takes no argument but 'add NAME', 'add mcp COMMAND' or "
                             f"'remove NAME' (got {args.arg!r}).")
        if args.name is not None and not (args.command == "tools" and args.arg in ("add", "remove")):
            raise UsageError(f"%agent {args.command} takes at most one argument (got {args.name!r} too).")
        return self._guarded(getattr(self, f"_cmd_{args.command}"), args)

    def _guarded(self, handler, *args):
        try:
            return handler(*args)
        except NbAgentsError as e:  # e.g. a history database that cannot be opened
            display(error_bundle(e), raw=True)
            return None

    def _cmd_engine(self, args):
        spec = unquote(args.arg)
        if spec is None:
            return View.table("Engine", [("engine", self.agent.engine_spec),
                                         ("default_engine", self.default_engine)])
        if args.eight_bit and args.four_bit:
            raise UsageError("Pick one of --8bit and --4bit.")
        options: dict[str, Any] = {}
        if args.eight_bit or args.four_bit:
            options["quantization"] = "8bit" if args.eight_bit else "4bit"
        if args.device_map:
            options["device_map"] = unquote(args.device_map)
        if args.dtype:
            options["dtype"] = unquote(args.dtype)
        from ..engines.registry import load_engine

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
        from ..tools.catalogue import catalogue

        toolbox = self.agent.toolbox
        if args.arg == "add":
            return self._add_tool(unquote(args.name), toolbox)
        if args.arg == "remove":
            return self._remove_tool(unquote(args.name), toolbox)
        display(View.table(f"Where the tools come from ({len(toolbox)})",
                           [(name, _source(t)) for name, t in toolbox.items()], header=("tool", "from")))
        waiting = [e for e in catalogue(toolbox) if not e.ready]
        if waiting:
            display(View.table(f"Not ready here ({len(waiting)})", [
                (e.name, e.missing, e.command) for e in waiting], header=("tool", "missing", "get it with")))
        return toolbox

    def _add_mcp(self, server: str | None):
        from ..mcp.convert import mcp_tools

        server = (server or "").strip()
        if not server:
            raise UsageError("%agent tools add mcp COMMAND-OR-URL: which server? e.g. "
                             "%agent tools add mcp python -m mcp_server_time")
        tools = mcp_tools(unquote(server) if server.startswith(("'", '"')) else server)
        for t in tools:
            self.agent.toolbox.add(t)
        names = ", ".join(t.name for t in tools) or "(none)"
        source = tools[0].source if tools else f"mcp:{server}"
        display(View.message(f"{len(tools)} tools from {source} are in the toolbox: {names}."))
        return None

    def _remove_tool(self, name: str | None, toolbox):
        if not name:
            raise UsageError("%agent tools remove NAME: which tool? In the toolbox: "
                             f"{', '.join(toolbox) or 'none'}.")
        if name not in toolbox:
            from ..errors import closest_names

            close = closest_names(name, toolbox)
            raise UsageError(f"There is no tool {name!r} in the toolbox."
                             + (f" Closest: {', '.join(close)}." if close else ""))
        removed = toolbox[name]
        del toolbox[name]
        client = getattr(removed, "client", None)
        text = f"Removed {name!r}."
        if client is not None and not any(getattr(t, "client", None) is client for t in toolbox.values()):
            client.close()
            text += f" It was the last tool of {removed.source}, which is stopped."
        display(View.message(text))
        return None

    def _add_tool(self, name: str | None, toolbox):
        from ..tools.acquire import acquire

        if not name:
            from ..tools.catalogue import catalogue

            waiting = ", ".join(e.name for e in catalogue(toolbox) if not e.ready) or "none"
            raise UsageError(f"%agent tools add NAME: which tool? Not ready here: {waiting}.")
        done = acquire(name, toolbox=toolbox)
        display(View.message(done.summary() + " It is in the toolbox."))
        return None

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

    def _cmd_approve(self, args):
        """``%agent approve``: the approval policy of every tool; ``%agent approve NAME POLICY`` sets one."""
        name, policy = unquote(args.arg), unquote(args.name)
        if name is None:
            rows = self.agent.gate.policies.table(self.agent.toolbox)
            return View.table("Approval policies (change with %agent approve NAME allow|ask|deny)", rows,
                              header=("tool", "policy", "from"))
        if policy is None:
            raise UsageError(f"%agent approve {name} needs a policy: allow, ask or deny.")
        try:
            self.agent.approve(name, policy)
        except ConfigurationError as e:
            raise UsageError(str(e)) from None
        return View.table("Approval policy set", [(name, policy)])

    def _cmd_config(self, args):
        rows = [(name, repr(getattr(self, name))) for name in
                ("default_engine", "max_new_tokens", "isolation", "stream", "history_path")]
        rows.append(("engine now", self.agent.engine_spec))
        rows.append(("history file", str(self.store.path)))
        rows.append(("runs stored", str(len(self.store))))
        rows.append(("chat turns", str(len(self.agent.chat_turns))))
        return View.table("nbagents settings (change with %config AgentMagics.<name> = ...)", rows)

    def _cmd_reset(self, args):
        self.reset()
        display(View.message(f"A fresh agent: engine {self.default_engine!r}, no chat. "
                             "The history stays (%agent history)."))
        return None


def _source(tool) -> str:
    """Where a tool comes from: ``mcp:<server>``, ``@tool``, ``default``, ``remote`` or ``loaded``
    (a class from the Hub or a folder)."""
    source = getattr(tool, "source", None)
    if isinstance(source, str):
        return source
    from ..tools.base import FunctionTool

    cls = type(tool)
    if cls is FunctionTool:
        return "@tool"
    if cls.__name__ == "RemoteTool":
        return "remote"
    return "default" if cls.__module__.startswith("nbagents.") else "loaded"
