"""The kernel side of the JupyterLab status bar item.

The lab extension (``labextension/src/status.ts``) opens a comm to the target ``"nbagents"`` and
sends ``{"request": "status"}``; the kernel answers with the status of its current engine::

    {"engine": "local:HuggingFaceTB/SmolLM2-360M-Instruct", "model_id": "...", "loaded": true}

and pushes a new status on every open comm when :func:`notify_status` is called (after a run or an
engine change). The magics wire it up with two calls::

    labcomm.register_comm(ipython, status=magics.lab_status)  # in load_ipython_extension
    labcomm.notify_status()                                   # after each run / engine change

Outside a kernel (a plain ``InteractiveShell``, a script) every function here is a silent no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "COMM_TARGET",
    "default_status",
    "get_status",
    "notify_status",
    "register_comm",
    "set_status_provider",
    "unregister_comm",
]

log = logging.getLogger(__name__)

COMM_TARGET = "nbagents"

StatusProvider = Callable[[], Mapping[str, Any]]

_provider: StatusProvider | None = None
_comms: list[Any] = []  # the open comms (one per notebook view of this kernel)


def default_status() -> dict[str, Any]:
    """The status when no magics have set a provider: the default engine, loaded or not."""
    from .engines.registry import DEFAULT_SPEC, loaded_engines

    for engine in loaded_engines():
        if engine.spec in ("", DEFAULT_SPEC):
            return {"engine": DEFAULT_SPEC, "model_id": engine.model_id, "loaded": engine.loaded}
    return {"engine": DEFAULT_SPEC, "model_id": "", "loaded": False}


def set_status_provider(provider: StatusProvider | None) -> None:
    """Report ``provider()`` (a dict with ``engine``, ``model_id``, ``loaded``) as the status.

    ``None`` restores :func:`default_status`.
    """
    global _provider
    _provider = provider


def get_status() -> dict[str, Any]:
    """The status as sent to the lab: JSON-safe, never raising."""
    try:
        raw = dict((_provider or default_status)())
    except Exception as exc:  # the status bar must never break a kernel
        log.debug("nbagents status provider failed", exc_info=True)
        return {"engine": "?", "model_id": "", "loaded": False, "error": str(exc)}
    return {
        "engine": str(raw.get("engine") or "default"),
        "model_id": str(raw.get("model_id") or ""),
        "loaded": bool(raw.get("loaded", False)),
    }


def _comm_manager(ipython: Any) -> Any:
    kernel = getattr(ipython, "kernel", None)
    return getattr(kernel, "comm_manager", None)


def _send(comm: Any) -> bool:
    try:
        comm.send(get_status())
    except Exception:
        log.debug("nbagents status comm send failed", exc_info=True)
        return False
    return True


def _open_comm(comm: Any, open_msg: Mapping[str, Any]) -> None:
    """Comm target: keep the comm, answer its requests (the opening message is one)."""

    def on_msg(msg: Mapping[str, Any]) -> None:
        data = msg.get("content", {}).get("data") or {}
        if isinstance(data, Mapping) and data.get("request") == "status":
            _send(comm)

    def on_close(_msg: Any) -> None:
        if comm in _comms:
            _comms.remove(comm)

    comm.on_msg(on_msg)
    comm.on_close(on_close)
    _comms.append(comm)
    on_msg(open_msg)


def register_comm(ipython: Any, status: StatusProvider | None = None) -> bool:
    """Register the ``"nbagents"`` comm target on ``ipython``'s kernel.

    Parameters
    ----------
    ipython:
        The shell (``get_ipython()``); without a kernel (a plain ``InteractiveShell``) nothing
        happens.
    status:
        Optional status provider, as for :func:`set_status_provider`.

    Returns
    -------
    bool
        Whether a comm target was registered.
    """
    if status is not None:
        set_status_provider(status)
    manager = _comm_manager(ipython)
    if manager is None:
        return False
    try:
        manager.register_target(COMM_TARGET, _open_comm)
    except Exception:
        log.debug("cannot register the nbagents comm target", exc_info=True)
        return False
    return True


def unregister_comm(ipython: Any) -> None:
    """Close the open comms and remove the comm target (``%unload_ext nbagents``)."""
    for comm in list(_comms):
        try:
            comm.close()
        except Exception:
            log.debug("nbagents comm close failed", exc_info=True)
    _comms.clear()
    set_status_provider(None)
    manager = _comm_manager(ipython)
    if manager is not None:
        try:
            manager.unregister_target(COMM_TARGET, _open_comm)
        except Exception:
            log.debug("cannot unregister the nbagents comm target", exc_info=True)


def notify_status() -> int:
    """Push the current status to every open comm; return how many were reached."""
    return sum(_send(comm) for comm in list(_comms))
