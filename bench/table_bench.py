"""Table tasks end to end on the embedded model, judged by outcome (issue 21).

    python bench/table_bench.py [--suite tables-held-out] [--threads 1] [--show]

Each task of bench/table_suites.py runs through ``nbagents.Agent()`` (its defaults: the embedded
model, the default toolbox with the table tools, constrained decoding) in a fresh folder, with its
DataFrames as inputs (and its CSV files in the folder); the result is right only when its outcome
is: the right rows, the right number, a chart of the right kind. Prints one line per task and the
right % per suite; the held-out suite (written before the tools and never tuned on) is reported
apart from the tuned one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from outcome_checks import in_folder  # noqa: E402
from table_suites import TABLE_SUITES, TableTask, build_tables  # noqa: E402

#: How each suite stands to the tuning (reported beside its score).
SEEN = {"tables-held-out": ", held-out v1: seen while tuning", "tables-held-out-2": ", held-out v2: written blind"}


def attempt(agent, task: TableTask) -> tuple[bool, str, str, float]:
    """Run one task in a fresh folder: (right, why not, the code, seconds)."""
    with tempfile.TemporaryDirectory() as folder:
        tables, inputs = build_tables(folder, task.inputs)
        with in_folder(folder):
            started = time.perf_counter()
            run = agent.perform(task.text, inputs)
            seconds = time.perf_counter() - started
        if run.error is not None:
            return False, f"{run.error.type}: {run.error.message[:90]}", run.code, seconds
        why = task.check(run.result, tables)
        return why is None, why or "", run.code, seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", action="append", default=[], help=f"one of {sorted(TABLE_SUITES)} (default: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--show", action="store_true", help="print each task's code")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import nbagents

    agent = nbagents.Agent()
    scores = {}
    for name in args.suite or sorted(TABLE_SUITES):
        right = 0
        tasks = TABLE_SUITES[name]
        print(f"## {name} ({len(tasks)} tasks{SEEN.get(name, '')})")
        for task in tasks:
            ok, why, code, seconds = attempt(agent, task)
            right += ok
            print(f"{'right' if ok else 'WRONG'} {seconds:5.1f}s  {task.text}" + ("" if ok else f"  — {why}"))
            if args.show or not ok:
                print("    " + code.replace("\n", "\n    "))
        scores[name] = (right, len(tasks))
    print()
    for name, (right, n) in scores.items():
        print(f"{name}{SEEN.get(name, '')}: {right}/{n} right ({100 * right / n:.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
