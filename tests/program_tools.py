"""Stub tools for the grammar and constrained-decoding tests: typed like real tools, returning
values of their output type, in varied toolsets, with a task set of varied inputs and phrasings."""

from __future__ import annotations

from typing import Literal

from PIL.Image import Image as PILImage

from nbagents.tools.base import tool


def make_image(color="white"):
    """A tiny image."""
    from PIL import Image

    return Image.new("RGB", (4, 4), color)


@tool
def translator(text: str, src_lang: str, tgt_lang: str) -> str:
    """Translate `text` from `src_lang` into `tgt_lang`."""
    return f"[{tgt_lang}] {text}"


@tool
def summarizer(text: str) -> str:
    """Summarize `text`."""
    return text[:20]


@tool
def word_count(text: str) -> int:
    """Count the words in `text`."""
    return len(text.split())


@tool
def text_qa(text: str, question: str) -> str:
    """Answer `question` from `text`."""
    return "yes"


@tool
def rotate_image(image: PILImage, degrees: float = 90.0) -> PILImage:
    """Rotate `image` by `degrees`."""
    return image


@tool
def grayscale_image(image: PILImage) -> PILImage:
    """Make `image` grayscale."""
    return image


@tool
def image_captioner(image: PILImage) -> str:
    """Describe `image`."""
    return "a picture"


@tool
def side_by_side(left: PILImage, right: PILImage) -> PILImage:
    """Put two images side by side."""
    return left


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def power(base: float, exponent: float = 2.0) -> float:
    """Raise `base` to `exponent`."""
    return float(base) * float(exponent)  # a stub: any numbers work


@tool
def describe_number(n: int) -> str:
    """Say a number in words."""
    return str(n)


@tool
def pick_label(text: str, labels: list) -> str:
    """Pick the best label for `text` from `labels`."""
    return labels[0] if labels else ""


@tool
def join_words(words: list, sep: str = " ") -> str:
    """Join `words` with `sep`."""
    return sep.join(str(w) for w in words)


@tool
def make_tone(frequency: float = 440.0, duration: float = 1.0) -> list:
    """A tone (as samples)."""
    return [0.0]


@tool
def lookup(table: dict, key: str) -> str:
    """Look `key` up in `table`."""
    return str(table.get(key, ""))


@tool
def anything(value, label=None) -> str:
    """Describe any value."""
    return "ok"


TEXT = [translator, summarizer, word_count, text_qa]
IMAGE = [rotate_image, grayscale_image, image_captioner, side_by_side]
MATH = [add, power, describe_number]
LISTS = [pick_label, join_words, word_count]
MIXED = TEXT + IMAGE + MATH + [pick_label, make_tone, lookup, anything]

# (task, toolset, inputs): varied toolsets, inputs and phrasings.
TASKS = [
    ("Translate the text into German.", TEXT, {"text": "good morning"}),
    ("Give me a short summary of `text`, then count its words.", TEXT, {"text": "a b c d"}),
    ("Answer the question using the document.", TEXT, {"document": "It rains.", "question": "Wet?"}),
    ("Turn the image a quarter turn and make it grayscale.", IMAGE, {"image": make_image()}),
    ("put the two pictures next to each other", IMAGE, {"left": make_image(), "right": make_image("red")}),
    ("What is 3 plus 4, in words?", MATH, {}),
    ("Square the number n.", MATH, {"n": 7}),
    ("Which label fits the review best?", LISTS, {"review": "great", "labels": ["good", "bad"]}),
    ("Join these words with dashes.", LISTS, {"words": ["a", "b"]}),
    ("Caption the photo and translate the caption to French; also count words in notes.",
     MIXED, {"photo": make_image(), "notes": "one two"}),
    ("Make a 2 second tone.", MIXED, {}),
    ("Look up the capital in the table.", MIXED, {"table": {"fr": "Paris"}, "country": "fr"}),
]


@tool
def flip(image: PILImage, direction: Literal["horizontal", "vertical"] = "horizontal") -> PILImage:
    """Mirror `image` left to right, or upside down (vertical)."""
    return image


@tool
def speed(audio: list, factor: Literal[0.5, 1, 2]) -> list:
    """Play `audio` slower or faster by `factor`."""
    return audio
