"""Compile-time scopes (which names are local where), operation costs, function templates.

Python's rules: a name bound anywhere in a function is local to it, unless the function
declares it ``global`` (it is then read from and stored into the globals, the run's state) or
``nonlocal`` (read from and stored into the enclosing function's frame); comprehensions have their own scope for their targets, while a walrus inside one binds in
the enclosing function; a class body is a scope of its own ('classbody') that its methods do not
see; the methods' parent is a 'classcell' scope holding only ``__class__`` (what ``super()``
reads); everything else resolves to the globals (the run's state), then the tools, then the
builtins.
"""

from __future__ import annotations

import ast
import sys
import weakref

__all__ = ["Scope", "declarations", "function_scope", "comprehension_scope", "cost", "FunctionTemplate"]

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
PY311 = sys.version_info >= (3, 11)


def unbound_message(name: str) -> str:
    if PY311:
        return f"cannot access local variable '{name}' where it is not associated with a value"
    return f"local variable '{name}' referenced before assignment"


def free_message(name: str) -> str:
    if PY311:
        return f"cannot access free variable '{name}' where it is not associated with a value in enclosing scope"
    return f"free variable '{name}' referenced before assignment in enclosing scope"


class Scope:
    """A compile-time scope: ``kind`` is 'module', 'function', 'comprehension', 'classbody' or
    'classcell'; ``first`` is a method's first parameter (what ``super()`` binds to)."""

    __slots__ = ("kind", "locals", "parent", "first", "globals", "nonlocals")

    def __init__(
        self, kind: str, parent: Scope | None, names=(), first: str | None = None, globals_=(), nonlocals=()
    ) -> None:
        self.kind = kind
        self.parent = parent
        self.globals = frozenset(globals_)
        self.nonlocals = frozenset(nonlocals)
        self.locals = frozenset(names) - self.globals - self.nonlocals
        self.first = first

    def resolve(self, name: str) -> int | None:
        """Frames up to the scope holding ``name`` locally, or None for a global."""
        depth = 0
        scope = self
        while scope.kind != "module":
            if name in scope.locals:
                return depth
            if name in scope.globals:
                return None
            scope = scope.parent
            depth += 1
        return None

    def declares(self, name: str) -> bool:
        """Whether ``name`` is declared ``global`` or ``nonlocal`` here (stores go elsewhere)."""
        return name in self.globals or name in self.nonlocals

    def binding_scope(self) -> int:
        """Frames up to the nearest non-comprehension scope (where a walrus binds)."""
        depth = 0
        scope = self
        while scope.kind == "comprehension":
            scope = scope.parent
            depth += 1
        return depth


def _arg_names(args: ast.arguments) -> list[str]:
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def _walrus_targets(node: ast.AST, out: set) -> None:
    stack = [node]
    while stack:
        n = stack.pop()
        if type(n) is ast.NamedExpr:
            out.add(n.target.id)
        if type(n) in (ast.Lambda, ast.FunctionDef):
            continue
        stack.extend(ast.iter_child_nodes(n))


def bound_names(body: list) -> set:
    """Names bound directly in a scope whose statements (or expression) are ``body``."""
    names: set[str] = set()
    stack = list(body)
    while stack:
        n = stack.pop()
        t = type(n)
        if t is ast.Name:
            if type(n.ctx) is not ast.Load:
                names.add(n.id)
            continue
        if t is ast.FunctionDef or t is ast.Lambda:
            if t is ast.FunctionDef:
                names.add(n.name)
            stack.extend(n.args.defaults)
            stack.extend(d for d in n.args.kw_defaults if d is not None)
            continue
        if t is ast.ClassDef:
            names.add(n.name)
            stack.extend(n.bases)
            continue
        if t in _COMPREHENSIONS:
            stack.append(n.generators[0].iter)
            _walrus_targets(n, names)
            continue
        if t is ast.NamedExpr:
            names.add(n.target.id)
        elif t is ast.Import or t is ast.ImportFrom:
            for alias in n.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif t is ast.ExceptHandler and n.name:
            names.add(n.name)
        stack.extend(ast.iter_child_nodes(n))
    return names


def declarations(body: list) -> tuple[set, set]:
    """The names a scope whose statements are ``body`` declares ``global`` and ``nonlocal``
    (not those of the functions and classes nested in it)."""
    globals_: set[str] = set()
    nonlocals: set[str] = set()
    stack = list(body)
    while stack:
        n = stack.pop()
        t = type(n)
        if t is ast.Global:
            globals_.update(n.names)
        elif t is ast.Nonlocal:
            nonlocals.update(n.names)
        elif t is not ast.FunctionDef and t is not ast.ClassDef and isinstance(n, (ast.stmt, ast.excepthandler)):
            stack.extend(c for c in ast.iter_child_nodes(n) if isinstance(c, (ast.stmt, ast.excepthandler)))
    return globals_, nonlocals


def function_scope(node, parent: Scope) -> Scope:
    body = [node.body] if type(node) is ast.Lambda else node.body
    first = None
    if parent.kind == "classcell":
        positional = node.args.posonlyargs + node.args.args
        first = positional[0].arg if positional else None
    globals_, nonlocals = declarations(body) if type(node) is not ast.Lambda else ((), ())
    return Scope("function", parent, set(_arg_names(node.args)) | bound_names(body), first, globals_, nonlocals)


def comprehension_scope(node, parent: Scope) -> Scope:
    names: set[str] = set()
    for gen in node.generators:
        names |= bound_names([gen.target])
    return Scope("comprehension", parent, names)


_LEAVES = (ast.Name, ast.Constant)


def _children(node) -> list:
    t = type(node)
    if t is ast.BinOp:
        return [node.left, node.right]
    if t is ast.Call:
        return [node.func, *node.args, *node.keywords]
    if t is ast.Attribute:
        return [node.value]
    if t is ast.Compare:
        return [node.left, *node.comparators]
    if t is ast.Subscript:
        return [node.value, node.slice]
    if t is ast.Lambda:
        return node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    if t in _COMPREHENSIONS:
        return [node.generators[0].iter]
    if t is ast.BoolOp:
        return [node.values[0]]
    if t is ast.IfExp:
        return [node.test]
    return list(ast.iter_child_nodes(node))


def cost(node: ast.AST | None) -> int:
    """Nodes evaluated unconditionally, exactly once, when ``node`` is evaluated (the parts
    that run conditionally or repeatedly charge themselves). Cached on the node."""
    if node is None:
        return 0
    t = type(node)
    if t in _LEAVES:
        return 1
    cached = node.__dict__.get("nb_cost")
    if cached is not None:
        return cached
    if t is ast.keyword:
        return cost(node.value)
    if not isinstance(node, ast.expr):
        return 0
    n = 1
    for child in _children(node):
        n += cost(child)
    node.nb_cost = n
    return n


class FunctionTemplate:
    """What a ``def``/``lambda`` compiles to, independent of any machine; ``code_for`` gives
    the callable body for a machine (compiled once per machine, e.g. when a function kept
    in the state is called by another interpreter)."""

    def __init__(self, node, scope: Scope, name: str, compiler_factory) -> None:
        self.node = node
        self.scope = scope
        self.name = name
        self._factory = compiler_factory
        self._codes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def code_for(self, fn, m):
        code = self._codes.get(m)
        if code is None:
            code = self._codes[m] = self._factory(m, self.scope).function_code(self)
        return code

    def remember(self, m, code) -> None:
        self._codes[m] = code
