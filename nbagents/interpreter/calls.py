"""Attribute access, subscripts, slices and calls (of tools, sandbox functions, builtins and
allow-listed methods). A mixin of :class:`~.evaluator.Compiler`; what a value lets a program
reach is decided by :mod:`.capabilities`."""

from __future__ import annotations

import ast

from ..errors import RefusedConstructError
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
from .classes import Super
from .formatting import format_constant, parse_format
from .iteration import charge_result
from .values import Builtin, NativeFunction, SandboxFunction, TypeValue

__all__ = ["CallCompiler"]

_EMPTY: dict = {}


class CallCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for attributes, subscripts, slices and calls."""

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
        if type(func) is ast.Name and func.id == "super":
            return self.super_call(node)
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

    def super_call(self, node: ast.Call):
        """``super()``: only with no arguments, directly in a method that has a first parameter."""
        scope = self.scope
        hint = "Call super() with no arguments, directly inside a method of a class (e.g. super().__init__(...))."
        if node.args or node.keywords:
            raise RefusedConstructError("super() with arguments", line=node.lineno, hint=hint)
        if scope.kind != "function" or scope.parent.kind != "classcell" or scope.first is None:
            raise RefusedConstructError("super() outside a method", line=node.lineno, hint=hint)
        cls, target = self.loader("__class__", call=False), self.loader(scope.first, call=False)
        return lambda f: Super(cls(f), target(f))

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
