"""docs/architecture.md names every package and module of the core, and nothing that is
not there (issue 16, item 8: architecture notes in the repository that match the code)."""

from __future__ import annotations

import re
from pathlib import Path

import genesis_lab

PACKAGE = Path(genesis_lab.__file__).parent
DOC = PACKAGE.parent / "docs" / "architecture.md"


def _named_modules() -> dict[str, set[str]]:
    """Modules the page names, by package: in a bullet that starts with ``pkg/`` or
    anywhere in a section headed by one package alone."""
    named: dict[str, set[str]] = {}
    section: list[str] = []
    for line in DOC.read_text().splitlines():
        if line.startswith("### "):
            section = re.findall(r"`(\w+)`", line)
            continue
        if not line.startswith("- "):
            continue
        lead = re.match(r"- `(\w+)/", line)
        owner = lead.group(1) if lead else (section[0] if len(section) == 1 else None)
        if owner is None:
            continue
        named.setdefault(owner, set()).update(re.findall(r"`(?:\w+/)?(\w+\.py)`", line))
        named[owner].update(re.findall(r"\b(\w+\.py)\b", line))
    return named


def test_every_module_of_the_core_is_on_the_page() -> None:
    named = _named_modules()
    for package in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        modules = {m.name for m in package.glob("*.py") if m.name != "__init__.py"}
        missing = modules - named.get(package.name, set())
        assert not missing, f"docs/architecture.md does not name {package.name}/{missing}"
        unknown = named.get(package.name, set()) - modules
        assert not unknown, f"docs/architecture.md names {package.name}/{unknown}: gone"


def test_the_layers_on_the_page_are_the_enforced_ones() -> None:
    config = (PACKAGE.parent / "pyproject.toml").read_text()
    enforced = re.search(r"layers = \[\n(.*?)\n\]", config, re.S)
    assert enforced is not None
    layers = [re.findall(r"genesis_lab\.(\w+)", line) for line in enforced.group(1).splitlines()]
    table = DOC.read_text().split("## Layers", 1)[1].split("## Packages", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    on_page = [re.findall(r"`(\w+)`", row.split("|")[2]) for row in rows]
    assert [sorted(layer) for layer in layers] == [sorted(row) for row in on_page]
