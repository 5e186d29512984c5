"""Comprehensions (list, set, dict: eager, like Python) and generator expressions (lazy over
their first loop: the inner loops for one element of the first run at once). Each has its own
scope for its targets; the first iterable is evaluated in the enclosing scope."""

from __future__ import annotations

import ast

from .iteration import not_iterable
from .runtime import Frame
from .scopes import comprehension_scope, cost
from .values import ChargedIter, Handle

__all__ = ["ComprehensionCompiler", "iter_value"]


def iter_value(value):
    """``iter(value)`` for sandbox values (charged iterators are their own iterators)."""
    t = type(value)
    if t is ChargedIter:
        return value
    if t is Handle:
        raise not_iterable(value)
    return iter(value)


def _appender(ev):
    return lambda f, out: out.append(ev(f))


def _adder(ev):
    return lambda f, out: out.add(ev(f))


class ComprehensionCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for comprehensions."""

    def comprehension(self, node, inner, action):
        """The loops of a comprehension as ``run(frame, first_items, out)``; ``action(frame,
        out)`` is the innermost step."""
        m = self.m
        loops = []
        for i, gen in enumerate(node.generators):
            iterable = None if i == 0 else inner.ticked(gen.iter)
            conds = [inner.ticked(c) for c in gen.ifs]
            loops.append((iterable, inner.target(gen.target), conds, cost(gen.target) + 1))

        def level(index):
            _, store, conds, c = loops[index]
            deeper = level(index + 1) if index + 1 < len(loops) else None
            following = loops[index + 1][0] if deeper is not None else None

            def run(f, items, out):
                for item in iter_value(items):
                    m.ops += c
                    if m.ops > m.next_check:
                        m.checkpoint()
                    store(f, item)
                    for cond in conds:
                        if not cond(f):
                            break
                    else:
                        if deeper is None:
                            action(f, out)
                        else:
                            deeper(f, following(f), out)

            return run

        return level(0)

    def e_ListComp(self, node):
        return self.collect(node, list, lambda c: _appender(c.ticked(node.elt)))

    def e_SetComp(self, node):
        return self.collect(node, set, lambda c: _adder(c.ticked(node.elt)))

    def e_DictComp(self, node):
        def action(c):
            key, value = c.ticked(node.key), c.ticked(node.value)

            def put(f, out):
                k = key(f)
                out[k] = value(f)

            return put

        return self.collect(node, dict, action)

    def collect(self, node, kind, make_action):
        m = self.m
        first = self.expr(node.generators[0].iter)
        inner = self.child(comprehension_scope(node, self.scope))
        gen = node.generators[0]
        if kind is list and len(node.generators) == 1 and not gen.ifs and type(gen.target) is ast.Name:
            name, element = gen.target.id, inner.expr(node.elt)
            c = 2 + cost(node.elt)

            def simple(f):
                items = iter_value(first(f))
                frame = Frame({}, f, f.g)
                local = frame.vars
                out = []
                append = out.append
                for item in items:
                    m.ops += c
                    if m.ops > m.next_check:
                        m.checkpoint()
                    local[name] = item
                    append(element(frame))
                return out

            return simple
        run = self.comprehension(node, inner, make_action(inner))

        def comp(f):
            items = first(f)
            out = kind()
            run(Frame({}, f, f.g), items, out)
            return out

        return comp

    def e_GeneratorExp(self, node):
        m = self.m
        first = self.expr(node.generators[0].iter)
        inner = self.child(comprehension_scope(node, self.scope))
        element = inner.ticked(node.elt)

        def action(f, out):
            out.append(element(f))

        run = self.comprehension(node, inner, action)

        def generate(frame, items):
            # Lazy over the first loop: the inner loops of one outer item run at once.
            for item in iter_value(items):
                buffer: list = []
                run(frame, (item,), buffer)
                yield from buffer

        def genexp(f):
            items = iter_value(first(f))
            return ChargedIter(m, generate(Frame({}, f, f.g), items), "generator")

        return genexp

