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

# --- the frequent shapes, specialised: an operand that is a small int literal (``i % 3``,
# ``n * 2``, ``x - 1``) and a comparison with a scalar literal (``r == 0``). With a small int on
# the left the result is small too, so none of the size checks of the general path can fire;
# anything else takes the general path.

_SMALL_CONSTANT = 1 << 62
_SCALAR_CONSTANTS = frozenset({int, float, str, bool, type(None), bytes})


def _small_constant(node: ast.expr) -> int | None:
    if type(node) is ast.Constant and type(node.value) is int and 0 < abs(node.value) < _SMALL_CONSTANT:
        return node.value
    return None


def _general(m, op, is_checked: bool):
    if is_checked:
        return lambda a, c: op(m, a, c)

    def plain(a, c):
        r = op(a, c)
        if type(r) is not int or -SMALL_INT < r < SMALL_INT:
            return r
        return counted(m, r)

    return plain


def _add_constant(m, left, c, op, is_checked):
    general = _general(m, op, is_checked)

    def add_constant(f):
        a = left(f)
        if type(a) is int and -SMALL_INT < a < SMALL_INT:
            return a + c
        return general(a, c)

    return add_constant


def _sub_constant(m, left, c, op, is_checked):
    general = _general(m, op, is_checked)

    def sub_constant(f):
        a = left(f)
        if type(a) is int and -SMALL_INT < a < SMALL_INT:
            return a - c
        return general(a, c)

    return sub_constant


def _mul_constant(m, left, c, op, is_checked):
    general = _general(m, op, is_checked)

    def mul_constant(f):
        a = left(f)
        if type(a) is int and -SMALL_INT < a < SMALL_INT:
            return a * c
        return general(a, c)

    return mul_constant


def _mod_constant(m, left, c, op, is_checked):
    general = _general(m, op, is_checked)

    def mod_constant(f):
        a = left(f)
        if type(a) is int and -SMALL_INT < a < SMALL_INT:
            return a % c
        return general(a, c)

    return mod_constant


def _floordiv_constant(m, left, c, op, is_checked):
    general = _general(m, op, is_checked)

    def floordiv_constant(f):
        a = left(f)
        if type(a) is int and -SMALL_INT < a < SMALL_INT:
            return a // c
        return general(a, c)

    return floordiv_constant


_WITH_CONSTANT = {
    ast.Add: _add_constant,
    ast.Sub: _sub_constant,
    ast.Mult: _mul_constant,
    ast.Mod: _mod_constant,
    ast.FloorDiv: _floordiv_constant,
}

_CONSTANT_COMPARE = {
    ast.Eq: lambda left, c: lambda f: left(f) == c,
    ast.NotEq: lambda left, c: lambda f: left(f) != c,
    ast.Lt: lambda left, c: lambda f: left(f) < c,
    ast.LtE: lambda left, c: lambda f: left(f) <= c,
    ast.Gt: lambda left, c: lambda f: left(f) > c,
    ast.GtE: lambda left, c: lambda f: left(f) >= c,
}


class OperatorCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for operator expressions."""

    def e_BinOp(self, node: ast.BinOp):
        left, right, m = self.expr(node.left), self.expr(node.right), self.m
        checked = CHECKED_BINOPS.get(type(node.op))
        fast = _small_constant(node.right)
        if fast is not None and type(node.op) in _WITH_CONSTANT:
            general = checked or BINOPS[type(node.op)]
            return _WITH_CONSTANT[type(node.op)](m, left, fast, general, checked is not None)
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
            constant = node.comparators[0]
            if (type(node.ops[0]) in _CONSTANT_COMPARE and type(constant) is ast.Constant
                    and type(constant.value) in _SCALAR_CONSTANTS):
                # a list or tuple compared with a scalar never scans its elements
                return _CONSTANT_COMPARE[type(node.ops[0])](left, constant.value)
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
