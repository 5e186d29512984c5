"""Routing over an agent's toolbox: the catalogue of tools (ready or not), the kinds of the
inputs and chat variables, the previous chat turn's tools, and the embedding model when it is
installed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..grammar.columns import Tables, tables_of
from ..interpreter.values import value_kind
from ..parsing import calls_of
from .router import Routing, mentioned_files, route

__all__ = ["file_tables", "route_task"]

log = logging.getLogger(__name__)


def _encoder() -> Any:
    from .. import embeddings

    if not embeddings.available():
        return None
    try:
        return embeddings.default_encoder()
    except Exception:  # a broken install: words alone still route
        log.warning("The sentence-embedding model could not be loaded; tools are chosen by words.",
                    exc_info=True)
        return None


def file_tables(task: str) -> dict[str, Any]:
    """The schemas of the table files ``task`` names that exist here (``"weather.csv"``,
    ``"trips.json"``), read before any tool runs (:func:`~nbagents.tools.tables.peek_table`)."""
    from ..tabular import table_schema
    from ..tools.tables import TABLE_EXTENSIONS, peek_table

    out = {}
    for name in mentioned_files(task):
        if "." + name.rsplit(".", 1)[-1].lower() not in TABLE_EXTENSIONS:
            continue
        frame = peek_table(name)
        schema = table_schema(frame) if frame is not None else None
        if schema is not None:
            out[name] = schema
    return out


def route_task(task: str, toolbox: Mapping[str, Any], inputs: Mapping[str, Any], *,
               state: Mapping[str, Any] | None = None, previous_code: str = "",
               encoder: Any = "default") -> Routing:
    """Route ``task`` over ``toolbox`` plus every known tool that is not ready.

    ``inputs`` and ``state`` (a chat's variables) give the kinds of values at hand;
    ``previous_code`` is the previous chat turn's program; ``encoder`` the embedding model
    (default: the packaged one when installed, else words alone).
    """
    from ..tools.catalogue import catalogue

    entries = catalogue(toolbox)
    kinds = {value_kind(v) for v in inputs.values()} | {value_kind(v) for v in (state or {}).values()}
    encoder = _encoder() if encoder == "default" else encoder
    previous = [name for name, _ in calls_of(previous_code) if name in toolbox]
    names = [*inputs, *(state or {})]
    files = file_tables(task)
    tables = Tables({**tables_of(inputs), **tables_of(state or {}), **files})
    return route(task, entries, encoder=encoder, input_kinds=kinds, previous_tools=previous,
                 chat=state is not None, input_names=names, tables=tables, table_files=files)
