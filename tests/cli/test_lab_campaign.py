"""A campaign on a lab file's station runs end to end, and the loop is closed: the colour
the spectrophotometer measures is made by the volumes the lab's pumps dispensed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import genesis_lab_simulators.colour_bench as cb
from genesis_lab.cli import app
from genesis_lab.spec import load_lab
from genesis_lab.store import CampaignRecord, TrialState

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = Path("campaigns") / "colour_mixing_lab.yaml"
LAB = REPO / "labs" / "colour_lab.yaml"
BUDGET = 8
PARAMETERS = {"cyan": "pump_cyan", "magenta": "pump_magenta", "yellow": "pump_yellow"}


@pytest.mark.slow
def test_the_lab_campaign_measures_what_the_lab_pumps_dispensed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # as documented: run from the repository root
    station = load_lab(LAB).spec.station("colour-bench-a")
    limits = {d.name: d.envelope.limits for d in station.devices if d.envelope is not None}
    assert all(limits[p][1] < cb.VOLUME_LIMITS_ML[1] for p in PARAMETERS.values())  # tighter
    [spectro] = [d for d in station.devices if d.name == "spectro"]
    noise_std = float(spectro.settings["noise_std"])
    record_path = tmp_path / "r.sqlite"

    result = CliRunner().invoke(
        app, ["run", str(CAMPAIGN), "--budget", str(BUDGET), "--record", str(record_path)]
    )

    assert result.exit_code == 0, result.output
    assert cb.shared_cuvette("A") is None  # the station closed its devices
    with CampaignRecord(record_path, read_only=True) as record:
        [campaign] = record.campaigns()
        trials = record.trials(campaign.campaign_id)
        documents = record.documents(campaign.campaign_id)
    assert [t.state for t in trials] == [TrialState.COMPLETED] * BUDGET
    assert {t.origin for t in trials} == {"sobol", "model"}
    errors = []
    for trial in trials:
        docs = {d.name: d.doc for d in documents if d.trial_id == trial.trial_id}
        data = docs["event"]["data"]
        volumes = []
        for parameter, pump in PARAMETERS.items():
            low, high = limits[pump]
            value = trial.parameters[parameter]
            assert low <= value <= high, (trial.trial_id, parameter, value)  # the envelope
            assert docs["start"]["setpoints"][pump] == value
            assert data[pump] == pytest.approx(value, abs=1e-6)  # the pump read back
            assert low <= data[pump] <= high
            volumes.append(data[pump])
        # the spectrophotometer measured the cuvette those volumes make (noise 0.002 AU)
        measured = [data[f"spectro_absorbance_{band}"] for band in cb.BANDS_NM]
        model = cb.absorbances(volumes)
        assert np.allclose(measured, model, atol=6 * noise_std), (trial.trial_id, measured)
        assert data["spectro_colour_error"] == pytest.approx(cb.error_from_absorbances(measured))
        assert data["spectro_colour_error"] == trial.outcome
        assert math.isclose(
            trial.outcome, cb.colour_error(volumes), abs_tol=100 * 6 * noise_std * 2
        )
        errors.append(trial.outcome)
    # the colour depends on the dispensed volumes: the best is far better than the worst
    assert min(errors) < 0.5 * max(errors)
    assert max(errors) - min(errors) > 50 * 100 * noise_std
