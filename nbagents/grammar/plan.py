"""The grammar of a plan (plan mode's JSON task list), built from the toolbox and the inputs.

A plan is one task per line::

    [
    {"task": "make_image", "id": 0, "dep": [], "args": {"width": 64, "height": 64}},
    {"task": "draw_text", "id": 1, "dep": [0], "args": {"image": "<GENERATED>-0", "text": "hi"}}
    ]

It is decoded in segments (:attr:`~nbagents.grammar.Grammar.then`): the opening bracket
and the first task, then each further task or the closing bracket, with a Lark grammar (llguidance's
dialect) rebuilt for every task from the tasks written so far (about 2 ms each). So the grammar says
everything :func:`~nbagents.modes.taskgraph.validate_plan` checks, and a little more:

* ``task`` is a tool name, ``id`` counts from 0, ``dep`` lists earlier ids in ascending order;
* ``args`` has that tool's parameter names in signature order, the required ones always;
* a value is a literal of the parameter's type (none for images, audio and bytes), or a reference
  whose type fits: ``"<INPUT>-name"`` for an input (typed by its value) or ``"<GENERATED>-N"`` for
  an earlier task (typed by its tool's output type);
* the data-flow rule of the program grammar: while an input is unread, or the last task's result
  is, the next task must read one of them in a required parameter, and the plan may end only once
  every input was read;
* at most ``max_tasks`` tasks; one canonical layout, no optional whitespace.

A plan that follows it always parses and validates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..kinds import takes_literal
from ..relevance import choice_prior, expected_tools, task_prior, tool_relevance
from .columns import (
    CellSlot,
    Tables,
    column_lists,
    column_literal,
    column_params,
    column_variants,
    slot_of,
    table_param,
    tables_of,
)
from .constraint import Grammar
from .lark import excluding
from .lines import MAX_ITEMS
from .references import references
from .types import compatible, value_type

__all__ = ["PLAN_STRING_CHARS", "PlanBuilder", "plan_grammar"]

#: Tokens a plan keeps for one more task; with fewer left, expected tools no longer hold the
#: list open.
TASK_TOKENS = 64
#: The longest string literal in a plan (characters between the quotes).
PLAN_STRING_CHARS = 60
_ARGS = ', "args": {'
_TASK_KEY = '{"task": "'


def _lit(text: str) -> str:
    return json.dumps(text)


def _alt(options: Iterable[str]) -> str:
    return " | ".join(dict.fromkeys(o for o in options if o))


def _ref(kind: str, name: Any) -> str:
    return _lit(json.dumps(f"<{kind}>-{name}"))


class _Item:
    """The rules of one task's grammar."""

    def __init__(self, builder: PlanBuilder, must: set[str]) -> None:
        self.b = builder
        self.index = len(builder.tasks)
        self.must = must
        self.rules: dict[str, str] = {}

    def literal(self, ptype: str) -> list[str]:
        if ptype == "str":
            return ["STR"]
        if ptype == "int":
            return ["INT"]
        if ptype == "float":
            return ["NUM"]
        if ptype == "bool":
            return ['"true"', '"false"']
        if ptype == "list":
            self.rules.setdefault("list", f'"[" (STR | NUM) (", " (STR | NUM)){{0,{MAX_ITEMS - 1}}} "]" | "[]"')
            return ["list"]
        if ptype == "dict":
            pair = 'STR ": " (STR | NUM)'
            self.rules.setdefault("dict", f'"{{" {pair} (", " {pair}){{0,{MAX_ITEMS - 1}}} "}}" | "{{}}"')
            return ["dict"]
        if not takes_literal(ptype):
            return []
        return ["STR", "NUM", '"true"', '"false"', *self.literal("list")]  # any

    def refs(self, ptype: str, only: set[str] | None = None) -> list[str]:
        return [lit for key, (t, lit) in sorted(self.b.names().items())
                if compatible(ptype, t) and (only is None or key in only)]

    def value(self, ptype: str, *, none: bool) -> str:
        name = f"v_{ptype}" + ("_n" if none else "")
        if name not in self.rules:
            options = [*self.literal(ptype), *self.refs(ptype)]
            if none:
                options.append('"null"')
            self.rules[name] = _alt(options)
        return name if self.rules[name] else ""

    # columns (see .columns and the program lines' grammar)

    def _named(self, prefix: str, body: str) -> str:
        import hashlib

        name = prefix + hashlib.sha1(body.encode()).hexdigest()[:10]
        self.rules.setdefault(name, body)
        return name if body else ""

    def columns_rule(self, p: Any, columns: tuple) -> str:
        names = _alt(_lit(column_literal(c.name)) for c in columns)
        if not names or p.type != "list":
            return self._named("col_", names) if names else ""
        lists = column_lists(columns)
        if lists is not None:  # few columns: each at most once
            return self._named("cols_", _alt('"[" ' + ' ", " '.join(_lit(column_literal(c.name)) for c in combo)
                                             + ' "]"' for combo in lists))
        item = self._named("col_", names)
        return self._named("cols_", f'"[" {item} (", " {item}){{0,{MAX_ITEMS - 1}}} "]"')

    def cell_rule(self, slot: CellSlot) -> str:
        ptype = {"number": "float", "text": "str", "bool": "bool", "datetime": "str"}.get(slot.kind, "any")
        if slot.kind == "bool" or not slot.literals:
            return self.value(ptype, none=False)
        return self._named("cell_", _alt([*(_lit(x) for x in slot.literals), *self.refs(ptype)]))

    def column_overrides(self, tool: Any, override: Mapping[str, str]) -> list[dict[str, str]]:
        """``override`` once per way of filling the task's column parameters: the table
        parameter names one table input (or earlier results, whose columns are every input's),
        the column parameters that table's real columns, a cell value a literal of its column's
        type."""
        tables = self.b.tables
        params = [p for p in column_params(tool) if p.required]
        if not tables or not params:
            return [dict(override)]
        tp = table_param(tool, params[0])
        groups: list[tuple[list[str] | None, tuple]] = [(None, tables.union())]
        if tp:
            ptype = next(q.type for q in tool.inputs if q.name == tp)
            rule = override.get(tp)
            keys = [k for k, (t, _) in sorted(self.b.names().items()) if compatible(ptype, t)
                    and (rule != f"m_{ptype}" or k in self.must)]
            known = [k for k in keys if k.startswith("input:") and k[6:] in tables.schemas]
            unknown = [k for k in keys if k not in known]
            groups = [([k], tables.schemas[k[6:]].columns) for k in known]
            groups += [(unknown, tables.union())] if unknown else []
        names = self.b.names()
        out = []
        for keys, columns in groups:
            for variant in column_variants(tool, columns, self.b.values, params):
                ov = dict(override)
                if keys is not None:
                    ov[tp] = self._named("tab_", _alt(names[k][1] for k in keys))
                for name, cols in variant.items():
                    ov[name] = self.columns_rule(next(q for q in tool.inputs if q.name == name), cols)
                for q in tool.inputs:
                    if q.required and getattr(q, "value_of", "") in variant:
                        ov[q.name] = self.cell_rule(slot_of(variant[q.value_of], self.b.values))
                if all(ov.values()):
                    out.append(ov)
        return out

    def must_value(self, ptype: str) -> str:
        name = f"m_{ptype}"
        if name not in self.rules:
            self.rules[name] = _alt(self.refs(ptype, only=self.must))
        return name if self.rules[name] else ""

    def args(self, tool: Any, *, must: bool) -> str | None:
        """The body of ``"args": {...}`` for ``tool``; None when it cannot be called here."""
        values = {p.name: self.value(p.type, none=p.default is None) for p in tool.inputs}
        if self.b.tables:
            for p in column_params(tool):  # an optional one: any real column
                values[p.name] = self.columns_rule(p, tuple(c for c in self.b.tables.union()
                                                            if c.numeric or not p.column.numeric))
        required = [p for p in tool.inputs if p.required]
        optional = [p for p in tool.inputs if not p.required and values[p.name]]
        if any(not values[p.name] for p in required):
            return None

        def pair(p: Any, sep: str, value: str) -> str:
            return f"{_lit(sep + json.dumps(p.name) + ': ')} {value}"

        def with_required(override: Mapping[str, str]) -> str:
            parts = [pair(p, "" if i == 0 else ", ", override.get(p.name, values[p.name]))
                     for i, p in enumerate(required)]
            return " ".join(parts + [f"({pair(p, ', ', values[p.name])})?" for p in optional])

        if must:
            variants = [with_required(ov) for p in required if (mv := self.must_value(p.type))
                        for ov in self.column_overrides(tool, {p.name: mv})]
            return " | ".join(f"({v})" for v in variants) if variants else None
        if required:
            variants = [with_required(ov) for ov in self.column_overrides(tool, {})]
            return " | ".join(f"({v})" for v in variants) if variants else None
        if not optional:
            return '""'
        alternatives = []
        for f, first in enumerate(optional):  # any ordered subset of the optional parameters
            seq = [pair(first, "", values[first.name])]
            seq += [f"({pair(p, ', ', values[p.name])})?" for p in optional[f + 1:]]
            alternatives.append(" ".join(seq))
        return "(" + " | ".join(f"({a})" for a in alternatives) + ")?"

    def dep(self) -> str:
        """Ascending earlier ids: ``[]``, ``[0]``, ``[0, 2]``..."""
        index = self.index
        for k in range(index - 1, -1, -1):
            later = _alt(f"up_{j}" for j in range(k + 1, index))
            self.rules[f"up_{k}"] = _lit(str(k)) + (f' (", " ({later}))?' if later else "")
        firsts = _alt(f"up_{k}" for k in range(index))
        self.rules["dep"] = '"[]"' + (f' | "[" ({firsts}) "]"' if firsts else "")
        return "dep"

    def build(self) -> tuple[str, list[str]]:
        """The item rule's body and the tools it allows ('' when none can be called)."""
        options, names = [], []
        for must in ((True, False) if self.must else (False,)):
            for n, tool in enumerate(self.b.tools_now().values()):
                args = self.args(tool, must=must)
                if args is None:
                    continue
                rule = f"t{n}"
                head = f'{_TASK_KEY}{tool.name}", "id": {self.index}, "dep": '
                self.rules[rule] = f'{_lit(head)} {self.dep()} {_lit(_ARGS)} ({args}) "}}}}"'
                options.append(rule)
                names.append(tool.name)
            if options:
                break  # nothing can read what is unread: drop the demand
        return _alt(options), names


class PlanBuilder:
    """The plan written so far, and the grammar of what comes next (see the module docstring)."""

    def __init__(self, tools: Mapping[str, Any], input_types: Mapping[str, str], *, max_tasks: int = 4,
                 forbid: Iterable[str] = (), task: str = "", tables: Mapping[str, Any] | None = None) -> None:
        from .values import task_values

        self.tools = dict(tools)
        #: The table inputs' schemas (their real columns) and what the task states (the columns
        #: and values it names).
        self.tables = Tables(dict(tables or {}))
        self.values = task_values(task) if task else None
        # The task's words: a prior for each tool name, and the tools it asks for one after the
        # other (the plan may not close before it has them, while it has room).
        scores = tool_relevance(self.tools, task) if task else {}
        self.prior = task_prior(self.tools, task, scores=scores)
        self.expected = expected_tools(self.tools, task, scores=scores) if task else ()
        self.input_types = dict(input_types)
        self.max_tasks = max(1, int(max_tasks))
        self.forbid = tuple(forbid)
        self.tasks: list[Mapping[str, Any]] = []
        self.read: set[str] = set()  # "input:name" and "task:N" that some task has read

    # --- what exists and what is unread ---------------------------------------------------------

    def names(self) -> dict[str, tuple[str, str]]:
        """key -> (type, Lark literal of the reference), for the inputs and earlier results."""
        out = {f"input:{n}": (t, _ref("INPUT", n)) for n, t in self.input_types.items()}
        for k, task in enumerate(self.tasks):
            tool = self.tools.get(task.get("task"))
            out[f"task:{k}"] = (getattr(tool, "output_type", "any"), _ref("GENERATED", k))
        return out

    def _readable(self, ptype: str) -> bool:
        """Whether some tool takes a ``ptype`` value in a required parameter."""
        return any(compatible(p.type, ptype) for t in self.tools.values() for p in t.inputs if p.required)

    def must(self) -> tuple[set[str], bool]:
        """What the next task must read (one of), and whether the plan may end here."""
        names = self.names()
        pending = {k for k in names if k.startswith("input:") and k not in self.read
                   and self._readable(names[k][0])}
        must = set(pending)
        last = f"task:{len(self.tasks) - 1}"
        room = self.max_tasks - len(self.tasks)
        if self.tasks and last not in self.read and self._readable(names[last][0]) and len(pending) < room:
            must.add(last)
        return must, bool(self.tasks) and not pending and not (room > 0 and self.expected_left())

    def tools_now(self) -> dict[str, Any]:
        """The tools the next task may name: all, or only the next expected tool once the tasks
        left are no more than the expected tools still missing."""
        left = [n for n in self.expected_left() if n in self.tools]
        if left and self.max_tasks - len(self.tasks) <= len(left):
            return {left[0]: self.tools[left[0]]}
        return self.tools

    def used(self) -> set[str]:
        return {str(t.get("task")) for t in self.tasks}

    def expected_left(self) -> list[str]:
        """The expected tools no task has named yet, in the task's order."""
        used = self.used()
        return [n for n in self.expected if n not in used]

    # --- grammars -------------------------------------------------------------------------------

    def grammar(self) -> Grammar | None:
        """The grammar of the next segment; None when the plan is complete (or cannot start)."""
        index = len(self.tasks)
        must, may_end = self.must()
        if index >= self.max_tasks:
            return self._segment('"\\n]"', {}, [])
        item = _Item(self, must)
        body, names = item.build()
        if index == 0:
            if not body:
                return None
            return self._segment(f'"[\\n" ({body})', item.rules, names)
        options = [f'",\\n" ({body})'] if body else []
        if may_end or not options:
            options.append('"\\n]"')
        return self._segment(" | ".join(options), item.rules, names)

    def _segment(self, start: str, rules: Mapping[str, str], tools: list[str]) -> Grammar:
        lines = [f"start: {start}"] + [f"{k}: {v}" for k, v in rules.items() if v] + self._terminals()
        prior = choice_prior(self.prior, self.expected, self.used())
        return Grammar("\n".join(lines) + "\n", kind="lark", name="plan",
                       choices={_TASK_KEY: [f'{n}",' for n in dict.fromkeys(tools)]} if tools else {},
                       prior={f'{n}",': v for n, v in prior.items() if n in tools},
                       then=self.advance)

    def advance(self, text: str, budget: int | None = None) -> Grammar | None:  # Grammar.then
        """Read the tasks written so far from ``text`` (the answer up to here) and give the next
        segment's grammar, or None once the list is closed. With fewer than
        ``TASK_TOKENS`` tokens of ``budget`` left, the plan may close even while an expected
        tool is missing (a cut plan would not parse)."""
        if text.rstrip().endswith("]"):
            return None
        if budget is not None and budget < TASK_TOKENS:
            self.expected = ()
        try:
            tasks = json.loads(text + "\n]")
        except ValueError:  # cannot happen with the grammar: close the list
            return Grammar('start: "\\n]"\n', kind="lark", name="plan")
        self.tasks = [t for t in tasks if isinstance(t, Mapping)]
        self.read = set()
        for task in self.tasks:
            self.read |= _reads(task.get("args", {}))
        return self.grammar()

    def _terminals(self) -> list[str]:
        names = sorted(self.input_types)
        # not starting with "<" (a reference misspelt; a negated prefix costs llguidance too much)
        string = f'/"[^"<\\\\\\x00-\\x1f\\x7f][^"\\\\\\x00-\\x1f\\x7f]{{0,{PLAN_STRING_CHARS - 1}}}"/'
        if names:  # "photo" when photo is an input is the input, misspelt
            string += ' & ~/"(' + "|".join(names) + ')"/'
        string += excluding(self.forbid)
        return [f"STR: {string}", "INT: /-?(0|[1-9][0-9]{0,5})/",
                "NUM: /-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,4})?/"]


def _reads(value: Any) -> set[str]:

    generated, inputs = references(value)
    return {f"task:{k}" for k in generated} | {f"input:{n}" for n in inputs}


def plan_grammar(tools: Mapping[str, Any], inputs: Mapping[str, Any] | None = None, *, max_tasks: int = 4,
                 forbid: Iterable[str] = (), input_types: Mapping[str, str] | None = None,
                 task: str = "", tables: Mapping[str, Any] | None = None) -> Grammar | None:
    """The :class:`~nbagents.grammar.Grammar` of a plan over ``tools`` (its first
    segment; each segment builds the next).

    Parameters
    ----------
    tools:
        The tools a task may name (name -> Tool).
    inputs:
        The inputs (their types come from their values); or give ``input_types`` (name -> type).
    max_tasks:
        The most tasks in the plan.
    forbid:
        Text string literals may not contain (the engine's stop sequences).
    task:
        The task: its words give each tool a prior when the model picks a task's tool, and the
        tools it asks for one after the other must all be in the plan
        (:mod:`nbagents.relevance`).
    tables:
        The table inputs' schemas (name -> :class:`~nbagents.tabular.TableSchema`; from the
        ``inputs`` when not given): a column parameter takes only real columns, a cell value a
        literal of its column's type (:mod:`~nbagents.grammar.columns`).

    Returns
    -------
    Grammar or None
        ``None`` when no tool can be the first task (every tool needs an image, say, and there is
        none): the model then writes freely.
    """
    if input_types is None:
        input_types = {n: value_type(v) for n, v in (inputs or {}).items()}
    if tables is None:
        tables = tables_of(inputs or {})
    return PlanBuilder(tools, input_types, max_tasks=max_tasks, forbid=forbid, task=task, tables=tables).grammar()
