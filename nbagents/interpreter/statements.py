"""Statement compilers (one ``s_<Node>`` method per statement kind), assignment targets,
function bodies and argument binding.

A statement closure sets the current line, charges its cost and returns ``None`` or a signal
(``BREAK``, ``CONTINUE``, ``RETURN``); control flow never uses exceptions.
"""

from __future__ import annotations

import ast
import sys

from ..errors import InterpreterError, RefusedConstructError
from .binding import make_binder, unpack
from .builtins import exception_types
from .facades import make_facade
from .iteration import materialize
from .limits import limit_error
from .operators import INPLACE
from .runtime import BREAK, CONTINUE, RETURN, Frame
from .scopes import cost, unbound_message
from .values import Handle, TypeValue

__all__ = ["StatementCompiler", "UNCATCHABLE"]

UNCATCHABLE = (InterpreterError, MemoryError, RecursionError)


def _tick(m, line: int, c: int) -> None:  # used by the less frequent statements
    m.line = line
    m.ops += c
    if m.ops > m.next_check:
        m.checkpoint()


class StatementCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for statements."""

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

    # --- targets -----------------------------------------------------------------------------

    def target(self, node: ast.expr):
        """``store(frame, value)`` for an assignment target."""
        t = type(node)
        if t is ast.Name:
            return self.storer(node.id)
        if t is ast.Tuple or t is ast.List:
            return self.unpacker(node.elts)
        if t is ast.Subscript:
            obj, key, m = self.expr(node.value), self.expr(node.slice), self.m
            sliced = type(node.slice) is ast.Slice

            def store_item(f, value):
                o = obj(f)
                k = key(f)
                if sliced and type(value) is not list and type(value) is not tuple:
                    value = materialize(m, value)
                o[k] = value

            return store_item
        raise RefusedConstructError("assignment to this target", line=getattr(node, "lineno", None))

    def unpacker(self, elts: list):
        m = self.m
        star = next((i for i, e in enumerate(elts) if type(e) is ast.Starred), None)
        stores = [self.target(e.value if type(e) is ast.Starred else e) for e in elts]
        n = len(elts)

        def assign_each(f, value):
            for store, item in zip(stores, unpack(m, value, n, star)):
                store(f, item)

        return assign_each

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

    def s_Assign(self, node: ast.Assign, capture=False):
        value, m, line = self.expr(node.value), self.m, node.lineno
        c = 1 + cost(node.value) + sum(cost(t) for t in node.targets)
        target = node.targets[0]
        if len(node.targets) == 1 and type(target) is ast.Name and not capture:
            name = target.id

            def assign_name(f):
                m.line = line
                m.ops += c
                if m.ops > m.next_check:
                    m.checkpoint()
                f.vars[name] = value(f)

            return assign_name
        stores = [self.target(t) for t in node.targets]

        def assign(f):
            m.line = line
            m.ops += c
            if m.ops > m.next_check:
                m.checkpoint()
            v = value(f)
            for store in stores:
                store(f, v)
            if capture:
                m.last_value = v

        return assign

    def s_AnnAssign(self, node: ast.AnnAssign, capture=False):
        m, line = self.m, node.lineno
        if node.value is None:
            return lambda f: _tick(m, line, 1)
        value, store, c = self.expr(node.value), self.target(node.target), 1 + cost(node.value)

        def annotated(f):
            _tick(m, line, c)
            v = value(f)
            store(f, v)
            if capture:
                m.last_value = v

        return annotated

    def s_AugAssign(self, node: ast.AugAssign, capture=False):
        m, line = self.m, node.lineno
        value, op = self.expr(node.value), INPLACE[type(node.op)]
        c = 2 + cost(node.value) + cost(node.target)
        target = node.target
        if type(target) is ast.Name:
            load, store = self.loader(target.id, call=False), self.storer(target.id)
            is_add = type(node.op) is ast.Add

            def augment_name(f):
                m.line = line
                m.ops += c
                if m.ops > m.next_check:
                    m.checkpoint()
                a = load(f)
                b = value(f)
                v = a + b if is_add and type(a) is int and type(b) is int else op(m, a, b)
                store(f, v)
                if capture:
                    m.last_value = v

            return augment_name
        obj, key = self.expr(target.value), self.expr(target.slice)

        def augment_item(f):
            _tick(m, line, c)
            o = obj(f)
            k = key(f)
            v = op(m, o[k], value(f))
            o[k] = v
            if capture:
                m.last_value = v

        return augment_item

    def s_Pass(self, node, capture=False):
        m, line = self.m, node.lineno
        return lambda f: _tick(m, line, 1)

    def s_Break(self, node, capture=False):
        m, line = self.m, node.lineno
        return lambda f: _tick(m, line, 1) or BREAK

    def s_Continue(self, node, capture=False):
        m, line = self.m, node.lineno
        return lambda f: _tick(m, line, 1) or CONTINUE

    def s_Return(self, node: ast.Return, capture=False):
        m, line, c = self.m, node.lineno, 1 + cost(node.value)
        value = self.expr(node.value) if node.value is not None else (lambda f: None)

        def return_(f):
            m.line = line
            m.ops += c
            if m.ops > m.next_check:
                m.checkpoint()
            f.ret = value(f)
            return RETURN

        return return_

    def s_Delete(self, node: ast.Delete, capture=False):
        m, line = self.m, node.lineno
        deleters = [self.deleter(t) for t in node.targets]

        def delete(f):
            _tick(m, line, 1 + len(deleters))
            for d in deleters:
                d(f)

        return delete

    def deleter(self, node: ast.expr):
        t = type(node)
        if t is ast.Name:
            name = node.id
            local = self.scope.kind != "module"

            def delete_name(f):
                try:
                    del f.vars[name]
                except KeyError:
                    if local:
                        raise UnboundLocalError(unbound_message(name)) from None
                    raise NameError(f"name '{name}' is not defined") from None

            return delete_name
        if t is ast.Subscript:
            obj, key = self.expr(node.value), self.expr(node.slice)

            def delete_item(f):
                o = obj(f)
                del o[key(f)]

            return delete_item
        if t is ast.Tuple or t is ast.List:
            parts = [self.deleter(e) for e in node.elts]

            def delete_all(f):
                for d in parts:
                    d(f)

            return delete_all
        raise RefusedConstructError("deleting this target", line=node.lineno)

    def s_Assert(self, node: ast.Assert, capture=False):
        m, line, test = self.m, node.lineno, self.expr(node.test)
        msg = self.ticked(node.msg) if node.msg is not None else None
        c = 1 + cost(node.test)

        def assert_(f):
            _tick(m, line, c)
            if not test(f):
                raise AssertionError(msg(f)) if msg is not None else AssertionError()

        return assert_

    def s_Raise(self, node: ast.Raise, capture=False):
        m, line = self.m, node.lineno
        exc = self.expr(node.exc) if node.exc is not None else None
        cause = self.expr(node.cause) if node.cause is not None else None
        c = 1 + cost(node.exc) + cost(node.cause)

        def raise_(f):
            _tick(m, line, c)
            if exc is None:
                current = sys.exc_info()[1]
                if current is None:
                    raise RuntimeError("No active exception to reraise")
                raise current
            error = _exception(m, exc(f))
            if cause is not None:
                reason = cause(f)
                raise error from (None if reason is None else _exception(m, reason))
            raise error

        return raise_

    def s_Import(self, node: ast.Import, capture=False):
        m, line = self.m, node.lineno
        binds = [(alias.name, self.storer(alias.asname or alias.name)) for alias in node.names]

        def import_(f):
            _tick(m, line, 1)
            for name, store in binds:
                store(f, make_facade(m, name))

        return import_

    def s_ImportFrom(self, node: ast.ImportFrom, capture=False):
        m, line, module = self.m, node.lineno, node.module
        binds = [(alias.name, self.storer(alias.asname or alias.name)) for alias in node.names]

        def import_from(f):
            _tick(m, line, 1)
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
            _tick(m, line, c)
            store(f, make(f))

        return define

    # --- compound statements -------------------------------------------------------------------

    def s_If(self, node: ast.If, capture=False):
        m, line, c = self.m, node.lineno, 1 + cost(node.test)
        test, body = self.expr(node.test), self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None

        def if_(f):
            m.line = line
            m.ops += c
            if m.ops > m.next_check:
                m.checkpoint()
            if test(f):
                return body(f)
            if orelse is not None:
                return orelse(f)
            return None

        return if_

    def s_While(self, node: ast.While, capture=False):
        m, line, c = self.m, node.lineno, 1 + cost(node.test)
        test, body = self.expr(node.test), self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None

        def while_(f):
            while True:
                m.line = line
                m.ops += c
                if m.ops > m.next_check:
                    m.checkpoint()
                if not test(f):
                    break
                r = body(f)
                if r is not None:
                    if r == BREAK:
                        return None
                    if r == RETURN:
                        return r
            return orelse(f) if orelse is not None else None

        return while_

    def s_For(self, node: ast.For, capture=False):
        m, line = self.m, node.lineno
        iterable, body = self.expr(node.iter), self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        c_start, c_step = 1 + cost(node.iter), 1 + cost(node.target)
        target = node.target
        simple = type(target) is ast.Name
        store = None if simple else self.target(target)
        name = target.id if simple else None

        def for_(f):
            _tick(m, line, c_start)
            items = iterable(f)
            if type(items) is Handle:
                raise TypeError(f"'{items.kind} handle' object is not iterable")
            local = f.vars
            for item in items:
                m.ops += c_step
                if m.ops > m.next_check:
                    m.checkpoint()
                if simple:
                    local[name] = item
                else:
                    store(f, item)
                r = body(f)
                if r is not None:
                    if r == BREAK:
                        return None
                    if r == RETURN:
                        return r
            return orelse(f) if orelse is not None else None

        return for_

    def s_Try(self, node: ast.Try, capture=False):
        m, line = self.m, node.lineno
        body = self.block(node.body)
        handlers = [(self.expr(h.type) if h.type else None, h.name, self.block(h.body)) for h in node.handlers]
        orelse = self.block(node.orelse) if node.orelse else None
        final = self.block(node.finalbody) if node.finalbody else None

        def attempt(f):
            try:
                r = body(f)
            except Exception as exc:
                if isinstance(exc, UNCATCHABLE):
                    raise
                for kind, name, handler in handlers:
                    if kind is not None and not isinstance(exc, exception_types(kind(f))):
                        continue
                    if name is None:
                        return handler(f)
                    f.vars[name] = exc
                    try:
                        return handler(f)
                    finally:
                        f.vars.pop(name, None)
                raise
            if r is None and orelse is not None:
                return orelse(f)
            return r

        def try_(f):
            _tick(m, line, 1)
            if final is None:
                return attempt(f)
            try:
                r = attempt(f)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    m.interrupted = True
                    m.next_check = -1
                done = final(f)
                if done is not None:
                    return done  # a return/break/continue in finally ends the exception (as in Python)
                raise
            done = final(f)
            return done if done is not None else r

        return try_

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


def _exception(m, value):
    if type(value) is TypeValue and isinstance(value.type, type) and issubclass(value.type, Exception):
        value = value.fn(m)
    if isinstance(value, Exception) and not isinstance(value, UNCATCHABLE):
        return value
    raise TypeError("exceptions must derive from BaseException")
