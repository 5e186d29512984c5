"""The values sandbox code can hold (besides plain data) and the type sets that classify them.

Sandbox values are plain data (exact builtin types), opaque :class:`Handle` objects wrapping
everything else that came from outside, and the interpreter's own objects (sandbox functions,
builtins, tools, facade modules, iterators), none of which exposes an attribute except through
the allow-list in :mod:`.capabilities`.
"""

from __future__ import annotations

import collections
import datetime
import itertools
import weakref

from ..errors import InterpreterError
from .active import active_machine
from .tablefacts import TableFacts, table_facts, table_refusal

__all__ = [
    "Handle",
    "HandleRegistry",
    "ToolRef",
    "NativeFunction",
    "Builtin",
    "TypeValue",
    "MethodRef",
    "Facade",
    "ChargedIter",
    "SandboxFunction",
    "SandboxClass",
    "Instance",
    "type_name",
    "host_value",
    "value_kind",
    "elements",
    "flat_size",
    "measure",
    "copy_plain",
    "refresh_tables",
]

NoneType = type(None)
SCALARS = frozenset({NoneType, bool, int, float, complex, str, bytes})
CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
DATES = frozenset(
    {datetime.date, datetime.datetime, datetime.time, datetime.timedelta, datetime.timezone}
)
COLLECTIONS = frozenset(
    {collections.Counter, collections.OrderedDict, collections.defaultdict, collections.deque}
)
VIEWS = frozenset({type({}.keys()), type({}.values()), type({}.items())})


def _machine():
    m = active_machine()
    if m is None:
        raise InterpreterError(
            "Sandbox objects can only be used inside Interpreter.run.",
            hint="Call the interpreter again with this value in its state.",
        )
    return m


# --- handles --------------------------------------------------------------------------------


class Handle:
    """An opaque reference to an object from outside the sandbox (a tool result or an input).

    Sandbox code can store it, pass it to tools, compare it by identity and return it; it can
    read nothing from it. Host code gets the object back with :attr:`value`.

    A handle to a table (:mod:`.tablefacts`) also has :attr:`facts`: sandbox code may read
    those (``t.shape``, ``t.columns``..., ``len(t)``); every operator, subscript, iteration,
    ``in`` or truth test on it raises the table refusal (``RefusedConstructError``), never
    reaching the table. Other handles behave as plain objects there (``TypeError``).
    """

    __slots__ = ("_obj", "_number", "_kind", "_facts", "__weakref__")

    def __init__(self, obj: object, number: int, kind: str, facts: TableFacts | None = None) -> None:
        self._obj = obj
        self._number = number
        self._kind = kind
        self._facts = facts

    @property
    def value(self) -> object:
        """The wrapped object (host side only; sandbox code cannot read attributes)."""
        return self._obj

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def number(self) -> int:
        return self._number

    @property
    def facts(self) -> TableFacts | None:
        """The table's facts (``None``: not a table), as of the last :meth:`refresh`."""
        return self._facts

    def refresh(self, facts: TableFacts | None = None) -> None:
        """Read a table's facts again from the table (in the kernel: after a tool that was given
        it returns, and when a run starts with it), or take ``facts`` (what the kernel sent the
        isolated child). Nothing for other handles."""
        if self._facts is None:
            return
        if facts is None and self._obj is not None:
            facts = table_facts(self._obj)
        if facts is not None:
            self._facts = facts

    def __repr__(self) -> str:
        if self._facts is not None:
            return f"<{self._kind} handle #{self._number}: {self._facts.shown()}>"
        return f"<{self._kind} handle #{self._number}>"

    __str__ = __repr__
    __hash__ = object.__hash__

    # --- what native code may try on a handle: refused for tables, TypeError for the rest ----

    def refuse(self, what: str) -> None:
        """Raise the table refusal of ``what`` when this is a table (else nothing)."""
        if self._facts is not None:
            raise table_refusal(what, self.facts)

    def __len__(self) -> int:
        if self._facts is None:
            raise TypeError(f"object of type '{self._kind} handle' has no len()")
        return self.facts.rows

    def __bool__(self) -> bool:
        if active_machine() is not None:
            self.refuse("the truth value of")
        return True

    def __eq__(self, other):
        if active_machine() is not None:
            self.refuse("comparing (==)")
        return True if self is other else NotImplemented

    def __ne__(self, other):
        if active_machine() is not None:
            self.refuse("comparing (!=)")
        return False if self is other else NotImplemented

    def __iter__(self):
        self.refuse("iterating over")
        raise TypeError(f"'{self._kind} handle' object is not iterable")

    def __contains__(self, item) -> bool:
        self.refuse("'in' on")
        raise TypeError(f"argument of type '{self._kind} handle' is not iterable")

    def __getitem__(self, key):
        self.refuse("subscripting (t[...])")
        raise TypeError(f"'{self._kind} handle' object is not subscriptable")

    def __setitem__(self, key, value):
        self.refuse("assigning to t[...] of")
        raise TypeError(f"'{self._kind} handle' object does not support item assignment")

    def __delitem__(self, key):
        self.refuse("deleting t[...] of")
        raise TypeError(f"'{self._kind} handle' object does not support item deletion")


def _refused_operator(symbol: str, unary: bool = False):
    def method(self, *other):
        self.refuse(f"the operator {symbol} on")
        if unary:
            raise TypeError(f"bad operand type for unary {symbol}: '{self._kind} handle'")
        return NotImplemented

    return method


for _name, _symbol in (
    ("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("floordiv", "//"), ("mod", "%"),
    ("pow", "**"), ("matmul", "@"), ("and", "&"), ("or", "|"), ("xor", "^"), ("lshift", "<<"),
    ("rshift", ">>"), ("divmod", "divmod"),
):
    setattr(Handle, f"__{_name}__", _refused_operator(_symbol))
    setattr(Handle, f"__r{_name}__", _refused_operator(_symbol))
    if _name != "divmod":
        setattr(Handle, f"__i{_name}__", _refused_operator(_symbol + "="))
for _name, _symbol in (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")):
    setattr(Handle, f"__{_name}__", _refused_operator(_symbol))
for _name, _symbol in (("neg", "-"), ("pos", "+"), ("invert", "~"), ("abs", "abs()")):
    setattr(Handle, f"__{_name}__", _refused_operator(_symbol, unary=True))
del _name, _symbol


def host_value(value: object) -> object:
    """The host object a value stands for: a :class:`Handle`'s object, else the value itself
    (the interpreter keeps tool results and inputs as handles in its variables)."""
    return value.value if isinstance(value, Handle) else value


def value_kind(value: object) -> str:
    """The kind name (``str``, ``image``, ``audio``..., ``any`` when none fits) of a value, seen
    through a handle; a handle from the other side of a process boundary knows its class only."""
    from ..kinds import kind_of as kind_of_value
    from ..kinds import kind_of_annotation

    if isinstance(value, Handle) and value.value is None:
        return kind_of_annotation(value.kind).name
    kind = kind_of_value(host_value(value))
    return kind.name if kind is not None else "any"


def kind_of(obj: object) -> str:
    name = type(obj).__name__
    return "".join(ch for ch in name.lower() if ch.isalnum())[:40] or "object"


class HandleRegistry:
    """Creates handles; the same object gets the same handle while that handle lives."""

    def __init__(self) -> None:
        self._by_id: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.by_number: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._count = 0

    def wrap(self, obj: object) -> Handle:
        handle = self._by_id.get(id(obj))
        if handle is not None and handle._obj is obj:
            handle.refresh()
            return handle
        self._count += 1
        handle = Handle(obj, self._count, kind_of(obj), table_facts(obj))
        self._by_id[id(obj)] = handle
        self.by_number[self._count] = handle
        return handle


# --- callables and namespaces ----------------------------------------------------------------


class ToolRef:
    """A tool as sandbox code sees it: callable, nothing else."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn) -> None:
        self.name = name
        self.fn = fn

    def __call__(self, *args, **kwargs):
        m = _machine()
        return m.tool_caller(m, self, args, kwargs)

    def __repr__(self) -> str:
        return f"<tool {self.name}>"


class NativeFunction:
    """An allow-listed native function that needs no pre-check (``len``, ``math.sqrt``)."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn) -> None:
        self.name = name
        self.fn = fn

    def __call__(self, *args, **kwargs):
        _machine()
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class Builtin:
    """A function implemented by the interpreter; ``fn(machine, *args, **kwargs)``."""

    __slots__ = ("name", "fn", "attrs")

    def __init__(self, name: str, fn, attrs: dict | None = None) -> None:
        self.name = name
        self.fn = fn
        self.attrs = attrs or {}

    def __call__(self, *args, **kwargs):
        return self.fn(_machine(), *args, **kwargs)

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class TypeValue(Builtin):
    """An allow-listed class: callable (a checked constructor), usable in ``isinstance`` and
    ``except``; its attributes come from an explicit table."""

    __slots__ = ("type",)

    def __init__(self, name: str, fn, type_: type, attrs: dict | None = None) -> None:
        super().__init__(name, fn, attrs)
        self.type = type_

    def __repr__(self) -> str:
        return f"<class '{self.name}'>"


class MethodRef:
    """A method read as a value (``f = xs.append``), resolved through the allow-list.

    ``invoke(machine, obj, kind, impl, args, kwargs)`` calls it: the capability model's
    ``call_entry``, passed in by :mod:`.capabilities` (which builds every method value).
    """

    __slots__ = ("obj", "name", "kind", "impl", "invoke")

    def __init__(self, obj, name: str, kind: int, impl, invoke) -> None:
        self.obj = obj
        self.name = name
        self.kind = kind
        self.impl = impl
        self.invoke = invoke

    def __call__(self, *args, **kwargs):
        return self.invoke(_machine(), self.obj, self.kind, self.impl, args, kwargs)

    def __repr__(self) -> str:
        return f"<built-in method {self.name} of {type_name(self.obj)} object>"


class Facade:
    """A curated module: a read-only namespace of listed members, never the real module."""

    __slots__ = ("name", "members")

    def __init__(self, name: str, members: dict) -> None:
        self.name = name
        self.members = members

    def __repr__(self) -> str:
        return f"<module '{self.name}'>"


class ChargedIter:
    """Every iterator sandbox code can hold: one operation per element, deadline checked."""

    __slots__ = ("it", "kind", "m")

    def __init__(self, m, it, kind: str) -> None:
        self.m = m
        self.it = it
        self.kind = kind

    def __iter__(self):
        return self

    def __next__(self):
        m = self.m
        if not m.running:
            m = self.m = _machine()
        m.ops += 1
        if m.ops > m.next_check:
            m.checkpoint()
        return next(self.it)

    def __repr__(self) -> str:
        return f"<{self.kind} object>"


class SandboxFunction:
    """A function defined by sandbox code (``def`` or ``lambda``)."""

    __slots__ = ("name", "template", "frame", "defaults", "kwdefaults", "m", "code", "__weakref__")

    def __init__(self, name, template, frame, defaults, kwdefaults, m, code) -> None:
        self.name = name
        self.template = template
        self.frame = frame
        self.defaults = defaults
        self.kwdefaults = kwdefaults
        self.m = m
        self.code = code

    def __call__(self, *args, **kwargs):
        m = _machine()
        code = self.code if self.m is m else self.template.code_for(self, m)
        return code(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<function {self.name}>"


class SandboxClass:
    """A class defined by sandbox code: the interpreter's own record, never a Python class.

    ``bases`` are sandbox classes only, ``mro`` starts with the class itself, ``attrs`` is the
    class namespace (sandbox functions, method wrappers, plain values). Calling it makes an
    :class:`Instance` through ``new(machine, cls, args, kwargs)``, the class model's
    constructor; ``hook(obj, name, args, default)`` runs a hook the program defined, or gives
    ``default`` when it defined none or no run is going on in this thread (both passed in by
    :mod:`.classes`, which builds every class). ``error`` is the builtin exception class an
    exception class derives from (``None`` for other classes). Copying gives the class itself,
    as for Python's classes.
    """

    __slots__ = ("name", "bases", "mro", "attrs", "new", "hook", "error", "__weakref__")

    def __init__(self, name: str, bases: tuple, attrs: dict, new, hook, error=None) -> None:
        self.name = name
        self.bases = bases
        self.mro = (self,)
        self.attrs = attrs
        self.new = new
        self.hook = hook
        self.error = error

    def __call__(self, *args, **kwargs):
        return self.new(_machine(), self, args, kwargs)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"<class '{self.name}'>"


_NO_HOOK = object()


class Instance:
    """An object made from a :class:`SandboxClass`: its class and its attribute dict.

    Its repr names the class only and its hash is its identity. Comparisons, ``len``,
    truth, iteration, ``in`` and ``[]`` run the hooks the program defined (``__eq__``,
    ``__lt__``, ``__len__``...) only while a run is going on in this thread; otherwise (the
    host: display, comparisons in the notebook) they behave as for a plain ``object``.
    """

    __slots__ = ("cls", "attrs", "__weakref__")

    def __init__(self, cls: SandboxClass) -> None:
        self.cls = cls
        self.attrs: dict = {}

    def __repr__(self) -> str:
        return f"<{self.cls.name} object>"

    def __hash__(self):
        """Its identity, or (a frozen dataclass, during a run) the hash of its fields."""
        value = self.cls.hook(self, "__hash__", (), None)
        return object.__hash__(self) if value is None else value

    def __eq__(self, other):
        return self.cls.hook(self, "__eq__", (other,), NotImplemented)

    def __lt__(self, other):
        return self.cls.hook(self, "__lt__", (other,), NotImplemented)

    def __le__(self, other):
        return self.cls.hook(self, "__le__", (other,), NotImplemented)

    def __gt__(self, other):
        return self.cls.hook(self, "__gt__", (other,), NotImplemented)

    def __ge__(self, other):
        return self.cls.hook(self, "__ge__", (other,), NotImplemented)

    def __bool__(self):
        result = self.cls.hook(self, "__bool__", (), _NO_HOOK)
        if result is _NO_HOOK:
            length = self.cls.hook(self, "__len__", (), _NO_HOOK)
            return True if length is _NO_HOOK else length != 0
        return result

    def __len__(self):
        result = self.cls.hook(self, "__len__", (), _NO_HOOK)
        if result is _NO_HOOK:
            raise TypeError(f"object of type '{self.cls.name}' has no len()")
        return result

    def __iter__(self):
        result = self.cls.hook(self, "__iter__", (), _NO_HOOK)
        if result is _NO_HOOK:
            raise TypeError(f"'{self.cls.name}' object is not iterable")
        return result

    def __contains__(self, item):
        result = self.cls.hook(self, "__contains__", (item,), _NO_HOOK)
        if result is not _NO_HOOK:
            return bool(result)
        items = self.cls.hook(self, "__iter__", (), _NO_HOOK)
        if items is _NO_HOOK:
            raise TypeError(f"argument of type '{self.cls.name}' is not iterable")
        return any(x is item or x == item for x in iter(items))

    def __getitem__(self, key):
        result = self.cls.hook(self, "__getitem__", (key,), _NO_HOOK)
        if result is _NO_HOOK:
            raise TypeError(f"'{self.cls.name}' object is not subscriptable")
        return result


SANDBOX_OBJECTS = frozenset(
    {Handle, ToolRef, NativeFunction, Builtin, TypeValue, MethodRef, Facade, ChargedIter}
    | {SandboxFunction, SandboxClass, Instance, range, slice}
)
SANDBOX_CALLABLES = frozenset(
    {ToolRef, NativeFunction, Builtin, TypeValue, MethodRef, SandboxFunction, SandboxClass}
)


def type_name(obj: object) -> str:
    """The type name sandbox code may see in messages."""
    t = type(obj)
    if t is Handle:
        return f"{obj._kind} handle"
    if t is SandboxFunction:
        return "function"
    if t is ToolRef:
        return "tool"
    if t in (NativeFunction, Builtin):
        return "builtin_function_or_method"
    if t is TypeValue or t is SandboxClass:
        return "type"
    if t is Instance:
        return obj.cls.name
    if t is ChargedIter:
        return obj.kind
    if t is Facade:
        return "module"
    return t.__name__




# --- walking values without recursion ---------------------------------------------------------

# Every type the interpreter's conversions walk into, and how to list its elements without
# calling a method a subclass may override (dict subclasses: Counter, OrderedDict, defaultdict).
_ELEMENTS = (
    (dict, lambda d: itertools.chain.from_iterable(dict.items(d))),
    (list, list.__iter__),
    (tuple, tuple.__iter__),
    (set, set.__iter__),
    (frozenset, frozenset.__iter__),
    (collections.deque, collections.deque.__iter__),
)
_EXACT_ELEMENTS = {
    dict: _ELEMENTS[0][1], list: list.__iter__, tuple: tuple.__iter__, set: set.__iter__,
    frozenset: frozenset.__iter__,
}


def elements(obj: object):
    """An iterator over the elements (keys and values of a mapping) of a container the
    conversions walk into, else ``None`` (scalars, handles, anything opaque)."""
    t = type(obj)
    each = _EXACT_ELEMENTS.get(t)
    if each is not None:
        return each(obj)
    if t in SCALARS:
        return None
    mro = t.__mro__  # the real type, never the object's own __class__
    for base, each in _ELEMENTS:
        if base in mro:
            return each(obj)
    return None


def flat_size(obj: object) -> int | None:
    """``len + 1`` (a mapping's keys and values counted) of an exact list/tuple/dict/set that
    holds only scalars, else ``None``."""
    t = type(obj)
    if t is dict:
        if any(type(v) not in SCALARS for v in dict.values(obj)) or any(type(k) not in SCALARS for k in obj):
            return None
        return 2 * len(obj) + 1
    if t is list or t is tuple or t is set or t is frozenset:
        if any(type(v) not in SCALARS for v in obj):
            return None
        return len(obj) + 1
    return None


def measure(value: object, *, what: str, max_depth: int, max_size: int | None = None) -> None:
    """Refuse a value nested more than ``max_depth`` containers deep, or (with ``max_size``)
    with more than ``max_size`` elements counted as a printed or encoded copy would count
    them (a shared sub-list once per appearance), before a recursive walk or a native
    ``repr``/JSON encoding sees it. Iterative, linear in the distinct containers; a cycle
    stops its own path. Raises ``LimitExceededError`` naming ``max_nesting`` (or
    ``max_sequence_length``), with ``what`` (``"the result"``) in its message."""
    from .limits import limit_error

    items = elements(value)
    if items is None:
        return

    def too_big(size: int) -> None:
        if max_size is not None and size > max_size:
            raise limit_error("max_sequence_length", f"{what} would have more than {max_size} elements")

    flat = flat_size(value)
    if flat is not None:  # the common case: a list or dict of scalars
        too_big(flat)
        return
    done: dict[int, tuple[int, int]] = {}  # id -> (height, expanded size)
    keep = [value]  # the ids in ``done`` and ``active`` stay valid while this runs
    active = {id(value)}
    stack = [[value, items, 0, 1]]  # container, its elements, tallest child, size

    while stack:
        top = stack[-1]
        for child in top[1]:
            if type(child) in SCALARS:
                top[3] += 1
                continue
            key = id(child)
            seen = done.get(key)
            if seen is None:
                if key in active:
                    top[3] += 1  # a cycle: not walked again
                    continue
                flat = flat_size(child)
                if flat is not None:  # only scalars inside: no need to walk it as a node
                    if len(stack) >= max_depth:
                        raise limit_error("max_nesting", f"{what} is nested more than {max_depth} deep")
                    top[2] = max(top[2], 1)
                    top[3] += flat
                    continue
                inner = elements(child)
                if inner is None:
                    top[3] += 1
                    if max_size is not None and top[3] > max_size:
                        too_big(top[3])
                    continue
                if len(stack) >= max_depth:
                    raise limit_error("max_nesting", f"{what} is nested more than {max_depth} deep")
                keep.append(child)
                active.add(key)
                stack.append([child, inner, 0, 1])
                break
            if len(stack) + seen[0] > max_depth:
                raise limit_error("max_nesting", f"{what} is nested more than {max_depth} deep")
            top[2] = max(top[2], seen[0])
            top[3] += seen[1]
            too_big(top[3])
        else:
            stack.pop()
            active.discard(id(top[0]))
            height, size = top[2] + 1, top[3]
            done[id(top[0])] = (height, size)
            too_big(size)
            if stack:
                parent = stack[-1]
                parent[2] = max(parent[2], height)
                parent[3] += size
                too_big(parent[3])


def refresh_tables(values) -> None:
    """:meth:`Handle.refresh` every table handle in ``values`` (an iterable of sandbox values,
    containers walked, each once): the tables a tool was given, which it may have changed."""
    stack = list(values)
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        t = type(obj)
        if t is Handle:
            obj.refresh()
        elif t not in SCALARS and id(obj) not in seen and flat_size(obj) is None:
            items = elements(obj)
            if items is not None:
                seen.add(id(obj))
                stack.extend(items)


def _shell(obj: object):
    t = type(obj)
    if t is collections.deque:
        return collections.deque(maxlen=obj.maxlen)
    if t is collections.defaultdict:
        return collections.defaultdict(obj.default_factory)
    return t()


_MUTABLE = frozenset({list, dict, set, collections.deque} | COLLECTIONS)
_COPIED = CONTAINERS | COLLECTIONS


def _flat_copy(obj: object):
    """A copy of an exact list/dict/set holding only scalars (a tuple or frozenset of scalars
    is itself: nothing in it can change), else ``None``."""
    if flat_size(obj) is None:
        return None
    t = type(obj)
    return obj if t is tuple or t is frozenset else t.copy(obj)


def copy_plain(value: object, memo: dict, *, what: str, max_depth: int) -> object:
    """A deep copy of the plain containers in ``value`` (exact ``list``/``dict``/``set``/
    ``tuple``/``frozenset`` and the ``collections`` types), every other object kept as it is
    (it becomes a handle, or stays the interpreter's own object). ``memo`` (one per state)
    keeps shared references shared and cycles cyclic. Iterative; a value nested more than
    ``max_depth`` deep raises ``LimitExceededError`` naming ``max_nesting``, with ``what``."""
    from .limits import limit_error

    if type(value) not in _COPIED:
        return value
    if id(value) in memo:
        return memo[id(value)]
    flat = _flat_copy(value)
    if flat is not None:
        memo[id(value)] = flat
        return flat

    def open_(obj):
        if type(obj) in _MUTABLE:
            memo[id(obj)] = _shell(obj)
        return [obj, elements(obj), []]

    keep = [value]
    active = {id(value)}
    stack = [open_(value)]
    while stack:
        top = stack[-1]
        for child in top[1]:
            if type(child) not in _COPIED:
                top[2].append(child)
                continue
            key = id(child)
            if key in memo:
                top[2].append(memo[key])
                continue
            if key in active:  # a cycle through a tuple: that tuple stays itself
                top[2].append(child)
                continue
            flat = _flat_copy(child)
            if flat is not None:  # only scalars inside: copied natively
                if len(stack) >= max_depth:
                    raise limit_error("max_nesting", f"{what} is nested more than {max_depth} deep")
                keep.append(child)
                memo[key] = flat
                top[2].append(flat)
                continue
            if len(stack) >= max_depth:
                raise limit_error("max_nesting", f"{what} is nested more than {max_depth} deep")
            keep.append(child)
            active.add(key)
            stack.append(open_(child))
            break
        else:
            stack.pop()
            obj, _, items = top
            active.discard(id(obj))
            t = type(obj)
            if t in _MUTABLE:
                copy = memo[id(obj)]
                if isinstance(copy, dict):
                    dict.update(copy, zip(items[::2], items[1::2]))
                elif t is set:
                    copy.update(items)
                else:
                    copy.extend(items)
            else:
                copy = memo[id(obj)] = t(items)
            if stack:
                stack[-1][2].append(copy)
    return memo[id(value)]
