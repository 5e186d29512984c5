"""Engines: the models behind agents. Heavy backends are imported only when an engine is made."""

from .base import Completion, Engine, Sampling, StopCutter, cut_at_stop
from .fake import ScriptedEngine
from .registry import load_engine, loaded_engines, parse_spec

__all__ = [
    "Completion",
    "Engine",
    "Sampling",
    "ScriptedEngine",
    "StopCutter",
    "cut_at_stop",
    "load_engine",
    "loaded_engines",
    "parse_spec",
]
