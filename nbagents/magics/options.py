"""Option parsing for the magics: the options ``%%agent`` and ``%agent_chat`` share, and readers
that turn a malformed line into a :class:`~IPython.core.error.UsageError`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, parse_argstring

__all__ = ["parse", "shared_options", "split_options", "unquote"]

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


def shared_options(func: Callable) -> Callable:
    """Decorator: add the options of ``%%agent`` and ``%agent_chat`` to a magic's arguments."""
    for option in reversed(_SHARED_OPTIONS):
        func = option(func)
    return func


def unquote(value: str | None) -> str | None:
    """``value`` without one pair of surrounding quotes (``'x'`` or ``"x"``)."""
    if value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse(func: Callable, line: str) -> Any:
    """The options of ``line`` for the magic ``func`` (a UsageError for unbalanced quotes)."""
    try:
        return parse_argstring(func, line)
    except ValueError as e:  # unbalanced quotes
        raise UsageError(f"Cannot read the options {line!r}: {e}.") from None


def split_options(func: Callable, line: str) -> tuple[Any, str]:
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
            return parse(func, options), line[end:].strip()
        if not tok.startswith("-") or tok == "-":
            break
        action = actions.get(tok.split("=", 1)[0])
        takes_value = action is not None and action.nargs != 0 and "=" not in tok
        i += 2 if takes_value else 1
        end = tokens[min(i, len(tokens)) - 1].end()
    return parse(func, line[:end]), line[end:].strip()
