"""Tools: named callables with typed inputs, an output type and a lazy ``setup()``.

``@tool`` builds a :class:`Tool` from a plain function: its name, the first paragraph of its
docstring as the description, and its inputs from the signature, type hints and the docstring's
parameter section. What the model sees of a tool is :meth:`Tool.signature`.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, ToolError
from ..kinds import display_names, kind_of_annotation
from ..results import unwrap, wrap
from ..tabular import ColumnRole, column_role, value_of

__all__ = ["Tool", "ToolInput", "FunctionTool", "Toolbox", "tool", "TYPE_NAMES", "type_of", "literal_choices"]

#: Internal type names and how they are shown to the model (Python-like, short): a live view
#: of the kind registry (:mod:`nbagents.kinds`).
TYPE_NAMES: Mapping[str, str] = display_names()
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def type_of(annotation: Any) -> str:
    """Map a Python annotation (or a type name) to one of :data:`TYPE_NAMES`."""
    return kind_of_annotation(annotation).name


def literal_choices(annotation: Any) -> tuple:
    """The values of a ``Literal[...]`` annotation (also inside ``Optional``), else ``()``."""
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return literal_choices(annotation.__origin__)
    if typing.get_origin(annotation) is not None:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return literal_choices(args[0])
    return ()


@dataclass(frozen=True)
class ToolInput:
    """One parameter of a tool."""

    name: str
    type: str = "any"
    description: str = ""
    default: Any = inspect.Parameter.empty
    #: The only values the parameter takes (from ``Literal[...]`` or an input spec's ``choices``):
    #: shown in the signature, and the only literals constrained decoding writes for it.
    choices: tuple = ()
    #: A column name of a table parameter (:data:`~nbagents.tabular.Column`,
    #: :data:`~nbagents.tabular.NumericColumn`): the grammars take only real columns of the
    #: table inputs (numeric ones when ``column.numeric``).
    column: ColumnRole | None = None
    #: A value of the column named by this other parameter (:data:`~nbagents.tabular.CellValue`):
    #: the grammars take only a literal of that column's type.
    value_of: str = ""

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def render(self) -> str:
        shown = " | ".join(repr(c) for c in self.choices) if self.choices else TYPE_NAMES.get(self.type, "Any")
        text = f"{self.name}: {shown}"
        if not self.required:
            text += f" = {self.default!r}"
        return text


class Tool:
    """A tool an agent can call.

    Subclass it and set ``name``, ``description``, ``inputs`` and ``output_type``, then implement
    ``forward``; load heavy models in ``setup()``, which runs once on the first call.

    Attributes
    ----------
    name:
        The identifier the model calls.
    description:
        One plain sentence for a small model (what it does, with the argument names).
    inputs:
        Ordered ``ToolInput`` list (or a mapping ``name -> {"type", "description"}``).
    output_type:
        ``"str"``, ``"image"``, ``"audio"``, ``"int"``, ``"float"``, ``"list"``, ``"dict"`` or ``"any"``.
    thread_safe:
        Whether two calls may run at the same time (plan mode runs independent tasks in threads).
    destructive, open_world:
        Hints for approvals: the tool may change or delete things, or reach the world outside
        (network, other people). Either one makes the tool's default approval policy ``ask``
        (:mod:`nbagents.approvals`); MCP tools take them from ``destructiveHint`` / ``openWorldHint``.
    """

    name: str = ""
    description: str = ""
    inputs: Any = ()
    output_type: str = "any"
    thread_safe: bool = True
    destructive: bool = False
    open_world: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.is_initialized = False
        self._setup_lock = threading.Lock()
        self.inputs = self._normalise_inputs(self.inputs)
        self.output_type = type_of(self.output_type) if self.output_type else "any"
        self.validate()

    @staticmethod
    def _normalise_inputs(inputs: Any) -> tuple[ToolInput, ...]:
        if isinstance(inputs, Mapping):
            out = []
            for name, spec in inputs.items():
                spec = spec if isinstance(spec, Mapping) else {"type": spec}
                kwargs = {"default": spec["default"]} if "default" in spec else {}
                choices = tuple(spec.get("choices", spec.get("enum", ())))
                column = spec.get("column")
                if column is not None and not isinstance(column, ColumnRole):
                    column = ColumnRole(numeric=str(column).lower() == "numeric")
                out.append(ToolInput(name, type_of(spec.get("type", "any")), spec.get("description", ""),
                                     choices=choices, column=column, value_of=spec.get("value_of", ""),
                                     **kwargs))
            return tuple(out)
        return tuple(i if isinstance(i, ToolInput) else ToolInput(*i) for i in inputs)

    def validate(self) -> None:
        """Check the tool's declaration; raise :class:`ToolError` naming what is wrong."""
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ToolError(
                f"A tool needs a name that is a plain identifier, got {self.name!r}.",
                hint="Names start with a letter and use letters, digits and underscores.",
            )
        if not self.description or not isinstance(self.description, str):
            raise ToolError(f"The tool {self.name!r} has no description.",
                            hint="Add a one-line docstring or set description=...")
        for i in self.inputs:
            if not _NAME_RE.match(i.name):
                raise ToolError(f"The tool {self.name!r} has an input with a bad name: {i.name!r}.")

    # --- running -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Load what the tool needs (models, files). Runs once, on the first call."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"The tool {self.name!r} does not implement forward().")

    def ensure_setup(self) -> None:
        if not self.is_initialized:
            with self._setup_lock:
                if not self.is_initialized:
                    self.setup()
                    self.is_initialized = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.ensure_setup()
        args = tuple(unwrap(a) for a in args)
        kwargs = {k: unwrap(v) for k, v in kwargs.items()}
        return wrap(self.forward(*args, **kwargs), self.output_type)

    def bind_arguments(self, args: tuple, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``args`` and ``kwargs`` mapped to the input names (positional ones in the inputs'
        order). Too many, unknown or doubled arguments and a missing required one are a
        ``ToolError`` naming them; optional inputs not given are left out."""
        names = [i.name for i in self.inputs]
        if len(args) > len(names):
            raise ToolError(f"{self.name} takes {len(names)} arguments, got {len(args)}.")
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise ToolError(f"{self.name} has no argument {key!r}; its arguments: {', '.join(names) or 'none'}.")
            if key in bound:
                raise ToolError(f"{self.name} got the argument {key!r} twice.")
            bound[key] = value
        for i in self.inputs:
            if i.required and i.name not in bound:
                raise ToolError(f"{self.name} needs the argument {i.name!r}.")
        return bound

    # --- what the model sees -----------------------------------------------------------------

    @property
    def summary(self) -> str:
        """The first sentence of the description."""
        text = " ".join(self.description.split())
        m = re.match(r"(.+?[.!?])(\s|$)", text)
        return m.group(1) if m else text

    def signature(self, *, short: bool = False) -> str:
        """``name(arg: type, ...) -> type: description`` (``short`` drops the description)."""
        args = ", ".join(i.render() for i in self.inputs)
        sig = f"{self.name}({args}) -> {TYPE_NAMES.get(self.output_type, 'Any')}"
        return sig if short else f"{sig}: {self.summary}"

    def to_dict(self) -> dict:
        """A JSON-friendly description of the tool (no code)."""
        return {
            "name": self.name,
            "description": self.description,
            "inputs": [
                {"name": i.name, "type": i.type, "description": i.description,
                 **({} if i.required else {"default": i.default}),
                 **({"column": "numeric" if i.column.numeric else "any"} if i.column else {}),
                 **({"value_of": i.value_of} if i.value_of else {})}
                for i in self.inputs
            ],
            "output_type": self.output_type,
        }

    def save(self, folder: str | Path) -> Path:
        """Save the tool to ``folder``: ``tool.json`` (its declaration) and ``tool.py`` (its code),
        loadable with ``load_tool(folder, trust_remote_code=True)``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        decl = self.to_dict()
        source = self._source()
        decl["module"] = "tool.py"
        decl["class"] = source[1]
        (folder / "tool.json").write_text(json.dumps(decl, indent=2, default=repr), encoding="utf-8")
        (folder / "tool.py").write_text(source[0], encoding="utf-8")
        return folder

    def _source(self) -> tuple[str, str]:
        cls = type(self)
        try:
            module_source = inspect.getsource(inspect.getmodule(cls))
        except (OSError, TypeError) as e:
            raise ToolError(f"The source of the tool {self.name!r} cannot be found, so it cannot be saved.") from e
        return module_source, cls.__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.signature(short=True)}>"


_PARAM_HEADERS = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:?\s*$", re.I)


def _doc_params(doc: str) -> dict[str, str]:
    """Parameter descriptions from a Google- or numpy-style docstring."""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    in_params = False
    current = None
    for line in lines:
        if _PARAM_HEADERS.match(line):
            in_params = True
            continue
        if not in_params:
            continue
        stripped = line.strip()
        if set(stripped) <= {"-"} and stripped:
            continue
        if re.match(r"^\s*(Returns?|Yields?|Raises|Examples?|Notes?)\s*:?\s*$", line):
            break
        m = re.match(r"^\s*([A-Za-z_]\w*)\s*(\([^)]*\))?\s*:\s*(.*)$", line)
        if m and (m.group(3) or not line.startswith(" " * 8)):
            current = m.group(1)
            out[current] = m.group(3).strip()
        elif current and stripped:
            out[current] = (out[current] + " " + stripped).strip()
    return out


class FunctionTool(Tool):
    """A tool made from a plain function by :func:`tool`."""

    def __init__(self, fn: Callable, *, name: str | None = None, description: str | None = None,
                 output_type: str | None = None, thread_safe: bool = True) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        doc = inspect.getdoc(fn) or ""
        self.description = description or doc.split("\n\n")[0].strip()
        params = _doc_params(doc)
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:  # unresolved forward references: fall back to raw annotations
            hints = getattr(fn, "__annotations__", {})
        sig = inspect.signature(fn)
        inputs = []
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            hint = hints.get(p.name, p.annotation)
            inputs.append(ToolInput(p.name, type_of(hint), params.get(p.name, ""), p.default,
                                    choices=literal_choices(hint), column=column_role(hint),
                                    value_of=value_of(hint)))
        self.inputs = tuple(inputs)
        self.output_type = output_type or type_of(hints.get("return", sig.return_annotation))
        self.thread_safe = thread_safe
        super().__init__()
        self.__doc__ = doc
        self.__wrapped_name__ = fn.__name__

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def _source(self) -> tuple[str, str]:
        try:
            src = inspect.getsource(self.fn)
        except (OSError, TypeError) as e:
            raise ToolError(f"The source of the tool {self.name!r} cannot be found, so it cannot be saved.") from e
        src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith("@tool"))
        module = (
            "from nbagents import tool\n\n\n" + src.strip() + "\n\n\n"
            f"TOOL = tool({self.fn.__name__}, name={self.name!r}, description={self.description!r})\n"
        )
        return module, "TOOL"


def tool(fn: Callable | None = None, *, name: str | None = None, description: str | None = None,
         output_type: str | None = None, thread_safe: bool = True):
    """Make a :class:`Tool` from a function (usable as ``@tool`` or ``@tool(name=...)``).

    Examples
    --------
    >>> @tool
    ... def word_count(text: str) -> int:
    ...     '''Count the words in `text`.'''
    ...     return len(text.split())
    >>> word_count.signature()
    'word_count(text: str) -> int: Count the words in `text`.'
    """
    def build(f: Callable) -> FunctionTool:
        if not callable(f):
            raise ToolError(f"@tool needs a function, got {type(f).__name__}.")
        return FunctionTool(f, name=name, description=description, output_type=output_type,
                            thread_safe=thread_safe)

    return build(fn) if fn is not None else build


def as_tool(obj: Any) -> Tool:
    """Accept a Tool or a plain function (wrapped with :func:`tool`)."""
    if isinstance(obj, Tool):
        return obj
    if callable(obj) and (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return tool(obj)
    raise ConfigurationError(
        f"Not a tool: {obj!r}.", hint="Pass Tool instances or functions decorated with @tool."
    )


class Toolbox(MutableMapping[str, Tool]):
    """The agent's tools by name: add, replace and remove like a dict.

    ``toolbox["name"] = tool`` adds or replaces (the key must be the tool's name);
    ``del toolbox["name"]`` removes; ``toolbox.add(tool_or_function)`` adds by the tool's own name.
    The same mapping is what the model is shown and what the interpreter may call.
    """

    def __init__(self, tools: Iterable[Any] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, obj: Any, *, replace: bool = True) -> Tool:
        t = as_tool(obj)
        if not replace and t.name in self._tools:
            raise ConfigurationError(f"A tool named {t.name!r} is already in the toolbox.")
        self._tools[t.name] = t
        return t

    def __getitem__(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            from ..errors import closest_names

            close = closest_names(name, self._tools)
            raise KeyError(
                f"No tool named {name!r}." + (f" Closest: {', '.join(close)}." if close else "")
            ) from None

    def __setitem__(self, name: str, obj: Any) -> None:
        t = as_tool(obj)
        if t.name != name:
            raise ConfigurationError(
                f"The tool is named {t.name!r} but was stored under {name!r}.",
                hint="Store a tool under its own name, or use toolbox.add(tool).",
            )
        self._tools[name] = t

    def __delitem__(self, name: str) -> None:
        del self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def signatures(self, *, short: bool = False) -> str:
        return "\n".join(t.signature(short=short) for t in self._tools.values())

    def __repr__(self) -> str:
        return f"Toolbox({', '.join(self._tools)})"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td><code>{html.escape(t.name)}</code></td>"
            f"<td><code>{html.escape(t.signature(short=True))}</code></td>"
            f"<td>{html.escape(t.summary)}</td></tr>"
            for t in self._tools.values()
        )
        return f"<table><tr><th>tool</th><th>signature</th><th>description</th></tr>{rows}</table>"
