"""nbagents side by side with its peers: one command, one table, every figure measured in this run.

    python bench/run.py [--repeat 5] [--max-new-tokens 128] [--threads 1] [--peers-venv DIR]
                        [--no-model] [--no-install]

Rows:

1. ``import`` and ``%load_ext`` (each in a fresh process, median of ``--repeat``), against
   smolagents and jupyter_ai_magics;
2. the embedded model's cold load (GGUF converted into an empty cache, then loaded) and warm
   load (a new process reading that cache), against smolagents' ``TransformersModel`` loading
   the same converted folder;
3. first and second run latency and the prompt's tokens: nbagents' ``Agent()`` (default engine
   and toolbox) against smolagents' ``CodeAgent`` on the same model, threads and token limit;
4. the restricted interpreter against smolagents' ``LocalPythonExecutor`` and plain CPython;
5. an MCP tool (``mcp-server-time`` over stdio): starting the server and listing its tools, and
   a call through the interpreter against a Python ``@tool`` doing the same work;
6. the first ``%%agent`` cell of a fresh kernel (right after ``%load_ext``, after a pause, and
   with the warm-up off) and a warm run against the bare model (bench/first_cell_bench.py);
7. the embedded model in-process against the same model behind llama.cpp's server (with and
   without the router) and ``transformers serve``, both started on 127.0.0.1 for the bench: right %, latency, prompt
   tokens and tokens/s on the same outcome-checked tasks, the servers as ratios against
   in-process (bench/servers_bench.py).

Rows 2-3 are bench/local_bench.py's stages, row 4 is bench/interpreter_bench.py and row 5
bench/mcp_bench.py, run from here. jupyter_ai_magics pins ``packaging<26`` (through langchain-core), which would downgrade the
project's venv, so it lives in a separate venv of the same Python (``--peers-venv``, created on
first use unless ``--no-install``). Nothing is downloaded except that install.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import local_bench  # noqa: E402

DASH = "—"
PEERS_VENV = Path.home() / ".cache" / "nbagents-bench" / "peers-venv"
PEER_PACKAGES = ["jupyter-ai-magics", "ipython"]


# --- the machine ---------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_lines(peer_python: str | None) -> list[str]:
    ram = _ram_gib()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    peers = DASH
    if peer_python:
        code = ("from importlib.metadata import version; "
                "print(f\"jupyter-ai-magics {version('jupyter-ai-magics')}, ipython {version('ipython')}\")")
        peers = subprocess.run([peer_python, "-c", code], capture_output=True, text=True).stdout.strip()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='minutes')}",
        f"machine: {os.cpu_count()} cores ({affinity} usable), {_cpu_model()}, "
        f"{ram:.1f} GiB RAM" if ram else f"machine: {os.cpu_count()} cores, {_cpu_model()}",
        f"system: {platform.platform()}, Python {platform.python_version()}; load average at start: {load}",
        f"packages: nbagents {_version('nbagents')}, torch {_version('torch')}, transformers "
        f"{_version('transformers')}, smolagents {_version('smolagents')}, ipython {_version('ipython')}; "
        f"peers venv: {peers}",
    ]


# --- import and %load_ext ------------------------------------------------------------------------

IMPORT = "import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"
LOAD_EXT = (
    "import io, time, contextlib\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "shell = InteractiveShell.instance()\n"
    "out = io.StringIO()\n"
    "t = time.perf_counter()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    shell.run_line_magic('load_ext', {module!r})\n"
    "elapsed = time.perf_counter() - t\n"
    "print('not an extension' if 'not an IPython extension' in out.getvalue() else elapsed)"
)
SHELL = ("import time\nt = time.perf_counter()\nfrom IPython.core.interactiveshell import InteractiveShell\n"
         "InteractiveShell.instance()\nprint(time.perf_counter() - t)")


def _fresh(python: str, code: str) -> float | str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "0"})
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:80]
    try:
        return float(lines[-1])
    except ValueError:
        return lines[-1]


def median_fresh(python: str, code: str, repeat: int) -> float | str:
    """Median over ``repeat`` fresh processes, after one warm-up (so the files are in the OS cache)."""
    first = _fresh(python, code)
    if not isinstance(first, float):
        return first
    return statistics.median(_fresh(python, code) for _ in range(repeat))


def peers_python(args) -> tuple[str | None, str]:
    """A Python with jupyter_ai_magics: this one if it has it, else the peers venv."""
    if _fresh(sys.executable, "import jupyter_ai_magics\nprint(0)") == 0.0:
        return sys.executable, "this venv"
    venv = Path(args.peers_venv)
    python = venv / "bin" / "python"
    if not python.exists() and not args.no_install:
        print(f"(creating {venv} with {', '.join(PEER_PACKAGES)} for the jupyter_ai_magics column ...)",
              flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        try:
            subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            *PEER_PACKAGES], check=True, timeout=600, capture_output=True)
        except (subprocess.SubprocessError, OSError) as e:
            shutil.rmtree(venv, ignore_errors=True)
            return None, f"could not install jupyter-ai-magics: {e}"
    if not python.exists():
        return None, "jupyter-ai-magics is not installed (--no-install)"
    if _fresh(str(python), "import jupyter_ai_magics\nprint(0)") != 0.0:
        return None, f"jupyter_ai_magics does not import in {venv}"
    return str(python), str(venv)


def import_rows(args, peer: str | None) -> tuple[list, list[str]]:
    ours, n = sys.executable, args.repeat
    imports = {"nbagents": median_fresh(ours, IMPORT.format(module="nbagents"), n),
               "smolagents": median_fresh(ours, IMPORT.format(module="smolagents"), n),
               "jupyter_ai_magics": median_fresh(peer, IMPORT.format(module="jupyter_ai_magics"), n) if peer else None}
    load_ext = {"nbagents": median_fresh(ours, LOAD_EXT.format(module="nbagents"), n),
                "smolagents": median_fresh(ours, LOAD_EXT.format(module="smolagents"), n),
                "jupyter_ai_magics": median_fresh(peer, LOAD_EXT.format(module="jupyter_ai_magics"), n) if peer else None}
    shell = {"ours": median_fresh(ours, SHELL, n), "peer": median_fresh(peer, SHELL, n) if peer else None}
    rows = [
        (f"`import` (fresh process, median of {n})", ms(imports["nbagents"]), ms(imports["smolagents"]),
         ms(imports["jupyter_ai_magics"]), DASH, ratio_note(imports, "nbagents")),
        (f"`%load_ext` in a fresh IPython shell, import included (median of {n})", ms(load_ext["nbagents"]),
         "no extension" if load_ext["smolagents"] == "not an extension" else ms(load_ext["smolagents"]),
         ms(load_ext["jupyter_ai_magics"]), DASH, ratio_note(load_ext, "nbagents")),
    ]
    notes = [f"IPython import + shell creation, not counted above: {ms(shell['ours'])} (project venv), "
             f"{ms(shell['peer'])} (peers venv)"]
    return rows, notes


# --- the model: bench/local_bench.py's stages ----------------------------------------------------


def model_rows(args) -> tuple[list, list[str]]:
    root = tempfile.mkdtemp(prefix="nbagents-bench-")
    stage_args = SimpleNamespace(cache=root, task=local_bench.TASK, max_new_tokens=args.max_new_tokens,
                                 threads=args.threads)
    env = {**os.environ, "NBAGENTS_CACHE_DIR": root, "NBAGENTS_TORCH_THREADS": str(args.threads),
           "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        cold = local_bench.run_stage("load", stage_args, env)
        warm = local_bench.run_stage("load", stage_args, env)
        ours = local_bench.run_stage("nbagents", stage_args, env)
        try:
            theirs = local_bench.run_stage("smolagents", stage_args, env)
        except RuntimeError as e:
            theirs, failure = None, str(e).splitlines()[-1]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    o1, o2, _ = ours["runs"]
    t1, t2 = theirs["runs"] if theirs else ({}, {})
    from nbagents import Agent

    tools = len(Agent("fake:").toolbox)
    rows = [
        ("embedded model, cold load: GGUF converted into an empty cache, then loaded",
         sec(cold["conversion_s"] + cold["load_s"]), DASH, DASH, DASH,
         f"conversion {sec(cold['conversion_s'])}, once per machine"),
        ("embedded model, warm load (new process, converted cache)", sec(warm["load_s"]),
         sec(theirs["load_s"]) if theirs else DASH, DASH, DASH, "smolagents: TransformersModel, same folder"),
        ("run 1: task to code, latency", sec(o1["latency_s"]), sec(t1.get("latency_s")), DASH, DASH,
         ratio(t1.get("latency_s"), o1["latency_s"])),
        ("run 2: the same task again, latency", sec(o2["latency_s"]), sec(t2.get("latency_s")), DASH, DASH,
         ratio(t2.get("latency_s"), o2["latency_s"]) + f"; cached prefix {o2['facts']['cached_prefix_tokens']} tok"),
        ("model calls per run", "1", str(len(t2["calls"])) if theirs else DASH, DASH, DASH, ""),
        (f"prompt tokens (nbagents: default toolbox, {tools} tools; smolagents: CodeAgent, no tools)",
         str(o1["prompt_tokens"]), str(t1.get("prompt_tokens", DASH)), DASH, DASH,
         ratio(t1.get("prompt_tokens"), o1["prompt_tokens"], unit="")),
    ]
    notes = [
        f"model: SmolLM2-135M-Instruct (embedded), float32 on the CPU, {args.threads} thread(s), "
        f"max_new_tokens={args.max_new_tokens}, greedy; task {local_bench.TASK!r}; "
        "nbagents: Agent(repair=False).generate_code, smolagents: CodeAgent(tools=[], max_steps=1).run",
        f"nbagents output (run 2): {o2['raw'][:160]!r}",
    ]
    if theirs:
        notes.append(f"smolagents output (run 2): {t2['output'][:120]!r}, error {(t2['error'] or '')[:120]!r}")
    else:
        notes.append(f"smolagents could not run: {failure}")
    return rows, notes


# --- the interpreter: bench/interpreter_bench.py -------------------------------------------------


def interpreter_rows(args) -> tuple[list, list[str]]:
    done = subprocess.run([sys.executable, str(HERE / "interpreter_bench.py"), "--repeat", str(args.repeat)],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        return [("interpreter", "failed", DASH, DASH, DASH, done.stderr.strip().splitlines()[-1][:80])], []
    text = done.stdout
    programs = [line.split() for line in text.splitlines()
                if re.match(r"^\w+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+|-)\s", line)]
    totals = {"cpython": 0.0, "nbagents": 0.0, "process": 0.0, "smolagents": 0.0}
    for row in programs:
        for key, cell in zip(totals, row[1:5]):
            totals[key] += float(cell) if cell != "-" else float("nan")
    nb_cpy = re.search(r"nbagents/cpython = ([\d.]+)x", text)
    smol_nb = re.search(r"smolagents/nbagents = ([\d.]+)x", text)
    child = re.search(r"first run of a fresh child \(start \+ run\) (\d+) ms", text)
    n = len(programs)
    rows = [
        (f"interpreter: {n} agent-style programs, total of best-of-{args.repeat} times",
         f"{totals['nbagents']:.0f} ms", f"{totals['smolagents']:.0f} ms", DASH, f"{totals['cpython']:.1f} ms",
         f"geo. mean: nbagents {nb_cpy.group(1) if nb_cpy else '?'}× CPython; "
         f"smolagents/nbagents {smol_nb.group(1) if smol_nb else '?'}×"),
        ("interpreter in process isolation (warm child), same programs", f"{totals['process']:.0f} ms",
         DASH, DASH, DASH, f"a fresh child starts and runs in {child.group(1) if child else '?'} ms"),
    ]
    return rows, ["interpreter_bench.py said:", *("    " + line for line in text.rstrip().splitlines())]


# --- MCP tools: bench/mcp_bench.py -----------------------------------------------------------------


def mcp_rows(args) -> tuple[list, list[str]]:
    done = subprocess.run([sys.executable, str(HERE / "mcp_bench.py"), "--starts", str(args.repeat)],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1][:80]
        return [("MCP tools (mcp-server-time)", "failed", DASH, DASH, DASH, last)], []
    text = done.stdout
    start = re.search(r"list its tools \(mcp-server-time, median of (\d+)\): ([\d.]+) s", text)
    call = re.search(r"through the interpreter\s+([\d.]+) ms\s+([\d.]+) ms\s+([\d.]+)x", text)
    rows = [
        (f"MCP: start mcp-server-time over stdio and list its tools (median of {start.group(1) if start else '?'})",
         f"{start.group(2)} s" if start else "?", DASH, DASH, DASH, ""),
        ("MCP: one tool call through the interpreter (get_current_time)",
         f"{call.group(1)} ms" if call else "?", DASH, DASH, DASH,
         f"a Python @tool doing the same: {call.group(2)} ms ({call.group(3)}×)" if call else ""),
    ]
    return rows, ["mcp_bench.py said:", *("    " + line for line in text.rstrip().splitlines())]


# --- the first cell of a kernel: bench/first_cell_bench.py ----------------------------------------


def first_cell_rows(args) -> tuple[list, list[str]]:
    done = subprocess.run([sys.executable, str(HERE / "first_cell_bench.py"), "--threads", str(args.threads)],
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1][:80]
        return [("first %%agent cell of a fresh kernel", "failed", DASH, DASH, DASH, last)], []
    rows = []
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] and cells[1][0].isdigit():
            rows.append((cells[0], cells[1], DASH, DASH, DASH, cells[2]))
    return rows, ["first_cell_bench.py said:", *("    " + line for line in done.stdout.rstrip().splitlines())]


# --- the embedded model in-process vs behind real servers: bench/servers_bench.py ---------------


def servers_rows(args) -> tuple[list, list[str]]:
    done = subprocess.run([sys.executable, str(HERE / "servers_bench.py"), "--threads", str(args.threads),
                           "--max-new-tokens", str(args.max_new_tokens)],
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1][:80]
        return [("in-process vs llama.cpp server vs transformers serve", "failed", DASH, DASH, DASH, last)], []
    rows, titles = [], []
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or set(cells[1]) <= {"-"}:
            continue
        if cells[0] == "measurement":
            titles = cells[2:]
            continue
        notes = "; ".join(f"{title}: {cell}" for title, cell in zip(titles, cells[2:]))
        rows.append((f"in-process vs servers: {cells[0]}", cells[1], DASH, DASH, DASH, notes))
    return rows, ["servers_bench.py said:", *("    " + line for line in done.stdout.rstrip().splitlines())]


# --- formatting ----------------------------------------------------------------------------------


def ms(x) -> str:
    if x is None:
        return "not installed"
    return f"{x * 1e3:.0f} ms" if isinstance(x, float) else str(x)


def sec(x) -> str:
    return f"{x:.2f} s" if isinstance(x, (int, float)) else DASH


def ratio(theirs, ours, unit: str = "×") -> str:
    if not theirs or not ours:
        return ""
    return f"smolagents/nbagents = {theirs / ours:.1f}×" if unit else f"nbagents uses {ours / theirs:.2f} of it"


def ratio_note(values: dict, ours: str) -> str:
    base = values[ours]
    parts = [f"{name} {v / base:.1f}×" for name, v in values.items()
             if name != ours and isinstance(v, float) and isinstance(base, float) and base > 0]
    return ("vs nbagents: " + ", ".join(parts)) if parts else ""


HEADER = ("measurement", "nbagents", "smolagents", "jupyter_ai_magics", "CPython", "notes")


def table(rows: list) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * len(HEADER)) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per import figure (and interpreter runs)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both agents' model")
    parser.add_argument("--peers-venv", default=str(PEERS_VENV), help="venv with jupyter-ai-magics")
    parser.add_argument("--no-model", action="store_true", help="skip the model rows (the slow part)")
    parser.add_argument("--no-install", action="store_true", help="never create the peers venv")
    args = parser.parse_args()
    started = time.perf_counter()

    peer, where = peers_python(args)
    header = machine_lines(peer)
    print("\n".join(header), flush=True)
    rows, notes = [], []
    for part in (import_rows, model_rows, first_cell_rows, interpreter_rows, mcp_rows, servers_rows):
        if part in (model_rows, first_cell_rows, servers_rows) and args.no_model:
            continue
        print(f"(measuring: {part.__name__.removesuffix('_rows')} ...)", file=sys.stderr, flush=True)
        new_rows, new_notes = part(args, peer) if part is import_rows else part(args)
        rows += new_rows
        notes += new_notes
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print()
    print(table(rows))
    print()
    print(f"jupyter_ai_magics ran from: {where}. Load average at the end: {load}. "
          f"Whole run: {time.perf_counter() - started:.0f} s.")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
