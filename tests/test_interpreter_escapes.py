"""Escape attempts, at least one per escape class of the threat model (incl. the smolagents
S1-S17 payloads adapted): each must be refused with the interpreter's own error and leave the
host unchanged, in-kernel and in process isolation, with tools from a module and from an
IPython user namespace (whose globals hold ``get_ipython``)."""

from __future__ import annotations

import builtins
import os
import sys

import pytest

from nbagents.errors import IsolationError, NbAgentsError
from nbagents.interpreter import Interpreter, Limits

sys.path.insert(0, os.path.dirname(__file__))
import interp_tools_module  # noqa: E402

# (escape class, program); {canary} is a path that must never be created.
PAYLOADS = {
    # forbidden import
    "import_os": ("import", "import os\nos.system('touch {canary}')"),
    "from_os_import": ("import", "from os import system\nsystem('touch {canary}')"),
    "import_subprocess": ("import", "import subprocess\nsubprocess.run(['touch', '{canary}'])"),
    "importlib": ("import", "import importlib\nimportlib.import_module('o' + 's')"),
    "dunder_import": ("import", "__import__('os').system('touch {canary}')"),
    "star_import": ("import", "from math import *"),
    "dotted_import": ("import", "import os.path"),
    "relative_import": ("import", "from . import interp_tools_module"),
    # module re-exports (S1, S6)
    "S1_random_os": ("re-export", "import random\nrandom._os.system('touch {canary}')"),
    "statistics_sys": ("re-export", "import statistics\nstatistics.sys.modules['os'].system('touch {canary}')"),
    "json_decoder": ("re-export", "import json\njson.decoder.re"),
    "datetime_sys": ("re-export", "import datetime\ndatetime.sys"),
    "collections_abc": ("re-export", "import collections\ncollections.abc"),
    "S6_queue_threading": ("re-export", "import queue\nqueue.threading._sys.modules['os']"),
    "random_class": ("re-export", "import random\nrandom.Random(1).__class__.__mro__"),  # a class-model value, not random.Random
    "facade_function_self": ("re-export", "import random\nrandom.random.__self__"),
    # higher-order builtins (S8, CVE-2025-5120)
    "S8_map_getattr": ("higher-order", "import random\nfns = list(map(getattr, [random], ['_os']))\nfns[0].system('touch {canary}')"),
    "map_eval": ("higher-order", "list(map(eval, ['1']))"),
    "sorted_key_import": ("higher-order", "sorted(['os'], key=__import__)"),
    "map_host_callable": ("higher-order", "list(map(get_function(), ['touch {canary}']))"),
    "call_host_callable": ("higher-order", "f = get_function()\nf('touch {canary}')"),
    "map_tool_dunder": ("higher-order", "list(map(search.__call__, ['x']))"),
    # dunder attribute walk (S7)
    "S7_subclasses": ("dunder-walk", "().__class__.__base__.__subclasses__()"),
    "popen_walk": ("dunder-walk", "[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == 'Popen'][0](['touch', '{canary}'])"),
    "tool_globals": ("dunder-walk", "search.__globals__['os'].system('touch {canary}')"),
    "mro": ("dunder-walk", "x = 1\nx.__class__.__mro__[-1]"),
    "lambda_globals": ("dunder-walk", "(lambda: 0).__globals__"),
    "reduce_ex": ("dunder-walk", "[].__reduce_ex__(2)"),
    "S2_len_self": ("dunder-walk", "len.__self__.eval(\"__import__('os').system('touch {canary}')\")"),
    "method_self": ("dunder-walk", "f = [].append\nf.__self__"),
    "mro_method": ("dunder-walk", "e = ValueError\ne.mro()"),
    # dunder method calls (S9, CVE-2025-9959)
    "S9_getattribute": ("dunder-call", "search.__getattribute__('__globals__')"),
    "str_getattribute": ("dunder-call", "'x'.__getattribute__('__class__')"),
    "type_getattribute": ("dunder-call", "type.__getattribute__(search, '__globals__')"),
    # attribute writes / augmented assignment (S10, CVE-2026-4963)
    "S10_defaults_write": ("attribute-write", "search.__defaults__ = ('pwned',)"),
    "code_write": ("attribute-write", "search.__code__ = (lambda query, limit=3: 'pwned').__code__"),
    "dict_ior": ("attribute-write", "search.__dict__ |= {'x': 1}"),
    "globals_iadd": ("attribute-write", "search.__globals__ += 1"),
    "plain_attribute_write": ("attribute-write", "search.description = 'pwned'"),
    "attribute_delete": ("attribute-write", "del search.__defaults__"),
    "aug_attribute": ("attribute-write", "search.limit += 1"),
    # lying str subclass
    "lying_str_class": ("lying-str", "class Name(str):\n    def startswith(self, p):\n        return False\ngetattr(search, Name('__globals__'))"),
    "computed_getattr": ("lying-str", "n = ''.join(['__glo', 'bals__'])\ngetattr(search, n)"),
    "three_arg_type": ("lying-str", "N = type('N', (str,), {})\nN('x')"),
    # format strings (S12)
    "S12_format_globals": ("format", "'{0.__globals__[__builtins__]}'.format(search)"),
    "format_attribute_field": ("format", "'{0.fn}'.format(search)"),
    "format_variable": ("format", "fmt = '{0.__class__}'\nfmt.format(1)"),
    "format_map": ("format", "'{x.fn}'.format_map({'x': search})"),
    "format_unbound": ("format", "str.format('{0.__globals__}', search)"),
    "string_formatter": ("format", "import string\nstring.Formatter().get_field('0.__globals__', [search], {})"),
    "fstring_dunder": ("format", "f'{search.__globals__}'"),
    "format_nested_width": ("format", "'{:{}}'.format(1, '>10000000000')"),
    # frames, generators, tracebacks (S3, S17)
    "S17_gi_frame": ("frames", "g = (i for i in [1])\ng.gi_frame.f_locals['authorized_imports'].append('os')"),
    "gi_frame_back": ("frames", "g = (i for i in [1])\ng.gi_frame.f_back.f_globals"),
    "S3_traceback_frame": ("frames", "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_globals"),
    "tool_traceback": ("frames", "try:\n    failing_tool()\nexcept Exception as e:\n    e.__traceback__"),
    "with_traceback": ("frames", "try:\n    1 / 0\nexcept Exception as e:\n    e.with_traceback(None)"),
    "generator_send": ("frames", "g = (i for i in [1])\ng.send(None)"),
    "exception_obj": ("frames", "try:\n    {}['x']\nexcept KeyError as e:\n    e.obj"),
    "sys_getframe": ("frames", "import sys\nsys._getframe()"),
    "catch_warnings": ("frames", "import warnings\nwarnings.catch_warnings()._module.__builtins__"),
    # builtins by name or via functions
    "open_write": ("builtins", "open('{canary}', 'w').write('x')"),
    "eval": ("builtins", "eval('1 + 1')"),
    "exec": ("builtins", "exec('import os')"),
    "compile": ("builtins", "compile('1', 'f', 'eval')"),
    "globals": ("builtins", "globals()"),
    "vars": ("builtins", "vars()"),
    "builtins_name": ("builtins", "__builtins__['open']"),
    "breakpoint": ("builtins", "breakpoint()"),
    "input": ("builtins", "input()"),
    "help": ("builtins", "help()"),
    "dir": ("builtins", "dir(search)"),
    "object": ("builtins", "object.__subclasses__()"),
    "iter_two_args": ("builtins", "any(iter(int, 1))"),
    # tool objects as a way in
    "get_ipython": ("tools", "search.__globals__['get_ipython']().system('touch {canary}')"),
    "tool_wrapped": ("tools", "search.__wrapped__"),
    "tool_fn_attribute": ("tools", "search.fn"),
    "tool_name_attribute": ("tools", "search.name"),
    "tool_closure": ("tools", "search.__closure__"),
    "tool_error_context": ("tools", "try:\n    failing_tool()\nexcept Exception as e:\n    e.__context__"),
    "tool_error_attribute": ("tools", "try:\n    failing_tool()\nexcept Exception as e:\n    e.tool"),
    "function_to_tool": ("tools", "search(lambda: 1)"),
    "rebind_tool": ("tools", "search = lambda query, limit=3: 'pwned'"),
    "redefine_tool": ("tools", "def search(query):\n    return 'pwned'"),
    "loop_rebinds_tool": ("tools", "for search in range(2):\n    pass"),
    "import_as_tool": ("tools", "import math as search"),
    "delete_tool": ("tools", "del search"),
    "handle_attribute": ("tools", "img = make_image()\nimg.path"),
    "handle_item": ("tools", "img = make_image()\nimg['path']"),
    # class / metaclass / decorator tricks (S13): a class may be defined, but the hooks the host
    # would call are refused (tests/test_interpreter_classes.py has the full set, and shows that
    # the hooks a program may define are never reached by the host)
    "S13_class_del": ("class", "class B:\n    def __del__(self):\n        pass\nb = B()"),
    "class_getattr_hook": ("class", "class B:\n    def __getattr__(self, name):\n        return search\nB().x"),
    "class_init_subclass": ("class", "class B:\n    def __init_subclass__(cls):\n        pass"),
    "class_str_base": ("class", "class N(str):\n    def startswith(self, p):\n        return False\nN('__globals__')"),
    "class_super_args": ("class", "class B:\n    def f(self):\n        return super(B, self)\nB().f()"),
    "class_instance_to_tool": ("class", "class B:\n    pass\nsearch(B())"),
    "metaclass": ("class", "class A(metaclass=type):\n    pass"),
    "decorator": ("class", "@search\ndef f():\n    pass"),
    "type_del_hook": ("class", "H = type('H', (), {'__del__': lambda s: 0})"),
    "namedtuple": ("class", "import collections\ncollections.namedtuple('P', 'x, y=__import__(\"os\")')"),  # no exec of field names
    # BaseException escapes
    "system_exit": ("base-exception", "raise SystemExit(0)"),
    "keyboard_interrupt": ("base-exception", "raise KeyboardInterrupt"),
    "generator_exit": ("base-exception", "raise GeneratorExit()"),
    "exit": ("base-exception", "exit()"),
    "quit": ("base-exception", "quit()"),
    "base_exception": ("base-exception", "raise BaseException('x')"),
    "sys_exit": ("base-exception", "import sys\nsys.exit(1)"),
    "exception_base_class": ("base-exception", "raise ValueError.__base__.__base__()"),
    # serialization / native escape hatches (S11, S14, S15)
    "pickle": ("native", "import pickle\npickle.loads(b'cos\\nsystem\\n(S\"touch {canary}\"\\ntR.')"),
    "marshal": ("native", "import marshal"),
    "S11_ctypes": ("native", "import ctypes\nctypes.CDLL(None).system(b'touch {canary}')"),
    "gc": ("native", "import gc\ngc.get_objects()"),
    "inspect": ("native", "import inspect"),
    "codecs_open": ("native", "import codecs\ncodecs.open('{canary}', 'w')"),
    "urllib_file": ("native", "import urllib.request"),
    "threading": ("native", "import threading"),
    "signal": ("native", "import signal"),
    "asyncio": ("native", "import asyncio"),
    "S14_time_sleep": ("native", "import time\ntime.sleep(100)"),
    "S15_requests": ("native", "import requests\nrequests.get('http://169.254.169.254/')"),
    # interpreter-state tampering
    "operations_count": ("tampering", "_operations_count = 0"),
    "print_outputs": ("tampering", "_print_outputs = None"),
    "builtins_tamper": ("tampering", "__builtins__['print'] = None"),
    "limits_in_namespace": ("tampering", "max_operations = 10 ** 12\ntimeout_s = 10 ** 6\nwhile True:\n    pass"),
    # CPU, memory, output flooding (the limits tests cover each attack; one each here)
    "cpu_while": ("cpu", "while True:\n    pass"),
    "S14_big_power": ("cpu", "10 ** 10 ** 8"),
    "memory_repeat": ("memory", "'x' * 10 ** 10"),
    "output_flood": ("output", "while True:\n    print('x' * 10000)"),
}

IPYTHON_CELL = '''
import os
import subprocess

def search(query, limit=3):
    """Return fake search results."""
    return [f"{query} {i}" for i in range(limit)]

def failing_tool(*args):
    raise ValueError("tool failure")

def get_function():
    return os.system

class Picture:
    def __init__(self):
        self.path = "/tmp/picture.png"

def make_image():
    return Picture()
'''


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    result = ip.run_cell(IPYTHON_CELL)
    assert result.success
    return ip


@pytest.fixture(scope="module")
def interpreters():
    limits = Limits(timeout_s=0.5)
    made = {"kernel": Interpreter(limits=limits), "process": Interpreter(limits=limits, isolation="process")}
    yield made
    made["process"].close()


def _tools(source, shell):
    if source == "module":
        return dict(interp_tools_module.TOOLS)
    return {name: shell.user_ns[name] for name in interp_tools_module.TOOLS}


def _snapshot_function(fn):
    return (fn.__code__, fn.__defaults__, fn.__kwdefaults__, dict(fn.__dict__), fn.__closure__)


def _snapshot_namespace(namespace):
    return {k: id(v) for k, v in namespace.items() if not k.startswith("_")}


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_escape_is_refused(payload, mode, source, interpreters, shell, tmp_path):
    _, code = PAYLOADS[payload]
    canary = tmp_path / "canary"
    code = code.replace("{canary}", str(canary))
    tools = _tools(source, shell)
    environ = dict(os.environ)
    functions = {name: _snapshot_function(fn) for name, fn in tools.items()}
    namespace = _snapshot_namespace(shell.user_ns if source == "ipython" else vars(interp_tools_module))
    host_builtins = _snapshot_namespace(vars(builtins))
    cwd = os.getcwd()
    state = {}

    with pytest.raises(NbAgentsError) as info:
        interpreters[mode].run(code, tools, state)

    assert not isinstance(info.value, IsolationError)
    assert not canary.exists()
    assert dict(os.environ) == environ
    assert {name: _snapshot_function(fn) for name, fn in tools.items()} == functions
    assert _snapshot_namespace(shell.user_ns if source == "ipython" else vars(interp_tools_module)) == namespace
    assert _snapshot_namespace(vars(builtins)) == host_builtins
    assert os.getcwd() == cwd
    assert len(str(info.value)) < 10_000
    # the interpreter (and its child) still works, and the tools are intact
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]


def test_every_escape_class_is_covered():
    classes = {kind for kind, _ in PAYLOADS.values()}
    assert classes >= {
        "import", "re-export", "higher-order", "dunder-walk", "dunder-call", "attribute-write",
        "lying-str", "format", "frames", "builtins", "tools", "class", "base-exception", "native",
        "tampering", "cpu", "memory", "output",
    }  # fmt: skip
    assert len(PAYLOADS) >= 40


def test_tool_exception_carries_no_traceback_or_context():
    from nbagents.errors import ToolExecutionError

    interpreter = Interpreter()
    with pytest.raises(ToolExecutionError) as info:
        interpreter.run("failing_tool(1)", interp_tools_module.TOOLS)
    error = info.value
    assert error.__context__ is None and error.__cause__ is None
    assert error.detail == "ValueError: tool failure"


def test_S16_child_messages_are_never_unpickled():
    from nbagents.interpreter import isolation

    source = "".join(open(isolation.__file__.replace("isolation", name)).read()
                     for name in ("isolation", "_child", "relay", "codec"))
    assert "pickle" not in source.replace("never pickle", "").replace("Never pickle", "")
    assert isinstance(isolation._rebuild({"class": "os.system", "message": "x"}), IsolationError)


@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_user_namespace_is_never_reachable(shell, interpreters, mode):
    shell.user_ns["secret_token"] = "sk-123"
    try:
        with pytest.raises(NbAgentsError):
            interpreters[mode].run("secret_token", _tools("ipython", shell), {})
    finally:
        del shell.user_ns["secret_token"]


def test_process_child_is_confined(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("JUPYTER_TOKEN", "token")
    interpreter = Interpreter(isolation="process", limits=Limits(memory_mb=512))
    try:
        interpreter.run("1", {}, {})
        pid = interpreter._child._proc.pid
        environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        names = {item.split(b"=", 1)[0].decode() for item in environ if item}
        assert names <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR"}
        cwd = os.readlink(f"/proc/{pid}/cwd")
        assert cwd != os.getcwd() and os.listdir(cwd) == []
        limits = open(f"/proc/{pid}/limits").read()
        assert "Max address space" in limits and str(512 * 1024 * 1024) in limits
        assert [line.split()[-3] for line in limits.splitlines() if line.startswith("Max file size")] == ["0"]
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        assert b"-I" in cmdline and b"-S" in cmdline
        fds = os.listdir(f"/proc/{pid}/fd")
        assert len(fds) <= 6  # stdin, stdout, stderr, the protocol descriptor, nothing inherited
    finally:
        interpreter.close()
