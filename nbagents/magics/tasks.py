"""``%%agent`` and ``%agent_chat``: give the agent a task, stream its output, present the Run.

Also the input transformer that reads ``%agent_chat ... ?`` as a question, not a help request.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import cell_magic, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..agent import Agent
from ..display import TokenStream, error_bundle, format_inputs, run_metadata, summary_bundle
from ..errors import NbAgentsError
from ..runs import Run, describe_value
from .options import parse, shared_options, split_options, unquote
from .session import AgentSession

__all__ = ["TaskMagics", "chat_questions"]

_BACKTICK_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_REMEMBERED_RUNS = 100  # input values kept for the inspector's Run button


@magics_class
class TaskMagics(AgentSession):
    """``%%agent`` and ``%agent_chat``: run a task, show the model's output while it is written."""

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
            # another engine / isolation for this cell, then the agent is put back as it was
            with agent.using(engine=unquote(args.engine), isolation=args.isolation):
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
        title = f"agent · {agent.engine_spec}"
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
    @shared_options
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
        args = parse(self.agent_cell, line)
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
    @shared_options
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
        args, rest = split_options(self.agent_chat, line)
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


_CHAT_QUESTION = re.compile(r"^(\s*)%agent_chat[ \t]+(\S.*\?)[ \t]*$")


def chat_questions(lines: list[str]) -> list[str]:
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
