"""Which tools a task needs, clause by clause, and whether a ready tool can do each clause.

For every clause of the task (:func:`~nbagents.routing.clauses.clauses`) every tool the agent
knows of, ready or not (:func:`~nbagents.tools.catalogue.catalogue`), gets a score: the cosine
similarity of the clause and the tool's name and description under a sentence-embedding model
(meaning: "draw a picture" ↔ an image generator), plus a share of the word-stem relevance of
:mod:`nbagents.relevance` (exact words: ``crop``, ``thumbnail``), less a penalty when the tool
needs a kind of value (an image, a sound) that neither the inputs nor an earlier step provide.

A clause is *done by* its best ready tool, unless

* no tool scores :data:`FIT` or more: nothing fits (``NoToolError`` without a tool to get), or
* a tool that is not ready (weights not downloaded, an extra missing, no token) scores
  :data:`MARGIN` more than the best ready one: that tool would do it (``NoToolError`` naming it,
  what is missing and the command that gets it).

The :class:`Routing` holds the decision, the tools expected in the task's order (for the program
grammar) and every score (for the inspector). Without the embedding model the word scores decide
alone, and the Routing says so.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import NoToolError
from ..grammar.columns import Tables
from ..grammar.values import stated_fit, task_values
from ..kinds import kind_for_extension, takes_literal
from ..relevance import tool_relevance, words_match
from .clauses import clauses, refers_back
from .tablefit import has_condition, meant_columns, operations, table_fit

__all__ = ["FIT", "MARGIN", "ClauseRoute", "Routing", "route", "tool_text"]

#: The least score with which a tool fits a clause at all.
FIT = 0.30
#: How much better a tool that is not ready must fit than the best ready one to be needed.
MARGIN = 0.04
#: Weight of the word-stem relevance (1 = a word found in one tool's name alone).
WORDS = 0.15
#: Penalty for a tool whose required values of a kind (image, audio) nothing provides.
UNFED = 0.15
#: Penalty, in a task's first clause that names nothing at hand ("Draw me a picture of rivers":
#: no input, no "the ...", no "it", no file), for the tools that need an image or a sound to work on.
UNREFERENCED = 0.1
#: Bonus, in a chat turn that refers back ("now make it twice as long"), for the tools the
#: previous turn called.
FOLLOW_UP = 0.12
#: Bonus for a tool whose values only a task can give (a clock time, a URL, an email address) the
#: clause states, and penalty for one it states none for (:func:`~nbagents.grammar.values.stated_fit`).
STATED = 0.06
#: Weight of how fully a clause's table facts (columns, cell values, numbers, choices) fill a table
#: tool's parameters, with tables at hand (:func:`~nbagents.routing.tablefit.table_fit`).
TABLE_FIT = 0.4
#: Penalty, in a clause that names a file that exists, for the tools that open a file into another
#: kind than that file's ("Load weather.csv" is no image, and a table is more than its text). A
#: file that does not exist yet is one to write ("Save the tone to beep.wav").
MISFILED = 0.35
#: Nats per unit of score when the model picks among the ready tools (the program grammar's prior).
NATS = 12.0


_QUOTED = re.compile(r"'[^']+'|\"[^\"]+\"|“[^”]+”|‘[^’]+’")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+")
_FILE = re.compile(r"(?<![\w/])([\w./-]*[\w-])\.([A-Za-z0-9]{2,5})\b")
_TEXT_EXTENSIONS = frozenset({"txt", "md", "csv", "json", "html", "htm", "log", "rst", "xml", "yaml", "yml"})


def _file_kind(extension: str) -> str | None:
    kind = kind_for_extension("." + extension)
    if kind is not None:
        return kind.name
    return "str" if extension.lower() in _TEXT_EXTENSIONS else None


def mentioned_files(text: str) -> dict[str, str]:
    """File names in ``text`` and the kind of value each holds (``{"cat.png": "image"}``)."""
    out = {}
    for m in _FILE.finditer(_URL.sub(" ", _EMAIL.sub(" ", text))):
        kind = _file_kind(m.group(2))
        if kind is not None:
            out[m.group(0)] = kind
    return out


def masked(text: str) -> str:
    """``text`` with the values in it replaced by what they are (quoted text, web addresses,
    email addresses, file names): the words of a value say nothing about the tool ("Write 'hi' on
    it" is about writing, not about greeting)."""
    text = _QUOTED.sub("some text", text).replace("`", "")
    text = _URL.sub("a web page", text)
    text = _EMAIL.sub("an email address", text)
    names = {"image": "an image file", "audio": "a sound file", "str": "a text file"}
    return _FILE.sub(lambda m: names.get(_file_kind(m.group(2)) or "", "a file"), text)


_NUMBER = r"(?:\d+(?:\.\d+)?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|thousand)"
_ARITHMETIC = re.compile(
    rf"{_NUMBER}\s*(?:[-+*/x×÷^]|times|plus|minus|divided by|multiplied by|over|to the power of|percent of|% of)"
    rf"\s*{_NUMBER}|\b(?:square root|sum|product|average|mean|difference|total|factorial)\b.*{_NUMBER}", re.I)


_DEFINITE = re.compile(r"\b(?:the|this|that|these|those|my|your|our|his|her|their|its|it|them|both|each|"
                       r"every|same|given|attached|following|above|below)\b", re.I)


def names_nothing_at_hand(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` refers to no value at hand: no input named, nothing definite ("the
    photo", "it"), no file name. Such a clause asks for something new."""
    if _DEFINITE.search(text) or mentioned_files(text):
        return False
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return not any(n in words for n in names)


_THE_NOUN = re.compile(r"\b(?:the|that|this|its)\s+([a-z]+)\b", re.I)


def _previous_as_it(text: str, previous: Any) -> str:
    """``text`` with "the caption" (what the previous step made, named after its tool) said as
    "it": "translate the caption into German" is about translating, not captioning."""
    if previous is None:
        return text
    own = set(re.findall(r"[a-z]{3,}", str(getattr(previous, "name", "")).lower().replace("_", " ")))
    return _THE_NOUN.sub(lambda m: "it" if any(words_match(m.group(1).lower(), w) for w in own) else m.group(0), text)


_VALUES = re.compile(r"\d|'[^']+'|\"[^\"]+\"|“[^”]+”|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|half|twice|double|"
                     r"third|quarter)\b", re.I)


def states_values(text: str) -> bool:
    """Whether ``text`` states values of its own (numbers, quoted text)."""
    return bool(_VALUES.search(text))


def is_arithmetic(text: str) -> bool:
    """Whether ``text`` asks for plain arithmetic on numbers it states ("What is 6 times 7?"),
    which a program does without any tool."""
    return bool(_ARITHMETIC.search(text))


def tool_text(tool: Any) -> str:
    """What a tool's meaning is read from: its name in words and its description (argument names
    in backticks are kept as words)."""
    name = str(getattr(tool, "name", "")).replace("_", " ")
    description = str(getattr(tool, "description", "") or "").replace("`", "")
    return f"{name}: {description}".strip()


@dataclass(frozen=True)
class ClauseRoute:
    """One clause: its text, the best ready tool (``tool``), the not-ready tools that fit better
    (``needs``) and the scores of the best tools (name -> score, best first)."""

    text: str
    tool: str | None
    needs: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    fits: bool = True
    plain: bool = False  # arithmetic a program does without a tool


@dataclass(frozen=True)
class Routing:
    """The router's decision for one task; ``error`` is set when no ready tool can do it."""

    task: str
    clauses: tuple[ClauseRoute, ...]
    expected: tuple[str, ...]
    prior: Mapping[str, float]
    error: NoToolError | None = None
    method: str = "meaning+words"
    #: The schemas of the table files the task names (read before any tool ran), by file name.
    tables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def steps(self) -> tuple[str, ...]:
        """The tool of each routed clause, in order (a tool may come twice)."""
        return tuple(c.tool for c in self.clauses if c.tool)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly: for the Run's facts and the inspector."""
        return {
            "method": self.method,
            "decision": "no tool" if self.error is not None else "tools",
            "expected": list(self.expected),
            "clauses": [{"text": c.text, "tool": c.tool or ("(plain code)" if c.plain else None),
                         "needs": list(c.needs), "fits": c.fits,
                         "scores": {n: round(s, 3) for n, s in c.scores.items()}} for c in self.clauses],
            "thresholds": {"fit": FIT, "margin": MARGIN},
        }


def _required_kinds(tool: Any) -> set[str]:
    return {p.type for p in getattr(tool, "inputs", ()) if p.required and not takes_literal(p.type)}


def _similarities(encoder: Any, texts: Sequence[str], tool_texts: Sequence[str]) -> list[list[float]] | None:
    if encoder is None or not texts or not tool_texts:
        return None
    queries = encoder.encode(list(texts))
    docs = encoder.encode(list(tool_texts), cache=True)
    return (queries @ docs.T).tolist()


def route(task: str, entries: Sequence[Any], *, encoder: Any = None,
          input_kinds: Iterable[str] = (), previous_tools: Iterable[str] = (),
          chat: bool = False, input_names: Iterable[str] = (), tables: Tables | None = None,
          table_files: Mapping[str, Any] | None = None) -> Routing:
    """Decide which tools ``task`` needs, in order, from ``entries`` (catalogue entries: ``name``,
    ``ready``, ``missing``, ``command`` and the ``tool``).

    ``encoder`` embeds texts (``encode(texts) -> array`` of unit vectors; ``None``: words only);
    ``input_kinds`` are the kinds of the inputs and chat variables (``"image"``, ``"str"``...);
    ``previous_tools`` the tools the previous chat turn called; ``input_names`` the names of the
    inputs and chat variables; ``tables`` the schemas of the tables among them (and of
    ``table_files``: the table files the task names, by name, whose kind is then ``table``
    whatever their extension says).
    """
    table_files = dict(table_files or {})
    tables = tables or Tables()
    entries = [e for e in entries if getattr(e, "tool", None) is not None]
    by_name = {e.name: e for e in entries}
    tools = {e.name: e.tool for e in entries}
    parts = clauses(task)
    method = "meaning+words" if encoder is not None else "words"
    tool_texts = [tool_text(e.tool) for e in entries]
    unit = 2.0 * math.log(len(entries) + 1) if entries else 1.0
    available = set(input_kinds)
    previous = set(previous_tools)
    routes: list[ClauseRoute] = []
    prior: dict[str, float] = {}  # the grammar's tool prior, from every clause's full scores

    def steer(tool: str, scores: Mapping[str, float]) -> None:
        """Nats, for the step of ``tool``, of every ready tool by its score against the step's."""
        for name, score in scores.items():
            if by_name[name].ready:
                prior[name] = max(prior.get(name, -math.inf), NATS * (score - scores[tool]))

    last = None  # the tool of the step before
    for i, part in enumerate(parts):
        text = masked(_previous_as_it(part.text, tools.get(last)))
        sims = _similarities(encoder, [text], tool_texts)
        words = tool_relevance(tools, text)
        files = {f: "table" if f in table_files else k for f, k in mentioned_files(part.text).items()}
        existing = {k for f, k in files.items() if os.path.isfile(f)}
        follow_up = chat and refers_back(part.text)
        fresh = i == 0 and names_nothing_at_hand(part.text, input_names)
        stated = _without_names(task_values(part.text), [*input_names, *table_files])
        meant = meant_columns(encoder, masked(part.text), tables, skip=input_names) if tables else ()
        scores: dict[str, float] = {}
        for j, e in enumerate(entries):
            matched = min(1.0, words.get(e.name, 0.0) / unit)  # 1: a word found in one tool's name alone
            score = matched if sims is None else sims[0][j] + WORDS * matched  # words alone: they decide
            if not _required_kinds(e.tool) <= available | set(files.values()) | {"any"}:
                score -= UNFED
            if fresh and _required_kinds(e.tool) - {"any"}:
                score -= UNREFERENCED
            if follow_up and e.name in previous:
                score += FOLLOW_UP
            score += STATED * stated_fit(stated, e.tool) + TABLE_FIT * table_fit(e.tool, stated, tables, meant)
            opens = _opens(e.tool)
            if existing and opens and opens not in existing and (opens in _MEDIA or existing & _MEDIA):
                score -= 2 * MISFILED if "table" in existing else MISFILED  # a table is never just its text
            scores[e.name] = score
        ranked = sorted(scores, key=scores.get, reverse=True)
        ready = [n for n in ranked if by_name[n].ready]
        best_ready = ready[0] if ready else None
        top = ranked[0] if ranked else None
        fits = top is not None and scores[top] >= FIT
        ready_score = scores[best_ready] if best_ready else -1.0
        needs = tuple(n for n in ranked[:3] if not by_name[n].ready and scores[n] >= FIT
                      and scores[n] - ready_score >= MARGIN)
        chosen = best_ready if fits and not needs else None
        condition = None
        filtering = next((n for n in ready if _filters(tools[n])), None) if tables else None
        if filtering is not None and has_condition(stated, tables):
            # "How many Science Fiction books do we have?": the rows that meet the condition
            # first, then what the clause says to do with them, scored without the condition
            rescored = {n: scores[n] - TABLE_FIT * (table_fit(tools[n], stated, tables, meant)
                                                    - table_fit(tools[n], stated, tables, meant, condition=False))
                        for n in ready if not _filters(tools[n])}
            best = max(rescored, key=rescored.get) if rescored else None
            if operations(stated) and best is not None and rescored[best] >= FIT:
                chosen, condition = best, filtering
            elif chosen is not None and not _filters(tools[chosen]):
                if operations(stated) or getattr(tools[chosen], "output_type", None) == "image":
                    condition = filtering  # the mean of the rows that meet it, a chart of them
                else:
                    chosen = filtering  # nothing else said: the rows are the answer
            elif chosen is None and scores[filtering] >= FIT - MARGIN:
                chosen = filtering
        if chosen is None and not fits and is_arithmetic(part.text):  # plain code, no tool
            routes.append(ClauseRoute(part.text, None, (), {n: scores[n] for n in ranked[:6]}, True, plain=True))
            continue
        if chosen is not None:  # a file the task names, of a kind nothing else provides: open it first
            for kind in sorted(_required_kinds(tools[chosen]) - available - {"any"}):
                loader = _loader(kind, ready, tools)
                if loader is not None and kind in files.values():
                    routes.append(ClauseRoute(f"open {next(f for f, k in files.items() if k == kind)}",
                                              loader, (), {loader: scores[loader]}, True))
                    steer(loader, scores)
                    available.add(kind)
        previous_route = routes[-1] if routes else None
        if (chosen is None and not needs and previous_route is not None and previous_route.tool
                and ranked and ranked[0] == previous_route.tool):
            chosen = previous_route.tool  # "... and keep the rest": fits nothing else, says more of that step
        if (chosen is not None and previous_route is not None and previous_route.tool == chosen
                and not (states_values(part.text) and states_values(previous_route.text))):
            # "Find the cat and make a mask of it": two ways of saying one step
            routes[-1] = ClauseRoute(f"{previous_route.text}; {part.text}", chosen, previous_route.needs,
                                     previous_route.scores, True)
            steer(chosen, scores)
            continue
        if condition is not None:
            routes.append(ClauseRoute(f"{part.text} (the rows that meet its condition)", condition, (),
                                      {condition: scores[condition]}, True))
            steer(condition, scores)
            available.add(getattr(tools[condition], "output_type", "any"))
        routes.append(ClauseRoute(part.text, chosen, needs, {n: scores[n] for n in ranked[:6]}, fits))
        if chosen is not None:
            steer(chosen, scores)
        last = chosen or top  # what the step makes, even when its tool is not ready
        if chosen is not None:
            available.add(getattr(tools[chosen], "output_type", "any"))
    error = _error(routes, by_name)
    expected = tuple(dict.fromkeys(r.tool for r in routes if r.tool))
    prior = {n: v for n, v in prior.items() if v > -math.inf} if error is None else {}
    return Routing(task, tuple(routes), expected, prior, error, method, tables=table_files)


_MEDIA = frozenset({"image", "audio", "table"})


def _without_names(values: Any, names: Iterable[str]) -> Any:
    """``values`` without the words that name an input or a file (and their singulars): "the
    shortest trip in trips.json" names the table, not its ``trip_date`` column."""
    words = {w for n in names for w in re.findall(r"[a-z]+", str(n).rsplit(".", 1)[0].lower())}
    words |= {w[:-1] for w in words if w.endswith("s") and len(w) > 3}
    return replace(values, words=values.words - words) if words & values.words else values


def _filters(tool: Any) -> bool:
    """Whether a tool keeps the rows that meet a condition: it takes a table and a cell value."""
    params = list(getattr(tool, "inputs", ()))
    return any(p.type == "table" for p in params) and any(getattr(p, "value_of", "") for p in params)


def _opens(tool: Any) -> str | None:
    """The kind a tool opens a file into: its output kind, when it takes only literals, one of
    them a path or file name (``load_image`` -> ``"image"``); else None."""
    params = list(getattr(tool, "inputs", ()))
    if (params and not _required_kinds(tool)
            and any("path" in p.name or "file" in p.name for p in params if p.required)):
        return getattr(tool, "output_type", None)
    return None


def _loader(kind: str, ready: Sequence[str], tools: Mapping[str, Any]) -> str | None:
    """The best-scored ready tool that opens a file of ``kind``: it returns that kind and takes
    only literals, one of them a path or file name."""
    for name in ready:
        if _opens(tools[name]) == kind:
            return name
    return None


def _error(routes: Sequence[ClauseRoute], by_name: Mapping[str, Any]) -> NoToolError | None:
    for r in routes:
        if r.tool is not None or r.plain:
            continue
        closest = [n for n in r.scores if by_name[n].ready][:3]
        needed = [{"name": n, "missing": by_name[n].missing, "command": by_name[n].command} for n in r.needs]
        return NoToolError(r.text, needed=needed, closest=closest, scores=dict(r.scores))
    return None
