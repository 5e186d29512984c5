import json

import pytest

from nbagents.engines import ScriptedEngine, StopCutter, cut_at_stop, load_engine, parse_spec
from nbagents.engines.base import flatten_messages, normalize_messages
from nbagents.errors import ConfigurationError, EngineError


def test_cut_at_stop_takes_earliest():
    assert cut_at_stop("abc\nTask: x<end>", ["<end>", "\nTask:"]) == ("abc", "\nTask:")
    assert cut_at_stop("plain", ["\nTask:"]) == ("plain", None)


def test_stop_cutter_holds_back_partial_stop_and_never_emits_it():
    c = StopCutter(["\nTask:"])
    shown = [c.feed(p) for p in ["x = 1", "\nTa", "sk: more", " ignored"]]
    assert "".join(shown) == "x = 1"
    assert c.stopped == "\nTask:"
    assert c.flush() == ""


def test_stop_cutter_releases_held_text_when_not_a_stop():
    c = StopCutter(["\nTask:"])
    out = c.feed("a\nTa") + c.feed("ble")
    assert out == "a\nTable"
    assert c.stopped is None


def test_stop_cutter_flush_returns_tail():
    c = StopCutter(["END"])
    assert c.feed("abcEN") == "abc"
    assert c.flush() == "EN"


def test_scripted_engine_streams_records_and_cuts_at_stop():
    e = ScriptedEngine(["I will.\n```py\nx = 1\n```\nTask: another task"], chunk=3)
    pieces = []
    c = e.generate([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
                   stop=["\nTask:"], max_new_tokens=50, on_token=pieces.append)
    assert c.text == "I will.\n```py\nx = 1\n```"
    assert "".join(pieces) == c.text
    assert len(pieces) > 3
    assert c.stop_sequence == "\nTask:" and c.finish_reason == "stop"
    call = e.last_call
    assert call.stop == ("\nTask:",) and call.max_new_tokens == 50
    assert call.messages[0] == {"role": "system", "content": "S"}
    assert "S" in call.prompt_text and "U" in call.prompt_text


def test_scripted_engine_empty_queue_is_an_engine_error():
    with pytest.raises(EngineError, match="no reply left"):
        ScriptedEngine().generate("hi")


def test_scripted_engine_callable_reply():
    e = ScriptedEngine([lambda prompt: f"echo {len(prompt)}"])
    assert e.generate("abc").text.startswith("echo ")


def test_scripted_engine_from_file(tmp_path):
    f = tmp_path / "r.json"
    f.write_text(json.dumps(["one", "two"]))
    e = load_engine(f"fake:{f}")
    assert [e.generate("x").text, e.generate("x").text] == ["one", "two"]
    t = tmp_path / "r.txt"
    t.write_text("first\n---\nsecond line\n")
    e = load_engine(f"fake:{t}")
    assert e.generate("x").text == "first" and e.generate("x").text == "second line"
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_engine(f"fake:{tmp_path / 'missing.json'}")


def test_fake_engines_are_not_shared():
    assert load_engine("fake:") is not load_engine("fake:")


def test_parse_spec():
    assert parse_spec("") == ("default", "")
    assert parse_spec("default") == ("default", "")
    assert parse_spec("local:org/model") == ("local", "org/model")
    assert parse_spec("org/model") == ("local", "org/model")
    assert parse_spec("http://127.0.0.1:8080") == ("endpoint", "http://127.0.0.1:8080")
    assert parse_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    with pytest.raises(ConfigurationError, match="Unknown engine scheme 'nope'"):
        parse_spec("nope:thing")


def test_load_engine_rejects_non_spec():
    with pytest.raises(ConfigurationError):
        load_engine(42)


def test_messages_helpers():
    assert normalize_messages("hi") == [{"role": "user", "content": "hi"}]
    with pytest.raises(ValueError):
        normalize_messages([{"role": "robot", "content": "x"}])
    text = flatten_messages([{"role": "system", "content": "A"}, {"role": "user", "content": "B"}])
    assert text == "A\n\nB\n"


# --- the typed call -------------------------------------------------------------------------------


def test_sampling_is_one_validated_value():
    from nbagents import Sampling

    assert Sampling.of({"temperature": 0.5, "seed": 3}) == Sampling(temperature=0.5, seed=3)
    assert Sampling.of(Sampling(top_p=0.9), seed=1) == Sampling(top_p=0.9, seed=1)
    assert Sampling(temperature=0.5).merged_over({"temperature": 1.0, "stream": True}) == {
        "temperature": 0.5, "stream": True}
    with pytest.raises(ConfigurationError, match="Unknown sampling option.*bogus") as e:
        Sampling.of({"bogus": 1, "seed": 2})
    assert "do_sample" in e.value.hint and "top_k" in e.value.hint
    for bad, words in (({"temperature": 0}, "above 0"), ({"top_p": 1.5}, r"\(0, 1\]"),
                       ({"top_k": 0}, "positive whole number")):
        with pytest.raises(ConfigurationError, match=words):
            Sampling.of(bad)
    with pytest.raises(ConfigurationError, match="a Sampling or a dict"):
        Sampling.of(["temperature"])


def test_generate_records_the_typed_call_and_refuses_the_old_keywords():
    from nbagents import Sampling
    from nbagents.grammar import Grammar, JsonSchema

    engine = ScriptedEngine(["a", "b"], accepts={"json_schema"})
    schema = JsonSchema({"type": "object"}, name="thing")
    assert engine.accepts(schema) and not engine.accepts(Grammar('start: "x"'))
    c = engine.generate("hi", constraint=schema, sampling={"seed": 4})
    assert engine.last_call.constraint is schema and engine.last_call.sampling == Sampling(seed=4)
    assert c.facts["constrained"] is True and c.facts["constraint"] == "json_schema"
    assert engine.generate("hi").facts["constrained"] is False
    with pytest.raises(ConfigurationError, match="cannot honour a 'lark' constraint") as e:
        engine.generate("hi", constraint=Grammar('start: "x"'))
    assert "accepts" in e.value.hint
    with pytest.raises(ConfigurationError, match="must be a nbagents.grammar Constraint"):
        engine.generate("hi", constraint="start: x")
    for old, hint in ((dict(temperature=0.5), "sampling={'temperature'"),
                      (dict(constrained=object()), "constraint=ProgramSpec"),
                      (dict(json_schema={}), "constraint=JsonSchema"),
                      (dict(bogus=1), "takes stop, max_new_tokens")):
        with pytest.raises(ConfigurationError, match="does not take") as e:
            engine.generate("hi", **old)
        assert hint in e.value.hint
