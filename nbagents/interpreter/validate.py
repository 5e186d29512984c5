"""Layer 1: parse-time validation, before anything runs.

The source is parsed with size limits, every node is checked against an allow-list, names and
attributes starting with ``_`` (except the throwaway name ``_``) and the frame/generator/code
attribute names are refused on the AST (so Unicode spellings are normalised first), tool names
cannot be rebound, only facade modules can be imported, and ``str.format`` is accepted only on
a constant format string whose fields are plain names or indices. A method (a ``def`` directly
in a class body) may define only the hooks that run inside a run (:data:`.classes.HONOURED`)
and carry one of ``@staticmethod``, ``@classmethod``, ``@property``; classes take no decorator but
``@dataclass`` (with constant options) and no keywords (no ``metaclass=``); ``getattr``/``hasattr``
only in a call with a string-literal name;
``super().__init__`` and the other honoured hooks are the only dunder attributes, on ``super()``
alone. No regex over source text.
"""

from __future__ import annotations

import ast

from ..errors import RefusedConstructError, SandboxRuntimeError
from .capabilities import BLOCKED_ATTRIBUTES
from .classes import DECORATORS, HONOURED
from .facades import FACADE_NAMES, PROCESS_ONLY
from .formatting import parse_format
from .limits import Limits, limit_error
from .records import OPTIONS
from .stdlib_extra import INSTEAD

__all__ = ["parse", "validate"]

_ALLOWED = frozenset(
    {
        ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.While,
        ast.If, ast.Break, ast.Continue, ast.Pass, ast.Return, ast.FunctionDef, ast.Import,
        ast.ImportFrom, ast.Try, ast.Raise, ast.Assert, ast.Delete, ast.ClassDef, ast.With,
        ast.withitem, ast.Global, ast.Nonlocal,
        ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set,
        ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
        ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript,
        ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice, ast.NamedExpr,
        ast.comprehension, ast.arguments, ast.arg, ast.keyword, ast.alias, ast.ExceptHandler,
    }
)  # fmt: skip

_REFUSED = {
    "AsyncFunctionDef": "async functions",
    "AsyncFor": "async for loops",
    "AsyncWith": "async with statements",
    "Await": "await",
    "Yield": "yield (generator functions)",
    "YieldFrom": "yield from (generator functions)",
    "Match": "match statements",
    "TryStar": "except* clauses",
    "TypeAlias": "type aliases",
}


def parse(code: object, limits: Limits) -> ast.Module:
    """Parse the program, refusing oversized or too deeply nested input cleanly."""
    if type(code) is not str:
        raise TypeError("the program must be a str")
    if len(code) > limits.max_source_chars:
        raise limit_error("max_source_chars", f"{len(code)} characters")
    try:
        return ast.parse(code, "<agent>", "exec")
    except SyntaxError as exc:
        error = _syntax_error(exc)
    except (RecursionError, MemoryError):
        error = limit_error("max_nesting", f"more than {limits.max_nesting} levels")
    except ValueError as exc:  # e.g. source with NUL bytes
        error = SandboxRuntimeError("SyntaxError", str(exc)[:300])
    raise error


def _syntax_error(exc: SyntaxError):
    message = str(exc.msg)[:300]
    if "too many nested" in message or "too complex" in message:
        return limit_error("max_nesting", message, exc.lineno)
    return SandboxRuntimeError("SyntaxError", message, line=exc.lineno)


class _Checker:
    def __init__(self, tools, limits: Limits, process: bool) -> None:
        self.tools = frozenset(tools)
        self.limits = limits
        self.process = process
        self.formats: set[int] = set()
        self.methods: set[int] = set()  # ids of the FunctionDef nodes directly in a class body
        self.supers: set[int] = set()  # ids of the super() calls directly in such a method
        self.lookups: set[int] = set()  # ids of the getattr/hasattr names called with a literal name

    def refuse(self, construct: str, node: ast.AST, hint: str | None = None):
        return RefusedConstructError(construct, line=getattr(node, "lineno", None), hint=hint)

    def run(self, tree: ast.Module) -> None:
        limit_nodes, limit_depth = self.limits.max_nodes, self.limits.max_nesting
        checks = _CHECKS
        count = 0
        stack = [(tree, 0)]
        pop, push = stack.pop, stack.append
        while stack:
            node, depth = pop()
            count += 1
            if count > limit_nodes:
                raise limit_error("max_nodes", f"more than {limit_nodes} nodes")
            if depth > limit_depth:
                raise limit_error("max_nesting", f"more than {limit_depth} levels", getattr(node, "lineno", None))
            t = type(node)
            if t not in _ALLOWED:
                name = _REFUSED.get(t.__name__, f"the construct {t.__name__}")
                raise self.refuse(name, node)
            check = checks.get(t)
            if check is not None:
                check(self, node)
            depth += 1
            for field in _child_fields(t):
                value = getattr(node, field)
                if type(value) is list:
                    for item in value:
                        if item is not None:
                            push((item, depth))
                elif value is not None:
                    push((value, depth))

    def name(self, name: str | None, node: ast.AST, binding: bool) -> None:
        if name is None:
            return
        if name[:1] == "_" and name != "_":
            raise self.refuse(f"the name {name!r}", node, "Names starting with '_' are reserved.")
        if binding and name in self.tools:
            raise self.refuse(f"rebinding the tool name {name!r}", node, "Tool names cannot be assigned; pick another variable name.")

    def check_Name(self, node: ast.Name) -> None:
        self.name(node.id, node, type(node.ctx) is not ast.Load)
        if node.id in _NAMED_LOOKUPS and id(node) not in self.lookups:
            raise self.refuse(
                f"{node.id} used other than in a call with a constant attribute name",
                node,
                f"Write {node.id}(obj, 'name'{', default' if node.id == 'getattr' else ''}) with the name as a string literal, or obj.name.",
            )

    def check_Global(self, node) -> None:
        for name in node.names:
            self.name(name, node, True)

    check_Nonlocal = check_Global

    def check_arg(self, node: ast.arg) -> None:
        self.name(node.arg, node, True)

    def check_keyword(self, node: ast.keyword) -> None:
        self.name(node.arg, node, False)

    def check_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.name(node.name, node, True)

    def check_FunctionDef(self, node: ast.FunctionDef) -> None:
        if getattr(node, "type_params", None):
            raise self.refuse("type parameters", node)
        if id(node) in self.methods:
            return  # name and decorator checked with the class
        if node.decorator_list:
            raise self.refuse("decorators", node)
        self.name(node.name, node, True)

    def check_ClassDef(self, node: ast.ClassDef) -> None:
        if node.decorator_list and not (len(node.decorator_list) == 1 and _is_dataclass(node.decorator_list[0])):
            raise self.refuse(
                "this class decorator", node, "A class may have one decorator: @dataclass or @dataclass(frozen=True, order=True...)."
            )
        if node.keywords:
            raise self.refuse("class keyword arguments (metaclass=...)", node)
        if getattr(node, "type_params", None):
            raise self.refuse("type parameters", node)
        self.name(node.name, node, True)
        for base in node.bases:
            if type(base) is not ast.Name:
                raise self.refuse("a class base that is not a class name", base, "A class can derive only from classes the program defines.")
        for stmt in node.body:
            if type(stmt) is ast.FunctionDef:
                self.method(stmt)

    def method(self, node: ast.FunctionDef) -> None:
        name = node.name
        if name[:2] == "__" and name[-2:] == "__":
            if name not in HONOURED:
                raise self.refuse(
                    f"defining {name} in a class",
                    node,
                    f"Classes may define {', '.join(sorted(HONOURED))} and ordinary methods; "
                    f"{name} is a hook the interpreter does not run (write a plain method instead).",
                )
        else:
            self.name(name, node, False)
        decorators = node.decorator_list
        if decorators and not (
            len(decorators) == 1
            and type(decorators[0]) is ast.Name
            and decorators[0].id in DECORATORS
            and name not in HONOURED
        ):
            raise self.refuse(
                "this method decorator",
                node,
                "A method may have one decorator: @staticmethod, @classmethod or @property (a getter).",
            )
        self.methods.add(id(node))
        if node.args.posonlyargs or node.args.args:  # super() needs the method's first argument
            self.supers.update(id(n) for n in _direct_calls(node.body) if _is_super(n))

    def check_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr[:1] == "_" and not (attr in HONOURED and _is_super(node.value) and type(node.ctx) is ast.Load):
            raise self.refuse(f"attribute {attr!r}", node, "Attributes starting with '_' are never available.")
        if attr in BLOCKED_ATTRIBUTES:
            raise self.refuse(f"the attribute {attr!r}", node)
        if attr == "format" and id(node) not in self.formats:
            raise self.refuse(
                "str.format on a format string that is not a constant with plain fields",
                node,
                "Use an f-string, or call .format directly on a string literal with fields like {} or {name}.",
            )

    def check_Call(self, node: ast.Call) -> None:
        func = node.func
        if type(func) is ast.Name and func.id in _NAMED_LOOKUPS:
            self.named_lookup(node)
        if type(func) is ast.Name and func.id == "super" and id(node) not in self.supers:
            raise self.refuse(
                "super() with arguments" if node.args or node.keywords else "super() outside a method",
                node,
                "Call super() with no arguments, directly inside a method of a class (e.g. super().__init__(...)).",
            )
        if (
            type(func) is ast.Attribute
            and func.attr == "format"
            and type(func.value) is ast.Constant
            and type(func.value.value) is str
            and parse_format(func.value.value) is not None
        ):
            self.formats.add(id(func))

    def named_lookup(self, node: ast.Call) -> None:
        """``getattr(obj, 'name'[, default])``/``hasattr(obj, 'name')``: the name must be a
        string literal that passes the attribute checks (never computed)."""
        func, args = node.func, node.args
        most = 3 if func.id == "getattr" else 2
        name = args[1] if len(args) >= 2 else None
        if node.keywords or not 2 <= len(args) <= most or type(name) is not ast.Constant or type(name.value) is not str:
            raise self.refuse(
                f"{func.id} with a computed attribute name",
                node,
                f"Write {func.id}(obj, 'name'{', default' if func.id == 'getattr' else ''}) with the name as a string literal.",
            )
        attr = name.value
        if attr[:1] == "_" or attr in BLOCKED_ATTRIBUTES or attr in ("format", "format_map"):
            raise self.refuse(f"attribute {attr!r}", node, "Attributes starting with '_' are never available.")
        self.lookups.add(id(func))

    def check_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.module(alias.name, node)
            self.name(alias.asname or alias.name, node, True)

    def check_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            raise self.refuse("relative imports", node)
        self.module(node.module or "", node)
        for alias in node.names:
            if alias.name == "*":
                raise self.refuse("star imports (from x import *)", node)
            self.name(alias.name, node, False)
            self.name(alias.asname or alias.name, node, True)

    def module(self, name: str, node: ast.AST) -> None:
        allowed = FACADE_NAMES if self.process else FACADE_NAMES - PROCESS_ONLY
        if name not in allowed:
            hint = f"Modules available: {', '.join(sorted(allowed))}."
            if name in PROCESS_ONLY:
                hint = f"{name!r} is only available with Interpreter(isolation='process'). " + hint
            elif name in INSTEAD:
                hint = f"Instead of {name!r}, use {INSTEAD[name]}. " + hint
            raise self.refuse(f"import of {name!r}", node, hint)


def _direct_calls(body: list):
    """The calls in a function body, not in the functions, lambdas, classes or comprehensions
    nested in it."""
    stack = list(body)
    while stack:
        n = stack.pop()
        t = type(n)
        if t in (ast.FunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp):
            continue
        if t is ast.Call:
            yield n
        stack.extend(ast.iter_child_nodes(n))


def _is_dataclass(node: ast.expr) -> bool:
    """``dataclass``/``dataclasses.dataclass``, maybe called with constant keyword options."""
    if type(node) is ast.Call:
        if node.args or not all(k.arg in OPTIONS and type(k.value) is ast.Constant for k in node.keywords):
            return False
        node = node.func
    if type(node) is ast.Attribute:
        return node.attr == "dataclass" and type(node.value) is ast.Name
    return type(node) is ast.Name and node.id == "dataclass"


def _is_super(node: ast.expr) -> bool:
    """``super()`` with no arguments."""
    return (
        type(node) is ast.Call
        and type(node.func) is ast.Name
        and node.func.id == "super"
        and not node.args
        and not node.keywords
    )


_NAMED_LOOKUPS = frozenset({"getattr", "hasattr"})

_SKIPPED_FIELDS = frozenset(
    "ctx op ops id attr arg asname module level kind type_comment conversion is_async name names simple".split()
)
_FIELDS: dict = {}


def _child_fields(t: type) -> tuple:
    """The fields of a node type that can hold child nodes to check."""
    fields = _FIELDS.get(t)
    if fields is None:
        fields = tuple(f for f in t._fields if f not in _SKIPPED_FIELDS and not (t is ast.Constant and f == "value"))
        _FIELDS[t] = fields
    return fields


_CHECKS = {
    getattr(ast, name[len("check_"):]): method
    for name, method in vars(_Checker).items()
    if name.startswith("check_") and hasattr(ast, name[len("check_"):])
}


def validate(tree: ast.Module, tools=(), limits: Limits | None = None, *, process: bool = False) -> None:
    """Check a parsed program against the allow-lists (raises on the first violation)."""
    _Checker(tools, limits or Limits(), process).run(tree)
    try:
        compile(tree, "<agent>", "exec", dont_inherit=True)  # CPython's own compile-time checks
    except SyntaxError as exc:
        error = _syntax_error(exc)
    except (RecursionError, MemoryError):
        error = limit_error("max_nesting", "the program is nested too deeply")
    else:
        return
    raise error
