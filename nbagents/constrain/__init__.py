"""Constrained decoding of tool programs: the model can only write programs that parse, call
existing tools with their parameter names, and read names that exist.

``ProgramSpec`` says what the program may be; local engines take it as
``engine.generate(..., constrained=spec)`` and run :func:`~nbagents.constrain.decode.generate_program`;
:mod:`nbagents.constrain.remote` has the JSON schema and TGI grammar for remote engines.
Nothing heavy is imported until a program is generated.
"""

from __future__ import annotations

from .grammar import LineState, explanation_grammar, line_grammar
from .program import ProgramBuilder, ProgramSpec, render_program

__all__ = [
    "LineState",
    "ProgramBuilder",
    "ProgramSpec",
    "explanation_grammar",
    "generate_program",
    "line_grammar",
    "render_program",
]


def __getattr__(name: str):
    if name == "generate_program":
        from .decode import generate_program

        return generate_program
    raise AttributeError(name)
