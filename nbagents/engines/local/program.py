"""Constrained decoding of a tool program: :class:`ProgramDecoder` writes the program of a
:class:`~nbagents.grammar.program.ProgramSpec`, one grammar per line.

Per step: forced tokens (llguidance fast-forward) are fed in one forward pass; at a line's tool
position every allowed ``tool(`` is scored at once (:mod:`.choice`); at a parameter whose values
form a closed set (the task's values that fit it, its choices, and the references of its type)
every allowed value, with the ``)`` or ``, `` after it, is scored the same way; elsewhere the
logits are masked to what the grammar allows and the engine's sampler (greedy by default) picks.
A forward pass runs only when the next logits are needed, so the last token of a program costs
none.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from ...grammar.lines import explanation_grammar
from ...grammar.program import ProgramBuilder, ProgramSpec
from ...relevance import choice_prior
from .constrained import ConstrainedDecoder
from .decoding import ModelState
from .matcher import byte_masks

__all__ = ["ProgramDecoder"]

_CLOSERS = (b'"', b")", b"]", b"}", b"\n")
_CALL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]* = ([A-Za-z_][A-Za-z0-9_]*)\(")
_PARAM = re.compile(r"(?:^|, )([A-Za-z_][A-Za-z0-9_]*)(=?)$")
_OPENERS = (b"(", b"[", b"{")


def _closing_masks(bridge: Any) -> tuple[Any, Any, Any]:
    """Tokens whose text contains a closing quote, bracket or newline, tokens that open a
    bracket, and tokens with a newline (cached per tokenizer bridge)."""
    return byte_masks(bridge, (b"".join(_CLOSERS), b"".join(_OPENERS), b"\n"))


class ProgramDecoder(ConstrainedDecoder):
    """One tool program under ``spec``; ``stop``: the engine's stop sequences (string literals
    and the explanation may not contain them)."""

    def __init__(self, state: ModelState, tokenizer: Any, spec: ProgramSpec, *,
                 max_new_tokens: int, emit: Callable[[str], bool], eos_ids: set[int],
                 sampler: Callable[[Any], int] | None, stop: Sequence[str] = ()) -> None:
        super().__init__(state, tokenizer, max_new_tokens=max_new_tokens, emit=emit, eos_ids=eos_ids,
                         sampler=sampler)
        self.spec = spec
        self.builder = ProgramBuilder(spec, forbid=stop)
        self.phase = "explanation"
        self.tried_choice = False
        self.line_budget = max_new_tokens
        self.length = False
        self.tool_choices: list[dict[str, Any]] = []
        self.value_choices: list[dict[str, Any]] = []
        self._value_tried: set[tuple[int, int]] = set()
        self._held = ""  # streamed text held back while the line may be the end marker print(result)
        self.shown = ""  # what was streamed
        inner = self.emit

        def emit(piece: str) -> bool:
            self.shown += piece
            return inner(piece)

        self.emit = emit
        self._begin()

    # --- grammar per phase ----------------------------------------------------------------------

    def _start(self, grammar: str) -> None:
        self.open_grammar(grammar)
        self.tried_choice = False

    def _begin(self) -> None:
        if self.spec.explanation or self.spec.explanation_prefix:
            self._start(explanation_grammar(self.builder.forbid, self.spec.explanation_prefix))
        else:
            self._start('start: "```py\\n"\n')

    def _next_line(self) -> None:
        self.phase = "line"
        self.line_budget = self.budget()
        self._start(self.builder.grammar())

    def _line_complete(self) -> None:
        """The constraint is done: close the phase and start the next one (or end)."""
        text = self.c.text()
        if self.phase == "explanation":
            self.builder.explanation = text.split("```", 1)[0].rstrip("\n")
            self._next_line()
            return
        if self.builder.accept(text):
            self._next_line()
        elif self.builder.end_reason == "print":
            self._held = ""  # the end marker is not part of the program: never shown

    def stream(self, tokens: Sequence[int]) -> bool:
        """Stream as the base decoder does, but hold a line's text back while it may still be the
        end marker ``print(result)``, which is not kept."""
        if self.phase != "line" or self.spec.rich:
            return super().stream(tokens)
        self._held += "".join(self.text.push(tok) for tok in tokens)
        line = self.c.text()
        if line and f"print({self.spec.result_name})".startswith(line):
            return False
        held, self._held = self._held, ""
        return bool(held) and bool(self.emit(held))

    # --- the loop ---------------------------------------------------------------------------------

    def push(self, tokens: Sequence[int], *, feed: bool = True) -> None:
        if self.consume(tokens, feed=feed):
            self.stopped = True
        t = time.perf_counter()
        done = self.c.is_done()
        self.constraint_s += time.perf_counter() - t
        if done:
            self._line_complete()

    def step(self) -> bool:
        """Advance by at least one token; False once the program is finished."""
        if self.builder.done or self.stopped:
            return False
        c = self.c
        if self.budget() <= 0:
            self._out_of_budget()
            return False
        if self.phase == "line" and not c.tokens and self.budget() < 10:
            self.builder.end("length")  # no room for another line
            self.length = True
            return False
        if self.force():
            return True
        if self._choose_tool():
            return True
        if self._choose_value():
            return True
        token, allowed = self.masked_pick(self._closing_bias if self._closing() else None)
        if token in self.eos_ids or not allowed:
            if c.is_accepting() and self.phase == "line":
                self.tokens.append(token)
                self.builder.end("eos")
            else:  # cannot happen with a mask that allows something; end rather than loop
                self.builder.end("stuck")
            return False
        self.push([token])
        return True

    def _closing_bias(self, mask: Any) -> Any:
        """Prefer closing quotes, brackets and the newline (the explanation: the newline); avoid
        opening brackets."""
        closers, openers, newlines = _closing_masks(self.bridge)
        if self.phase == "explanation":
            closers = newlines
        return (closers & mask) * 1e4 - (openers & mask) * 1e3

    def _closing(self) -> bool:
        """Past a line's share of the budget, prefer tokens that close it: the explanation gets
        a quarter of the budget (at most 48 tokens), a line half of what was left at its start
        (at most ``max_line_tokens``)."""
        c = self.c
        if self.phase == "explanation":
            return len(c.tokens) >= min(48, max(8, self.max_new_tokens // 4))
        share = min(self.spec.max_line_tokens, max(8, self.line_budget // 2))
        return len(c.tokens) >= share or self.budget() <= 8

    def _out_of_budget(self) -> None:
        self.length = True
        self.builder.end("length")

    # --- tool choice ------------------------------------------------------------------------------

    def _heads(self) -> dict[str, str]:
        """Each tool the line may call -> the text of the line up to its ``(``."""
        return {name: self.builder.head(name) + name + "(" for name in self.builder.line_tools()}

    def _candidates(self, line: str) -> list[tuple[str, list[int]]]:
        out = []
        for name, full in self._heads().items():
            if not full.startswith(line) or len(line) >= len(full):
                continue
            ids = self.continuation(full[len(line):])
            if ids is not None:
                out.append((name, ids))
        return out

    def _choose_tool(self) -> bool:
        if (self.phase != "line" or self.spec.rich or not self.spec.choose_tools or self.tried_choice):
            return False
        line = self.c.text()
        heads = self._heads().values()
        may_end = self.builder.line_state.may_end if self.builder.line_state is not None else True
        if may_end and len(line) < len(self.spec.result_name):
            return False  # the model first says whether the program goes on
        if not any(h.startswith(line) or line.startswith(h) for h in heads):
            return False
        self.tried_choice = True
        t = time.perf_counter()
        candidates = self._candidates(line)
        self.constraint_s += time.perf_counter() - t
        at = len(self.builder.lines)
        taken = self.choose(candidates,
                            choice_prior(self.spec.tool_prior, self.spec.expected_tools, self.builder.calls))
        if taken is None:
            return False
        self.tool_choices.append({"line": at, "chosen": taken[0], **taken[1]})
        return True

    def _choose_value(self) -> bool:
        """At ``param=`` of a parameter whose values form a closed set, score each allowed value
        with what closes it (``)`` or ``, ``) and force the best."""
        if self.phase != "line" or self.spec.rich or not self.spec.choose_tools:
            return False
        line = self.c.text()
        call = _CALL.match(line)
        if call is None:
            return False
        rest = line[call.end():]
        m = _PARAM.search(rest)
        if m is None or (not m.group(2) and not self.c.forced_bytes().startswith(b"=")):
            return False
        key = (len(self.builder.lines), len(line))
        if key in self._value_tried:
            return False
        self._value_tried.add(key)
        param = m.group(1)
        t = time.perf_counter()
        values = self.builder.value_candidates(call.group(1), param)
        head = line[:call.end() + m.start(1)] + param + "="
        candidates = []
        for value in values:
            for closer in (")", ", "):
                ids = self.continuation((head + value + closer)[len(line):])
                if ids is not None:
                    candidates.append((value + closer, ids))
        self.constraint_s += time.perf_counter() - t
        if not candidates:
            return False
        taken = self.choose(candidates, {})
        if taken is None:
            return False
        chosen = taken[0].removesuffix(")").removesuffix(", ")
        self.value_choices.append({"line": key[0], "param": param, "chosen": chosen, **taken[1]})
        return True

    # --- the result ---------------------------------------------------------------------------

    def finish(self) -> tuple[str, str]:
        """Render the program and stream what the stream still lacks (the closing fence)."""
        if not self.builder.done:
            self.builder.end("length" if self.length else "stop")
        final = self.builder.render()
        self.flush()
        streamed = self.shown
        common = 0
        for a, b in zip(final, streamed):
            if a != b:
                break
            common += 1
        if not self.stopped:  # stream the closing fence (or whatever the rendering added)
            tail = final[common:] if common == len(streamed) else "\n```"
            if tail:
                self.emit(tail)
        return final, "length" if self.length else "stop"

    def facts(self) -> dict[str, Any]:
        b = self.builder
        return {
            **super().facts(),
            "grammar": self.grammars[-1] if self.grammars else "",
            "grammars": list(self.grammars),
            "grammar_kind": "rich" if self.spec.rich else "simple",
            "program_spec": self.spec.describe(),
            "program_end": b.end_reason,
            "program_lines": len(b.lines),
            "program_calls": list(b.calls),
            "tool_choices": self.tool_choices,
            "value_choices": self.value_choices,
            "tool_choice_s": round(self.choice_s, 4),
        }


