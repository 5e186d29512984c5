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

Exception classes: a class may derive from one of the builtin ``Exception`` classes of
:data:`ERROR_BASES` (never ``BaseException``, ``SystemExit``, ``KeyboardInterrupt``,
``GeneratorExit``). Its instances are ordinary instances holding ``args``; ``raise`` wraps one
in a *carrier*, an exception of a class made here once per builtin base (:data:`CARRIERS`) so
that ``except ValueError`` catches it, and ``except`` hands the program the instance back.
The text of an exception that leaves the run is computed from its ``args`` (plain renderings),
never by a ``__str__`` the program defined.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RefusedConstructError
from .active import active_machine
from .values import Builtin, Instance, SandboxClass, SandboxFunction, TypeValue, type_name

ERROR_BASES = (
    Exception, ArithmeticError, AssertionError, AttributeError, IndexError, KeyError,
    LookupError, NameError, NotImplementedError, OverflowError, RuntimeError, StopIteration,
    TypeError, ValueError, ZeroDivisionError, UnicodeError, UnboundLocalError,
)  # fmt: skip
"""The builtin exception classes a program's exception class may derive from (``Exception``
subclasses whose constructor takes any arguments)."""


def _carrier(base: type) -> type:
    return type(base.__name__, (base,), {"__module__": "nbagents.sandbox", "__doc__": "A raised sandbox exception."})


CARRIERS = {base: _carrier(base) for base in ERROR_BASES}
"""For each builtin base, the host exception class that carries a raised sandbox exception
(its ``instance``) through Python's ``raise``/``except``; made once, here."""
CARRIER_TYPES = frozenset(CARRIERS.values())

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
    "FROZEN",
    "ERROR_BASES",
    "CARRIERS",
    "CARRIER_TYPES",
    "raised",
    "caught",
    "error_name",
    "exception_class",
    "matches",
    "instance_of",
    "error_args",
    "error_text",
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
FROZEN = "__setattr__"
"""Where ``@dataclass(frozen=True)`` marks a class (``True``): attribute writes on its
instances raise ``FrozenInstanceError``. A program can never define or reach this name."""


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
        if type(base) is TypeValue and base.type in CARRIERS:
            continue
        if type(base) is not SandboxClass:
            hint = "A class can derive only from classes the program defines and from Exception or its builtin subclasses."
            if type(base) is TypeValue and isinstance(base.type, type) and issubclass(base.type, BaseException):
                hint = f"Exception classes can derive from: {', '.join(b.__name__ for b in ERROR_BASES)}."
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
    error = _error_base(m, bases)
    own = tuple(b for b in bases if type(b) is SandboxClass)
    cls = SandboxClass(name, own, namespace, construct, run_hook, error)
    cls.mro = (cls,) + _linearize(name, own) if own else (cls,)
    return cls


def _error_base(m, bases: list):
    """The one builtin exception class behind the bases (the most derived), or ``None``."""
    found = None
    for base in bases:
        error = base.type if type(base) is TypeValue else base.error
        if error is None or found is error:
            continue
        if found is None or issubclass(error, found):
            found = error
        elif not issubclass(found, error):
            raise RefusedConstructError(
                f"an exception class deriving from both {found.__name__} and {error.__name__}",
                line=m.line,
                hint="An exception class can derive from one builtin exception class (and from classes of the program).",
            )
    return found


def find(cls: SandboxClass, name: str):
    """``name`` in the namespaces along ``cls``'s MRO, or :data:`MISSING`."""
    for c in cls.mro:
        value = c.attrs.get(name, MISSING)
        if value is not MISSING:
            return value
    return MISSING


def call_function(m, fn, args: tuple, kwargs: dict):
    """Call a sandbox function from the interpreter (hooks, property getters), or a hook the
    interpreter made (a :class:`~.values.Builtin`, e.g. a dataclass's ``__init__``)."""
    if type(fn) is Builtin:
        return fn.fn(m, *args, **kwargs)
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
    if cls.error is not None:
        obj.attrs["args"] = args  # as BaseException.__new__ does
    init = find(cls, "__init__")
    if init is MISSING:
        if cls.error is not None:
            if kwargs:
                raise TypeError(f"{cls.name}() takes no keyword arguments")
            return obj
        if args or kwargs:
            raise TypeError(f"{cls.name}() takes no arguments")
        return obj
    result = call_function(m, init, (obj, *args), kwargs)
    if result is not None:
        raise TypeError(f"__init__() should return None, not '{type_name(result)}'")
    return obj


def instance_text(m, obj: Instance, hook: str, text=None) -> str:
    """``repr``/``str`` of an instance: the program's ``__repr__``/``__str__`` when it defined
    one and a run is going on, else ``<Name object>`` (the host never runs sandbox code); for
    an exception class without the hook, the text of its ``args`` as Python writes it, made by
    ``text(m, value)`` (the caller's bounded ``repr``/``str``)."""
    fn = find(obj.cls, hook)
    if fn is MISSING and obj.cls.error is not None and text is not None:
        return error_text(m, obj, hook, text)
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


# --- exception classes -------------------------------------------------------------------------


def error_args(obj: Instance) -> tuple:
    args = obj.attrs.get("args", ())
    return args if type(args) is tuple else (args,)


def error_text(m, obj: Instance, hook: str, text) -> str:
    """``str``/``repr`` of an exception instance as ``BaseException`` writes them; ``text`` is
    ``(m, value, hook)`` -> the bounded rendering of a value."""
    args = error_args(obj)
    if hook == "__repr__":
        inner = text(m, args[0], "__repr__") if len(args) == 1 else text(m, args, "__repr__")[1:-1]
        return f"{obj.cls.name}({inner})"
    if not args:
        return ""
    if len(args) == 1:
        return text(m, args[0], "__repr__" if issubclass(obj.cls.error, KeyError) else "__str__")
    return text(m, args, "__repr__")


def raised(obj: Instance) -> BaseException:
    """The host exception that carries a sandbox exception instance through ``raise``: of the
    carrier class of its builtin base, with the instance's ``args`` (so the host can show it
    without running sandbox code)."""
    carrier = CARRIERS[obj.cls.error]()
    carrier.args = error_args(obj)
    carrier.instance = obj
    return carrier


def caught(exc: BaseException):
    """What ``except ... as e`` binds: the sandbox instance a carrier holds, else ``exc``."""
    return exc.instance if type(exc) in CARRIER_TYPES else exc


def error_name(exc: BaseException) -> str:
    """The class name of an exception as the program knows it (a sandbox class's name)."""
    return exc.instance.cls.name if type(exc) in CARRIER_TYPES else type(exc).__name__


def matches(exc: BaseException, kind) -> bool:
    """Whether ``except kind`` catches ``exc`` (``kind``: a builtin class, a sandbox exception
    class or a nested tuple of them)."""
    t = type(kind)
    if t is TypeValue:
        if isinstance(kind.type, type) and issubclass(kind.type, BaseException):
            return isinstance(exc, kind.type)
    elif t is SandboxClass:
        if kind.error is not None:
            return type(exc) in CARRIER_TYPES and kind in exc.instance.cls.mro
    elif t is tuple:
        return any(matches(exc, k) for k in kind)
    raise TypeError("catching classes that do not inherit from BaseException is not allowed")


def exception_class(exc: BaseException, builtin_class):
    """The class value of a raised exception (``__exit__``'s first argument): its sandbox class,
    or ``builtin_class(exc)`` for a builtin exception."""
    return exc.instance.cls if type(exc) in CARRIER_TYPES else builtin_class(exc)


def instance_of(obj, cls) -> bool | None:
    """``isinstance(obj, cls)`` where the answer involves a sandbox class (``cls`` a sandbox
    class, or a builtin exception class and ``obj`` a sandbox exception); ``None`` when the
    builtin ``isinstance`` decides."""
    if type(cls) is SandboxClass:
        return is_instance(obj, cls)
    if type(obj) is Instance and type(cls) is TypeValue:
        error = obj.cls.error
        return error is not None and isinstance(cls.type, type) and issubclass(error, cls.type)
    return None
