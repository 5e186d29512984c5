"""Time zones named in a task, as the IANA names that time tools take ("Paris" -> ``Europe/Paris``,
"New York" -> ``America/New_York``, "Japan" -> ``Asia/Tokyo``, "UTC").

The names come from the system's time zone database (:func:`zoneinfo.available_timezones`) and,
for countries, its ``zone.tab`` and ``iso3166.tab`` (in ``zoneinfo.TZPATH`` or PyPI's ``tzdata``);
nothing here lists places by hand. A zone's key is its last part read as words (``New_York`` ->
"new york"); a country's key is its name in ``iso3166.tab`` and the zone is the first that
``zone.tab`` lists for it (the most populous by the file's convention). Without a database the
index is empty and nothing is found.

A place written in lower case counts only after a preposition ("in paris"), so that everyday
words that happen to name a zone ("the south", "a general rule") are no zones; a few zone keys
that are everyday words even capitalised ("Central", "Eastern", "Christmas") are left out.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from functools import lru_cache
from pathlib import Path

__all__ = ["ZoneMention", "find_zones", "zone_index"]

#: Old aliases under these folders name regions, not places ("US/Eastern", "Canada/Pacific").
_SKIP = ("Etc/", "SystemV/", "posix/", "right/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/")
#: Zone keys that are everyday words or people's names, even capitalised.
_AMBIGUOUS = frozenset(
    "act center central christmas east eastern easter general mountain north south west pacific atlantic "
    "continental knox oral wake troll virgin jersey victoria davis casey palmer mawson vostok syowa rothera "
    "macquarie lindeman currie beulah georgia".split())
_ABBREVIATIONS = ("UTC", "GMT")
_PREPOSITIONS = frozenset({"in", "from", "to", "into", "for", "at", "of"})
_MAX_WORDS = 4


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


def _tab_lines(name: str) -> list[list[str]]:
    for root in zoneinfo.TZPATH:
        path = Path(root) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            break
    else:
        try:
            from importlib.resources import files

            text = (files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
        except Exception:
            return []
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def zone_index() -> dict[str, tuple[str, ...]]:
    """Place name (lower case, accents and ``_`` removed) -> IANA zone names, the likeliest
    first; built once from the system's time zone database."""
    try:
        names = zoneinfo.available_timezones()
    except Exception:  # no database
        names = set()
    index: dict[str, list[str]] = {}

    def add(key: str, zone: str) -> None:
        if key and zone not in index.setdefault(key, []):
            index[key].append(zone)

    # Area/City before Area/Sub/City ("Indianapolis": America/Indianapolis is an alias but valid)
    for zone in sorted(names, key=lambda z: (z.count("/") != 1, z)):
        if zone.startswith(_SKIP) or "/" not in zone:
            continue
        add(_key(zone), zone)  # the IANA name written out
        last = _key(zone.rsplit("/", 1)[-1])
        if last not in _AMBIGUOUS:
            add(last, zone)
    countries: dict[str, list[str]] = {}
    for row in _tab_lines("iso3166.tab"):  # "Britain (UK)" -> "britain", "uk"
        if len(row) >= 2:
            m = re.fullmatch(r"(.*?)\s*\((.*)\)", row[1])
            keys = [m.group(1), m.group(2)] if m and m.group(2).isupper() else [row[1]]
            countries[row[0]] = [k for k in map(_key, keys) if k not in _AMBIGUOUS]
    for row in _tab_lines("zone.tab"):
        if len(row) >= 3 and row[2] in names:
            for key in countries.get(row[0], ()):
                add(key, row[2])
    for abbreviation in _ABBREVIATIONS:
        if abbreviation in names:
            index[abbreviation.lower()] = [abbreviation]
    return {k: tuple(v) for k, v in index.items()}


class ZoneMention(tuple):
    """``(zone, start, end, text)``: an IANA zone and where the task names it."""

    __slots__ = ()

    def __new__(cls, zone: str, start: int, end: int, text: str) -> ZoneMention:
        return tuple.__new__(cls, (zone, start, end, text))

    zone = property(lambda self: self[0])
    start = property(lambda self: self[1])
    end = property(lambda self: self[2])
    text = property(lambda self: self[3])


_WORD = re.compile(r"[A-Za-z]+/[A-Za-z_/+-]*[A-Za-z]|[^\W\d_]+(?:['’.][^\W\d_]+)*")


def find_zones(text: str) -> list[ZoneMention]:
    """The zones ``text`` names, in its order, each once: IANA names written out
    ("Europe/Paris"), places ("Paris", "New York", "São Paulo"), countries ("Japan"), "UTC" and
    "GMT". The longest name wins ("Mexico City" is not "Mexico")."""
    index = zone_index()
    if not index or not text:
        return []
    words = list(_WORD.finditer(text))
    out: list[ZoneMention] = []
    seen: set[str] = set()
    i = 0
    while i < len(words):
        found = None
        for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            first, last = words[i], words[i + n - 1]
            span = text[first.start():last.end()]
            if n > 1 and not re.fullmatch(r"[^\W\d_]+(?:[\s\-]+[^\W\d_]+)*", span.replace("'", "").replace(".", "")):
                continue  # the words of a place are next to each other
            zones = index.get(_key(span))
            if not zones:
                continue
            if "/" in span or span.upper() in _ABBREVIATIONS:
                if span.upper() in _ABBREVIATIONS and not span.isupper():
                    continue  # "gmt" in lower case is not said as a zone
            elif not span[0].isupper():
                before = text[:first.start()].split()
                if not before or before[-1].lower().strip(",") not in _PREPOSITIONS:
                    continue  # lower case only after a preposition ("in paris")
            found = (n, zones[0], first.start(), last.end(), span)
            break
        if found is None:
            i += 1
            continue
        n, zone, start, end, span = found
        if zone not in seen:
            seen.add(zone)
            out.append(ZoneMention(zone, start, end, span))
        i += n
    return out
