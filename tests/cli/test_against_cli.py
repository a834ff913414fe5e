"""'genesis-lab replay RECORD --against SIMULATOR' as a reviewer meets it: a real campaign
recorded by 'genesis-lab run', re-run on a simulator, compared trial by trial."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.cli._against import replay_against
from genesis_lab.review import default_replay_path
from genesis_lab.store import CampaignRecord, TrialRow, TrialState

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
BUDGET = 7

cli = CliRunner()


class Recorded:
    """The record of a small campaign with two prior results, on a bench where too much
    dye precipitates (so some experiments fail)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with CampaignRecord(path, read_only=True) as record:
            [self.campaign] = record.campaigns()
            self.trials = record.trials(self.campaign.campaign_id)
        self.digest = hashlib.sha256(path.read_bytes()).hexdigest()

    @property
    def experiments(self) -> list[TrialRow]:
        return [t for t in self.trials if t.origin != "prior"]

    def unchanged(self) -> bool:
        return hashlib.sha256(self.path.read_bytes()).hexdigest() == self.digest


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    where = tmp_path_factory.mktemp("recorded")
    campaign = where / "precipitate.yaml"
    text = (REPO / "campaigns" / "colour_mixing_precipitate.yaml").read_text()
    # Five Sobol points (with the two prior results), then two model proposals, cheaply.
    text = text.replace("initial_design: 8", "initial_design: 7")
    campaign.write_text(text + "planner: {num_restarts: 2, raw_samples: 32}\n")
    prior = where / "earlier.csv"
    prior.write_text("cyan,magenta,yellow,colour_error\n3,6,1,4.5\n2,2,2,60\n")
    path = where / "run.sqlite"
    options = ["--budget", str(BUDGET), "--record", str(path), "--prior", str(prior)]
    result = cli.invoke(app, ["run", str(campaign), *options])
    assert result.exit_code == 0, result.output
    found = Recorded(path)
    assert len(found.experiments) == BUDGET and len(found.trials) == BUDGET + 2
    assert any(t.state is TrialState.FAILED for t in found.trials)
    yield found


def _run(recorded: Recorded, simulator: str = "colour-bench", **kwargs: object) -> int:
    arguments: dict[str, object] = dict(
        campaign_id=None, closed_loop=False, out=None, as_json=False, verbose=False
    )
    arguments.update(kwargs)
    return replay_against(recorded.path, simulator, **arguments)  # type: ignore[arg-type]


def test_replaying_on_the_same_simulator_reruns_every_experiment_alike(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same plugin, so the recorded options (noise seed, failure region): the same
    parameters in the same order, the same states, the same values; priors not re-run."""
    assert _run(recorded) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "7 recorded experiments in order; 2 prior results told as recorded" in shown
    assert f"state mismatches: 0 of {BUDGET}" in shown
    assert "t0003 completed" in shown or "t0003 failed" in shown  # the progress lines
    target = default_replay_path(recorded.path, "colour-bench", closed_loop=False)
    assert target.name == "run.replay-colour-bench.sqlite" and str(target) in shown
    with CampaignRecord(target, read_only=True) as record:
        [campaign] = record.campaigns()
        replayed = record.trials(campaign.campaign_id)
    assert [(t.trial_id, t.parameters, t.state) for t in replayed] == [
        (t.trial_id, t.parameters, t.state) for t in recorded.trials
    ]
    assert [t.origin for t in replayed] == ["prior"] * 2 + ["replay"] * BUDGET
    assert [t.outcomes for t in replayed] == [t.outcomes for t in recorded.trials]
    assert "replay of campaign" in campaign.spec_text  # says what it is
    assert recorded.unchanged()
    assert cli.invoke(app, ["show", str(target)]).exit_code == 0


def test_other_station_options_show_as_differences_and_state_mismatches(
    recorded: Recorded, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Another noise seed and no failure region, as JSON: every recorded failure completes
    now, and the values differ by the noise only."""
    out = tmp_path / "other.sqlite"
    code = _run(recorded, as_json=True, out=out, options=["seed=3", "precipitate_above_ml=null"])
    assert code == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # nothing but the JSON on stdout
    assert "experiments" in captured.err  # the progress went to stderr
    assert report["mode"] == "recorded-experiments" and report["prior_results"] == 2
    assert report["simulated"]["station"]["options"]["seed"] == 3
    assert report["simulated"]["record"] == str(out)
    trials = report["trials"]
    assert [t["recorded"]["trial_id"] for t in trials] == [t.trial_id for t in recorded.experiments]
    assert all(t["same_parameters"] for t in trials)
    failed = [t.trial_id for t in recorded.experiments if t.state is TrialState.FAILED]
    mismatched = [t["recorded"]["trial_id"] for t in trials if t["state_mismatch"]]
    assert mismatched == failed and report["state_mismatches"] == len(failed)
    assert all(t["simulated"]["state"] == "COMPLETED" for t in trials)
    [stats] = report["statistics"]
    assert stats["name"] == "colour_error" and stats["pairs"] == BUDGET - len(failed)
    assert 0 < stats["max_abs_difference"] < 2.0  # absorbance noise of 0.002 AU
    assert stats["pearson_r"] > 0.99
    assert recorded.unchanged()


def test_closed_loop_runs_the_planner_afresh_with_the_same_budget(
    recorded: Recorded, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "closed.sqlite"
    assert _run(recorded, closed_loop=True, as_json=True, out=out) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "closed-loop"
    assert sum(report["simulated"]["states"].values()) == BUDGET + 2  # and the 2 priors
    with CampaignRecord(out, read_only=True) as record:
        [campaign] = record.campaigns()
        assert campaign.spec["budget"] == recorded.campaign.spec["budget"] == BUDGET
        origins = [t.origin for t in record.trials(campaign.campaign_id)]
    assert origins == [t.origin for t in recorded.trials] and "model" in origins
    # Same spec, seed and station options: the initial design is the recorded one.
    design = [t for t in report["trials"] if t["recorded"]["origin"] == "sobol"]
    assert design and all(t["same_parameters"] for t in design)
    assert report["simulated"]["best"] is not None


@pytest.mark.parametrize(
    ("simulator", "kwargs", "message"),
    [
        ("qubit-lab", {}, "station 'qubit-lab' does not fit campaign"),
        ("qubit-lab", {}, "unknown device 'pump_cyan'"),
        ("nope", {}, "no station plugin named 'nope' is installed"),
        ("colour-bench", {"campaign_id": "other-1"}, "no campaign 'other-1'"),
        ("colour-bench", {"options": ["noise_std"]}, "--option 'noise_std': expected KEY=VALUE"),
        ("colour-bench", {"options": ["lamp=2"]}, "station.options.lamp: unknown option"),
    ],
)
def test_what_cannot_be_replayed_exits_2_saying_why(
    recorded: Recorded,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    simulator: str,
    kwargs: dict[str, object],
    message: str,
) -> None:
    out = tmp_path / "never.sqlite"
    assert _run(recorded, simulator, out=out, **kwargs) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not out.exists() and recorded.unchanged()


def test_a_missing_record_or_the_record_as_output_exits_2(
    recorded: Recorded, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none.sqlite"
    assert (
        replay_against(
            missing,
            "colour-bench",
            campaign_id=None,
            closed_loop=False,
            out=None,
            as_json=False,
            verbose=False,
        )
        == 2
    )
    assert "no record" in capsys.readouterr().err
    assert _run(recorded, out=recorded.path.parent / "." / recorded.path.name) == 2
    assert "a replay never writes it" in capsys.readouterr().err
    assert recorded.unchanged()


def test_genesis_lab_replay_against_runs_it_and_passes_its_exit_code(
    recorded: Recorded, tmp_path: Path
) -> None:
    """Through 'genesis-lab replay': --against re-runs the experiments (a replay record,
    whose decisions are not the planner's, cannot itself be decision-replayed); the
    --against options alone are refused; a station that does not fit exits 2."""
    out = tmp_path / "again.sqlite"
    ran = cli.invoke(
        app, ["replay", str(recorded.path), "--against", "colour-bench", "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    assert f"state mismatches: 0 of {BUDGET}" in " ".join(ran.output.split())
    again = cli.invoke(app, ["replay", str(out)])
    assert again.exit_code == 2 and "this record is a replay against a simulator" in again.output
    alone = cli.invoke(app, ["replay", str(recorded.path), "--closed-loop"])
    assert alone.exit_code == 2 and "go with --against SIMULATOR" in alone.output
    result = cli.invoke(app, ["replay", str(recorded.path), "--against", "qubit-lab"])
    assert result.exit_code == 2 and "does not fit" in result.output
    assert recorded.unchanged()


def test_max_difference_passes_a_replay_within_it_and_exits_3_naming_what_exceeds_it(
    recorded: Recorded, tmp_path: Path
) -> None:
    """--max-difference is the largest absolute difference per trial, in the objective's
    units: the same options reproduce every value exactly (0 passes); another noise seed
    differs, and each trial over the limit is named (stderr and JSON), exit 3."""
    same = cli.invoke(
        app,
        [
            *("replay", str(recorded.path), "--against", "colour-bench"),
            *("--out", str(tmp_path / "same.sqlite"), "--max-difference", "0"),
        ],
    )
    assert same.exit_code == 0, same.output
    assert "over --max-difference" not in same.output
    other = [
        *("replay", str(recorded.path), "--against", "colour-bench", "--json"),
        *("-o", "seed=3", "--out", str(tmp_path / "other.sqlite")),
    ]
    unlimited = cli.invoke(app, [*other, "--max-difference", "colour_error=100"])
    assert unlimited.exit_code == 0, unlimited.output
    diffs = {
        t["recorded"]["trial_id"]: t["differences"]["colour_error"]
        for t in json.loads(unlimited.stdout)["trials"]
        if t["differences"]["colour_error"] is not None
    }
    assert len(diffs) >= 3 and all(0 < abs(d) < 100 for d in diffs.values())
    limit = sorted(abs(d) for d in diffs.values())[len(diffs) // 2]  # the median: some pass
    over = sorted(t for t, d in diffs.items() if abs(d) > limit)
    assert 0 < len(over) < len(diffs)
    result = cli.invoke(app, [*other, "--max-difference", f"colour_error={limit!r}"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["max_difference"] == {"colour_error": limit}
    assert [e["trial_id"] for e in report["exceeding"]] == over
    assert all(abs(e["difference"]) > e["limit"] == limit for e in report["exceeding"])
    named = [line for line in result.stderr.splitlines() if "over --max-difference" in line]
    assert [line.split("(trial ")[1].split(")")[0] for line in named] == over
    assert all("colour_error: recorded" in line for line in named)
    assert recorded.unchanged()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (["-1"], "X a number >= 0, got '-1'"),
        (["colour_error=lots"], "X a number >= 0, got 'colour_error=lots'"),
        (["hue=1"], "the campaign measures no 'hue'; its objectives and outcome constraints"),
        (["1", "2"], "--max-difference X is given twice"),
    ],
)
def test_a_bad_max_difference_exits_2_before_anything_runs(
    recorded: Recorded, tmp_path: Path, limits: list[str], message: str
) -> None:
    out = tmp_path / "never.sqlite"
    options = [arg for limit in limits for arg in ("--max-difference", limit)]
    arguments = ["replay", str(recorded.path), "--against", "colour-bench", "--out", str(out)]
    result = cli.invoke(app, [*arguments, *options])
    assert result.exit_code == 2 and message in " ".join(result.output.split())
    assert not out.exists() and recorded.unchanged()
    alone = cli.invoke(app, ["replay", str(recorded.path), "--max-difference", "1"])
    assert alone.exit_code == 2 and "go with --against SIMULATOR" in alone.output
