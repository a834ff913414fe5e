"""A campaign with fault injection at 20 % per pump move completes its budget through the
CLI (embedded broker, local worker): every failure is recorded with its reason, none is
lost, and the worker keeps serving after each."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app

FAULTY = Path(__file__).resolve().parents[2] / "campaigns" / "colour_mixing_faulty.yaml"

#: What the worker reports for each injected fault.
REASONS = {
    "set_error": re.compile(r"controller refused the command \(injected fault\)"),
    "never_complete": re.compile(r"a move did not finish in time"),
    "stuck_or_drift": re.compile(r"reads back .* the axis is stuck or drifting"),
    "lamp": re.compile(r"lamp fault \(injected\)"),
}


@pytest.mark.slow
def test_a_faulty_bench_spends_its_whole_budget_and_records_every_failure(
    tmp_path: Path,
) -> None:
    cli = CliRunner()
    record = tmp_path / "faulty.sqlite"
    budget = 16
    result = cli.invoke(app, ["run", str(FAULTY), "--budget", str(budget), "--record", str(record)])
    assert result.exit_code == 0, result.output
    assert f"budget of {budget} experiments spent" in result.output
    data = json.loads(cli.invoke(app, ["show", str(record), "--json"]).output)
    trials = data["trials"]
    states = Counter(t["state"] for t in trials)
    assert sum(states.values()) == budget == len(trials)
    assert set(states) <= {"COMPLETED", "FAILED"}, states
    failed = [t for t in trials if t["state"] == "FAILED"]
    assert len(failed) >= 3, states  # about half the experiments move a faulty pump
    assert states["COMPLETED"] >= 3, states
    kinds = Counter()
    for trial in failed:
        matched = [kind for kind, pattern in REASONS.items() if pattern.search(trial["reason"])]
        assert len(matched) == 1, trial["reason"]
        kinds[matched[0]] += 1
    assert len(kinds) >= 3, kinds
    for trial in trials:
        if trial["state"] == "COMPLETED":
            assert trial["outcome"] is not None
