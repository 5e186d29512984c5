"""The allow-list evaluator: each AST node kind compiles, once per run, to a Python closure.

One ``e_<Node>`` method per expression kind (statements are in :mod:`.statements`); operators
come from tables. A closure takes the current :class:`Frame` and returns the value. Leaves
(names, constants) are folded into the operation count of the statement or sub-expression
that evaluates them, so the count equals the number of evaluated nodes while the counter is
touched about once per statement, loop iteration or call.
"""

from __future__ import annotations

import ast

from ..errors import RefusedConstructError, UndefinedNameError, UnknownToolError
from .builtins import BUILTINS, FORBIDDEN_BUILTINS
from .capabilities import (
    CHECKED,
    DATA,
    PLAIN,
    SCAN,
    TABLES,
    call_entry,
    call_value,
    get_attribute,
    lookup,
)
from .comprehensions import ComprehensionCompiler
from .formatting import convert, format_constant, parse_format, safe_format
from .iteration import charge_result, materialize
from .limits import limit_error
from .operators import BINOPS, CHECKED_BINOPS, CHECKED_COMPARE, COMPARE, UNARY
from .reprs import safe_str
from .scopes import (
    FunctionTemplate,
    Scope,
    cost,
    free_message,
    function_scope,
    unbound_message,
)
from .statements import StatementCompiler
from .values import (
    Builtin,
    NativeFunction,
    SandboxFunction,
    TypeValue,
)

__all__ = ["Compiler"]

_MISSING = object()
_EMPTY: dict = {}
_CONVERSIONS = {-1: None, 115: "s", 114: "r", 97: "a"}


class Compiler(StatementCompiler, ComprehensionCompiler):
    """Compiles a program (or a function body) for one machine."""

    def __init__(self, m, scope: Scope | None = None) -> None:
        self.m = m
        self.scope = scope or Scope("module", None)
        self.tool_names = frozenset(m.tools)
        self._dispatch = {}

    def expr(self, node: ast.expr):
        method = self._dispatch.get(type(node))
        if method is None:
            method = getattr(self, "e_" + type(node).__name__, None)
            if method is None:
                raise RefusedConstructError(f"the construct {type(node).__name__}", line=getattr(node, "lineno", None))
            self._dispatch[type(node)] = method
        return method(node)

    def ticked(self, node: ast.expr):
        """An expression that charges its own cost (conditional or repeated parts)."""
        ev = self.expr(node)
        c = cost(node)
        m = self.m

        def ticked(f):
            m.ops += c
            if m.ops > m.next_check:
                m.checkpoint()
            return ev(f)

        return ticked

    def child(self, scope: Scope) -> Compiler:
        return Compiler(self.m, scope)

    # --- names -------------------------------------------------------------------------------

    def e_Constant(self, node: ast.Constant):
        value = node.value
        return lambda f: value

    def e_Name(self, node: ast.Name):
        return self.loader(node.id, call=False)

    def loader(self, name: str, *, call: bool):
        depth = self.scope.resolve(name)
        if depth == 0:
            message = unbound_message(name)

            def local(f):
                try:
                    return f.vars[name]
                except KeyError:
                    raise UnboundLocalError(message) from None

            return local
        if depth is not None:
            message = free_message(name)

            def free(f):
                for _ in range(depth):
                    f = f.parent
                try:
                    return f.vars[name]
                except KeyError:
                    raise NameError(message) from None

            return free
        return self.global_loader(name, call)

    def global_loader(self, name: str, call: bool):
        m = self.m
        missing = self.undefined(name, call)
        if name in self.tool_names:

            def tool(f):
                ref = m.tools.get(name)
                if ref is not None:
                    return ref
                value = f.g.get(name, _MISSING)
                return missing(f) if value is _MISSING else value

            return tool
        builtin = BUILTINS.get(name)
        if builtin is not None:

            def builtin_name(f):
                value = f.g.get(name, _MISSING)
                return builtin if value is _MISSING else value

            return builtin_name

        def global_name(f):
            try:
                return f.g[name]
            except KeyError:
                return missing(f)

        return global_name

    def undefined(self, name: str, call: bool):
        """What an unresolved name does: a tool given in a later run, or a clear error."""
        m = self.m

        def missing(f):
            ref = m.tools.get(name)
            if ref is not None:
                return ref
            if name in FORBIDDEN_BUILTINS:
                raise RefusedConstructError(
                    f"the builtin {name!r}", line=m.line, hint="It is not available to agent code."
                )
            if call:
                raise UnknownToolError(name, m.tools, line=m.line)
            raise UndefinedNameError(name, _defined(m, f), line=m.line)

        return missing

    def storer(self, name: str, depth: int = 0):
        if depth == 0:

            def store(f, value):
                f.vars[name] = value

            return store

        def store_up(f, value):
            for _ in range(depth):
                f = f.parent
            f.vars[name] = value

        return store_up

    # --- operators ---------------------------------------------------------------------------

    def e_BinOp(self, node: ast.BinOp):
        left, right, m = self.expr(node.left), self.expr(node.right), self.m
        checked = CHECKED_BINOPS.get(type(node.op))
        if checked is None:
            op = BINOPS[type(node.op)]
            return lambda f: op(left(f), right(f))
        if type(node.op) is ast.Add:

            def add(f):
                a = left(f)
                b = right(f)
                if type(a) is int and type(b) is int or type(a) is float:
                    return a + b
                return checked(m, a, b)

            return add
        return lambda f: checked(m, left(f), right(f))

    def e_UnaryOp(self, node: ast.UnaryOp):
        operand, op = self.expr(node.operand), UNARY[type(node.op)]
        return lambda f: op(operand(f))

    def e_BoolOp(self, node: ast.BoolOp):
        first = self.expr(node.values[0])
        rest = [self.ticked(v) for v in node.values[1:]]
        if type(node.op) is ast.And:

            def and_(f):
                value = first(f)
                for ev in rest:
                    if not value:
                        return value
                    value = ev(f)
                return value

            return and_

        def or_(f):
            value = first(f)
            for ev in rest:
                if value:
                    return value
                value = ev(f)
            return value

        return or_

    def e_Compare(self, node: ast.Compare):
        m = self.m
        left = self.expr(node.left)
        ops = []
        for op, comparator in zip(node.ops, node.comparators):
            checked = CHECKED_COMPARE.get(type(op))
            fn = (lambda a, b, c=checked: c(m, a, b)) if checked else COMPARE[type(op)]
            ops.append((fn, self.expr(comparator)))
        if len(ops) == 1:
            (op, right), = ops
            return lambda f: op(left(f), right(f))

        def chain(f):
            a = left(f)
            for op, right in ops:
                b = right(f)
                if not op(a, b):
                    return False
                a = b
            return True

        return chain

    def e_IfExp(self, node: ast.IfExp):
        test, body, orelse = self.expr(node.test), self.ticked(node.body), self.ticked(node.orelse)
        return lambda f: body(f) if test(f) else orelse(f)

    def e_NamedExpr(self, node: ast.NamedExpr):
        value = self.expr(node.value)
        store = self.storer(node.target.id, self.scope.binding_scope())

        def walrus(f):
            v = value(f)
            store(f, v)
            return v

        return walrus

    # --- containers --------------------------------------------------------------------------

    def elements(self, elts: list):
        """A closure building the list of elements, with ``*starred`` ones spliced in."""
        m = self.m
        if not any(type(e) is ast.Starred for e in elts):
            evs = [self.expr(e) for e in elts]
            return lambda f: [ev(f) for ev in evs]
        parts = [(type(e) is ast.Starred, self.expr(e.value if type(e) is ast.Starred else e)) for e in elts]

        def splice(f):
            out = []
            for starred, ev in parts:
                if starred:
                    out.extend(materialize(m, ev(f)))
                    if len(out) > m.limits.max_sequence_length:
                        raise limit_error("max_sequence_length", f"{len(out)} elements", m.line)
                else:
                    out.append(ev(f))
            return out

        return splice

    def e_List(self, node: ast.List):
        return self.elements(node.elts)

    def e_Tuple(self, node: ast.Tuple):
        items = self.elements(node.elts)
        return lambda f: tuple(items(f))

    def e_Set(self, node: ast.Set):
        items = self.elements(node.elts)
        return lambda f: set(items(f))

    def e_Dict(self, node: ast.Dict):
        m = self.m
        parts = [(None if k is None else self.expr(k), self.expr(v)) for k, v in zip(node.keys, node.values)]

        def dict_(f):
            out = {}
            for key, value in parts:
                if key is None:
                    mapping = value(f)
                    if not isinstance(mapping, dict):
                        raise TypeError(f"'{type(mapping).__name__}' object is not a mapping")
                    m.charge(len(mapping))
                    out.update(mapping)
                else:
                    k = key(f)
                    out[k] = value(f)
            return out

        return dict_

    def e_Starred(self, node: ast.Starred):
        raise RefusedConstructError("a starred expression here", line=node.lineno)

    # --- attributes, subscripts, slices ---------------------------------------------------------

    def e_Attribute(self, node: ast.Attribute):
        obj, name, m = self.expr(node.value), node.attr, self.m
        return lambda f: get_attribute(m, obj(f), name)

    def e_Subscript(self, node: ast.Subscript):
        obj, key, m = self.expr(node.value), self.expr(node.slice), self.m
        if type(node.slice) is ast.Slice:

            def sliced(f):
                o = obj(f)
                return charge_result(m, o[key(f)])

            return sliced
        return lambda f: obj(f)[key(f)]

    def e_Slice(self, node: ast.Slice):
        parts = [self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
        lower, upper, step = (p or (lambda f: None) for p in parts)
        return lambda f: slice(lower(f), upper(f), step(f))

    # --- strings -----------------------------------------------------------------------------

    def e_JoinedStr(self, node: ast.JoinedStr):
        m = self.m
        parts = [self.expr(v) for v in node.values]

        def fstring(f):
            text = "".join([part(f) for part in parts])
            if len(text) > m.limits.max_sequence_length:
                raise limit_error("max_sequence_length", f"an f-string of {len(text)} characters", m.line)
            return text

        return fstring

    def e_FormattedValue(self, node: ast.FormattedValue):
        m = self.m
        value = self.expr(node.value)
        conversion = _CONVERSIONS.get(node.conversion)
        spec = self.expr(node.format_spec) if node.format_spec is not None else None

        def formatted(f):
            v = value(f)
            if conversion is not None:
                v = convert(m, v, conversion)
            if spec is not None:
                return safe_format(m, v, spec(f))
            return v if type(v) is str else safe_str(m, v)

        return formatted

    # --- calls -------------------------------------------------------------------------------

    def arguments(self, args: list, keywords: list):
        """(positional, keywords) closures; keywords is None when there are none."""
        m = self.m
        if any(type(a) is ast.Starred for a in args):
            positional = self.elements(args)
        else:
            evs = [self.expr(a) for a in args]
            if not evs:
                positional = lambda f: ()  # noqa: E731
            elif len(evs) == 1:
                (a0,) = evs
                positional = lambda f: (a0(f),)  # noqa: E731
            elif len(evs) == 2:
                a0, a1 = evs
                positional = lambda f: (a0(f), a1(f))  # noqa: E731
            else:
                positional = lambda f: tuple([ev(f) for ev in evs])  # noqa: E731
        if not keywords:
            return positional, None
        parts = [(k.arg, self.expr(k.value)) for k in keywords]

        def named(f):
            out = {}
            for name, ev in parts:
                if name is not None:
                    if name in out:
                        raise TypeError(f"got multiple values for keyword argument '{name}'")
                    out[name] = ev(f)
                    continue
                mapping = ev(f)
                if not isinstance(mapping, dict):
                    raise TypeError(f"argument after ** must be a mapping, not {type(mapping).__name__}")
                m.charge(len(mapping))
                for k, v in mapping.items():
                    if type(k) is not str:
                        raise TypeError("keywords must be strings")
                    if k in out:
                        raise TypeError(f"got multiple values for keyword argument '{k}'")
                    out[k] = v
            return out

        return positional, named

    def e_Call(self, node: ast.Call):
        m = self.m
        func = node.func
        args, kwargs = self.arguments(node.args, node.keywords)
        if type(func) is ast.Attribute:
            if func.attr == "format" and type(func.value) is ast.Constant:
                parts = parse_format(func.value.value)
                if kwargs is None:
                    return lambda f: format_constant(m, parts, args(f), _EMPTY)
                return lambda f: format_constant(m, parts, args(f), kwargs(f))
            return self.method_call(func, args, kwargs)
        callee = self.loader(func.id, call=True) if type(func) is ast.Name else self.expr(func)
        if kwargs is not None:
            return lambda f: call_value(m, callee(f), args(f), kwargs(f))

        def call(f):
            fn = callee(f)
            a = args(f)
            t = type(fn)
            if t is SandboxFunction and fn.m is m:
                return fn.code(fn, a, _EMPTY)
            if t is NativeFunction:
                return fn.fn(*a)
            if t is Builtin or t is TypeValue:
                return fn.fn(m, *a)
            return call_value(m, fn, a, _EMPTY)

        return call

    def method_call(self, func: ast.Attribute, args, kwargs):
        m = self.m
        obj, name = self.expr(func.value), func.attr
        cache: dict = {}  # per call site: exact type -> lookup() result for table types

        def method(f):
            o = obj(f)
            a = args(f)
            kw = _EMPTY if kwargs is None else kwargs(f)
            entry = cache.get(type(o))
            if entry is None:
                entry = lookup(o, name)  # the one attribute check
                if type(o) in TABLES:
                    cache[type(o)] = entry
            kind, impl = entry
            if kind == PLAIN:
                return impl(o, *a, **kw)
            if kind == SCAN:
                m.charge(len(o) >> 6)
                return charge_result(m, impl(o, *a, **kw))
            if kind == CHECKED:
                return impl(m, o, *a, **kw)
            if kind == DATA:
                return call_value(m, get_attribute(m, o, name), a, kw)
            return call_entry(m, o, kind, impl, a, kw)

        return method

    # --- functions and comprehensions -----------------------------------------------------------

    def e_Lambda(self, node: ast.Lambda):
        return self.function(node, "<lambda>")

    def function(self, node, name: str):
        """A closure creating the sandbox function (defaults evaluated at definition)."""
        m = self.m
        template = FunctionTemplate(node, function_scope(node, self.scope), name, Compiler)
        code = self.child(template.scope).function_code(template)
        template.remember(m, code)
        defaults = [self.expr(d) for d in node.args.defaults]
        kw_defaults = [(a.arg, self.expr(d)) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None]

        def make(f):
            return SandboxFunction(
                name, template, f, tuple([d(f) for d in defaults]), {k: d(f) for k, d in kw_defaults}, m, code
            )

        return make


def _defined(m, f) -> list:
    """Variables, inputs and tools in scope (the builtins are left out of the message: they are
    always there and would bury the names that matter)."""
    names = set(m.tools)
    while f is not None:
        names.update(f.vars)
        if f.parent is None:
            names.update(f.g)
        f = f.parent
    return [n for n in names if type(n) is str and n[:1] != "_"]
