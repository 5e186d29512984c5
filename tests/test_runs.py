import json

from nbagents.errors import UnknownToolError
from nbagents.redaction import REDACTED, redact, register_secret
from nbagents.results import AgentImage, AgentText
from nbagents.runs import ErrorInfo, Run, describe_value


def test_run_round_trips_through_json():
    err = UnknownToolError("image_drawer", ["draw_text"], line=1)
    run = Run(task="t", inputs={"text": "str"}, prompt="P", stop=("\nTask:",), raw_output="R", code="x = 1",
              result=AgentText("done"), error=ErrorInfo.from_exception(err), exception=err,
              timings={"total": 0.5}, prompt_tokens=10, completion_tokens=3, engine="fake:", model_id="m")
    data = json.loads(run.to_json())
    assert "exception" not in data
    assert data["error"]["type"] == "UnknownToolError" and data["error"]["stage"] == "interpreter"
    assert data["error"]["line"] == 1
    assert data["result"] == {"type": "str", "summary": "done"}
    back = Run.from_dict(data)
    assert back.stop == ("\nTask:",) and back.error == run.error and back.result == "done"
    assert back.id == run.id and back.timings == {"total": 0.5}


def test_secrets_are_redacted_from_runs():
    register_secret("my-registered-secret-value")
    run = Run(task="use my-registered-secret-value", prompt="Authorization: Bearer abcdefghijkl",
              raw_output="token hf_ABCDEFGHIJKLMNOPQRSTUV and sk-abcdefghijklmnopqrstuv",
              engine="endpoint:http://h/x?api_key=zzzsecret")
    text = run.to_json()
    for secret in ("my-registered-secret-value", "abcdefghijkl", "hf_ABCDEFGHIJKLMNOPQRSTUV",
                   "sk-abcdefghijklmnopqrstuv", "zzzsecret"):
        assert secret not in text
    assert REDACTED in text
    assert redact("monkey=banana") == "monkey=banana"


def test_describe_value():
    from PIL import Image
    assert describe_value(AgentImage(Image.new("RGB", (3, 2)))) == "image 3x2"
    assert describe_value(Image.new("RGB", (3, 2))) == "image 3x2"
    assert describe_value([1, 2]) == "list[2]"
    assert describe_value("x") == "str"
