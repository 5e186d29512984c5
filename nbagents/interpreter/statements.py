"""Statement compilers (one ``s_<Node>`` method per statement kind): blocks and the module,
expression statements, ``pass``, ``assert``, imports, ``def``, ``class`` and the bodies of
sandbox functions. Assignments are in :mod:`.assignments`, control flow (``if``, loops, jumps,
``try``, ``with``, ``raise``) in :mod:`.control`.

A statement closure sets the current line, charges its cost and returns ``None`` or a signal
(``BREAK``, ``CONTINUE``, ``RETURN``); control flow never uses exceptions.
"""

from __future__ import annotations

import ast

from ..errors import RefusedConstructError
from .binding import make_binder
from .classes import WRAPPERS, check_bases, make_class
from .facades import make_facade
from .limits import limit_error
from .records import DATACLASS, make_dataclass
from .runtime import RETURN, Frame, tick
from .scopes import Scope, bound_names, cost, declarations

__all__ = ["StatementCompiler"]


class StatementCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for blocks, simple statements and function bodies."""

    def stmt(self, node: ast.stmt, capture: bool = False):
        method = getattr(self, "s_" + type(node).__name__, None)
        if method is None:
            raise RefusedConstructError(f"the statement {type(node).__name__}", line=getattr(node, "lineno", None))
        return method(node, capture)

    def block(self, stmts: list):
        compiled = [self.stmt(s) for s in stmts]
        if len(compiled) == 1:
            return compiled[0]
        if len(compiled) == 2:
            first, second = compiled

            def pair(f):
                r = first(f)
                if r is not None:
                    return r
                return second(f)

            return pair

        def block(f):
            for s in compiled:
                r = s(f)
                if r is not None:
                    return r
            return None

        return block

    def module(self, tree: ast.Module):
        stmts = tree.body
        compiled = [self.stmt(s, capture=(i == len(stmts) - 1)) for i, s in enumerate(stmts)]

        def program(f):
            for s in compiled:
                s(f)

        return program

    # --- simple statements -------------------------------------------------------------------

    def s_Expr(self, node: ast.Expr, capture=False):
        value, m, line, c = self.expr(node.value), self.m, node.lineno, 1 + cost(node.value)

        def expression(f):
            m.line = line
            m.ops += c
            if m.ops > m.next_check:
                m.checkpoint()
            v = value(f)
            if capture:
                m.last_value = v

        return expression

    def s_Pass(self, node, capture=False):
        m, line = self.m, node.lineno
        return lambda f: tick(m, line, 1)

    def s_Assert(self, node: ast.Assert, capture=False):
        m, line, test = self.m, node.lineno, self.expr(node.test)
        msg = self.ticked(node.msg) if node.msg is not None else None
        c = 1 + cost(node.test)

        def assert_(f):
            tick(m, line, c)
            if not test(f):
                raise AssertionError(msg(f)) if msg is not None else AssertionError()

        return assert_

    def s_Import(self, node: ast.Import, capture=False):
        m, line = self.m, node.lineno
        binds = [(alias.name, self.storer(alias.asname or alias.name)) for alias in node.names]

        def import_(f):
            tick(m, line, 1)
            for name, store in binds:
                store(f, make_facade(m, name))

        return import_

    def s_ImportFrom(self, node: ast.ImportFrom, capture=False):
        m, line, module = self.m, node.lineno, node.module
        binds = [(alias.name, self.storer(alias.asname or alias.name)) for alias in node.names]

        def import_from(f):
            tick(m, line, 1)
            facade = make_facade(m, module)
            for name, store in binds:
                if name not in facade.members:
                    raise RefusedConstructError(
                        f"import of {name!r} from {module!r}",
                        line=line,
                        hint=f"Module {module!r} has: {', '.join(sorted(facade.members))}.",
                    )
                store(f, facade.members[name])

        return import_from

    def s_FunctionDef(self, node: ast.FunctionDef, capture=False):
        m, line = self.m, node.lineno
        make, store = self.function(node, node.name), self.storer(node.name)
        c = 1 + sum(cost(d) for d in node.args.defaults + node.args.kw_defaults if d is not None)

        def define(f):
            tick(m, line, c)
            store(f, make(f))

        return define

    def s_ClassDef(self, node: ast.ClassDef, capture=False):
        """A class: the body runs in its own namespace (a 'classbody' scope); methods close over
        a frame holding ``__class__`` (for ``super()``), whose parent is the defining frame."""
        m, line, name = self.m, node.lineno, node.name
        bases = [self.expr(b) for b in node.bases]
        body = self.child(Scope("classbody", self.scope, bound_names(node.body), None, *declarations(node.body)))
        cell = self.child(Scope("classcell", self.scope, ("__class__",)))
        steps = []
        for stmt in node.body:
            if type(stmt) is ast.FunctionDef:
                wrap = WRAPPERS[stmt.decorator_list[0].id] if stmt.decorator_list else None
                c = 1 + sum(cost(d) for d in stmt.args.defaults + stmt.args.kw_defaults if d is not None)
                steps.append((stmt.name, cell.function(stmt, f"{name}.{stmt.name}"), wrap, c, stmt.lineno))
            else:
                steps.append((None, body.stmt(stmt), None, 0, 0))
        store = self.storer(name)
        c = 1 + sum(cost(b) for b in node.bases)
        decorate = self.class_decorator(node) if node.decorator_list else None

        def define(f):
            tick(m, line, c)
            base_values = [b(f) for b in bases]
            check_bases(m, base_values)
            namespace: dict = {}
            body_frame = Frame(namespace, f, f.g)
            cell_frame = Frame({}, f, f.g)
            for method, run, wrap, cost_, at in steps:
                if method is None:
                    run(body_frame)
                    continue
                tick(m, at, cost_)
                fn = run(cell_frame)
                namespace[method] = fn if wrap is None else wrap(fn)
            m.line = line
            cls = make_class(m, name, base_values, namespace)
            if decorate is not None:
                decorate(f, cls)
            cell_frame.vars["__class__"] = cls
            store(f, cls)

        return define

    def class_decorator(self, node: ast.ClassDef):
        """``@dataclass(...)`` (validated): ``decorate(f, cls)`` checks that the name is the
        ``dataclasses`` facade's ``dataclass`` and makes ``cls`` a dataclass."""
        m, deco = self.m, node.decorator_list[0]
        options = {k.arg: k.value.value for k in deco.keywords} if type(deco) is ast.Call else {}
        value = self.expr(deco.func if type(deco) is ast.Call else deco)
        annotated = [s.target.id for s in node.body if type(s) is ast.AnnAssign and type(s.target) is ast.Name]

        def decorate(f, cls):
            if value(f) is not DATACLASS:
                raise RefusedConstructError(
                    "a class decorator other than dataclass",
                    line=node.lineno,
                    hint="Import it first: from dataclasses import dataclass, field.",
                )
            make_dataclass(m, cls, annotated, options)

        return decorate

    # --- functions -----------------------------------------------------------------------------

    def function_code(self, template):
        """``code(fn, args, kwargs)``: run a sandbox function's body in a new frame."""
        node, m = template.node, self.m
        is_lambda = type(node) is ast.Lambda
        body = self.ticked(node.body) if is_lambda else self.block(node.body)
        bind = make_binder(node.args, template.name)
        max_depth = m.limits.max_call_depth

        def code(fn, args, kwargs):
            if m.depth >= max_depth:
                raise limit_error("max_call_depth", f"{max_depth} nested calls", m.line)
            frame = Frame(bind(fn, args, kwargs), fn.frame, fn.frame.g)
            line = m.line
            m.depth += 1
            try:
                r = body(frame)
            finally:
                m.depth -= 1
            m.line = line
            if is_lambda:
                return r
            return frame.ret if r == RETURN else None

        return code
