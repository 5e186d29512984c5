"""The allow-list evaluator: each AST node kind compiles, once per run, to a Python closure.

One ``e_<Node>`` method per expression kind, ``s_<Node>`` per statement kind, spread over
mixins by what the nodes do (operators come from tables):

* here: the dispatch, names (``Name``, the walrus ``NamedExpr``) and ``Lambda``;
* :mod:`.literals`: ``Constant``, ``List``/``Tuple``/``Set``/``Dict``, ``Starred``, f-strings;
* :mod:`.operations`: ``BinOp``, ``UnaryOp``, ``BoolOp``, ``Compare``, ``IfExp``;
* :mod:`.calls`: ``Attribute``, ``Subscript``, ``Slice``, ``Call``;
* :mod:`.comprehensions`: ``ListComp``, ``SetComp``, ``DictComp``, ``GeneratorExp``;
* :mod:`.statements`: blocks, expression statements, ``pass``, ``assert``, imports, ``def``,
  ``class`` (the class model is :mod:`.classes`) and function bodies; :mod:`.assignments`: assignment targets, ``=``, annotated and
  augmented assignments, ``del``; :mod:`.control`: ``if``, ``while``, ``for``, ``break``/
  ``continue``/``return``, ``try``, ``with`` and ``raise``.

A closure takes the current :class:`Frame` and returns the value. Leaves (names, constants)
are folded into the operation count of the statement or sub-expression that evaluates them, so
the count equals the number of evaluated nodes while the counter is touched about once per
statement, loop iteration or call.
"""

from __future__ import annotations

import ast

from ..errors import RefusedConstructError, UndefinedNameError, UnknownToolError
from .assignments import AssignmentCompiler
from .builtins import BUILTINS, FORBIDDEN_BUILTINS, exception_types
from .calls import CallCompiler
from .capabilities import get_attribute
from .classes import instance_of
from .comprehensions import ComprehensionCompiler
from .control import ControlFlowCompiler
from .literals import LiteralCompiler
from .operations import OperatorCompiler
from .records import plain_hash
from .scopes import (
    FunctionTemplate,
    Scope,
    cost,
    free_message,
    function_scope,
    unbound_message,
)
from .statements import StatementCompiler
from .values import Builtin, Instance, SandboxClass, SandboxFunction

__all__ = ["Compiler"]

_MISSING = object()


class Compiler(
    StatementCompiler,
    AssignmentCompiler,
    ControlFlowCompiler,
    ComprehensionCompiler,
    CallCompiler,
    OperatorCompiler,
    LiteralCompiler,
):
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
        builtin = CLASS_AWARE.get(name) or BUILTINS.get(name)
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
        if depth == 0 and name in self.scope.globals:

            def store_global(f, value):
                f.g[name] = value

            return store_global
        if depth == 0 and name in self.scope.nonlocals:
            depth = self.scope.resolve(name)
        if depth == 0:

            def store(f, value):
                f.vars[name] = value

            return store

        def store_up(f, value):
            for _ in range(depth):
                f = f.parent
            f.vars[name] = value

        return store_up

    def e_NamedExpr(self, node: ast.NamedExpr):
        value = self.expr(node.value)
        store = self.storer(node.target.id, self.scope.binding_scope())

        def walrus(f):
            v = value(f)
            store(f, v)
            return v

        return walrus

    # --- functions ---------------------------------------------------------------------------

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


def _isinstance(m, obj, classinfo) -> bool:
    answer = instance_of(obj, classinfo)
    if answer is not None:
        return answer
    if type(classinfo) is tuple and (
        type(obj) is Instance or any(type(c) is SandboxClass or type(c) is tuple for c in classinfo)
    ):
        return any(_isinstance(m, obj, c) for c in classinfo)
    return isinstance(obj, exception_types(classinfo, what="isinstance() arg 2"))


def _getattr(m, obj, name, *default):
    try:
        return get_attribute(m, obj, name)  # the one attribute check; refusals are not caught
    except AttributeError:
        if default:
            return default[0]
        raise


def _hasattr(m, obj, name) -> bool:
    try:
        get_attribute(m, obj, name)
    except AttributeError:
        return False
    return True


CLASS_AWARE = {
    "isinstance": Builtin("isinstance", _isinstance),
    "hash": Builtin("hash", plain_hash),
    "getattr": Builtin("getattr", _getattr),
    "hasattr": Builtin("hasattr", _hasattr),
}
"""Builtins that also know sandbox classes (they take precedence over :data:`.builtins.BUILTINS`);
``getattr``/``hasattr`` only ever get a literal attribute name (the validator sees to it)."""


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
