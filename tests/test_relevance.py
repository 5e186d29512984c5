"""Task/tool word relevance: the prior of constrained tool choice, expected tools, prompt fitting."""

from __future__ import annotations

import pytest

from nbagents import tool
from nbagents.relevance import expected_tools, task_prior, task_words, tool_relevance, words_match


@tool
def translator(text: str, src_lang: str, tgt_lang: str) -> str:
    """Translate `text`; languages are names like 'French'."""
    return text


@tool
def summarizer(text: str) -> str:
    """Summarize `text` in a few sentences."""
    return text


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


@tool
def text_reader(text: str) -> bytes:
    """Read `text` aloud as speech."""
    return b""


@tool
def concatenate_audio(first: bytes, second: bytes) -> bytes:
    """Join `first` and `second` one after the other."""
    return first + second


@tool
def make_tone(frequency: float, duration: float) -> bytes:
    """A sine tone of `frequency` Hz for `duration` seconds."""
    return b""


@tool
def trim_audio(audio: bytes, start: float, end: float) -> bytes:
    """Keep `audio` from `start` to `end` seconds."""
    return audio


TOOLS = [translator, summarizer, word_count, text_reader, concatenate_audio, make_tone, trim_audio]


@pytest.mark.parametrize("a, b, same", [
    ("translate", "translator", True), ("words", "word", True), ("summarize", "summarizer", True),
    ("loud", "loudness", True), ("transcribe", "translate", False), ("text", "tone", False),
    ("summary", "summarizer", True),
    ("art", "article", False),  # a stem must have 4 letters or more
])
def test_words_match_on_a_shared_stem(a, b, same):
    assert words_match(a, b) is same and words_match(b, a) is same


def test_task_words_leave_out_filler():
    assert task_words("Make the image grayscale, then rotate_image it.") == {"image", "grayscale", "rotate"}


@pytest.mark.parametrize("task, best", [
    ("Translate the text into French.", "translator"),
    ("How many words are in the text?", "word_count"),
    ("Give a short summary.", "summarizer"),  # "summary" and "summarizer" share "summar"
    ("Read the letter aloud.", "text_reader"),
    ("Make a 440 Hz tone.", "make_tone"),
])
def test_the_matching_tool_ranks_first(task, best):
    scores = tool_relevance(TOOLS, task)
    ranked = sorted(scores, key=scores.get, reverse=True)
    assert ranked[0] == best and scores[best] > scores[ranked[1]]


def test_rare_words_count_more_and_argument_names_do_not_count():
    scores = tool_relevance(TOOLS, "Keep the first half second of the recording.")
    # "first" and "second" are concatenate_audio's argument names, in backticks: no match there;
    # "seconds" is in trim_audio's own words.
    assert scores["concatenate_audio"] == 0
    assert scores["trim_audio"] > 0
    text = tool_relevance(TOOLS, "the text")  # in every text tool's description: each counts little
    words = tool_relevance(TOOLS, "the words")
    assert max(text.values()) < words["word_count"]


def test_a_task_that_names_a_tool_favours_it():
    scores = tool_relevance(TOOLS, "Use word_count on it.")
    assert max(scores, key=scores.get) == "word_count" and scores["word_count"] >= 5


def test_choice_prior_drops_used_tools_and_favours_the_next_expected():
    from nbagents.relevance import NEXT_TOOL_NATS, choice_prior

    prior = {"summarizer": 3.0, "translator": 2.0, "word_count": 1.0}
    expected = ("summarizer", "translator")
    assert choice_prior(prior, expected, []) == {"summarizer": 3.0 + NEXT_TOOL_NATS, "translator": 2.0,
                                                 "word_count": 1.0}
    assert choice_prior(prior, expected, ["summarizer"]) == {"translator": 2.0 + NEXT_TOOL_NATS, "word_count": 1.0}
    assert choice_prior(prior, (), ["word_count"]) == {"summarizer": 3.0, "translator": 2.0}


def test_prior_is_relevance_in_nats_without_zeros():
    prior = task_prior(TOOLS, "Translate the text.", weight=2.0)
    plain = tool_relevance(TOOLS, "Translate the text.")
    assert prior["translator"] == pytest.approx(2.0 * plain["translator"])
    assert all(v > 0 for v in prior.values()) and "make_tone" not in prior


def test_expected_tools_come_in_the_order_the_task_names_them():
    assert expected_tools(TOOLS, "Make a 440 Hz tone of one second, then trim it to half a second.") == (
        "make_tone", "trim_audio")
    assert expected_tools(TOOLS, "Summarize the text and translate the summary.") == ("summarizer", "translator")
    assert expected_tools(TOOLS, "Translate the summary, after you summarize the text.") == (
        "translator", "summarizer")


def test_one_tool_or_one_clause_expects_nothing():
    assert expected_tools(TOOLS, "Translate the text into French.") == ()
    # Two tools match ("read" and "text"), but the task has one clause: nothing is forced.
    assert expected_tools(TOOLS + [_reader()], "Read the text aloud.") == ()
    assert expected_tools([], "Translate, then summarize.") == ()


def _reader():
    @tool
    def read_text_file(path: str) -> str:
        """Read the text file at `path`."""
        return ""

    return read_text_file
