"""What a task states, as values a program's arguments can be grounded in (pure, no torch).

:func:`task_values` reads a task ("Rotate the photo by ninety degrees and write 'hello' on it")
into a :class:`TaskValues`: its numbers with their units, relative amounts as factors ("half as
loud" -> 0.5, "30% quieter" -> 0.7), quoted text, text after a colon, questions, URLs, email
addresses, file names, languages, colours, capitalised names and "A or B" alternatives. With the
previous chat turn's calls (:func:`calls_of` reads them from its code), relative amounts applied to
their arguments make candidates too ("Now make it twice as long." after ``make_tone(duration=1)``
-> ``duration`` 2).

:data:`PARAMETER_KINDS` is the one table that says which of those values a tool parameter takes,
from the words of its name and its type (``degrees``/``angle`` take degrees, ``url``/``link``
URLs, ``src_lang`` the source language...). :meth:`TaskValues.literals` gives a parameter's
candidates as Python literals; the program grammar restricts the parameter to them when there
are any (:mod:`nbagents.grammar.lines`).

Words that are not values do not become values: "a picture" is no 1, "the two photos" counts
inputs and is no 2, "the second clip" is no time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..parsing import calls_of
from .zones import find_zones

__all__ = [
    "CHOICE_WORDS",
    "WEAK_CHOICE_WORDS",
    "PARAMETER_KINDS",
    "Amount",
    "Derived",
    "Factor",
    "Language",
    "Zone",
    "TaskValues",
    "STATED_KINDS",
    "calls_of",
    "parameter_kind",
    "stated_fit",
    "task_values",
]


# --- the values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    """A number the task states: ``value`` in ``unit`` (``"degrees"``, ``"seconds"``,
    ``"pixels"``, ``"percent"``, ``"hertz"``, a counted noun such as ``"sentence"``, or ``""``),
    with ``axis`` ``"width"``/``"height"`` where the task says ("64 wide"), and ``delta`` +1/-1
    for a change ("3 seconds longer")."""

    value: float
    unit: str = ""
    text: str = ""
    axis: str = ""
    delta: int = 0
    #: ``"start"`` ("from 1", "after 2 seconds") or ``"end"`` ("to 2.5", "the first 2 seconds") of
    #: a span, where the words before the number say.
    role: str = ""


@dataclass(frozen=True)
class Factor:
    """A relative amount as a factor ("half as loud" -> 0.5), and the dimension it is about
    when the task says (``"volume"``, ``"seconds"``, ``"pixels"``, ``"hertz"``, ``"speed"``)."""

    value: float
    text: str = ""
    dimension: str = ""


@dataclass(frozen=True)
class Derived:
    """A value for parameter ``param``, from the previous turn's argument and a relative amount
    of this task ("twice as long" after ``duration=1`` -> ``duration`` 2)."""

    param: str
    value: Any
    text: str = ""


@dataclass(frozen=True)
class Language:
    """A language the task names; ``role`` is ``"source"`` ("from Spanish", "the Spanish
    text"), ``"target"`` ("into French") or ``""``."""

    name: str
    role: str = ""


@dataclass(frozen=True)
class Zone:
    """A time zone the task names, as its IANA name (``"Europe/Paris"`` for "Paris",
    ``"America/New_York"`` for "New York", ``"UTC"``); ``role`` is ``"source"`` ("from London",
    "9am in London") or ``"target"`` ("to Tokyo", "in Tokyo time") or ``""``."""

    name: str
    role: str = ""
    text: str = ""


@dataclass(frozen=True)
class TaskValues:
    """What a task states (see :func:`task_values`); every field is a tuple in the task's order."""

    numbers: tuple[Amount, ...] = ()
    factors: tuple[Factor, ...] = ()
    derived: tuple[Derived, ...] = ()
    quoted: tuple[str, ...] = ()
    after_colon: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    languages: tuple[Language, ...] = ()
    zones: tuple[Zone, ...] = ()
    #: Clock times the task states, as 24-hour ``"HH:MM"`` ("9am" -> ``"09:00"``).
    clock_times: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    options: tuple[tuple[str, ...], ...] = ()
    #: The task's words, lower case (for :meth:`choices`).
    words: frozenset[str] = field(default=frozenset(), repr=False)
    #: The previous turn's calls: (tool name, ((argument, literal value), ...)).
    previous: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = field(default=(), repr=False)

    def __bool__(self) -> bool:
        return any(getattr(self, f) for f in _SHOWN)

    def literals(self, name: str, ptype: str, *, carry: bool = True) -> tuple[str, ...]:
        """The candidates for a parameter ``name`` of type ``ptype`` as Python literal source
        (``90``, ``0.5``, ``"hello"``, ``["spam", "not spam"]``), best first; empty when the task
        states nothing that fits it (the parameter then stays free). ``carry``: when it states
        nothing, the previous turn's values of the same argument."""
        kind, role = parameter_kind(name, ptype)
        out: list[Any] = []
        if kind == "flag":
            said = self._flag(name)
            return () if said is None else (str(said),)
        if kind in _NUMBER_KINDS:
            out = self._numbers(name, kind, integer=ptype == "int")
        elif kind:
            out = self._strings(kind, role)
        if not out and carry:  # the previous turn's value of the same argument carries over
            out = [v for v in self._previous(name) if _fits_type(v, ptype)]
        if not out and carry and kind == "language":  # a language the task does not state: a real one
            excluded = set(self.excluded(name, ptype))
            out = [n for n in dict.fromkeys(_LANGUAGES.values()) if n not in excluded]
        texts = [_literal(v, integer=ptype == "int") for v in out]
        return tuple(dict.fromkeys(t for t in texts if t))

    def choices(self, name: str, ptype: str, choices: Sequence[Any]) -> tuple[Any, ...]:
        """The ``choices`` of a parameter (its ``Literal[...]`` values) the task states: named
        ("vertically" -> ``"vertical"``), or failing that said in everyday words
        (:data:`CHOICE_WORDS`: "left to right" -> ``"horizontal"``), or numbers it states for
        the parameter ("half" -> ``0.5``); empty when it states none (all stay allowed)."""
        texts = [c for c in choices if isinstance(c, str)]
        named = tuple(c for c in texts if any(_stem_match(w, c.lower()) for w in self.words))
        if named:
            return named
        said = tuple(c for c in texts if _CHOICE_WORDS.get(c.lower(), frozenset()) & self.words)
        if said:
            return said
        said = tuple(c for c in texts if WEAK_CHOICE_WORDS.get(c.lower(), frozenset()) & self.words)
        if said:
            return said
        numbers = {float(x) for x in self.literals(name, "float", carry=False)}
        return tuple(c for c in choices if isinstance(c, (int, float)) and not isinstance(c, bool)
                     and float(c) in numbers)

    def excluded(self, name: str, ptype: str) -> tuple[str, ...]:
        """Strings a free parameter may not take because the task gives them to another: a
        source-language parameter, when only the target language is stated, is not that language
        (and the other way round)."""
        kind, role = parameter_kind(name, ptype)
        if kind not in _ROLE_KINDS or not role or self.literals(name, ptype, carry=False):
            return ()
        other = "target" if role == "source" else "source"
        return tuple(x.name for x in self._roled(kind) if x.role == other)

    def _numbers(self, name: str, kind: str, *, integer: bool) -> list[float]:
        words = _name_words(name)
        out: list[float] = [d.value for d in self.derived if d.param == name]
        if kind == "factor":
            out += [f.value for f in self.factors]
        for a in self.numbers:
            if a.delta and any(d.param == name for d in self.derived):
                continue  # "3 seconds longer" was applied to the previous value
            if a.axis and a.axis in _AXES and a.axis not in words and _AXES - {a.axis} & words:
                continue  # "32 high" is no width
            if a.role and (a.role == "start" and words & _END_WORDS or a.role == "end" and words & _START_WORDS):
                continue  # "to 2.5 seconds" is no start
            if kind == "factor" and a.unit == "percent":
                out.append(a.value / 100)
            elif _fits(a, kind, words):
                out.append(a.value)
        if integer:
            out = [round(v) for v in out if abs(v - round(v)) < 1e-9]
        return out

    def _roled(self, kind: str) -> tuple[Language | Zone, ...]:
        return self.languages if kind == "language" else self.zones

    def _strings(self, kind: str, role: str) -> list[Any]:
        if kind in _ROLE_KINDS:
            items = self._roled(kind)
            by_role = {r: [x.name for x in items if x.role == r] for r in ("source", "target", "")}
            if role == "target":
                return by_role["target"] or [n for n in by_role[""] if n not in by_role["source"]]
            if role == "source":
                return by_role["source"] or [n for n in by_role[""] if n not in by_role["target"]]
            return [x.name for x in items]
        return list({
            "url": self.urls, "email": self.emails, "path": self.paths, "colour": self.colours,
            "clock": self.clock_times,
            "name": self.names, "options": [list(o) for o in self.options],
            "text": self._phrases() + self.after_colon,
            "question": self._phrases() + self.questions + self.after_colon,
        }.get(kind, ()))

    def _flag(self, name: str) -> bool | None:
        """``True``/``False`` for a yes/no parameter the task says in words ("highest first" ->
        ``descending``), else None."""
        words = _name_words(name)
        for flag, (yes, no) in FLAG_WORDS.items():
            if flag in words:
                return True if yes & self.words else False if no & self.words else None
        return True if words & self.words - _STOP else None

    def _phrases(self) -> tuple[str, ...]:
        """Quoted text that is no file name, URL or email address (those have their own kinds)."""
        other = set(self.paths) | set(self.urls) | set(self.emails)
        return tuple(q for q in self.quoted if q not in other)

    def _previous(self, name: str) -> list[Any]:
        if not (self.derived or _REPEAT & self.words):
            return []  # only a turn that changes the last call ("twice as long", "again") keeps its other values
        return [v for _, args in self.previous for k, v in args if k == name]

    def with_inputs(self, inputs: Mapping[str, Any]) -> TaskValues:
        """These values, plus what the task's relative amounts make of the inputs' own sizes:
        "half its size" of a 180x240 image is ``width`` 90 and ``height`` 120 (``size`` 120),
        "the first half" of a 3 s sound ends at 1.5 s."""
        factors = [f.value for f in self.factors if f.value > 0 and f.value != 1]
        if not factors:
            return self
        derived = list(self.derived)
        for name, value in inputs.items():
            size = getattr(value, "size", None)
            if isinstance(size, tuple) and len(size) == 2 and all(isinstance(x, int) for x in size):
                for f in factors:
                    w, h = max(1, round(size[0] * f)), max(1, round(size[1] * f))
                    text = f"{f:g} of {name}'s {size[0]}x{size[1]}"
                    derived += [Derived("width", w, text), Derived("height", h, text),
                                Derived("size", max(w, h), text)]
            seconds = getattr(value, "duration", None)
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
                for f in factors:
                    text = f"{f:g} of {name}'s {seconds:g} s"
                    derived += [Derived(p, round(seconds * f, 3), text) for p in ("end", "duration")]
        return replace(self, derived=_unique(derived))

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary (the fields that hold something), for the Run's facts."""
        out: dict[str, Any] = {}
        for f in _SHOWN:
            items = getattr(self, f)
            if not items:
                continue
            if f == "numbers":
                out[f] = [{"value": a.value, **({"unit": a.unit} if a.unit else {}),
                           **({"axis": a.axis} if a.axis else {}), **({"delta": a.delta} if a.delta else {}),
                           "text": a.text} for a in items]
            elif f == "factors":
                out[f] = [{"value": x.value, "text": x.text, **({"dimension": x.dimension} if x.dimension else {})}
                          for x in items]
            elif f == "derived":
                out[f] = [{"param": d.param, "value": d.value, "text": d.text} for d in items]
            elif f in ("languages", "zones"):
                out[f] = [x.name + (f" ({x.role})" if x.role else "") for x in items]
            else:
                out[f] = [list(x) if isinstance(x, tuple) else x for x in items]
        return out


#: Everyday words that name a choice without its own word (a choice -> words).
CHOICE_WORDS: dict[str, frozenset[str]] = {
    "horizontal": frozenset({"sideways", "left", "right", "mirror", "mirrored"}),
    "vertical": frozenset({"upside", "top", "bottom"}),
    # aggregates and comparisons (table tools)
    "sum": frozenset({"total", "totals", "altogether", "combined", "add", "sums", "summed"}),
    "mean": frozenset({"average", "averages", "avg"}),
    "max": frozenset({"maximum", "highest", "largest", "biggest", "most", "top", "longest", "oldest", "latest",
                      "heaviest", "hottest", "fastest", "priciest", "dearest", "best", "greatest", "tallest"}),
    "min": frozenset({"minimum", "lowest", "smallest", "least", "fewest", "cheapest", "shortest", "youngest",
                      "earliest", "lightest", "coldest", "slowest", "worst"}),
    "count": frozenset({"many", "number"}),
    ">": frozenset({"above", "over", "greater", "more", "exceeds", "exceeding", "exceed", "higher", "bigger",
                    "older", "larger", "longer", "later", "heavier", "taller", "hotter", "warmer", "dearer",
                    "pricier", "costlier", "richer", "faster", "wider", "deeper"}),
    "<": frozenset({"below", "under", "less", "fewer", "lower", "smaller", "younger", "shorter", "earlier",
                    "lighter", "cheaper", "colder", "cooler", "slower", "narrower", "shallower", "poorer"}),
    ">=": frozenset({"at_least", "or_more", "or_above", "or_over", "no_less"}),
    "<=": frozenset({"at_most", "or_fewer", "or_less", "or_below", "or_under", "no_more"}),
    "==": frozenset({"equals", "equal", "exactly"}),
    "!=": frozenset({"not", "except", "excluding", "aren", "isn", "wasn", "weren", "doesn", "don", "other"}),
}
_CHOICE_WORDS = CHOICE_WORDS
#: Yes/no parameters said in everyday words: a word of the parameter's name -> (words for ``True``,
#: words for ``False``). A flag with no entry is ``True`` when the task says a word of its name.
FLAG_WORDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "descending": (frozenset({"descending", "decreasing", "highest", "largest", "biggest", "greatest", "most",
                              "top", "newest", "latest", "reverse", "reversed"}),
                   frozenset({"ascending", "increasing", "lowest", "smallest", "least", "fewest", "earliest"})),
    "ascending": (frozenset({"ascending", "increasing", "lowest", "smallest", "least", "fewest", "earliest"}),
                  frozenset({"descending", "decreasing", "highest", "largest", "biggest", "greatest", "most",
                             "top", "newest", "latest"})),
}
#: Words that name a choice only when the task says no other choice in its own words ("region is
#: North" -> ``"=="``, but "units is below 10" -> ``"<"``).
WEAK_CHOICE_WORDS: dict[str, frozenset[str]] = {
    "==": frozenset({"is", "are", "was", "were", "from", "in", "for", "of", "with", "whose", "at", "by"})}


def _stem_match(word: str, choice: str) -> bool:
    """Whether a task word names a one-word choice ("vertically" -> "vertical")."""
    if " " in choice or len(choice) < 3:
        return word == choice
    return word == choice or (word.startswith(choice) and len(word) - len(choice) <= 3)


_SHOWN = ("numbers", "factors", "derived", "quoted", "after_colon", "questions", "urls", "emails", "paths",
          "languages", "zones", "clock_times", "colours", "names", "options")


# --- which values a parameter takes ---------------------------------------------------------------

_STR = ("str", "any")
_NUM = ("int", "float", "any")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: The one table: (value kind, parameter types, words of the parameter's name). The first row
#: whose types include the parameter's and whose words meet the words of its name (split at
#: ``_`` and case changes, plus the name run together: ``file_name`` -> ``filename``) says
#: what it takes. Number kinds are units: such a parameter takes the task's numbers in that unit
#: and those with none; ``factor`` takes relative amounts and percentages as factors.
PARAMETER_KINDS: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...] = (
    ("url", _STR, _words("url urls uri link links href website site webpage endpoint")),
    ("email", _STR, _words("email emails mail recipient recipients sender cc bcc")),
    ("path", _STR, _words("path paths file files filename filenames filepath fname folder directory dir")),
    ("language", _STR, _words("lang language languages locale")),
    ("timezone", _STR, _words("timezone timezones tz zone zones tzname")),
    ("clock", ("str",), _words("time clock hour")),
    ("colour", _STR, _words("color colour colors colours fill background foreground bg fg")),
    ("question", _STR, _words("question questions query ask")),
    ("options", ("list", "any"), _words("labels choices options categories classes candidates")),
    ("name", _STR, _words("name names person people who city place location author speaker username")),
    ("text", _STR, _words("text texts label prompt message caption sentence content body title subject "
                          "phrase quote")),
    ("degrees", _NUM, _words("degrees degree angle angles rotation deg")),
    ("seconds", _NUM, _words("duration seconds second secs sec start end time delay offset")),
    ("hertz", _NUM, _words("frequency freq pitch hz")),
    ("percent", _NUM, _words("percent percentage pct")),
    ("factor", _NUM, _words("factor scale ratio gain multiplier speed volume")),
    ("pixels", _NUM, _words("width height size x y left top right bottom pixels px radius margin padding "
                            "thickness")),
    ("number", ("int", "float"), frozenset()),  # any other number: the task's numbers without a unit
    ("flag", ("bool",), frozenset()),  # a yes/no the task says in words (:data:`FLAG_WORDS`)
)

_NUMBER_KINDS = frozenset(k for k, types, _ in PARAMETER_KINDS if "int" in types)
#: Kinds whose values have a role (a source and a target parameter take different ones).
_ROLE_KINDS = frozenset({"language", "timezone"})
_SOURCE = _words("src source from input original")
_TARGET = _words("tgt target to dest destination output into")
_AXES = frozenset({"width", "height"})


def _name_words(name: str) -> frozenset[str]:
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)
    words = {p.lower() for p in parts}
    return frozenset(words | {"".join(sorted(words, key=lambda w: name.lower().find(w)))})


def parameter_kind(name: str, ptype: str) -> tuple[str, str]:
    """The value kind a parameter takes (``""`` for none, ``"number"`` for a number of no
    particular unit) and, for languages, its role
    (``"source"``, ``"target"`` or ``""``), from :data:`PARAMETER_KINDS`."""
    words = _name_words(name)
    for kind, types, own in PARAMETER_KINDS:
        if ptype in types and (own & words or not own):
            role = ""
            if kind in _ROLE_KINDS:
                role = "source" if words & _SOURCE else "target" if words & _TARGET else ""
            return kind, role
    return "", ""


_REPEAT = frozenset({"again", "same", "likewise", "too", "before", "previous"})
_SPAN_START = frozenset({"from", "after", "starting", "since", "skip", "skipping"})
_SPAN_END = frozenset({"to", "until", "till", "through", "first", "thru"})
_START_WORDS = frozenset({"start", "begin", "beginning", "from", "offset"})
_END_WORDS = frozenset({"end", "stop", "until", "to", "finish"})


#: Value kinds that only the task can give: a clock time to convert, a URL to open, an address to
#: write to. A tool that needs one fits a task that states it better than one that does not.
STATED_KINDS = frozenset({"clock", "url", "email"})
#: Kinds that, stated, make a tool that takes them fit better (a place's time zone for a time tool);
#: unstated, they have a default the tool's description gives ("UTC").
_FITTING_KINDS = STATED_KINDS | {"timezone"}


def stated_fit(values: TaskValues, tool: Any) -> int:
    """How the task's stated values fit ``tool``'s required parameters of the kinds only a task
    gives (:data:`STATED_KINDS`, and time zones): ``1`` when it states a value for each of them,
    ``-1`` when it states none for one of :data:`STATED_KINDS`, else ``0`` (also for a tool with
    no such parameter)."""
    needed = [(p, parameter_kind(p.name, p.type)[0]) for p in getattr(tool, "inputs", ())
              if getattr(p, "required", False)]
    needed = [(p, kind) for p, kind in needed if kind in _FITTING_KINDS]
    if not needed:
        return 0
    stated = [(bool(values.literals(p.name, p.type, carry=False)), kind) for p, kind in needed]
    if all(ok for ok, _ in stated):
        return 1
    return -1 if any(not ok and kind in STATED_KINDS for ok, kind in stated) else 0


def _fits(amount: Amount, kind: str, words: frozenset[str]) -> bool:
    """Whether a number fits a parameter of this number kind and these name words: no unit, the
    kind's unit, a counted noun the name says ("3 sentences" -> ``num_sentences``), or a size
    along an axis for pixels."""
    unit = amount.unit
    if not unit or unit == kind:
        return True
    return bool({unit, unit + "s"} & words) or (kind == "pixels" and bool(amount.axis))


def _fits_type(value: Any, ptype: str) -> bool:
    if ptype == "str":
        return isinstance(value, str)
    if ptype in ("int", "float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "list":
        return isinstance(value, list)
    return ptype == "any"


def _literal(value: Any, *, integer: bool = False) -> str:
    """Python source of a value as the grammar writes it (canonical numbers, double quotes);
    ``""`` when the simple grammar cannot write it."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return ""
        if integer or float(value).is_integer():
            return str(int(round(value)))
        return repr(round(float(value), 6))
    if isinstance(value, str):
        if not value or '"' in value or "\\" in value or "`" in value or not value.isprintable():
            return ""
        return f'"{value}"'
    if isinstance(value, list):
        items = [_literal(v) for v in value]
        return "[" + ", ".join(items) + "]" if items and all(items) else ""
    return ""


# --- reading a task -------------------------------------------------------------------------------

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_FRACTIONS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
              "fourths": 4, "fifth": 5, "fifths": 5, "tenth": 10, "tenths": 10}
_MULTIPLES = {"twice": 2, "double": 2, "doubled": 2, "doubling": 2, "triple": 3, "tripled": 3, "thrice": 3,
              "treble": 3, "quadruple": 4, "quadrupled": 4}
_HALVE = {"halve", "halved", "halves", "halving"}
#: unit words -> (unit, multiplier to the unit)
_UNIT_WORDS = {
    "%": ("percent", 1), "percent": ("percent", 1), "pct": ("percent", 1),
    "second": ("seconds", 1), "seconds": ("seconds", 1), "sec": ("seconds", 1), "secs": ("seconds", 1),
    "ms": ("seconds", 0.001), "millisecond": ("seconds", 0.001), "milliseconds": ("seconds", 0.001),
    "minute": ("seconds", 60), "minutes": ("seconds", 60), "min": ("seconds", 60), "mins": ("seconds", 60),
    "hour": ("seconds", 3600), "hours": ("seconds", 3600),
    "degree": ("degrees", 1), "degrees": ("degrees", 1), "deg": ("degrees", 1), "°": ("degrees", 1),
    "pixel": ("pixels", 1), "pixels": ("pixels", 1), "px": ("pixels", 1),
    "hz": ("hertz", 1), "hertz": ("hertz", 1), "khz": ("hertz", 1000), "kilohertz": ("hertz", 1000),
}
#: Written right after digits only ("3s", "64p" is nothing).
_ATTACHED_UNITS = {"s": ("seconds", 1)}
_COUNTED = _words("photos images pictures pics clips files recordings sounds texts documents videos songs tracks "
                  "inputs audios reviews comments articles photo image picture clip file recording sound "
                  "document video song track")
_INCREASE = _words("louder more higher faster bigger larger longer taller wider brighter up increase increased "
                   "raise raised boost boosted amplify amplified grow enlarge enlarged stretch extend extended "
                   "lengthen")
_DECREASE = _words("quieter softer less lower slower smaller shorter narrower darker down decrease decreased "
                   "reduce reduced cut lowered shrink shrunk drop dim dimmer shorten quiet soft")
_DIMENSIONS = {
    **dict.fromkeys(_words("loud louder quiet quieter soft softer volume loudness"), "volume"),
    **dict.fromkeys(_words("long longer short shorter length duration lasting shorten lengthen"), "seconds"),
    **dict.fromkeys(_words("big bigger small smaller large larger wide wider narrow tall taller size tiny "
                           "enlarge shrink"), "pixels"),
    **dict.fromkeys(_words("pitch frequency"), "hertz"),
    **dict.fromkeys(_words("fast faster slow slower speed quick quicker"), "speed"),
}
_DIMENSION_KIND = {"volume": "factor", "speed": "factor", "seconds": "seconds", "pixels": "pixels",
                   "hertz": "hertz"}
_WIDTH = _words("wide width across")
_HEIGHT = _words("high height tall")
_STOP = _words("a an the and or of to in on at by for with from into as is it its this that these those "
               "them then than be was were has have his her their our your my me us you i not no")

_EXTENSIONS = ("txt md csv tsv json jsonl yaml yml toml xml html htm pdf doc docx xls xlsx ppt pptx odt rtf "
               "png jpg jpeg gif bmp webp tif tiff svg ico heic wav mp3 flac ogg oga m4a aac opus mp4 mov avi "
               "mkv webm py ipynb js ts sh zip tar gz tgz log npy npz parquet").split()
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'“”‘’`]+|\bwww\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s<>\"'“”‘’`]*")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PATH = re.compile(r"(?<![\w@/.-])((?:~|\.{1,2})?/?(?:[\w.-]+/)*[\w-][\w.-]*\.(?:" + "|".join(_EXTENSIONS)
                   + r"))(?![\w/-])", re.I)
_FILE_NAME = re.compile(r"[^\n/]*[\w-]\.(?:" + "|".join(_EXTENSIONS) + r")", re.I)  # a quoted file name
_QUOTED = re.compile(r"\"([^\"\n]{1,300})\"|“([^”\n]{1,300})”|‘([^’\n]{1,300})’|(?<![\w'])'([^'\n]{1,300}?)'(?![\w'])")
_BACKTICKED = re.compile(r"`[^`\n]*`")
_TOKEN = re.compile(r"\d+(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?|\.\d+|[A-Za-z]+|%|°|×|[-−]|[^\s\w]")
_TRAILING = ".,;:!?)]}>'\""

_LANGUAGES = {n.lower(): n for n in (
    "English French German Spanish Italian Portuguese Dutch Russian Chinese Mandarin Cantonese Japanese Korean "
    "Arabic Hindi Bengali Urdu Turkish Polish Swedish Norwegian Danish Finnish Greek Hebrew Czech Hungarian "
    "Romanian Ukrainian Vietnamese Thai Indonesian Malay Persian Farsi Swahili Catalan Bulgarian Croatian "
    "Serbian Slovak Slovenian Estonian Latvian Lithuanian Irish Welsh Latin Tamil Telugu Marathi Punjabi "
    "Gujarati Filipino Tagalog Icelandic Afrikaans Basque Galician Esperanto").split()}
_LOWER_AMBIGUOUS = {"polish", "latin"}  # verbs and adjectives in lower case
_COLOURS = _words("red green blue yellow orange purple pink black white gray grey brown cyan magenta violet "
                  "gold golden silver navy teal maroon beige turquoise indigo lime olive crimson lavender")
_NAME_STOP = _words("I OK Python Jupyter")


@dataclass
class _Tok:
    low: str
    text: str
    start: int
    end: int


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _number(t: _Tok) -> float | None:
    if t.low[:1].isdigit() or t.low[:1] == ".":
        try:
            return float(t.low.replace(",", ""))
        except ValueError:
            return None
    return None


class _Scanner:
    """Numbers and relative amounts, left to right over the task's words."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = [_Tok(m.group().lower(), m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        words = {t.low for t in self.toks}
        up, down = bool(words & _INCREASE), bool(words & _DECREASE)
        self.direction = 1 if up and not down else -1 if down and not up else 0
        self.numbers: list[Amount] = []
        self.factors: list[Factor] = []

    def low(self, i: int) -> str:
        return self.toks[i].low if 0 <= i < len(self.toks) else ""

    def adjacent(self, i: int) -> bool:
        """Whether token ``i`` follows token ``i - 1`` without a space."""
        return 0 < i < len(self.toks) and self.toks[i].start == self.toks[i - 1].end

    def span(self, i: int, j: int) -> str:
        return self.text[self.toks[i].start:self.toks[max(i, j - 1)].end]

    # numbers

    def words_number(self, i: int) -> tuple[float | None, int]:
        """A number in words from token ``i`` ("twenty-five", "a hundred", "two thousand and
        ten"): its value and the index after it."""
        total, current, j, last = 0.0, 0.0, i, ""
        if self.low(j) in ("a", "an") and self.low(j + 1) in ("hundred", "thousand", "dozen"):
            current, j, last = 1.0, j + 1, "unit"
        while j < len(self.toks):
            w = self.low(j)
            if w in _TENS and last in ("", "scale"):
                current, last = current + _TENS[w], "tens"
            elif w in _UNITS and (last in ("", "scale") or (last == "tens" and _UNITS[w] < 10)):
                current, last = current + _UNITS[w], "unit"
            elif w in ("-", "−") and last == "tens" and _UNITS.get(self.low(j + 1), 10) < 10:
                j += 1
                continue
            elif w == "hundred" and last in ("unit", "tens"):
                current, last = current * 100, "scale"
            elif w in ("thousand", "million") and last:
                total, current, last = total + (current or 1) * _SCALES[w], 0.0, "scale"
            elif w == "dozen" and last == "unit":
                current, last = current * 12, "scale"
            elif w == "and" and last == "scale" and (self.low(j + 1) in _UNITS or self.low(j + 1) in _TENS):
                j += 1
                continue
            else:
                break
            j += 1
        return (total + current, j) if last else (None, i)

    def number(self, i: int) -> tuple[float | None, int, bool]:
        """A number from token ``i`` (digits or words, a sign, "and a half", "point five"): its
        value, the index after it and whether it was written in words."""
        sign, k = 1.0, i
        w = self.low(k)
        if w in ("minus", "negative"):
            sign, k = -1.0, k + 1
        elif (w in ("-", "−") and k + 1 < len(self.toks) and self.adjacent(k + 1)
              and _number(self.toks[k + 1]) is not None):
            before = self.text[self.toks[k].start - 1] if self.toks[k].start else " "
            if before.isspace() or before in "(=":
                sign, k = -1.0, k + 1
        value = _number(self.toks[k]) if k < len(self.toks) else None
        worded = value is None
        j = k + 1
        if value is None:
            value, j = self.words_number(k)
            if value is None:
                return None, i, False
            if self.low(j) == "point" and _UNITS.get(self.low(j + 1), 10) < 10:
                digits = ""
                j += 1
                while _UNITS.get(self.low(j), 10) < 10:
                    digits += str(_UNITS[self.low(j)])
                    j += 1
                value = float(f"{int(value)}.{digits}")
        if self.low(j) == "and" and self.low(j + 1) in ("a", "an") and self.low(j + 2) in ("half", "quarter"):
            value += 0.5 if self.low(j + 2) == "half" else 0.25
            j += 3
        return sign * value, j, worded

    # the scan

    def dimension(self, j: int, before: int = -1) -> str:
        for k in range(j, min(j + 4, len(self.toks))):
            if self.low(k) in _DIMENSIONS:
                return _DIMENSIONS[self.low(k)]
        if before >= 0:
            for k in range(max(0, before - 3), before):
                if self.low(k) in _DIMENSIONS:
                    return _DIMENSIONS[self.low(k)]
        return ""

    def inverted(self, j: int) -> bool:
        """Whether "N times" at ``j`` is followed by a word that makes it smaller ("3 times
        quieter", "twice as slow")."""
        k = j + 1 if self.low(j) == "as" else j
        return self.low(k) in _DECREASE or self.low(k) in ("slow", "small", "short")

    def factor(self, value: float, i: int, j: int, *, by: bool = False) -> None:
        """Record a factor for words ``i..j``; ``by``: "by half", "by a third" (a change)."""
        if by and self.direction:
            value = 1 + self.direction * value
        elif value >= 1 and self.inverted(j):
            value = 1 / value
        self.factors.append(Factor(round(value, 6), self.span(i, j), self.dimension(j, i)))

    def scan(self) -> None:
        i = 0
        while i < len(self.toks):
            i = self.step(i)
        for n, (a, b) in enumerate(zip(self.numbers, self.numbers[1:])):  # "from 1 to 2.5 seconds"
            if a.role == "start" and b.role == "end" and not a.unit and b.unit:
                self.numbers[n] = replace(a, unit=b.unit)

    def step(self, i: int) -> int:
        w, nxt = self.low(i), self.low(i + 1)
        by = self.low(i - 1) == "by" or (self.low(i - 1) in ("a", "an", "one") and self.low(i - 2) == "by")
        if w == "upside" and nxt == "down":
            self.numbers.append(Amount(180.0, "degrees", self.span(i, i + 2)))
            return i + 2
        turn = 2 if nxt == "turn" else 3 if nxt == "a" and self.low(i + 2) == "turn" else 0
        if w in ("a", "one") and nxt == "quarter" and self.low(i + 2) == "turn":
            self.numbers.append(Amount(90.0, "degrees", self.span(i, i + 3)))
            return i + 3
        if w in ("quarter", "half") and turn:
            j = i + turn
            self.numbers.append(Amount(90.0 if w == "quarter" else 180.0, "degrees", self.span(i, j)))
            return j
        if w in _MULTIPLES:
            self.factor(float(_MULTIPLES[w]), i, i + 1)
            return i + 1
        if w in _HALVE:
            self.factor(0.5, i, i + 1)
            return i + 1
        if w == "half":
            if nxt in ("a", "an") and self.low(i + 2) in _UNIT_WORDS:
                unit, mult = _UNIT_WORDS[self.low(i + 2)]
                self.numbers.append(Amount(0.5 * mult, unit, self.span(i, i + 3)))
                return i + 3
            self.factor(0.5, i, i + 1, by=by)
            return i + 1
        if w in ("a", "an") and nxt in _FRACTIONS and nxt != "half" and not nxt.endswith("s") and not turn:
            self.factor(1 / _FRACTIONS[nxt], i, i + 2, by=by)
            return i + 2
        if w == "first" and nxt in _UNIT_WORDS and nxt in ("second", "minute", "hour"):
            unit, mult = _UNIT_WORDS[nxt]  # "the first second": the span ends after one
            self.numbers.append(Amount(float(mult), unit, self.span(i, i + 2), role="end"))
            return i + 2
        if w in ("a", "an") and nxt in ("minute", "hour", "millisecond"):
            unit, mult = _UNIT_WORDS[nxt]
            self.numbers.append(Amount(float(mult), unit, self.span(i, i + 2)))
            return i + 2
        if w == "factor" and nxt == "of":
            value, j, _ = self.number(i + 2)
            if value is not None and value > 0:
                if self.direction < 0 and value > 1:
                    value = 1 / value
                self.factors.append(Factor(round(value, 6), self.span(i, j), self.dimension(j, i)))
                return j
            return i + 1
        value, j, worded = self.number(i)
        if value is None:
            return i + 1
        return self.after_number(i, j, value, by=by, worded=worded)

    def after_number(self, i: int, j: int, value: float, *, by: bool, worded: bool) -> int:
        u = self.low(j)
        if u in ("st", "nd", "rd", "th") and self.adjacent(j):
            return j + 1  # "2nd": an ordinal
        if u in _FRACTIONS and u not in ("half", "halves") and value >= 1 and (u.endswith("s") or value == 1):
            self.factor(value / _FRACTIONS[u], i, j + 1, by=by)
            return j + 1
        if u in ("x", "×"):
            second, k, _ = self.number(j + 1)
            if second is not None:  # 64x32
                self.numbers.append(Amount(value, "pixels", self.span(i, k), "width"))
                self.numbers.append(Amount(second, "pixels", self.span(i, k), "height"))
                return k
        if (u == "times" or (u in ("x", "×") and self.adjacent(j))) and value > 0:
            self.factor(value, i, j + 1)
            return j + 1
        unit, mult, k = "", 1.0, j
        if u in ("-", "−") and self.low(j + 1) in _UNIT_WORDS and self.adjacent(j):  # "a one-second tone"
            j, u = j + 1, self.low(j + 1)
        if u == "per" and self.low(j + 1) == "cent":
            unit, k = "percent", j + 2
        elif u in _UNIT_WORDS:
            (unit, mult), k = _UNIT_WORDS[u], j + 1
        elif u in _ATTACHED_UNITS and self.adjacent(j) and not worded:
            (unit, mult), k = _ATTACHED_UNITS[u], j + 1
        text = self.span(i, k)
        if unit == "percent":
            relative = self.low(k) in _INCREASE | _DECREASE
            if relative or (by and self.direction):
                sign = (1 if self.low(k) in _INCREASE else -1) if relative else self.direction
                self.factors.append(Factor(round(1 + sign * value / 100, 6), self.span(i, k + relative),
                                           self.dimension(k, i)))
                return k + relative
            self.numbers.append(Amount(value, "percent", text))
            return k
        if not unit:
            if u in _COUNTED or (self.low(j + 1) in _COUNTED and u not in _STOP and u not in _UNIT_WORDS):
                return j + 1  # "the two photos": a count of inputs, not a value
            if worded and value <= 1:
                return j  # "one" alone is a pronoun ("into one"), "a" an article
            if u.isalpha() and u.endswith("s") and len(u) > 3 and u not in _STOP and u not in _INCREASE | _DECREASE:
                unit, k = u[:-1], j + 1  # "3 sentences": a counted noun
                text = self.span(i, k)
        axis = ""
        if self.low(k) in _WIDTH or self.low(k) in _HEIGHT:
            axis = "width" if self.low(k) in _WIDTH else "height"
            k += 1
        else:
            for b in range(max(0, i - 3), i):
                if self.low(b) in ("width", "height"):
                    axis = self.low(b)
        if axis and not unit:
            unit = "pixels"
        delta = 0
        if unit and self.low(k) in _INCREASE | _DECREASE and self.low(k) not in ("up", "down", "cut"):
            delta = 1 if self.low(k) in _INCREASE else -1
        if not axis and unit in ("", "pixels") and self.low(k) == "by":
            second, k2, _ = self.number(k + 1)
            if second is not None:  # "64 by 32"
                self.numbers.append(Amount(value * mult, "pixels", text, "width"))
                self.numbers.append(Amount(second, "pixels", self.span(k + 1, k2), "height"))
                return k2
        self.numbers.append(Amount(round(value * mult, 6), unit, self.span(i, k), axis, delta, self.role(i)))
        return k

    def role(self, i: int) -> str:
        """Whether the number at ``i`` starts or ends a span, from the words before it."""
        before = [self.low(b) for b in range(max(0, i - 2), i)]
        last = before[-1] if before else ""
        if last in _SPAN_START or before[-2:] == ["starting", "at"]:
            return "start"
        if last in _SPAN_END or before[-2:] == ["up", "to"]:
            return "end"
        return ""


def _unique(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(items))


def _strip(text: str) -> str:
    return text.rstrip(_TRAILING) if text else text


def _languages(toks: list[_Tok]) -> list[Language]:
    out = []
    for i, t in enumerate(toks):
        name = _LANGUAGES.get(t.low)
        if name is None:
            continue
        if t.low in _LOWER_AMBIGUOUS and (not t.text[0].isupper() or i == 0 or toks[i - 1].low in ".!?:"):
            continue  # "polish the text", "Polish it"
        before = toks[i - 1].low if i else ""
        after = toks[i + 1].low if i + 1 < len(toks) else ""
        if before == "from" or after in ("text", "sentence", "sentences", "words", "speech", "original"):
            role = "source"
        elif before in ("into", "to"):
            role = "target"
        elif before == "in" and i >= 2 and toks[i - 2].low == "(":
            role = "source"  # "the text (in Spanish)"
        else:
            role = ""
        out.append(Language(name, role))
    best: dict[str, Language] = {}
    for lang in out:  # one entry per language, the first role that says something
        if lang.name not in best or (not best[lang.name].role and lang.role):
            best[lang.name] = lang
    return list(best.values())


_CLOCK = re.compile(
    r"(?<![\w:.])(?:(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::[0-5]\d)?(?:\s*(?P<ap>[ap])\.?\s?m\b\.?)?"
    r"|(?P<h2>1[0-2]|0?[1-9])\s*(?P<ap2>[ap])\.?\s?m\b\.?|(?P<word>noon|midday|midnight))(?![\w:])",
    re.I)


def _clock_times(masked: str) -> list[tuple[int, int, str]]:
    """Clock times ("9am", "9:30 pm", "14:05", "noon") as ``(start, end, "HH:MM")``."""
    out = []
    for m in _CLOCK.finditer(masked):
        if m.group("word"):
            text = "00:00" if m.group("word").lower() == "midnight" else "12:00"
        else:
            hour = int(m.group("h") or m.group("h2"))
            minute = int(m.group("m") or 0)
            ap = (m.group("ap") or m.group("ap2") or "").lower()
            if ap and not 1 <= hour <= 12:
                continue
            if ap == "p" and hour != 12:
                hour += 12
            elif ap == "a" and hour == 12:
                hour = 0
            text = f"{hour:02d}:{minute:02d}"
        out.append((m.start(), m.end(), text))
    return out


def _zones(task: str, masked: str) -> list[Zone]:
    """The zones the task names, with roles: after "from" or next to a clock time the task
    states ("9am in London", "London's 9am") the source; after "to"/"into", or any other once a
    source is known, the target."""
    clocks = _clock_times(masked)
    out = []
    for mention in find_zones(masked):
        before = masked[:mention.start].split()
        word = before[-1].lower().strip(",") if before else ""
        near = any(0 <= mention.start - end <= 6 or 0 <= start - mention.end <= 8 for start, end, _ in clocks)
        role = "source" if word == "from" or near else "target" if word in ("to", "into") else ""
        out.append(Zone(mention.zone, role, mention.text))
    if any(z.role == "source" for z in out) and not any(z.role == "target" for z in out):
        out = [replace(z, role="target") if not z.role else z for z in out]
    return out


#: Two-word phrases that say one thing ("at least" is >=, not "least"), read as one word "at_least".
_PHRASES = frozenset({("at", "least"), ("at", "most"), ("or", "more"), ("or", "above"), ("or", "over"),
                      ("or", "fewer"), ("or", "less"), ("or", "below"), ("or", "under"), ("no", "less"),
                      ("no", "more")})


def _phrase_words(toks: list[_Tok]) -> frozenset[str]:
    return frozenset(f"{a.low}_{b.low}" for a, b in zip(toks, toks[1:]) if (a.low, b.low) in _PHRASES)


def _names(text: str, masked: str) -> list[str]:
    out = []
    for m in re.finditer(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b", masked):
        start = m.start()
        head = masked[:start].rstrip()
        if not head or head[-1] in ".!?:;\n\"'“(":
            words = m.group().split()
            if len(words) == 1:
                continue  # a sentence's first word
            start = m.start() + len(words[0]) + 1
            while start < m.end() and masked[start].isspace():
                start += 1
        name = text[start:m.end()]
        if name and name.lower() not in _LANGUAGES and name not in _NAME_STOP and name.lower() not in _UNIT_WORDS:
            out.append(name)
    return out


def _options(toks: list[_Tok]) -> list[tuple[str, ...]]:
    out = []
    articles = ("a", "an", "the")
    for i, t in enumerate(toks):
        if t.low != "or" or i == 0 or i + 1 >= len(toks):
            continue
        k = i + 1
        if toks[k].low in articles:
            k += 1
        if k >= len(toks) or not toks[k].low.isalpha():
            continue
        right = toks[k].text if toks[k].low != "not" or k + 1 >= len(toks) else f"not {toks[k + 1].text}"
        items = [right]
        b = i - 1
        while b >= 0:
            if not toks[b].low.isalpha() or toks[b].low in _STOP - {"not"}:
                break
            item = toks[b].text
            if b >= 1 and toks[b - 1].low == "not":
                item, b = f"not {item}", b - 1
            items.insert(0, item)
            b -= 1
            if b >= 0 and toks[b].low in articles:
                b -= 1
            if b >= 0 and toks[b].low == ",":
                b -= 1
                continue
            break
        words = [x.lower() for x in items]
        if len(items) >= 2 and all(w not in ("either", "whether") for w in words) and len(set(words)) == len(words):
            out.append(tuple(items))
    return out


def _derived(previous: Sequence[tuple[str, Mapping[str, Any]]], scanner: _Scanner) -> list[Derived]:
    out = []
    for tool, args in previous:
        for name, value in args.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            kind, _ = parameter_kind(name, "float")
            if kind == "factor":
                continue  # "half as loud again": the factor itself, applied to the last result
            for f in scanner.factors:
                if f.dimension and _DIMENSION_KIND.get(f.dimension) != kind:
                    continue
                out.append(Derived(name, _round(value * f.value), f"{f.text}: {name}={value!r} in {tool}()"))
            for a in scanner.numbers:
                if a.delta and a.unit == kind:
                    out.append(Derived(name, _round(value + a.delta * a.value), f"{a.text}: {name}={value!r} in {tool}()"))
    return out


def _round(value: float) -> float | int:
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def task_values(task: str, *, previous: str | Sequence[tuple[str, Mapping[str, Any]]] | None = None) -> TaskValues:
    """What ``task`` states, as a :class:`TaskValues`.

    Parameters
    ----------
    task:
        The task's text.
    previous:
        The previous chat turn's calls, ``[(tool name, {argument: value})]``, or its code (read
        with :func:`calls_of`): relative amounts of this task applied to their numbers become
        candidates for the same arguments, and their values carry over to arguments the task
        says nothing about.
    """
    task = task or ""
    calls = calls_of(previous) if isinstance(previous, str) else list(previous or ())
    urls = [(m.start(), m.end(), _strip(m.group())) for m in _URL.finditer(task)]
    emails = [(m.start(), m.end(), m.group()) for m in _EMAIL.finditer(task)]
    taken = _mask(task, [(a, b) for a, b, _ in urls + emails])
    quoted = []
    for m in _QUOTED.finditer(taken):
        inner = next(g for g in m.groups() if g is not None)
        if inner.strip():
            quoted.append((m.start(), m.end(), inner.strip()))
    taken = _mask(taken, [(a, b) for a, b, _ in quoted])
    paths = [(m.start(1), m.end(1), m.group(1)) for m in _PATH.finditer(taken)]
    backticks = [(m.start(), m.end()) for m in _BACKTICKED.finditer(task)]
    spans = [(a, b) for a, b, _ in urls + emails + paths + quoted] + backticks
    masked = _mask(task, spans)
    after = []
    m = re.search(r":\s+(\S.*)$", masked, re.S)
    if m:
        text = task[m.start(1):].strip()
        if text and not any(text.strip(" .").strip("'\"“”‘’") == q for _, _, q in quoted):
            after.append(text)
    questions = [s.strip() for s in re.split(r"(?<=[.!?])\s+", task) if s.strip().endswith("?")]
    scanner = _Scanner(masked)
    scanner.scan()
    toks = scanner.toks
    colours = [t.low for t in toks if t.low in _COLOURS] + re.findall(r"(?<![\w&])#[0-9a-fA-F]{6}\b", task)
    paths_all = [p for _, _, p in paths] + [q for _, _, q in quoted if _FILE_NAME.fullmatch(q.rsplit("/", 1)[-1])]
    return TaskValues(
        numbers=_unique(scanner.numbers), factors=_unique(scanner.factors),
        derived=_unique(_derived(calls, scanner)),
        quoted=_unique(q for _, _, q in quoted), after_colon=_unique(after), questions=_unique(questions),
        urls=_unique(u for _, _, u in urls), emails=_unique(e for _, _, e in emails), paths=_unique(paths_all),
        languages=_unique(_languages(toks)), zones=_unique(_zones(task, masked)),
        clock_times=_unique(t for _, _, t in _clock_times(masked)), colours=_unique(colours), names=_unique(_names(task, masked)),
        options=_unique(_options(toks)),
        words=frozenset(t.low for t in toks if t.low.isalpha()) | _phrase_words(toks),
        previous=tuple((tool, tuple(args.items())) for tool, args in calls),
    )
