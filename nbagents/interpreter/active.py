"""The machine running in this thread: the one piece of run state read below the runtime.

:class:`~.runtime.Machine` registers itself here for the length of a run; errors raised outside
compiled code (:func:`~.limits.limit_error`, refused attributes, tool arguments) read the line
being run from here, and the interpreter's own objects find the machine that calls them. Kept
apart from :mod:`.runtime` so that :mod:`.limits` and :mod:`.values` need not import it.
"""

from __future__ import annotations

import threading

__all__ = ["active_machine", "current_line", "activate"]

_local = threading.local()


def active_machine():
    """The machine running in this thread (a :class:`~.runtime.Machine`), if any."""
    return getattr(_local, "machine", None)


def current_line() -> int | None:
    """The line being run in this thread (for errors raised outside compiled code)."""
    m = getattr(_local, "machine", None)
    return None if m is None else m.line


def activate(machine):
    """Make ``machine`` (or ``None``) the running one in this thread; returns the previous one."""
    previous = getattr(_local, "machine", None)
    _local.machine = machine
    return previous
