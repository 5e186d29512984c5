"""The Run record: everything one agent run saw and did. UI code consumes only this."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import NbAgentsError
from .kinds import kind_of
from .redaction import redact

__all__ = ["Run", "ErrorInfo", "Step", "describe_value", "short_repr"]

_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}


def short_repr(value: Any, cap: int = 500) -> str:
    """``repr(value)`` cut at ``cap`` characters (``…`` marks the cut), never failing and never
    building much more than ``cap`` characters: plain containers are walked here without
    recursion (a deep, shared or cyclic structure costs ``cap`` steps), an integer too big to
    print is described by its size, a ``repr`` that raises by the object's type."""
    out: list[str] = []
    size = 0
    todo: list[tuple[bool, Any]] = [(False, value)]  # (is literal text, item), last first
    while todo and size <= cap:
        literal, item = todo.pop()
        t = type(item)
        if literal:
            text = item
        elif t in _BRACKETS or t is dict:
            if not item:
                text = "{}" if t is dict else f"{t.__name__}()" if t in (set, frozenset) else _BRACKETS[t][0] + _BRACKETS[t][1]
            else:
                left, right = ("{", "}") if t is dict else _BRACKETS[t]
                parts: list[tuple[bool, Any]] = []
                for i, element in enumerate(list(item.items()) if t is dict else list(item)):
                    if i:
                        parts.append((True, ", "))
                    if len(parts) > cap:
                        parts.append((True, "..."))
                        break
                    if t is dict:
                        parts += [(False, element[0]), (True, ": "), (False, element[1])]
                    else:
                        parts.append((False, element))
                if t is tuple and len(item) == 1:
                    parts.append((True, ","))
                todo.append((True, right))
                todo.extend(reversed(parts))
                text = left
        elif t is int and item.bit_length() > 10_000:
            text = f"<int of {item.bit_length()} bits>"
        elif t in (str, bytes) and len(item) > cap:
            text = repr(item[: cap + 1])
        else:
            try:
                text = repr(item)
            except Exception:  # noqa: BLE001 - a description must never fail
                text = f"<{t.__name__} object>"
        out.append(text)
        size += len(text)
    text = "".join(out)
    return text if len(text) <= cap and not todo else text[:cap] + "…"


def describe_value(value: Any) -> str:
    """A short type description of an input or result (``str``, ``image 64x64``, ``list[3]``)."""
    from .results import AgentType

    if isinstance(value, AgentType):
        return value.summary() if value.kind != "text" else "str"
    kind = kind_of(value)
    media = kind.result_class() if kind is not None and kind.media else None
    if media is not None:  # a raw PIL image: described as its result would be
        return media(value).summary()
    if isinstance(value, (list, tuple, dict, set)):
        return f"{type(value).__name__}[{len(value)}]"
    return type(value).__name__


@dataclass(frozen=True)
class ErrorInfo:
    """A serialisable description of an error, typed by the stage that failed."""

    type: str
    stage: str
    message: str
    hint: str | None = None
    line: int | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, NbAgentsError):
            return cls(type(exc).__name__, exc.stage, redact(exc.message), redact(exc.hint) if exc.hint else None,
                       getattr(exc, "line", None))
        return cls(type(exc).__name__, "agent", redact(str(exc)))

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


@dataclass(frozen=True)
class Step:
    """One step of a multi-step run (ReAct) or one task of a plan."""

    index: int
    prompt: str = ""
    raw_output: str = ""
    code: str = ""
    observation: str = ""
    error: ErrorInfo | None = None
    timings: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """One agent run.

    Attributes
    ----------
    task:
        The task text (empty for ``execute``).
    kind:
        ``"run"``, ``"chat"``, ``"generate"`` (code only) or ``"execute"`` (given code, no model).
    inputs:
        Input names and short type descriptions.
    prompt, stop:
        The exact prompt text the model was given and the stop sequences.
    raw_output:
        The model's output, untouched (cut at the stop sequence).
    explanation, code:
        What the parser found.
    result:
        The result (an agent type or plain data); ``None`` on error. Not serialised as such.
    prints:
        Output the program printed.
    error:
        What failed, typed by stage, or ``None``.
    timings:
        Seconds per stage (``prompt``, ``generate``, ``parse``, ``execute``, ``total``).
    prompt_tokens, completion_tokens:
        Token counts as the engine reported them.
    engine, model_id:
        Which engine and model answered.
    facts:
        Engine facts (device, dtype, quantization, load time, tokens/s, cached prefix tokens).
    dropped:
        What prompt fitting left out to fit the context window.
    """

    task: str = ""
    kind: str = "run"
    inputs: Mapping[str, str] = field(default_factory=dict)
    prompt: str = ""
    stop: tuple[str, ...] = ()
    raw_output: str = ""
    explanation: str = ""
    code: str = ""
    result: Any = field(default=None, repr=False)  # summarised by result_summary()
    prints: str = ""
    error: ErrorInfo | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    engine: str = ""
    model_id: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    parent: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.error is None

    def with_changes(self, **changes: Any) -> Run:
        return replace(self, **changes)

    def result_summary(self) -> str:
        from .results import AgentType

        if self.result is None:
            return ""
        if isinstance(self.result, AgentType):
            return self.result.summary()
        return short_repr(self.result)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict, with secrets redacted and the result summarised."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "exception":
                continue
            if f.name == "result":
                out["result"] = {"type": describe_value(value) if value is not None else None,
                                 "summary": self.result_summary()}
            elif f.name == "error":
                out["error"] = asdict(value) if value else None
            elif f.name == "steps":
                out["steps"] = [asdict(s) for s in value]
            elif isinstance(value, Mapping):
                out[f.name] = dict(value)
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return redact(out)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), default=str, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        """Rebuild a Run from :meth:`to_dict` output (the result comes back as its summary)."""
        data = dict(data)
        known = {f.name for f in fields(cls)} - {"exception"}
        data = {k: v for k, v in data.items() if k in known}
        if data.get("error"):
            data["error"] = ErrorInfo(**data["error"])
        if "steps" in data:
            steps = []
            for s in data["steps"]:
                s = dict(s)
                if s.get("error"):
                    s["error"] = ErrorInfo(**s["error"])
                steps.append(Step(**s))
            data["steps"] = tuple(steps)
        result = data.pop("result", None)
        for name in ("stop", "dropped"):
            if name in data:
                data[name] = tuple(data[name])
        run = cls(**data)
        if isinstance(result, Mapping) and result.get("summary"):
            run = replace(run, result=result["summary"])
        return run
