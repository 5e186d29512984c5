"""A task's clauses, in the order the task wants them done (nbagents.routing.clauses)."""

import pytest

from nbagents.routing.clauses import clauses, is_verb, refers_back


def texts(task):
    return [c.text for c in clauses(task)]


@pytest.mark.parametrize("task, expected", [
    ("Draw me a picture of rivers and lakes.", ["Draw me a picture of rivers and lakes"]),
    ("Make photo grayscale and write 'hello' on it.", ["Make photo grayscale", "write 'hello' on it"]),
    ("Transcribe the audio, then translate it into Spanish.", ["Transcribe the audio", "translate it into Spanish"]),
    ("Read the file notes.txt and count its words.", ["Read the file notes.txt", "count its words"]),
    ("Put the photo and the drawing side by side.", ["Put the photo and the drawing side by side"]),
    ("Flip the image before rotating it by 90 degrees.", ["Flip the image", "rotating it by 90 degrees"]),
    ("Rotate it after making it grayscale.", ["making it grayscale", "Rotate it"]),
    ("Now make it twice as long.", ["make it twice as long"]),
    ("Shrink it. Then save it as small.png; finally count to three.",
     ["Shrink it", "save it as small.png", "count to three"]),
])
def test_clauses_in_the_order_to_do_them(task, expected):
    assert texts(task) == expected


def test_quoted_text_urls_and_files_are_never_cut():
    assert texts("Write 'cats and dogs, then birds' on the photo.") == ["Write 'cats and dogs, then birds' on the photo"]
    assert texts("Download https://example.com/a,then/b and count the words.") == [
        "Download https://example.com/a,then/b", "count the words"]


def test_an_empty_or_wordless_task_is_one_clause():
    assert texts("   ") == [""]
    assert len(clauses("?!")) == 1


def test_clause_starts_point_into_the_task():
    task = "Make photo grayscale and write 'hello' on it."
    for c in clauses(task):
        assert task[c.start:c.start + len(c.text)] == c.text


def test_verbs_and_back_references():
    assert is_verb("rotate") and is_verb("rotating") and is_verb("flipped") and is_verb("makes")
    assert not is_verb("lakes") and not is_verb("photo")
    assert refers_back("now make it louder") and refers_back("do that again")
    assert not refers_back("make a tone")


@pytest.mark.parametrize("task, expected", [
    ("Put the photo next to a grayscale copy of it.", ["make a grayscale copy", "Put the photo next to it"]),
    ("Put a grayscale copy of the photo next to the photo.", ["make a grayscale copy", "Put it next to the photo"]),
    ("Put `photo` next to a copy of it turned upside down.",
     ["make a copy turned upside down", "Put `photo` next to it"]),
    ("Save a copy of the file.", ["Save a copy of the file"]),
])
def test_a_copy_made_on_the_way_is_a_step_of_its_own(task, expected):
    assert texts(task) == expected


def test_a_leading_phrase_belongs_to_the_clause_after_it():
    assert texts("Using the text, answer the question.") == ["Using the text, answer the question"]
    assert texts("With the photo, make it gray, then rotate it.") == ["With the photo, make it gray", "rotate it"]


def test_a_clause_without_a_verb_continues_the_one_before():
    assert texts("Play the intro and then the outro, as one clip.") == ["Play the intro, the outro, as one clip"]
    assert texts("Rotate the photo. What is its size now?") == ["Rotate the photo", "What is its size now"]
    assert texts("Show the snapshot and its mirror image side by side.") == [
        "make a mirror copy", "Show the snapshot and it side by side"]
