"""The terminal prompt for an ``ask``: one question on stderr, one answer read from stdin."""

from __future__ import annotations

import sys

from .policy import NoAnswer, Question

__all__ = ["ask_on_terminal", "parse_answer"]

_ANSWERS = {"y": "once", "yes": "once", "o": "once", "once": "once", "a": "always", "always": "always",
            "n": "deny", "no": "deny", "d": "deny", "deny": "deny", "": "deny"}


def parse_answer(text: str) -> str | None:
    """``once``, ``always`` or ``deny`` for a typed answer (empty is deny); ``None`` if unknown."""
    return _ANSWERS.get(text.strip().lower())


def ask_on_terminal(question: Question) -> str:
    """Ask on the terminal whether the call may run; returns ``once``, ``always`` or ``deny``.

    Raises :class:`~.policy.NoAnswer` when stdin is closed (end of file).
    """
    sys.stderr.write(f"nbagents: the agent wants to call {question.tool}({question.arguments})\n")
    for _ in range(3):
        sys.stderr.write("Allow it? [y] once, [a] always, [N] deny: ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            raise NoAnswer("the terminal closed before an answer")
        answer = parse_answer(line)
        if answer is not None:
            return answer
    return "deny"
