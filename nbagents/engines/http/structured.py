"""Structured output on servers: what a constrained request sends (a JSON schema for OpenAI's
``response_format`` or TGI's grammar, a regex) and how the answer becomes the program text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...errors import ConfigurationError
from ...grammar.constraint import JsonSchema

GRAMMAR_KINDS = ("json", "regex")


def check_structured(structured: Any, grammar_kind: str = "json") -> Any:
    """Validate the engines' ``structured=`` and ``grammar_kind=`` options."""
    if not (structured == "auto" or isinstance(structured, bool)):
        raise ConfigurationError(f"structured must be 'auto', True or False, not {structured!r}.")
    if grammar_kind not in GRAMMAR_KINDS:
        raise ConfigurationError(f"grammar_kind must be 'json' or 'regex', not {grammar_kind!r}.")
    return structured


class StructureRejected(Exception):
    """The server refused the structured-output parameter (raised inside an attempt, so that the
    engine can send the same request once more without it)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


# The servers' words for "I do not take that parameter" (or "not this schema"): TGI "grammar is not
# supported" / "grammar is not valid" / "cannot compile regex from schema" (422), OpenAI "Invalid
# parameter: 'response_format' of type 'json_schema' is not supported with this model" (400), Azure
# "response_format value as json_schema is enabled only for api versions ...", FastAPI/pydantic
# servers' 422 naming ["body", "response_format"], vLLM's guided decoding. Only looked at when the
# request carried a grammar.
_STRUCTURE_WORDS = re.compile(r"response_format|json_schema|grammar|\bschema\b|"
                              r"guided_(?:json|regex|grammar|decoding)|structured output", re.I)


def structure_rejected(status: int, message: str) -> bool:
    """Whether an error answer refuses the structured-output parameter (not the request).
    llama-cpp-python's server answers its validation error for ``response_format`` as HTTP 500."""
    if status == 500:
        return "'response_format'" in (message or "") and "validation error" in (message or "")
    return status in (400, 422) and bool(_STRUCTURE_WORDS.search(message or ""))


_JSON_HINT = (
    'Answer with JSON only, in this shape: {{{explanation}"calls": [{{"tool": "<tool name>", "args": '
    '{{"<parameter>": <value>}}}}]}}. Each call\'s value becomes `result`. A value is a literal, or '
    '{{"ref": "<name>"}} to read an input, a variable or `result` (the previous call\'s value); '
    "null leaves an optional parameter out."
)
_FENCED = re.compile(r"```[ \t]*(?:json)?[ \t]*\n(.*?)\n?```\s*", re.S | re.I)


@dataclass(frozen=True)
class Structure:
    """One structured request: the constraint (a :class:`~nbagents.grammar.ProgramSpec`, or a
    :class:`~nbagents.grammar.JsonSchema` sent as it is), the grammar sent (``kind`` ``"json"``: a
    JSON schema; ``"regex"``: a regular expression over the program text), where it goes
    (``param``: ``"parameters.grammar"`` or ``"response_format"``) and its value."""

    constraint: Any
    kind: str
    param: str
    value: Mapping[str, Any]
    hint: bool = True

    @property
    def is_program(self) -> bool:
        """A tool program (the answer is rendered to code), not a schema passed through."""
        return not isinstance(self.constraint, JsonSchema)

    @classmethod
    def tgi(cls, constraint: Any, kind: str, *, param: str, hint: bool = True) -> Structure:
        """TGI's ``{"type": "json" | "regex", "value": ...}`` (``parameters.grammar`` on the generate
        route, ``response_format`` on the Messages API). A JSON schema always goes as ``"json"``."""
        if isinstance(constraint, JsonSchema):
            return cls(constraint, "json", param, {"type": "json", "value": dict(constraint.schema)}, hint)
        from ...grammar.remote import tgi_grammar

        return cls(constraint, kind, param, tgi_grammar(constraint, kind=kind), hint)

    @classmethod
    def openai(cls, constraint: Any, *, hint: bool = True) -> Structure:
        """OpenAI's ``response_format={"type": "json_schema", "json_schema": {..., "strict": true}}``."""
        if isinstance(constraint, JsonSchema):
            value = {"type": "json_schema", "json_schema": {"name": constraint.name, "strict": True,
                                                            "schema": dict(constraint.schema)}}
            return cls(constraint, "json", "response_format", value, hint)
        from ...grammar.remote import openai_response_format

        return cls(constraint, "json", "response_format", openai_response_format(constraint), hint)

    @property
    def grammar(self) -> str:
        """The schema (as JSON text) or the regex, for the Run's facts and the inspector."""
        if self.kind == "regex":
            return str(self.value.get("value", ""))
        return json.dumps(self.schema, indent=1)

    def messages(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The messages with one sentence about the JSON shape added to the last user message: the
        prompt asks for a ```py block (or a plan's bare list), and a server like TGI does not show
        the schema to the model. (A regex describes the prompt's own shape: nothing is added.)"""
        if self.kind != "json" or not self.hint:
            return messages
        if self.is_program:
            hint = _JSON_HINT.format(
                explanation='"explanation": "<one sentence>", ' if self.constraint.explanation else "")
        else:
            hint = self.constraint.hint
        if not hint:
            return messages
        out = [dict(m) for m in messages]
        for m in reversed(out):
            if m["role"] == "user":
                m["content"] = m["content"].rstrip() + "\n\n" + hint
                break
        return out

    def facts(self) -> dict[str, Any]:
        described = ({"program_spec": self.constraint.describe()} if self.is_program
                     else {"json_schema_name": self.constraint.name})
        return {"constrained": True, "constraint": self.constraint.kind, "grammar_kind": self.kind,
                "grammar": self.grammar, **described, "structured_param": self.param,
                "structured_hint": self.kind == "json" and self.hint}

    @property
    def schema(self) -> Mapping[str, Any] | None:
        """The JSON schema sent (``None`` for a regex)."""
        if self.kind != "json":
            return None
        return (self.value.get("value") or self.value.get("schema")
                or (self.value.get("json_schema") or {}).get("schema"))

    def as_json_object(self) -> Structure:
        """The same schema as ``{"type": "json_object", "schema": ...}``, the form llama-cpp-python's
        server takes (it refuses ``json_schema``)."""
        return replace(self, value={"type": "json_object", "schema": dict(self.schema or {})})

    def ignored(self, text: str, finish_reason: str | None) -> str | None:
        """Why ``text`` shows that the server ignored the schema it accepted, or ``None``.

        A server that decodes under the schema answers one JSON value of the schema's type with
        its required keys (cut off at the token limit, it still starts like one).
        Anything else (free text, a ```py block, JSON of another shape) means the schema was not
        followed. A regex is not checked.
        """
        schema = self.schema
        if schema is None:
            return None
        s = text.strip()
        wanted = schema.get("type")
        opening = {"object": "{", "array": "["}.get(wanted)
        if opening and s and not s.startswith(opening):  # not even the start of the schema's JSON
            return f"the reply does not start like a JSON {wanted}: {_shown(s)}"
        if finish_reason == "length":  # cut off at the token limit: nothing more can be told
            return None
        try:
            value = json.loads(s, strict=False)  # a raw newline inside a string (llama.cpp) is JSON enough
        except ValueError:
            return f"the reply is not JSON: {_shown(s)}"
        if wanted == "object" and not isinstance(value, dict):
            return f"the schema asks for a JSON object, the reply is {type(value).__name__}: {_shown(s)}"
        if wanted == "array" and not isinstance(value, list):
            return f"the schema asks for a JSON array, the reply is {type(value).__name__}: {_shown(s)}"
        if isinstance(value, dict):
            missing = [k for k in schema.get("required", ()) if k not in value]
            if missing:
                return f"the reply lacks the schema's required {', '.join(map(repr, missing))}: {_shown(s)}"
        return None

    def render(self, text: str) -> tuple[str, dict[str, Any]]:
        """The text the agent's parser reads, from the server's answer, and facts.

        A JSON schema's answer is passed through. For a tool program, JSON that fits becomes
        ``explanation`` + a ```py block of ``result = tool(...)`` lines
        (:func:`~nbagents.grammar.remote.render_calls`). JSON that does not fit (a name that is
        not defined yet, a cut-off answer) comes back as the reason, then the JSON in a ```json
        block: no Python code, so the agent's parser raises its ParseError and the agent's one
        repair sends the reason back. Text that is not JSON at all (a server that ignored the
        parameter) is returned as it is, for the agent's lenient parser.
        """
        if not self.is_program:
            return text, {"structured_answer": "json"}
        if self.kind == "regex":
            return text, {"structured_answer": "program"}
        candidate = _json_candidate(text)
        if candidate is None:
            return text, {"structured_answer": "free text"}
        from ...errors import ParseError
        from ...grammar.remote import render_calls

        try:
            program = render_calls(candidate, self.constraint)
        except ParseError as e:
            reason = " ".join(e.message.split("\nThe model wrote:", 1)[0].split())
            shown = text.strip().replace("```", "` ` `")
            return (f"The model's JSON answer does not fit the toolbox: {reason}\n```json\n{shown}\n```",
                    {"structured_answer": "invalid", "structured_error": reason, "structured_raw": text})
        return program, {"structured_answer": "rendered", "structured_raw": text}


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _json_candidate(text: str) -> str | None:
    """The JSON object in an answer (bare, in a ```json fence, or after a sentence), else ``None``."""
    s = text.strip()
    m = _FENCED.fullmatch(s)
    if m:
        s = m.group(1).strip()
    if s.startswith("{"):
        return s
    if "```" in s:  # free text with a code block: the server ignored the parameter
        return None
    i = s.find('{"')
    if i < 0:
        return None
    try:
        found, end = json.JSONDecoder(strict=False).raw_decode(s, i)
    except ValueError:
        return None
    return s[i:end] if isinstance(found, dict) and "calls" in found else None
