"""The notebook prompt for an ``ask``: a small ipywidgets box (the tool, its arguments, Allow once /
Always / Deny) that the running cell waits on.

The hard part is that the kernel is busy running the cell, so the button's click (a ``comm_msg``
from the frontend) would wait behind it. ipykernel 7 runs *subshells* (a thread with its own event
loop each) and routes a comm's incoming messages to the subshell its comm names
(``_reply_subshell_id``). The prompt's widgets are pointed at one subshell of the kernel, made on
first use: their messages are handled there while the cell waits, and nothing else (cells,
other widgets) changes order, since no queued shell message is taken out of turn.

Is anyone there? The box is displayed with ``_view_count = 0``; a live frontend that renders it
sends ``_view_count = 1`` back. When that does not arrive within
``$NBAGENTS_APPROVAL_HANDSHAKE_S`` seconds (default 3) — nbclient, CI, a notebook viewer — the
call is refused with the error saying how to allow it. ``$NBAGENTS_APPROVAL_PROMPT=none`` refuses
at once without showing anything.
"""

from __future__ import annotations

import html
import os
import threading
from typing import Any

from .policy import NoAnswer, Question

__all__ = ["ApprovalPrompt", "ask_in_notebook", "HANDSHAKE_ENV", "TIMEOUT_ENV", "ANSWER_TIMEOUT_S"]

HANDSHAKE_ENV = "NBAGENTS_APPROVAL_HANDSHAKE_S"
TIMEOUT_ENV = "NBAGENTS_APPROVAL_TIMEOUT_S"
ANSWER_TIMEOUT_S = 600.0
_LABELS = {"once": "Allow once", "always": "Always", "deny": "Deny"}
_subshell: dict[str, Any] = {}
_subshell_lock = threading.Lock()


class ApprovalPrompt:
    """The widget of one question; :attr:`answer` is set by a click (``once``, ``always``, ``deny``).

    Attributes
    ----------
    box:
        The ``VBox`` to display.
    buttons:
        ``{"once": Button, "always": Button, "deny": Button}``.
    answered, seen:
        Events: a button was clicked; a frontend rendered the box.
    """

    def __init__(self, question: Question) -> None:
        import ipywidgets as widgets

        self.question = question
        self.answer: str | None = None
        self.answered = threading.Event()
        self.seen = threading.Event()
        text = (f"<b>The agent wants to call <code>{html.escape(question.tool)}</code></b>"
                f"<br><code>{html.escape(question.tool)}({html.escape(question.arguments)})</code>")
        if question.description:
            text += f"<br><small>{html.escape(question.description[:200])}</small>"
        self.label = widgets.HTML(text)
        styles = {"once": "success", "always": "info", "deny": "danger"}
        self.buttons = {key: widgets.Button(description=label, button_style=styles[key])
                        for key, label in _LABELS.items()}
        for key, button in self.buttons.items():
            button.on_click(lambda _button, key=key: self._choose(key))
        # _view_count = 0 asks the frontend to count the views it renders: the handshake
        self.box = widgets.VBox([self.label, widgets.HBox(list(self.buttons.values()))], _view_count=0)
        self.box.observe(self._viewed, names="_view_count")

    def _viewed(self, change: dict) -> None:
        if (change.get("new") or 0) > 0:
            self.seen.set()

    def _choose(self, key: str) -> None:
        if self.answered.is_set():
            return
        self.answer = key
        self.answered.set()
        self.seen.set()  # a click proves a frontend too
        for button in self.buttons.values():
            button.disabled = True
        self.label.value += f"<br>{_LABELS[key]}."

    def widgets(self) -> list[Any]:
        """Every widget of the prompt (whose messages must reach the kernel while the cell waits)."""
        return [self.box, self.box.children[1], self.label, *self.buttons.values()]

    def close(self) -> None:
        for widget in self.widgets():
            widget.close()


def _kernel() -> Any:
    from IPython import get_ipython

    ip = get_ipython()
    return getattr(ip, "kernel", None)


def _comm_subshell(kernel: Any) -> str:
    """The id of this kernel's subshell for approval widgets (made on first use)."""
    with _subshell_lock:
        if _subshell.get("kernel") is kernel:
            return _subshell["id"]
        thread = getattr(kernel, "shell_channel_thread", None)
        if not getattr(kernel, "_supports_kernel_subshells", False) or thread is None:
            raise NoAnswer("this kernel cannot take widget clicks while a cell runs; ipykernel 7 or newer is needed")
        socket = thread.manager.control_to_shell_channel.from_socket
        socket.send_json({"type": "create"})
        reply = socket.recv_json()
        if reply.get("status") != "ok":
            raise NoAnswer(f"the kernel could not start a subshell for the widget: {reply.get('evalue')}")
        _subshell.update(kernel=kernel, id=reply["subshell_id"])
        return reply["subshell_id"]


def _route(prompt: ApprovalPrompt, subshell_id: str) -> None:
    for widget in prompt.widgets():
        comm = getattr(widget, "comm", None)
        lock = getattr(comm, "_reply_subshell_lock", None)
        if comm is None or lock is None:
            raise NoAnswer("this kernel's comms cannot be routed to a subshell")
        with lock:
            comm._reply_subshell_id = subshell_id


def _seconds(env: str, default: float) -> float:
    try:
        return float(os.environ.get(env) or default)
    except ValueError:
        return default


def ask_in_notebook(question: Question, *, handshake_s: float | None = None,
                    answer_timeout_s: float | None = None) -> str:
    """Show the prompt in the running cell and wait for a click; returns ``once``, ``always`` or
    ``deny``.

    Raises :class:`~.policy.NoAnswer` when there is no kernel, the kernel cannot take the click while
    the cell runs, no frontend renders the widget within ``handshake_s`` seconds, or nobody clicks
    within ``answer_timeout_s`` (defaults: ``$NBAGENTS_APPROVAL_HANDSHAKE_S`` or 3 s,
    ``$NBAGENTS_APPROVAL_TIMEOUT_S`` or 600 s; a refusal then, never a silent allow).
    """
    kernel = _kernel()
    if kernel is None:
        raise NoAnswer("not in a Jupyter kernel")
    handshake_s = _seconds(HANDSHAKE_ENV, 3.0) if handshake_s is None else handshake_s
    answer_timeout_s = _seconds(TIMEOUT_ENV, ANSWER_TIMEOUT_S) if answer_timeout_s is None else answer_timeout_s
    subshell_id = _comm_subshell(kernel)
    from IPython.display import display

    prompt = ApprovalPrompt(question)
    _route(prompt, subshell_id)
    display(prompt.box)
    try:
        if not prompt.seen.wait(handshake_s):
            raise NoAnswer(f"no notebook frontend showed the approval widget within {handshake_s:g} s")
        if not prompt.answered.wait(answer_timeout_s):
            raise NoAnswer(f"nobody answered within {answer_timeout_s:g} s")
    except NoAnswer:
        prompt.close()
        raise
    return prompt.answer or "deny"
