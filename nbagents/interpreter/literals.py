"""Literal expressions: constants, list/tuple/set/dict displays (with ``*``/``**`` splicing)
and f-strings. A mixin of :class:`~.evaluator.Compiler`."""

from __future__ import annotations

import ast

from ..errors import LimitExceededError, RefusedConstructError
from .formatting import convert, safe_format
from .iteration import charge_result, materialize
from .limits import check_format_spec, limit_error
from .reprs import safe_str

__all__ = ["LiteralCompiler"]


def _constant_spec(node) -> str | None:
    """The text of a format spec made of literal parts only (``:<10``, ``:.2f``), else None."""
    if type(node) is not ast.JoinedStr:
        return None
    parts = node.values
    if not all(type(p) is ast.Constant and type(p.value) is str for p in parts):
        return None
    return "".join(p.value for p in parts)

_CONVERSIONS = {-1: None, 115: "s", 114: "r", 97: "a"}


class LiteralCompiler:
    """Mixin of :class:`~.evaluator.Compiler` for constants, containers and f-strings."""

    def e_Constant(self, node: ast.Constant):
        value = node.value
        return lambda f: value

    # --- containers --------------------------------------------------------------------------

    def elements(self, elts: list):
        """A closure building the list of elements, with ``*starred`` ones spliced in."""
        m = self.m
        if not any(type(e) is ast.Starred for e in elts):
            evs = [self.expr(e) for e in elts]
            return lambda f: [ev(f) for ev in evs]
        parts = [(type(e) is ast.Starred, self.expr(e.value if type(e) is ast.Starred else e)) for e in elts]

        def splice(f):
            out = []
            for starred, ev in parts:
                if starred:
                    out.extend(materialize(m, ev(f)))
                    if len(out) > m.limits.max_sequence_length:
                        raise limit_error("max_sequence_length", f"{len(out)} elements", m.line)
                else:
                    out.append(ev(f))
            return out

        return splice

    def e_List(self, node: ast.List):
        return self.elements(node.elts)

    def e_Tuple(self, node: ast.Tuple):
        items = self.elements(node.elts)
        return lambda f: tuple(items(f))

    def e_Set(self, node: ast.Set):
        items = self.elements(node.elts)
        return lambda f: set(items(f))

    def e_Dict(self, node: ast.Dict):
        m = self.m
        parts = [(None if k is None else self.expr(k), self.expr(v)) for k, v in zip(node.keys, node.values)]

        def dict_(f):
            out = {}
            for key, value in parts:
                if key is None:
                    mapping = value(f)
                    if not isinstance(mapping, dict):
                        raise TypeError(f"'{type(mapping).__name__}' object is not a mapping")
                    m.charge(len(mapping))
                    out.update(mapping)
                else:
                    k = key(f)
                    out[k] = value(f)
            return out

        return dict_

    def e_Starred(self, node: ast.Starred):
        raise RefusedConstructError("a starred expression here", line=node.lineno)

    # --- strings -----------------------------------------------------------------------------

    def e_JoinedStr(self, node: ast.JoinedStr):
        m = self.m
        parts = [self.expr(v) for v in node.values]

        def fstring(f):
            text = "".join([part(f) for part in parts])
            if len(text) > 1024:  # shorter texts are not charged (charge_result's threshold)
                if len(text) > m.limits.max_sequence_length:
                    raise limit_error("max_sequence_length", f"an f-string of {len(text)} characters", m.line)
                charge_result(m, text)
            return text

        return fstring

    def e_FormattedValue(self, node: ast.FormattedValue):
        m = self.m
        value = self.expr(node.value)
        conversion = _CONVERSIONS.get(node.conversion)
        spec = self.expr(node.format_spec) if node.format_spec is not None else None
        fixed = _constant_spec(node.format_spec)
        if fixed is not None:
            try:
                check_format_spec(fixed, m.limits)
            except LimitExceededError:
                fixed = None  # refused when the line runs, like any other spec
        if fixed is not None:

            def formatted_fixed(f):  # a literal spec checked once: ``f"{x:>10.2f}"``
                v = value(f)
                if conversion is not None:
                    v = convert(m, v, conversion)
                t = type(v)
                if t is float or t is str or t is int and v.bit_length() <= 50_000:
                    return format(v, fixed)
                return safe_format(m, v, fixed)

            return formatted_fixed

        def formatted(f):
            v = value(f)
            if conversion is not None:
                v = convert(m, v, conversion)
            if spec is not None:
                return safe_format(m, v, spec(f))
            return v if type(v) is str else safe_str(m, v)

        return formatted
