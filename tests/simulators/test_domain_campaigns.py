"""Each simulated laboratory's campaign runs end to end with 'genesis-lab run', and its
planner does better than random search, on any machine.

Two claims, tested apart:

- **It runs.** The campaign runs as an operator would run it (embedded broker, local
  worker, the campaign's own seed) for a few experiments past its initial design: every
  trial ends, the model proposes, every outcome is the station's measurement, and the
  record verifies.
- **It beats random search.** The planner's numbers depend on the processor (BLAS and
  vectorised kernels round differently on different instruction sets, and a Bayesian
  optimisation run turns a last-bit difference into another trajectory), so no single run
  is compared with a bar. The planner runs offline on the same model (the same planner
  the CLI builds) over ``PLANNER_SEEDS``, random search over ``RANDOM_SEEDS``, both with
  the domain's test budget, both scored on the model's noise-free readings at the points
  they tried (the best feasible objective, or the hypervolume with several objectives);
  the planner's median must clear random's median by the domain's margin. The margins
  hold for the distribution of planner scores measured over seeds and over the numerical
  paths of other processors (``benchmarks/domain_planner_vs_random.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.planning import BayesianPlanner, Planner, RandomPlanner
from genesis_lab.spec import CampaignSpec, load_campaign
from genesis_lab.store import CampaignRecord, TrialState
from genesis_lab_simulators._domain import (
    campaign_model,
    campaign_score,
    noise_free_outcomes,
    run_offline_campaign,
)

REPO = Path(__file__).resolve().parents[2]
#: Random search is cheap (milliseconds a run): enough seeds for a steady median. Over the
#: first five seeds alone it strayed by up to 40 % from the median of a hundred.
RANDOM_SEEDS = range(25)
#: The planner's seeds: its median over these is what must clear the bar.
PLANNER_SEEDS = (0, 1, 2)
#: Experiments past the initial design in the end-to-end run: enough for the model to
#: propose, few enough to keep the suite quick (the comparison is offline).
MODEL_STEPS_END_TO_END = 2


class Bar(NamedTuple):
    """What the planner must clear: a median score, over ``PLANNER_SEEDS``, above
    ``median + margin * |median|`` of random search's scores over ``RANDOM_SEEDS``, both
    given ``budget`` experiments. ``margin`` None: not claimed (see the table)."""

    budget: int
    margin: float | None


# Measured on 2026-12-04 by benchmarks/domain_planner_vs_random.py --seeds 0-3 (planner
# seeds 0-3, each on three numerical paths: this machine's, MKL's and PyTorch's generic
# code, and their AVX2 code, standing in for other processors; random search over seeds
# 0-99, scored as here). Relative to random's median over seeds 0-24: the planner's median
# over seeds 0-2 on each path, how many of the 12 planner runs and of 75 held-out random
# runs (seeds 25-99) clear the bar. A planner run sometimes sticks near random's median (a
# seed's design and noise decide it more than the path: ree seed 2 on two paths of three);
# the median of three seeds stays clear of the bar on every path measured.
#   campaign    budget  random median  margin  median of 3 (native/generic/avx2)  planner  random
#   cvd         25      -2.810 %       0.18    +0.37 / +0.27 / +0.38               11/12    23/75
#   lpbf        20      211.3          0.15    +0.28 / +0.24 / +0.29               11/12     7/75
#   penicillin  22      226,400        0.15    +0.25 / +0.26 / +0.22               12/12    22/75
#   qubit       20      0.8762         none    -0.06 / +0.02 / +0.06  3 of 12 below its median
#   ree         25      123.4          2.0     +3.0  / +3.9  / +3.0                10/12    13/75
#   snar        15      231,200        0.7     +1.00 / +1.01 / +1.03               12/12     4/75
#   uo2         15      -15.43 um      0.4     +0.64 / +0.69 / +0.64                9/12    13/75
# qubit: the planner does not beat random search reliably on the qubit laboratory (binomial
# shot noise; one seed stays at 0.65 even with 30 experiments), so no bar is claimed for it
# until the planner is improved there (issue 22); its campaign still runs end to end here.
DOMAINS: dict[str, Bar] = {
    "cvd_uniformity.yaml": Bar(budget=25, margin=0.18),
    "lpbf_density.yaml": Bar(budget=20, margin=0.15),
    "penicillin.yaml": Bar(budget=22, margin=0.15),
    "qubit_calibration.yaml": Bar(budget=20, margin=None),
    "ree_separation.yaml": Bar(budget=25, margin=2.0),
    "snar_flow.yaml": Bar(budget=15, margin=0.7),
    "uo2_sintering.yaml": Bar(budget=15, margin=0.4),
}
CLAIMED = sorted(c for c, bar in DOMAINS.items() if bar.margin is not None)


def _spec(campaign: str, budget: int) -> CampaignSpec:
    return load_campaign(REPO / "campaigns" / campaign).spec.model_copy(update={"budget": budget})


def median_score(spec: CampaignSpec, kind: type[BayesianPlanner | RandomPlanner], seeds) -> float:
    """The median, over ``seeds``, of an offline campaign's score with a planner of ``kind``
    (seeded with the seed; the measurement noise too)."""
    model = campaign_model(spec)
    scores = []
    for seed in seeds:
        seeded = spec.model_copy(update={"seed": seed})
        planner: Planner = kind.from_spec(seeded)
        trials = run_offline_campaign(model, seeded, planner, seed)
        scores.append(campaign_score(spec, [t.truth for t in trials]))
    return float(np.median(scores))


@pytest.mark.slow
@pytest.mark.parametrize("campaign", sorted(DOMAINS))
def test_campaign_runs_end_to_end(campaign: str, tmp_path: Path) -> None:
    spec = load_campaign(REPO / "campaigns" / campaign).spec
    budget = spec.initial_design + MODEL_STEPS_END_TO_END
    record_path = tmp_path / "record.sqlite"
    args = ["run", str(REPO / "campaigns" / campaign), "--budget", str(budget)]
    result = CliRunner().invoke(app, [*args, "--record", str(record_path)])
    assert result.exit_code == 0, result.output
    with CampaignRecord(record_path, read_only=True) as record:
        [row] = record.campaigns()
        trials = record.trials(row.campaign_id)
    assert row.status == "completed", row.stop_reason
    assert len(trials) == budget
    assert {t.state for t in trials} <= {TrialState.COMPLETED, TrialState.FAILED}
    assert "model" in [t.origin for t in trials[spec.initial_design :]]
    model = campaign_model(spec)
    for trial in trials:
        # A trial fails exactly where the model has no reading (its failure region).
        truth = noise_free_outcomes(model, spec, trial.parameters)
        assert (trial.state is TrialState.FAILED) == (truth is None), trial
        if trial.state is TrialState.COMPLETED:
            assert trial.outcomes is not None and set(trial.outcomes) == set(spec.readings)
            assert all(np.isfinite(v) for v in trial.outcomes.values())
    verified = CliRunner().invoke(app, ["verify", str(record_path)])
    assert verified.exit_code == 0, verified.output


@pytest.mark.slow
# A guard against a hang, not a speed bar: penicillin takes 130 s alone here and over 300 s
# beside three other test workers (three objectives, a hypervolume per proposal).
@pytest.mark.timeout(900)
@pytest.mark.parametrize("campaign", CLAIMED)
def test_planner_beats_random_search(campaign: str) -> None:
    budget, margin = DOMAINS[campaign]
    assert margin is not None
    spec = _spec(campaign, budget)
    ours = median_score(spec, BayesianPlanner, PLANNER_SEEDS)
    theirs = median_score(spec, RandomPlanner, RANDOM_SEEDS)
    bar = theirs + margin * abs(theirs)
    assert ours > bar, (
        f"{campaign}: the planner's median score over seeds {PLANNER_SEEDS} is {ours:.4g} in "
        f"{budget} experiments, random search's median over {len(RANDOM_SEEDS)} seeds "
        f"{theirs:.4g}; it must beat {bar:.4g} (random's median + {margin} x |median|)"
    )
