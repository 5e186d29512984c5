"""What a constrained program may be (:class:`ProgramSpec`) and the per-line bookkeeping that
turns it into one grammar per line (:class:`ProgramBuilder`).

The rules, measured on SmolLM2-135M (see ``shared/notes/constrained-decoding.md``):

* every line assigns the same variable, ``result`` (free names were where small models drifted),
  so a program is a chain; the program's value is its last line;
* with known steps (``expected_tools``, the tools the task needs in order) the program has one
  line per step, and when a later step joins two values (``side_by_side(left=..., right=...)``)
  the lines before it assign named intermediates, after their kind (``image_1``, ``audio_1``,
  ``text_1``), so that two steps may read the same input (a branch) and the join both results;
* the data-flow rule: while an input, a named intermediate or the last result is unread, the next
  line must read one of them in a required parameter (before a join it may read an input again
  instead), the last line reads all that are still unread, and the program may end only once
  every input and intermediate was read;
* references are typed: an input's type comes from its runtime value, a result's from the
  tool's output type;
* literals are grounded: a parameter takes only the values the task states that fit it, when
  there are any (:mod:`.values`);
* the program stops at ``<eos>``, a closing fence or ``print(result)`` (which is not kept: the
  result is the last value), after ``max_lines`` lines, or when a line repeats an earlier one
  (the repeat is dropped);
* the output has the shape the agent's parser reads: one sentence of explanation (optional),
  then the code in a ```` ```py ```` block.
"""

from __future__ import annotations

import ast
import keyword
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..kinds import kind_of_annotation, takes_literal
from ..parsing import parses
from ..relevance import expected_tools, task_prior, tool_relevance
from .columns import Tables, candidates, cell_slot, column_literal, tables_of
from .constraint import Constraint
from .lines import INDENT, LineState, grounded_literals, line_grammar, stated_choices
from .types import compatible, literal_type, value_type
from .values import TaskValues, task_values

__all__ = ["ProgramSpec", "ProgramBuilder", "render_program"]


def _type_name(value: Any) -> str:
    return kind_of_annotation(value).name if isinstance(value, str) else "any"


def _tool_map(tools: Any) -> dict[str, Any]:
    if isinstance(tools, Mapping):
        return dict(tools)
    from ..tools.base import as_tool

    out = {}
    for t in tools or ():
        t = as_tool(t)
        out[t.name] = t
    return out


@dataclass(frozen=True)
class ProgramSpec(Constraint):
    """What the model may write: passed as ``engine.generate(..., constraint=spec)``.

    Parameters
    ----------
    tools:
        The tools the program may call (a mapping name -> Tool, or an iterable of tools).
    input_types:
        The inputs, name -> type name (``"str"``, ``"image"``, ``"Image"``, ``"list"``...).
        :meth:`for_inputs` builds this from the input values.
    variables:
        Other names the program may read but need not (chat variables), name -> type name.
    rich:
        The richer grammar for stronger models: free names, nested calls, f-strings, loops.
    explanation:
        Let the model write one sentence of explanation before the code block.
    max_lines:
        The most lines (default: one per expected tool when there are any, else 4 for the simple
        grammar; 8 for the rich one).
    max_line_tokens:
        Past this many tokens in a line, tokens that close it (quotes, brackets, newline) are
        preferred.
    choose_tools:
        Pick the tool of each line by likelihood: every allowed ``tool(`` is scored in one
        batched forward pass and the best is forced (simple grammar).
    result_name:
        The variable the lines assign; the program's value.
    explanation_prefix:
        Text the explanation starts with (``"Thought: "`` in ReAct mode); the explanation is then
        required.
    final_tool:
        A tool whose call ends the program (``final_answer`` in ReAct mode).
    must_finish:
        The program may end only by calling ``final_tool`` (the last step of a ReAct run): its
        last allowed line can call nothing else.
    tool_prior:
        Nats added to a tool's log-likelihood when the model picks a tool by likelihood (see
        :func:`~nbagents.relevance.tool_relevance`); :meth:`for_inputs` with ``task=`` fills it
        from the task's words.
    expected_tools:
        The program's steps: tools it must call before it may end, while it has lines left and the
        tools can be called, in the order the task mentions them: the next one gets an extra
        ``relevance.NEXT_TOOL_NATS`` in tool choice (:func:`~nbagents.relevance.expected_tools`: the task
        names two or more tools, one after the other); :meth:`for_inputs` with ``task=`` fills it.
        The simple grammar then writes one line per step.
    values:
        What the task states (:func:`~nbagents.grammar.values.task_values`): a parameter that
        such values fit takes only those literals; :meth:`for_inputs` with ``task=`` fills it.
    done_lines:
        Lines run before (by earlier ReAct steps). With a ``final_tool``, a line that repeats one
        of them, or a line of this program, is dropped and the next line can only call the final
        tool (a small model that repeats itself has nothing new to do); without, the program
        ends there.
    tables:
        The schemas of the inputs and variables that are tables, name ->
        :class:`~nbagents.tabular.TableSchema`: a column parameter takes only their real
        columns, a cell value a literal of its column's type (:mod:`~nbagents.grammar.columns`);
        :meth:`for_inputs` fills it.
    """

    kind: ClassVar[str] = "program"

    tools: Mapping[str, Any] = field(default_factory=dict)
    input_types: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    rich: bool = False
    explanation: bool = True
    max_lines: int | None = None
    max_line_tokens: int = 120
    choose_tools: bool = True
    result_name: str = "result"
    explanation_prefix: str = ""
    final_tool: str | None = None
    must_finish: bool = False
    done_lines: frozenset[str] = frozenset()
    tool_prior: Mapping[str, float] = field(default_factory=dict)
    expected_tools: tuple[str, ...] = ()
    values: TaskValues | None = None
    tables: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tools", _tool_map(self.tools))
        object.__setattr__(self, "done_lines", frozenset(self.done_lines))
        object.__setattr__(self, "tables", dict(self.tables))
        object.__setattr__(self, "tool_prior", {n: float(v) for n, v in dict(self.tool_prior).items()
                                                if n in self.tools and v})
        object.__setattr__(self, "expected_tools", tuple(n for n in self.expected_tools if n in self.tools))
        object.__setattr__(self, "input_types", {n: _type_name(t) for n, t in dict(self.input_types).items()})
        object.__setattr__(self, "variables", {n: _type_name(t) for n, t in dict(self.variables).items()
                                               if n not in self.input_types})
        from ..errors import ConfigurationError

        if self.max_lines is not None and self.max_lines < 1:
            raise ConfigurationError(f"max_lines must be at least 1, not {self.max_lines}.")
        if self.final_tool is not None and self.final_tool not in self.tools:
            raise ConfigurationError(f"The final tool {self.final_tool!r} is not among the tools.")
        if self.must_finish and self.final_tool is None:
            raise ConfigurationError("must_finish needs a final_tool.")

    @classmethod
    def for_inputs(cls, tools: Any, inputs: Mapping[str, Any] | None = None, *,
                   state: Mapping[str, Any] | None = None, task: str = "", previous: Any = None,
                   **options: Any) -> ProgramSpec:
        """A spec whose input types come from the input values (and ``state``'s values become
        optional variables); with ``task``, tools whose names and descriptions match its words
        get a prior in tool choice, and the values it states ground the literals. ``previous``:
        the previous chat turn's code (or its calls, see :func:`~nbagents.grammar.values.task_values`).
        ``file_tables``: the schemas of table files the task names (by file name), whose columns
        the column parameters of a call reading an earlier result may then take."""
        inputs = dict(inputs or {})
        if task:
            options.setdefault("values", task_values(task, previous=previous).with_inputs(inputs))
            wants_steps = not options.get("final_tool") and "expected_tools" not in options
            if "tool_prior" not in options or wants_steps:  # the router may have given both
                by_name = _tool_map(tools)
                scores = tool_relevance(by_name, task)
                options.setdefault("tool_prior", task_prior(by_name, task, scores=scores))
                if wants_steps:
                    options["expected_tools"] = expected_tools(by_name, task, scores=scores)
        readable = {n: v for n, v in (state or {}).items()
                    if n not in inputs and n.isidentifier() and not n.startswith("_")}
        variables = {n: value_type(v) for n, v in readable.items()}
        files = dict(options.pop("file_tables", None) or {})  # table files the task names: their schemas
        options.setdefault("tables", {**files, **tables_of({**readable, **inputs})})
        return cls(tools=tools, input_types={n: value_type(v) for n, v in inputs.items()},
                   variables=variables, **options)

    @property
    def max_calls(self) -> int:
        """The most lines, whatever the steps (``max_lines``, else 4, or 8 for the rich grammar):
        the cap of the forms that do not write one line per step (remote JSON schemas)."""
        if self.max_lines is not None:
            return self.max_lines
        return 8 if self.rich else 4

    @property
    def line_cap(self) -> int:
        """The most lines of the program: one per step when the steps are known (the simple
        grammar), else :attr:`max_calls`."""
        if self.max_lines is None and not self.rich and self.expected_tools:
            return len(self.expected_tools)
        return self.max_calls

    def grounded(self) -> dict[str, list[str]]:
        """``{"tool.param": [literal, ...]}`` for every parameter the task's values restrict."""
        out = {}
        for tool in self.tools.values():
            for p in tool.inputs:
                literals = list(grounded_literals(self.values, p))
                if getattr(p, "choices", ()):
                    stated = stated_choices(self.values, p)
                    literals = list(stated) if len(stated) < len(p.choices) else []
                if literals:
                    out[f"{tool.name}.{p.name}"] = literals
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary, for the Run's facts."""
        out = {"tools": sorted(self.tools), "inputs": dict(self.input_types), "rich": self.rich,
               "explanation": self.explanation, "max_lines": self.line_cap}
        if self.variables:
            out["variables"] = dict(self.variables)
        if self.final_tool:
            out.update(final_tool=self.final_tool, must_finish=self.must_finish)
        if self.expected_tools:
            out["expected_tools"] = list(self.expected_tools)
        if self.tables:
            out["tables"] = Tables(self.tables).describe()
        if self.values:
            out["task_values"] = self.values.describe()
            grounded = self.grounded()
            if grounded:
                out["grounded"] = grounded
        return out


#: The base of a named intermediate result by the kind of value (``image_1``, ``text_1``).
_KIND_NAMES = {"str": "text", "int": "number", "float": "number", "bool": "flag", "any": "value"}


class ProgramBuilder:
    """The program written so far, and the :class:`LineState` of its next line."""

    def __init__(self, spec: ProgramSpec, *, forbid: Iterable[str] = ()) -> None:
        self.spec = spec
        self.forbid = tuple(forbid)
        self.names: dict[str, str] = {**spec.variables, **spec.input_types}
        self.unread: set[str] = set(spec.input_types)
        self.fresh: str | None = None  # the result name, while its latest value is unread
        self.lines: list[str] = []
        self.explanation = ""
        self.end_reason: str | None = None
        self.indent = "none"
        self.result_assigned = False
        self.calls: list[str] = []
        self.finished = False  # the final tool was called
        self.force_final = False  # a line repeated: the next one can only call the final tool
        self.join_at = None if spec.rich else _join_step(spec)
        self.line_state: LineState | None = None

    # --- what the next line may be ------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.end_reason is not None

    def _has_value(self, ptype: str) -> bool:
        if takes_literal(ptype):
            return True
        return any(compatible(ptype, t) for t in self.names.values())

    def callable_tools(self) -> list[Any]:
        return [t for t in self.spec.tools.values()
                if all(self._has_value(p.type) for p in t.inputs if p.required)]

    def line_tools(self) -> dict[str, Any]:
        """The tools the next line may call: all of them, only the final tool on the last line
        of a program that must finish with it, or only the next expected tool once the lines
        left are no more than the expected tools still missing."""
        spec = self.spec
        if self.force_final or (spec.must_finish and spec.line_cap - len(self.lines) <= 1):
            return {spec.final_tool: spec.tools[spec.final_tool]}
        left = self.expected_left()
        if left and spec.line_cap - len(self.lines) <= len(left):  # the last lines call what is missing
            return {left[0]: spec.tools[left[0]]}
        return dict(spec.tools)

    def expected_left(self) -> list[str]:
        """Expected tools not called yet that the next line could call, in the task's order (a
        tool expected twice is left until it was called twice)."""
        if not self.spec.expected_tools or self.spec.line_cap - len(self.lines) < 1:
            return []
        callable_names = {t.name for t in self.callable_tools()}
        calls = list(self.calls)
        left = []
        for n in self.spec.expected_tools:
            if n in calls:
                calls.remove(n)
            elif n in callable_names:
                left.append(n)
        return left

    def readable(self, name: str) -> bool:
        """Whether some callable tool takes ``name`` in a required parameter."""
        ntype = self.names.get(name, "any")
        return any(compatible(p.type, ntype) for t in self.callable_tools() for p in t.inputs if p.required)

    def named(self) -> bool:
        """Whether the next line assigns a named intermediate (a later step joins two values)."""
        return self.join_at is not None and len(self.lines) < self.join_at

    def new_name(self, kind: str) -> str:
        base = _KIND_NAMES.get(kind, kind if kind.isidentifier() else "value")
        k = 1
        while (f"{base}_{k}" in self.names or f"{base}_{k}" in self.spec.tools
               or keyword.iskeyword(f"{base}_{k}")):
            k += 1
        return f"{base}_{k}"

    def state(self) -> LineState:
        spec = self.spec
        if spec.rich:
            unread = frozenset(self.unread)
            may_end = (not unread and self.result_assigned and self.indent != "required" and bool(self.lines)
                       and not self.spec.must_finish and not self.force_final and not self.expected_left())
            return LineState(names=dict(self.names), must=unread, may_end=may_end, index=len(self.lines),
                             indent=self.indent, result_name=spec.result_name, forbid=self.forbid)
        pending = {n for n in self.unread if self.readable(n)}
        must = set(pending)
        room = spec.line_cap - len(self.lines)
        if self.fresh is not None and self.readable(self.fresh) and len(pending) < room:
            must.add(self.fresh)  # when lines run short, the unread inputs come first
        targets: dict[str, str] = {}
        if self.named():  # before a join: name the result, and an input may be read again (a branch)
            if must:
                must |= {n for n in spec.input_types if self.readable(n)}
            targets = {t.output_type: self.new_name(t.output_type) for t in self.line_tools().values()}
        must_all = room == 1 and len(pending) >= 2  # the last line reads what is still unread
        may_end = (bool(self.lines) and not pending and not spec.must_finish and not self.force_final
                   and not self.expected_left())
        return LineState(names=dict(self.names), must=frozenset(must), may_end=may_end,
                         index=len(self.lines), result_name=spec.result_name, targets=targets,
                         must_all=must_all, forbid=self.forbid)

    def grammar(self) -> str:
        self.line_state = self.state()
        return line_grammar(self.line_tools(), self.line_state, rich=self.spec.rich, values=self.spec.values,
                            tables=Tables(self.spec.tables))

    def head(self, tool: str) -> str:
        """The text before the tool name when the next line calls ``tool`` (simple grammar)."""
        state = self.line_state or self.state()
        return f"{state.target(self.spec.tools[tool].output_type)} = "

    @property
    def tool_head(self) -> str:
        """The text before the tool name in a chain's line (``result = ``)."""
        return f"{self.spec.result_name} = "

    def value_candidates(self, tool: str, param: str) -> list[str]:
        """What the next line may pass to ``param`` of ``tool`` when that is a closed set: the
        task's values that fit it (or its choices), and the references of its type; empty when
        the parameter takes free literals."""
        t = self.spec.tools.get(tool)
        p = next((p for p in t.inputs if p.name == param), None) if t is not None else None
        if p is None:
            return []
        if self.spec.tables and (getattr(p, "column", None) is not None or getattr(p, "value_of", "")):
            return self._column_candidates(t, p)
        from .lark import choice_literal

        literals = list(grounded_literals(self.spec.values, p, self.forbid))
        if getattr(p, "choices", ()):
            literals = [text for c in stated_choices(self.spec.values, p) if (text := _choice_source(choice_literal(c)))]
        if not literals:
            return []
        refs = [n for n, ty in sorted(self.names.items()) if compatible(p.type, ty) and not keyword.iskeyword(n)]
        return list(dict.fromkeys(literals + refs))

    def _column_candidates(self, tool: Any, p: Any) -> list[str]:
        """A column parameter's columns (of every table: the line's grammar keeps those of the
        table it reads), or a cell value's literals when every column it may belong to has a
        closed set of them; empty otherwise."""
        tables = Tables(self.spec.tables)
        if p.column is not None:
            if p.type == "list":
                return []
            stated = candidates(tables.union(), p, self.spec.values)  # first; the grammar may allow others
            fit = [c for c in tables.union() if c.numeric or not p.column.numeric]
            return list(dict.fromkeys(column_literal(c.name) for c in [*stated, *fit]))
        owner = next((q for q in tool.inputs if q.name == p.value_of and getattr(q, "column", None) is not None), None)
        if owner is None:
            return []
        slots = [cell_slot(c, self.spec.values) for c in candidates(tables.union(), owner, self.spec.values)]
        if not slots or not all(s.literals for s in slots) or any(s.kind == "bool" for s in slots):
            return []
        return list(dict.fromkeys(x for s in slots for x in s.literals))

    # --- taking a line ------------------------------------------------------------------------

    def is_end_marker(self, text: str) -> bool:
        return text in ("```", f"print({self.spec.result_name})")

    def end(self, reason: str, text: str = "") -> None:
        """End the program (``text``: the end marker, never kept: ``print(result)`` only restates
        the result, which is the program's last value)."""
        if self.end_reason is None:
            self.end_reason = reason
            if self.indent == "required" and self.lines:  # a loop header without a body
                self.lines.pop()

    def accept(self, line: str) -> bool:
        """Record a complete line (ending in a newline); False when the program ends here."""
        if self.is_end_marker(line.strip()):
            self.end("print" if line.startswith("print(") else "fence", line.strip())
            return False
        if (line in self.lines or line in self.spec.done_lines) and not line.rstrip().endswith(":"):
            if self.spec.final_tool is not None and not self.force_final and self.indent == "none":
                self.force_final = True  # nothing new to do: the next line gives the answer
                return True
            self.end("repeat")
            return False
        try:
            self._update(line)
        except SyntaxError:  # cannot happen with the grammar; never keep a line that does not parse
            self.end("invalid")
            return False
        self.lines.append(line)
        if self.finished and self.indent == "none":
            self.end("final")
            return False
        if len(self.lines) >= self.spec.line_cap and self.indent != "required":
            self.end("max_lines")
            return False
        return True

    def _update(self, line: str) -> None:
        indented = line.startswith(INDENT)
        body = textwrap.dedent(line).rstrip("\n")
        header = body.endswith(":")
        tree = ast.parse(body + ("\n    pass" if header else ""))
        stmt = tree.body[0]
        reads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        self.unread -= reads
        if self.fresh in reads:
            self.fresh = None
        called = [n.func.id for n in ast.walk(stmt)
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.spec.tools]
        self.calls += called
        if self.spec.final_tool is not None and self.spec.final_tool in called:
            self.finished = True
        if isinstance(stmt, ast.For):
            self.names[stmt.target.id] = "any"
            self.indent = "required"
            return
        self.indent = "optional" if indented or self.indent == "required" else "none"
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0].id
            new = target not in self.names
            self.names[target] = self._type_of(stmt.value)
            if target == self.spec.result_name:
                self.result_assigned = True
                self.fresh = target
            if target in self.unread:
                self.unread.discard(target)
            elif new and target != self.spec.result_name and not self.spec.rich:
                self.unread.add(target)  # a named intermediate: a later line reads it

    def _type_of(self, node: ast.AST) -> str:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.spec.tools:
            return self.spec.tools[node.func.id].output_type
        if isinstance(node, ast.Name):
            return self.names.get(node.id, "any")
        return literal_type(node)

    # --- the result ---------------------------------------------------------------------------

    def code(self) -> str:
        lines = list(self.lines)
        while lines and _restates(lines[-1], self.spec.result_name):
            lines.pop()  # no filler: the program's value is its last value
        code = "".join(lines)
        while lines and not parses(code):  # defensive: never hand back code that does not parse
            lines.pop()
            code = "".join(lines)
        return code

    def render(self) -> str:
        shown = self.spec.explanation or bool(self.spec.explanation_prefix)
        return render_program(self.explanation if shown else "", self.code())


def _choice_source(grammar_literal: str) -> str:
    """The Python source inside a grammar literal of a choice (``'"\\"a\\""'`` -> ``'"a"'``)."""
    import json

    return json.loads(grammar_literal) if grammar_literal else ""


def _restates(line: str, result: str) -> bool:
    """Whether a line only restates the result: ``print(result)``, ``result`` or ``result = result``."""
    text = line.strip()
    return text in (f"print({result})", result, f"{result} = {result}")


def _join_step(spec: ProgramSpec) -> int | None:
    """The first of the spec's steps (after the first) that joins two values: a tool with two or
    more required parameters that only a value can fill (two images, two sounds: a type that
    takes no literal, or an earlier step's output type where the parameter's name asks for no
    value of the task, see :func:`~nbagents.grammar.values.parameter_kind`)."""
    from .values import parameter_kind

    outputs: set[str] = set()
    for j, name in enumerate(spec.expected_tools):
        tool = spec.tools[name]
        slots = [p for p in tool.inputs if p.required and (
            not takes_literal(p.type)
            or (any(compatible(p.type, o) for o in outputs) and not parameter_kind(p.name, p.type)[0]))]
        if j and len(slots) >= 2:
            return j
        outputs.add(tool.output_type)
    return None


def render_program(explanation: str, code: str | Iterable[str]) -> str:
    """The shape the agent's parser reads: an explanation line, then the code in a ```py block."""
    if not isinstance(code, str):
        code = "".join(line if line.endswith("\n") else line + "\n" for line in code)
    if code and not code.endswith("\n"):
        code += "\n"
    head = explanation.rstrip("\n")
    return (head + "\n" if head.strip() else "") + "```py\n" + code + "```"
