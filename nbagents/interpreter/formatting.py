"""Formatting with bounds: format specs, conversions, constant ``str.format`` strings."""

from __future__ import annotations

import string

from .iteration import charge_result
from .limits import check_format_spec, check_strftime, limit_error
from .reprs import safe_repr, safe_str
from .values import DATES, SCALARS, Handle, type_name

__all__ = ["safe_format", "convert", "parse_format", "format_constant"]



def safe_format(m, value, spec: str) -> str:
    """``format(value, spec)`` with the width/precision and repr bounds."""
    if type(spec) is not str:
        raise TypeError("format spec must be a str")
    if not spec:
        return safe_str(m, value)
    t = type(value)
    if t in DATES:
        check_strftime(spec, m.limits)
    elif t in SCALARS:
        check_format_spec(spec, m.limits)
        if t is int and value.bit_length() > 50_000:
            safe_str(m, value)  # same digit limit as str()
    else:
        if t is Handle:
            value.refuse("formatting with a spec")
        raise TypeError(f"unsupported format string passed to {type_name(value)}.__format__")
    return format(value, spec)


def convert(m, value, conversion: str | None):
    if conversion == "r":
        return safe_repr(m, value)
    if conversion == "s":
        return safe_str(m, value)
    if conversion == "a":
        return safe_repr(m, value).encode("ascii", "backslashreplace").decode("ascii")
    return value


def parse_format(fmt: str) -> list | None:
    """Fields of a constant ``str.format`` string, or None when a field is not a plain name or
    index (attribute paths ``{0.x}``, subscripts ``{0[x]}`` and nested fields are refused)."""
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return None
    for _literal, field, spec, _conversion in parts:
        if field is None:
            continue
        if field and not (field.isdigit() or field.isidentifier()) or field[:1] == "_":
            return None
        if spec and ("{" in spec or "}" in spec):
            return None
    return parts


def format_constant(m, parts: list, args: tuple, kwargs: dict) -> str:
    """``"...".format(*args, **kwargs)`` for a format string checked by :func:`parse_format`."""
    out = []
    total = 0
    auto = 0
    manual = False
    for literal, field, spec, conversion in parts:
        out.append(literal)
        total += len(literal)
        if field is None:
            continue
        if field == "":
            if manual:
                raise ValueError("cannot switch from manual field specification to automatic field numbering")
            if auto >= len(args):
                raise IndexError(f"Replacement index {auto} out of range for positional args tuple")
            value = args[auto]
            auto += 1
        elif field.isdigit():
            if auto:
                raise ValueError("cannot switch from automatic field numbering to manual field specification")
            manual = True
            index = int(field)
            if index >= len(args):
                raise IndexError(f"Replacement index {index} out of range for positional args tuple")
            value = args[index]
        else:
            if field not in kwargs:
                raise KeyError(field)
            value = kwargs[field]
        text = safe_format(m, convert(m, value, conversion), spec or "")
        total += len(text)
        if total > m.limits.max_sequence_length:
            raise limit_error("max_sequence_length", f"a formatted text of {total} characters", m.line)
        out.append(text)
    return charge_result(m, "".join(out))

