"""A task's clauses, in the order the task wants them done.

"Make the photo grayscale, then rotate it" is two clauses; "Rotate it after making it grayscale"
is the same two, in the other order; "Draw rivers and lakes" is one ("and" joins two nouns, not
two actions). A clause starts a new step when it is joined by ``then``, ``;``, a sentence end,
``before`` / ``after``, or ``and`` / a comma followed by a verb. Verbs are recognised from a list
of common English imperatives (not from the toolbox), so nothing here knows the tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Clause", "clauses", "is_verb", "refers_back"]

# Common English verbs a request starts with (imperatives), by meaning groups; general English,
# not the toolbox's vocabulary.
_VERBS = frozenset("""
add adjust amplify analyse analyze animate answer append apply ask attach blur boost book brighten
build calculate call cancel caption change check classify clean clip colour color combine compare
compile compose compute concatenate convert copy count create crop cut darken decrease delete
describe detect determine display do double download draw drop duplicate edit email enlarge
estimate explain export extract fetch fill find fix flip format generate get give glue grab halve
highlight identify increase insert invert join keep label lengthen lighten list listen load locate
look lower make mark measure merge mirror mix move multiply mute name narrate normalise normalize
note open order outline paint paste pick place play post predict print produce pronounce put quiet
quieten raise read record reduce remove rename render repeat replace reply resize resample return
reverse rotate run save say scale scan score search segment select send set shorten show shrink
sing sketch slow sort speak speed split spin stack stitch store stretch subtract summarise summarize
swap take tell tilt tint transcribe transform translate trim turn type upload verify voice
watch write zoom
""".split())
_SUFFIXES = ("ing", "ed", "s", "es")


def is_verb(word: str) -> bool:
    """Whether ``word`` is (a form of) a common imperative verb."""
    w = word.lower()
    if w in _VERBS:
        return True
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) > len(suffix) + 2:
            stem = w[: -len(suffix)]
            if stem in _VERBS or stem + "e" in _VERBS or (len(stem) > 3 and stem[-1] == stem[-2]
                                                        and stem[:-1] in _VERBS):
                return True
    return False


_BACK = re.compile(r"\b(it|its|that|this|them|those|these|the result|the output|the same|again|instead)\b", re.I)


def refers_back(text: str) -> bool:
    """Whether ``text`` refers to something said or made before ("it", "that", "again")."""
    return bool(_BACK.search(text))


@dataclass(frozen=True)
class Clause:
    """One step a task asks for: its ``text`` and where it starts in the task (``start``)."""

    text: str
    start: int


# Joints that always start a new step, and joints that do when a verb follows.
_HARD = re.compile(r"(?:[.;!?](?=\s|$)|\bthen\b|\bfinally\b|\bafterwards\b|\balso\b)", re.I)
_SOFT = re.compile(r"(?:,\s*and\b|,|\band\b|\bplus\b)", re.I)
_FILLER = re.compile(r"^(?:\s|,|and\b|then\b|please\b|now\b|also\b|finally\b|first\b|afterwards\b)+", re.I)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”|‘[^’]*’|https?://\S+|\S+@\S+|\b[\w-]+\.\w{2,4}\b")


def _protected(task: str) -> list[tuple[int, int]]:
    """Spans a joint may not cut: quoted text, URLs, emails, file names."""
    return [m.span() for m in _QUOTED.finditer(task)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def _first_word(text: str) -> str:
    m = re.match(r"\s*([A-Za-z]+)(?![\w-])", text)
    return m.group(1) if m else ""


def _split(task: str) -> list[tuple[int, str]]:
    spans = _protected(task)
    cuts: list[tuple[int, int]] = []
    for m in _HARD.finditer(task):
        if not _inside(m.start(), spans):
            cuts.append(m.span())
    for m in _SOFT.finditer(task):
        if _inside(m.start(), spans) or any(a <= m.start() < b for a, b in cuts):
            continue
        if is_verb(_first_word(task[m.end():])):
            cuts.append(m.span())
    pieces, at = [], 0
    for a, b in sorted(cuts):
        if a < at:
            continue
        pieces.append((at, task[at:a]))
        at = b
    pieces.append((at, task[at:]))
    return pieces


def _tidy(start: int, text: str) -> tuple[int, str] | None:
    m = _FILLER.match(text)
    lead = m.end() if m else 0
    body = re.sub(r"(?:[\s,]+(?:and|or|then))+$", "", text[lead:].strip(" ,.;:!?\n\t"), flags=re.I)
    if not re.search(r"[A-Za-z]{2,}", body):
        return None
    return start + lead + (len(text[lead:]) - len(text[lead:].lstrip())), body


_BEFORE = re.compile(r"\s*,?\s*\bbefore\b\s*", re.I)
_AFTER = re.compile(r"\s*,?\s*\bafter\b\s*", re.I)


def _order(start: int, text: str) -> list[tuple[int, str]]:
    """``X before Y`` is X then Y; ``X after Y`` and ``After Y, X`` are Y then X."""
    m = _BEFORE.search(text)
    if m and m.start() > 0 and is_verb(_first_word(text[m.end():])):
        return [(start, text[: m.start()]), (start + m.end(), text[m.end():])]
    m = _AFTER.search(text)
    if m and is_verb(_first_word(text[m.end():])) or (m and m.start() == 0):
        head, tail = text[: m.start()], text[m.end():]
        if m.start() == 0:  # "After Y, X"
            y, _, x = tail.partition(",")
            if x.strip():
                return [(start + m.end(), y), (start + m.end() + len(y) + 1, x)]
            return [(start, text)]
        return [(start + m.end(), tail), (start, head)]
    return [(start, text)]


_COPY_BEFORE = re.compile(r"\b(?:a|an)\s+((?:[\w-]+\s+){0,3}?[\w-]+)\s+(?:copy|version)\s+of\s+"
                          r"(?:it|them|the\s+\w+|`?\w+`?)", re.I)
_COPY_ITS = re.compile(r"\bits\s+((?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:copy|version|image|twin)\b", re.I)
_COPY_AFTER = re.compile(r"\b(?:a|an)\s+(?:copy|version)\s+of\s+(?:it|them|the\s+\w+|\w+)\s+"
                         r"((?:turned|made|rotated|flipped|mirrored|shrunk|scaled|resized|cropped|in)\b[^,.;]*)", re.I)


def _copies(start: int, text: str) -> list[tuple[int, str]]:
    """"Put the photo next to a grayscale copy of it" is two steps: make the grayscale copy, then
    put the two side by side (a branch, then a join)."""
    for pattern in (_COPY_BEFORE, _COPY_ITS, _COPY_AFTER):
        m = pattern.search(text)
        if m and m.start() > 0:
            how = m.group(1).strip()
            if pattern is _COPY_AFTER:
                return [(start + m.start(1), f"make a copy {how}"), (start, text[: m.start()] + "it")]
            return [(start + m.start(1), f"make a {how} copy"), (start, text[: m.start()] + "it" + text[m.end():])]
    return [(start, text)]


_QUESTION = frozenset("what how which who whom whose when where why is are was were does do did can could "
                      "will would should may".split())


def _has_verb(text: str) -> bool:
    """Whether ``text`` starts as a request does, with a verb ("the outro, as one clip" does not)."""
    first = _first_word(text).lower()
    return is_verb(first) or first in _QUESTION


_MODIFIER = re.compile(r"(?:using|with|from|given|based on|for|by|in|on|as|like)\b", re.I)


def clauses(task: str) -> list[Clause]:
    """The steps ``task`` asks for, in the order it wants them done (at least one)."""
    out: list[Clause] = []
    for start, piece in _split(task):
        for s, part in (x for ordered in _order(start, piece) for x in _copies(*ordered)):
            tidy = _tidy(s, part)
            if tidy is not None:
                out.append(Clause(tidy[1], tidy[0]))
    merged: list[Clause] = []
    lead = False  # the last clause is only a leading phrase ("Using the text")
    for c in out:  # a leading phrase is part of the clause after it
        if merged and not lead and not _has_verb(c.text):  # "... and then the outro": no step of its own
            merged[-1] = Clause(f"{merged[-1].text}, {c.text}", merged[-1].start)
            continue
        if lead:
            merged[-1] = Clause(f"{merged[-1].text}, {c.text}", merged[-1].start)
            lead = False
            continue
        merged.append(c)
        lead = bool(_MODIFIER.match(c.text)) and not is_verb(_first_word(c.text))
    if not merged:
        merged.append(Clause(task.strip(), 0))
    return merged
