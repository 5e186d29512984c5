"""Classes, ``with`` and annotated assignment in agent programs.

First the escape attempts the class model must stop (metaclasses, hooks the host would call,
descriptors, ``super()`` tricks, inheriting from host classes, dunder walks, sandbox objects
crossing to tools or to the host), in the kernel and in process isolation, with tools from a
module and from an IPython user namespace; then the Python that should run, and a short
differential check against CPython.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import sys

import pytest

from nbagents.errors import (
    InterpreterError,
    IsolationError,
    LimitExceededError,
    NbAgentsError,
    RefusedConstructError,
    SandboxRuntimeError,
)
from nbagents.interpreter import Interpreter, Limits

sys.path.insert(0, os.path.dirname(__file__))
import interp_tools_module  # noqa: E402
from test_interpreter_escapes import IPYTHON_CELL  # noqa: E402

# --- escapes: each is refused with the interpreter's own error ----------------------------------

ESCAPES = {
    # metaclasses and type construction
    "metaclass_keyword": "class A(metaclass=type):\n    pass",
    "metaclass_name": "class M:\n    pass\nclass A(metaclass=M):\n    pass",
    "class_keyword": "class A(flag=True):\n    pass",
    "three_arg_type": "A = type('A', (), {'f': lambda self: 1})",
    "type_of_instance": "class A:\n    pass\ntype(A())",
    # hooks the host (or CPython's machinery) would call
    "init_subclass": "class A:\n    def __init_subclass__(cls):\n        pass",
    "class_getitem": "class A:\n    def __class_getitem__(cls, item):\n        return search\nA[0]",
    "descriptor_get": "class D:\n    def __get__(self, obj, owner):\n        return 1\nclass A:\n    d = D()\nA().d",
    "descriptor_set": "class D:\n    def __set__(self, obj, value):\n        pass",
    "set_name": "class D:\n    def __set_name__(self, owner, name):\n        pass",
    "getattr_hook": "class A:\n    def __getattr__(self, name):\n        return search\nA().anything",
    "getattribute_hook": "class A:\n    def __getattribute__(self, name):\n        return 1",
    "setattr_hook": "class A:\n    def __setattr__(self, name, value):\n        pass",
    "reduce": "class A:\n    def __reduce__(self):\n        return (print, ('x',))",
    "reduce_ex": "class A:\n    def __reduce_ex__(self, protocol):\n        return (print, ('x',))",
    "del_hook": "class A:\n    def __del__(self):\n        print('late')\na = A()",
    "new_hook": "class A:\n    def __new__(cls):\n        return search",
    "setitem_hook": "class A:\n    def __setitem__(self, k, v):\n        pass",
    "add_hook": "class A:\n    def __add__(self, other):\n        return 1",
    "hash_hook": "class A:\n    def __hash__(self):\n        return 1",
    "call_hook": "class A:\n    def __call__(self):\n        return 1",
    "dunder_class_attribute": "class A:\n    __slots__ = ()",
    "dunder_by_assignment": "class A:\n    pass\nA.__del__ = lambda self: None",
    "class_decorator": "@search\nclass A:\n    pass",
    "method_decorator": "class A:\n    @search\n    def f(self):\n        pass",
    "property_setter": "class A:\n    @property\n    def x(self):\n        return 1\n    @x.setter\n    def x(self, v):\n        pass",
    "two_decorators": "class A:\n    @staticmethod\n    @staticmethod\n    def f():\n        pass",
    "staticmethod_value": "f = staticmethod(len)",
    # super() tricks
    "super_two_args": "class A:\n    def f(self):\n        return super(A, self)\nA().f()",
    "super_one_arg": "class A:\n    def f(self):\n        return super(A)\nA().f()",
    "super_module_level": "super()",
    "super_in_function": "def f(x):\n    return super().g()\nf(1)",
    "super_thisclass": "class A:\n    def f(self):\n        return super().__thisclass__\nA().f()",
    "super_self": "class A:\n    def f(self):\n        return super().__self__\nA().f()",
    "super_getattribute": "class A:\n    def f(self):\n        return super().__getattribute__('x')\nA().f()",
    "super_name": "s = super\ns()",
    # inheriting from builtins and host classes
    "lying_str": "class Name(str):\n    def startswith(self, p):\n        return False\nName('__globals__')",
    "base_exception": "class X(BaseException):\n    pass\nraise X()",
    "system_exit_subclass": "class X(SystemExit):\n    pass\nraise X(0)",
    "dict_subclass": "class X(dict):\n    pass\nX(a=1)",
    "int_subclass": "class X(int):\n    pass",
    "tool_subclass": "class X(search):\n    pass",
    "facade_subclass": "import collections\nclass X(collections.Counter):\n    pass",
    "handle_subclass": "img = make_image()\nclass X(img):\n    pass",
    "instance_as_base": "class A:\n    pass\na = A()\nclass B(a):\n    pass",
    "starred_bases": "bases = ()\nclass A(*bases):\n    pass",
    # class bodies reading reserved names, statements that do not belong there
    "body_dunder_name": "class A:\n    n = __name__",
    "body_qualname": "class A:\n    q = __qualname__",
    "body_private_name": "class A:\n    _hidden = 1",
    "body_method_in_branch": "class A:\n    if True:\n        def __del__(self):\n            pass",
    "private_method": "class A:\n    def _helper(self):\n        return 1",
    # dunder walks on classes and instances
    "instance_dict": "class A:\n    pass\nA().__dict__",
    "instance_class": "class A:\n    pass\nA().__class__",
    "class_mro": "class A:\n    pass\nA.__mro__",
    "class_mro_method": "class A:\n    pass\nA.mro()",
    "class_bases": "class A:\n    pass\nA.__bases__",
    "class_subclasses": "class A:\n    pass\nA.__subclasses__()",
    "class_dict": "class A:\n    pass\nA.__dict__",
    "method_globals": "class A:\n    def f(self):\n        pass\nA.f.__globals__",
    "bound_self": "class A:\n    def f(self):\n        pass\nA().f.__self__",
    "bound_func": "class A:\n    def f(self):\n        pass\nA().f.__func__",
    "vars_instance": "class A:\n    pass\nvars(A())",
    "getattr_instance": "class A:\n    x = 1\nname = 'x'\ngetattr(A(), name)",
    "dir_instance": "class A:\n    pass\ndir(A())",
    "private_attribute_write": "class A:\n    pass\na = A()\na._x = 1",
    "private_attribute_init": "class A:\n    def __init__(self):\n        self._items = []\nA()",
    "private_class_attribute_write": "class A:\n    pass\nA._x = 1",
    "blocked_attribute_write": "class A:\n    pass\na = A()\na.gi_frame = 1",
    "explicit_init_call": "class A:\n    def __init__(self):\n        pass\na = A()\na.__init__()",
    "explicit_repr_call": "class A:\n    def __repr__(self):\n        return 'a'\nA().__repr__()",
    # writes through methods on values that are not sandbox instances
    "method_writes_tool": "class A:\n    def f(self):\n        self.description = 'pwned'\nA.f(search)",
    "method_reads_tool": "class A:\n    def f(self):\n        return self.fn\nA.f(search)",
    "write_on_function": "def g():\n    pass\ng.attr = 1",
    "write_on_list": "xs = []\nxs.attr = 1",
    "write_on_module": "import math\nmath.pi = 3",
    "write_on_builtin_type": "str.lower = len",
    "write_on_handle": "img = make_image()\nimg.path = '/etc/passwd'",
    "aug_write_on_handle": "img = make_image()\nimg.path += 'x'",
    "delete_on_handle": "img = make_image()\ndel img.path",
    # sandbox objects crossing to tools
    "instance_to_tool": "class A:\n    pass\nsearch(A())",
    "instance_in_list_to_tool": "class A:\n    pass\nsearch([A()])",
    "instance_in_dict_to_tool": "class A:\n    pass\nsearch({'q': A()})",
    "instance_kwarg_to_tool": "class A:\n    pass\nsearch(query=A())",
    "class_to_tool": "class A:\n    pass\nsearch(A)",
    "bound_method_to_tool": "class A:\n    def f(self):\n        return 1\nsearch(A().f)",
    "super_to_tool": "class A:\n    def f(self):\n        return search(super())\nA().f()",
    # recursion and limits through methods and hooks
    "method_recursion": "class A:\n    def f(self):\n        return self.f()\nA().f()",
    "repr_recursion": "class A:\n    def __repr__(self):\n        return repr(self)\nprint(A())",
    "init_recursion": "class A:\n    def __init__(self):\n        A()\nA()",
    "method_loop": "class A:\n    def f(self):\n        while True:\n            pass\nA().f()",
    "exit_loops": "class A:\n    def __enter__(self):\n        return self\n    def __exit__(self, *a):\n        while True:\n            pass\nwith A():\n    pass",
    # with on what is not a sandbox context manager
    "with_handle": "with make_image() as img:\n    pass",
    "with_tool": "with search:\n    pass",
    "with_open": "with open('{canary}', 'w') as f:\n    f.write('x')",
    "with_list": "with [1]:\n    pass",
}


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    assert ip.run_cell(IPYTHON_CELL).success
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


def _snapshot(namespace):
    return {k: id(v) for k, v in namespace.items() if not k.startswith("_")}


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", ["kernel", "process"])
@pytest.mark.parametrize("payload", sorted(ESCAPES))
def test_class_escape_is_refused(payload, mode, source, interpreters, shell, tmp_path):
    canary = tmp_path / "canary"
    code = ESCAPES[payload].replace("{canary}", str(canary))
    tools = _tools(source, shell)
    codes = {name: (fn.__code__, fn.__defaults__, dict(fn.__dict__)) for name, fn in tools.items()}
    namespace = _snapshot(shell.user_ns if source == "ipython" else vars(interp_tools_module))
    state: dict = {}
    with pytest.raises(NbAgentsError) as info:
        interpreters[mode].run(code, tools, state)
    assert not isinstance(info.value, IsolationError)
    assert not canary.exists()
    assert {name: (fn.__code__, fn.__defaults__, dict(fn.__dict__)) for name, fn in tools.items()} == codes
    assert _snapshot(shell.user_ns if source == "ipython" else vars(interp_tools_module)) == namespace
    assert len(str(info.value)) < 10_000
    for value in state.values():  # whatever was defined before the refusal stays inert for the host
        repr(value)
        str(value)
    assert interpreters[mode].run("search('ok', 1)", tools, {}).value == ["ok 0"]


def test_refusals_say_what_to_do():
    interpreter = Interpreter()
    with pytest.raises(RefusedConstructError) as info:
        interpreter.check("class A:\n    def __hash__(self):\n        return 1")
    assert "__hash__" in str(info.value) and "__init__" in str(info.value.hint)
    for misplaced in ("super()", "def f(x):\n    return super().g()", "class A:\n    def f(self):\n        return lambda: super().f()"):
        with pytest.raises(RefusedConstructError) as info:
            interpreter.check(misplaced)  # refused before running, where a model can be told
        assert "super() outside a method" in str(info.value)
    interpreter.check("class A:\n    def f(self):\n        return super().f()")
    with pytest.raises(RefusedConstructError) as info:
        interpreter.run("class X(dict):\n    pass", {})
    assert "dict" in str(info.value) and "Exception" in info.value.hint
    with pytest.raises(RefusedConstructError) as info:
        interpreter.run("class A:\n    pass\nsearch(A())", {"search": interp_tools_module.search})
    assert "A" in str(info.value)


# --- hooks defined in the sandbox are never called by the host --------------------------------------

HOOKED = """
class Loud:
    def __init__(self, n):
        self.n = n
    def __repr__(self):
        print('REPR HOOK')
        return 'Loud!'
    def __str__(self):
        print('STR HOOK')
        return 'loud!'
    def __enter__(self):
        return self
    def __exit__(self, kind, value, tb):
        print('EXIT HOOK')
        return False
    def __eq__(self, other):
        print('EQ HOOK')
        return True
    def __lt__(self, other):
        print('LT HOOK')
        return True
    def __len__(self):
        print('LEN HOOK')
        return 7
    def __bool__(self):
        print('BOOL HOOK')
        return False
    def __iter__(self):
        print('ITER HOOK')
        return iter([1])
    def __contains__(self, item):
        print('CONTAINS HOOK')
        return True
    def __getitem__(self, key):
        print('GETITEM HOOK')
        return 1
a = Loud(1)
box = {'a': a, 'items': [a, Loud(2)], 'cls': Loud}
a
"""


@pytest.mark.parametrize("source", ["module", "ipython"])
@pytest.mark.parametrize("mode", ["kernel", "process"])
def test_instances_returned_are_plain_renderings(mode, source, interpreters, shell):
    state: dict = {}
    result = interpreters[mode].run(HOOKED, _tools(source, shell), state)
    assert result.prints == ""
    assert type(result.value) is str and "Loud!" not in result.value and "Loud" in result.value
    nested = interpreters[mode].run(HOOKED + "[a, {'k': Loud(3)}, Loud, 1]", _tools(source, shell), {})
    assert [type(v) for v in nested.value] == [str, dict, str, int]
    assert type(nested.value[1]["k"]) is str and nested.prints == ""


def test_host_never_calls_sandbox_hooks(shell):
    interpreter = Interpreter()
    state: dict = {}
    interpreter.run(HOOKED, {}, state)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for value in (state["a"], state["box"], state["Loud"]):
            text = repr(value) + str(value)
            assert "Loud!" not in text and "loud!" not in text
        copy.deepcopy(state["box"])
        a, b = state["a"], state["box"]["items"][1]
        assert a == a and a != b and not (a == 1) and bool(a) is True and hash(a) == hash(a)
        assert {a: 1}[a] == 1 and a in [a] and b not in [a]
        for native in (len, list, iter, lambda x: 1 in x, lambda x: x[0], lambda x: a < b, sorted):
            with pytest.raises(TypeError):
                native(a if native is not sorted else [a, b])
        shell.display_formatter.format(state["a"])
        shell.display_formatter.format(state["box"])
        with pytest.raises(InterpreterError):
            state["Loud"](5)  # a class called outside a run runs no sandbox code
        with pytest.raises((AttributeError, TypeError)):
            with state["a"]:
                pass
    assert "HOOK" not in out.getvalue()


def test_a_tool_never_receives_a_sandbox_object():
    seen = []

    def echo(value=None):
        seen.append(value)
        return "ok"

    interpreter = Interpreter()
    program = "class A:\n    def f(self):\n        return 1\na = A()\n"
    for call in ("echo(a)", "echo([a])", "echo(value=(1, a))", "echo(A)", "echo(a.f)", "echo({'k': [{'a': a}]})"):
        with pytest.raises(RefusedConstructError):
            interpreter.run(program + call, {"echo": echo})
    assert seen == []
    assert interpreter.run(program + "a.x = 2\necho({'x': a.x, 'f': a.f()})", {"echo": echo}).value == "ok"
    assert seen == [{"x": 2, "f": 1}]


def test_class_hook_limits_stop_in_time():
    interpreter = Interpreter(limits=Limits(timeout_s=0.5))
    with pytest.raises(LimitExceededError) as info:
        interpreter.run("class A:\n    def f(self):\n        return self.f()\nA().f()", {})
    assert info.value.limit == "max_call_depth"
    with pytest.raises(LimitExceededError) as info:
        interpreter.run("class A:\n    def __repr__(self):\n        return 'x' + repr(self)\nstr([A()])", {})
    assert info.value.limit == "max_call_depth"


# --- annotated assignment -----------------------------------------------------------------------


def test_annotated_assignment():
    interpreter = Interpreter()
    assert interpreter.run("x: int = 42\nx", {}).value == 42
    assert interpreter.run("y: list[int]\n'ok'", {}).value == "ok"
    assert interpreter.run("def f(n: int) -> int:\n    total: int = 0\n    for i in range(n):\n        total += i\n    return total\nf(5)", {}).value == 10
    assert interpreter.run("d = {}\nd['k']: str = 'v'\nd", {}).value == {"k": "v"}
    with pytest.raises(RefusedConstructError):
        interpreter.run("_x: int = 1", {})
    with pytest.raises(RefusedConstructError):
        interpreter.run("search: int = 1", {"search": interp_tools_module.search})
    with pytest.raises(RefusedConstructError):
        interpreter.run("import math\nmath.pi: float = 3.0", {})
    with pytest.raises(SandboxRuntimeError) as info:
        interpreter.run("def f():\n    z: int\n    return z\nf()", {})
    assert info.value.exc_type == "UnboundLocalError"


# --- classes that should run -------------------------------------------------------------------


def _run(code, **kwargs):
    return Interpreter().run(code, kwargs.pop("tools", {}), kwargs.pop("state", None))


def test_record_class_with_methods_and_class_attributes():
    code = """
class Point:
    dims = 2
    def __init__(self, x, y=0):
        self.x = x
        self.y = y
    def norm2(self):
        return self.x * self.x + self.y * self.y
    def scaled(self, k):
        return Point(self.x * k, self.y * k)
    def describe(self):
        return f"{self.x},{self.y} n2={self.norm2()}"
p = Point(3, 4)
q = p.scaled(2)
q.x += 1
p.label = 'p'
del p.label
(p.norm2(), q.describe(), Point.dims, p.dims, isinstance(q, Point), isinstance(3, (Point, int)))
"""
    assert _run(code).value == (25, "7,8 n2=113", 2, 2, True, True)


def test_class_bodies_run_statements_in_their_own_namespace():
    code = """
class Part:
    size = 1
class Box:
    width = 3
    area = width * width
    part = Part()
    part.size = 'big'
    names = [n for n in ('a', 'b')]
    for i in range(2):
        width += i
    import math
    root = math.sqrt(area)
    if area > 5:
        def kind(self):
            return 'large'
width = 100
(Box.area, Box.part.size, Box.names, Box.width, Box.i, Box.root, Box().kind(), width)
"""
    assert _run(code).value == (9, "big", ["a", "b"], 4, 1, 3.0, "large", 100)


def test_inheritance_super_and_overrides():
    code = """
class Animal:
    kind = 'animal'
    def __init__(self, name):
        self.name = name
    def speak(self):
        return '...'
    def intro(self):
        return f"{self.name} the {self.kind} says {self.speak()}"
class Dog(Animal):
    kind = 'dog'
    def __init__(self, name, tricks=()):
        super().__init__(name)
        self.tricks = list(tricks)
    def speak(self):
        return 'woof'
    def intro(self):
        return super().intro() + '!'
class Puppy(Dog):
    pass
d = Puppy('Rex', ['sit'])
(d.intro(), d.tricks, isinstance(d, Animal), isinstance(d, Dog), isinstance(Animal('x'), Dog))
"""
    assert _run(code).value == ("Rex the dog says woof!", ["sit"], True, True, False)


def test_static_class_methods_and_properties():
    code = """
class Temp:
    scale = 'C'
    def __init__(self, c):
        self.c = c
    @property
    def f(self):
        return self.c * 9 / 5 + 32
    @staticmethod
    def parse(text):
        return Temp(float(text.rstrip('C')))
    @classmethod
    def zero(cls):
        return cls(0)
t = Temp.parse('100C')
(t.f, Temp.zero().f, t.zero().c, Temp.scale)
"""
    assert _run(code).value == (212.0, 32.0, 0, "C")
    with pytest.raises(SandboxRuntimeError) as info:
        _run("class A:\n    @property\n    def x(self):\n        return 1\na = A()\na.x = 2")
    assert info.value.exc_type == "AttributeError"


def test_repr_str_honoured_inside_the_program():
    code = """
class Item:
    def __init__(self, name, qty):
        self.name = name
        self.qty = qty
    def __repr__(self):
        return f"Item({self.name!r}, {self.qty})"
class Tag(Item):
    def __str__(self):
        return '#' + self.name
items = [Item('pen', 2), Tag('red', 1)]
print(items)
print(items[1], str(items[0]), f"{items[1]}", repr(items[1]))
len(str(items))
"""
    result = _run(code)
    assert result.prints == "[Item('pen', 2), Item('red', 1)]\n#red Item('pen', 2) #red Item('red', 1)\n"
    assert result.value == len("[Item('pen', 2), Item('red', 1)]")
    assert _run("class A:\n    pass\nstr(A()).startswith('<A object')").value is True
    with pytest.raises(SandboxRuntimeError) as info:
        _run("class A:\n    def __repr__(self):\n        return 1\nrepr(A())")
    assert info.value.exc_type == "TypeError"


def test_super_reaches_object_hooks_and_classmethods():
    code = """
class A:
    def __repr__(self):
        return 'A!' + super().__repr__()
    @classmethod
    def make(cls):
        return cls()
class B(A):
    def __init__(self):
        super().__init__()
    def __str__(self):
        return 'B:' + super().__str__()
    @classmethod
    def make(cls):
        return [super().make()]
made = B.make()
print(B(), repr(B()), isinstance(made[0], B))
"""
    assert _run(code).prints == "B:A!<B object> A!<B object> True\n"
    with pytest.raises(SandboxRuntimeError) as info:
        _run("class A:\n    def __init__(self):\n        super().__init__(1)\nA()")
    assert info.value.exc_type == "TypeError"
    with pytest.raises(SandboxRuntimeError) as info:
        _run("class A:\n    def f(self):\n        return super().f()\nA().f()")
    assert "'super' object has no attribute 'f'" in str(info.value)


def test_comparison_and_container_hooks_run_inside_the_program():
    code = """
class Version:
    def __init__(self, text):
        self.parts = [int(p) for p in text.split('.')]
    def __eq__(self, other):
        return isinstance(other, Version) and self.parts == other.parts
    def __lt__(self, other):
        return self.parts < other.parts
    def __repr__(self):
        return 'v' + '.'.join(str(p) for p in self.parts)
class Shelf:
    def __init__(self, *items):
        self.items = list(items)
    def __len__(self):
        return len(self.items)
    def __iter__(self):
        return iter(self.items)
    def __getitem__(self, i):
        return self.items[i]
    def __contains__(self, x):
        return x in self.items
vs = [Version('1.10'), Version('1.2'), Version('0.9')]
s = Shelf(*vs)
empty = Shelf()
(sorted(vs), max(vs), Version('1.2') == Version('1.2'), Version('1.2') != Version('1.3'),
 Version('1.2') in vs, vs.index(Version('0.9')), len(s), [v for v in s], s[0], Version('0.9') in s,
 bool(empty), 'yes' if s else 'no', list(s) == vs, Version('2.0') > Version('1.0'))
"""
    value = _run(code).value
    assert value[:2] == (["<Version object>"] * 3, "<Version object>")  # the host gets renderings
    assert value[2:] == (True, True, True, 2, 3, ["<Version object>"] * 3, "<Version object>", True, False, "yes", True, True)
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.replace("(sorted(vs)", "print(sorted(vs), max(vs))\nresult = (sorted(vs)"), "<cpython>", "exec"), namespace)  # noqa: S102
    result = Interpreter().run(code.replace("(sorted(vs)", "print(sorted(vs), max(vs))\nresult = (sorted(vs)"), {})
    assert result.prints == out.getvalue() == "[v0.9, v1.2, v1.10] v1.10\n"
    with pytest.raises(SandboxRuntimeError) as info:
        _run("class A:\n    def __len__(self):\n        return 'x'\nlen(A())")
    assert info.value.exc_type == "TypeError"


def test_errors_match_python():
    cases = {
        "class A:\n    pass\nA().z": ("AttributeError", "'A' object has no attribute 'z'"),
        "class A:\n    pass\nA.z": ("AttributeError", "type object 'A' has no attribute 'z'"),
        "class A:\n    pass\nA(1)": ("TypeError", "A() takes no arguments"),
        "class A:\n    def __init__(self, x):\n        pass\nA()": ("TypeError", None),
        "class A:\n    def __init__(self):\n        return 1\nA()": ("TypeError", "__init__() should return None, not 'int'"),
        "class A:\n    pass\na = A()\ndel a.z": ("AttributeError", None),
        "class A:\n    pass\nA() < A()": ("TypeError", None),
        "class A:\n    pass\nlen(A())": ("TypeError", None),
        "class A:\n    pass\nfor x in A():\n    pass": ("TypeError", None),
        "class A:\n    pass\nwith A():\n    pass": ("TypeError", None),
    }
    for code, (kind, message) in cases.items():
        with pytest.raises(SandboxRuntimeError) as info:
            _run(code)
        assert info.value.exc_type == kind, code
        if message is not None:
            assert message in str(info.value), code
    assert _run("class A:\n    pass\ntry:\n    A().z\nexcept AttributeError as e:\n    r = str(e)\nr").value == (
        "'A' object has no attribute 'z'"
    )


def test_methods_as_values_and_higher_order_builtins():
    code = """
class Acc:
    def __init__(self):
        self.total = 0
    def add(self, x):
        self.total += x
        return self.total
    def key(self, x):
        return -x
a = Acc()
list(map(a.add, [1, 2, 3])), sorted([3, 1, 2], key=a.key), a.total, list(map(Acc, [])), a == a, {a: 1}[a], {Acc: 'k'}[Acc], len(sorted([Acc(), Acc()], key=lambda x: 0))
"""
    assert _run(code).value == ([1, 3, 6], [3, 2, 1], 6, [], True, 1, "k", 2)


def test_classes_in_functions_closures_and_state_across_runs():
    interpreter = Interpreter()
    state: dict = {}
    interpreter.run(
        "def make(step):\n    class Counter:\n        def __init__(self):\n            self.n = 0\n"
        "        def tick(self):\n            self.n += step\n            return self.n\n    return Counter\n"
        "C = make(5)\nc = C()\nc.tick()",
        {},
        state,
    )
    assert interpreter.run("c.tick()\nc.tick()", {}, state).value == 15
    assert interpreter.run("class Later(C):\n    pass\nLater().tick()", {}, state).value == 5


def test_process_mode_runs_classes_and_drops_them_from_the_state():
    interpreter = Interpreter(isolation="process")
    try:
        state: dict = {}
        result = interpreter.run("class A:\n    def __init__(self):\n        self.v = [1]\na = A()\nn = a.v[0]\nn", {}, state)
        assert result.value == 1 and state["n"] == 1
        assert "a" not in state and "A" not in state  # like functions, they do not cross back
    finally:
        interpreter.close()


# --- with ---------------------------------------------------------------------------------------

WITH = """
log = []
class Managed:
    def __init__(self, name, suppress=False):
        self.name = name
        self.suppress = suppress
    def __enter__(self):
        log.append('enter ' + self.name)
        return self.name.upper()
    def __exit__(self, kind, value, tb):
        log.append(('exit', self.name, kind, str(value) if value is not None else None, tb))
        return self.suppress
"""


def test_with_calls_enter_and_exit_and_sees_the_exception():
    code = WITH + """
with Managed('a') as x:
    log.append(x)
with Managed('b', suppress=True):
    raise ValueError('boom')
try:
    with Managed('c'), Managed('d') as y:
        log.append(y)
        {}['k']
except KeyError as e:
    log.append('caught ' + str(e))
def early():
    for i in range(3):
        with Managed('r' + str(i)):
            if i == 1:
                return i
            continue
early()
log
"""
    log = _run(code).value
    assert log[:3] == ["enter a", "A", ("exit", "a", None, None, None)]
    assert log[3] == "enter b"
    assert log[4][0:2] == ("exit", "b") and log[4][3:] == ("boom", None)
    assert log[5:8] == ["enter c", "enter d", "D"]
    assert [entry[1] for entry in log[8:10]] == ["d", "c"] and log[8][3] == "'k'"
    assert log[10] == "caught 'k'"
    assert log[11:] == ["enter r0", ("exit", "r0", None, None, None), "enter r1", ("exit", "r1", None, None, None)]


def test_with_exception_type_is_the_sandbox_class():
    code = WITH.replace("self.name, kind,", "self.name, kind is ValueError,") + """
with Managed('b', suppress=True):
    int('x')
log[-1][2]
"""
    assert _run(code).value is True


def test_try_finally_around_with_and_limits_are_not_caught():
    code = WITH + """
try:
    with Managed('a'):
        raise RuntimeError('x')
except RuntimeError:
    log.append('handled')
finally:
    log.append('finally')
[e if isinstance(e, str) else e[1] for e in log]
"""
    assert _run(code).value == ["enter a", "a", "handled", "finally"]
    interpreter = Interpreter(limits=Limits(max_operations=20_000))
    with pytest.raises(LimitExceededError):
        interpreter.run(WITH.replace("return self.suppress", "return True") + "with Managed('x'):\n    while True:\n        pass", {})


# --- differential: CPython gives the same output and value ------------------------------------------

PROGRAMS = [
    """
from collections import Counter
class Inventory:
    def __init__(self):
        self.items = Counter()
    def add(self, name, n=1):
        self.items[name] += n
        return self
    def top(self, k):
        return self.items.most_common(k)
inv = Inventory().add('apple', 3).add('pear').add('apple')
print(inv.top(1))
result = (inv.top(2), len(inv.items))
""",
    """
class Shape:
    sides = 0
    def __init__(self, size):
        self.size = size
    def area(self):
        raise NotImplementedError
    def __repr__(self):
        return f"{self.label()}({self.size})"
    def label(self):
        return 'Shape'
class Square(Shape):
    sides = 4
    def area(self):
        return self.size ** 2
    def label(self):
        return 'Square'
class Tri(Shape):
    sides = 3
    def area(self):
        return round(self.size ** 2 * 3 ** 0.5 / 4, 3)
    def label(self):
        return 'Tri'
shapes = sorted([Square(3), Tri(2), Square(1)], key=lambda s: s.area())
print(shapes)
try:
    Shape(1).area()
except NotImplementedError:
    print('abstract')
result = [(s.sides, s.area()) for s in shapes]
""",
    """
x: int = 42
y: float
names: list[str] = ['b', 'a']
def total(values: list[int], start: int = 0) -> int:
    acc: int = start
    for v in values:
        acc += v
    return acc
print(total([x, 1]), sorted(names))
result = total(range(5), start=x)
""",
    """
events = []
class Section:
    depth = 0
    def __init__(self, title):
        self.title = title
    def __enter__(self):
        Section.depth += 1
        events.append('  ' * Section.depth + self.title)
        return self
    def __exit__(self, exc_type, exc, tb):
        Section.depth -= 1
        if exc_type is not None and issubclass_like(exc_type):
            events.append('swallowed ' + str(exc))
            return True
        return None
def issubclass_like(t):
    return t is ZeroDivisionError
with Section('a'):
    with Section('b') as b:
        events.append(b.title * 2)
        1 / 0
    events.append('after b')
print('\\n'.join(events))
result = (Section.depth, len(events))
""",
    """
class Stack:
    def __init__(self):
        self.data = []
    def push(self, v):
        self.data.append(v)
    def pop(self):
        return self.data.pop()
    @property
    def size(self):
        return len(self.data)
    @staticmethod
    def of(*values):
        s = Stack()
        for v in values:
            s.push(v)
        return s
s = Stack.of(1, 2, 3)
print(s.pop(), s.size)
result = (s.size, s.data, isinstance(s, Stack))
""",
]


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_differential_classes_with_annotations(index):
    code = PROGRAMS[index]
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<cpython>", "exec"), namespace)  # noqa: S102 - the reference run
    result = Interpreter().run(code, {})
    assert result.prints == out.getvalue()
    assert result.value == namespace["result"]
