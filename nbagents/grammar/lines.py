"""Grammars for tool programs, in llguidance's Lark dialect, rebuilt for every line.

A program is a few lines ``result = tool(kw=value, ...)``. The grammar of the next line is built
from the toolbox, the names defined so far with their types, and what the data-flow rule demands
(:class:`LineState`), so that the model can only write a call to an existing tool, with that tool's
parameter names in signature order, values of the parameter's type, and references to names that
exist. Building one takes about 2 ms with llguidance, so a grammar per line costs nothing.

With the task's values (:class:`~nbagents.grammar.values.TaskValues`), a parameter for which the
task states fitting values (``degrees`` and "ninety degrees", ``url`` and a URL) takes only those
literals (or a reference); the others keep the free literals of their type.

The "rich" grammar (``rich=True``) adds, for stronger models: free variable names, nested calls,
f-strings, indexing, ``for`` loops over lists with an indented body, ``name.append(...)`` and
``print(...)``. The interpreter still checks everything.
"""

from __future__ import annotations

import builtins
import hashlib
import itertools
import keyword
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..kinds import takes_literal
from .columns import (
    CellSlot,
    Tables,
    candidates,
    column_lists,
    column_literal,
    column_params,
    column_variants,
    slot_of,
    stated_columns,
    table_param,
)
from .lark import alt, choice_literal, excluding, lit, regex_escape
from .types import compatible

__all__ = [
    "EXPLANATION_CHARS",
    "GROUNDED_CHARS",
    "LineState",
    "STRING_CHARS",
    "explanation_grammar",
    "grounded_literals",
    "stated_choices",
    "asked_params",
    "line_grammar",
    "signature_params",
]

#: The longest string literal the grammar allows (characters between the quotes).
STRING_CHARS = 80
#: The longest explanation sentence (characters).
EXPLANATION_CHARS = 160
#: The longest literal taken from the task (a quoted sentence, the text after a colon).
GROUNDED_CHARS = 400
#: The most ways of filling a join's parameters one grammar lists.
MAX_JOINS = 64
#: The most items of a list or dict literal.
MAX_ITEMS = 6
INDENT = "    "

_RESERVED = frozenset(keyword.kwlist) | frozenset(n for n in dir(builtins) if not n.startswith("_"))


# --- the state a line is built from -----------------------------------------------------------


@dataclass(frozen=True)
class LineState:
    """What the grammar of the next line depends on.

    Attributes
    ----------
    names:
        Every name the line may read, with its type (inputs, earlier results, chat variables).
    must:
        Names of which the line must read at least one in a required parameter (the data-flow
        rule); empty when there is no such demand.
    may_end:
        Whether the program may end here (``<eos>``, a closing fence or ``print(result)``).
    index:
        The line's number (0 for the first).
    indent:
        Rich grammar only: ``"none"`` (top level), ``"required"`` (first line of a loop body)
        or ``"optional"`` (inside a loop body, which may end).
    result_name:
        The variable every line assigns (the simple grammar) and the program's final value.
    targets:
        Simple grammar: the name the line assigns by the output type of the tool it calls (a
        named intermediate result, ``image_1``); types not listed assign ``result_name``.
    must_all:
        The line must read every name of ``must`` (the last line, with two or more values
        unread: a join), not just one.
    forbid:
        Text that string literals may not contain (the engine's stop sequences, which would cut
        the answer short).
    """

    names: Mapping[str, str] = field(default_factory=dict)
    must: frozenset[str] = frozenset()
    may_end: bool = False
    index: int = 0
    indent: str = "none"
    result_name: str = "result"
    targets: Mapping[str, str] = field(default_factory=dict)
    must_all: bool = False
    forbid: tuple[str, ...] = ()

    def target(self, output_type: str) -> str:
        """The name a line calling a tool of this output type assigns."""
        return self.targets.get(output_type, self.result_name)


def _string_terminal(names: Iterable[str], forbid: Iterable[str] = (), banned: Iterable[str] = (),
                     name: str = "STR") -> str:
    # no backslash (escapes), no control characters, no backtick (a fence would end the code block)
    body = f'/"[^"`\\\\\\x00-\\x1f\\x7f]{{1,{STRING_CHARS}}}"/'
    quoted = sorted(set(names))
    if quoted:  # "text" when text is a variable is the variable, misspelt
        body += ' & ~/"(' + "|".join(quoted) + ')"/'
    banned = sorted(set(banned))
    if banned:  # values the task gives another parameter ("into French" is no source language)
        body += ' & ~/"(' + "|".join(regex_escape(b) for b in banned) + ')"/'
    return f"{name}: {body}{excluding(forbid)}"


_TERMINALS = [
    'INT: /-?(0|[1-9][0-9]{0,8})/',
    'NUM: /-?(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?/',
]


def _required(tool: Any) -> list[Any]:
    return [p for p in tool.inputs if p.required]


def _optional(tool: Any) -> list[Any]:
    return [p for p in tool.inputs if not p.required]


def _none_default(p: Any) -> bool:
    return p.default is None


class _Builder:
    """Collects rules while a grammar is built; one value rule per type, shared by all tools."""

    def __init__(self, tools: Mapping[str, Any], state: LineState, *, rich: bool, values: Any = None,
                 tables: Tables | None = None) -> None:
        self.tools = tools
        self.state = state
        self.rich = rich
        self.values = values
        self.tables = tables or Tables()
        self.rules: dict[str, str] = {}
        self._tool_rule: dict[str, str] = {}

    # values

    def refs(self, ptype: str, only: Iterable[str] | None = None) -> list[str]:
        pool = self.state.names if only is None else {n: self.state.names[n] for n in only
                                                      if n in self.state.names}
        return [lit(n) for n, t in sorted(pool.items()) if compatible(ptype, t) and not keyword.iskeyword(n)]

    def literals(self, ptype: str) -> list[str]:
        if ptype == "str":
            out = ["STR"]
        elif ptype == "int":
            out = ["INT"]
        elif ptype == "float":
            out = ["NUM"]
        elif ptype == "bool":
            out = ['"True"', '"False"']
        elif ptype == "list":
            out = [self.list_rule()]
        elif ptype == "dict":
            out = [self.dict_rule()]
        elif ptype == "any":
            out = ["STR", "NUM", '"True"', '"False"', '"None"', self.list_rule()]
        else:
            out = []
        if self.rich and ptype in ("str", "any"):
            fstr = self.fstring_terminal()
            if fstr:
                out.append(fstr)
        return out

    def list_rule(self) -> str:
        if "list_lit" not in self.rules:
            items = ["STR", "NUM", *self.refs("str"), *[r for r in self.refs("float") if r not in self.refs("str")]]
            self.rules["list_item"] = alt(items)
            self.rules["list_lit"] = f'"[" list_item (", " list_item){{0,{MAX_ITEMS - 1}}} "]" | "[]"'
        return "list_lit"

    def dict_rule(self) -> str:
        if "dict_lit" not in self.rules:
            self.rules["dict_value"] = alt(["STR", "NUM", *self.refs("str"), *self.refs("float")])
            self.rules["dict_lit"] = (f'"{{" STR ": " dict_value (", " STR ": " dict_value){{0,{MAX_ITEMS - 1}}} "}}"'
                                      ' | "{}"')
        return "dict_lit"

    def fstring_terminal(self) -> str:
        names = sorted(self.state.names)
        if not names:
            return ""
        if "FSTR" not in self.rules:
            alt = "|".join(names)
            self.rules["FSTR"] = (f'/f"([^"`\\\\{{}}\\x00-\\x1f\\x7f]|\\{{({alt})\\}}){{1,{STRING_CHARS}}}"/'
                                  f' & /f"[^"]*\\{{[^"]*"/{excluding(self.state.forbid)}')
        return "FSTR"

    def value(self, ptype: str, *, none: bool = False, depth: int = 0) -> str:
        """The rule name for any value of ``ptype`` (literal or reference), '' when none exists.
        In the rich grammar a value at depth 0 may be a call whose arguments are at depth 1."""
        name = f"val_{ptype}" + ("_n" if none else "") + (f"_d{depth}" if self.rich and depth else "")
        if name not in self.rules:
            self.rules[name] = ""  # set first: the rich grammar's nested calls come back here
            options = [*self.literals(ptype), *self.refs(ptype)]
            if none:
                options.append('"None"')
            if self.rich:
                options += self.rich_values(ptype, depth)
            self.rules[name] = alt(options)
        return name if self.rules[name] else ""

    def grounded(self, p: Any, *, none: bool, depth: int) -> str:
        """The rule for a parameter the task states values for: those literals (or a reference,
        ``None`` where it is the default); '' when the task states none that fit it."""
        literals = grounded_literals(self.values, p, self.state.forbid)
        if not literals:
            return self.banning(p, none=none)
        name = "g_" + hashlib.sha1(repr((p.type, literals, none, depth)).encode()).hexdigest()[:10]
        if name not in self.rules:
            self.rules[name] = ""
            options = [*(lit(x) for x in literals), *self.refs(p.type)]
            if none:
                options.append('"None"')
            if self.rich:
                options += self.rich_values(p.type, depth)
            self.rules[name] = alt(options)
        return name

    def banning(self, p: Any, *, none: bool) -> str:
        """The rule for a free string parameter that may not take values the task gives another
        parameter (the target language as the source language); '' when there are none."""
        banned = self.values.excluded(p.name, p.type) if self.values is not None and p.type == "str" else ()
        if not banned:
            return ""
        key = hashlib.sha1(repr((banned, none)).encode()).hexdigest()[:10].upper()
        name = f"g_{key.lower()}"
        if name not in self.rules:
            self.rules[f"STR_{key}"] = _string_terminal(self.state.names, self.state.forbid, banned,
                                                        name=f"STR_{key}").split(": ", 1)[1]
            self.rules[name] = alt([f"STR_{key}", *self.refs(p.type), '"None"' if none else ""])
        return name

    def param_value(self, p: Any, depth: int) -> str:
        """The rule for a value of parameter ``p``: its choices, the task's values, or any value
        of its type."""
        keeps_default = not p.required and self.values is not None and not self.rich
        if self.tables and getattr(p, "column", None) is not None:
            # a required one is set per table the call reads (see _column_overrides)
            cols = self.tables.union()
            if keeps_default and not stated_columns(cols, self.values):
                return ""
            return self.columns_rule(p, candidates(cols, p, self.values))
        if getattr(p, "choices", ()):
            if keeps_default and not self.values.choices(p.name, p.type, tuple(p.choices)):
                return ""  # the task names none of its choices: the default stands
            return self.choice(p)
        none = _none_default(p)
        grounded = self.grounded(p, none=none, depth=depth)
        if grounded or keeps_default:
            # An optional parameter the task gives no value for keeps its default: the model
            # never invents one ("write 'hi' on it" takes no colour, no font size).
            return grounded
        return self.value(p.type, none=none, depth=depth)

    def choice(self, p: Any) -> str:
        """The rule for a parameter that takes only its ``choices``: those literals (those the
        task states, when it states some: :meth:`~nbagents.grammar.values.TaskValues.choices`),
        or a reference of its type (an input or variable may hold one of them)."""
        choices = stated_choices(self.values, p)
        literals = [choice_literal(c) for c in choices]
        name = "ch_" + hashlib.sha1(repr(choices).encode()).hexdigest()[:10]
        if name not in self.rules:
            self.rules[name] = alt([*(x for x in literals if x), *self.refs(p.type)])
        return name if self.rules[name] else ""

    # columns (a table input's real columns, see .columns)

    def _named_rule(self, prefix: str, body: str) -> str:
        name = prefix + hashlib.sha1(body.encode()).hexdigest()[:10]
        self.rules.setdefault(name, body)
        return name if body else ""

    def columns_rule(self, p: Any, columns: tuple) -> str:
        """The rule for a column parameter that takes one of ``columns`` (a list of them for a
        list parameter)."""
        names = alt(lit(column_literal(c.name)) for c in columns)
        if not names:
            return ""
        if p.type == "list":
            lists = column_lists(columns)
            if lists is not None:  # few columns: each at most once
                return self._named_rule("cols_", alt('"[" ' + ' ", " '.join(lit(column_literal(c.name)) for c in combo)
                                                     + ' "]"' for combo in lists))
            item = self._named_rule("col_", names)
            return self._named_rule("cols_", f'"[" {item} (", " {item}){{0,{MAX_ITEMS - 1}}} "]"')
        return self._named_rule("col_", names)

    def cell_rule(self, slot: CellSlot) -> str:
        """The rule for a cell value of a column of this :class:`~nbagents.grammar.columns.CellSlot`:
        its literals (or any literal of its kind), or a reference of that type."""
        ptype = {"number": "float", "text": "str", "bool": "bool", "datetime": "str"}.get(slot.kind, "any")
        if slot.kind == "other":
            return self.value("any")
        free = {"float": "NUM", "str": "STR", "bool": '"True" | "False"'}[ptype]
        options = [lit(x) for x in slot.literals] if slot.literals and ptype != "bool" else [free]
        return self._named_rule("cell_", alt([*options, *self.refs(ptype)]))

    def _ref_names(self, rule: str | None, p: Any) -> list[str]:
        """The names a reference rule of parameter ``p`` stands for."""
        pool = [n for n, t in sorted(self.state.names.items()) if compatible(p.type, t) and not keyword.iskeyword(n)]
        if rule and rule.startswith('"'):
            import json

            return [json.loads(rule)]
        if rule == f"must_{p.type}":
            return [n for n in pool if n in self.state.must]
        return pool

    def _column_overrides(self, tool: Any, override: dict[str, str]) -> list[dict[str, str]]:
        """``override`` once per way of filling the call's column parameters: the table
        parameter takes one table input (or the earlier results, whose columns are all the inputs'
        columns), its column parameters that table's columns, a cell value a literal of its column's
        type (:func:`~nbagents.grammar.columns.column_variants`)."""
        params = [p for p in column_params(tool) if p.required]
        if not self.tables or not params:
            return [override]
        tp = table_param(tool, params[0])
        groups: list[tuple[list[str] | None, tuple]] = [(None, self.tables.union())]
        if tp:
            names = self._ref_names(override.get(tp), next(q for q in tool.inputs if q.name == tp))
            known = [n for n in names if n in self.tables.schemas]
            unknown = [n for n in names if n not in self.tables.schemas]
            groups = [([n], self.tables.schemas[n].columns) for n in known]
            groups += [(unknown, self.tables.union())] if unknown else []
        out = []
        for names, columns in groups:
            for variant in column_variants(tool, columns, self.values, params):
                ov = dict(override)
                if names is not None:
                    ov[tp] = self._named_rule("tab_", alt(lit(n) for n in names))
                by_name = {q.name: q for q in tool.inputs}
                for name, cols in variant.items():
                    ov[name] = self.columns_rule(by_name[name], cols)
                for q in tool.inputs:
                    if q.required and getattr(q, "value_of", "") in variant:
                        ov[q.name] = self.cell_rule(slot_of(variant[q.value_of], self.values))
                if all(ov.values()):
                    out.append(ov)
        return out

    def _arg_variants(self, tool: Any, required: list, optional: list, values: dict,
                      override: dict) -> list[str]:
        return [self._args(required, optional, values, ov) for ov in self._column_overrides(tool, override)]

    def must_value(self, ptype: str) -> str:
        name = f"must_{ptype}"
        if name not in self.rules:
            self.rules[name] = alt(self.refs(ptype, only=self.state.must))
        return name if self.rules[name] else ""

    def rich_values(self, ptype: str, depth: int) -> list[str]:
        out = []
        indexable = [n for n, t in sorted(self.state.names.items()) if t in ("list", "any")]
        if indexable:
            self.rules.setdefault("indexed", f'({alt(lit(n) for n in indexable)}) "[" INT "]"')
            out.append("indexed")
        if depth == 0:  # one level of nested calls: tool(x=other_tool(y=...))
            calls = [self.tool_rule(t, depth=1) for t in self.tools.values() if compatible(ptype, t.output_type)]
            out += [c for c in calls if c]
        return out

    # calls

    def tool_rule(self, tool: Any, *, must: str = "", depth: int = 0) -> str:
        """The rule for a call of ``tool`` ('' when it cannot be called on this line); ``must``:
        ``"any"`` (read one of ``state.must``), ``"all"`` (read all of them) or ``""``."""
        key = f"{tool.name}/{must}/{depth}"
        if key in self._tool_rule:
            return self._tool_rule[key]
        rule = f"t{len(self._tool_rule)}"
        self._tool_rule[key] = rule
        body = self._call_body(tool, must=must, depth=depth)
        if not body:
            self._tool_rule[key] = ""
            return ""
        self.rules[rule] = body
        return rule

    def _call_body(self, tool: Any, *, must: str, depth: int) -> str:
        if keyword.iskeyword(tool.name) or any(keyword.iskeyword(p.name) for p in _required(tool)):
            return ""  # cannot be written as a call with keyword arguments
        values = {p.name: self.param_value(p, depth) for p in tool.inputs}
        required = _required(tool)
        if any(not values[p.name] for p in required):
            return ""
        asked = asked_params(self.values, tool, self.state.forbid)
        optional = [(p, p.name in asked) for p in _optional(tool) if values[p.name] and not keyword.iskeyword(p.name)]
        head = lit(f"{tool.name}(")
        slots = [p for p in required if not takes_literal(p.type)]
        if len(slots) >= 2:  # a join: each of its value-only parameters takes a different value
            variants = [v for override in self._joins(slots, must)
                        for v in self._arg_variants(tool, required, optional, values, override)]
            if not variants:
                return ""
            args = " | ".join(f"({v})" for v in variants)
            return f'{head} ({args}) ")"'
        if must == "all":
            variants = [v for override in self._reading_all(required)
                        for v in self._arg_variants(tool, required, optional, values, override)]
            if not variants:
                return ""
            args = " | ".join(f"({v})" for v in variants)
            return f'{head} ({args}) ")"'
        if must:
            variants = []
            for p in required:
                mv = self.must_value(p.type)
                if mv:
                    variants += self._arg_variants(tool, required, optional, values, {p.name: mv})
            if not variants:
                return ""
            args = " | ".join(f"({v})" for v in variants)
            return f'{head} ({args}) ")"'
        if self.tables and column_params(tool):
            variants = self._arg_variants(tool, required, optional, values, {})
            if not variants:
                return ""
            args = " | ".join(f"({v})" for v in variants)
            return f'{head} ({args}) ")"'
        args = self._args(required, optional, values, {})
        return f'{head} {args} ")"' if args else f'{head} ")"'

    def _joins(self, slots: list, must: str) -> list[dict[str, str]]:
        """Every way of passing different references to the ``slots`` of a join that meets the
        data-flow demand ``must`` (the first :data:`MAX_JOINS`)."""
        pools = [[n for n, t in sorted(self.state.names.items()) if compatible(p.type, t) and not keyword.iskeyword(n)]
                 for p in slots]
        out = []
        for combo in itertools.product(*pools):
            chosen = set(combo)
            if len(chosen) < len(combo):
                continue
            if (must == "any" and not chosen & self.state.must) or (must == "all" and not self.state.must <= chosen):
                continue
            out.append({p.name: lit(n) for p, n in zip(slots, combo)})
            if len(out) >= MAX_JOINS:
                break
        return out

    def _reading_all(self, required: list) -> list[dict[str, str]]:
        """Every way of passing each name of ``state.must`` to its own required parameter."""
        names = sorted(self.state.must)
        out = []
        for params in itertools.permutations(required, len(names)):
            if all(compatible(p.type, self.state.names.get(n, "any")) for p, n in zip(params, names)):
                out.append({p.name: lit(n) for p, n in zip(params, names)})
        return out

    @staticmethod
    def _args(required: list, optional: list, values: dict, override: dict) -> str:
        """The keyword arguments: the required parameters in order, then the optional ones
        (``(parameter, asked)``, in signature order), of which the asked ones are written and
        the others may be; comma-separated."""
        items = [(p, True) for p in required] + list(optional)
        if not items:
            return ""

        def arg(p: Any, sep: str) -> str:
            return f"{lit(sep + p.name + '=')} {override.get(p.name, values[p.name])}"

        alternatives = []  # by the first parameter written: every one before it is left out
        for f, (first, _) in enumerate(items):
            seq = [arg(first, "")] + [arg(p, ", ") if must else f"({arg(p, ', ')})?" for p, must in items[f + 1:]]
            alternatives.append(" ".join(seq))
            if items[f][1]:
                break  # a parameter that must be written cannot be left out
        body = alternatives[0] if len(alternatives) == 1 else "(" + " | ".join(f"({a})" for a in alternatives) + ")"
        return body if any(must for _, must in items) else f"{body}?"

    def calls(self) -> list[tuple[Any, str]]:
        """(tool, rule) for every tool the line may call, under the data-flow demand (dropped, or
        weakened from all to one, when no tool can meet it)."""
        modes = (["all"] if self.state.must_all else []) + (["any"] if self.state.must else []) + [""]
        for mode in modes:
            pairs = [(t, self.tool_rule(t, must=mode)) for t in self.tools.values()]
            pairs = [(t, r) for t, r in pairs if r]
            if pairs:
                return pairs
        return []

    def render(self, start: str) -> str:
        terminals = [_string_terminal(self.state.names, self.state.forbid), *_TERMINALS]
        lines = [f"start: {start}"]
        lines += [f"{name}: {body}" for name, body in self.rules.items() if body and not name.isupper()]
        lines += [f"{name}: {body}" for name, body in self.rules.items() if body and name.isupper()]
        return "\n".join(lines + terminals) + "\n"


# --- the grammars -----------------------------------------------------------------------------


def explanation_grammar(forbid: Iterable[str] = (), prefix: str = "") -> str:
    """One sentence (optional), a newline, then the opening fence of the code block. With a
    ``prefix`` (``"Thought: "``) the sentence is required and starts with it."""
    head = f'{lit(prefix)} EXPL "\\n"' if prefix else '(EXPL "\\n")?'
    return (
        f'start: {head} "```py\\n"\n'
        f'EXPL: /[^\\n`\\x00-\\x1f\\x7f]{{1,{EXPLANATION_CHARS}}}/{excluding(forbid)}\n'
    )


def _ends(state: LineState) -> list[str]:
    return ['"```"', lit(f"print({state.result_name})")] if state.may_end else []


def line_grammar(tools: Mapping[str, Any], state: LineState, *, rich: bool = False, values: Any = None,
                 tables: Tables | None = None) -> str:
    """The Lark grammar of the next line of the program.

    The simple grammar: ``result = <call>\\n`` (or ``<name> = <call>\\n`` with the name
    ``state.targets`` gives the tool's output type), where the call is one of ``tools``; when
    ``state.may_end``, also the end of the program (the empty string, so that ``<eos>`` is
    allowed, a closing fence or ``print(result)``, which ends the program and is not kept).
    ``values``: the task's :class:`~nbagents.grammar.values.TaskValues`, which restrict the
    literals of the parameters they fit. ``tables``: the schemas of the table inputs, whose real
    columns are the only ones a column parameter takes (:mod:`.columns`).
    """
    b = _Builder(tools, state, rich=rich, values=values, tables=tables)
    if rich:
        return _rich_line(b, state)
    groups: dict[str, list[str]] = {}
    for tool, rule in b.calls():
        groups.setdefault(state.target(tool.output_type), []).append(rule)
    if groups:
        parts = []
        for k, (target, rules) in enumerate(groups.items()):
            name = "call" if k == 0 else f"call_{k}"
            b.rules[name] = alt(rules)
            parts.append(f"{lit(target + ' = ')} {name}")
        line = (f'({alt(parts)}) "\\n"' if len(parts) > 1 else f'{parts[0]} "\\n"')
    else:  # no tool can be called: assign a value
        value = b.value("any")
        line = f'{lit(state.result_name + " = ")} {value} "\\n"' if value else ""
    options = [line] if line else []
    options += _ends(state)
    if not options:
        options = ['"```"']
    body = alt(options)
    return b.render(f"({body})?" if state.may_end or not line else body)


def _rich_line(b: _Builder, state: LineState) -> str:
    names = state.names
    reserved = sorted(_RESERVED | set(b.tools) | set(names))
    b.rules["NEWNAME"] = "/[a-z_][a-z0-9_]{0,24}/ & ~/(" + "|".join(reserved) + ")/"
    targets = [lit(n) for n in sorted(names) if n not in state.must]  # never overwrite an unread input
    b.rules["target"] = alt([lit(state.result_name), *targets, "NEWNAME"])
    calls = alt(b.tool_rule(t) for t in b.tools.values())
    value = b.value("any")
    stmts = []
    if calls:
        b.rules["call"] = calls
        stmts.append('target " = " call')
    if value:
        stmts.append(f'target " = " {value}')
    stmts.append('target " = []"')
    lists = [lit(n) for n, t in sorted(names.items()) if t in ("list", "any")]
    if lists:
        inner = alt(["call" if calls else "", value])
        if inner:
            b.rules["append"] = f'({alt(lists)}) ".append(" ({inner}) ")"'
            stmts.append("append")
    if value:
        stmts.append(f'"print(" {value} ")"')
    b.rules["stmt"] = alt(stmts)
    iterables = [lit(n) for n, t in sorted(names.items()) if t in ("list", "any")]
    top = ["stmt"]
    if iterables:
        b.rules["loop"] = f'"for " NEWNAME " in " ({alt(iterables)}) ":"'
        top.append("loop")
    indented = f'{lit(INDENT)} stmt'
    if state.indent == "required":
        line = f'{indented} "\\n"'
    elif state.indent == "optional":
        line = f'({indented} | {alt(top)}) "\\n"'
    else:
        line = f'({alt(top)}) "\\n"'
    ends = ['"```"'] if state.may_end else []
    body = alt([line, *ends])
    return b.render(f"({body})?" if state.may_end else body)


def grounded_literals(values: Any, p: Any, forbid: Iterable[str] = (), *, carry: bool = True) -> tuple[str, ...]:
    """The literals the task's values give parameter ``p`` (none for a parameter with
    ``choices``, or when ``values`` is None), as the grammar may write them: no stop sequence
    inside, at most :data:`GROUNDED_CHARS` characters; ``carry``: with the previous turn's
    values of the same argument when the task states none."""
    if values is None or getattr(p, "choices", ()):
        return ()
    forbid = [f for f in forbid if f]
    return tuple(x for x in values.literals(p.name, p.type, carry=carry)
                 if len(x) <= GROUNDED_CHARS and not any(f in x for f in forbid))


#: Value kinds that make an optional parameter asked for (free texts and names are left to the model:
#: a quoted phrase may be meant for another step).
_ASKING_KINDS = frozenset({"degrees", "seconds", "hertz", "percent", "factor", "pixels", "number", "url",
                           "email", "path", "language", "colour", "options", "flag"})


def stated_choices(values: Any, p: Any) -> tuple:
    """The choices of ``p`` the task states, or all of them when it states none."""
    stated = values.choices(p.name, p.type, tuple(p.choices)) if values is not None else ()
    return stated or tuple(p.choices)


def asked_params(values: Any, tool: Any, forbid: Iterable[str] = ()) -> frozenset[str]:
    """Optional parameters of ``tool`` the task asks for: it states values that fit them and
    no other parameter of the tool ("a 32 pixel thumbnail" -> ``size``), or names one of their
    choices ("the average" -> ``how="mean"``). A line calling the tool writes them."""
    if values is None:
        return frozenset()
    from .values import parameter_kind

    stated = {p.name: set(grounded_literals(values, p, forbid, carry=False)) for p in tool.inputs}
    out = set()
    for p in tool.inputs:
        if not p.required and p.choices and values.choices(p.name, p.type, tuple(p.choices)):
            out.add(p.name)  # a choice the task names ("the mean of units" -> how="mean")
            continue
        if p.required or not stated[p.name] or parameter_kind(p.name, p.type)[0] not in _ASKING_KINDS:
            continue
        if not any(stated[p.name] & stated[q.name] for q in tool.inputs if q is not p):
            out.add(p.name)
    return frozenset(out)


def signature_params(tool: Any) -> list[str]:
    """Parameter names of ``tool`` in the order the grammar writes them."""
    return [p.name for p in _required(tool)] + [p.name for p in _optional(tool)]

