"""Supply chain (issue 8, deliverable 5): the hash-pinned lock, the README's dependency
table and the software bill of materials.

The lock and table tests only read files; the SBOM test runs `cyclonedx-py environment`
on this environment, as `make sbom` does but without the schema validation that takes
`make sbom` about 20 s (about 2 s here).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<options>.*)$")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})\b")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _declared() -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements by where they are declared."""
    data = _pyproject()
    return {
        "dependencies": [Requirement(t) for t in data["project"]["dependencies"]],
        "dev": [Requirement(t) for t in data["project"]["optional-dependencies"]["dev"]],
        "build-system": [Requirement(t) for t in data["build-system"]["requires"]],
    }


def _lock() -> dict[NormalizedName, tuple[str, list[str]]]:
    """requirements.lock as {name: (version, sha256 hashes)}, one entry per logical line."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    pins: dict[NormalizedName, tuple[str, list[str]]] = {}
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"requirements.lock: not an exact pin: {line!r}"
        name = canonicalize_name(match["name"])
        assert name not in pins, f"requirements.lock pins {name} twice"
        options = match["options"].split("#", 1)[0]
        hashes = HASH.findall(options)
        assert hashes, f"requirements.lock: {name} has no --hash=sha256"
        assert options.split() == [f"--hash=sha256:{h}" for h in hashes], (
            f"requirements.lock: {name} has options other than --hash=sha256: {options!r}"
        )
        pins[name] = (match["version"], hashes)
    return pins


def test_lock_pins_every_distribution_exactly_with_sha256() -> None:
    pins = _lock()
    assert len(pins) > 50
    for name, (version, hashes) in pins.items():
        Version(version)  # a valid, exact version
        assert len(set(hashes)) == len(hashes), f"{name}: a hash listed twice"
    # The CPU build from the local wheel directory, hashed from the file itself.
    assert pins[canonicalize_name("torch")][0] == "2.13.0+cpu"
    # The build backend is locked too: make install builds genesis-lab without isolation.
    assert "setuptools" in pins


def test_lock_satisfies_every_requirement_of_pyproject() -> None:
    pins = _lock()
    for where, requirements in _declared().items():
        for req in requirements:
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            name = canonicalize_name(req.name)
            assert name in pins, f"{req} ({where}) is not in requirements.lock: run make lock"
            version = Version(pins[name][0])
            assert req.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {name}=={version}, but pyproject.toml ({where}) "
                f"asks for {req}: run make lock"
            )


def test_lock_is_closed_over_dependencies_and_is_what_is_installed() -> None:
    """Every locked distribution is installed at its pinned version (make install put it
    there), and what it requires unconditionally is locked too (--no-deps installs
    nothing else)."""
    pins = _lock()
    for name, (version, _) in pins.items():
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            pytest.fail(f"{name} is locked but not installed: make install")
        assert Version(installed) == Version(version), (
            f"{name} {installed} is installed but requirements.lock pins {version}: "
            "make install, or make lock after an upgrade"
        )
        for text in md.requires(name) or []:
            sub = Requirement(text)
            if sub.marker is None or sub.marker.evaluate({"extra": ""}):
                assert canonicalize_name(sub.name) in pins, (
                    f"{name} requires {sub}, which requirements.lock does not pin"
                )


def test_make_install_checks_hashes_and_installs_nothing_outside_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes" in recipe
    assert "--only-binary :all:" in recipe
    assert "--no-deps -r requirements.lock" in recipe
    assert "--no-deps --no-build-isolation -e ." in recipe
    assert "pip check" in recipe
    assert "constraints.txt" not in makefile


def _readme_table() -> dict[NormalizedName, str]:
    """The README's '## Dependencies' table as {package: why}, pip packages only (a row
    such as 'chromium (Debian package, not pip)' is left out)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Dependencies\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[NormalizedName, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2 or set(cells[0]) <= {"-"}:
            continue
        if cells[0] == "package" or "not pip" in cells[0]:
            continue
        for item in re.sub(r"\([^)]*\)", "", cells[0]).split(","):
            name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", item.strip().strip("`"))
            assert name, f"README dependency table: no package name in {item!r}"
            rows[canonicalize_name(name.group(0))] = cells[1]
    return rows


def test_readme_gives_every_dependency_a_reason() -> None:
    rows = _readme_table()
    missing = [
        f"{req.name} ({where})"
        for where, requirements in _declared().items()
        for req in requirements
        if not rows.get(canonicalize_name(req.name))
    ]
    assert not missing, f"README.md '## Dependencies' has no row saying why: {missing}"
    # No stale rows: every package named is declared or locked.
    known = set(_lock()) | {canonicalize_name(r.name) for rs in _declared().values() for r in rs}
    stale = [name for name in rows if name not in known]
    assert not stale, f"README.md names packages that are neither declared nor locked: {stale}"


def test_sbom_of_the_environment_names_genesis_lab_and_the_pinned_versions(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sbom.cdx.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cyclonedx_py",
            "environment",
            "--pyproject",
            str(ROOT / "pyproject.toml"),
            "--mc-type",
            "application",
            "--output-reproducible",
            "--of",
            "JSON",
            "--no-validate",
            "-o",
            str(out),
            sys.executable,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sbom = json.loads(out.read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX"
    assert Version(sbom["specVersion"]) >= Version("1.5")
    root = sbom["metadata"]["component"]
    project = _pyproject()["project"]
    assert (root["name"], root["version"], root["type"]) == (
        project["name"],
        project["version"],
        "application",
    )

    components = {canonicalize_name(c["name"]): c for c in sbom["components"]}
    assert canonicalize_name(project["name"]) not in components  # the root, not a component
    pins = _lock()
    for text in ("torch", "botorch", "paho-mqtt", "cryptography", "cyclonedx-bom"):
        key = canonicalize_name(text)
        assert components[key]["version"] == pins[key][0], text
    for name, (version, _) in pins.items():
        component = components.get(name)
        assert component is not None, f"{name} is locked but not in the SBOM"
        assert Version(component["version"]) == Version(version), name
        purl = re.fullmatch(r"pkg:pypi/(?P<name>[^@]+)@(?P<version>.+)", component["purl"])
        assert purl and canonicalize_name(purl["name"]) == name, component["purl"]

    # The dependency graph starts at genesis-lab's own runtime requirements.
    graph = {entry["ref"]: entry.get("dependsOn", []) for entry in sbom["dependencies"]}
    direct = {canonicalize_name(ref.split("==")[0]) for ref in graph[root["bom-ref"]]}
    for req in _declared()["dependencies"]:
        assert canonicalize_name(req.name) in direct, req.name


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("botorch, gpytorch, torch (2.13.0 CPU)", ["botorch", "gpytorch", "torch"]),
        ("paho-mqtt 2", ["paho-mqtt"]),
        ("`types-PyYAML`", ["types-pyyaml"]),
        ("chromium (Debian package, not pip)", []),
    ],
)
def test_readme_table_reader_takes_the_package_names(
    cell: str, names: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "README.md").write_text(
        "# x\n\n## Dependencies\n\n| package | why |\n|---|---|\n"
        f"| {cell} | a reason |\n\n## Next\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert sorted(_readme_table()) == sorted(names)
