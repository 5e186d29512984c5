"""The gate: the interpreter's ``before_tool_call`` hook, applying each tool's policy.

Every path that runs a tool asks the hook first (programs in the kernel and in the isolated
child, :meth:`~nbagents.interpreter.Interpreter.call_tool` for plan tasks, ReAct steps), so one
:class:`Gate` set as ``interpreter.before_tool_call`` covers them all. ``allow`` lets the call
run; ``deny`` refuses it with an :class:`~nbagents.errors.ApprovalError`; ``ask`` asks the
:data:`Prompter` (a widget in a live notebook, a prompt on a terminal) and refuses the call at
once when there is none. Each decision is kept until :meth:`Gate.take`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from ..errors import ApprovalError, ConfigurationError
from .policy import Decision, NoAnswer, Policies, Prompter, Question, summarise_arguments

__all__ = ["Gate", "Prompter", "Question", "NoAnswer", "default_prompter", "PROMPT_ENV"]

PROMPT_ENV = "NBAGENTS_APPROVAL_PROMPT"
"""``auto`` (default), ``widget``, ``console`` or ``none``: which prompt answers an ``ask``."""


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    ip = get() if callable(get) else None
    return ip is not None and getattr(ip, "kernel", None) is not None


def default_prompter() -> Prompter | None:
    """The prompt that can answer here, or ``None``.

    ``$NBAGENTS_APPROVAL_PROMPT`` decides when set (``widget``, ``console``, ``none``); otherwise
    (``auto``) a Jupyter kernel gets the widget (which itself finds out whether a frontend
    answers), a process whose stdin and stdout are terminals the console prompt, anything else
    none.
    """
    choice = os.environ.get(PROMPT_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "widget", "console", "none"):
        raise ConfigurationError(f"${PROMPT_ENV} must be auto, widget, console or none, not {choice!r}.")
    if choice == "none":
        return None
    if choice == "widget" or (choice == "auto" and _in_kernel()):
        from .widget import ask_in_notebook

        return ask_in_notebook
    if choice == "console" or (sys.stdin is not None and sys.stdin.isatty()
                               and sys.stdout is not None and sys.stdout.isatty()):
        from .console import ask_on_terminal

        return ask_on_terminal
    return None


class Gate:
    """The ``before_tool_call`` hook over a policy table.

    Parameters
    ----------
    policies:
        The :class:`~.policy.Policies`; an ``Always`` answer sets the tool's policy to ``allow``.
    lookup:
        ``name -> tool or None``: the tool a name calls (for its default policy and description).
    prompter:
        The :data:`Prompter` for ``ask``; ``None`` picks :func:`default_prompter` at each question.

    Notes
    -----
    Thread-safe: plan tasks call tools from several threads, and one question is asked at a time.
    """

    def __init__(self, policies: Policies, lookup: Callable[[str], Any], prompter: Prompter | None = None) -> None:
        self.policies = policies
        self.lookup = lookup
        self.prompter = prompter
        self._decisions: list[Decision] = []
        self._lock = threading.Lock()
        self._asking = threading.Lock()

    def __call__(self, request: Any) -> None:
        """Let the call in ``request`` (a :class:`~nbagents.interpreter.ToolRequest`) run, or raise
        :class:`~nbagents.errors.ApprovalError` (the tool then does not run)."""
        name = request.name
        tool = self.lookup(name)
        policy = self.policies.policy_of(name, tool)
        if policy == "allow":
            self._note(name, request, policy, "allowed", "policy")
            return
        if policy == "deny":
            self._note(name, request, policy, "denied", "policy")
            raise ApprovalError(name, "policy")
        with self._asking:
            policy = self.policies.policy_of(name, tool)  # an "Always" given meanwhile counts
            if policy == "allow":
                self._note(name, request, policy, "allowed", "policy")
                return
            question = Question(name, summarise_arguments(request.args, request.kwargs),
                                str(getattr(tool, "description", "") or ""))
            prompter = self.prompter or default_prompter()
            try:
                if prompter is None:
                    raise NoAnswer("no notebook frontend and no terminal")
                answer = prompter(question)
            except NoAnswer as e:
                self._note(name, request, policy, "denied", "no-frontend")
                raise ApprovalError(name, "no-frontend", str(e)) from None
            if answer == "always":
                self.policies.set(name, "allow")
            if answer in ("once", "always"):
                self._note(name, request, policy, "allowed", "user")
                return
            self._note(name, request, policy, "denied", "user")
            raise ApprovalError(name, "user")

    def _note(self, name: str, request: Any, policy: str, decision: str, by: str) -> None:
        record = Decision(name, summarise_arguments(request.args, request.kwargs), policy, decision, by)
        with self._lock:
            self._decisions.append(record)

    def take(self) -> tuple[Decision, ...]:
        """The decisions since the last call, oldest first (and forget them)."""
        with self._lock:
            taken, self._decisions = tuple(self._decisions), []
        return taken
