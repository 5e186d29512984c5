"""How well a tool's name and description match a task's words.

Used twice: prompt fitting keeps the most relevant tools when the prompt must shrink, and
constrained decoding adds the score to a tool's likelihood when the model picks a tool (a
135M model's likelihoods alone pick ``text_reader`` for "How many words are in the text?").

Words match when they are equal or share a stem (``translate`` / ``translator``, ``words`` /
``word_count``, ``loud`` / ``loudness``); each task word counts by how rare it is among the
tools (inverse document frequency), so ``image``, in a dozen tools, says little, and
``caption``, in one, says a lot. A word in the tool's name counts twice, and words in backticks
(argument names) do not count. No model, no network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .kinds import data_words

__all__ = ["NEXT_TOOL_NATS", "PRIOR_NATS", "choice_prior", "expected_tools", "task_prior", "task_words",
           "tool_relevance", "words_match"]

# Words that say nothing about which tool to use.
_STOP = frozenset("""
a an and any are as at be by can do does each for from get give how in into is it its me my
of on one or out please put so some than that the their them then there these this those to
two use using via was what when where which while who with you your make made new
""".split())
_MIN_STEM = 4
# Words that name the data rather than what to do with it ("the text", "the image": each kind's
# ``words`` in nbagents.kinds) count a quarter.
_DATA_WEIGHT = 0.25


def task_words(text: str) -> set[str]:
    """The lowercase words of ``text`` that can say which tool fits (3 letters or more)."""
    found = re.findall(r"[a-z]+", text.lower().replace("_", " "))
    return {w for w in found if len(w) >= 3 and w not in _STOP}


def _description_words(tool: Any) -> set[str]:
    """The description's words, less the `parameter names` in backticks (they name arguments,
    not what the tool does: `first` and `second` in "Join `first` and `second`")."""
    text = re.sub(r"`[^`]*`", " ", getattr(tool, "description", "") or "")
    return task_words(text)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def words_match(a: str, b: str) -> bool:
    """``a`` and ``b`` are the same word or share a stem: one is a prefix of 4+ letters of the
    other (``loud`` / ``loudness``), or they have a common prefix of 6+ letters (``summary`` /
    ``summarizer``, ``translate`` / ``translator``; not ``transcribe`` / ``translate``)."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= _MIN_STEM and long_.startswith(short):
        return True
    return _common_prefix(a, b) >= 6


def tool_relevance(tools: Mapping[str, Any] | Iterable[Any], task: str) -> dict[str, float]:
    """Each tool's relevance to ``task`` (0 when no word matches), by name.

    ``tools`` is a mapping of name to tool or an iterable of tools (with ``name`` and
    ``description``).
    """
    items = list(tools.values()) if isinstance(tools, Mapping) else list(tools)
    docs = {t.name: (task_words(t.name), _description_words(t)) for t in items}
    scores = dict.fromkeys(docs, 0.0)
    n = len(docs)
    if n == 0:
        return scores
    data = data_words()
    for word in task_words(task):
        hits = {}
        for name, (name_words, desc_words) in docs.items():
            if any(words_match(word, w) for w in name_words):
                hits[name] = 2.0
            elif any(words_match(word, w) for w in desc_words):
                hits[name] = 1.0
        if not hits:
            continue
        idf = math.log((n + 1) / len(hits)) * (_DATA_WEIGHT if word in data else 1.0)
        for name, weight in hits.items():
            scores[name] += weight * idf
    for t in items:  # a task that names the tool
        if re.search(rf"\b{re.escape(t.name)}\b", task):
            scores[t.name] += 5.0
    return scores


#: Nats of log-likelihood one unit of relevance is worth when a model picks a tool (tuned on
#: bench/constrain_bench.py's tasks with the embedded model).
PRIOR_NATS = 1.5
#: Extra nats for the next tool the task asks for (:func:`expected_tools`) at a tool choice.
NEXT_TOOL_NATS = 5.0


def task_prior(tools: Mapping[str, Any] | Iterable[Any], task: str, *, weight: float = PRIOR_NATS,
               scores: Mapping[str, float] | None = None) -> dict[str, float]:
    """:func:`tool_relevance` in nats, for constrained decoding's tool choice (zeros left out);
    ``scores`` is that relevance when already computed."""
    scores = tool_relevance(tools, task) if scores is None else scores
    return {name: weight * score for name, score in scores.items() if score}


def choice_prior(prior: Mapping[str, float], expected: Iterable[str], used: Iterable[str]) -> dict[str, float]:
    """The prior at one tool choice of a program or plan: each tool's own until it is used, and
    :data:`NEXT_TOOL_NATS` more for the first expected tool not used yet."""
    used = set(used)
    out = {n: v for n, v in prior.items() if n not in used}
    following = next((n for n in expected if n not in used), None)
    if following is not None:
        out[following] = out.get(following, 0.0) + NEXT_TOOL_NATS
    return out


_CHAIN = re.compile(r",\s*(?:and|then)\b|,|;|\bthen\b|\band\b|\bafter\b|\bbefore\b|\bfinally\b", re.I)


def _first_mention(tool: Any, task: str) -> int:
    """Where in ``task`` the first word that matches the tool's name or description stands."""
    own = task_words(tool.name) | _description_words(tool)
    for m in re.finditer(r"[a-z]+", task.lower()):
        w = m.group()
        if len(w) >= 3 and w not in _STOP and any(words_match(w, o) for o in own):
            return m.start()
    return len(task)


def expected_tools(tools: Mapping[str, Any] | Iterable[Any], task: str, *, floor: float = 0.7,
                   share: float = 0.25, scores: Mapping[str, float] | None = None) -> tuple[str, ...]:
    """The tools a task asks for one after the other ("Transcribe the audio, then translate
    it"), in the order the task mentions them.

    A tool is a candidate when it scores at least ``floor`` of a match of a word found in one
    tool's name alone, and ``share`` of the best score; the best candidates are kept, as many as
    the task has clauses (joined by ``,``, ``;``, "then", "and"...). Two or more must remain;
    otherwise nothing is expected (one tool is the model's to choose). ``scores`` is
    :func:`tool_relevance` when already computed.
    """
    items = {t.name: t for t in (tools.values() if isinstance(tools, Mapping) else tools)}
    scores = tool_relevance(items, task) if scores is None else scores
    top = max(scores.values(), default=0.0)
    unique_name_match = 2.0 * math.log(len(items) + 1)
    candidates = [n for n, v in scores.items() if v >= max(floor * unique_name_match, share * top)]
    clauses = 1 + len(_CHAIN.findall(task))
    chosen = sorted(candidates, key=scores.get, reverse=True)[:clauses]
    if len(chosen) < 2:
        return ()
    return tuple(sorted(chosen, key=lambda n: _first_mention(items[n], task)))
