"""The class model: classes and instances that are the interpreter's own values.

A ``class`` statement makes a :class:`~.values.SandboxClass` (a name, sandbox bases, a method
resolution order and a namespace dict), never a Python class: there is no metaclass, no
``type()`` call, no descriptor protocol and no hook that Python's own machinery could run. An
instance is an :class:`~.values.Instance` (its class and an attribute dict). Only sandbox
classes can be bases.

The hooks a program may define (:data:`HONOURED`) run only during a run: ``__init__`` when a
class is called, ``__repr__``/``__str__`` when the program prints or converts an instance to
text, ``__enter__``/``__exit__`` in ``with`` (all called by the interpreter itself), and the
comparison, ``len``, truth, iteration, ``in`` and ``[]`` hooks when the program's operations
reach them (:class:`~.values.Instance` runs them only while a run is going on in this thread).
The host never does: outside a run an instance behaves as a plain ``object`` whose ``repr``
names its class only, and values leave a run as plain renderings.
``@staticmethod``, ``@classmethod`` and ``@property`` (a getter only) are wrappers the
interpreter's attribute lookup understands (:data:`DECORATORS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RefusedConstructError
from .active import active_machine
from .values import Instance, SandboxClass, SandboxFunction, TypeValue, type_name

__all__ = [
    "HONOURED",
    "DECORATORS",
    "StaticMethod",
    "ClassMethod",
    "Property",
    "Super",
    "check_bases",
    "make_class",
    "WRAPPERS",
    "find",
    "call_function",
    "instance_text",
    "context_methods",
    "is_instance",
    "MISSING",
]

HONOURED = frozenset(
    "__init__ __repr__ __str__ __enter__ __exit__ __eq__ __lt__ __le__ __gt__ __ge__ __len__ "
    "__bool__ __iter__ __contains__ __getitem__".split()
)
"""The dunder methods a sandbox class may define: they run only during a run, called by the
interpreter (or by the native operations the program itself started, e.g. ``sorted`` calling
``__lt__``), never by the host."""

DECORATORS = frozenset({"staticmethod", "classmethod", "property"})
"""The decorators a method may have (one, directly on a ``def`` in a class body)."""

MISSING = object()


@dataclass(frozen=True)
class StaticMethod:
    """A ``@staticmethod`` in a class namespace."""

    fn: SandboxFunction


@dataclass(frozen=True)
class ClassMethod:
    """A ``@classmethod`` in a class namespace: bound to the class it is read from."""

    fn: SandboxFunction


@dataclass(frozen=True)
class Property:
    """A ``@property`` getter in a class namespace: reading the attribute calls it."""

    fn: SandboxFunction


WRAPPERS = {"staticmethod": StaticMethod, "classmethod": ClassMethod, "property": Property}


@dataclass(frozen=True)
class Super:
    """What ``super()`` gives inside a method: look up ``target``'s attributes after ``cls``."""

    cls: SandboxClass
    target: object

    def __repr__(self) -> str:
        return f"<super: <class '{self.cls.name}'>, {self.target!r}>"


def _linearize(name: str, bases: tuple) -> tuple:
    """C3 linearization of the bases (Python's method resolution order)."""
    sequences = [list(b.mro) for b in bases] + [list(bases)]
    out: list = []
    while True:
        sequences = [s for s in sequences if s]
        if not sequences:
            return tuple(out)
        for seq in sequences:
            head = seq[0]
            if not any(head in s[1:] for s in sequences):
                break
        else:
            names = ", ".join(b.name for b in bases)
            raise TypeError(f"Cannot create a consistent method resolution order (MRO) for bases {names}")
        out.append(head)
        for s in sequences:
            if s[0] is head:
                del s[0]


def check_bases(m, bases: list) -> None:
    """Refuse bases that are not sandbox classes (before the class body runs)."""
    for base in bases:
        if type(base) is not SandboxClass:
            hint = "A class can derive only from classes the program defines."
            if type(base) is TypeValue and isinstance(base.type, type) and issubclass(base.type, BaseException):
                hint += " Raise a builtin exception with a message instead, e.g. raise ValueError('...')."
            if type(base) is TypeValue:
                shown = f"the builtin class {base.name}"
            elif type(base) is Instance:
                shown = f"an instance of {base.cls.name}"
            else:
                shown = f"a {type_name(base)} value"
            raise RefusedConstructError(f"a class deriving from {shown}", line=m.line, hint=hint)


def make_class(m, name: str, bases: list, namespace: dict) -> SandboxClass:
    """The class a ``class`` statement defines (bases must be sandbox classes)."""
    check_bases(m, bases)
    cls = SandboxClass(name, tuple(bases), namespace, construct, run_hook)
    cls.mro = (cls,) + _linearize(name, cls.bases) if bases else (cls,)
    return cls


def find(cls: SandboxClass, name: str):
    """``name`` in the namespaces along ``cls``'s MRO, or :data:`MISSING`."""
    for c in cls.mro:
        value = c.attrs.get(name, MISSING)
        if value is not MISSING:
            return value
    return MISSING


def call_function(m, fn, args: tuple, kwargs: dict):
    """Call a sandbox function from the interpreter (hooks, property getters)."""
    if type(fn) is not SandboxFunction:
        raise TypeError(f"'{type_name(fn)}' object is not callable")
    code = fn.code if fn.m is m else fn.template.code_for(fn, m)
    return code(fn, args, kwargs)


def run_hook(obj: Instance, name: str, args: tuple, default):
    """Run the hook ``name`` the program defined for ``obj``'s class, when a run is going on in
    this thread; else ``default`` (the host, outside a run, never runs sandbox code)."""
    fn = find(obj.cls, name)
    if fn is MISSING:
        return default
    m = active_machine()
    if m is None or not m.running:
        return default
    return call_function(m, fn, (obj, *args), {})


def construct(m, cls: SandboxClass, args: tuple, kwargs: dict) -> Instance:
    """``cls(*args, **kwargs)``: a new instance, initialised by ``__init__`` when defined."""
    m.charge(2)  # an instance and its dict: about 200 bytes
    obj = Instance(cls)
    init = find(cls, "__init__")
    if init is MISSING:
        if args or kwargs:
            raise TypeError(f"{cls.name}() takes no arguments")
        return obj
    result = call_function(m, init, (obj, *args), kwargs)
    if result is not None:
        raise TypeError(f"__init__() should return None, not '{type_name(result)}'")
    return obj


def instance_text(m, obj: Instance, hook: str) -> str:
    """``repr``/``str`` of an instance: the program's ``__repr__``/``__str__`` when it defined
    one and a run is going on, else ``<Name object>`` (the host never runs sandbox code)."""
    fn = find(obj.cls, hook)
    if fn is MISSING and hook == "__str__":
        fn = find(obj.cls, "__repr__")
    if fn is MISSING or m is None or not m.running:
        return repr(obj)
    text = call_function(m, fn, (obj,), {})
    if type(text) is not str:
        raise TypeError(f"{hook} returned non-string (type {type_name(text)})")
    return text


def context_methods(m, manager) -> tuple:
    """``(__enter__, __exit__)`` of a sandbox context manager."""
    if type(manager) is not Instance:
        raise RefusedConstructError(
            f"with on a {type_name(manager)} value",
            line=m.line,
            hint="with works on objects of classes the program defines with __enter__ and __exit__ methods.",
        )
    enter, exit_ = find(manager.cls, "__enter__"), find(manager.cls, "__exit__")
    if enter is MISSING or exit_ is MISSING:
        raise TypeError(f"'{manager.cls.name}' object does not support the context manager protocol")
    return enter, exit_


def is_instance(obj, cls: SandboxClass) -> bool:
    """``isinstance(obj, cls)`` for a sandbox class."""
    return type(obj) is Instance and cls in obj.cls.mro
