"""The first ``%%agent`` cell of a fresh kernel, and a warm run against the bare model (issue 19).

    python bench/first_cell_bench.py [--pause 8] [--threads 2]

Every scenario is a fresh Jupyter kernel (nbclient) on the embedded model, whose converted cache
is already on disk (``make setup`` converts it: ``nbagents prepare``):

* **first cell, right after ``%load_ext``**: the cell runs at once, while the background warm-up
  is still going (what a user who runs all cells gets);
* **first cell after a pause**: ``--pause`` seconds between ``%load_ext`` and the cell (a user
  reading the notebook or typing the task): the warm-up has finished;
* **first cell, warm-up off** (``NBAGENTS_WARM_UP=0``): what every first cell paid before;
* **second cell** (another task, same kernel);
* **the bare model**: in the same kernel, after the second cell, the model alone on the same
  prompt, from the same kept prompt prefix (the tokens a warm agent run has to pay for: its task's
  suffix), writing as many tokens as the agent's run wrote: a greedy loop of one forward pass per
  token (no grammar, no tools), with the engine's threads. (``model.generate`` itself was tried
  first: on these 2 loaded cores it took 30-50 s for the same 31 tokens, so it is not the limit.)
  The overhead ratio is the warm agent run's whole cell time over that; the agent can be below
  1× because its decoder writes grammar-forced and prompt-lookup tokens several per pass.

Targets (the issue's): first cell ≤ 3 s; warm run ≤ 1.25× the bare model. Printed as a table with
the ratios; every figure measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import nbformat
from nbclient import NotebookClient

TASK = "Make a 440 Hz tone of one second."
SECOND_TASK = "Count the words in the sentence 'the cat sat on the mat'."
RESULT = "BENCH "

TIMED = """
import json, time
t = time.perf_counter()
get_ipython().run_cell_magic("agent", "", {task!r})
seconds = time.perf_counter() - t
from nbagents.magics import get_agent
r = get_agent().last_run
print({result!r} + json.dumps({{"seconds": seconds, "error": None if r.error is None else r.error.message,
    "prompt_tokens": r.facts.get("prompt_tokens"), "cached": r.facts.get("cached_prefix_tokens"),
    "completion_tokens": r.facts.get("completion_tokens"), "timings": r.timings}}))
"""

def _notebook(cells: list[str]) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def _results(nb) -> list[dict]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            for line in o.get("text", "").splitlines():
                if line.startswith(RESULT):
                    out.append(json.loads(line[len(RESULT):]))
    return out


def _kernel(cells: list[str], *, warm: bool, threads: int) -> list[dict]:
    env_before = {k: os.environ.get(k) for k in ("NBAGENTS_WARM_UP", "OMP_NUM_THREADS")}
    os.environ["NBAGENTS_WARM_UP"] = "1" if warm else "0"
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        nb = _notebook(cells)
        NotebookClient(nb, timeout=600, kernel_name="python3").execute()
        return _results(nb)
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


BARE_CELL = """
import json, time, torch
from nbagents.magics import get_agent
from nbagents.engines.local.cache import cache_of, forward
from nbagents.threads import torch_threads
engine = get_agent().engine; r = get_agent().last_run
ids = list(engine.last_prompt_ids)  # the second cell's prompt, as the engine ran it
n_out = r.facts["completion_tokens"]
best = None
for _ in range({repeat}):
    cache, n_cached = engine.kept_prefix(ids)
    t = time.perf_counter()
    with torch.inference_mode(), torch_threads(engine.num_threads):
        step = torch.tensor([ids[n_cached:]])
        for _i in range(n_out):  # greedy, one token per forward pass, no grammar, no tools
            out = forward(engine.model, cache, input_ids=step)
            cache = cache_of(out)
            step = out.logits[:, -1:].argmax(-1)
    s = time.perf_counter() - t
    best = s if best is None else min(best, s)
print({result!r} + json.dumps({{"bare_s": best, "n_out": n_out, "n_cached": n_cached, "n_prompt": len(ids)}}))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pause", type=float, default=8.0, help="seconds between %%load_ext and the first cell")
    p.add_argument("--threads", type=int, default=2, help="torch threads (OMP_NUM_THREADS) in the kernels")
    p.add_argument("--repeat", type=int, default=3, help="bare model runs (the best is kept)")
    args = p.parse_args(argv)
    timed = lambda task: TIMED.format(task=task, result=RESULT)  # noqa: E731

    at_once = _kernel(["%load_ext nbagents", timed(TASK)], warm=True, threads=args.threads)[0]
    paused = _kernel(["%load_ext nbagents", f"import time; time.sleep({args.pause})", timed(TASK),
                      timed(SECOND_TASK), BARE_CELL.format(repeat=args.repeat, result=RESULT)],
                     warm=True, threads=args.threads)
    off = _kernel(["%load_ext nbagents", timed(TASK)], warm=False, threads=args.threads)[0]
    first, second, bare = paused

    rows = [
        ("first cell, warm-up off (before)", off["seconds"], ""),
        ("first cell, right after %load_ext", at_once["seconds"], f"{off['seconds'] / at_once['seconds']:.2f}× faster than off"),
        (f"first cell, {args.pause:g} s after %load_ext", first["seconds"],
         f"{off['seconds'] / first['seconds']:.2f}× faster than off; target ≤ 3 s: "
         f"{'met' if first['seconds'] <= 3 else 'not met'}"),
        ("second cell (another task)", second["seconds"], ""),
        ("bare model.generate, same prompt and prefix", bare["bare_s"],
         f"{bare['n_prompt'] - bare['n_cached']} new prompt tokens, {bare['n_out']} written"),
        ("second cell / bare model", second["seconds"] / bare["bare_s"],
         f"target ≤ 1.25×: {'met' if second['seconds'] <= 1.25 * bare['bare_s'] else 'not met'}"),
    ]
    for r in (off, at_once, first, second):
        if r["error"]:
            print(f"a run failed: {r['error']}", file=sys.stderr)
    print(f"| measured (fresh kernels, {args.threads} torch threads) | value | note |")
    print("| --- | --- | --- |")
    for name, value, note in rows:
        unit = "×" if "/" in name else " s"
        print(f"| {name} | {value:.2f}{unit} | {note} |")
    print("\nwhere the second cell's time went:", json.dumps({k: round(v, 3) for k, v in second["timings"].items()}))
    print("the first cell's (warm-up off):", json.dumps({k: round(v, 3) for k, v in off["timings"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
