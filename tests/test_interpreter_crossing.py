"""What crosses to tools and into a run: tool arguments are plain data at any depth, inputs are
copied (one rule in both isolation modes), and inputs marked ``Secret`` cannot be laundered into
text — each in both modes, with tools from a module and from an IPython user namespace."""

from __future__ import annotations

import datetime
import pickle

import pytest
from crossing_fixtures import MODES, SOURCES, isolation, make_shell, received, tools_from

from nbagents import Agent, ScriptedEngine, Secret, tool
from nbagents.errors import LimitExceededError, RefusedConstructError
from nbagents.interpreter import Interpreter, Limits
from nbagents.redaction import REDACTED, redact


@pytest.fixture(scope="module")
def shell():
    return make_shell()


@pytest.fixture(scope="module")
def interpreters():
    made = {"kernel": Interpreter(limits=Limits(timeout_s=3.0)),
            "process": Interpreter(limits=Limits(timeout_s=3.0), isolation="process")}
    yield made
    made["process"].close()


# (program, what the message must name): something live inside a tool argument
LIVE_ARGUMENTS = {
    "lambda": ("echo(lambda: 0)", "argument 1"),
    "exception_holding_lambda": ("echo(ValueError(lambda: 0))", "argument 1"),
    "exception_in_list": ("def f():\n    return 1\necho([ValueError(f)])", "[0]"),
    "iterator_in_tuple_in_dict": ("echo({'k': (iter([1]),)})", "['k'][0]"),
    "generator_deep": ("echo([[1, [2, (i for i in [1])]]])", "[0][1][1]"),
    "function_keyword": ("def f():\n    return 1\necho(value={'a': [1, f]})", "argument 'value'"),
    "module_in_list": ("import math\necho([math])", "[0]"),
    "builtin_in_set": ("echo({len})", "an element of a set"),
    "tool_in_list": ("echo([echo])", "[0]"),
    "function_as_key": ("def f():\n    return 1\necho({f: 1})", "the key"),
    "caught_exception": ("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    echo(e)", "argument 1"),
    "method_in_dict": ("echo({'m': [].append})", "['m']"),
    "self_containing": ("x = []\nx.append(x)\necho(x)", "contains itself"),
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(LIVE_ARGUMENTS))
def test_tool_arguments_must_be_plain_data_recursively(case, mode, source, interpreters, shell):
    code, named = LIVE_ARGUMENTS[case]
    tools = tools_from(source, shell)
    before = list(received(tools))
    with pytest.raises(RefusedConstructError) as caught:
        interpreters[mode].run(code, tools, {})
    message = caught.value.message
    assert named in message and "'echo'" in message, message
    assert received(tools) == before  # the tool never ran
    *prefix, last = code.splitlines()
    if not last.startswith(" "):  # and except cannot catch the refusal
        guarded = "\n".join([*prefix, "try:", f"    {last}", "except Exception:", "    pass"])
        with pytest.raises(RefusedConstructError):
            interpreters[mode].run(guarded, tools, {})
    assert received(tools) == before


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
def test_plain_data_and_handles_cross_at_any_depth(mode, source, interpreters, shell):
    tools = tools_from(source, shell)
    code = ("p = picture()\n"
            "echo([1, (2.5, 'x', b'y', None, True)], deep={'k': [{1, 2}, frozenset({3}), {'p': [p]}]},"
            " when=d, r=range(3))")
    when = datetime.date(2026, 1, 2)
    interpreters[mode].run(code, tools, {"d": when})
    args, kwargs = received(tools)[-1]
    assert args == ([1, (2.5, "x", b"y", None, True)],)
    assert kwargs["deep"]["k"][:2] == [{1, 2}, frozenset({3})] and kwargs["when"] == when and kwargs["r"] == range(3)
    assert type(kwargs["deep"]["k"][2]["p"][0]).__name__ == "CrossingPicture"  # the handle's object, unwrapped


def test_process_and_kernel_refuse_the_same_arguments(interpreters, shell):
    tools = tools_from("module", shell)
    messages = {}
    for mode in MODES:
        with pytest.raises(RefusedConstructError) as caught:
            interpreters[mode].run("echo(1, x=[{'a': (2, ValueError('v'))}])", tools, {})
        messages[mode] = caught.value.message
    assert messages["kernel"] == messages["process"]
    assert "argument 'x' of the tool 'echo', at [0]['a'][1]" in messages["kernel"]


# --- inputs are copied ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_dict_input_is_copied_not_mutated(mode, interpreters, shell):
    tools = tools_from("module", shell)
    given = {"a": [1], "c": {"n": (1, [2])}}
    state = {"d": given}
    execution = interpreters[mode].run("d['a'].append(2)\nd['b'] = 1\nd['c']['n'][1].append(3)\nd", tools, state)
    assert given == {"a": [1], "c": {"n": (1, [2])}}  # the caller's object is untouched
    assert execution.value == state["d"] == {"a": [1, 2], "c": {"n": (1, [2, 3])}, "b": 1}
    assert state["d"] is not given
    # the state holds the copy, and the next run continues from it
    assert interpreters[mode].run("d['b'] + len(d['a'])", tools, state).value == 3
    # the caller's object given again is an input again: copied again
    again = {"d": given}
    interpreters[mode].run("d['a'].append(9)", tools, again)
    assert given == {"a": [1], "c": {"n": (1, [2])}} and again["d"]["a"] == [1, 9]


def test_variables_sharing_a_list_still_share_its_copy_in_the_kernel(interpreters):
    shared = [1]
    state = {"a": shared, "b": shared}
    assert interpreters["kernel"].run("a.append(2)\nb", {}, state).value == [1, 2]
    assert shared == [1] and state["a"] is state["b"]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", MODES)
def test_non_plain_inputs_stay_opaque_handles(mode, source, interpreters, shell):
    tools = tools_from(source, shell)
    pic = tools["picture"]()
    interpreters[mode].run("echo(pic)\nprint(pic)", tools, {"pic": pic})
    assert received(tools)[-1][0][0] is pic  # the same object reaches the tool: never copied
    with pytest.raises(RefusedConstructError):
        interpreters[mode].run("pic.secret", tools, {"pic": pic})


@pytest.mark.parametrize("mode", MODES)
def test_agent_execute_leaves_an_input_dict_unchanged(mode):
    agent = Agent(ScriptedEngine([]), tools=[], add_default_tools=False, isolation=isolation(mode))
    given = {"items": [3, 1, 2]}
    try:
        run = agent.execute("config['items'].sort()\nconfig['items']", config=given)
    finally:
        agent.interpreter.close()
    assert run.ok and run.result == [1, 2, 3] and given == {"items": [3, 1, 2]}


# --- secrets -------------------------------------------------------------------------------------

TOKEN = "sk-test-0123456789abcdefghij"
SENT: list = []


@tool
def send(text: str) -> str:
    """Send `text` somewhere."""
    SENT.append(text)
    return "sent"


@tool
def login(token: str) -> str:
    """Log in with `token`."""
    SENT.append(("login", token.reveal() if isinstance(token, Secret) else token))
    return "logged in"


def test_secret_never_shows_its_value():
    secret = Secret(TOKEN)
    assert str(secret) == REDACTED and repr(secret) == f"Secret({REDACTED!r})" and f"{secret:>5}" == REDACTED
    assert secret.reveal() == TOKEN and Secret(secret).reveal() == TOKEN
    assert redact(f"the key is {TOKEN}") == f"the key is {REDACTED}"  # registered on creation
    with pytest.raises(TypeError):
        pickle.dumps(secret)


LAUNDER = ("send(text=str(token))\nsend(text=f'{token}')\nsend(text=repr([token]))\n"
           "send(text=str({'t': token}))\nprint(token)\nlogin(token=token)\ntoken")


@pytest.mark.parametrize("mode", MODES)
def test_a_secret_input_cannot_be_laundered_through_a_tool(mode):
    SENT.clear()
    agent = Agent(ScriptedEngine([]), tools=[send, login], add_default_tools=False, isolation=isolation(mode))
    try:
        run = agent.execute(LAUNDER, token=Secret(TOKEN))
        refused = agent.execute("send(text=token.reveal())", token=Secret(TOKEN))
    finally:
        agent.interpreter.close()
    assert run.ok, run.error
    texts = [s for s in SENT if not isinstance(s, tuple)]
    assert len(texts) == 4 and all(TOKEN not in t and "secret handle" in t for t in texts)
    assert ("login", TOKEN) in SENT  # the tool that asks for the value gets it
    assert TOKEN not in run.prints and TOKEN not in run.to_json()
    assert isinstance(refused.exception, RefusedConstructError)  # the program cannot unwrap it


@pytest.mark.parametrize("mode", MODES)
def test_without_secret_a_credential_input_reaches_any_tool(mode):
    """The documented risk: what a program can read, it can pass on (why ``Secret`` exists)."""
    SENT.clear()
    agent = Agent(ScriptedEngine([]), tools=[send], add_default_tools=False, isolation=isolation(mode))
    try:
        run = agent.execute("send(text=str(config))", config={"api_key": "plain-credential-123"})
    finally:
        agent.interpreter.close()
    assert run.ok and "plain-credential-123" in SENT[-1]


def test_tool_arguments_deeper_than_max_nesting_are_a_limit_not_a_refusal(interpreters, shell):
    tools = tools_from("module", shell)
    for mode in MODES:
        with pytest.raises(LimitExceededError) as caught:
            interpreters[mode].run("x = 1\nfor i in range(200):\n    x = (x,)\necho(x)", tools, {})
        assert caught.value.limit == "max_nesting"
