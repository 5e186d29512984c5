"""What the magics put in a cell besides the result: the token stream while the model writes, the
one-line run summary it settles into (carrying the run's metadata into the notebook file), and
compact errors. Every text comes from :meth:`Run.to_dict`, which is redacted.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable, Mapping
from typing import Any

from .redaction import redact
from .runs import ErrorInfo, Run

__all__ = [
    "TokenStream",
    "error_bundle",
    "summary_bundle",
    "run_metadata",
    "mime_outputs",
    "format_inputs",
    "INSPECT_HINT",
    "View",
]

INSPECT_HINT = "%agent inspect"
STREAM_INTERVAL = 0.1  # seconds between two updates of the streaming display

_BOX = ("font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.9em; "
        "border-left: 3px solid {color}; padding: 2px 8px; margin: 2px 0;")
_PRE = ("font-family: var(--jp-code-font-family, monospace); white-space: pre-wrap; "
        "max-height: 20em; overflow: auto; margin: 4px 0;")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def format_inputs(inputs: Mapping[str, str]) -> str:
    """``name (type), other (image 64x64)`` for a Run's input descriptions."""
    return ", ".join(f"{name} ({kind})" for name, kind in inputs.items())


def _tokens(d: Mapping[str, Any]) -> str:
    made = d.get("completion_tokens")
    return f"{made} tokens" if made is not None else ""


def _seconds(d: Mapping[str, Any]) -> str:
    total = (d.get("timings") or {}).get("total")
    return f"{total:.2f} s" if isinstance(total, (int, float)) else ""


def _facts_line(d: Mapping[str, Any], *, note: str | None = None) -> list[str]:
    parts = [d.get("engine") or "", _tokens(d), _seconds(d)]
    if d.get("inputs"):
        parts.append("inputs: " + format_inputs(d["inputs"]))
    if note:
        parts.append(note)
    return [p for p in parts if p]


# --- run summary and metadata ------------------------------------------------------------------

_METADATA_KEYS = ("id", "kind", "task", "inputs", "engine", "model_id", "prompt", "stop",
                  "prompt_tokens", "completion_tokens", "explanation", "code", "prints", "result",
                  "error", "timings", "parent", "created")


def run_metadata(run: Run) -> dict[str, Any]:
    """``{"nbagents": {...}}``: what a cell's output metadata keeps of a run (redacted)."""
    d = run.to_dict()
    return {"nbagents": {k: d.get(k) for k in _METADATA_KEYS}}


def summary_bundle(run: Run, *, note: str | None = None) -> dict[str, str]:
    """A collapsed one-line summary of a finished run (what the streaming display settles into).

    The line names the engine, tokens, time and the inputs that were passed; opening it shows the
    explanation and the code.
    """
    d = run.to_dict()
    mark = "✓" if run.ok else "✗"
    facts = _facts_line(d, note=note)
    label = f"{mark} agent {d['kind']} {run.id[:8]}"
    plain = " · ".join([label, *facts]) + f" · details: {INSPECT_HINT} {run.id[:8]}"
    body = ""
    if d.get("explanation"):
        body += f"<div>{_esc(d['explanation'])}</div>"
    if d.get("code"):
        body += f'<pre style="{_PRE}">{_esc(d["code"])}</pre>'
    body += f"<div><small>details: <code>{INSPECT_HINT} {run.id[:8]}</code></small></div>"
    summary = f"<b>{_esc(label)}</b>" + "".join(f" · {_esc(f)}" for f in facts)
    color = "var(--jp-success-color1, #388e3c)" if run.ok else "var(--jp-error-color1, #d32f2f)"
    page = (f'<details class="nbagents-run" style="{_BOX.format(color=color)}">'
            f"<summary>{summary}</summary>{body}</details>")
    return {"text/plain": plain, "text/html": page}


# --- errors -------------------------------------------------------------------------------------


def error_bundle(error: ErrorInfo | BaseException, *, run_id: str | None = None) -> dict[str, str]:
    """A compact error: stage, message, what to do, and how to open the inspector.

    ``error`` is a Run's :class:`ErrorInfo` or an exception (turned into one, redacted).
    """
    info = error if isinstance(error, ErrorInfo) else ErrorInfo.from_exception(error)
    where = f" at line {info.line}" if info.line is not None and f"Line {info.line}" not in info.message else ""
    head = f"Agent error in the {info.stage} stage ({info.type}){where}"
    lines = [head, info.message]
    if info.hint:
        lines.append(f"What to do: {info.hint}")
    inspect = f"{INSPECT_HINT} {run_id[:8]}" if run_id else None
    if inspect:
        lines.append(f"See everything the model saw and wrote: {inspect}")
    page = (f'<div class="nbagents-error" style="{_BOX.format(color="var(--jp-error-color1, #d32f2f)")}">'
            f"<b>{_esc(head)}</b>"
            f'<pre style="{_PRE}">{_esc(info.message)}</pre>')
    if info.hint:
        page += f"<div><b>What to do:</b> {_esc(info.hint)}</div>"
    if inspect:
        page += f"<div><small>See everything the model saw and wrote: <code>{_esc(inspect)}</code></small></div>"
    page += "</div>"
    return {"text/plain": "\n".join(lines), "text/html": page}


# --- streaming ----------------------------------------------------------------------------------


class TokenStream:
    """Shows the model's output in the cell while it is written, then settles into a summary.

    Call the instance with each new piece of text (it is an ``on_token`` callback). The display
    is updated at most every ``interval`` seconds; :meth:`finish` replaces it with a final bundle.

    Parameters
    ----------
    title:
        The line above the streamed text (engine, inputs).
    display:
        ``IPython.display.display`` (injectable for tests).
    """

    def __init__(self, title: str, *, interval: float | None = None,
                 display: Callable[..., Any] | None = None) -> None:
        if display is None:
            from IPython.display import display
        self._display = display
        self.title = title
        self.interval = STREAM_INTERVAL if interval is None else interval
        self.text = ""
        self.pieces = 0
        self.updates = 0
        self._last = 0.0
        self.handle = self._display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, str]:
        status = f"writing… {self.pieces} tokens" if self.pieces else "waiting for the model…"
        head = f"{self.title} · {status}"
        text = redact(self.text)
        page = (f'<div class="nbagents-stream" style="{_BOX.format(color="var(--jp-brand-color1, #1976d2)")}">'
                f"<small>{_esc(head)}</small>")
        if text:
            page += f'<pre style="{_PRE}">{_esc(text)}</pre>'
        page += "</div>"
        return {"text/plain": f"{head}\n{text}" if text else head, "text/html": page}

    def __call__(self, piece: str) -> None:
        self.text += piece
        self.pieces += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.updates += 1
            self.handle.update(self._bundle(), raw=True)

    def finish(self, bundle: Mapping[str, str], *, metadata: Mapping[str, Any] | None = None) -> None:
        """Replace the stream with ``bundle`` (a summary or an error)."""
        self.handle.update(dict(bundle), raw=True, metadata=dict(metadata or {}))


# --- mime bundles as nbformat outputs (for Output widgets) --------------------------------------


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for mime, value in data.items():
        if isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(bytes(value)).decode("ascii")
        out[mime] = value
    return out


def mime_outputs(value: Any = None, *, prints: str = "", bundle: Mapping[str, Any] | None = None,
                 metadata: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], ...]:
    """nbformat output dicts for an Output widget: printed text, then ``value`` rendered through
    IPython's formatters (images and audio through their mime bundles), or a ready ``bundle``."""
    outputs: list[dict[str, Any]] = []
    if prints:
        outputs.append({"output_type": "stream", "name": "stdout", "text": prints})
    if bundle is None and value is not None:
        from IPython.core.formatters import format_display_data

        bundle, md = format_display_data(value)
        metadata = {**(md or {}), **(metadata or {})}
    if bundle:
        outputs.append({"output_type": "display_data", "data": _jsonable(bundle),
                        "metadata": dict(metadata or {})})
    return tuple(outputs)


# --- small views the %agent commands return --------------------------------------------------


class View:
    """A message or a table with an HTML and a plain-text rendering (what ``%agent`` returns)."""

    def __init__(self, plain: str, page: str) -> None:
        self.plain = plain
        self.page = page

    @classmethod
    def message(cls, text: str) -> View:
        return cls(text, f"<i>{_esc(text)}</i>")

    @classmethod
    def table(cls, title: str, rows: list[tuple[Any, ...]], *,
              header: tuple[str, ...] | None = None) -> View:
        rows = [tuple(str(c) for c in r) for r in rows]
        width = len(header) if header else max((len(r) for r in rows), default=0)
        cols = [max(len(r[i]) for r in ([header] if header else []) + rows) for i in range(width)]

        def line(r: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(n) for c, n in zip(r, cols)).rstrip()

        plain = "\n".join([title] + ([line(header)] if header else []) + [line(r) for r in rows])
        head = "".join(f"<th style='text-align:left'>{_esc(h)}</th>" for h in header) if header else ""
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{_esc(c)}</td>" for c in r) + "</tr>"
                       for r in rows)
        page = (f"<div><b>{_esc(title)}</b></div><table>"
                + (f"<tr>{head}</tr>" if head else "") + body + "</table>")
        return cls(plain, page)

    def _repr_html_(self) -> str:
        return self.page

    def __repr__(self) -> str:
        return self.plain
