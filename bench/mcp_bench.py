"""What an MCP tool costs: the time to start a stdio server and list its tools, and the overhead
of one call against a plain Python tool doing the same work.

Starts ``mcp-server-time`` over stdio (``python -m mcp_server_time``) ``--starts`` times, then
calls its ``get_current_time`` ``--calls`` times directly and through the interpreter, next to a
``@tool`` function that computes the same answer in the kernel, and prints the medians and the
ratio.

    python bench/mcp_bench.py [--starts 3] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from nbagents import mcp_tools, tool
from nbagents.interpreter import Interpreter

SERVER = [sys.executable, "-m", "mcp_server_time"]


@tool
def local_time(timezone: str) -> dict:
    """The current time in an IANA timezone (a plain Python tool)."""
    now = datetime.now(ZoneInfo(timezone))
    return {"timezone": timezone, "datetime": now.isoformat(timespec="seconds"),
            "day_of_week": now.strftime("%A"), "is_dst": bool(now.dst())}


def _median_s(fn, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    starts = []
    for _ in range(args.starts):
        began = time.perf_counter()
        tools = mcp_tools(SERVER)
        starts.append(time.perf_counter() - began)
        tools[0].client.close()
    tools = {t.name: t for t in mcp_tools(SERVER)}
    remote = tools["get_current_time"]
    try:
        remote("UTC")  # the server's first call imports its time zone data
        interpreter = Interpreter()
        plain = {"get_current_time": local_time}
        code = 'get_current_time(timezone="Europe/Paris")'
        rows = [
            ("direct call", _median_s(lambda: remote("Europe/Paris"), args.calls),
             _median_s(lambda: local_time("Europe/Paris"), args.calls)),
            ("through the interpreter", _median_s(lambda: interpreter.run(code, tools), args.calls),
             _median_s(lambda: interpreter.run(code, plain), args.calls)),
        ]
    finally:
        remote.client.close()
    print(f"start a stdio server and list its tools (mcp-server-time, median of {args.starts}): "
          f"{statistics.median(starts):.2f} s")
    print(f"{'per call (median of ' + str(args.calls) + ')':<34}{'MCP tool':>12}{'Python tool':>14}{'ratio':>9}")
    for name, mcp_s, python_s in rows:
        print(f"{name:<34}{mcp_s * 1e3:>9.3f} ms{python_s * 1e3:>11.3f} ms{mcp_s / python_s:>8.1f}x")


if __name__ == "__main__":
    main()
