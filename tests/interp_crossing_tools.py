"""Tools for the flood and crossing tests; the same source also runs in an IPython shell, so the
tests get these tools from a module and from a notebook's user namespace."""

import time

RECEIVED = []
CALLS = [0]


def deep(n):
    """Returns a list nested ``n`` deep."""
    x = []
    for _ in range(n):
        x = [x]
    return x


def echo(*args, **kwargs):
    """Records what it received."""
    RECEIVED.append((args, kwargs))
    return len(RECEIVED)


def count(x=0):
    """Counts its calls."""
    CALLS[0] += 1
    return x


def nap(seconds):
    """Sleeps."""
    time.sleep(seconds)
    return seconds


class CrossingPicture:
    """A non-plain object."""


def picture():
    """Returns a non-plain object."""
    return CrossingPicture()


CROSSING_TOOLS = {"deep": deep, "echo": echo, "count": count, "nap": nap, "picture": picture}
