"""Control flow: ``if``, ``while``, ``for``, ``break``/``continue``/``return`` (returned as
signals, never raised), ``try``/``except``/``else``/``finally``, ``with`` (on the program's own
context managers) and ``raise``. A mixin of :class:`~.evaluator.Compiler`."""

from __future__ import annotations

import ast
import sys

from ..errors import InterpreterError, RefusedConstructError
from .builtins import BUILTINS
from .classes import (
    call_function,
    caught,
    construct,
    context_methods,
    exception_class,
    matches,
    raised,
)
from .runtime import BREAK, CONTINUE, RETURN, tick
from .scopes import cost
from .values import Handle, Instance, SandboxClass, TypeValue

__all__ = ["ControlFlowCompiler", "UNCATCHABLE"]

UNCATCHABLE = (InterpreterError, MemoryError, RecursionError)


class ControlFlowCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for branches, loops, jumps and exceptions."""

    # --- branches and loops ------------------------------------------------------------------

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
        simple = type(target) is ast.Name and not self.scope.declares(target.id)
        store = None if simple else self.target(target)
        name = target.id if simple else None

        def for_(f):
            tick(m, line, c_start)
            items = iterable(f)
            if type(items) is Handle:
                items.refuse("iterating over")
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

    # --- jumps -------------------------------------------------------------------------------

    def s_Global(self, node, capture=False):
        """``global``/``nonlocal``: declarations, used when the function compiles (scopes)."""
        m, line = self.m, node.lineno
        return lambda f: tick(m, line, 1)

    s_Nonlocal = s_Global

    def s_Break(self, node, capture=False):
        m, line = self.m, node.lineno
        return lambda f: tick(m, line, 1) or BREAK

    def s_Continue(self, node, capture=False):
        m, line = self.m, node.lineno
        return lambda f: tick(m, line, 1) or CONTINUE

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

    # --- exceptions --------------------------------------------------------------------------

    def s_Try(self, node: ast.Try, capture=False):
        m, line = self.m, node.lineno
        body = self.block(node.body)
        handlers = [(self.expr(h.type) if h.type else None, h.name, self.block(h.body)) for h in node.handlers]
        if any(h.name and self.scope.declares(h.name) for h in node.handlers):
            raise RefusedConstructError("except ... as a name declared global or nonlocal", line=line)
        orelse = self.block(node.orelse) if node.orelse else None
        final = self.block(node.finalbody) if node.finalbody else None

        def attempt(f):
            try:
                r = body(f)
            except Exception as exc:
                if isinstance(exc, UNCATCHABLE):
                    raise
                for kind, name, handler in handlers:
                    if kind is not None and not matches(exc, kind(f)):
                        continue
                    if name is None:
                        return handler(f)
                    f.vars[name] = caught(exc)
                    try:
                        return handler(f)
                    finally:
                        f.vars.pop(name, None)
                raise
            if r is None and orelse is not None:
                return orelse(f)
            return r

        def try_(f):
            tick(m, line, 1)
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

    def s_With(self, node: ast.With, capture=False):
        """``with`` on instances of sandbox classes: the interpreter calls their ``__enter__`` and
        ``__exit__`` (given the exception's class, the exception and ``None`` for the traceback;
        a true result suppresses it). Errors ``except`` cannot catch (limits, refusals) end the
        run without calling ``__exit__``."""
        m, line = self.m, node.lineno
        items = [
            (self.expr(i.context_expr), self.target(i.optional_vars) if i.optional_vars is not None else None)
            for i in node.items
        ]
        body = self.block(node.body)
        c = 1 + sum(cost(i.context_expr) for i in node.items)
        last = len(items)

        def enter(f, k):
            if k == last:
                return body(f)
            manager_of, store = items[k]
            manager = manager_of(f)
            on_enter, on_exit = context_methods(m, manager)
            value = call_function(m, on_enter, (manager,), {})
            try:
                if store is not None:
                    store(f, value)
                r = enter(f, k + 1)
            except Exception as exc:
                if isinstance(exc, UNCATCHABLE):
                    raise
                if call_function(m, on_exit, (manager, exception_class(exc, _exception_class), caught(exc), None), {}):
                    return None
                raise
            call_function(m, on_exit, (manager, None, None, None), {})
            return r

        def with_(f):
            tick(m, line, c)
            return enter(f, 0)

        return with_

    def s_Raise(self, node: ast.Raise, capture=False):
        m, line = self.m, node.lineno
        exc = self.expr(node.exc) if node.exc is not None else None
        cause = self.expr(node.cause) if node.cause is not None else None
        c = 1 + cost(node.exc) + cost(node.cause)

        def raise_(f):
            tick(m, line, c)
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


def _exception_class(exc: BaseException):
    """The sandbox value for an exception's class: the closest allow-listed builtin class."""
    for k in type(exc).__mro__:
        value = BUILTINS.get(k.__name__)
        if type(value) is TypeValue and value.type is k:
            return value
    return BUILTINS["Exception"]


def _exception(m, value):
    if type(value) is SandboxClass and value.error is not None:
        value = construct(m, value, (), {})
    if type(value) is Instance and value.cls.error is not None:
        return raised(value)
    if type(value) is TypeValue and isinstance(value.type, type) and issubclass(value.type, Exception):
        value = value.fn(m)
    if isinstance(value, Exception) and not isinstance(value, UNCATCHABLE):
        return value
    raise TypeError("exceptions must derive from BaseException")
