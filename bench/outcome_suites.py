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
their own wording, input names and tools; the tuned suites came after. Once the tuner had seen
those, a second held-out set (``*-held-out-2``) was written blind, committed on its own before
the agent ran on it, with new wording, input names and materials.
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

STORY = ("On Saturday morning we walked down to the harbour, bought fresh bread at the bakery and "
         "watched the fishing boats come back with their nets full")
LETTER = ("Dear Sam,\nThank you for the lovely flowers. They brighten up the kitchen every morning.\n"
          "See you soon,\nAlex\n")
RECIPE = "Pancakes\n2 eggs\n1 cup of flour\n1 cup of milk\nWhisk everything together and fry in a hot pan.\n"

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
    # held-out 2
    "postcard": lambda: quadrants(240, 160, ("coral", "steelblue", "khaki", "darkslategray")),
    "flyer": lambda: quadrants(180, 120, ("crimson", "white", "royalblue", "gold")),
    "badge": lambda: quadrants(120, 120, ("navy", "maroon", "darkgreen", "indigo")),
    "sticker.png": lambda: quadrants(90, 60, ("lime", "pink", "chocolate", "slateblue")),
    "garden": lambda: quadrants(160, 120, ("lightgreen", "green", "darkgreen", "yellowgreen")),
    "doorbell": lambda: tone(1.0, 660),
    "ringtone": lambda: tone(2.0, 988),
    "whistle": lambda: tone(0.5, 1200),
    "podcast": lambda: two_tones(6.0, 200, 400),
    "alarm.wav": lambda: tone(1.6, 1000),
    "interview": lambda: two_tones(5.0, 180, 260),
    "story": lambda: STORY,
    "letter.txt": lambda: LETTER,
    "recipe.txt": lambda: RECIPE,
    "greeting": lambda: "Good evening, and welcome to our little hotel by the sea.",
    "complaint": lambda: "I waited an hour on the phone and nobody helped me. The worst service I have had.",
    "report": lambda: ("Sales rose in the spring thanks to the new shop in the station. The summer was slow "
                       "because of the road works outside. In the autumn the online orders doubled, and the "
                       "team plans to open a second shop next year."),
    "speech": lambda: "Thank you all for coming tonight. It has been a wonderful year for our club.",
    "faq": lambda: ("The shop opens at nine and closes at six from Monday to Friday. On Saturdays it opens at "
                    "ten. It is closed on Sundays and public holidays."),
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


# --- held-out 2 (written blind after the tuner had seen the suites above; never tuned on) ------------------


def _postcard(w):
    return w.image("postcard")


def _flyer(w):
    return w.image("flyer")


def _badge(w):
    return w.image("badge")


def _sticker(w):
    return w.image("sticker.png")


HELD_OUT_2_DOABLE = (
    Doable("Rotate the postcard 45 degrees.", ("postcard",),
           image_like(lambda w: _postcard(w).rotate(45, resample=Image.Resampling.BICUBIC, expand=True),
                      what="postcard turned 45 degrees counter-clockwise"),
           "result = rotate_image(image=postcard, degrees=45)"),
    Doable("Give the postcard a quarter turn counter-clockwise.", ("postcard",),
           image_like(lambda w: _postcard(w).transpose(Image.Transpose.ROTATE_90), what="quarter turn left"),
           "result = rotate_image(image=postcard, degrees=90)"),
    Doable("Make sticker.png 45 pixels wide and 30 pixels tall.", ("sticker.png",),
           image_like(lambda w: _sticker(w).resize((45, 30), LANCZOS)),
           'image = load_image(path="sticker.png")\nresult = resize_image(image=image, width=45, height=30)'),
    Doable("Resize the flyer to a width of 90 pixels, keeping its proportions.", ("flyer",),
           image_like(lambda w: _flyer(w).resize((90, 60), LANCZOS), what="flyer at 90x60"),
           "result = resize_image(image=flyer, width=90)",
           ("result = resize_image(image=flyer, width=90, height=60)",)),
    Doable("Double the size of the badge.", ("badge",),
           image_like(lambda w: _badge(w).resize((240, 240), LANCZOS), what="badge at 240x240"),
           "size = image_size(image=badge)\nresult = resize_image(image=badge, width=size[0] * 2, height=size[1] * 2)",
           ("result = resize_image(image=badge, width=240, height=240)",)),
    Doable("Crop the flyer to left 20, top 10, right 100, bottom 70.", ("flyer",),
           image_like(lambda w: _flyer(w).crop((20, 10, 100, 70))),
           "result = crop_image(image=flyer, left=20, top=10, right=100, bottom=70)"),
    Doable('Add the caption "Summer 2024" to the postcard.', ("postcard",), text_on(_postcard, "Summer 2024"),
           'result = draw_text(image=postcard, text="Summer 2024")'),
    Doable("Write 'VIP' in yellow on the badge.", ("badge",), text_on(_badge, "VIP", color="yellow"),
           'result = draw_text(image=badge, text="VIP", color="yellow")'),
    Doable("Make a 64 pixel thumbnail of sticker.png.", ("sticker.png",),
           image_like(lambda w: _thumb(_sticker(w), 64), what="64 px thumbnail"),
           'image = load_image(path="sticker.png")\nresult = thumbnail(image=image, size=64)'),
    Doable("I need a blank white canvas of eight hundred by six hundred.", (),
           image_like(lambda w: Image.new("RGB", (800, 600), "white"), what="white 800x600"),
           "result = make_image(width=800, height=600)",
           ('result = make_image(width=800, height=600, color="white")',)),
    Doable("What are the dimensions of the flyer?", ("flyer",), size_answer(180, 120, want="size"),
           "result = image_size(image=flyer)"),
    Doable("Make the doorbell three times louder.", ("doorbell",),
           audio_like(seconds=1.0, loudness=("doorbell", 3.0), pitch=660),
           "result = change_volume(audio=doorbell, factor=3)"),
    Doable("Lower the volume of the ringtone by half.", ("ringtone",),
           audio_like(seconds=2.0, loudness=("ringtone", 0.5), pitch=988),
           "result = change_volume(audio=ringtone, factor=0.5)"),
    Doable("Cut the podcast down to the part between 2 and 4 seconds.", ("podcast",),
           audio_like(seconds=2.0, parts=((0.0, 1.0, 200), (1.0, 2.0, 400))),
           "result = trim_audio(audio=podcast, start=2, end=4)"),
    Doable("Remove the last two seconds of the podcast.", ("podcast",),
           audio_like(seconds=4.0, parts=((0.0, 3.0, 200), (3.0, 4.0, 400))),
           "length = audio_duration(audio=podcast)\nresult = trim_audio(audio=podcast, start=0, end=length - 2)",
           ("result = trim_audio(audio=podcast, end=4)", "result = trim_audio(audio=podcast, start=0, end=4)")),
    Doable("Join the doorbell and the whistle into one sound, doorbell first.", ("doorbell", "whistle"),
           audio_like(seconds=1.5, parts=((0.0, 1.0, 660), (1.0, 1.5, 1200))),
           "result = concatenate_audio(first=doorbell, second=whistle)"),
    Doable("Generate a tone of three hundred hertz for 0.75 seconds.", (), audio_like(seconds=0.75, pitch=300),
           "result = make_tone(frequency=300, duration=0.75)"),
    Doable("How many seconds does alarm.wav last?", ("alarm.wav",), number(1.6, tolerance=0.01),
           'audio = load_audio(path="alarm.wav")\nresult = audio_duration(audio=audio)'),
    Doable("Save the ringtone as ring.wav.", ("ringtone",),
           saved_audio("ring.wav", audio_like(seconds=2.0, pitch=988)),
           'result = save_audio(audio=ringtone, path="ring.wav")'),
    Doable("Count the words in the story.", ("story",), number(_words(STORY)), "result = word_count(text=story)"),
    Doable("How many words are there in letter.txt?", ("letter.txt",), number(_words(LETTER)),
           'text = read_text_file(path="letter.txt")\nresult = word_count(text=text)'),
    Doable("Open recipe.txt and show me its contents.", ("recipe.txt",), text_is(RECIPE),
           'result = read_text_file(path="recipe.txt")'),
    Doable("Make the postcard grayscale, then rotate it by 180 degrees.", ("postcard",),
           image_like(lambda w: gray(_postcard(w)).transpose(Image.Transpose.ROTATE_180),
                      what="grayscale postcard turned 180 degrees"),
           "gray = grayscale_image(image=postcard)\nresult = rotate_image(image=gray, degrees=180)"),
    Doable("Make the podcast twice as loud after cutting it to its first 3 seconds.", ("podcast",),
           audio_like(seconds=3.0, loudness=("podcast", 2.0), pitch=200),
           "cut = trim_audio(audio=podcast, start=0, end=3)\nresult = change_volume(audio=cut, factor=2)",
           ("cut = trim_audio(audio=podcast, end=3)\nresult = change_volume(audio=cut, factor=2)",)),
    Doable("Before making a 40 pixel thumbnail of sticker.png, flip it upside down.", ("sticker.png",),
           image_like(lambda w: [_thumb(ImageOps.flip(_sticker(w)), 40),
                                 _thumb(_sticker(w).transpose(Image.Transpose.ROTATE_180), 40)],
                      what="upside-down 40 px thumbnail"),
           'image = load_image(path="sticker.png")\nflipped = flip_image(image=image, direction="vertical")\n'
           "result = thumbnail(image=flipped, size=40)"),
    # branch and join: one input used twice
    Doable("Put a grayscale copy of the badge to the left of the original badge.", ("badge",),
           image_like(lambda w: beside(gray(_badge(w)), _badge(w)), what="grayscale badge | badge"),
           "gray = grayscale_image(image=badge)\nresult = side_by_side(left=gray, right=badge)"),
    Doable("Play the whistle, then the doorbell, then the whistle again.", ("whistle", "doorbell"),
           audio_like(seconds=2.0, parts=((0.0, 0.5, 1200), (0.5, 1.5, 660), (1.5, 2.0, 1200))),
           "both = concatenate_audio(first=whistle, second=doorbell)\n"
           "result = concatenate_audio(first=both, second=whistle)"),
    # branch and join: two made values joined
    Doable("Make two one-second tones, one at 500 Hz and one at 700 Hz, and join them.", (),
           audio_like(seconds=2.0, parts=((0.0, 1.0, 500), (1.0, 2.0, 700))),
           "low = make_tone(frequency=500, duration=1)\nhigh = make_tone(frequency=700, duration=1)\n"
           "result = concatenate_audio(first=low, second=high)"),
    # known gap: the answer is one item of image_size's [width, height]
    Doable("How tall is sticker.png?", ("sticker.png",), size_answer(90, 60, want="height"),
           'image = load_image(path="sticker.png")\nsize = image_size(image=image)\nresult = size[1]'),
    # known gap: the crop box comes from the image's size
    Doable("Keep only the bottom half of the postcard.", ("postcard",),
           image_like(lambda w: _postcard(w).crop((0, 80, 240, 160)), what="bottom half"),
           "result = crop_image(image=postcard, left=0, top=80, right=240, bottom=160)"),
)

HELD_OUT_2_IMPOSSIBLE = (
    Impossible("Draw a cartoon of a dog riding a bicycle.", (), ("image_generator",)),
    Impossible("Translate the greeting into German.", ("greeting",), ("translator",)),
    Impossible("What are the people saying in the interview? Write it out for me.", ("interview",),
               ("transcriber",)),
    Impossible("How many people are standing in the garden picture?", ("garden",), ("image_qa",)),
    Impossible("Tell me whether this complaint is positive or negative.", ("complaint",), ("text_classifier",)),
    Impossible("Can you shorten the report to its main points?", ("report",), ("summarizer",)),
    Impossible("Turn the speech into spoken audio so I can listen to it.", ("speech",), ("text_reader",)),
    Impossible("Make a mask of the flowers in the garden picture.", ("garden",), ("image_segmenter",)),
    Impossible("According to the faq, what time does the shop open on Saturdays?", ("faq",), ("text_qa",)),
    Impossible("Order more printer paper from the office supplier."),
    Impossible("Print the story on the printer in the hallway.", ("story",)),
    Impossible("Set an alarm on my phone for seven tomorrow morning."),
)

HELD_OUT_2_CHAT = (
    Chat(("Make a 250 Hz tone lasting 2 seconds.", "Keep just the first half second of it."), (),
         audio_like(seconds=0.5, pitch=250),
         ("result = make_tone(frequency=250, duration=2)", "result = trim_audio(audio=result, start=0, end=0.5)")),
    Chat(("Open letter.txt for me.", "How many words is that?"), ("letter.txt",), number(_words(LETTER)),
         ('result = read_text_file(path="letter.txt")', "result = word_count(text=result)")),
    Chat(("Load sticker.png and turn it 90 degrees clockwise.", "Then make it black and white."), ("sticker.png",),
         image_like(lambda w: gray(_sticker(w).transpose(Image.Transpose.ROTATE_270)),
                    what="sticker turned clockwise, grayscale"),
         ('image = load_image(path="sticker.png")\nresult = rotate_image(image=image, degrees=-90)',
          "result = grayscale_image(image=result)")),
    Chat(("Make the ringtone twice as loud.", "Now put the doorbell after it."), ("ringtone", "doorbell"),
         audio_like(seconds=3.0, loudness=("ringtone", 3 ** 0.5), parts=((0.0, 2.0, 988), (2.0, 3.0, 660))),
         ("result = change_volume(audio=ringtone, factor=2)",
          "result = concatenate_audio(first=result, second=doorbell)")),
    Chat(("Create a 400 by 300 image in dark green.", "Put the text 'Hello there' on it in white."), (),
         text_on(lambda w: Image.new("RGB", (400, 300), "darkgreen"), "Hello there", color="white"),
         ('result = make_image(width=400, height=300, color="darkgreen")',
          'result = draw_text(image=result, text="Hello there", color="white")')),
    Chat(("Crop the flyer to the box from (0, 0) to (90, 60).", "Now place the badge to its right."),
         ("flyer", "badge"),
         image_like(lambda w: beside(_flyer(w).crop((0, 0, 90, 60)), _badge(w)), what="cropped flyer | badge"),
         ("result = crop_image(image=flyer, left=0, top=0, right=90, bottom=60)",
          "result = side_by_side(left=result, right=badge)")),
)


SUITES: dict[str, Suite] = {
    "doable-tuned": Suite("doable-tuned", "doable", False, TUNED_DOABLE),
    "impossible-tuned": Suite("impossible-tuned", "impossible", False, TUNED_IMPOSSIBLE),
    "chat-tuned": Suite("chat-tuned", "chat", False, TUNED_CHAT),
    "doable-held-out": Suite("doable-held-out", "doable", True, HELD_OUT_DOABLE),
    "impossible-held-out": Suite("impossible-held-out", "impossible", True, HELD_OUT_IMPOSSIBLE),
    "chat-held-out": Suite("chat-held-out", "chat", True, HELD_OUT_CHAT),
    "doable-held-out-2": Suite("doable-held-out-2", "doable", True, HELD_OUT_2_DOABLE),
    "impossible-held-out-2": Suite("impossible-held-out-2", "impossible", True, HELD_OUT_2_IMPOSSIBLE),
    "chat-held-out-2": Suite("chat-held-out-2", "chat", True, HELD_OUT_2_CHAT),
}
