"""Binding call arguments to parameters and unpacking assignment targets, with Python's rules
and error messages."""

from __future__ import annotations

import ast

from .iteration import materialize
from .values import ChargedIter, Handle

__all__ = ["make_binder", "unpack"]


def unpack(m, value, n: int, star: int | None):
    t = type(value)
    if star is None:
        if t is tuple or t is list:
            items = value
        else:
            if t is Handle:
                value.refuse("unpacking")
                raise TypeError(f"cannot unpack non-iterable {value.kind} handle object")
            items = []
            for item in value if t is ChargedIter else iter(value):
                items.append(item)
                if len(items) > n:
                    break
        if len(items) > n:
            raise ValueError(f"too many values to unpack (expected {n})")
        if len(items) < n:
            raise ValueError(f"not enough values to unpack (expected {n}, got {len(items)})")
        return items
    items = list(materialize(m, value))
    if len(items) < n - 1:
        raise ValueError(f"not enough values to unpack (expected at least {n - 1}, got {len(items)})")
    after = n - star - 1
    end = len(items) - after
    return items[:star] + [items[star:end]] + items[end:]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _names(names: list) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def make_binder(args: ast.arguments, name: str):
    """``bind(fn, args, kwargs) -> locals`` following Python's rules and messages."""
    posonly = [a.arg for a in args.posonlyargs]
    positional = posonly + [a.arg for a in args.args]
    kwonly = [a.arg for a in args.kwonlyargs]
    vararg = args.vararg.arg if args.vararg else None
    kwarg = args.kwarg.arg if args.kwarg else None
    n = len(positional)
    n_defaults = len(args.defaults)
    named = frozenset(positional[len(posonly):] + kwonly)
    simple = not (posonly or kwonly or vararg or kwarg or n_defaults)

    def general(fn, a, kw):
        local = dict(zip(positional, a))
        if len(a) > n:
            if vararg is None:
                lo = n - n_defaults
                takes = f"from {lo} to {n}" if n_defaults else str(n)
                given = len(a)
                verb = "was" if given == 1 else "were"
                raise TypeError(f"{name}() takes {takes} positional argument{'s' if n != 1 or n_defaults else ''} but {given} {verb} given")
        if vararg is not None:
            local[vararg] = tuple(a[n:])
        extra = {}
        for key, value in kw.items():
            if key in named:
                if key in local:
                    raise TypeError(f"{name}() got multiple values for argument '{key}'")
                local[key] = value
            elif kwarg is not None:
                extra[key] = value
            elif key in posonly:
                raise TypeError(f"{name}() got some positional-only arguments passed as keyword arguments: '{key}'")
            else:
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
        missing = []
        for i, p in enumerate(positional):
            if p not in local:
                j = i - (n - n_defaults)
                if j >= 0:
                    local[p] = fn.defaults[j]
                else:
                    missing.append(p)
        if missing:
            raise TypeError(f"{name}() missing {_plural(len(missing), 'required positional argument')}: {_names(missing)}")
        missing = [p for p in kwonly if p not in local and p not in fn.kwdefaults]
        if missing:
            raise TypeError(f"{name}() missing {_plural(len(missing), 'required keyword-only argument')}: {_names(missing)}")
        for p in kwonly:
            if p not in local:
                local[p] = fn.kwdefaults[p]
        if kwarg is not None:
            local[kwarg] = extra
        return local

    if simple and n == 1:
        (p0,) = positional

        def bind1(fn, a, kw):
            if len(a) == 1 and not kw:
                return {p0: a[0]}
            return general(fn, a, kw)

        return bind1

    def bind(fn, a, kw):
        if simple and len(a) == n and not kw:
            return dict(zip(positional, a))
        return general(fn, a, kw)

    return bind

