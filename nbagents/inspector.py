"""The inspector: everything one run saw and did, with its code editable and runnable again.

A VBox of stock ipywidgets, so it works in JupyterLab, Notebook 7 and VS Code, and its saved widget
state (HTML widgets carrying the text) renders in a static notebook viewer. Every text shown comes
from :meth:`Run.to_dict`, which is redacted: the inspector never shows a secret.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from .display import error_bundle, format_inputs, mime_outputs
from .errors import NbAgentsError
from .runs import Run

__all__ = ["Inspector", "render_run_html"]

_PRE = ("font-family: var(--jp-code-font-family, monospace); white-space: pre-wrap; "
        "max-height: 24em; overflow: auto; margin: 0; padding: 4px; "
        "background: var(--jp-layout-color2, #f5f5f5);")
_STYLE = """<style>
.nbagents-inspector .nbagents-code textarea {
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px);
}
</style>"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pre(text: str, empty: str = "(empty)") -> str:
    return f'<pre style="{_PRE}">{_esc(text)}</pre>' if text else f"<i>{_esc(empty)}</i>"


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><td><b>{_esc(k)}</b></td><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>" if rows else "<i>(none)</i>"


# --- the sections, as HTML from a redacted dict (shared by the widgets and the static fallback) ---


def _title_html(d: Mapping[str, Any]) -> str:
    status = "✓ ok" if not d.get("error") else "✗ failed"
    parent = f" · edited from {d['parent'][:8]}" if d.get("parent") else ""
    return (f"<b>Run {_esc(d['id'][:8])}</b> · {_esc(d['kind'])} · {_esc(status)}"
            f" · {_esc(d.get('engine') or 'no model')}{_esc(parent)}")


def _task_html(d: Mapping[str, Any]) -> str:
    task = d.get("task") or "(no task: code run directly)"
    inputs = format_inputs(d.get("inputs") or {}) or "(none)"
    explanation = f"<div><b>Explanation:</b> {_esc(d['explanation'])}</div>" if d.get("explanation") else ""
    return f"<div><b>Task:</b> {_esc(task)}</div><div><b>Inputs:</b> {_esc(inputs)}</div>{explanation}"


def _error_html(d: Mapping[str, Any]) -> str:
    e = d.get("error")
    if not e:
        return ""
    line = f" (line {e['line']})" if e.get("line") is not None else ""
    hint = f"<div><b>What to do:</b> {_esc(e['hint'])}</div>" if e.get("hint") else ""
    return (f'<div style="border-left: 3px solid var(--jp-error-color1, #d32f2f); padding: 2px 8px;">'
            f"<b>Error in the {_esc(e['stage'])} stage: {_esc(e['type'])}{_esc(line)}</b>"
            f"{_pre(e['message'])}{hint}</div>")


def _prompt_html(d: Mapping[str, Any]) -> str:
    tokens = d.get("prompt_tokens")
    head = f"<div><small>{tokens} tokens</small></div>" if tokens is not None else ""
    dropped = d.get("dropped") or []
    if dropped:
        head += f"<div><small>Left out to fit the context: {_esc(', '.join(dropped))}</small></div>"
    return head + _pre(d.get("prompt") or "", "(no prompt: code run directly)")


def _stop_html(d: Mapping[str, Any]) -> str:
    stop = d.get("stop") or []
    if not stop:
        return "<i>(none)</i>"
    return "<ul>" + "".join(f"<li><code>{_esc(repr(s))}</code></li>" for s in stop) + "</ul>"


def _timings_html(d: Mapping[str, Any]) -> str:
    rows = [(stage, f"{secs:.3f} s") for stage, secs in (d.get("timings") or {}).items()
            if isinstance(secs, (int, float))]
    rows.append(("prompt tokens", d.get("prompt_tokens")))
    rows.append(("generated tokens", d.get("completion_tokens")))
    facts = d.get("facts") or {}
    if "tokens_per_s" in facts:
        rows.append(("tokens / s", facts["tokens_per_s"]))
    return _table([(k, v) for k, v in rows if v is not None])


def _engine_html(d: Mapping[str, Any]) -> str:
    rows: list[tuple[str, Any]] = [("engine", d.get("engine") or "(none)"),
                                   ("model", d.get("model_id") or "(none)")]
    for k, v in (d.get("facts") or {}).items():
        if k not in _GRAMMAR_FACTS and k not in ("tokens_per_s", "routing", "approvals"):
            rows.append((k, v if isinstance(v, (str, int, float)) else json.dumps(v, default=str)))
    return _table(rows)


_GRAMMAR_FACTS = ("constrained", "grammar", "grammars", "grammar_kind", "program_spec", "tool_choices",
                  "program_end", "program_calls", "structured_param", "structured_answer", "structured_raw",
                  "structured_hint", "structured_error", "structured_fallback", "structured_ignored",
                  "structured_output", "constraint",
                  "constraint_declined", "json_schema_name", "value_choices")


def _grammar_html(d: Mapping[str, Any]) -> str:
    """Whether decoding was constrained, the spec, the tool-choice scores and the grammar used."""
    facts = d.get("facts") or {}
    if not facts.get("constrained"):
        note = "<i>off: the model wrote freely</i>"
        if facts.get("structured_ignored"):
            note += _table([("structured output", "requested, ignored by the server"),
                            ("how it showed", facts["structured_ignored"])])
        if facts.get("structured_fallback"):
            note += _table([("server refused structured output", facts["structured_fallback"])])
        if facts.get("constraint_declined"):
            note += _table([("the engine does not take", facts["constraint_declined"])])
        return note
    rows = [("constrained", "on")]
    for key in ("constraint", "json_schema_name", "program_spec", "grammar_kind", "structured_param", "structured_output",
                "structured_answer", "structured_raw",
                "structured_error", "program_end", "program_calls", "tool_choices", "value_choices"):
        if key in facts:
            value = facts[key]
            rows.append((key, value if isinstance(value, str) else json.dumps(value, default=str)))
    grammars = facts.get("grammars") or ([facts["grammar"]] if facts.get("grammar") else [])
    label = (lambda i: f"line {i + 1}") if len(grammars) > 1 or facts.get("grammars") else (lambda i: "grammar")
    body = "".join(f"<div>{label(i)}</div>" + _pre(g) for i, g in enumerate(grammars))
    return _table(rows) + body


def _routing_html(d: Mapping[str, Any]) -> str:
    """The tool choice before the model wrote: per clause of the task, the best tools' scores
    (tools that are not ready marked), the chosen tool, and the decision."""
    routing = (d.get("facts") or {}).get("routing")
    if not routing:
        return "<i>off: the model chose the tools alone</i>"
    rows = [("decision", routing.get("decision", "")), ("by", routing.get("method", "")),
            ("expected tools", ", ".join(routing.get("expected") or []) or "(none)"),
            ("thresholds", json.dumps(routing.get("thresholds") or {}))]
    body = ""
    for c in routing.get("clauses") or []:
        needs = set(c.get("needs") or [])
        cells = "".join(
            f"<tr><td><code>{_esc(name)}</code>{' (not ready)' if name in needs else ''}</td>"
            f"<td>{score:.3f}</td></tr>" for name, score in (c.get("scores") or {}).items())
        verdict = c.get("tool") or ("needs " + ", ".join(sorted(needs)) if needs else "nothing fits")
        body += (f"<div>clause <q>{_esc(c.get('text', ''))}</q> &rarr; <b>{_esc(verdict)}</b></div>"
                 f"<table>{cells}</table>")
    return _table(rows) + body


def _approvals_html(d: Mapping[str, Any]) -> str:
    """Each approval decision of the run: the tool, its arguments, the policy, the decision, by whom."""
    decisions = (d.get("facts") or {}).get("approvals") or []
    if not decisions:
        return "<i>no tool was called</i>"
    head = "".join(f"<th>{h}</th>" for h in ("tool", "arguments", "policy", "decision", "by"))
    cells = "".join(
        "<tr>" + "".join(f"<td>{_esc(x.get(k, ''))}</td>" for k in ("tool", "arguments", "policy", "decision", "by"))
        + "</tr>" for x in decisions)
    return f"<table><tr>{head}</tr>{cells}</table>"


def _steps_html(d: Mapping[str, Any]) -> str:
    """The steps as a timeline: ReAct steps in order with their timings, plan tasks as bars on a
    shared time axis (so parallel tasks are visibly side by side)."""
    steps = d.get("steps") or []
    if not steps:
        return "<i>(one step: the code above)</i>"
    plan = d.get("kind") == "plan"
    spans = [(float(s.get("timings", {}).get("start", 0.0)), float(s.get("timings", {}).get("end", 0.0)))
             for s in steps]
    total = max((end for _, end in spans), default=0.0) or 1.0
    parts = []
    for s, (start, end) in zip(steps, spans):
        err = s.get("error") or {}
        t = s.get("timings") or {}
        if plan:
            head = f"Task {s.get('index', 0)} · {start:.2f}–{end:.2f} s"
            left, width = 100 * start / total, max(1.0, 100 * (end - start) / total)
            bar = (f"<div style='position:relative;height:6px;background:#eee'><div style='position:absolute;"
                   f"left:{left:.1f}%;width:{width:.1f}%;height:6px;"
                   f"background:{'#c62828' if err else '#2e7d32'}'></div></div>")
        else:
            head = (f"Step {s.get('index', 0) + 1} · generate {t.get('generate', 0.0):.2f} s"
                    f" · execute {t.get('execute', 0.0):.2f} s")
            bar = ""
        if err:
            head += f" · {err.get('type')}"
        thought = "" if plan else (s.get("raw_output") or "").split("```")[0].strip()
        parts.append(
            "<div class='nbagents-step' style='margin:4px 0;border-left:3px solid #90a4ae;padding-left:6px'>"
            f"<b>{_esc(head)}</b>{bar}"
            + (f"<div><i>{_esc(thought)}</i></div>" if thought else "")
            + _pre(s.get("code") or "")
            + (f"<div>→ {_esc(s['observation'])}</div>" if s.get("observation") else "")
            + "</div>"
        )
    return "".join(parts)


_DETAILS: tuple[tuple[str, Callable[[Mapping[str, Any]], str]], ...] = (
    ("Prompt", _prompt_html),
    ("Stop sequences", _stop_html),
    ("Raw output", lambda d: _pre(d.get("raw_output") or "", "(no model output)")),
    ("Printed output", lambda d: _pre(d.get("prints") or "", "(nothing printed)")),
    ("Steps (timeline)", _steps_html),
    ("Constrained decoding", _grammar_html),
    ("Timings and tokens", _timings_html),
    ("Engine", _engine_html),
    ("Tool choice", _routing_html),
    ("Approvals", _approvals_html),
)


def render_run_html(run: Run) -> str:
    """A static HTML page of a run (the inspector's fallback where widgets do not render)."""
    d = run.to_dict()
    result = d.get("result") or {}
    parts = [
        f"<div>{_title_html(d)}</div>",
        _task_html(d),
        _error_html(d),
        "<div><b>Code</b></div>" + _pre(d.get("code") or "", "(no code)"),
    ]
    if result.get("summary"):
        parts.append(f"<div><b>Result</b> ({_esc(result.get('type'))}): {_esc(result['summary'])}</div>")
    for title, render in _DETAILS:
        parts.append(f"<details><summary>{_esc(title)}</summary>{render(d)}</details>")
    return '<div class="nbagents-inspector">' + "".join(p for p in parts if p) + "</div>"


# --- the widget ---------------------------------------------------------------------------------


class Inspector(w.VBox):
    """Inspect one run: prompt, stop sequences, raw output, code, result, timings, engine.

    Toggle **Edit** to change the code and click **Run** to execute it with
    ``agent.execute(code, parent=run.id, task=run.task, **inputs)``; the new run's result shows in
    the output area and the run joins the history (**◀ / ▶** step through it).

    Parameters
    ----------
    agent:
        The :class:`~nbagents.Agent` whose history is browsed and which runs the edited code.
    run:
        The run to show first; ``None`` is the agent's last run.
    inputs:
        The input values the run was given (the Run itself keeps only their types).
    input_values:
        Input values of other runs, by run id (what the magics remember of this session).
    namespace:
        Where inputs not remembered are looked up by name (the notebook's variables).
    editing:
        Start with the code editable (``%%agent --review``).
    on_result:
        Called with each new Run that the Run button makes.
    """

    def __init__(
        self,
        agent: Any,
        run: Run | None = None,
        *,
        inputs: Mapping[str, Any] | None = None,
        input_values: dict[str, Mapping[str, Any]] | None = None,
        namespace: Mapping[str, Any] | None = None,
        editing: bool = False,
        on_result: Callable[[Run], Any] | None = None,
    ) -> None:
        run = run if run is not None else agent.last_run
        if run is None:
            raise NbAgentsError("There is no run to inspect yet.", hint="Run a %%agent cell first.")
        self.agent = agent
        self.run: Run = run
        self.last_run: Run | None = None
        self.input_values = input_values if input_values is not None else {}
        if inputs is not None:
            self.input_values[run.id] = dict(inputs)
        self.namespace = namespace
        self.on_result = on_result

        self.title = w.HTML()
        self.prev_button = w.Button(description="◀", tooltip="Previous run", layout=w.Layout(width="3em"))
        self.next_button = w.Button(description="▶", tooltip="Next run", layout=w.Layout(width="3em"))
        self.task = w.HTML()
        self.error = w.HTML()
        self.edit_toggle = w.ToggleButton(description="Edit", value=False,
                                          tooltip="Make the code editable")
        self.run_button = w.Button(description="Run", button_style="success",
                                   tooltip="Run this code (no model) and show the result below")
        self.code = w.Textarea(disabled=True, layout=w.Layout(width="100%"))
        self.code.add_class("nbagents-code")
        self.status = w.HTML()
        self.output = w.Output(layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)"))
        self._sections = [w.HTML() for _ in _DETAILS]
        self.details = w.Accordion(children=self._sections, titles=tuple(t for t, _ in _DETAILS))

        self.prev_button.on_click(lambda _: self._step(newer=False))
        self.next_button.on_click(lambda _: self._step(newer=True))
        self.edit_toggle.observe(self._on_edit, names="value")
        self.run_button.on_click(self._on_run)

        super().__init__(children=[
            w.HTML(_STYLE),
            w.HBox([self.prev_button, self.next_button, self.title]),
            self.task,
            self.error,
            w.HBox([self.edit_toggle, self.run_button, self.status]),
            self.code,
            w.HTML("<b>Result</b>"),
            self.output,
            self.details,
        ])
        self.add_class("nbagents-inspector")
        self.show(run)
        self.edit_toggle.value = editing

    # --- showing a run ------------------------------------------------------------------------

    def show(self, run: Run) -> None:
        """Fill every widget from ``run``."""
        self.run = run
        d = run.to_dict()
        self.title.value = _title_html(d)
        self.task.value = _task_html(d)
        self.error.value = _error_html(d)
        self.code.value = d.get("code") or ""
        self.code.rows = max(3, min(20, self.code.value.count("\n") + 2))
        for section, (_, render) in zip(self._sections, _DETAILS):
            section.value = render(d)
        self.status.value = ""
        self.output.outputs = self._result_outputs(run)
        self.prev_button.disabled = self._neighbor(newer=False) is None
        self.next_button.disabled = self._neighbor(newer=True) is None

    @staticmethod
    def _result_outputs(run: Run) -> tuple[dict[str, Any], ...]:
        d = run.to_dict()
        if run.error is not None:
            return mime_outputs(prints=d.get("prints") or "", bundle=error_bundle(run.error))
        if run.result is None:
            note = ("(not run yet: click Run)" if run.kind == "generate"
                    else "(no result: the program set no `result`)")
            return mime_outputs(prints=d.get("prints") or "", bundle={"text/plain": note})
        if isinstance(run.result, str) and not hasattr(run.result, "kind"):
            # a run read back from the history keeps only its result summary
            return mime_outputs(prints=d.get("prints") or "", bundle={"text/plain": run.result})
        return mime_outputs(run.result, prints=d.get("prints") or "")

    # --- history navigation -------------------------------------------------------------------

    def _find(self, run_id: str) -> Run | None:
        for r in reversed(self.agent.history):
            if r.id == run_id:
                return r
        store = getattr(self.agent, "store", None)
        return store.get(run_id) if store is not None else None

    def _neighbor(self, *, newer: bool) -> Run | None:
        store = getattr(self.agent, "store", None)
        if store is not None and hasattr(store, "adjacent"):
            try:
                found = store.adjacent(self.run.id, newer=newer)
                if found is not None:
                    return self._find(found)
                if store.get(self.run.id) is not None:
                    return None
            except NbAgentsError:  # an unusable history file: walk this session's runs
                pass
        ids = [r.id for r in self.agent.history]
        if self.run.id not in ids:
            return None
        i = ids.index(self.run.id) + (1 if newer else -1)
        return self.agent.history[i] if 0 <= i < len(ids) else None

    def _step(self, *, newer: bool) -> None:
        run = self._neighbor(newer=newer)
        if run is not None:
            self.edit_toggle.value = False
            self.show(run)

    # --- editing and running ------------------------------------------------------------------

    def _on_edit(self, change: Mapping[str, Any]) -> None:
        self.code.disabled = not change["new"]

    def inputs_for(self, run: Run) -> tuple[dict[str, Any], list[str]]:
        """The input values to run ``run``'s code with, and the names that could not be found."""
        if run.id in self.input_values:
            return dict(self.input_values[run.id]), []
        values, missing = {}, []
        for name in run.inputs:
            if self.namespace is not None and name in self.namespace:
                values[name] = self.namespace[name]
            else:
                missing.append(name)
        return values, missing

    def _on_run(self, _button: Any = None) -> None:
        self.run_button.disabled = True
        self.output.outputs = ()
        self.status.value = "<i>running…</i>"
        try:
            inputs, missing = self.inputs_for(self.run)
            if self.run.kind == "plan":  # an edited task graph, not Python
                new = self.agent.execute_plan(self.code.value, task=self.run.task, parent=self.run.id,
                                              **inputs)
            else:
                new = self.agent.execute(self.code.value, chat=self.run.kind == "chat", parent=self.run.id,
                                         task=self.run.task, **inputs)
            self.input_values[new.id] = inputs
            self.last_run = new
            self.output.outputs = self._result_outputs(new)
            seconds = (new.timings or {}).get("total", 0.0)
            note = f" · inputs not found: {', '.join(missing)}" if missing else ""
            self.status.value = (f"{'✓' if new.ok else '✗'} run {_esc(new.id[:8])} in {seconds:.2f} s"
                                 f"{_esc(note)}")
            self.next_button.disabled = self._neighbor(newer=True) is None
            if self.on_result is not None:
                self.on_result(new)
        except NbAgentsError as e:  # e.g. an input name that cannot be a variable
            self.output.outputs = mime_outputs(bundle=error_bundle(e))
            self.status.value = "✗ not run"
        finally:
            self.run_button.disabled = False

    # --- representations ------------------------------------------------------------------------

    def __repr__(self) -> str:
        task = self.run.to_dict()["task"]
        task = task if len(task) <= 60 else task[:60] + "…"
        return f"<Inspector run {self.run.id[:8]} {task!r}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = render_run_html(self.run)
        return bundle
