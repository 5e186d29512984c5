"""From the model's raw output to an explanation and code.

Accepts the shapes models really write: an explanation then fenced code (with or without a
language tag, closed or cut off), ``Code:``/``Answer:`` markers, several fenced blocks, or code
alone. No code → :class:`~nbagents.errors.ParseError` showing the raw output.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .errors import ParseError

__all__ = ["RESULT_NAME", "Parsed", "calls_of", "ending_with_result", "parse", "parses"]

#: The variable a program leaves its answer in.
RESULT_NAME = "result"

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.S)
_CODE_LANGS = {"", "py", "python", "python3", "py3", "ipython"}
_MARKERS = re.compile(r"(?im)^\s*(?:explanation|answer|thought|code)\s*:\s*")


@dataclass(frozen=True)
class Parsed:
    explanation: str
    code: str


def parses(code: str) -> bool:
    """Whether ``code`` is valid Python."""
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _clean_explanation(text: str) -> str:
    text = _MARKERS.sub("", text)
    return " ".join(text.split()).strip()


def _is_statementy(code: str) -> bool:
    """Code that does something: not a lone name or a sentence that happens to parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Name, ast.Constant)):
            continue
        return True
    return False


def parse(raw: str) -> Parsed:
    """Split ``raw`` into explanation and code.

    Raises
    ------
    ParseError
        When no code can be found.
    """
    text = raw.replace("\r\n", "\n")
    blocks = [(m.start(), m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    code_blocks = [(s, c) for s, lang, c in blocks if lang in _CODE_LANGS and c.strip()]
    if code_blocks:
        first = code_blocks[0][0]
        code = "\n".join(c.strip("\n") for _, c in code_blocks).strip("\n")
        if not parses(code):  # an unterminated last block may be cut mid-line: keep what parses
            code = code_blocks[0][1].strip("\n")
        return Parsed(_clean_explanation(text[:first]), _dedent(code))

    # No fence: look for a "Code:" marker, then for the longest tail of lines that parses.
    marker = re.search(r"(?im)^\s*code\s*:\s*\n?", text)
    if marker:
        candidate = _dedent(text[marker.end():].strip("\n"))
        if candidate and parses(candidate) and _is_statementy(candidate):
            return Parsed(_clean_explanation(text[: marker.start()]), candidate)
    lines = text.strip("\n").split("\n")
    for i in range(len(lines)):
        candidate = _dedent("\n".join(lines[i:]))
        if candidate.strip() and parses(candidate) and _is_statementy(candidate):
            return Parsed(_clean_explanation("\n".join(lines[:i])), candidate.strip("\n"))
    # Trailing prose after code: the longest head of lines that parses.
    for j in range(len(lines), 0, -1):
        candidate = _dedent("\n".join(lines[:j]))
        if parses(candidate) and _is_statementy(candidate):
            return Parsed(_clean_explanation("\n".join(lines[j:])), candidate.strip("\n"))
    raise ParseError("No Python code was found in the model's output.", raw=raw)


def _dedent(code: str) -> str:
    import textwrap

    return textwrap.dedent(code)


def ending_with_result(code: str, name: str = RESULT_NAME) -> str:
    """The prompt asks for the answer in ``result``: when the program assigns it at top level but
    ends with another statement (often a ``print``), its value is still the program's result, so
    ``result`` is appended as the last line. Code that does not parse comes back unchanged (the
    interpreter reports it with the line)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    if not tree.body:
        return code

    def stores_result(node: ast.AST) -> bool:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        return any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t))

    top_level = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not any(stores_result(n) for n in top_level):
        return code
    last = tree.body[-1]
    if stores_result(last) or (isinstance(last, ast.Expr) and isinstance(last.value, ast.Name)
                               and last.value.id == name):
        return code
    return code.rstrip("\n") + f"\n{name}"


def calls_of(code: str) -> list[tuple[str, dict]]:
    """The calls in ``code`` (a previous turn's program, say), in order: (function name, its
    keyword arguments that are literals); ``print`` and code that does not parse give nothing."""
    try:
        tree = ast.parse(code or "")
    except SyntaxError:
        return []
    out = []
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id != "print":
                args = {}
                for kw in node.keywords:
                    if kw.arg is None:
                        continue
                    try:
                        args[kw.arg] = ast.literal_eval(kw.value)
                    except (ValueError, SyntaxError, TypeError):
                        continue  # a reference, not a literal
                out.append((node.func.id, args))
    return out
