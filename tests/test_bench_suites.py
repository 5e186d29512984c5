"""The outcome suites of bench/outcome_suites.py judge outcomes correctly (no model).

Every doable task's reference program (and each alternative) runs end to end through an
``Agent`` over a ``ScriptedEngine`` on the real default tools, and its check must accept the
result; wrong outcomes (a text instead of the result, the input unchanged, near misses: the
wrong angle, factor, order, text, colour, a step left out) must be rejected. Chats: the
references pass, and repeating the first turn's program in the second turn fails. Impossible
tasks: an abstention (``NoToolError`` before any tool ran) is right, running a tool is not.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import outcome_checks as checks  # noqa: E402
import outcome_suites as suites  # noqa: E402

from nbagents import Agent, ScriptedEngine  # noqa: E402
from nbagents.errors import NoToolError  # noqa: E402
from nbagents.runs import ErrorInfo, Run  # noqa: E402
from nbagents.tools.defaults import default_tools  # noqa: E402
from nbagents.tools.tasks import TASKS  # noqa: E402

DOABLE = [t for s in suites.SUITES.values() if s.family == "doable" for t in s.tasks]
IMPOSSIBLE = [t for s in suites.SUITES.values() if s.family == "impossible" for t in s.tasks]
CHATS = [t for s in suites.SUITES.values() if s.family == "chat" for t in s.tasks]
BY_TEXT = {t.text: t for t in DOABLE}


def fenced(code: str) -> str:
    return f"I will do it.\n```py\n{code}\n```"


def scripted(*programs: str) -> Agent:
    """An agent on the real default tools (no model-backed ones) answering with ``programs``."""
    return Agent(ScriptedEngine([fenced(p) for p in programs]), tools=default_tools(model_tools="none"),
                 add_default_tools=False, repair=False)


def mark(task, program: str, tmp_path) -> checks.Mark:
    return checks.attempt(scripted(program), task.text, task.inputs, suites.MATERIAL, task.check, root=tmp_path)


# --- the suites as data -------------------------------------------------------------------------------


def test_every_suite_is_there_with_its_size():
    sizes = {name: len(s.tasks) for name, s in suites.SUITES.items()}
    assert set(sizes) == {f"{f}-{k}" for f in ("doable", "impossible", "chat")
                          for k in ("tuned", "held-out", "held-out-2")}
    assert all(suites.SUITES[f"{f}-held-out-2"].held_out for f in ("doable", "impossible", "chat"))
    assert all(n >= 25 for name, n in sizes.items() if name.startswith("doable"))
    assert all(n >= 12 for name, n in sizes.items() if name.startswith("impossible"))
    assert all(n >= 6 for name, n in sizes.items() if name.startswith("chat"))


def test_held_out_and_tuned_share_no_task_and_no_input_name():
    def names(held_out):
        return {n for s in suites.SUITES.values() if s.held_out == held_out and s.family != "impossible"
                for t in s.tasks for n in t.inputs}

    def texts(held_out):
        return {getattr(t, "text", None) or t.turns for s in suites.SUITES.values() if s.held_out == held_out
                for t in s.tasks}

    assert not names(True) & names(False)
    assert not texts(True) & texts(False)


def test_the_second_held_out_set_is_new_and_mixed():
    second = [s for name, s in suites.SUITES.items() if name.endswith("held-out-2")]
    earlier = [s for name, s in suites.SUITES.items() if not name.endswith("held-out-2")]

    def names(group):
        return {n for s in group for t in s.tasks for n in t.inputs}

    def texts(group):
        return {getattr(t, "text", None) or t.turns for s in group for t in s.tasks}

    assert not names(second) & names(earlier)
    assert not texts(second) & texts(earlier)
    assert [len(s.tasks) for s in second] == [30, 12, 6]
    impossible = suites.SUITES["impossible-held-out-2"].tasks
    assert sum(bool(t.needs) for t in impossible) == 9 and sum(not t.needs for t in impossible) == 3
    used = {tool for t in suites.SUITES["doable-held-out-2"].tasks
            for tool in re.findall(r"(\w+)\(", t.reference)}
    assert used >= {"load_image", "resize_image", "crop_image", "rotate_image", "flip_image", "grayscale_image",
                    "draw_text", "side_by_side", "thumbnail", "make_image", "image_size", "load_audio",
                    "trim_audio", "concatenate_audio", "change_volume", "make_tone", "save_audio",
                    "audio_duration", "read_text_file", "word_count"}


def test_every_input_has_material_and_impossible_tasks_name_real_tools():
    for task in DOABLE + IMPOSSIBLE + CHATS:
        assert set(task.inputs) <= set(suites.MATERIAL), task
    for task in IMPOSSIBLE:
        assert set(task.needs) <= set(TASKS), task


# --- doable: references pass, wrong outcomes fail -------------------------------------------------------


@pytest.mark.parametrize("task", DOABLE, ids=lambda t: t.text[:50])
def test_the_reference_programs_do_the_task(task, tmp_path):
    for program in (task.reference, *task.alternatives):
        result = mark(task, program, tmp_path)
        assert result.right, (program, result.why, result.error)
        assert result.tools_ran and not result.abstained


@pytest.mark.parametrize("task", DOABLE, ids=lambda t: t.text[:50])
def test_a_text_or_the_unchanged_input_is_not_the_outcome(task, tmp_path):
    assert not mark(task, 'result = "done"', tmp_path).right
    values = [n for n in task.inputs if "." not in n]
    if values:
        assert not mark(task, f"result = {values[0]}", tmp_path).right


NEAR_MISSES = {
    "Turn the snapshot ninety degrees clockwise.": ["result = rotate_image(image=snapshot, degrees=90)"],
    "I need the snapshot upside down.": ["result = flip_image(image=snapshot)"],
    "Scale the poster down to 100 by 60 pixels.": ["result = resize_image(image=poster, width=60, height=100)"],
    "Shrink banner.png to a third of its size.": [
        'image = load_image(path="banner.png")\nresult = resize_image(image=image, width=120)'],
    "Cut out the top-left quarter of the snapshot.": [
        "result = crop_image(image=snapshot, left=80, top=0, right=160, bottom=50)"],
    "Write 'SALE' on the poster.": ['result = draw_text(image=poster, text="hi")',
                                    'result = draw_text(image=poster, text="SALE on the poster")',
                                    'result = draw_text(image=poster, text="SALE", x=190)',
                                    'result = draw_text(image=poster, text="")'],
    'Put the words "Open late" on the snapshot in black.': [
        'result = draw_text(image=snapshot, text="Open late")'],
    "Show the snapshot and its mirror image side by side.": [
        "result = side_by_side(left=snapshot, right=snapshot)"],
    "Place the logo to the right of the poster.": ["result = side_by_side(left=logo, right=poster)"],
    "How tall is the poster in pixels?": ["result = 200", "result = image_size(image=poster)"],
    "Mirror the logo.": ['result = flip_image(image=logo, direction="vertical")',
                         "result = rotate_image(image=logo, degrees=180)"],
    "Give me a 48 pixel thumbnail of the poster.": ["result = thumbnail(image=poster)"],
    "Create a plain orange picture that is 300 pixels wide and 150 pixels tall.": [
        'result = make_image(width=300, height=150, color="red")'],
    "Turn the jingle down to a quarter of its volume.": ["result = change_volume(audio=jingle, factor=0.5)"],
    "Make the intro 50 % louder.": ["result = change_volume(audio=intro, factor=50)",
                                    "result = change_volume(audio=intro, factor=0.5)"],
    "Keep only the first 1.5 seconds of the lecture.": ["result = trim_audio(audio=lecture, start=2.5)"],
    "Drop the first half of the lecture and keep the rest.": ["result = trim_audio(audio=lecture, end=2)"],
    "Play the intro and then the outro, as one clip.": ["result = concatenate_audio(first=outro, second=intro)"],
    "Create a 3-second beep at 1000 Hz.": ["result = make_tone(frequency=440, duration=3)",
                                           "result = make_tone(frequency=1000, duration=1)"],
    "Generate a tone at 220 hertz lasting two and a half seconds.": [
        "result = make_tone(frequency=220, duration=2)"],
    "What is the duration of chime.wav in seconds?": ['result = "1.2 or 2.4"', "result = 1"],
    "Save the outro as ending.flac.": ['result = save_audio(audio=outro, path="ending.wav")',
                                       'result = save_audio(audio=outro, path="outro.flac")',
                                       'result = save_audio(audio=trim_audio(audio=outro, end=1), path="ending.flac")'],
    "Open memo.txt and tell me how many words are in it.": ['result = word_count(text="memo.txt")'],
    "Crop the snapshot to its left half, then turn it upside down.": [
        "result = crop_image(image=snapshot, left=0, top=0, right=80, bottom=100)"],
    "Write 'Draft' on the poster, then make the whole thing black and white.": [
        "result = grayscale_image(image=poster)", 'result = draw_text(image=poster, text="Draft")'],
    "Tilt the logo by 30 degrees to the left.": ["result = rotate_image(image=logo, degrees=-30)"],
    "Play the jingle two times back to back.": ["result = change_volume(audio=jingle, factor=2)"],
    "Rotate the photo by 90 degrees.": ["result = rotate_image(image=photo, degrees=-90)"],
    "Make the photo grayscale and write 'hello' on it.": [
        "result = grayscale_image(image=photo)", 'result = draw_text(image=photo, text="hello")'],
    'Write "Hello world" on the picture in red.': ['result = draw_text(image=picture, text="Hello world")'],
    "Put the photo next to a grayscale copy of it.": ["result = side_by_side(left=photo, right=photo)"],
    "What is the size of the photo?": ["result = 120", "result = [80, 120]"],
    "How wide is the picture?": ["result = image_size(image=picture)", "result = 240"],
    "Save the tone to beep.wav.": ['result = save_audio(audio=tone, path="output.wav")'],
    "Make the song half as loud.": ["result = change_volume(audio=song, factor=1.5)"],
    "Cut the song from 1 to 2.5 seconds.": ["result = trim_audio(audio=song, start=0, end=1.5)"],
    "Join clip1 and clip2.": ["result = concatenate_audio(first=clip2, second=clip1)"],
    "Make the tone twice as long.": ["result = make_tone(duration=1)"],
    "Read notes.txt.": ['result = "notes.txt"'],
    "Rotate the photo by 180 degrees, then make it a 50 pixel thumbnail.": [
        "result = thumbnail(image=photo, size=50)"],
    "Make the song louder by a factor of 3 and then keep the first two seconds.": [
        "result = trim_audio(audio=song, start=0, end=2)"],
    # held-out 2
    "Rotate the postcard 45 degrees.": ["result = rotate_image(image=postcard, degrees=-45)",
                                        "result = rotate_image(image=postcard, degrees=90)"],
    "Give the postcard a quarter turn counter-clockwise.": ["result = rotate_image(image=postcard, degrees=-90)"],
    "Make sticker.png 45 pixels wide and 30 pixels tall.": [
        'image = load_image(path="sticker.png")\nresult = resize_image(image=image, width=30, height=45)'],
    "Resize the flyer to a width of 90 pixels, keeping its proportions.": [
        "result = resize_image(image=flyer, width=90, height=90)",
        "result = resize_image(image=flyer, width=60, height=90)"],
    "Double the size of the badge.": ["result = resize_image(image=badge, width=60, height=60)",
                                      "result = resize_image(image=badge, width=240, height=120)"],
    "Crop the flyer to left 20, top 10, right 100, bottom 70.": [
        "result = crop_image(image=flyer, left=10, top=20, right=100, bottom=70)",
        "result = crop_image(image=flyer, left=0, top=0, right=80, bottom=60)"],
    'Add the caption "Summer 2024" to the postcard.': ['result = draw_text(image=postcard, text="Summer")',
                                                       'result = draw_text(image=postcard, text="caption")'],
    "Write 'VIP' in yellow on the badge.": ['result = draw_text(image=badge, text="VIP")',
                                            'result = draw_text(image=badge, text="VIP in yellow", color="yellow")'],
    "Make a 64 pixel thumbnail of sticker.png.": [
        'image = load_image(path="sticker.png")\nresult = thumbnail(image=image)',
        'image = load_image(path="sticker.png")\nresult = resize_image(image=image, width=64, height=64)'],
    "I need a blank white canvas of eight hundred by six hundred.": [
        "result = make_image(width=600, height=800)", 'result = make_image(width=800, height=600, color="black")'],
    "What are the dimensions of the flyer?": ["result = [120, 180]", "result = 180"],
    "Make the doorbell three times louder.": ["result = change_volume(audio=doorbell, factor=0.3)",
                                              "result = change_volume(audio=doorbell, factor=1.3)"],
    "Lower the volume of the ringtone by half.": ["result = change_volume(audio=ringtone, factor=1.5)",
                                                  "result = change_volume(audio=ringtone, factor=2)"],
    "Cut the podcast down to the part between 2 and 4 seconds.": [
        "result = trim_audio(audio=podcast, start=0, end=2)", "result = trim_audio(audio=podcast, start=4)"],
    "Remove the last two seconds of the podcast.": ["result = trim_audio(audio=podcast, start=2)",
                                                    "result = trim_audio(audio=podcast, end=2)"],
    "Join the doorbell and the whistle into one sound, doorbell first.": [
        "result = concatenate_audio(first=whistle, second=doorbell)"],
    "Generate a tone of three hundred hertz for 0.75 seconds.": [
        "result = make_tone(frequency=300, duration=1)", "result = make_tone(frequency=440, duration=0.75)"],
    "How many seconds does alarm.wav last?": ["result = 1", 'result = "1.6 or 3.2"'],
    "Save the ringtone as ring.wav.": ['result = save_audio(audio=ringtone, path="ringtone.wav")',
                                       'result = save_audio(audio=trim_audio(audio=ringtone, end=1), path="ring.wav")'],
    "Count the words in the story.": ["result = word_count(text=\"story\")"],
    "How many words are there in letter.txt?": ['result = word_count(text="letter.txt")'],
    "Open recipe.txt and show me its contents.": ['result = "recipe.txt"'],
    "Make the postcard grayscale, then rotate it by 180 degrees.": [
        "result = grayscale_image(image=postcard)", "result = rotate_image(image=postcard, degrees=180)"],
    "Make the podcast twice as loud after cutting it to its first 3 seconds.": [
        "result = trim_audio(audio=podcast, start=0, end=3)", "result = change_volume(audio=podcast, factor=2)",
        "cut = trim_audio(audio=podcast, start=3)\nresult = change_volume(audio=cut, factor=2)"],
    "Before making a 40 pixel thumbnail of sticker.png, flip it upside down.": [
        'image = load_image(path="sticker.png")\nresult = thumbnail(image=image, size=40)',
        'image = load_image(path="sticker.png")\nflipped = flip_image(image=image)\n'
        "result = thumbnail(image=flipped, size=40)"],
    "Put a grayscale copy of the badge to the left of the original badge.": [
        "gray = grayscale_image(image=badge)\nresult = side_by_side(left=badge, right=gray)",
        "result = side_by_side(left=badge, right=badge)"],
    "Play the whistle, then the doorbell, then the whistle again.": [
        "result = concatenate_audio(first=whistle, second=doorbell)",
        "both = concatenate_audio(first=doorbell, second=whistle)\n"
        "result = concatenate_audio(first=both, second=whistle)"],
    "Make two one-second tones, one at 500 Hz and one at 700 Hz, and join them.": [
        "low = make_tone(frequency=500, duration=1)\nhigh = make_tone(frequency=700, duration=1)\n"
        "result = concatenate_audio(first=high, second=low)", "result = make_tone(frequency=500, duration=2)"],
    "How tall is sticker.png?": ["result = 90",
                                 'image = load_image(path="sticker.png")\nresult = image_size(image=image)'],
    "Keep only the bottom half of the postcard.": [
        "result = crop_image(image=postcard, left=0, top=0, right=240, bottom=80)",
        "result = crop_image(image=postcard, left=0, top=80, right=120, bottom=160)"],
}


@pytest.mark.parametrize("text", list(NEAR_MISSES), ids=lambda t: t[:50])
def test_near_misses_are_wrong(text, tmp_path):
    task = BY_TEXT[text]
    for program in NEAR_MISSES[text]:
        result = mark(task, program, tmp_path)
        assert result.error == "" and not result.right, (program, result.why, result.error)
        assert result.why


def test_a_failed_run_is_wrong_with_its_error(tmp_path):
    task = BY_TEXT["Scale the poster down to 100 by 60 pixels."]
    result = mark(task, "result = resize_image(image=poster, width=0)", tmp_path)
    assert not result.right and result.error.startswith("ToolExecutionError") and result.why == result.error


# --- chats ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", CHATS, ids=lambda c: c.turns[0][:40])
def test_chat_references_pass_and_repeating_the_first_turn_fails(chat, tmp_path):
    right = checks.attempt_chat(scripted(*chat.references), chat.turns, chat.inputs, suites.MATERIAL,
                                chat.check, root=tmp_path)
    assert right.right, (right.why, right.error)
    again = checks.attempt_chat(scripted(chat.references[0], chat.references[0]), chat.turns, chat.inputs,
                                suites.MATERIAL, chat.check, root=tmp_path)
    assert not again.right and again.why


def test_a_chat_whose_first_turn_fails_says_so(tmp_path):
    chat = CHATS[0]
    result = checks.attempt_chat(scripted("result = undefined_name", chat.references[1]), chat.turns,
                                 chat.inputs, suites.MATERIAL, chat.check, root=tmp_path)
    assert not result.right and result.why.startswith("turn 1 failed")


# --- impossible: the honest error is right, a tool run is not -------------------------------------------


class Abstaining:
    """An agent stand-in whose run ends like an honest abstention: NoToolError, no tool ran."""

    def __init__(self, needed):
        self.needed = needed

    def perform(self, task, inputs):
        error = NoToolError(task, needed=[{"name": n, "missing": "weights", "command": f"%agent tools add {n}"}
                                          for n in self.needed], closest=["draw_text"])
        return Run(task=task, error=ErrorInfo.from_exception(error), exception=error)


@pytest.mark.parametrize("task", IMPOSSIBLE, ids=lambda t: t.text[:50])
def test_impossible_tasks_want_the_honest_error(task, tmp_path):
    honest = checks.attempt(Abstaining(task.needs), task.text, task.inputs, suites.MATERIAL, None, root=tmp_path)
    assert honest.right and honest.abstained and honest.needed == task.needs
    guess = checks.attempt(scripted('result = make_image(width=8, height=8)'), task.text, task.inputs,
                           suites.MATERIAL, None, root=tmp_path)
    assert not guess.right and not guess.abstained and guess.why == "ran make_image"
    plain = checks.attempt(scripted('result = "Sorry, I cannot."'), task.text, task.inputs, suites.MATERIAL,
                           None, root=tmp_path)
    assert not plain.right and "no error" in plain.why


def test_checks_read_numbers_in_text_and_refuse_two():
    check = checks.number(15)
    assert check(15, None) is None and check("There are 15 words.", None) is None
    assert check("15 or 16", None) and check(True, None) and check(16.0, None)
