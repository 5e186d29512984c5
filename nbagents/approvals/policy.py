"""The approval policy of each tool and the record of one decision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["POLICIES", "Decision", "Policies", "Question", "NoAnswer", "Prompter", "default_policy",
           "summarise_arguments"]

POLICIES = ("allow", "ask", "deny")
ARGUMENTS_CAP = 300


def default_policy(tool: Any) -> str:
    """``ask`` for a tool whose hints say it is destructive or open-world, else ``allow``."""
    if getattr(tool, "destructive", False) or getattr(tool, "open_world", False):
        return "ask"
    return "allow"


def check_policy(policy: Any, name: str = "") -> str:
    """``policy`` when it is one of :data:`POLICIES`; a :class:`ConfigurationError` otherwise."""
    if policy not in POLICIES:
        raise ConfigurationError(
            f"The approval policy{f' of {name!r}' if name else ''} must be 'allow', 'ask' or 'deny', "
            f"not {policy!r}.")
    return policy


def summarise_arguments(args: tuple, kwargs: Mapping[str, Any], cap: int = ARGUMENTS_CAP) -> str:
    """The call's arguments as one line (``a='x', n=3``), secrets redacted, cut at ``cap``."""
    from ..redaction import redact
    from ..runs import short_repr

    parts = [short_repr(a, cap) for a in args] + [f"{k}={short_repr(v, cap)}" for k, v in kwargs.items()]
    text = redact(", ".join(parts))
    return text if len(text) <= cap else text[:cap] + "…"


@dataclass(frozen=True)
class Decision:
    """One approval decision, as the Run records it.

    Attributes
    ----------
    tool:
        The tool's name.
    arguments:
        The arguments, summarised and redacted (:func:`summarise_arguments`).
    policy:
        The tool's policy when it was called.
    decision:
        ``"allowed"`` or ``"denied"``.
    by:
        ``"policy"`` (allow or deny, no question), ``"user"`` (an answered ``ask``) or
        ``"no-frontend"`` (an ``ask`` nothing could answer: denied).
    """

    tool: str
    arguments: str
    policy: str
    decision: str
    by: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class Policies:
    """The policy table: the policies set by name, over each tool's default.

    Parameters
    ----------
    policies:
        ``{tool name: "allow" | "ask" | "deny"}``.
    """

    def __init__(self, policies: Mapping[str, str] | None = None) -> None:
        self._set: dict[str, str] = {}
        for name, policy in dict(policies or {}).items():
            self.set(name, policy)

    def set(self, name: str, policy: str) -> None:
        """Set the policy of the tool ``name`` (it need not exist yet)."""
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"An approval policy needs a tool name, got {name!r}.")
        self._set[name] = check_policy(policy, name)

    def policy_of(self, name: str, tool: Any = None) -> str:
        """The policy of ``name``: the one set, else the default of ``tool`` (``allow`` for none)."""
        return self._set.get(name) or default_policy(tool)

    def explicit(self) -> dict[str, str]:
        """The policies set by name."""
        return dict(self._set)

    def table(self, tools: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """``(name, policy, where it comes from)`` for every tool and every policy set by name."""
        rows = []
        for name in sorted(set(tools) | set(self._set)):
            source = "set" if name in self._set else "default"
            if name not in tools:
                source = "set (no such tool yet)"
            rows.append((name, self.policy_of(name, tools.get(name)), source))
        return rows


@dataclass(frozen=True)
class Question:
    """What a prompt shows: the tool, its arguments (redacted, cut) and its description."""

    tool: str
    arguments: str
    description: str = ""


class NoAnswer(Exception):  # noqa: N818 - a signal between a prompt and the gate, never shown
    """Raised by a prompt that cannot get an answer (no frontend, no terminal); ``str`` says why."""


Prompter = Callable[[Question], str]
"""Asks about one call; returns ``"once"``, ``"always"`` or ``"deny"``, or raises :class:`NoAnswer`."""
