"""Server-sent events (``text/event-stream``): the ``data`` of each event, whatever the protocol
that rides on them (TGI's ``/generate_stream``, the Messages API, OpenAI-style chat streams)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["sse_events"]


def sse_events(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined, comments skipped).

    Parameters
    ----------
    lines:
        The body's lines without their line endings (``httpx.Response.iter_lines()``).
    """
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
