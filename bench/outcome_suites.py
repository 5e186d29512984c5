"""End-to-end task suites with outcome checks, over the real default toolbox (issue 16).

Three families, each in a *tuned* suite (what the agent may be tuned on) and a *held-out* one
(never tuned on; reported apart):

* ``doable-*`` (:class:`Doable`): everyday tasks the offline default tools can do. Each has the
  inputs it gets (names in :data:`MATERIAL`), a reference program that does it on the real
  tools, and an outcome check (bench/outcome_checks.py): the task is right only when the result
  is (image size and pixels, audio length, pitch and loudness, numbers, texts).
* ``impossible-*`` (:class:`Impossible`): tasks no ready tool can do here, either because the
  model-backed tool that would do it has no weights on this machine (``needs`` names it) or
  because nothing in the toolbox fits (``needs`` empty). The right answer is the honest error:
  ``NoToolError`` before any tool ran.
* ``chat-*`` (:class:`Chat`): two-turn chats; the second turn's outcome is checked.

The held-out suites were written first and committed on their own, before any tuning, with
their own wording, input names and tools; the tuned suites came after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outcome_checks import (
    Check,
    audio_like,
    beside,
    gray,
    image_like,
    number,
    quadrants,
    saved_audio,
    size_answer,
    text_is,
    text_on,
    tone,
    two_tones,
)
from PIL import Image, ImageOps

__all__ = ["Doable", "Impossible", "Chat", "Suite", "MATERIAL", "SUITES"]


@dataclass(frozen=True)
class Doable:
    """A task the offline tools can do: ``reference`` does it; ``check`` judges the outcome."""

    text: str
    inputs: tuple[str, ...]
    check: Check
    reference: str
    alternatives: tuple[str, ...] = ()  # other right programs (for the code score)


@dataclass(frozen=True)
class Impossible:
    """A task no ready tool can do; ``needs``: the model-backed tools that would (none: nothing fits)."""

    text: str
    inputs: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chat:
    """A chat of several turns (inputs given with the first); ``check`` judges the last turn."""

    turns: tuple[str, ...]
    inputs: tuple[str, ...]
    check: Check
    references: tuple[str, ...]  # one program per turn


@dataclass(frozen=True)
class Suite:
    name: str
    family: str  # "doable", "impossible" or "chat"
    held_out: bool
    tasks: tuple[Any, ...]


LANCZOS = Image.Resampling.LANCZOS


def _words(text: str) -> int:
    return len(text.split())


def _thumb(image: Image.Image, side: int) -> Image.Image:
    image = image.copy()
    image.thumbnail((side, side), LANCZOS)
    return image


# --- the inputs: every name a task may get (file names are written into the task's folder) --------------

ESSAY = ("The river runs past the old mill and into the valley where the farmers grow wheat "
         "in summer and leave the fields bare in winter")
TEXT = "Me encanta este restaurante y la comida es deliciosa"
NOTES = "Buy milk, eggs and bread.\nCall the plumber on Friday.\nWater the plants.\n"
MEMO = "Team meeting moved to Thursday at ten.\nPlease bring the quarterly figures and your laptop.\n"

MATERIAL: dict[str, Callable[[], Any]] = {
    # held-out
    "snapshot": lambda: quadrants(160, 100, ("red", "green", "blue", "yellow")),
    "poster": lambda: quadrants(200, 120, ((40, 40, 120), (120, 40, 40), (40, 120, 40), (90, 90, 90))),
    "logo": lambda: quadrants(60, 60, ("magenta", "cyan", "gold", "black")),
    "banner.png": lambda: quadrants(240, 60, ("orange", "purple", "teal", "olive")),
    "landscape": lambda: quadrants(128, 96, ("skyblue", "skyblue", "forestgreen", "sienna")),
    "invoice": lambda: quadrants(100, 140, ("white", "white", "lightgray", "white")),
    "jingle": lambda: tone(2.0, 523),
    "intro": lambda: tone(1.5, 392),
    "outro": lambda: tone(2.5, 659),
    "lecture": lambda: two_tones(4.0, 300, 600),
    "voicemail": lambda: two_tones(3.0, 250, 350),
    "chime.wav": lambda: tone(1.2, 784),
    "essay": lambda: ESSAY,
    "memo.txt": lambda: MEMO,
    "review": lambda: "The delivery was two weeks late and the box arrived crushed. Never again.",
    "article": lambda: ("The city council voted on Monday to close the old bridge for repairs. Work will take "
                        "six months. Buses will run every ten minutes on the detour, and cyclists may use "
                        "the ferry for free until the bridge opens again."),
    "paragraph": lambda: "Welcome to the museum. The tour starts in the hall on your left.",
    "program": lambda: '#include <stdio.h>\nint main(void) { printf("hi\\n"); return 0; }\n',
    # tuned
    "photo": lambda: quadrants(120, 80, ("red", "green", "blue", "yellow")),
    "picture": lambda: quadrants(180, 240, ("navy", "white", "black", "gray")),
    "cat.png": lambda: quadrants(100, 100, ("orange", "black", "white", "brown")),
    "tone": lambda: tone(1.0, 440),
    "song": lambda: two_tones(3.0, 440, 880),
    "recording": lambda: tone(2.5, 350),
    "clip1": lambda: tone(1.0, 500),
    "clip2": lambda: tone(2.0, 700),
    "music.wav": lambda: tone(2.0, 600),
    "text": lambda: TEXT,
    "notes.txt": lambda: NOTES,
}


# --- held-out (written before any tuning; never tuned on) -------------------------------------------------


def _snap(w):
    return w.image("snapshot")


def _poster(w):
    return w.image("poster")


HELD_OUT_DOABLE = (
    Doable("Turn the snapshot ninety degrees clockwise.", ("snapshot",),
           image_like(lambda w: _snap(w).transpose(Image.Transpose.ROTATE_270), what="clockwise rotation"),
           "result = rotate_image(image=snapshot, degrees=-90)",
           ("result = rotate_image(image=snapshot, degrees=270)",)),
    Doable("Could you make the poster black and white?", ("poster",),
           image_like(lambda w: gray(_poster(w)), what="grayscale poster"),
           "result = grayscale_image(image=poster)"),
    Doable("I need the snapshot upside down.", ("snapshot",),
           image_like(lambda w: [ImageOps.flip(_snap(w)), _snap(w).transpose(Image.Transpose.ROTATE_180)],
                      what="upside-down snapshot"),
           'result = flip_image(image=snapshot, direction="vertical")',
           ("result = rotate_image(image=snapshot, degrees=180)",)),
    Doable("Scale the poster down to 100 by 60 pixels.", ("poster",),
           image_like(lambda w: _poster(w).resize((100, 60), LANCZOS)),
           "result = resize_image(image=poster, width=100, height=60)"),
    Doable("Shrink banner.png to a third of its size.", ("banner.png",),
           image_like(lambda w: w.image("banner.png").resize((80, 20), LANCZOS), what="banner at 80x20"),
           'image = load_image(path="banner.png")\nsize = image_size(image=image)\n'
           "result = resize_image(image=image, width=size[0] / 3, height=size[1] / 3)",
           ('image = load_image(path="banner.png")\nresult = resize_image(image=image, width=80, height=20)',)),
    Doable("Cut out the top-left quarter of the snapshot.", ("snapshot",),
           image_like(lambda w: _snap(w).crop((0, 0, 80, 50)), what="top-left quarter"),
           "result = crop_image(image=snapshot, left=0, top=0, right=80, bottom=50)"),
    Doable("Write 'SALE' on the poster.", ("poster",), text_on(_poster, "SALE"),
           'result = draw_text(image=poster, text="SALE")'),
    Doable('Put the words "Open late" on the snapshot in black.', ("snapshot",),
           text_on(_snap, "Open late", color="black"),
           'result = draw_text(image=snapshot, text="Open late", color="black")'),
    Doable("Mirror the logo.", ("logo",), image_like(lambda w: ImageOps.mirror(w.image("logo")), what="mirrored logo"),
           "result = flip_image(image=logo)",
           ('result = flip_image(image=logo, direction="horizontal")',)),
    Doable("Show the snapshot and its mirror image side by side.", ("snapshot",),
           image_like(lambda w: [beside(_snap(w), ImageOps.mirror(_snap(w))),
                                 beside(ImageOps.mirror(_snap(w)), _snap(w))], what="snapshot | mirror"),
           "mirrored = flip_image(image=snapshot)\nresult = side_by_side(left=snapshot, right=mirrored)"),
    Doable("Place the logo to the right of the poster.", ("poster", "logo"),
           image_like(lambda w: beside(_poster(w), w.image("logo")), what="poster | logo"),
           "result = side_by_side(left=poster, right=logo)"),
    Doable("How tall is the poster in pixels?", ("poster",), size_answer(200, 120, want="height"),
           "size = image_size(image=poster)\nresult = size[1]"),
    Doable("Give me a 48 pixel thumbnail of the poster.", ("poster",),
           image_like(lambda w: _thumb(_poster(w), 48), what="48 px thumbnail"),
           "result = thumbnail(image=poster, size=48)"),
    Doable("Create a plain orange picture that is 300 pixels wide and 150 pixels tall.", (),
           image_like(lambda w: Image.new("RGB", (300, 150), "orange"), what="orange 300x150"),
           'result = make_image(width=300, height=150, color="orange")'),
    Doable("Turn the jingle down to a quarter of its volume.", ("jingle",),
           audio_like(seconds=2.0, loudness=("jingle", 0.25), pitch=523),
           "result = change_volume(audio=jingle, factor=0.25)"),
    Doable("Make the intro 50 % louder.", ("intro",),
           audio_like(seconds=1.5, loudness=("intro", 1.5), pitch=392),
           "result = change_volume(audio=intro, factor=1.5)"),
    Doable("Keep only the first 1.5 seconds of the lecture.", ("lecture",),
           audio_like(seconds=1.5, loudness=("lecture", 1.0), pitch=300),
           "result = trim_audio(audio=lecture, start=0, end=1.5)",
           ("result = trim_audio(audio=lecture, end=1.5)",)),
    Doable("Drop the first half of the lecture and keep the rest.", ("lecture",),
           audio_like(seconds=2.0, loudness=("lecture", 1.0), pitch=600),
           "length = audio_duration(audio=lecture)\nresult = trim_audio(audio=lecture, start=length / 2)",
           ("result = trim_audio(audio=lecture, start=2)",)),
    Doable("Play the intro and then the outro, as one clip.", ("intro", "outro"),
           audio_like(seconds=4.0, parts=((0.0, 1.5, 392), (1.5, 4.0, 659))),
           "result = concatenate_audio(first=intro, second=outro)"),
    Doable("Create a 3-second beep at 1000 Hz.", (), audio_like(seconds=3.0, pitch=1000),
           "result = make_tone(frequency=1000, duration=3)"),
    Doable("Generate a tone at 220 hertz lasting two and a half seconds.", (), audio_like(seconds=2.5, pitch=220),
           "result = make_tone(frequency=220, duration=2.5)"),
    Doable("What is the duration of chime.wav in seconds?", ("chime.wav",), number(1.2, tolerance=0.01),
           'audio = load_audio(path="chime.wav")\nresult = audio_duration(audio=audio)'),
    Doable("Save the outro as ending.flac.", ("outro",),
           saved_audio("ending.flac", audio_like(seconds=2.5, pitch=659)),
           'result = save_audio(audio=outro, path="ending.flac")'),
    Doable("How many words does the essay have?", ("essay",), number(_words(ESSAY)),
           "result = word_count(text=essay)"),
    Doable("Open memo.txt and tell me how many words are in it.", ("memo.txt",), number(_words(MEMO)),
           'text = read_text_file(path="memo.txt")\nresult = word_count(text=text)'),
    Doable("Show me what memo.txt says.", ("memo.txt",), text_is(MEMO),
           'result = read_text_file(path="memo.txt")'),
    Doable("Crop the snapshot to its left half, then turn it upside down.", ("snapshot",),
           image_like(lambda w: [ImageOps.flip(_snap(w).crop((0, 0, 80, 100))),
                                 _snap(w).crop((0, 0, 80, 100)).transpose(Image.Transpose.ROTATE_180)],
                      what="left half, upside down"),
           "half = crop_image(image=snapshot, left=0, top=0, right=80, bottom=100)\n"
           'result = flip_image(image=half, direction="vertical")'),
    Doable("Write 'Draft' on the poster, then make the whole thing black and white.", ("poster",),
           text_on(lambda w: gray(_poster(w)), "Draft"),
           'marked = draw_text(image=poster, text="Draft")\nresult = grayscale_image(image=marked)'),
    Doable("Tilt the logo by 30 degrees to the left.", ("logo",),
           image_like(lambda w: w.image("logo").rotate(30, resample=Image.Resampling.BICUBIC, expand=True),
                      what="logo turned 30 degrees counter-clockwise"),
           "result = rotate_image(image=logo, degrees=30)"),
    Doable("Play the jingle two times back to back.", ("jingle",),
           audio_like(seconds=4.0, loudness=("jingle", 1.0), pitch=523),
           "result = concatenate_audio(first=jingle, second=jingle)"),
)

HELD_OUT_IMPOSSIBLE = (
    Impossible("Paint a watercolor of a lighthouse at sunset.", (), ("image_generator",)),
    Impossible("Say 'good morning' in Japanese.", (), ("translator",)),
    Impossible("Write down what the caller says in the voicemail.", ("voicemail",), ("transcriber",)),
    Impossible("What's in this snapshot? Describe it in one sentence.", ("snapshot",),
               ("image_captioner", "image_qa")),
    Impossible("Does the customer sound happy or angry in this review?", ("review",), ("text_classifier",)),
    Impossible("Give me the gist of the article in two sentences.", ("article",), ("summarizer",)),
    Impossible("Read the paragraph out loud to me.", ("paragraph",), ("text_reader",)),
    Impossible("Make the landscape look like a Van Gogh painting.", ("landscape",), ("image_transformer",)),
    Impossible("What is the total amount on the scanned invoice?", ("invoice",), ("document_qa",)),
    Impossible("Book me a table for two at an Italian restaurant tonight."),
    Impossible("Send the essay to anna@example.com by email.", ("essay",)),
    Impossible("Compile this C program and tell me if it has errors.", ("program",)),
)

HELD_OUT_CHAT = (
    Chat(("Create a beep of 880 Hz for half a second.", "Make it three times as long."), (),
         audio_like(seconds=1.5, pitch=880),
         ("result = make_tone(frequency=880, duration=0.5)", "result = make_tone(frequency=880, duration=1.5)")),
    Chat(("Flip the snapshot upside down.", "Now shrink it to a 40 pixel thumbnail."), ("snapshot",),
         image_like(lambda w: [_thumb(ImageOps.flip(_snap(w)), 40),
                               _thumb(_snap(w).transpose(Image.Transpose.ROTATE_180), 40)],
                    what="upside-down 40 px thumbnail"),
         ('result = flip_image(image=snapshot, direction="vertical")', "result = thumbnail(image=result, size=40)")),
    Chat(("Open memo.txt.", "How many words does it have?"), ("memo.txt",), number(_words(MEMO)),
         ('result = read_text_file(path="memo.txt")', "result = word_count(text=result)")),
    Chat(("Turn the jingle down to half volume.", "Also keep just the first second of it."), ("jingle",),
         audio_like(seconds=1.0, loudness=("jingle", 0.5), pitch=523),
         ("result = change_volume(audio=jingle, factor=0.5)", "result = trim_audio(audio=result, start=0, end=1)")),
    Chat(("Make a blank 300 by 200 image in light blue.", "Write 'Welcome' on it in black."), (),
         text_on(lambda w: Image.new("RGB", (300, 200), "lightblue"), "Welcome", color="black"),
         ('result = make_image(width=300, height=200, color="lightblue")',
          'result = draw_text(image=result, text="Welcome", color="black")')),
    Chat(("Put the poster next to the logo.", "Now make that black and white."), ("poster", "logo"),
         image_like(lambda w: gray(beside(_poster(w), w.image("logo"))), what="grayscale poster | logo"),
         ("result = side_by_side(left=poster, right=logo)", "result = grayscale_image(image=result)")),
)


# --- tuned (written after the held-out suites; the agent may be tuned on these) ---------------------------


def _photo(w):
    return w.image("photo")


def _picture(w):
    return w.image("picture")


TUNED_DOABLE = (
    Doable("Rotate the photo by 90 degrees.", ("photo",),
           image_like(lambda w: _photo(w).transpose(Image.Transpose.ROTATE_90), what="photo turned 90 degrees"),
           "result = rotate_image(image=photo, degrees=90)"),
    Doable("Make the photo grayscale.", ("photo",), image_like(lambda w: gray(_photo(w)), what="grayscale photo"),
           "result = grayscale_image(image=photo)"),
    Doable("Make the photo grayscale and write 'hello' on it.", ("photo",),
           text_on(lambda w: gray(_photo(w)), "hello"),
           'result = grayscale_image(image=photo)\nresult = draw_text(image=result, text="hello")'),
    Doable("Flip the picture vertically.", ("picture",),
           image_like(lambda w: ImageOps.flip(_picture(w)), what="picture flipped upside down"),
           'result = flip_image(image=picture, direction="vertical")'),
    Doable("Flip the photo horizontally.", ("photo",),
           image_like(lambda w: ImageOps.mirror(_photo(w)), what="mirrored photo"),
           'result = flip_image(image=photo, direction="horizontal")', ("result = flip_image(image=photo)",)),
    Doable("Resize the photo to 60 pixels wide and 40 high.", ("photo",),
           image_like(lambda w: _photo(w).resize((60, 40), LANCZOS)),
           "result = resize_image(image=photo, width=60, height=40)"),
    Doable("Resize the picture to half its size.", ("picture",),
           image_like(lambda w: _picture(w).resize((90, 120), LANCZOS), what="picture at 90x120"),
           "size = image_size(image=picture)\n"
           "result = resize_image(image=picture, width=size[0] / 2, height=size[1] / 2)",
           ("result = resize_image(image=picture, width=90, height=120)",
            "result = resize_image(image=picture, width=90)")),
    Doable("Crop the photo to the box from (10, 10) to (70, 50).", ("photo",),
           image_like(lambda w: _photo(w).crop((10, 10, 70, 50))),
           "result = crop_image(image=photo, left=10, top=10, right=70, bottom=50)"),
    Doable('Write "Hello world" on the picture in red.', ("picture",),
           text_on(_picture, "Hello world", color="red"),
           'result = draw_text(image=picture, text="Hello world", color="red")'),
    Doable("Put the photo next to a grayscale copy of it.", ("photo",),
           image_like(lambda w: [beside(_photo(w), gray(_photo(w))), beside(gray(_photo(w)), _photo(w))],
                      what="photo | grayscale photo"),
           "gray = grayscale_image(image=photo)\nresult = side_by_side(left=photo, right=gray)"),
    Doable("Put the photo and the picture side by side.", ("photo", "picture"),
           image_like(lambda w: beside(_photo(w), _picture(w)), what="photo | picture"),
           "result = side_by_side(left=photo, right=picture)"),
    Doable("Make a thumbnail of cat.png that is at most 32 pixels.", ("cat.png",),
           image_like(lambda w: _thumb(w.image("cat.png"), 32), what="32 px thumbnail"),
           'image = load_image(path="cat.png")\nresult = thumbnail(image=image, size=32)'),
    Doable("Make a red image 100 pixels wide and 50 pixels high.", (),
           image_like(lambda w: Image.new("RGB", (100, 50), "red"), what="red 100x50"),
           'result = make_image(width=100, height=50, color="red")'),
    Doable("What is the size of the photo?", ("photo",), size_answer(120, 80, want="size"),
           "result = image_size(image=photo)"),
    Doable("How wide is the picture?", ("picture",), size_answer(180, 240, want="width"),
           "size = image_size(image=picture)\nresult = size[0]"),
    Doable("Make the song half as loud.", ("song",), audio_like(seconds=3.0, loudness=("song", 0.5)),
           "result = change_volume(audio=song, factor=0.5)"),
    Doable("Make the song twice as loud.", ("song",), audio_like(seconds=3.0, loudness=("song", 2.0)),
           "result = change_volume(audio=song, factor=2)"),
    Doable("Trim the recording to the first second.", ("recording",),
           audio_like(seconds=1.0, loudness=("recording", 1.0), pitch=350),
           "result = trim_audio(audio=recording, start=0, end=1)"),
    Doable("Cut the song from 1 to 2.5 seconds.", ("song",),
           audio_like(seconds=1.5, parts=((0.0, 0.5, 440), (0.5, 1.5, 880))),
           "result = trim_audio(audio=song, start=1, end=2.5)"),
    Doable("Join clip1 and clip2.", ("clip1", "clip2"),
           audio_like(seconds=3.0, parts=((0.0, 1.0, 500), (1.0, 3.0, 700))),
           "result = concatenate_audio(first=clip1, second=clip2)"),
    Doable("Make the tone twice as long.", ("tone",), audio_like(seconds=2.0, loudness=("tone", 1.0), pitch=440),
           "result = concatenate_audio(first=tone, second=tone)"),
    Doable("Make a tone of 600 Hz that lasts five seconds.", (), audio_like(seconds=5.0, pitch=600),
           "result = make_tone(frequency=600, duration=5)"),
    Doable("How long is the recording in seconds?", ("recording",), number(2.5, tolerance=0.01),
           "result = audio_duration(audio=recording)"),
    Doable("Load music.wav and make it 50 % quieter.", ("music.wav",),
           audio_like(seconds=2.0, loudness=("music.wav", 0.5), pitch=600),
           'audio = load_audio(path="music.wav")\nresult = change_volume(audio=audio, factor=0.5)'),
    Doable("Save the tone to beep.wav.", ("tone",), saved_audio("beep.wav", audio_like(seconds=1.0, pitch=440)),
           'result = save_audio(audio=tone, path="beep.wav")'),
    Doable("How many words are in the text?", ("text",), number(_words(TEXT)), "result = word_count(text=text)"),
    Doable("Read the file notes.txt and count its words.", ("notes.txt",), number(_words(NOTES)),
           'result = read_text_file(path="notes.txt")\nresult = word_count(text=result)'),
    Doable("Read notes.txt.", ("notes.txt",), text_is(NOTES), 'result = read_text_file(path="notes.txt")'),
    Doable("Rotate the photo by 180 degrees, then make it a 50 pixel thumbnail.", ("photo",),
           image_like(lambda w: _thumb(_photo(w).transpose(Image.Transpose.ROTATE_180), 50),
                      what="photo turned 180 degrees, 50 px thumbnail"),
           "result = rotate_image(image=photo, degrees=180)\nresult = thumbnail(image=result, size=50)"),
    Doable("Make the song louder by a factor of 3 and then keep the first two seconds.", ("song",),
           audio_like(seconds=2.0, loudness=("song", 3.0), parts=((0.0, 1.5, 440), (1.5, 2.0, 880))),
           "result = change_volume(audio=song, factor=3)\nresult = trim_audio(audio=result, start=0, end=2)"),
)

TUNED_IMPOSSIBLE = (
    Impossible("Draw me a picture of rivers and lakes.", (), ("image_generator",)),
    Impossible("Is the following text (in Spanish) positive or negative?", ("text",), ("text_classifier",)),
    Impossible("Translate the text into French.", ("text",), ("translator",)),
    Impossible("Transcribe the recording.", ("recording",), ("transcriber",)),
    Impossible("Caption the photo.", ("photo",), ("image_captioner",)),
    Impossible("Summarize the text.", ("text",), ("summarizer",)),
    Impossible("Read the text aloud.", ("text",), ("text_reader",)),
    Impossible("What color is the car in the photo?", ("photo",), ("image_qa",)),
    Impossible("Find the cat in the photo and make a mask of it.", ("photo",), ("image_segmenter",)),
    Impossible("Book a flight to Paris for next Monday."),
    Impossible("Send an email to bob@example.com saying hello."),
    Impossible("What's the weather like in London today?"),
)

TUNED_CHAT = (
    Chat(("Make a one-second tone.", "Now make it twice as long."), (), audio_like(seconds=2.0, pitch=440),
         ("result = make_tone(duration=1)", "result = make_tone(duration=2)")),
    Chat(("Rotate the photo by 90 degrees.", "Now make it grayscale."), ("photo",),
         image_like(lambda w: gray(_photo(w).transpose(Image.Transpose.ROTATE_90)), what="rotated and grayscale"),
         ("result = rotate_image(image=photo, degrees=90)", "result = grayscale_image(image=result)")),
    Chat(("Make the song twice as loud.", "Then trim it to the first 2 seconds."), ("song",),
         audio_like(seconds=2.0, loudness=("song", 2.0)),
         ("result = change_volume(audio=song, factor=2)", "result = trim_audio(audio=result, start=0, end=2)")),
    Chat(("Read notes.txt.", "Count the words in it."), ("notes.txt",), number(_words(NOTES)),
         ('result = read_text_file(path="notes.txt")', "result = word_count(text=result)")),
    Chat(("Make a red image 100 pixels wide and 50 high.", "Write 'hi' on it."), (),
         text_on(lambda w: Image.new("RGB", (100, 50), "red"), "hi"),
         ('result = make_image(width=100, height=50, color="red")', 'result = draw_text(image=result, text="hi")')),
    Chat(("Mirror the picture.", "Now put it next to the original."), ("picture",),
         image_like(lambda w: [beside(ImageOps.mirror(_picture(w)), _picture(w)),
                               beside(_picture(w), ImageOps.mirror(_picture(w)))], what="mirror | picture"),
         ("result = flip_image(image=picture)", "result = side_by_side(left=result, right=picture)")),
)


SUITES: dict[str, Suite] = {
    "doable-tuned": Suite("doable-tuned", "doable", False, TUNED_DOABLE),
    "impossible-tuned": Suite("impossible-tuned", "impossible", False, TUNED_IMPOSSIBLE),
    "chat-tuned": Suite("chat-tuned", "chat", False, TUNED_CHAT),
    "doable-held-out": Suite("doable-held-out", "doable", True, HELD_OUT_DOABLE),
    "impossible-held-out": Suite("impossible-held-out", "impossible", True, HELD_OUT_IMPOSSIBLE),
    "chat-held-out": Suite("chat-held-out", "chat", True, HELD_OUT_CHAT),
}
