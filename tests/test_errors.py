"""The exception tree drawn in errors.py is the tree in the code (issue 16, item 8): every
error genesis-lab raises on purpose is a GenesisLabError defined in errors.py, drawn in
the docstring under its parent with the built-in it also is."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import genesis_lab
from genesis_lab import errors

PACKAGE = Path(genesis_lab.__file__).parent
_LINE = re.compile(r"^(?P<indent>[ │]*)[├└]── (?P<name>\w+)(?: \((?P<builtin>\w+)\))?")


def _drawn() -> dict[str, tuple[str, str | None]]:
    """Each error in the docstring's tree: its parent and the built-in it names."""
    tree: dict[str, tuple[str, str | None]] = {}
    parents = ["GenesisLabError"]
    for line in (errors.__doc__ or "").splitlines():
        found = _LINE.match(line.strip("\n")[4:] if line.startswith("    ") else line)
        if not found:
            continue
        depth = len(found["indent"]) // 4
        del parents[depth + 1 :]
        tree[found["name"]] = (parents[depth], found["builtin"])
        parents.append(found["name"])
    return tree


def test_the_drawn_tree_is_the_tree_in_the_code() -> None:
    drawn = _drawn()
    defined = {
        name: value
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.GenesisLabError)
    }
    assert set(drawn) == set(defined) - {"GenesisLabError"}
    for name, (parent, builtin) in drawn.items():
        cls = defined[name]
        assert cls.__bases__[0] is defined[parent], (name, cls.__bases__)
        if builtin is not None:
            assert issubclass(cls, getattr(builtins, builtin)), name
    assert sorted(defined) == sorted(n for n in errors.__all__ if n != "FieldProblem")


def test_no_error_class_lives_outside_errors_py() -> None:
    """Every exception class of the core is defined in errors.py (the conformance kit's
    internal set-up failure, caught inside the kit, excepted)."""
    elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                elsewhere.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert elsewhere == ["conformance/_target.py: SetupError"]
