"""Exception classes, catchable ``AttributeError``, ``global``/``nonlocal`` in agent programs.

First the escapes these must not open (``BaseException`` and its host-killing subclasses, hooks
the host would run when it formats an error, sandbox objects riding in an exception to a tool,
``_`` names and refused host attributes becoming catchable, ``global`` reaching tools or reserved
names), in the kernel and in process isolation with tools from a module and from an IPython
user namespace; then the Python that should run.
"""

from __future__ import annotations

import os
import sys

import pytest

from nbagents.errors import (
    IsolationError,
    LimitExceededError,
    NbAgentsError,
    RefusedConstructError,
    SandboxRuntimeError,
    UndefinedNameError,
)
from nbagents.interpreter import Interpreter, Limits

sys.path.insert(0, os.path.dirname(__file__))
import interp_tools_module  # noqa: E402
from test_interpreter_classes import _snapshot, _tools, interpreters, shell  # noqa: E402, F401

ESCAPES = {
    # only Exception subclasses: nothing that takes the kernel down
    "base_exception": "class X(BaseException):\n    pass\nraise X()",
    "system_exit": "class X(SystemExit):\n    pass\nraise X(0)",
    "keyboard_interrupt": "class X(KeyboardInterrupt):\n    pass\nraise X()",
    "generator_exit": "class X(GeneratorExit):\n    pass\nraise X()",
    "mixed_base_exception": "class A:\n    pass\nclass X(A, BaseException):\n    pass",
    "unicode_decode_base": "class X(UnicodeDecodeError):\n    pass\nraise X()",
    "json_error_base": "import json\nclass X(json.JSONDecodeError):\n    pass",
    "two_builtin_bases": "class X(KeyError, TypeError):\n    pass\nraise X()",
    "exit_by_name": "raise SystemExit(0)",
    # the host formats an escaping error without running the program's hooks
    "str_hook_loops": "class E(Exception):\n    def __str__(self):\n        while True:\n            pass\nraise E('x')",
    "repr_hook_calls_tool": "class E(Exception):\n    def __repr__(self):\n        return search('leak')[0]\nraise E(1)",
    "str_hook_recursion": "class E(Exception):\n    def __str__(self):\n        return str(self)\nraise E('x')",
    "init_loops": "class E(Exception):\n    def __init__(self):\n        while True:\n            pass\nraise E",
    # what an exception carries stays inside
    "exception_to_tool": "class E(Exception):\n    pass\ntry:\n    raise E('x')\nexcept E as e:\n    search(e)",
    "exception_class_to_tool": "class E(Exception):\n    pass\nsearch(E)",
    "function_in_args_to_tool": "class E(Exception):\n    pass\ntry:\n    raise E(lambda: 1)\nexcept E as e:\n    search(e.args)",
    "instance_in_args_escapes": "class A:\n    def __repr__(self):\n        return search('x')[0]\nclass E(Exception):\n    pass\nraise E(A())",
    "traceback_of_sandbox_error": "class E(Exception):\n    pass\ntry:\n    raise E('x')\nexcept E as e:\n    e.__traceback__",
    "with_traceback": "class E(Exception):\n    pass\ntry:\n    raise E('x')\nexcept E as e:\n    e.__traceback__.tb_frame",
    "cause_walk": "class E(Exception):\n    pass\ntry:\n    raise E('x') from ValueError('y')\nexcept E as e:\n    e.__cause__",
    "builtin_error_traceback": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    e.__traceback__",
    "error_args_write_on_builtin": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    e.args = ()",
    # refused names and host attributes stay refusals (except cannot catch them)
    "catch_dunder": "try:\n    [].__class__\nexcept AttributeError:\n    pass",
    "catch_private": "import random\ntry:\n    random._os\nexcept AttributeError:\n    pass",
    "catch_host_attribute": "try:\n    search.description\nexcept AttributeError:\n    pass",
    "catch_handle_attribute": "img = make_image()\ntry:\n    img.path\nexcept AttributeError:\n    pass",
    "catch_blocked_name": "try:\n    [].obj\nexcept AttributeError:\n    pass",
    "catch_format_map": "try:\n    'x'.format_map({})\nexcept AttributeError:\n    pass",
    "catch_unlisted_method": "try:\n    'x'.maketrans('a', 'b')\nexcept AttributeError:\n    pass",
    "catch_module_member": "import math\ntry:\n    math.sys\nexcept AttributeError:\n    pass",
    "catch_function_globals": "def f():\n    pass\ntry:\n    f.func_globals\nexcept AttributeError:\n    pass",
    "catch_exception_attribute": "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    try:\n        e.with_traceback\n    except AttributeError:\n        pass",
    "getattr_computed": "getattr(search, '__glo' + 'bals__')",
    "getattr_variable": "n = 'description'\ngetattr(search, n)",
    "getattr_alias": "g = getattr\ng(search, 'x')",
    "getattr_mapped": "list(map(getattr, [search], ['__globals__']))",
    "getattr_keyword": "getattr(search, name='x')",
    "getattr_dunder": "getattr([], '__class__', None)",
    "getattr_blocked": "g = (i for i in [1])\ngetattr(g, 'gi_frame', None)",
    "getattr_format": "getattr('{0.__globals__}', 'format')(search)",
    "getattr_tool_attribute": "getattr(search, 'description', None)",
    "hasattr_tool_attribute": "hasattr(search, 'fn')",
    "hasattr_module_internal": "import random\nhasattr(random, 'sys')",
    "hasattr_handle": "hasattr(make_image(), 'path')",
    # global and nonlocal
    "global_tool": "def f():\n    global search\n    search = print\nf()",
    "global_private": "def f():\n    global _hidden\n    _hidden = 1\nf()",
    "global_dunder": "def f():\n    global __builtins__\n    return __builtins__\nf()",
    "nonlocal_private": "def f():\n    _x = 1\n    def g():\n        nonlocal _x\n    return g\nf()",
    "global_loops": "n = 0\ndef f():\n    global n\n    while True:\n        n += 1\nf()",
    "global_tool_delete": "def f():\n    global search\n    del search\nf()",
}


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("payload", sorted(ESCAPES))
def test_record_escape_is_refused(payload, mode, source, interpreters, shell, capsys):  # noqa: F811
    tools = _tools(source, shell)
    codes = {name: (fn.__code__, fn.__defaults__, dict(fn.__dict__)) for name, fn in tools.items()}
    namespace = _snapshot(shell.user_ns if source == "ipython" else vars(interp_tools_module))
    state: dict = {}
    with pytest.raises(NbAgentsError) as info:
        interpreters[mode].run(ESCAPES[payload], tools, state)
    assert not isinstance(info.value, IsolationError)
    assert type(info.value) in (RefusedConstructError, SandboxRuntimeError, LimitExceededError)
    assert "leak" not in str(info.value) and len(str(info.value)) < 10_000
    assert {name: (fn.__code__, fn.__defaults__, dict(fn.__dict__)) for name, fn in tools.items()} == codes
    assert _snapshot(shell.user_ns if source == "ipython" else vars(interp_tools_module)) == namespace
    for value in state.values():
        repr(value)
        str(value)
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]
    assert "search" not in state and "SystemExit" not in state


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_an_escaping_sandbox_exception_is_named_and_plain(mode, interpreters):  # noqa: F811
    program = (
        "class ParseError(ValueError):\n"
        "    def __init__(self, msg, line):\n"
        "        super().__init__(msg)\n"
        "        self.line = line\n"
        "    def __str__(self):\n"
        "        print('STR HOOK')\n"
        "        return 'hooked'\n"
        "raise ParseError('bad token', 3)\n"
    )
    with pytest.raises(SandboxRuntimeError) as info:
        interpreters[mode].run(program, {}, {})
    assert info.value.exc_type == "ParseError"
    assert "bad token" in str(info.value) and "hooked" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    with pytest.raises(SandboxRuntimeError) as info:  # args that are sandbox objects: plain renderings
        interpreters[mode].run("class A:\n    pass\nclass E(Exception):\n    pass\nraise E(A(), [1])", {}, {})
    assert info.value.exc_type == "E" and "<A object>" in str(info.value)


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_refused_exception_bases_say_what_to_do(mode, interpreters):  # noqa: F811
    for base in ("BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        with pytest.raises(RefusedConstructError):
            interpreters[mode].run(f"class X({base}):\n    pass", {}, {})
    with pytest.raises(RefusedConstructError) as info:
        interpreters[mode].run("class X(UnicodeDecodeError):\n    pass", {}, {})
    assert "ValueError" in info.value.hint
    with pytest.raises(RefusedConstructError) as info:
        interpreters[mode].run("class X(KeyError, TypeError):\n    pass", {}, {})
    assert "KeyError" in str(info.value) and "TypeError" in str(info.value)


def test_hooks_of_exceptions_stop_at_the_limits():
    interpreter = Interpreter(limits=Limits(timeout_s=0.5))
    with pytest.raises(LimitExceededError):
        interpreter.run("class E(Exception):\n    def __str__(self):\n        return str(self)\ntry:\n    raise E()\nexcept E as e:\n    str(e)", {})
    with pytest.raises(LimitExceededError) as info:
        interpreter.run("class E(Exception):\n    def __init__(self):\n        raise E()\nraise E()", {})
    assert info.value.limit == "max_call_depth"


# --- exception classes that run -------------------------------------------------------------------

EXCEPTIONS_PROGRAM = """
class NotFound(Exception):
    pass

class ParseError(ValueError):
    def __init__(self, msg, line):
        super().__init__(msg)
        self.line = line

class Strict(ParseError):
    def __str__(self):
        return f"line {self.line}: {super().__str__()}"

out = []
def find(d, k):
    if k not in d:
        raise NotFound(k)
    return d[k]
try:
    find({}, "key")
except NotFound as e:
    out.append((str(e), e.args, repr(e), isinstance(e, Exception), isinstance(e, LookupError)))
try:
    raise ParseError("bad", 3)
except ValueError as e:
    out.append((str(e), e.args, e.line, isinstance(e, ParseError), isinstance(e, (KeyError, ValueError))))
try:
    raise Strict("worse", 9)
except (KeyError, ParseError) as e:
    out.append((str(e), repr(e), e.line))
try:
    raise NotFound
except Exception as e:
    out.append((repr(e), str(e), e.args))
try:
    try:
        raise NotFound("inner")
    except NotFound:
        raise
except NotFound as e:
    out.append(str(e))
try:
    try:
        raise KeyError("k")
    except KeyError as e:
        raise ParseError("wrapped", 1) from e
except ParseError as e:
    out.append(e.line)
class Multi(Exception):
    pass
e = Multi(1, "two")
e.extra = [3]
out.append((e.args, str(e), repr(e), e.extra))
class Cleanup:
    def __enter__(self):
        return self
    def __exit__(self, kind, value, tb):
        out.append((kind is NotFound, str(value)))
        return True
with Cleanup():
    raise NotFound("swallowed")
class Gone(KeyError):
    pass
try:
    {}["x"]
except Gone:
    out.append("wrong")
except KeyError as e:
    out.append(("builtin", str(e)))
try:
    raise Gone("missing")
except KeyError as e:
    out.append(("keyerror text", str(e)))
out
"""


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_exception_classes_behave_like_python(mode, interpreters):  # noqa: F811
    namespace: dict = {}
    exec(EXCEPTIONS_PROGRAM, namespace)
    assert interpreters[mode].run(EXCEPTIONS_PROGRAM, {}, {}).value == namespace["out"]


def test_exception_errors_match_python():
    interpreter = Interpreter()
    cases = [
        "class E(Exception):\n    pass\nE(x=1)",
        "class A:\n    pass\ntry:\n    pass\nexcept A:\n    pass\nraise A()",
        "class A:\n    pass\ntry:\n    raise ValueError()\nexcept A:\n    pass",
        "raise 3",
        "class E(Exception):\n    pass\nraise E() from 3",
    ]
    for code in cases:
        try:
            exec(code, {})
        except Exception as exc:  # noqa: BLE001
            expected = type(exc).__name__
        with pytest.raises(SandboxRuntimeError) as info:
            interpreter.run(code, {})
        assert info.value.exc_type == expected, code


def test_exception_values_outside_a_run_are_plain():
    interpreter = Interpreter()
    state: dict = {}
    result = interpreter.run("class E(Exception):\n    def __str__(self):\n        print('HOOK')\n        return 'h'\ne = E('x')\ne", {}, state)
    assert result.prints == "" and "E" in result.value and "h" not in result.value.replace("<", "")
    assert str(state["e"]) == repr(state["e"]) == "<E object>"
    with pytest.raises(SandboxRuntimeError) as info:
        interpreter.run("raise e", {}, state)  # raised again in a later run: still the sandbox class
    assert info.value.exc_type == "E"


# --- AttributeError for missing ordinary attributes -------------------------------------------------


def test_missing_attributes_are_catchable_attribute_errors():
    interpreter = Interpreter()
    program = """
out = []
for value, name in [([], "push"), ("x", "foo"), (3, "length"), ({}, "has_key")]:
    try:
        if name == "push":
            value.push(1)
        elif name == "foo":
            value.foo
        elif name == "length":
            value.length
        else:
            value.has_key("k")
    except AttributeError as e:
        out.append(str(e))
class Point:
    def __init__(self):
        self.x = 1
try:
    Point().y
except AttributeError as e:
    out.append(str(e))
try:
    str.nothing
except AttributeError as e:
    out.append(str(e))
import json
try:
    json.loads("[1,")
except json.JSONDecodeError as e:
    out.append((e.msg, e.pos, e.lineno, e.colno))
out
"""
    namespace: dict = {}
    exec(program, namespace)
    assert interpreter.run(program, {}).value == namespace["out"]
    with pytest.raises(RefusedConstructError):
        interpreter.run("try:\n    [].copy\n    'x'.maketrans\nexcept AttributeError:\n    pass", {})


# --- global and nonlocal ----------------------------------------------------------------------------

SCOPES_PROGRAM = """
counter = 0
log = []
def bump(n=1):
    global counter
    counter += n
    return counter

def make_account(balance):
    history = []
    def deposit(amount):
        nonlocal balance
        balance += amount
        history.append(amount)
        return balance
    def read():
        return balance, history
    return deposit, read

def setup():
    global config, log
    config = {"debug": True}
    log = log + ["setup"]
    for config_key in config:
        pass

def loops():
    global i
    for i in range(3):
        pass
    del_me()

def del_me():
    global temp
    temp = 1
    del temp

def outer():
    x = 1
    def middle():
        def inner():
            nonlocal x
            x *= 10
        inner()
        return x
    return middle(), x

bump(); bump(4)
deposit, read = make_account(10)
deposit(5); deposit(-2)
setup(); loops()
class Registry:
    items = []
    def add(self, item):
        global counter
        counter += 100
        self.items.append(item)
Registry().add("a")
(counter, read(), config, log, i, outer(), "temp" in globals() if False else None, Registry.items)
"""


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_global_and_nonlocal_behave_like_python(mode, interpreters):  # noqa: F811
    namespace: dict = {}
    exec(SCOPES_PROGRAM, namespace)
    expected = eval(SCOPES_PROGRAM.strip().splitlines()[-1], namespace)
    state: dict = {}
    assert interpreters[mode].run(SCOPES_PROGRAM, {}, state).value == expected


def test_global_writes_land_in_the_state_and_errors_match():
    interpreter = Interpreter()
    state: dict = {}
    interpreter.run("def f():\n    global total\n    total = 42\nf()", {}, state)
    assert state["total"] == 42
    interpreter.run("def g():\n    global total\n    total += 1\ng()", {}, state)
    assert state["total"] == 43
    with pytest.raises(UndefinedNameError):  # an undefined name ends the run, as everywhere
        interpreter.run("def h():\n    global missing\n    return missing\nh()", {}, {})
    with pytest.raises(SandboxRuntimeError) as info:
        interpreter.run("def f():\n    nonlocal y\n", {})
    assert info.value.exc_type == "SyntaxError"
    with pytest.raises(SandboxRuntimeError) as info:
        interpreter.run("x = 1\ndef f():\n    x = 2\n    global x\n", {})
    assert info.value.exc_type == "SyntaxError"


# --- dataclasses ------------------------------------------------------------------------------------

DATACLASS_ESCAPES = {
    "decorator_is_a_tool": "@search\nclass A:\n    x: int = 1",
    "decorator_rebound": "from dataclasses import dataclass\ndataclass = search\n@dataclass\nclass A:\n    x: int = 1",
    "decorator_not_imported": "@dataclass\nclass A:\n    x: int = 1",
    "decorator_computed_option": "from dataclasses import dataclass\nflag = True\n@dataclass(frozen=flag)\nclass A:\n    x: int = 1",
    "decorator_unknown_option": "from dataclasses import dataclass\n@dataclass(slots=True)\nclass A:\n    x: int = 1",
    "two_decorators": "from dataclasses import dataclass\n@dataclass\n@dataclass\nclass A:\n    x: int = 1",
    "dataclass_called": "from dataclasses import dataclass\nclass A:\n    x: int = 1\ndataclass(A)",
    "post_init_hook": "from dataclasses import dataclass\n@dataclass\nclass A:\n    x: int = 1\n    def __post_init__(self):\n        pass",
    "fields_dunder": "from dataclasses import dataclass\n@dataclass\nclass A:\n    x: int = 1\nA.__dataclass_fields__",
    "setattr_guard_write": "from dataclasses import dataclass\n@dataclass\nclass A:\n    x: int = 1\nA.__setattr__ = False",
    "frozen_write": "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass A:\n    x: int = 1\nA().x = search",
    "field_to_tool": "from dataclasses import field\nsearch(field(default_factory=lambda: 1))",
    "record_to_tool": "from dataclasses import dataclass\n@dataclass\nclass A:\n    x: int = 1\nsearch(A())",
    "asdict_of_tool": "from dataclasses import asdict\nasdict(search)",
    "factory_loops": "from dataclasses import dataclass, field\ndef forever():\n    while True:\n        pass\n@dataclass\nclass A:\n    x: list = field(default_factory=forever)\nA()",
    "import_real_module": "import dataclasses\ndataclasses.sys",
    # namedtuple: a record class, nothing of Python's class machinery
    "namedtuple_private_method": "from collections import namedtuple\nP = namedtuple('P', 'x y')\nP(1, 2)._replace(x=3)",
    "namedtuple_private_field": "from collections import namedtuple\nP = namedtuple('P', ['_x'])",
    "namedtuple_dunder_typename": "from collections import namedtuple\nP = namedtuple('__class__', ['x'])\nP(1).__class__",
    "namedtuple_code_in_names": "from collections import namedtuple\nP = namedtuple('P', 'x, y=__import__(\"os\")')",
    "namedtuple_fields": "from collections import namedtuple\nP = namedtuple('P', 'x')\nP._fields",
    "namedtuple_write": "from collections import namedtuple\nP = namedtuple('P', 'x')\np = P(1)\np.x = search",
    "namedtuple_to_tool": "from collections import namedtuple\nP = namedtuple('P', 'x')\nsearch(P('q'))",
    "namedtuple_as_base": "from collections import namedtuple\nclass Q(namedtuple('P', 'x')):\n    pass",
    # random.Random: the facade's functions on a generator of its own, nothing more
    "random_private": "import random\nrandom.Random(1)._randbelow(3)",
    "random_bad_seed": "import random\nclass A:\n    pass\nrandom.Random(A())",
    "random_generator_to_tool": "import random\nsearch(random.Random(1))",
    "random_method_to_tool": "import random\nsearch(random.Random(1).randint)",
    "random_state_internals": "import random\nrandom.Random(1).__dict__",
    # hash() never shows an address
    "hash_of_tool": "hash(search)",
    "hash_of_function": "def f():\n    pass\nhash(f)",
    "hash_of_instance": "class A:\n    pass\nhash(A())",
    "hash_of_handle": "hash(make_image())",
    "hash_of_class": "class A:\n    pass\nhash(A)",
    "hash_of_builtin": "hash(len)",
    "hash_of_instance_in_tuple": "class A:\n    pass\nhash((1, A()))",
    "hash_of_exception": "class E(Exception):\n    pass\nhash(E())",
}


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("payload", sorted(DATACLASS_ESCAPES))
def test_dataclass_escape_is_refused(payload, mode, source, interpreters, shell):  # noqa: F811
    tools = _tools(source, shell)
    codes = {name: (fn.__code__, fn.__defaults__, dict(fn.__dict__)) for name, fn in tools.items()}
    with pytest.raises(NbAgentsError) as info:
        interpreters[mode].run(DATACLASS_ESCAPES[payload], tools, {})
    assert not isinstance(info.value, IsolationError)
    assert {name: (fn.__code__, fn.__defaults__, dict(fn.__dict__)) for name, fn in tools.items()} == codes
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]


DATACLASS_PROGRAM = """
from dataclasses import dataclass, field, asdict, replace, is_dataclass, FrozenInstanceError

@dataclass
class Item:
    name: str
    price: float = 0.0
    tags: list = field(default_factory=list)

    def total(self, n):
        return self.price * n

@dataclass(frozen=True, order=True)
class Point:
    x: int
    y: int = 0

@dataclass
class Stock(Item):
    qty: int = 1

out = []
a = Item("pen", 1.5)
a.tags.append("blue")
out.append((repr(a), a == Item("pen", 1.5, ["blue"]), a != Item("pen"), a.total(2), str(a)))
out.append((asdict(Stock("cup", qty=3)), repr(replace(Point(1, 2), y=9))))
try:
    Point(1).x = 5
except FrozenInstanceError as e:
    out.append(("frozen", str(e)))
try:
    Item()
except TypeError as e:
    out.append(str(e))
try:
    Item("a", 1, [], 4)
except TypeError as e:
    out.append("too many")
out.append([repr(p) for p in sorted([Point(2), Point(1, 5), Point(1)])])
out.append((Point(1, 2) < Point(1, 3), is_dataclass(a), is_dataclass(3), Item.price))
out
"""


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_dataclasses_behave_like_python(mode, interpreters):  # noqa: F811
    namespace: dict = {}
    exec(DATACLASS_PROGRAM, namespace)
    assert interpreters[mode].run(DATACLASS_PROGRAM, {}, {}).value == namespace["out"]


def test_dataclass_definition_errors_match_python():
    interpreter = Interpreter()
    for code in (
        "from dataclasses import dataclass\n@dataclass\nclass A:\n    x: int = 1\n    y: int",
        "from dataclasses import dataclass\n@dataclass\nclass A:\n    x: list = []",
        "from dataclasses import dataclass, field\nfield(default=1, default_factory=list)",
    ):
        try:
            exec(code, {})
        except Exception as exc:  # noqa: BLE001
            expected = type(exc).__name__
        with pytest.raises(SandboxRuntimeError) as info:
            interpreter.run(code, {})
        assert info.value.exc_type == expected, code


NAMEDTUPLE_PROGRAM = """
import collections
from collections import namedtuple

Point = collections.namedtuple("Point", "x y")
Row = namedtuple("Row", ["name", "score", "tags"], defaults=[0, ()])
p = Point(1, 2)
x, y = p
r = Row("ann")
out = [repr(p), p.x, p[1], p[-1], p[:1], p == (1, 2), p == Point(1, 2), p != Point(2, 1), len(p), list(p)]
out.append((x + y, 2 in p, repr(r), r.score, Row("bob", 3).score))
out.append(sorted([Point(2, 1), Point(1, 5)]) == [(1, 5), (2, 1)])
out.append(({p: "a"}[Point(1, 2)], hash(p) == hash((1, 2)), max(Point(1, 9), Point(2, 0)).x))
out.append([f"{a}-{b}" for a, b in [Point(3, 4), Point(5, 6)]])
out.append((hash(1), hash("a") == hash("a"), hash((1, "x", (2.5, None))) == hash((1, "x", (2.5, None)))))
for bad in ([1], {"a": 1}, (1, [2])):
    try:
        hash(bad)
    except TypeError as e:
        out.append(str(e))
try:
    Point(1)
except TypeError:
    out.append("missing y")
try:
    p.x = 3
except AttributeError:
    out.append("read-only")
try:
    namedtuple("Bad", "x x")
except ValueError:
    out.append("duplicate")
out
"""


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_namedtuple_and_hash_behave_like_python(mode, interpreters):  # noqa: F811
    namespace: dict = {}
    exec(NAMEDTUPLE_PROGRAM, namespace)
    assert interpreters[mode].run(NAMEDTUPLE_PROGRAM, {}, {}).value == namespace["out"]


def test_hash_of_frozen_dataclasses_and_dict_keys():
    program = (
        "from dataclasses import dataclass\n"
        "@dataclass(frozen=True)\n"
        "class Key:\n"
        "    a: int\n"
        "    b: str = 'x'\n"
        "seen = {Key(1): 'one', Key(2, 'y'): 'two'}\n"
        "(seen[Key(1)], Key(2, 'y') in seen, hash(Key(1)) == hash(Key(1)), len({Key(1), Key(1)}))"
    )
    assert Interpreter().run(program, {}).value == ("one", True, True, 1)
    zero = "from collections import namedtuple\nP = namedtuple('P', 'x')\nhash(P(0)) == hash((0,)) and hash(P(-1)) == hash((-1,))"
    assert Interpreter().run(zero, {}).value is True


def test_getattr_and_hasattr_with_literal_names():
    program = """
class Config:
    debug = False
    def __init__(self):
        self.level = 3
c = Config()
out = [getattr(c, "level"), getattr(c, "verbose", "n/a"), hasattr(c, "debug"), hasattr(c, "missing")]
out += [hasattr([], "append"), hasattr([], "push"), getattr("x", "upper")(), getattr({}, "nope", None)]
try:
    getattr(c, "absent")
except AttributeError as e:
    out.append(str(e))
out
"""
    namespace: dict = {}
    exec(program, namespace)
    assert Interpreter().run(program, {}).value == namespace["out"]
    with pytest.raises(RefusedConstructError) as info:
        Interpreter().check("name = 'x'\ngetattr(object_, name)")
    assert "string literal" in info.value.hint
