"""Prompt building and fitting to the model's context window.

A template has a system part, a user part and its stop sequences (``### system`` / ``### user``
/ ``### stop`` sections in the files under ``templates/``). Placeholders: ``{{tools}}``,
``{{examples}}``, ``{{task}}``, ``{{inputs}}``, ``{{history}}`` (Transformers Agents' ``<<all_tools>>``
and ``<<prompt>>`` work too). When the prompt plus ``max_new_tokens`` does not fit, examples,
then old chat turns, then tool descriptions, then the tools least related to the task are dropped,
and what was dropped is recorded.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .engines.base import Engine, flatten_messages
from .errors import ConfigurationError, PromptTooLongError
from .kinds import kind_of
from .relevance import tool_relevance
from .tabular import table_schema

__all__ = ["PromptTemplate", "Prompt", "Turn", "build_prompt", "describe_input", "input_type_name", "load_examples"]


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt template: system text, user text and stop sequences."""

    system: str
    user: str
    stop: tuple[str, ...] = ()
    name: str = "custom"

    @classmethod
    def parse(cls, text: str, *, name: str = "custom") -> PromptTemplate:
        """Parse ``### system`` / ``### user`` / ``### stop`` sections; text without sections is
        the user message (the Transformers Agents style, one string with placeholders)."""
        if not re.search(r"(?m)^### (system|user)\s*$", text):
            return cls(system="", user=text, stop=(), name=name)
        sections: dict[str, list[str]] = {}
        current = None
        for line in text.splitlines():
            m = re.match(r"^### (system|user|stop)\s*$", line)
            if m:
                current = m.group(1)
                sections[current] = []
            elif current:
                sections[current].append(line)
        stop = tuple(s for s in sections.get("stop", []) if s.strip())
        stop = tuple(("\n" + s) if s == "Task:" else s for s in stop)
        return cls(
            system="\n".join(sections.get("system", [])).strip("\n"),
            user="\n".join(sections.get("user", [])).strip("\n"),
            stop=stop,
            name=name,
        )

    @classmethod
    def load(cls, source: str | Path | PromptTemplate | None, *, default: str = "run") -> PromptTemplate:
        """A template from ``None`` (the built-in one), a template, a file path or a string."""
        if isinstance(source, PromptTemplate):
            return source
        if source is None:
            text = resources.files("nbagents.templates").joinpath(f"{default}.txt").read_text("utf-8")
            return cls.parse(text, name=default)
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                         and len(source) < 4096 and Path(source).expanduser().is_file()):
            path = Path(source).expanduser()
            return cls.parse(path.read_text("utf-8"), name=path.name)
        if isinstance(source, str):
            if not source.strip():
                raise ConfigurationError("The prompt template is empty.")
            return cls.parse(source)
        raise ConfigurationError(
            f"A prompt template must be a string, a path or a PromptTemplate, not {type(source).__name__}."
        )

    def messages(self, values: Mapping[str, str]) -> list[dict[str, str]]:
        """The system and user messages with ``{{name}}`` placeholders filled from ``values``."""
        out = []
        if self.system.strip():
            out.append({"role": "system", "content": _fill(self.system, values).strip()})
        out.append({"role": "user", "content": _fill(self.user, values).strip()})
        return out


@dataclass(frozen=True)
class Prompt:
    """A built prompt: chat messages, stop sequences, token count and what fitting dropped."""

    messages: tuple[dict[str, str], ...]
    stop: tuple[str, ...]
    token_count: int
    dropped: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return flatten_messages(self.messages)


@dataclass(frozen=True)
class Turn:
    """One earlier chat turn, shown to the model in chat mode."""

    task: str
    code: str
    outcome: str = ""


@dataclass(frozen=True)
class Example:
    text: str
    calls: frozenset[str]


def load_examples() -> list[Example]:
    text = resources.files("nbagents.templates").joinpath("examples.txt").read_text("utf-8")
    out = []
    for block in re.split(r"(?m)^### example\s*$", text):
        block = block.strip()
        if not block:
            continue
        code = re.search(r"```py\n(.*?)```", block, re.S)
        calls: set[str] = set()
        if code:
            for node in ast.walk(ast.parse(code.group(1))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    calls.add(node.func.id)
        out.append(Example(block, frozenset(calls)))
    return out


def input_type_name(value: Any) -> str:
    """How an input's type is shown to the model (``str``, ``Image``, ``Audio``, ``list``...):
    its kind's shown name (:mod:`nbagents.kinds`), else its class name (``tuple`` for tuples)."""
    kind = kind_of(value)
    if kind is not None:
        return kind.display
    return "tuple" if isinstance(value, tuple) else type(value).__name__


#: Columns shown per table input, then (when the prompt does not fit) fewer.
TABLE_COLUMNS = (12, 4)


def describe_input(name: str, value: Any, *, max_columns: int = TABLE_COLUMNS[0]) -> str:
    """An input as the prompt shows it: ``photo (Image)``; a table with its shape and columns,
    ``sales (Table: 120 rows × 4 columns: region (text), units (number), …)``, the first
    ``max_columns`` of a wide one."""
    schema = table_schema(value)
    if schema is not None:
        return f"{name} ({input_type_name(value)}: {schema.render(max_columns=max_columns)})"
    return f"{name} ({input_type_name(value)})"


def _fill(template: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    template = template.replace("<<all_tools>>", values.get("tools", ""))
    template = template.replace("<<prompt>>", values.get("task", ""))
    template = template.replace("<<task>>", values.get("task", ""))
    return re.sub(r"\n{3,}", "\n\n", template)


def count_prompt_tokens(engine: Engine | None, messages: Sequence[Mapping[str, str]]) -> int:
    if engine is None:
        text = flatten_messages(messages)
        return max(1, len(text) // 4)
    counter = getattr(engine, "count_message_tokens", None)
    if counter is not None:
        return counter(list(messages))
    return engine.count_tokens(flatten_messages(messages)) + 4 * len(messages)


def build_prompt(
    task: str,
    tools: Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    template: PromptTemplate,
    engine: Engine | None = None,
    max_new_tokens: int = 256,
    history: Sequence[Turn] = (),
    examples: Sequence[Example] | None = None,
    state_names: Sequence[str] = (),
) -> Prompt:
    """Build the prompt for ``task`` and fit it to ``engine.context_length``.

    Raises
    ------
    PromptTooLongError
        When even the smallest prompt does not fit; it gives both token counts.
    """
    if examples is None:
        examples = load_examples()
    usable = [e for e in examples if e.calls <= set(tools)]
    tool_list = list(tools.values())
    history = list(history)
    short_descriptions = False
    table_columns = TABLE_COLUMNS[0]
    dropped: list[str] = []
    context = engine.context_length if engine is not None else None

    def render() -> tuple[tuple[dict[str, str], ...], int]:
        tool_text = "\n".join(t.signature(short=short_descriptions) for t in tool_list) or "(no tools)"
        ex_text = ("\nExamples:\n\n" + "\n\n".join(e.text for e in usable) + "\n") if usable else ""
        if inputs:
            input_text = "Inputs: " + ", ".join(describe_input(n, v, max_columns=table_columns)
                                                for n, v in inputs.items())
        else:
            input_text = ""
        if state_names:
            extra = [n for n in state_names if n not in inputs]
            if extra:
                input_text += ("\n" if input_text else "") + "Variables from earlier turns: " + ", ".join(extra)
        hist_text = "".join(
            f"Task: {t.task}\n```py\n{t.code.strip()}\n```\n" + (f"{t.outcome}\n" if t.outcome else "") + "\n"
            for t in history
        )
        values = {"tools": tool_text, "examples": ex_text, "task": task.strip(), "inputs": input_text,
                  "history": hist_text}
        messages = tuple(template.messages(values))
        return messages, count_prompt_tokens(engine, messages)

    messages, count = render()
    if context is None:
        return Prompt(messages, template.stop, count, (), tuple(tools))

    def fits(n: int) -> bool:
        return n + max_new_tokens <= context

    while not fits(count) and usable:
        usable.pop()
        dropped.append("an example")
        messages, count = render()
    while not fits(count) and history:
        history.pop(0)
        dropped.append("an earlier chat turn")
        messages, count = render()
    wide = [n for n, v in inputs.items() if (s := table_schema(v)) is not None and len(s.columns) > TABLE_COLUMNS[1]]
    if not fits(count) and wide:
        table_columns = TABLE_COLUMNS[1]
        dropped.append("columns of " + ", ".join(wide))
        messages, count = render()
    if not fits(count) and tool_list:
        short_descriptions = True
        dropped.append("tool descriptions")
        messages, count = render()
    if not fits(count) and len(tool_list) > 1:
        relevance = tool_relevance(tool_list, task)
        ranked = sorted(tool_list, key=lambda t: relevance[t.name], reverse=True)
        while not fits(count) and len(tool_list) > 1:
            keep = ranked[: max(1, len(tool_list) // 2)]
            removed = [t.name for t in tool_list if t not in keep]
            tool_list = [t for t in tool_list if t in keep]
            dropped.append("tools " + ", ".join(removed))
            messages, count = render()
    if not fits(count):
        raise PromptTooLongError(count, max_new_tokens, context, dropped=dropped)
    return Prompt(messages, template.stop, count, tuple(dropped), tuple(t.name for t in tool_list))
