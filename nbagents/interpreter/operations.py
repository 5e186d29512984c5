"""Operator expressions: arithmetic, unary, boolean, comparison and conditional (``a if c else
b``). The operations themselves come from the tables of :mod:`.operators`; a mixin of
:class:`~.evaluator.Compiler`."""

from __future__ import annotations

import ast
import operator

from .operators import (
    BINOPS,
    CHECKED_BINOPS,
    CHECKED_COMPARE,
    COMPARE,
    INT_RESULTS,
    SMALL_INT,
    UNARY,
    charge_compare,
    counted,
)

_DIVISIONS = {ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_ORDERINGS = frozenset({ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE})  # element-wise on sequences

__all__ = ["OperatorCompiler"]


class OperatorCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for operator expressions."""

    def e_BinOp(self, node: ast.BinOp):
        left, right, m = self.expr(node.left), self.expr(node.right), self.m
        checked = CHECKED_BINOPS.get(type(node.op))
        if checked is None:
            op = BINOPS[type(node.op)]
            if type(node.op) in INT_RESULTS:

                def int_result(f):
                    r = op(left(f), right(f))
                    if type(r) is not int or -SMALL_INT < r < SMALL_INT:
                        return r
                    return counted(m, r)

                return int_result
            return lambda f: op(left(f), right(f))
        if type(node.op) is ast.Add:

            def add(f):
                a = left(f)
                b = right(f)
                if type(a) is int and type(b) is int:
                    r = a + b
                    if -SMALL_INT < r < SMALL_INT:
                        return r
                    return counted(m, r)
                if type(a) is float:
                    return a + b
                return checked(m, a, b)

            return add
        native = _DIVISIONS.get(type(node.op))
        if native is not None:

            def divide(f):  # a small int dividend is cheap whatever the divisor
                a = left(f)
                b = right(f)
                if type(a) is int and type(b) is int and -SMALL_INT < a < SMALL_INT:
                    return native(a, b)
                return checked(m, a, b)

            return divide
        return lambda f: checked(m, left(f), right(f))

    def e_UnaryOp(self, node: ast.UnaryOp):
        operand, op, m = self.expr(node.operand), UNARY[type(node.op)], self.m
        if type(node.op) in INT_RESULTS:

            def int_result(f):
                r = op(operand(f))
                if type(r) is not int or -SMALL_INT < r < SMALL_INT:
                    return r
                return counted(m, r)

            return int_result
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
            if type(node.ops[0]) in _ORDERINGS:

                def compare(f):
                    a = left(f)
                    b = right(f)
                    if type(a) is list or type(a) is tuple:
                        charge_compare(m, a, b)
                    return op(a, b)

                return compare
            return lambda f: op(left(f), right(f))

        def chain(f):
            a = left(f)
            for op, right in ops:
                b = right(f)
                if type(a) is list or type(a) is tuple:
                    charge_compare(m, a, b)
                if not op(a, b):
                    return False
                a = b
            return True

        return chain

    def e_IfExp(self, node: ast.IfExp):
        test, body, orelse = self.expr(node.test), self.ticked(node.body), self.ticked(node.orelse)
        return lambda f: body(f) if test(f) else orelse(f)
