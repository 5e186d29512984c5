"""Differential test over a corpus of legitimate programs (tests/interp_corpus.py): each gives the
same printed output, final value and exception type under plain CPython and under nbagents'
interpreter, in the kernel (every program) and in process isolation (a sample)."""

from __future__ import annotations

import ast
import contextlib
import io

import pytest
from interp_corpus import DIFFERENCES, NEW_CONSTRUCTS, PROGRAMS

from nbagents.errors import RefusedConstructError, SandboxRuntimeError
from nbagents.interpreter import Interpreter

# every fifth program (and every new construct) also runs in a child process
PROCESS_SAMPLE = sorted(PROGRAMS)[::5]


def cpython(code: str) -> tuple[object, str, str | None]:
    """``(value, printed, exception type)`` under CPython, in a fresh namespace. The value is the
    last top-level statement's, when it is an expression or an assignment to a name (as
    :class:`~nbagents.interpreter.Execution` reports it)."""
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body else None
    out, namespace = io.StringIO(), {}
    value = None
    try:
        with contextlib.redirect_stdout(out):
            if isinstance(last, ast.Expr):
                exec(compile(ast.Module(tree.body[:-1], []), "<corpus>", "exec"), namespace)
                value = eval(compile(ast.Expression(last.value), "<corpus>", "eval"), namespace)
            else:
                exec(compile(tree, "<corpus>", "exec"), namespace)
                targets = (last.targets if isinstance(last, ast.Assign) else
                           [last.target] if isinstance(last, (ast.AugAssign, ast.AnnAssign)) else [])
                if len(targets) == 1 and isinstance(targets[0], ast.Name):
                    value = namespace.get(targets[0].id)
    except Exception as exc:  # noqa: BLE001 - the exception type is part of the result
        return None, out.getvalue(), type(exc).__name__
    return value, out.getvalue(), None


def ours(interpreter: Interpreter, code: str) -> tuple[object, str, str | None]:
    chunks: list[str] = []
    try:
        execution = interpreter.run(code, {}, {}, on_print=chunks.append)
    except SandboxRuntimeError as error:
        return None, "".join(chunks), error.exc_type
    return execution.value, execution.prints, None


@pytest.fixture(scope="module")
def kernel():
    return Interpreter()


@pytest.fixture(scope="module")
def process():
    interpreter = Interpreter(isolation="process")
    yield interpreter
    interpreter.close()


def test_the_corpus_is_big_and_runs_under_cpython():
    assert len(PROGRAMS) >= 80 and len(NEW_CONSTRUCTS) >= 10
    raising = {name for name, code in PROGRAMS.items() if cpython(code)[2] is not None}
    assert raising == {name for name in PROGRAMS if name.startswith("error_program_")}
    for name, code in NEW_CONSTRUCTS.items():
        assert cpython(code)[2] is None, name


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_in_kernel_behaves_like_cpython(kernel, name):
    code = PROGRAMS[name]
    assert ours(kernel, code) == cpython(code)


@pytest.mark.parametrize("name", PROCESS_SAMPLE)
def test_program_in_process_behaves_like_cpython(process, name):
    code = PROGRAMS[name]
    assert ours(process, code) == cpython(code)


@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_known_differences_are_still_refused(kernel, name):
    code, why = DIFFERENCES[name]
    assert cpython(code)[2] is None
    with pytest.raises(RefusedConstructError):
        kernel.run(code, {}, {})


@pytest.mark.parametrize("name", sorted(NEW_CONSTRUCTS))
def test_new_construct_in_kernel_behaves_like_cpython(kernel, name):
    code = NEW_CONSTRUCTS[name]
    assert ours(kernel, code) == cpython(code)


@pytest.mark.parametrize("name", sorted(NEW_CONSTRUCTS))
def test_new_construct_in_process_behaves_like_cpython(process, name):
    code = NEW_CONSTRUCTS[name]
    assert ours(process, code) == cpython(code)
