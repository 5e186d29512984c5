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
``return``, the walrus, ``import`` of the facade modules (math, json, datetime, statistics,
random, itertools, collections, string; ``re`` only in process isolation), ``print``.

Differences from CPython that programs may notice:

* names starting with ``_`` (except ``_`` itself) and ``type``/``getattr``/``eval``... are
  refused; ``str.format`` only on a literal format string with plain fields;
* an undefined name, a refused construct or a hit limit ends the run (``except`` cannot catch
  these), while ordinary exceptions and tool failures can be caught;
* generator expressions are lazy over their first loop only (the inner loops of one element
  run at once); values of host types other than plain data are opaque handles;
* the deadline is read at the next evaluated node after a 20 ms watchdog tick (or every
  4096 operations), so a single native operation is bounded by its size pre-check, not by the
  clock (in process isolation the child is killed at the deadline);
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
