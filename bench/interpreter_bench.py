"""Benchmark of the restricted interpreter on benign agent-style programs.

    python bench/interpreter_bench.py [--repeat 5]

For each program: plain CPython (``exec`` of the source, compile included), nbagents'
``Interpreter`` in the kernel (parse, validation and compilation included, like a real
agent step), nbagents in process isolation (warm child), and smolagents'
``LocalPythonExecutor`` when installed (``pip install 'nbagents[bench]'``). Every executor must
print the same output. Runs are interleaved; prints the best time of ``--repeat`` runs and the ratios; the target is
nbagents (kernel) at least as fast as smolagents. Also prints the start time of an isolated
child. Timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time

from nbagents.interpreter import Interpreter, Limits

PROGRAMS = {
    "loop_arithmetic": """
total = 0
for i in range(30000):
    if i % 3 == 0:
        total += i * 2
    elif i % 5 == 0:
        total -= i // 5
    else:
        total += 1
print(total)
""",
    "string_processing": """
text = " ".join(["the quick brown fox jumps over the lazy dog"] * 400)
counts = {}
for word in text.split():
    word = word.strip().lower()
    counts[word] = counts.get(word, 0) + 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
print(top, len(text))
""",
    "comprehensions": """
squares = [x * x for x in range(20000) if x % 2]
pairs = [(i, j) for i in range(60) for j in range(60) if (i + j) % 7 == 0]
lookup = {i: str(i) for i in range(5000)}
print(len(squares), len(pairs), sum(len(v) for v in lookup.values()))
""",
    "function_calls": """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def clamp(x, lo=0, hi=100):
    return max(lo, min(hi, x))
print(fib(17), sum(clamp(v) for v in range(-500, 500)))
""",
    "records_aggregation": """
records = [{"region": ["north", "south", "east"][i % 3], "amount": (i * 37) % 101} for i in range(6000)]
totals = {}
for r in records:
    totals[r["region"]] = totals.get(r["region"], 0) + r["amount"]
best = max(totals, key=totals.get)
ranked = sorted(records, key=lambda r: (r["amount"], r["region"]))[-3:]
print(best, totals, ranked)
""",
    "formatting_report": """
rows = []
for i in range(3000):
    name = "item" + str(i)
    rows.append(f"{name:<10}|{i * 1.5:>10.2f}|{i % 7:03d}")
report = "\\n".join(rows)
print(len(report), rows[-1])
""",
    "json_and_math": """
import json
import math
data = [{"x": i, "y": math.sqrt(i), "tags": ["a", "b"]} for i in range(800)]
text = json.dumps(data)
back = json.loads(text)
print(len(text), round(sum(d["y"] for d in back), 3), math.floor(math.log(12345)))
""",
    "agent_step": """
results = search("weather in Paris")
summary = ", ".join(r.upper() for r in results[:2])
print(f"Found {len(results)} results: {summary}")
answer = {"city": "Paris", "results": len(results)}
answer
""",
}


def search(query: str) -> list:
    return [f"{query} result {i}" for i in range(5)]


TOOLS = {"search": search}


def _cpython(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<agent>", "exec"), dict(TOOLS))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    limits = Limits(timeout_s=60, max_operations=10**9)
    kernel = Interpreter(limits=limits)
    process = Interpreter(limits=limits, isolation="process")
    try:
        from smolagents.local_python_executor import LocalPythonExecutor
    except ImportError:
        smol = None
        print("smolagents is not installed (pip install 'nbagents[bench]'): its column is empty.\n")
    else:
        smol = LocalPythonExecutor(["math", "json"], max_print_outputs_length=10**6)
        smol.send_tools(dict(TOOLS))

    def run_smol(code: str) -> str:
        return str(smol(code).logs)  # smolagents resets its print buffer on each call

    header = f"{'program':<20}{'cpython ms':>12}{'nbagents ms':>13}{'process ms':>12}{'smolagents ms':>15}{'nb/cpy':>9}{'smol/nb':>9}"
    print(header)
    print("-" * len(header))
    ratios_cpy, ratios_smol = [], []
    for name, code in PROGRAMS.items():
        runners = {
            "cpython": lambda code=code: _cpython(code),
            "kernel": lambda code=code: kernel.run(code, TOOLS, {}).prints,
            "process": lambda code=code: process.run(code, TOOLS, {}).prints,
        }
        if smol is not None:
            runners["smolagents"] = lambda code=code: run_smol(code)
        best = dict.fromkeys(runners, float("inf"))
        outputs = {}
        for _ in range(args.repeat):  # interleaved, so a change of machine load hits all alike
            for key, runner in runners.items():
                start = time.perf_counter()
                outputs[key] = runner()
                best[key] = min(best[key], time.perf_counter() - start)
        expected = outputs["cpython"]
        assert outputs["kernel"] == expected and outputs["process"] == expected, (name, outputs, expected)
        if smol is not None and outputs["smolagents"].strip() != expected.strip():
            print(f"  (smolagents printed something else for {name}: {outputs['smolagents'][:60]!r})")
        t_cpy, t_nb, t_proc = best["cpython"], best["kernel"], best["process"]
        line = f"{name:<20}{t_cpy * 1e3:>12.2f}{t_nb * 1e3:>13.2f}{t_proc * 1e3:>12.2f}"
        ratios_cpy.append(t_nb / t_cpy)
        if smol is not None:
            t_smol = best["smolagents"]
            ratios_smol.append(t_smol / t_nb)
            line += f"{t_smol * 1e3:>15.2f}{t_nb / t_cpy:>9.1f}{t_smol / t_nb:>9.1f}"
        else:
            line += f"{'-':>15}{t_nb / t_cpy:>9.1f}{'-':>9}"
        print(line)
    print("-" * len(header))
    summary = f"geometric mean: nbagents/cpython = {statistics.geometric_mean(ratios_cpy):.1f}x slower"
    if ratios_smol:
        summary += f"; smolagents/nbagents = {statistics.geometric_mean(ratios_smol):.1f}x (>1: nbagents faster)"
    print(summary)

    starts = []
    for _ in range(3):
        fresh = Interpreter(isolation="process")
        start = time.perf_counter()
        fresh.run("1", {}, {})
        starts.append(time.perf_counter() - start)
        fresh.close()
    print(f"process isolation: first run of a fresh child (start + run) {min(starts) * 1e3:.0f} ms (best of 3)")
    process.close()


if __name__ == "__main__":
    main()
