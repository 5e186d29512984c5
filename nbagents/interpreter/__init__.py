"""The restricted interpreter that runs the programs agents write.

Layers (see the threat model in the design notes): parse-time validation
(:mod:`.validate`); a capability model where sandbox values expose only allow-listed
attributes and calls (:mod:`.capabilities`, :mod:`.builtins`, :mod:`.facades`); resource
limits enforced on every evaluated node and before every costly native operation
(:mod:`.limits`, :mod:`.runtime`); and optional process isolation (:mod:`.isolation`).
**In-kernel mode is a guard rail against accidents and casual injection; process isolation is
the security boundary.**

What programs can use: assignments (incl. unpacking, subscripts, augmented), arithmetic,
comparisons, boolean logic, f-strings, literals, slicing, ``if``/``for``/``while``/``break``/
``continue``/``pass``, comprehensions, ``try``/``except``/``else``/``finally``, ``raise``,
``assert``, ``del``, ``def`` (no decorators; annotations are not evaluated) and ``lambda``,
``return``, the walrus, annotated assignments (``x: int = 42``; not evaluated either),
``import`` of the facade modules (math, json, datetime, statistics, random, itertools,
collections, string, re, time, unicodedata, stat, heapq, bisect, dataclasses; ``queue`` is
refused: use ``collections.deque``), ``print``, ``global`` and
``nonlocal`` (not for ``_`` names or tool names), ``hash()`` of plain immutable data,
``getattr(obj, 'name'[, default])``/``hasattr(obj, 'name')`` with a string-literal name;
``class`` definitions
(:mod:`.classes`: methods, class attributes, inheritance among the program's own classes,
``super()`` without arguments in a method, ``@staticmethod``/``@classmethod``/``@property``
getters, ``isinstance``), attribute assignment and ``del`` on their instances and classes, and
``with`` on instances whose class defines ``__enter__``/``__exit__`` (``__exit__`` gets the
exception's class, the exception and ``None``; a true result suppresses it); exception classes
deriving from ``Exception`` or one builtin subclass of it (:data:`.classes.ERROR_BASES`), raised
and caught as in Python (``e.args``, ``str(e)``, their own attributes); ``@dataclass`` (and
``@dataclass(frozen=..., order=..., eq=..., init=..., repr=...)``), ``field(default=...,
default_factory=...)``, ``asdict``, ``replace``; ``collections.namedtuple``;
``random.Random(seed)`` (:mod:`.records`). A missing ordinary attribute of plain data, of a
caught exception or of an instance is an ``AttributeError`` (catchable, ``hasattr`` is False);
``_`` names and host attributes not on the allow-list stay refusals.

Differences from CPython that programs may notice:

* names starting with ``_`` (except ``_`` itself) and ``type``/``getattr``/``eval``... are
  refused; ``str.format`` only on a literal format string with plain fields;
* an undefined name, a refused construct or a hit limit ends the run (``except`` cannot catch
  these), while ordinary exceptions and tool failures can be caught;
* a class is the interpreter's own value, not a Python class: it cannot derive from builtin or
  host classes other than the ``Exception`` classes, takes no decorator but ``@dataclass`` and no
  ``metaclass=``, and may define
  only ``__init__``, ``__repr__``, ``__str__``, ``__enter__``, ``__exit__``, ``__eq__``,
  ``__lt__``/``__le__``/``__gt__``/``__ge__``, ``__len__``, ``__bool__``, ``__iter__``,
  ``__contains__`` and ``__getitem__`` among the dunder methods; they run only during a run, the
  host never (outside a run an instance is a plain object: ``<Name object>``, equal to itself
  only; tools cannot receive instances, classes or bound methods); ``%``-formatting shows
  ``<Name object>``; instances hash by identity even with ``__eq__``; in process isolation
  classes and instances, like functions, do not stay in the state;
* an uncaught exception of the program's own class is reported with the text of its ``args``
  (its ``__str__`` is not run); ``e.__traceback__``/``type(e)`` are refused; a namedtuple is not
  a ``tuple`` (``isinstance(p, tuple)`` is False, ``json.dumps`` refuses it, ``_replace``/
  ``_asdict``/``_fields`` are ``_`` names: use ``dataclasses.replace``); a non-frozen dataclass
  hashes by identity but ``hash()`` refuses every identity hash (no addresses);
  ``getattr``/``hasattr`` take only literal names and are no values (``map(getattr, ...)`` is
  refused);
* generator expressions are lazy over their first loop only (the inner loops of one element
  run at once); values of host types other than plain data are opaque handles;
* native work whose cost is not linear in its input (three-argument ``pow``, big-int ``//``,
  ``%``, ``gcd``, ``isqrt``, ``punycode``/``idna``, statistics on big ints, sorting) is charged
  as operations before it runs, and what conversions, encodings, ``json.dumps`` and
  ``itertools`` tuples/accumulations build counts against ``Limits.memory_mb`` in the kernel too;
* the deadline is read at the next evaluated node after a 20 ms watchdog tick (or every
  4096 operations), so a single native operation is bounded by its size pre-check, not by the
  clock (in process isolation the child is killed at the deadline);
* ``time.sleep`` counts as interpreter time and is refused at once when it would pass the
  deadline; ``re`` matches with the ``regex`` package under a timeout of the remaining time, so
  catastrophic backtracking ends with the ``timeout_s`` error in the kernel too (``\\w`` also
  matches combining marks; patterns have no ``flags``/``groupindex``; see :mod:`.regexes`);
* a run makes at most ``max_tool_calls`` tool calls and lasts at most ``wall_timeout_s`` of
  wall-clock time, tool time included; a value nested more than ``max_nesting`` deep ends the
  run (``LimitExceededError``) where it crosses: the result, a tool's argument or result, an
  input, the process boundary, printed text.

What crosses: tool arguments are plain data at any depth (exact builtin scalars, bytes, dates,
ranges, lists, tuples, dicts, sets, the ``collections`` types) and handles; a function, an
iterator, a module or an exception anywhere inside one is refused, naming the argument and the
path. Inputs are copied: at the start of a run the plain containers of every value new to the
state (not what the last run left there) are copied, sharing between them kept, in both
isolations, so a program never changes an object its caller holds; the state then holds the
copies. Other objects are opaque handles, never copied.
Anything a program can read it can pass to a tool; mark a credential given as an input with
:class:`nbagents.Secret`, which the program holds as a handle it cannot read.
"""

from .limits import Execution, Limits
from .sandbox import Interpreter, run
from .toolcall import ToolCall, ToolRequest
from .values import Handle

__all__ = ["Interpreter", "Limits", "Execution", "Handle", "ToolCall", "ToolRequest", "run"]
