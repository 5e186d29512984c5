"""What a task states (nbagents.grammar.values): numbers, factors, texts and the parameters they fit.

Pure functions: no model, no tokenizer.
"""

from __future__ import annotations

import pytest

from nbagents.grammar.values import (
    PARAMETER_KINDS,
    TaskValues,
    calls_of,
    parameter_kind,
    task_values,
)


def numbers(task: str) -> list[tuple[float, str]]:
    return [(a.value, a.unit) for a in task_values(task).numbers]


def factors(task: str) -> list[float]:
    return [f.value for f in task_values(task).factors]


# --- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("task, expected", [
    ("Rotate the image by 90 degrees.", [(90, "degrees")]),
    ("Rotate the image by ninety degrees.", [(90, "degrees")]),
    ("Rotate it by -90 degrees", [(-90, "degrees")]),
    ("Rotate it by minus forty-five degrees", [(-45, "degrees")]),
    ("Turn it 45°", [(45, "degrees")]),
    ("Make a tone of twenty-five seconds", [(25, "seconds")]),
    ("Make a tone of twenty five seconds", [(25, "seconds")]),
    ("Trim the first 2.5 seconds", [(2.5, "seconds")]),
    ("Make a 3s beep", [(3, "seconds")]),
    ("Make a 2 minute tone", [(120, "seconds")]),
    ("Keep 500 ms of it", [(0.5, "seconds")]),
    ("Make it half a second long", [(0.5, "seconds")]),
    ("Make a tone lasting one and a half seconds", [(1.5, "seconds")]),
    ("Play a hundred Hz tone", [(100, "hertz")]),
    ("A tone at 2 kHz", [(2000, "hertz")]),
    ("Make a thumbnail of 64 pixels", [(64, "pixels")]),
    ("Shrink the image to a 64 pixel thumbnail.", [(64, "pixels")]),
    ("Set the volume to 50 %", [(50, "percent")]),
    ("Set the volume to fifty percent", [(50, "percent")]),
    ("Make a 1,000 pixel wide banner", [(1000, "pixels")]),
    ("Make two thousand and ten copies", [(2010, "copie")]),
    ("Summarize the text in 3 sentences.", [(3, "sentence")]),
    ("Wait 3 then go", [(3, "")]),
    ("Turn the picture upside down.", [(180, "degrees")]),
    ("Turn the image a quarter turn.", [(90, "degrees")]),
    ("Give it a half turn", [(180, "degrees")]),
])
def test_numbers_in_digits_and_words_with_their_units(task, expected):
    assert numbers(task) == expected


def test_width_and_height_are_told_apart():
    for task in ("Resize the image to 64 pixels wide and 32 high.", "Resize the image to 64x32.",
                 "Resize it to 64 by 32", "Resize it to a width of 64 and a height of 32"):
        got = [(a.value, a.axis) for a in task_values(task).numbers]
        assert got == [(64, "width"), (32, "height")], task


@pytest.mark.parametrize("task", [
    "Draw me a picture of rivers and lakes.",  # "a" is no 1
    "Put the two photos side by side.",  # counts the inputs
    "Join the two clips into one.",  # "one" is a pronoun
    "Make the 2nd photo grayscale",  # an ordinal
    "Caption the second image",  # no time
    "Make the three pictures grayscale",
    "Read the file notes2.txt",  # inside a file name
    "Download https://example.com/page/42",  # inside a URL
    "Write 'route 66' on it",  # inside quoted text
    "Mirror `photo1` from left to right",  # inside an input's name
    "Make it louder",  # a direction is no amount
    "Describe the photo in one sentence",
    "Make the image smaller",
])
def test_words_that_are_not_values_do_not_become_numbers(task):
    values = task_values(task)
    assert values.numbers == () and values.factors == (), values.describe()


# --- relative amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize("task, factor", [
    ("Make the sound half as loud.", 0.5),
    ("Halve the volume", 0.5),
    ("Reduce the volume by half", 0.5),
    ("Increase the volume by half", 1.5),
    ("Make it a third as loud", 0.333333),
    ("Make it one third as loud", 0.333333),
    ("Make it two thirds as loud", 0.666667),
    ("Cut the volume by a third", 0.666667),
    ("Make it a quarter as loud", 0.25),
    ("Make it three quarters as loud", 0.75),
    ("Make the audio twice as loud.", 2),
    ("Double the volume", 2),
    ("Now make it twice as long.", 2),
    ("Make it three times louder", 3),
    ("Make it 3 times as loud", 3),
    ("Make it 3x louder", 3),
    ("Make it three times quieter", 0.333333),
    ("Make it twice as quiet", 0.5),
    ("Make it 50 % louder", 1.5),
    ("Make it 30% quieter", 0.7),
    ("Increase the volume by 20 percent", 1.2),
    ("Make it louder by 20 per cent", 1.2),
    ("Reduce the volume by 20 percent.", 0.8),
    ("Change the volume by a factor of 3", 3),
    ("Reduce the volume by a factor of 2", 0.5),
    ("Triple the speed", 3),
])
def test_relative_amounts_become_factors(task, factor):
    assert factors(task) == [pytest.approx(factor)]


def test_a_factor_knows_what_it_is_about():
    assert task_values("Make the sound half as loud.").factors[0].dimension == "volume"
    assert task_values("Now make it twice as long.").factors[0].dimension == "seconds"
    assert task_values("Double its size").factors[0].dimension == "pixels"
    assert task_values("Make it twice").factors[0].dimension == ""


# --- texts ---------------------------------------------------------------------------------------------


def test_quoted_text_in_every_quote_style():
    assert task_values("Write 'hello' on the photo").quoted == ("hello",)
    assert task_values('Write "hello world" on the photo').quoted == ("hello world",)
    assert task_values("Write “Hi there” on it").quoted == ("Hi there",)
    assert task_values("Write ‘bye’ on it").quoted == ("bye",)
    # apostrophes are not quotes
    assert task_values("Don't change the user's photo").quoted == ()
    assert task_values("Put the user's name 'Ada' on it").quoted == ("Ada",)


def test_text_after_a_colon_and_questions():
    v = task_values("Translate this: the house is big.")
    assert v.after_colon == ("the house is big.",)
    assert task_values("Open https://example.com now").after_colon == ()  # a URL's colon
    assert task_values("Meet at 3:30").after_colon == ()
    assert task_values("What color is the car in the image?").questions == ("What color is the car in the image?",)
    assert task_values("Say: 'hi'").after_colon == ()  # the quoted text is the value


def test_urls_emails_and_paths_are_whole():
    v = task_values("Send https://example.com/news?id=3, to ada.lovelace@example.co.uk.")
    assert v.urls == ("https://example.com/news?id=3",)
    assert v.emails == ("ada.lovelace@example.co.uk",)  # never cut to the domain
    assert v.paths == ()
    v = task_values("Read the file notes.txt, then res/photo.png and ~/music/song.mp3.")
    assert v.paths == ("notes.txt", "res/photo.png", "~/music/song.mp3")
    assert task_values("Open 'my notes.txt'").paths == ("my notes.txt",)
    assert task_values("Visit example.com").paths == ()  # a domain is no file


def test_languages_colours_names_and_options():
    v = task_values("Translate the Spanish text into English.")
    assert [(x.name, x.role) for x in v.languages] == [("Spanish", "source"), ("English", "target")]
    assert [(x.name, x.role) for x in task_values("Translate it from german to french").languages] == [
        ("German", "source"), ("French", "target")]
    assert task_values("Polish the text").languages == ()  # a verb
    assert task_values("Write it in red on a blue background, not grayscale").colours == ("red", "blue")
    assert task_values("Fill it with #ff8800").colours == ("#ff8800",)
    assert task_values("Send an email to Ada Lovelace about Paris").names == ("Ada Lovelace", "Paris")
    assert task_values("Translate the text into French.").names == ()  # sentence starts, languages
    assert task_values("Is the review positive or negative?").options == (("positive", "negative"),)
    assert task_values("Is the comment spam or not spam?").options == (("spam", "not spam"),)
    assert task_values("Is it about sports, politics or science?").options == (("sports", "politics", "science"),)
    assert task_values("Is it a cat or a dog?").options == (("cat", "dog"),)


# --- which parameter takes what ------------------------------------------------------------------------


@pytest.mark.parametrize("name, ptype, kind", [
    ("degrees", "float", "degrees"), ("angle", "int", "degrees"), ("rotation_angle", "float", "degrees"),
    ("duration", "float", "seconds"), ("start_time", "float", "seconds"), ("end", "float", "seconds"),
    ("width", "int", "pixels"), ("font_size", "int", "pixels"), ("x", "int", "pixels"),
    ("factor", "float", "factor"), ("scale", "float", "factor"), ("speed", "float", "factor"),
    ("frequency", "float", "hertz"), ("sample_rate", "int", "number"), ("freq_hz", "int", "hertz"),
    ("url", "str", "url"), ("image_url", "str", "url"), ("link", "str", "url"),
    ("email", "str", "email"), ("recipient", "str", "email"),
    ("path", "str", "path"), ("filename", "str", "path"), ("file_name", "str", "path"),
    ("src_lang", "str", "language"), ("tgt_lang", "str", "language"),
    ("color", "str", "colour"), ("text_color", "str", "colour"),
    ("text", "str", "text"), ("label", "str", "text"), ("prompt", "str", "text"),
    ("question", "str", "question"), ("labels", "list", "options"),
    ("name", "str", "name"), ("city", "str", "name"),
    ("count", "int", "number"), ("mode", "str", ""), ("width", "str", ""), ("url", "int", "number"),
    ("image", "image", ""), ("value", "any", ""), ("label", "any", "text"),
])
def test_parameter_kinds_come_from_name_and_type(name, ptype, kind):
    assert parameter_kind(name, ptype)[0] == kind
    assert all(types and isinstance(words, frozenset) for _, types, words in PARAMETER_KINDS)


def test_language_roles_of_parameters():
    assert parameter_kind("src_lang", "str") == ("language", "source")
    assert parameter_kind("target_language", "str") == ("language", "target")
    assert parameter_kind("language", "str") == ("language", "")


def test_literals_fit_the_parameter():
    v = task_values("Rotate the image by ninety degrees, then make a 3 second clip.")
    assert v.literals("degrees", "float") == ("90",)
    assert v.literals("angle", "int") == ("90",)
    assert v.literals("duration", "float") == ("3",)
    assert v.literals("width", "int") == ()  # degrees and seconds are no pixels
    v = task_values("Resize the image to 64 pixels wide and 32 high.")
    assert v.literals("width", "int") == ("64",) and v.literals("height", "int") == ("32",)
    assert v.literals("size", "int") == ("64", "32")
    v = task_values("Make the sound half as loud.")
    assert v.literals("factor", "float") == ("0.5",) and v.literals("duration", "float") == ()
    assert task_values("Set the volume to 50 %").literals("factor", "float") == ("0.5",)
    assert task_values("Make the audio 30% quieter").literals("volume", "float") == ("0.7",)
    assert task_values("Wait 2.5 then stop").literals("count", "int") == ()  # not a whole number
    assert task_values("Wait 2.5 then stop").literals("delay", "float") == ("2.5",)
    assert task_values("Summarize it in 3 sentences").literals("num_sentences", "int") == ("3",)
    assert task_values("Summarize it in 3 sentences").literals("max_length", "int") == ()


def test_string_literals_fit_the_parameter():
    v = task_values("Write 'hello' in red on the photo, then send it to ada@example.com.")
    assert v.literals("text", "str") == ('"hello"',)
    assert v.literals("color", "str") == ('"red"',)
    assert v.literals("recipient", "str") == ('"ada@example.com"',)
    assert v.literals("url", "str") == ()
    v = task_values("Translate the text into French.")
    assert v.literals("tgt_lang", "str") == ('"French"',)
    # The source is not stated: a real language, not the stated target, not free text.
    assert v.literals("src_lang", "str", carry=False) == ()
    source = v.literals("src_lang", "str")
    assert '"English"' in source and '"French"' not in source and len(source) > 20
    v = task_values("Translate the Spanish text into English.")
    assert v.literals("src_lang", "str") == ('"Spanish"',) and v.literals("tgt_lang", "str") == ('"English"',)
    assert task_values("Is the comment spam or not spam?").literals("labels", "list") == ('["spam", "not spam"]',)
    assert task_values("Put this sentence into German: the house is big.").literals("text", "str") == (
        '"the house is big."',)
    assert task_values('Write "a \\\\ b" on it').literals("text", "str") == ()  # cannot be written simply
    v = task_values("Open 'notes.txt' and summarize it")
    assert v.literals("path", "str") == ('"notes.txt"',) and v.literals("text", "str") == ()


# --- the previous turn ---------------------------------------------------------------------------------


def test_calls_of_reads_literal_arguments():
    code = "a = make_tone(duration=1, frequency=440.0)\nresult = change_volume(audio=a, factor=0.5)\nprint(result)\n"
    assert calls_of(code) == [("make_tone", {"duration": 1, "frequency": 440.0}), ("change_volume", {"factor": 0.5})]
    assert calls_of("result = (") == [] and calls_of("") == []


def test_relative_amounts_apply_to_the_previous_turn():
    previous = "result = make_tone(duration=1)\n"
    v = task_values("Now make it twice as long.", previous=previous)
    assert v.literals("duration", "float") == ("2",)
    assert v.describe()["derived"][0]["param"] == "duration"
    v = task_values("Now make it 3 seconds longer", previous="result = make_tone(frequency=880, duration=2)")
    assert v.literals("duration", "float") == ("5",)
    assert v.literals("frequency", "float") == ("880",)  # carried over: the task says nothing of it
    # the factor of a factor parameter is the task's own ("again": applied to the last result)
    v = task_values("Make it half as loud again", previous="result = change_volume(audio=audio, factor=0.5)")
    assert v.literals("factor", "float") == ("0.5",)
    # "long" is about seconds, not hertz
    v = task_values("Now twice as long", previous=[("make_tone", {"duration": 1.5, "frequency": 440})])
    assert v.literals("duration", "float") == ("3",) and v.literals("frequency", "float") == ("440",)


def test_empty_values_are_false_and_describe_is_json_friendly():
    import json

    assert not task_values("Summarize the text.") and not TaskValues()
    v = task_values("Rotate by 90 degrees and write 'hi' in Spanish")
    assert v and json.loads(json.dumps(v.describe()))["quoted"] == ["hi"]


def test_choices_the_task_states():
    directions = ("horizontal", "vertical")
    assert task_values("Flip the image vertically.").choices("direction", "str", directions) == ("vertical",)
    assert task_values("Mirror the image from left to right.").choices("direction", "str", directions) == (
        "horizontal",)
    assert task_values("Turn the picture upside down.").choices("direction", "str", directions) == ("vertical",)
    # named beats said: "mirror" says horizontal, "vertically" names vertical
    assert task_values("Mirror it vertically").choices("direction", "str", directions) == ("vertical",)
    assert task_values("Flip the image.").choices("direction", "str", directions) == ()
    assert task_values("Play it at half speed").choices("factor", "float", (0.5, 1, 2)) == (0.5,)
    assert task_values("Play it faster").choices("factor", "float", (0.5, 1, 2)) == ()


def test_spans_say_where_they_start_and_end():
    v = task_values("Cut the song from 1 to 2.5 seconds.")
    assert v.literals("start", "float") == ("1",) and v.literals("end", "float") == ("2.5",)
    assert v.literals("frequency", "float") == ()  # "1" shares the span's unit: no hertz
    v = task_values("Trim the recording to the first second.")
    assert v.literals("end", "float") == ("1",) and v.literals("start", "float") == ()
    v = task_values("Keep the first two seconds, please.")
    assert v.literals("end", "float") == ("2",) and v.literals("start", "float") == ()
    v = task_values("Make a one-second tone.")
    assert v.literals("duration", "float") == ("1",) and v.literals("frequency", "float") == ()


def test_relative_amounts_of_the_inputs_own_sizes():
    class Picture:  # what the values read of an image: its size
        size = (180, 240)

    class Sound:
        duration = 3.0

    v = task_values("Resize the picture to half its size.").with_inputs({"picture": Picture()})
    assert v.literals("width", "int") == ("90",) and v.literals("height", "int") == ("120",)
    v = task_values("Keep the first half of the clip.").with_inputs({"clip": Sound()})
    assert "1.5" in v.literals("end", "float")
    plain = task_values("Rotate the picture by 90 degrees.")
    assert plain.with_inputs({"picture": Picture()}) is plain  # no relative amount: nothing derived


def test_a_value_of_another_step_never_carries_over():
    v = task_values("Write 'hi' on it.", previous='result = make_image(width=100, height=50, color="red")')
    assert v.literals("color", "str") == ()
    v = task_values("Do it again.", previous='result = make_image(width=100, height=50, color="red")')
    assert v.literals("color", "str") == ('"red"',)


# --- time zones and clock times ----------------------------------------------------------------------


@pytest.mark.parametrize("task, zones", [
    ("What time is it in Paris?", ["Europe/Paris"]),
    ("what time is it in new york right now", ["America/New_York"]),
    ("Tell me the time in São Paulo", ["America/Sao_Paulo"]),
    ("Is it morning in Mexico City?", ["America/Mexico_City"]),  # not Mexico, the country
    ("The time in Europe/Berlin and in UTC", ["Europe/Berlin", "UTC"]),
    ("What time is it in Japan?", ["Asia/Tokyo"]),  # a country: its first zone in zone.tab
    ("Sales of the North region in Georgia", []),  # everyday words and an ambiguous place
    ("I live in New Jersey", []),
    ("a general rule for the south", []),
    ("Rotate the photo of Paris by 90 degrees", ["Europe/Paris"]),  # named; only a zone parameter takes it
])
def test_task_zones(task, zones):
    assert [z.name for z in task_values(task).zones] == zones


@pytest.mark.parametrize("task, source, target, clock", [
    ("What time is it in Tokyo when it is 9am in London?", "Europe/London", "Asia/Tokyo", "09:00"),
    ("Convert 3:30 pm from New York to Berlin time.", "America/New_York", "Europe/Berlin", "15:30"),
    ("If it is noon in Sydney, what time is it in Lima?", "Australia/Sydney", "America/Lima", "12:00"),
    ("When it's 14:05 in Paris what time is it in Chicago", "Europe/Paris", "America/Chicago", "14:05"),
    ("Convert 12am Tokyo time to Dubai", "Asia/Tokyo", "Asia/Dubai", "00:00"),
])
def test_zone_roles_and_clock_times(task, source, target, clock):
    values = task_values(task)
    assert values.literals("source_timezone", "str") == (f'"{source}"',)
    assert values.literals("target_timezone", "str") == (f'"{target}"',)
    assert values.literals("time", "str") == (f'"{clock}"',)
    assert set(values.literals("timezone", "str")) == {f'"{source}"', f'"{target}"'}


def test_zone_and_clock_kinds_take_nothing_the_task_does_not_say():
    values = task_values("What time is it?")
    assert values.literals("timezone", "str") == () and values.literals("time", "str") == ()
    assert parameter_kind("timezone", "str") == ("timezone", "")
    assert parameter_kind("source_timezone", "str") == ("timezone", "source")
    assert parameter_kind("time", "str")[0] == "clock" and parameter_kind("time", "float")[0] == "seconds"
    assert task_values("Wait 9 seconds").clock_times == ()  # a number is no clock time
    assert "zones" in task_values("the time in Oslo").describe()
