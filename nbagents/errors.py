"""One exception hierarchy for everything nbagents raises.

Every error knows the *stage* of a run it belongs to (``prompt``, ``engine``, ``parse``,
``interpreter``, ``tool``, ``config``) and carries a ``hint``: what the user can do next.
``str(error)`` is the message followed by the hint, so a bare traceback already explains itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "NbAgentsError",
    "ConfigurationError",
    "MissingDependencyError",
    "PromptError",
    "PromptTooLongError",
    "EngineError",
    "EngineConnectionError",
    "EngineTimeoutError",
    "EngineAuthError",
    "EngineResponseError",
    "RateLimitError",
    "ParseError",
    "InterpreterError",
    "RefusedConstructError",
    "UndefinedNameError",
    "UnknownToolError",
    "LimitExceededError",
    "SandboxRuntimeError",
    "IsolationError",
    "ToolError",
    "ToolExecutionError",
    "NoToolError",
    "DownloadError",
    "TableError",
    "TableFileError",
    "UnknownColumnError",
    "ColumnTypeError",
    "EmptyResultError",
    "StepLimitError",
    "PlanError",
    "MCPError",
    "ApprovalError",
    "closest_names",
]


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates that look like ``name`` (for messages, never for guessing)."""
    candidates = sorted(set(candidates))
    found = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if not found:
        found = [c for c in candidates if name.lower() in c.lower() or c.lower() in name.lower()][:n]
    return found


class NbAgentsError(Exception):
    """Base of every nbagents error.

    Parameters
    ----------
    message:
        What went wrong.
    hint:
        What to do next; shown after the message.
    """

    stage: str = "agent"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message

    def to_dict(self) -> dict:
        """A JSON-friendly summary (type, stage, message, hint)."""
        return {
            "type": type(self).__name__,
            "stage": self.stage,
            "message": self.message,
            "hint": self.hint,
        }


# --- configuration ---------------------------------------------------------------------------


class ConfigurationError(NbAgentsError):
    """A setting, engine spec or argument is not usable."""

    stage = "config"


class MissingDependencyError(ConfigurationError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the package {package!r}, which is not installed.",
            hint=f"Install it with: pip install 'nbagents[{extra}]'",
        )
        self.package = package
        self.extra = extra


# --- prompt ----------------------------------------------------------------------------------


class PromptError(NbAgentsError):
    """The prompt could not be built."""

    stage = "prompt"


class PromptTooLongError(PromptError):
    """The prompt plus the tokens to generate do not fit the model's context window."""

    def __init__(
        self,
        prompt_tokens: int,
        max_new_tokens: int,
        context_length: int,
        *,
        dropped: Iterable[str] = (),
    ) -> None:
        dropped = list(dropped)
        msg = (
            f"The prompt has {prompt_tokens} tokens and {max_new_tokens} new tokens were asked for, "
            f"but the model takes at most {context_length} tokens "
            f"({prompt_tokens + max_new_tokens - context_length} too many)."
        )
        if dropped:
            msg += f" Already dropped to fit: {', '.join(dropped)}."
        super().__init__(
            msg,
            hint=(
                "Shorten the task, remove tools from agent.toolbox, lower max_new_tokens, "
                "or use a model with a longer context."
            ),
        )
        self.prompt_tokens = prompt_tokens
        self.max_new_tokens = max_new_tokens
        self.context_length = context_length
        self.dropped = dropped


# --- engine ----------------------------------------------------------------------------------


class EngineError(NbAgentsError):
    """The model could not produce an answer."""

    stage = "engine"


class EngineConnectionError(EngineError):
    """The inference server could not be reached."""


class EngineTimeoutError(EngineError):
    """The inference server did not answer in time."""


class EngineAuthError(EngineError):
    """The inference server refused the credentials (401/403)."""


class EngineResponseError(EngineError):
    """The inference server answered with an error or with something that is not a valid reply."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class RateLimitError(EngineResponseError):
    """The server kept answering 429/503 after every retry."""


# --- parse -----------------------------------------------------------------------------------


class ParseError(NbAgentsError):
    """No code could be found in the model's output; the raw output is attached."""

    stage = "parse"

    def __init__(self, message: str, *, raw: str, hint: str | None = None) -> None:
        shown = raw if len(raw) <= 2000 else raw[:2000] + f"... [{len(raw) - 2000} more characters]"
        super().__init__(
            f"{message}\nThe model wrote:\n{shown}" if raw.strip() else f"{message} The model wrote nothing.",
            hint=hint
            or (
                "Rephrase the task, try a stronger model, or write the code yourself with "
                "agent.execute(code) (the inspector's Edit button does this)."
            ),
        )
        self.raw = raw


# --- interpreter -----------------------------------------------------------------------------


class InterpreterError(NbAgentsError):
    """The restricted interpreter refused or stopped the program.

    ``line`` is the 1-based line of the program the error belongs to, when known.
    """

    stage = "interpreter"

    def __init__(self, message: str, *, line: int | None = None, hint: str | None = None) -> None:
        if line is not None:
            message = f"Line {line}: {message}"
        super().__init__(message, hint=hint)
        self.line = line


class RefusedConstructError(InterpreterError):
    """The program uses a construct the interpreter does not allow (refused before running)."""

    def __init__(self, construct: str, *, line: int | None = None, hint: str | None = None) -> None:
        super().__init__(
            f"{construct} is not allowed in agent code.",
            line=line,
            hint=hint or "Agent code may use plain Python: assignments, calls to tools, loops, "
            "functions, comprehensions and the listed builtins and modules.",
        )
        self.construct = construct


class UndefinedNameError(InterpreterError):
    """A name is used that is neither a variable, an input, a tool nor a builtin."""

    def __init__(self, name: str, defined: Iterable[str], *, line: int | None = None) -> None:
        defined = sorted(set(defined))
        shown = ", ".join(defined) if defined else "(nothing yet)"
        super().__init__(
            f"The name {name!r} is not defined.",
            line=line,
            hint=f"Defined here: {shown}.",
        )
        self.name = name
        self.defined = defined


class UnknownToolError(InterpreterError):
    """The program calls a function that is not a tool (an invented tool)."""

    def __init__(self, name: str, tools: Iterable[str], *, line: int | None = None) -> None:
        tools = sorted(set(tools))
        close = closest_names(name, tools)
        hint = f"Closest tools: {', '.join(close)}. " if close else ""
        hint += f"Available tools: {', '.join(tools) if tools else '(none)'}."
        super().__init__(f"{name!r} is not a tool or an allowed function.", line=line, hint=hint)
        self.name = name
        self.tools = tools
        self.closest = close


class LimitExceededError(InterpreterError):
    """A resource limit was hit (operations, time, size, depth, output)."""

    def __init__(
        self, limit: str, value: object, *, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(
            f"The program hit the {limit} limit ({value}).",
            line=line,
            hint=hint or f"If the program is right, raise the limit: Limits({limit}=...).",
        )
        self.limit = limit
        self.value = value


class SandboxRuntimeError(InterpreterError):
    """The program raised an exception (e.g. ZeroDivisionError) that it did not catch."""

    def __init__(self, exc_type: str, detail: str, *, line: int | None = None) -> None:
        super().__init__(f"{exc_type}: {detail}", line=line)
        self.exc_type = exc_type
        self.detail = detail


class IsolationError(InterpreterError):
    """The isolated child process failed (crashed, was killed, or broke the protocol)."""


# --- tool ------------------------------------------------------------------------------------


class ToolError(NbAgentsError):
    """A tool could not be built, loaded or called."""

    stage = "tool"


class ToolExecutionError(ToolError):
    """A tool raised an exception while the program called it (message only, no traceback)."""

    def __init__(self, tool: str, detail: str, *, line: int | None = None) -> None:
        where = f"Line {line}: " if line is not None else ""
        super().__init__(
            f"{where}The tool {tool!r} failed: {detail}",
            hint="Check the arguments the code passed to the tool (agent.last_run.code).",
        )
        self.tool = tool
        self.detail = detail
        self.line = line


class NoToolError(ToolError):
    """No ready tool can do (part of) the task; raised before any tool runs.

    ``needed`` lists the tools that would do it but are not ready, each a mapping with ``name``,
    ``missing`` (what is missing: weights, an extra, a token) and ``command`` (the one command or
    call that gets it); ``closest`` the closest ready tools; ``clause`` the part of the task no
    ready tool fits; ``scores`` the tool scores behind the decision (for the inspector).
    """

    stage = "route"

    def __init__(self, clause: str, *, needed: list[dict] | tuple = (), closest: list[str] | tuple = (),
                 scores: dict[str, float] | None = None) -> None:
        needed = [dict(n) for n in needed]
        if needed:
            names = ", ".join(f"{n['name']!r} ({n['missing']})" for n in needed)
            message = f"No ready tool can do {clause!r}: it needs {names}."
            hint = "Get it with: " + "; or ".join(n["command"] for n in needed) + "."
        else:
            message = f"No tool can do {clause!r}: nothing in the toolbox fits."
            hint = "Add a tool that does it (agent.toolbox.add(my_tool), see `@tool`), or rephrase the task."
        if closest:
            hint += f" Closest ready tools: {', '.join(closest)}."
        super().__init__(message, hint=hint)
        self.clause = clause
        self.needed = needed
        self.closest = list(closest)
        self.scores = dict(scores or {})


class DownloadError(ToolError):
    """A tool's weights could not be downloaded (the message says why; nothing half-written is kept)."""

    stage = "tool"


# --- tables ----------------------------------------------------------------------------------


class TableError(ToolError):
    """A table tool cannot do what it was asked with the table it got (base of the table errors)."""


class TableFileError(TableError):
    """A table file is missing, or is not a table pandas can read."""


class UnknownColumnError(TableError):
    """A column name that the table does not have; the message lists its columns and the closest."""

    def __init__(self, column: str, columns: Iterable[str]) -> None:
        names = [str(c) for c in columns]
        close = closest_names(str(column), names, n=1)
        message = f"The table has no column {str(column)!r}; its columns: {', '.join(names) or 'none'}."
        super().__init__(message, hint=(f"Did you mean {close[0]!r}? " if close else "")
                         + "Pass one of the columns exactly as written.")
        self.column = column
        self.columns = names
        self.closest = close


class ColumnTypeError(TableError):
    """A column whose values are not numbers where a number is needed; the message names its dtype
    and the numeric columns."""

    def __init__(self, column: str, dtype: str, numeric: Iterable[str], *, purpose: str = "a number") -> None:
        numeric = [str(c) for c in numeric]
        super().__init__(
            f"The column {str(column)!r} holds {dtype} values, not numbers, so it cannot be used as {purpose}.",
            hint=(f"Numeric columns: {', '.join(numeric)}." if numeric else "The table has no numeric column.")
            + " Pick a numeric column, or count rows instead.",
        )
        self.column = column
        self.dtype = dtype
        self.numeric = numeric


class EmptyResultError(TableError):
    """A table operation has no rows to work on (an aggregate or chart of an empty table)."""


# --- multi-step modes ------------------------------------------------------------------------


class StepLimitError(NbAgentsError):
    """A ReAct run used every step without calling ``final_answer``."""

    stage = "agent"

    def __init__(self, steps: int, last_observation: str = "") -> None:
        super().__init__(
            f"The agent took {steps} steps without calling final_answer."
            + (f" Last observation: {last_observation[:300]}" if last_observation else ""),
            hint="Raise the limit (Agent(max_steps=...) or %%agent --steps N), or simplify the task.",
        )
        self.steps = steps


class PlanError(NbAgentsError):
    """A plan (task graph) is invalid: unknown tool, bad arguments, cycle or dangling reference."""

    stage = "plan"

    def __init__(self, message: str, *, task_id: object = None, hint: str | None = None) -> None:
        where = f"Task {task_id}: " if task_id is not None else ""
        super().__init__(
            where + message,
            hint=hint or "Fix the plan (review mode lets you edit it) or rephrase the task.",
        )
        self.task_id = task_id


# --- MCP servers -----------------------------------------------------------------------------


class MCPError(ToolError):
    """An MCP server failed: it did not start, exited, timed out, sent a malformed message, or a
    tool of it answered with an error. ``server`` names it; ``stderr`` is the tail of what it wrote
    on its standard error (stdio servers), shown in the message."""

    def __init__(self, server: str, message: str, *, stderr: str = "", hint: str | None = None) -> None:
        tail = stderr.strip()
        text = f"MCP server {server!r}: {message}"
        if tail:
            text += f"\nIts stderr ends with:\n{tail}"
        super().__init__(text, hint=hint)
        self.server = server
        self.stderr = tail


# --- approvals -------------------------------------------------------------------------------


class ApprovalError(ToolError):
    """A tool call was not approved (denied by its policy or by the user, or an ``ask`` that no
    frontend could answer); the tool did not run.

    Attributes
    ----------
    tool:
        The tool's name.
    by:
        Who decided: ``"policy"``, ``"user"`` or ``"no-frontend"``.
    """

    stage = "tool"

    def __init__(self, tool: str, by: str, reason: str = "") -> None:
        allow = f"Agent(approvals={{{tool!r}: 'allow'}}) or %agent approve {tool} allow"
        if by == "policy":
            message = f"The tool {tool!r} is denied by its approval policy; the call did not run."
            hint = f"To let it run, set its policy: {allow} (or 'ask' to be asked each time)."
        elif by == "user":
            message = f"The call of the tool {tool!r} was denied; it did not run."
            hint = f"To stop being asked, allow it: {allow}."
        else:
            message = (f"The tool {tool!r} needs approval (policy 'ask') and nothing here can answer"
                       + (f" ({reason})" if reason else "") + f"; the call did not run. Allow it with {allow}.")
            hint = ("Approvals are asked with a widget in a live notebook and with a prompt in a terminal; "
                    "nbclient, CI and scripts without a terminal cannot answer.")
        super().__init__(message, hint=hint)
        self.tool = tool
        self.by = by
