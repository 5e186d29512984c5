"""Plan and ReAct modes on remote engines (OpenAI-compatible and TGI), against loopback servers,
with and without server-side structured output.

Before the typed engine call, ``%%agent --plan`` on ``openai:`` failed with "The OpenAI engine does
not take grammar": the plan grammar (Lark, for local engines) was sent to every engine that said it
took "a grammar". Now each mode asks ``engine.accepts(constraint)``: a server with structured output
gets the plan's JSON schema (or a ReAct step's program schema), one without gets the request
unconstrained, and the Run says which.
"""

from __future__ import annotations

import json

import pytest
from servers import FakeServer
from test_engines_remote_structured import FAST, TGI_INFO, shout, word_count

from nbagents import Agent, tool
from nbagents.engines.endpoint import EndpointEngine
from nbagents.engines.openai import OpenAIEngine
from nbagents.errors import EngineError
from nbagents.grammar import JsonSchema, plan_schema

FLAVOURS = ["openai", "tgi-generate", "tgi-chat"]
TASK = "Shout the sentence, then count its words."
INPUTS = {"sentence": "a b c"}


pytestmark = pytest.mark.usefixtures("no_ambient_credentials")


def make(flavour: str, server: FakeServer, **options):
    options = {**FAST, **options}
    if flavour == "openai":
        return OpenAIEngine("fake-model", base_url=server.url + "/v1", **options)
    route = flavour.split("-", 1)[1]
    return EndpointEngine(server.url, route=route, **options)


def agent_for(engine, **options) -> Agent:
    return Agent(engine=engine, add_default_tools=False, tools=[shout, word_count], **options)


def prompt_of(body: dict) -> str:
    return body.get("inputs") or "\n".join(m["content"] for m in body["messages"])


PLAN = [{"task": "shout", "id": 0, "dep": [], "args": {"text": "<INPUT>-sentence"}},
        {"task": "word_count", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}}]
RESPONSE = "The shouted sentence has 3 words."


def free_plan_server(body: dict) -> str:
    """A model without structured output: the plan as the prompt asks (a JSON list), then the
    final response."""
    if "Reply with the JSON list only" in prompt_of(body):
        return "```json\n" + json.dumps(PLAN) + "\n```"
    return RESPONSE


# --- plan mode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_plan_mode_with_structured_output_gets_the_plan_schema(flavour):
    with FakeServer(free_plan_server, info=dict(TGI_INFO),
                    structured_reply=json.dumps({"tasks": PLAN})) as server:
        agent = agent_for(make(flavour, server), mode="plan")
        run = agent.perform(TASK, INPUTS)
        assert run.error is None, run.error
        assert run.kind == "plan" and str(run.result) == RESPONSE
        assert [s.observation for s in run.steps] == ["A B C!", "3"]
        sent = server.structures()
        assert sent[0] is not None and sent[1:] == [None]  # the plan constrained, the response free
        schema = sent[0].get("value") or sent[0]["json_schema"]["schema"]
        assert schema["properties"]["tasks"]["items"]["anyOf"][0]["properties"]["task"]["enum"] == ["shout"]
        assert run.facts["constrained"] is True and run.facts["constraint"] == "json_schema"
        assert run.facts["structured_answer"] == "json"
        assert '{"tasks":' in prompt_of(server.generation_requests()[0].json)  # the shape, said once


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_plan_mode_without_structured_output_writes_freely(flavour):
    with FakeServer(free_plan_server, info=dict(TGI_INFO)) as server:
        agent = agent_for(make(flavour, server, structured=False), mode="plan")
        run = agent.perform(TASK, INPUTS)
        assert run.error is None, run.error
        assert str(run.result) == RESPONSE and len(run.steps) == 2
        assert server.structures() == [None, None]
        assert run.facts["constrained"] is False
        assert run.facts["constraint_declined"] == "lark, json_schema"


@pytest.mark.parametrize("flavour", ["openai", "tgi-generate"])
def test_plan_mode_on_a_server_that_refuses_the_schema_falls_back(flavour):
    with FakeServer(free_plan_server, info=dict(TGI_INFO), structured="reject") as server:
        run = agent_for(make(flavour, server), mode="plan").perform(TASK, INPUTS)
        assert run.error is None, run.error
        assert str(run.result) == RESPONSE
        assert [s is not None for s in server.structures()] == [True, False, False]
        assert run.facts["constrained"] is False and run.facts["structured_fallback"]


def test_plan_review_mode_on_openai_returns_the_plan():
    with FakeServer(free_plan_server, structured_reply=json.dumps({"tasks": PLAN})) as server:
        agent = agent_for(make("openai", server), mode="plan")
        run = agent.generate_code(TASK, **INPUTS)
        assert run.error is None and json.loads(run.code)[1]["task"] == "word_count"
        assert len(server.generation_requests()) == 1  # nothing ran, no response asked for
        edited = agent.execute_plan(run.code, task=TASK, **INPUTS)
        assert edited.ok and str(edited.result) == RESPONSE


def test_the_plan_schema_validates_a_plan_with_optional_and_media_arguments():
    import jsonschema
    from PIL import Image

    @tool
    def paste(image: Image.Image, label: str = "", scale: float = 1.0) -> Image.Image:
        """Paste `label` on `image`."""
        return image

    schema = plan_schema({"paste": paste, "shout": shout}, {"photo": Image.new("RGB", (2, 2))})
    assert isinstance(schema, JsonSchema) and schema.name == "plan"
    good = {"tasks": [{"task": "paste", "id": 0, "dep": [],
                       "args": {"image": "<INPUT>-photo", "label": None, "scale": 2}}]}
    jsonschema.validate(good, dict(schema.schema))
    for bad_image in ("a photo", "<INPUT>-nothing", 3):  # media take references only
        bad = json.loads(json.dumps(good))
        bad["tasks"][0]["args"]["image"] = bad_image
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, dict(schema.schema))
    assert plan_schema({}, {}) is None


# --- ReAct mode -----------------------------------------------------------------------------------


def steps_answers():
    return iter([
        json.dumps({"explanation": "Thought: shout the sentence first.",
                    "calls": [{"tool": "shout", "args": {"text": {"ref": "sentence"}}}]}),
        json.dumps({"explanation": "Thought: that is the answer.",
                    "calls": [{"tool": "final_answer", "args": {"answer": {"ref": "result"}}}]}),
    ])


FREE_STEPS = ["Thought: shout the sentence first.\n```py\nresult = shout(text=sentence)\n```",
              "Thought: that is the answer.\n```py\nfinal_answer(answer=result)\n```"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_react_mode_with_structured_output_gets_each_step_as_a_program_schema(flavour):
    answers = steps_answers()
    with FakeServer("unused", info=dict(TGI_INFO), structured_reply=lambda body: next(answers)) as server:
        run = agent_for(make(flavour, server), mode="react").perform(TASK, INPUTS)
        assert run.error is None, run.error
        assert run.kind == "react" and run.result == "A B C!" and len(run.steps) == 2
        assert all(s is not None for s in server.structures())
        assert run.facts["constrained"] is True and run.facts["constraint"] == "program"
        assert "final_answer(answer=result)" in run.steps[1].raw_output


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_react_mode_without_structured_output_writes_freely(flavour):
    replies = iter(FREE_STEPS)
    with FakeServer(lambda body: next(replies), info=dict(TGI_INFO)) as server:
        run = agent_for(make(flavour, server, structured=False), mode="react").perform(TASK, INPUTS)
        assert run.error is None, run.error
        assert run.result == "A B C!" and len(run.steps) == 2
        assert server.structures() == [None, None]
        assert run.facts["constrained"] is False and run.facts["constraint_declined"] == "program"


def test_a_foreign_backend_error_in_the_repair_still_gives_a_run():
    """A backend exception that is not ours, raised on the repair request, lands in the Run
    typed by stage (it used to escape ``Agent.perform``)."""
    from nbagents.engines.fake import ScriptedEngine

    class Flaky(ScriptedEngine):
        def _generate(self, messages, **kw):
            if len(self.calls) == 1:  # the repair request
                raise RuntimeError("socket closed by the backend")
            return super()._generate(messages, **kw)

    engine = Flaky(["I will do it.\n```py\nresult = undefined_tool(text=sentence)\n```"])
    run = agent_for(engine).perform(TASK, INPUTS)
    assert run.error is not None and run.error.type == "UnknownToolError"  # the first try's error
    assert len(run.steps) == 1 and run.exception is not None

    class Broken(ScriptedEngine):
        def _generate(self, messages, **kw):
            raise RuntimeError("backend exploded")

    run = agent_for(Broken(), mode="plan").perform(TASK, INPUTS)
    assert isinstance(run.exception, EngineError) and "backend exploded" in run.error.message
    run = agent_for(Broken(), mode="react").perform(TASK, INPUTS)
    assert isinstance(run.exception, EngineError) and run.error.stage == "engine"
