"""Value types as the grammars see them: the type name of a runtime value (an input, a variable,
a tool result kept by the interpreter), of a literal the grammar wrote, and which may be passed
where."""

from __future__ import annotations

from typing import Any

__all__ = ["compatible", "literal_type", "value_type"]


def value_type(value: Any) -> str:
    """The internal type name (``str``, ``int``, ``image``...) of a runtime value, for typed
    references: an input's type comes from its value (a tool result kept in the interpreter's
    variables is seen through its handle)."""
    from ..interpreter.values import value_kind

    return value_kind(value)


def literal_type(node: Any) -> str:
    """The type of an ``ast`` value node written by the grammar (literals only; else ``any``)."""
    import ast

    if isinstance(node, ast.Constant):
        return {bool: "bool", int: "int", float: "float", str: "str"}.get(type(node.value), "any")
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, ast.List):
        return "list"
    if isinstance(node, ast.Dict):
        return "dict"
    return "any"


def compatible(param: str, value: str) -> bool:
    """Whether a value of type ``value`` may be passed to a parameter of type ``param``."""
    if param == "any" or value == "any" or param == value:
        return True
    return param == "float" and value == "int"
