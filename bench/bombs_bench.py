"""Stop times of the native-cost bombs, in both modes, with the default ``Limits``.

Runs every bomb of ``tests/test_interpreter_costs.py`` (and the attempts of
``tests/test_interpreter_limits.py``) in a fresh Python process each, in-kernel mode
(``isolation="none"``) and process isolation, and prints per bomb the stop time, the goal
(``timeout_s`` + 0.5 s) and their ratio (with ``Limits()``; ``--as-listed`` uses each
bomb's own limits), the Limits field named by the error (or what else
happened), and the count over the goal. The in-kernel runs get an address-space cap of
``--cap-gb`` (so an unguarded bomb ends in ``MemoryError`` instead of taking the machine down)
and are killed after ``--kill-s``.

    python bench/bombs_bench.py [--only SUBSTRING] [--mode kernel|process|both]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {tests!r})
mode, cap, name, suite, listed = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1"
if mode == "kernel":
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from nbagents.errors import LimitExceededError
from nbagents.interpreter import Interpreter, Limits
if suite == "costs":
    from test_interpreter_costs import BOMBS as table
else:
    from test_interpreter_limits import ATTEMPTS as table
code, limits, _accepted = table[name]
if not listed:
    limits = Limits()
interpreter = Interpreter(limits=limits, isolation="none" if mode == "kernel" else "process")
interpreter.run("1", {{}}, {{}})
start = time.monotonic()
try:
    interpreter.run(code, {{}}, {{}})
    outcome = "finished"
except LimitExceededError as e:
    outcome = e.limit
except BaseException as e:
    outcome = type(e).__name__
elapsed = time.monotonic() - start
print(json.dumps({{"elapsed": elapsed, "outcome": outcome, "goal": limits.timeout_s + 0.5}}), flush=True)
interpreter.close()
"""


def _names(suite: str) -> list[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    if suite == "costs":
        from test_interpreter_costs import BOMBS as table
    else:
        from test_interpreter_limits import ATTEMPTS as table
    return sorted(table)


def run_one(suite: str, name: str, mode: str, cap: int, kill_s: float, listed: bool = False) -> dict:
    script = _CHILD.format(tests=str(ROOT / "tests"))
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", script, mode, str(cap), name, suite, "1" if listed else "0"],
            capture_output=True, text=True, timeout=kill_s, cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"elapsed": time.monotonic() - start, "outcome": f"killed after {kill_s:.0f} s", "goal": 2.5}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:60]
        return {"elapsed": time.monotonic() - start, "outcome": f"crashed (rc {proc.returncode}): {tail}", "goal": 2.5}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the bombs whose name contains this")
    parser.add_argument("--mode", default="both", choices=["kernel", "process", "both"])
    parser.add_argument("--suite", default="both", choices=["costs", "limits", "both"])
    parser.add_argument("--cap-gb", type=float, default=4.0)
    parser.add_argument("--kill-s", type=float, default=20.0)
    parser.add_argument("--as-listed", action="store_true", help="each bomb's own Limits (default: Limits())")
    args = parser.parse_args()
    modes = ["kernel", "process"] if args.mode == "both" else [args.mode]
    suites = ["costs", "limits"] if args.suite == "both" else [args.suite]
    cap = int(args.cap_gb * 2**30)
    over = total = 0
    print(f"{'bomb':42} {'mode':8} {'stop s':>7} {'goal s':>6} {'ratio':>6}  outcome")
    for suite in suites:
        for name in _names(suite):
            if args.only not in name:
                continue
            for mode in modes:
                r = run_one(suite, name, mode, cap, args.kill_s, args.as_listed)
                ratio = r["elapsed"] / r["goal"]
                bad = ratio > 1 or not r["outcome"].replace("_", "").isalpha() or r["outcome"] == "finished"
                over += bad
                total += 1
                flag = "  <-- over" if bad else ""
                print(f"{suite[0]}:{name:40} {mode:8} {r['elapsed']:7.2f} {r['goal']:6.2f} {ratio:6.2f}  {r['outcome']}{flag}", flush=True)
    print(f"\n{over} of {total} runs over the goal (stop later than timeout_s + 0.5 s, or not stopped by a Limits field)")


if __name__ == "__main__":
    main()
