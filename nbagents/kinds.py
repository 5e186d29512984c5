"""Value kinds: the one registry of the types values have between the model, tools and results.

A :class:`Kind` is everything nbagents knows about one type of value: its internal name
(``"image"``), how the model sees it (``Image`` in a tool signature), the result class that
holds it (``AgentImage``), the Python classes and annotations that are of it, whether a program
may write a literal for it, whether it is media (rendered, saved to a file), the file
extensions the CLI reads it from, and the words a task uses to name it. Prompts, grammars,
relevance, tools, the CLI and plan rendering all read this registry, so a new kind is one
:func:`register_kind` call plus its result class::

    register_kind(Kind("video", "Video", result="mypkg.results.AgentVideo", media=True,
                       types=("mypkg.video.Video",), extensions=(".mp4",), words=("video", "videos")))

Classes are named by dotted name (``"PIL.Image.Image"``) and compared with a value's MRO, so
nothing here imports PIL, soundfile or even :mod:`nbagents.results`: result classes are
imported only when :meth:`Kind.result_class` is asked for one.
"""

from __future__ import annotations

import importlib
import inspect
import threading
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError, closest_names

__all__ = [
    "Kind",
    "register_kind",
    "unregister_kind",
    "kinds",
    "kind_named",
    "kind_of",
    "kind_of_annotation",
    "kind_for_extension",
    "display_names",
    "takes_literal",
    "is_media",
    "data_words",
    "dotted_name",
]


def dotted_name(obj: Any) -> str:
    """``module.qualname`` of a class (``"PIL.Image.Image"``, ``"builtins.str"``)."""
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def _names(items: tuple) -> tuple[str, ...]:
    return tuple(item if isinstance(item, str) else dotted_name(item) for item in items)


@dataclass(frozen=True)
class Kind:
    """One kind of value.

    Parameters
    ----------
    name:
        The internal type name tools declare (``"image"``, ``"str"``); lower case.
    display:
        How the model sees the kind in tool signatures and input lists (``"Image"``);
        defaults to ``name``.
    result:
        The result class that holds a value of this kind (``AgentImage``), as a class or a
        dotted name imported on first use; ``None`` when values stay plain (``int``).
    literal:
        Whether a program may write a literal for a parameter of this kind (``"hi"``, ``3``,
        ``[1, 2]``); an image, a sound or bytes can only come from an input or a tool.
    media:
        Whether values are media: rendered by their mime bundle, saved to a file by the CLI,
        shown next to a plan's response.
    aliases:
        Other names that mean this kind in a tool's declared types (``"text"``, ``"AgentImage"``);
        matched without regard to case.
    types:
        Classes (or dotted names) whose instances are of this kind, and which, as annotations,
        mean it; a value's MRO is searched, so subclasses count.
    annotations:
        More classes that mean this kind as annotations only, bare or as a generic's origin
        (``tuple``, ``set`` and ``Iterable`` for ``list``).
    hints:
        Lower-case fragments of an annotation's ``module.qualname`` that mark this kind when
        nothing else matched (``"image"`` for any image class a library defines).
    extensions:
        File extensions (with the dot) whose files load as this kind (CLI ``--input``).
    words:
        Words of a task that name data of this kind rather than what to do with it
        (``"image"``, ``"images"``): tool relevance weighs them less.
    """

    name: str
    display: str = ""
    result: type | str | None = None
    literal: bool = False
    media: bool = False
    aliases: tuple[str, ...] = ()
    types: tuple[type | str, ...] = ()
    annotations: tuple[type | str, ...] = ()
    hints: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier() or self.name != self.name.lower():
            raise ConfigurationError(f"A kind's name must be a lower-case identifier, got {self.name!r}.",
                                     hint='Name it like "image" or "video"; put the shown name in display=.')
        set_ = object.__setattr__
        set_(self, "display", self.display or self.name)
        set_(self, "aliases", tuple(a.strip().lower() for a in self.aliases))
        set_(self, "types", _names(tuple(self.types)))
        set_(self, "annotations", _names(tuple(self.annotations)))
        set_(self, "hints", tuple(h.lower() for h in self.hints))
        set_(self, "extensions", tuple(e.lower() if e.startswith(".") else "." + e.lower()
                                       for e in self.extensions))
        set_(self, "words", tuple(w.lower() for w in self.words))

    @property
    def lookup_names(self) -> tuple[str, ...]:
        """Every name :func:`kind_named` resolves to this kind (lower case)."""
        return tuple(dict.fromkeys((self.name, self.display.lower(), *self.aliases)))

    def result_class(self) -> type | None:
        """The result class (imported on first use), or ``None``."""
        if self.result is None or isinstance(self.result, type):
            return self.result
        module, _, attr = self.result.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigurationError(f"The {self.name!r} kind's result class {self.result!r} cannot be imported: {e}",
                                     hint="Give result= as a class, or the dotted name of one that exists.") from e


@dataclass(frozen=True)
class _Index:
    """Lookup tables over the registered kinds (rebuilt whole on every change)."""

    ordered: tuple[Kind, ...]
    by_name: dict[str, Kind]
    by_type: dict[str, Kind]
    by_annotation: dict[str, Kind]
    by_extension: dict[str, Kind]
    words: frozenset[str]

    @classmethod
    def build(cls, ordered: tuple[Kind, ...]) -> _Index:
        by_name: dict[str, Kind] = {}
        by_type: dict[str, Kind] = {}
        by_annotation: dict[str, Kind] = {}
        by_extension: dict[str, Kind] = {}
        for kind in ordered:
            for n in kind.lookup_names:
                by_name.setdefault(n, kind)
            for t in kind.types:
                by_type.setdefault(t, kind)
            for t in (*kind.types, *kind.annotations):
                by_annotation.setdefault(t, kind)
            for e in kind.extensions:
                by_extension.setdefault(e, kind)
        words = frozenset(w for kind in ordered for w in kind.words)
        return cls(ordered, by_name, by_type, by_annotation, by_extension, words)


_BUILTIN = (
    Kind("str", result="nbagents.results.AgentText", literal=True, aliases=("text", "string", "agenttext"),
         types=(str,), hints=("agenttext",), words=("text",)),
    Kind("int", literal=True, aliases=("integer",), types=(int,)),
    Kind("float", literal=True, aliases=("number",), types=(float,)),
    Kind("bool", literal=True, aliases=("boolean",), types=(bool,)),
    Kind("list", literal=True, types=(list,),
         annotations=(tuple, set, frozenset, "collections.abc.Iterable")),
    Kind("dict", literal=True, types=(dict,), annotations=("collections.abc.Mapping",)),
    Kind("image", "Image", result="nbagents.results.AgentImage", media=True,
         aliases=("agentimage", "pil.image.image", "image.image"),
         types=("nbagents.results.AgentImage", "PIL.Image.Image"), hints=("image",),
         extensions=(".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"),
         words=("image", "images")),
    Kind("audio", "Audio", result="nbagents.results.AgentAudio", media=True, aliases=("agentaudio",),
         types=("nbagents.results.AgentAudio",), hints=("audio",),
         extensions=(".wav", ".flac", ".ogg", ".mp3"), words=("audio",)),
    Kind("table", "Table", result="nbagents.results.AgentTable", media=True,
         aliases=("agenttable", "dataframe", "pandas.dataframe"),
         types=("nbagents.results.AgentTable", "pandas.DataFrame", "pandas.Series",
                "pandas.core.frame.DataFrame", "pandas.core.series.Series"),  # pandas 3 names, then 2's
         hints=("dataframe",), extensions=(".csv", ".tsv", ".parquet", ".xlsx", ".xls"),
         words=("table", "tables", "dataframe", "csv")),
    Kind("bytes", types=(bytes,)),
    Kind("any", "Any", literal=True),
)
_BUILTIN_NAMES = frozenset(k.name for k in _BUILTIN)
_lock = threading.Lock()
_index = _Index.build(_BUILTIN)


def register_kind(kind: Kind, *, replace: bool = False) -> Kind:
    """Add ``kind`` to the registry and return it.

    A kind may not share a name, alias, type or extension with another; ``replace=True`` puts
    it in place of the kind of the same name and removes the (not built-in) kinds it shares
    something with.
    """
    global _index
    if not isinstance(kind, Kind):
        raise ConfigurationError(f"register_kind takes a Kind, got {type(kind).__name__}.",
                                 hint='Build one: Kind("video", "Video", result=..., media=True).')
    with _lock:
        current = _index
        shared = _shared(current, kind)
        exists = any(k.name == kind.name for k in current.ordered)
        if not replace and (shared or exists):
            what = "; ".join(f"{name}: {', '.join(items)}" for name, items in shared.items())
            raise ConfigurationError(f"The kind {kind.name!r} clashes with a registered kind: "
                                     f"{what or 'the same name'}.",
                                     hint="Choose other names, or pass replace=True to take their place.")
        if set(shared) & _BUILTIN_NAMES:
            raise ConfigurationError(f"The kind {kind.name!r} would remove built-in kinds: {sorted(shared)}.",
                                     hint="Replace a built-in kind under its own name, or choose other names.")
        kept = tuple(kind if k.name == kind.name else k for k in current.ordered if k.name not in shared)
        _index = _Index.build(kept if exists else (*kept, kind))
    return kind


def _shared(index: _Index, kind: Kind) -> dict[str, list[str]]:
    """Other kinds' names -> what ``kind`` shares with them (names, types, extensions)."""
    out: dict[str, list[str]] = {}
    tables = ((kind.lookup_names, index.by_name), ((*kind.types, *kind.annotations), index.by_annotation),
              (kind.extensions, index.by_extension))
    for keys, table in tables:
        for key in keys:
            other = table.get(key)
            if other is not None and other.name != kind.name:
                out.setdefault(other.name, []).append(repr(key))
    return out


def unregister_kind(name: str) -> Kind:
    """Remove the kind called ``name`` (not a built-in one) and return it."""
    global _index
    with _lock:
        current = _index
        found = next((k for k in current.ordered if k.name == name), None)
        if found is None:
            close = closest_names(name, (k.name for k in current.ordered))
            raise ConfigurationError(f"No kind is called {name!r}.",
                                     hint=f"Did you mean {', '.join(close)}?" if close else "See kinds().")
        if name in _BUILTIN_NAMES:
            raise ConfigurationError(f"The built-in kind {name!r} cannot be removed.",
                                     hint="Replace it with register_kind(Kind(...), replace=True).")
        _index = _Index.build(tuple(k for k in current.ordered if k.name != name))
    return found


def kinds() -> tuple[Kind, ...]:
    """The registered kinds, built-in ones first."""
    return _index.ordered


def kind_named(name: str) -> Kind | None:
    """The kind a type name, shown name or alias means (``"Image"``, ``"text"``), or ``None``."""
    return _index.by_name.get(name.strip().lower()) if isinstance(name, str) else None


def kind_of(value: Any) -> Kind | None:
    """The kind of a runtime value (by its class and the classes it derives from), or ``None``."""
    by_type = _index.by_type
    for cls in type(value).__mro__:
        kind = by_type.get(dotted_name(cls))
        if kind is not None:
            return kind
    return None


def _any() -> Kind:
    return _index.by_name["any"]


def kind_of_annotation(annotation: Any) -> Kind:
    """The kind a Python annotation or a declared type name means (the ``any`` kind when none).

    ``list[str]``, ``tuple`` and ``Iterable[int]`` are ``list``; ``Optional[X]`` is ``X``'s kind;
    ``Literal["a", "b"]`` is the kind of its values when they share one.
    """
    if annotation is inspect.Parameter.empty or annotation is None or annotation is Any:
        return _any()
    if isinstance(annotation, str):
        return kind_named(annotation) or _any()
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # Annotated[X, "table", ...]: a kind named in the metadata, else X's
        named = next((k for m in annotation.__metadata__ if isinstance(m, str) and (k := kind_named(m))), None)
        return named or kind_of_annotation(annotation.__origin__)
    if origin is typing.Literal:
        found = {kind_of_annotation(type(a)).name for a in typing.get_args(annotation)}
        return kind_named(found.pop()) if len(found) == 1 else _any()
    index = _index
    if origin is not None:
        kind = index.by_annotation.get(dotted_name(origin))
        if kind is not None:
            return kind
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kind_of_annotation(args[0]) if len(args) == 1 else _any()  # Optional[X]
    if isinstance(annotation, type):
        kind = index.by_annotation.get(dotted_name(annotation))
        if kind is not None:
            return kind
    qual = dotted_name(annotation).lower()
    return next((k for k in index.ordered if any(h in qual for h in k.hints)), None) or _any()


def kind_for_extension(suffix: str) -> Kind | None:
    """The kind whose files end in ``suffix`` (``".png"``, case-insensitive), or ``None``."""
    suffix = suffix.lower()
    return _index.by_extension.get(suffix if suffix.startswith(".") else "." + suffix)


class _DisplayNames(Mapping):
    """A live, read-only view: kind name -> shown name."""

    def __getitem__(self, name: str) -> str:
        for kind in _index.ordered:
            if kind.name == name:
                return kind.display
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter([k.name for k in _index.ordered])

    def __len__(self) -> int:
        return len(_index.ordered)

    def __repr__(self) -> str:
        return repr(dict(self))


_DISPLAY_NAMES = _DisplayNames()


def display_names() -> Mapping[str, str]:
    """Kind name -> shown name for every registered kind (a live view)."""
    return _DISPLAY_NAMES


def takes_literal(type_name: str) -> bool:
    """Whether a program may write a literal for a parameter of this declared type (true for
    names no kind claims: only a kind can forbid literals)."""
    kind = kind_named(type_name)
    return kind is None or kind.literal


def is_media(value: Any) -> bool:
    """Whether ``value`` is of a media kind (an image, a sound...)."""
    kind = kind_of(value)
    return kind is not None and kind.media


def data_words() -> frozenset[str]:
    """The task words that name data of some kind (``text``, ``image``, ``audio``...)."""
    return _index.words
