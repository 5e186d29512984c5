"""``nbagents run "TASK" [--engine SPEC] [--input name=path ...]`` for terminals and scripts, and
``nbagents mcp serve [--tools MODULE[:ATTR]] [--http]``: the toolbox as an MCP server
(:mod:`nbagents.mcp.server`).

Text results are printed; media results are saved to files whose paths are printed. Agent
failures print the stage, the message and what to do next, and exit with status 1. A tool call
whose approval policy is ``ask`` (``--approve TOOL=ask``, or a destructive or open-world tool) is
asked about on the terminal (stderr, answered on stdin); without a terminal it is refused.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from .kinds import is_media, kind_for_extension

__all__ = ["main"]


def _load_input(spec: str) -> tuple[str, Any]:
    name, sep, value = spec.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"--input takes name=path, got {spec!r}")
    path = Path(value).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"--input {name}: no file at {value!r}")
    kind = kind_for_extension(path.suffix)
    media = kind.result_class() if kind is not None and kind.media else None
    if media is not None:
        return name, media(path)
    return name, path.read_text(encoding="utf-8", errors="replace")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nbagents", description="Run an nbagents agent from a terminal.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="solve a task once and print the result")
    run.add_argument("task", help="the task, in words")
    run.add_argument("-e", "--engine", default=None, help="engine spec (default: the embedded model)")
    run.add_argument("-i", "--input", action="append", default=[], metavar="NAME=PATH", type=_load_input,
                     help="pass a file as a variable: images, audio and tables (.csv, .tsv, .parquet, .xlsx) "
                     "by extension, other files as text")
    run.add_argument("-v", "--var", action="append", default=[], metavar="NAME=TEXT",
                     help="pass a string as a variable")
    run.add_argument("-o", "--output-dir", default=".", help="where media results are saved (default: .)")
    run.add_argument("--code", action="store_true", help="print the generated code instead of running it")
    run.add_argument("--show-code", action="store_true", help="also print the code that ran (to stderr)")
    run.add_argument("--isolation", choices=["none", "process"], default="none")
    run.add_argument("--max-new-tokens", type=int, default=256)
    run.add_argument("--no-default-tools", action="store_true", help="start from an empty toolbox")
    run.add_argument("--approve", action="append", default=[], metavar="TOOL=POLICY",
                     help="a tool's approval policy: allow, ask (asked on the terminal) or deny")
    mcp = sub.add_parser("mcp", help="the toolbox over MCP (Model Context Protocol)")
    serve = mcp.add_subparsers(dest="mcp_command", required=True).add_parser(
        "serve", help="serve the default offline tools and yours to MCP clients (stdio by default)")
    serve.add_argument("--tools", action="append", default=[], metavar="MODULE[:ATTR]",
                       help="also serve these tools: a module or .py file, ATTR a Tool, a list of Tools or a Toolbox")
    serve.add_argument("--no-default-tools", action="store_true", help="serve only the tools of --tools")
    serve.add_argument("--model-tools", choices=["auto", "all", "none"], default=None,
                       help="model-backed tools to consider (auto: those whose weights are cached here; "
                       "default: $NBAGENTS_MODEL_TOOLS or auto)")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP at http://HOST:PORT/mcp instead")
    serve.add_argument("--host", default="127.0.0.1", help="where --http listens (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="the --http port (default: 8765; 0: a free one)")
    serve.add_argument("--token", default=None,
                       help="the bearer token --http requires (default: $NBAGENTS_MCP_TOKEN, else a random one)")
    sub.add_parser("prepare", help="do the one-time work now: convert the embedded model into the cache "
                   "(with a progress bar) and store the tool router's description vectors")
    return p


def _prepare() -> int:
    """``nbagents prepare``: what the first task of a new machine would otherwise pay for."""
    from .agent import Agent
    from .errors import NbAgentsError

    try:
        seconds = Agent().warm_up()
    except NbAgentsError as e:
        print(f"nbagents: {e}", file=sys.stderr)
        return 1
    engine = seconds.get("engine", 0.0)
    print(f"nbagents: ready (model converted and loaded in {engine:.1f} s, tool router {seconds.get('route', 0.0):.1f} s)")
    return 0


def _serve_mcp(args: argparse.Namespace) -> int:
    from .errors import NbAgentsError
    from .mcp import server

    def ready(url: str, made: str | None) -> None:
        token = f"bearer token: {made}" if made else "bearer token as given"
        print(f"nbagents: serving MCP at {url} ({token})", file=sys.stderr, flush=True)

    try:
        tools = [t for spec in args.tools for t in server.load_user_tools(spec)]
        tools = server.served_tools(tools, defaults=not args.no_default_tools, model_tools=args.model_tools)
        server.serve(tools, http=args.http, host=args.host, port=args.port, token=args.token, on_ready=ready)
    except NbAgentsError as e:
        print(f"nbagents: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _emit(result: Any, output_dir: Path) -> str:
    from .results import AgentType

    if isinstance(result, AgentType) and is_media(result):
        output_dir.mkdir(parents=True, exist_ok=True)
        source = Path(result.to_string())
        target = output_dir / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        return f"{result.summary()} saved to {target}"
    return str(result)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "mcp":
        return _serve_mcp(args)
    if args.command == "prepare":
        return _prepare()
    from .agent import Agent
    from .errors import NbAgentsError

    inputs = dict(args.input)
    for spec in args.var:
        name, sep, value = spec.partition("=")
        if not sep or not name.isidentifier():
            print(f"nbagents: --var takes name=text, got {spec!r}", file=sys.stderr)
            return 2
        inputs[name] = value
    approvals = {}
    for spec in args.approve:
        name, sep, value = spec.partition("=")
        if not sep or value not in ("allow", "ask", "deny"):
            print(f"nbagents: --approve takes tool=allow|ask|deny, got {spec!r}", file=sys.stderr)
            return 2
        approvals[name] = value
    try:
        agent = Agent(args.engine, add_default_tools=not args.no_default_tools,
                      max_new_tokens=args.max_new_tokens, isolation=args.isolation, approvals=approvals)
        run = agent.perform(args.task, inputs, execute=not args.code)
    except NbAgentsError as e:
        print(f"nbagents: {e}", file=sys.stderr)
        return 1
    if run.prints:
        sys.stdout.write(run.prints if run.prints.endswith("\n") else run.prints + "\n")
    if args.show_code and run.code:
        print(run.code, file=sys.stderr)
    if run.error is not None:
        print(f"nbagents: {run.error.stage} error: {run.error}", file=sys.stderr)
        if run.code:
            print("The code was:\n" + run.code, file=sys.stderr)
        return 1
    if args.code:
        print(run.code)
        return 0
    if run.result is not None:
        print(_emit(run.result, Path(args.output_dir)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
