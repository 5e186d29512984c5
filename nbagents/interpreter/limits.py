"""Resource limits, the result record, and the size pre-checks run before native operations.

Every check here runs *before* the native operation it guards, so a refused operation costs
nothing: ``10 ** 10 ** 10`` is refused from the bit lengths of its operands, ``'x' * 10 ** 10``
from the lengths, ``f'{1:>10000000000}'`` from the width in the format spec.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from ..errors import LimitExceededError
from .active import current_line

__all__ = ["Limits", "Execution", "limit_error", "division_ops", "modpow_ops", "square_ops", "product_ops", "check_codec"]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run.

    Parameters
    ----------
    max_operations:
        Evaluated AST nodes per run, counted inside comprehensions, lambdas, sandbox functions
        and callbacks from the interpreter's own higher-order builtins; elements consumed by
        builtins (``sum``, ``sorted``, ``list``...) count one operation each.
    timeout_s:
        Interpreter time per run; time spent inside tools does not count (see
        ``wall_timeout_s``).
    max_call_depth:
        Nested calls of sandbox functions.
    max_int_bits:
        Largest integer result of ``**``, ``pow``, ``<<`` and ``*`` (checked before computing).
    max_sequence_length:
        Largest string/bytes/list/tuple built by repetition, concatenation, padding, format
        widths, ``join``, ``range`` materialisation, ``bytes(n)``...
    max_print_chars:
        Captured ``print`` output beyond this is dropped and a marker is appended.
    max_source_chars, max_nodes, max_nesting:
        Size of the program: characters, AST nodes, AST depth.
    memory_mb:
        Address-space limit (``RLIMIT_AS``) of the child in process isolation; in the kernel,
        the budget of what the interpreter builds natively in one run (conversions, encodings,
        formatted texts, itertools tuples, accumulated values...), counted as it is built.
    max_tool_calls:
        Tool calls per run, counted before each call (a failed call counts), so a loop of tool
        calls, ``sorted(xs, key=tool)`` or ``list(map(tool, xs))`` stops at the budget. The
        default 100 is ten times what a task's program needs (one call per step of a task, a
        few steps) and leaves room for a loop over a short list; a program over more items
        raises it.
    wall_timeout_s:
        Wall-clock time per run, tool time included: checked before each tool call, after it
        returns and while the interpreter runs (in process isolation the kernel also kills the
        child at this deadline). A tool that is running is not interrupted: the run ends when it
        returns. The default 300 s leaves room for the slowest default tools on a CPU (the first
        call of a local model loads it; Stable Diffusion takes minutes per image there) while
        a loop over slow tools still ends within minutes; ``max_tool_calls`` stops loops of
        fast ones long before.
    max_table_cells:
        Largest table (rows × columns, a Series counting one column) a tool may return to a
        program, in a container too: a larger one ends the run with a ``LimitExceededError``
        naming the table's size (in both isolations; the table never crosses into the child,
        only its shape, column names and dtypes do). Tables the caller passes in are the
        caller's own and are not limited. The default, a million cells, holds any table a
        notebook shows and a model reasons about; a tool that reads big files filters them first.
    """

    max_operations: int = 5_000_000
    timeout_s: float = 2.0
    max_call_depth: int = 100
    max_int_bits: int = 1_000_000
    max_sequence_length: int = 10_000_000
    max_print_chars: int = 100_000
    max_source_chars: int = 65_536
    max_nodes: int = 10_000
    max_nesting: int = 100
    memory_mb: int = 1024
    max_tool_calls: int = 100
    wall_timeout_s: float = 300.0
    max_table_cells: int = 1_000_000


@dataclass(frozen=True)
class Execution:
    """What one run produced.

    ``value`` is the value of the last top-level statement when it is an expression or an
    assignment (handles unwrapped to the real objects), else ``None``. ``prints`` is the
    captured output, ``operations`` the operation count, ``duration_s`` the interpreter time
    (tools excluded), ``tool_calls`` one ``(tool_name, duration_s)`` pair per call, in order.
    """

    value: object
    prints: str
    operations: int
    duration_s: float
    tool_calls: tuple


_HINTS = {
    "max_operations": "The program ran too many steps (an endless loop, or a loop over too much data).",
    "timeout_s": "The program ran too long (an endless loop, or too much work).",
    "max_call_depth": "Functions call each other too deeply (endless recursion?).",
    "max_int_bits": "The integer result would be enormous.",
    "max_sequence_length": "The string, bytes or list would be enormous.",
    "max_source_chars": "The program is too long.",
    "max_nodes": "The program is too long.",
    "max_nesting": "The program, or a value it builds (lists in lists...), is nested too deeply.",
    "memory_mb": "The program used too much memory.",
    "max_tool_calls": "The program called tools too many times (a loop over tool calls?).",
    "wall_timeout_s": "The run took too long, time inside tools included (slow tools, or too many calls).",
    "max_table_cells": "A tool returned a table too large for the program: filter rows or select columns first "
    "(in the tool, or with the table tools).",
}


def limit_error(limit: str, value: object, line: int | None = None) -> LimitExceededError:
    """A ``LimitExceededError`` naming the ``Limits`` field and how to raise it."""
    if line is None:
        line = current_line()
    why = _HINTS.get(limit, "")
    hint = f"{why} If the program is right, raise the limit: Limits({limit}=...)."
    return LimitExceededError(limit, value, line=line, hint=hint.strip())


# --- format specs ------------------------------------------------------------------------------

# [[fill]align][sign]["z"]["#"]["0"][width][grouping]["." precision][type]
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[_,]?(?:\.(\d*))?[a-zA-Z%]?", re.S)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsab%])?")
_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*\d")


def check_format_spec(spec: str, limits: Limits) -> None:
    """Refuse format specs whose width or precision would build an enormous string."""
    if len(spec) > 64:
        raise limit_error("max_sequence_length", f"format spec of {len(spec)} characters")
    match = _SPEC.fullmatch(spec)
    if match is None:
        return  # not the standard mini-language; the type's __format__ decides (bounded)
    for group in match.groups():
        if group and int(group) > limits.max_sequence_length:
            raise limit_error("max_sequence_length", f"format width or precision {group}")


def check_strftime(fmt: object, limits: Limits) -> None:
    """Refuse strftime formats with padding widths (``%10000000Y``) and huge formats."""
    if type(fmt) is str:
        if len(fmt) > 10_000:
            raise limit_error("max_sequence_length", f"strftime format of {len(fmt)} characters")
        if _STRFTIME_WIDTH.search(fmt):
            raise ValueError("strftime formats with a field width are not supported")


def check_percent(fmt: str | bytes, args: object, limits: Limits) -> None:
    """Refuse ``%`` formatting whose widths or precisions would build an enormous string."""
    text = fmt if type(fmt) is str else fmt.decode("latin-1")
    values = list(args) if type(args) is tuple else [args]
    position = 0
    for match in _PERCENT.finditer(text):
        width, precision, conv = match.groups()
        for part in (width, precision):
            if part == "*":
                amount = values[position] if position < len(values) else 0
                position += 1
                if type(amount) is int and abs(amount) > limits.max_sequence_length:
                    raise limit_error("max_sequence_length", f"%-format width {amount}")
            elif part and int(part) > limits.max_sequence_length:
                raise limit_error("max_sequence_length", f"%-format width {part}")
        if conv != "%":
            position += 1


def pow_bits(base: int, exp: int) -> int:
    """Upper bound of the bit length of ``base ** exp`` for ints (0 when it stays small)."""
    if exp <= 0 or -1 <= base <= 1:
        return 0
    return base.bit_length() * exp


# --- costs of big-integer work, in operations (about 100 ns of native time each) ------------------
# CPython stores ints in 30-bit digits; its division, gcd, isqrt and modular reduction are
# quadratic in the digits (about 1.5-3 ns per pair of digits), multiplication by a small int linear.

_SMALL_BITS = 2048  # below this every operation costs well under one interpreter step


def division_ops(a_bits: int, b_bits: int) -> int:
    """Operations of ``a // b`` / ``a % b`` / ``divmod``: quotient digits times divisor digits."""
    if a_bits < _SMALL_BITS or b_bits < _SMALL_BITS:
        return a_bits >> 12
    return ((a_bits - b_bits) // 30 + 1) * (b_bits // 30) >> 5


def square_ops(bits: int) -> int:
    """Operations of a quadratic one-operand algorithm (``isqrt``, ``gcd`` of two such numbers)."""
    if bits < _SMALL_BITS:
        return 0
    return (bits // 30) ** 2 >> 6


def modpow_ops(exp_bits: int, mod_bits: int, negative: bool) -> int:
    """Operations of ``pow(b, e, m)``: one modular multiplication (quadratic in ``m``'s digits)
    per bit of ``e``; a negative ``e`` adds a modular inverse (about 60 ns per digit pair)."""
    digits = mod_bits // 30 + 1
    ops = exp_bits * digits * digits >> 6
    if negative:
        ops += digits * digits
    return ops


def product_ops(a_bits: int, b_bits: int) -> int:
    """Operations of ``a * b``: linear in the larger operand times (a capped share of) the smaller
    (CPython switches to Karatsuba for big operands)."""
    big, small = (a_bits, b_bits) if a_bits >= b_bits else (b_bits, a_bits)
    return (big // 30) * min(small // 30 + 1, 256) >> 6


_QUADRATIC_CODECS = frozenset({"punycode", "idna"})


def check_codec(m, data: object, encoding: object) -> None:
    """Charge an encode/decode whose cost grows faster than its input before it runs:
    ``punycode`` (and ``idna``, which runs it per label) rescan the text once per distinct
    non-ASCII character, about 100 ns per pair of characters."""
    if type(encoding) is not str or len(encoding) > 64:
        return  # the native call raises its own TypeError / LookupError
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return
    if name in _QUADRATIC_CODECS and type(data) in (str, bytes):
        n = len(data)
        m.charge(2 * n * n)
