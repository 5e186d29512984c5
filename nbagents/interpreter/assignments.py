"""Assignment statements: targets (names, ``*``-unpacking, subscripts and slices, attributes of
the program's own instances and classes), ``=``, annotated and augmented assignments, and
``del``. A mixin of :class:`~.evaluator.Compiler`; attribute writes go through
:mod:`.capabilities` (the one attribute check)."""

from __future__ import annotations

import ast

from ..errors import RefusedConstructError
from .binding import unpack
from .capabilities import delete_attribute, get_attribute, set_attribute
from .iteration import materialize
from .operators import INPLACE
from .runtime import tick
from .scopes import cost, unbound_message

__all__ = ["AssignmentCompiler"]


class AssignmentCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for assignments and deletions."""

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
        if t is ast.Attribute:
            obj, name, m = self.expr(node.value), node.attr, self.m
            return lambda f, value: set_attribute(m, obj(f), name, value)
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

    # --- statements --------------------------------------------------------------------------

    def s_Assign(self, node: ast.Assign, capture=False):
        value, m, line = self.expr(node.value), self.m, node.lineno
        c = 1 + cost(node.value) + sum(cost(t) for t in node.targets)
        target = node.targets[0]
        if len(node.targets) == 1 and type(target) is ast.Name and not capture and not self.scope.declares(target.id):
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
            return lambda f: tick(m, line, 1)
        value, store, c = self.expr(node.value), self.target(node.target), 1 + cost(node.value)

        def annotated(f):
            tick(m, line, c)
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
        if type(target) is ast.Attribute:
            obj, name = self.expr(target.value), target.attr

            def augment_attribute(f):
                tick(m, line, c)
                o = obj(f)
                v = op(m, get_attribute(m, o, name), value(f))
                set_attribute(m, o, name, v)
                if capture:
                    m.last_value = v

            return augment_attribute
        obj, key = self.expr(target.value), self.expr(target.slice)

        def augment_item(f):
            tick(m, line, c)
            o = obj(f)
            k = key(f)
            v = op(m, o[k], value(f))
            o[k] = v
            if capture:
                m.last_value = v

        return augment_item

    def s_Delete(self, node: ast.Delete, capture=False):
        m, line = self.m, node.lineno
        deleters = [self.deleter(t) for t in node.targets]

        def delete(f):
            tick(m, line, 1 + len(deleters))
            for d in deleters:
                d(f)

        return delete

    def deleter(self, node: ast.expr):
        t = type(node)
        if t is ast.Name:
            name = node.id
            local = self.scope.kind != "module" and name not in self.scope.globals
            depth = self.scope.resolve(name) if name in self.scope.nonlocals else 0
            up = name in self.scope.globals

            def delete_name(f):
                target = f.g if up else f
                for _ in range(depth):
                    target = target.parent
                try:
                    del (target if up else target.vars)[name]
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
        if t is ast.Attribute:
            obj, name, m = self.expr(node.value), node.attr, self.m
            return lambda f: delete_attribute(m, obj(f), name)
        if t is ast.Tuple or t is ast.List:
            parts = [self.deleter(e) for e in node.elts]

            def delete_all(f):
                for d in parts:
                    d(f)

            return delete_all
        raise RefusedConstructError("deleting this target", line=node.lineno)
