"""The README's commands and its Python example are the ones that run.

The "Thirty seconds" example runs for real on the embedded model; each ``# -> value`` comment in
it is the value the line must give. The set-up commands are the Makefile's targets, and CI runs
the README's test command.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_two_commands_are_the_makefile_and_ci_ones():
    setup = README.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)[0]
    names = [line.split("#")[0].strip() for line in commands.strip().splitlines()]
    assert names == ["make lab", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: setup$", makefile, flags=re.M) and re.search(r"^test: setup$", makefile, flags=re.M)
    assert "notebooks/01-getting-started.ipynb" in makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), flags=re.M)


@pytest.mark.slow
def test_the_thirty_second_example_gives_what_it_says():
    block = python_blocks()[0]
    namespace: dict = {}
    checked = 0
    for node in ast.parse(block).body:
        source = ast.get_source_segment(block, node)
        line = block.splitlines()[node.end_lineno - 1]
        expected = re.search(r"#\s*->\s*(.+)$", line)
        if expected and isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), "README", "eval"), namespace)  # noqa: S307
            assert value == ast.literal_eval(expected.group(1).strip()), source
            checked += 1
        else:
            exec(compile(ast.Module([node], []), "README", "exec"), namespace)  # noqa: S102
    assert checked >= 2
    assert namespace["agent"].engine.spec == "default"  # the embedded model, for real
