"""Campaign files: valid ones load, bad ones name the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesis_lab.errors import CampaignFileError
from genesis_lab.spec import load_campaign, parse_broker_url, parse_campaign

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
name: demo
parameters:
  - name: cyan
    device: pump_cyan
    bounds: [0, 10]
    units: mL
objective:
  name: colour_error
  direction: minimize
  reading: spectro_colour_error
budget: 12
initial_design: 4
seed: 3
station:
  plugin: colour-bench
"""


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(CampaignFileError) as info:
        parse_campaign(text, "c.yaml")
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_shipped_campaigns_load() -> None:
    files = sorted((REPO / "campaigns").glob("*.yaml"))
    assert files, "campaigns/ holds no campaign file"
    for path in files:
        campaign = load_campaign(path)
        assert campaign.spec.budget >= campaign.spec.initial_design


def test_good_file_loads_with_defaults() -> None:
    spec = parse_campaign(GOOD).spec
    assert spec.parameters[0].actuator == "pump_cyan"
    assert spec.parameters[0].bounds == (0.0, 10.0)
    assert spec.broker == "embedded"
    assert spec.station.station_id == "colour-bench"
    assert spec.seed == 3


def test_misspelt_key_names_key_line_and_suggestion() -> None:
    text = GOOD.replace("    bounds: [0, 10]", "    bouns: [0, 10]")
    problems = _problems(text)
    assert (5, "parameters.0.bouns", "unknown field (did you mean 'bounds'?)") in problems
    assert any(field == "parameters.0.bounds" and "missing" in msg for _, field, msg in problems)


def test_misspelt_top_level_key() -> None:
    problems = _problems(GOOD.replace("budget: 12", "budgett: 12"))
    lines = {field: line for line, field, _ in problems}
    assert lines["budgett"] == 11


def test_wrong_type_names_field_and_line() -> None:
    problems = _problems(GOOD.replace("budget: 12", "budget: twelve"))
    assert problems[0][:2] == (11, "budget")
    assert "integer" in problems[0][2]


def test_reversed_bounds_are_refused() -> None:
    problems = _problems(GOOD.replace("[0, 10]", "[10, 0]"))
    assert problems[0][:2] == (5, "parameters.0.bounds")
    assert "lower bound must be below upper bound" in problems[0][2]


def test_initial_design_beyond_budget() -> None:
    problems = _problems(GOOD.replace("initial_design: 4", "initial_design: 40"))
    assert problems[0][:2] == (12, "initial_design")


def test_duplicate_key_and_bad_yaml() -> None:
    problems = _problems(GOOD + "seed: 4\n")
    assert problems[0][0] == 16 and "given twice" in problems[0][2]
    problems = _problems("name: [unclosed\n")
    assert "not valid YAML" in problems[0][2]


def test_duplicate_parameter_names() -> None:
    text = GOOD.replace(
        "objective:", "  - name: cyan\n    bounds: [0, 1]\n    units: mL\nobjective:"
    )
    problems = _problems(text)
    assert problems[0][1] == "parameters" and "used twice" in problems[0][2]


def test_missing_file_is_a_campaign_file_error(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match="cannot read file"):
        load_campaign(tmp_path / "nope.yaml")


def test_error_is_a_value_error_with_path_and_line() -> None:
    with pytest.raises(ValueError, match=r"c\.yaml:11: budget"):
        parse_campaign(GOOD.replace("budget: 12", "budget: -1"), "c.yaml")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", ("127.0.0.1", 1883)),
        ("mqtt://broker.lab:8883/", ("broker.lab", 8883)),
    ],
)
def test_broker_urls(url: str, expected: tuple[str, int]) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize("url", ["mqtt://host", "http://h:1", "mqtt://h:0", "mqtt://h:70000"])
def test_bad_broker_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_broker_url(url)


# --- parameter types -------------------------------------------------------------------------

TYPED = """\
name: typed
parameters:
  - name: volume
    bounds: [0, 10]
    units: mL
  - name: rate
    type: continuous
    scale: log
    bounds: [0.01, 100]
    units: mL/min
  - name: cycles
    type: integer
    bounds: [1, 6]
    units: cycles
  - name: temperature
    type: discrete
    bounds: [20, 80]
    step: 7.5
    units: degC
  - name: solvent
    type: categorical
    choices: [water, ethanol, dmso]
  - name: buffer
    type: fixed
    value: PBS
  - name: ph
    type: fixed
    value: 7.4
    units: pH
objective:
  name: score
  direction: maximize
  reading: det_score
budget: 12
station:
  plugin: colour-bench
"""


def test_every_parameter_type_validates() -> None:
    from genesis_lab.spec import (
        CategoricalParameter,
        ContinuousParameter,
        DiscreteParameter,
        FixedParameter,
        IntegerParameter,
    )

    volume, rate, cycles, temperature, solvent, buffer, ph = parse_campaign(TYPED).spec.parameters
    assert isinstance(volume, ContinuousParameter) and volume.scale == "linear"
    assert isinstance(rate, ContinuousParameter) and rate.scale == "log"
    assert isinstance(cycles, IntegerParameter) and cycles.bounds == (1, 6)
    assert isinstance(temperature, DiscreteParameter)
    assert temperature.values == (20.0, 27.5, 35.0, 42.5, 50.0, 57.5, 65.0, 72.5, 80.0)
    assert isinstance(solvent, CategoricalParameter) and solvent.choices[1] == "ethanol"
    assert isinstance(buffer, FixedParameter) and buffer.value == "PBS"
    assert isinstance(ph, FixedParameter) and ph.value == 7.4 and ph.actuator == "ph"


def test_typed_spec_survives_a_dump_and_reload() -> None:
    from genesis_lab.spec import CampaignSpec

    spec = parse_campaign(TYPED).spec
    assert CampaignSpec.model_validate(spec.model_dump()) == spec
    assert CampaignSpec.model_validate_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "says"),
    [
        ("    bounds: [0.01, 100]", "    bounds: [0, 100]", 9, "parameters.1.bounds", "above zero"),
        ("    bounds: [1, 6]", "    bounds: [1, 6.5]", 13, "parameters.2.bounds.1", "integer"),
        ("    step: 7.5", "    step: 7", 18, "parameters.3.step", "whole number of steps"),
        ("    step: 7.5", "", 15, "parameters.3.step", "missing"),
        ("    step: 7.5", "    step: 0", 18, "parameters.3.step", "greater than 0"),
        ("choices: [water, ethanol, dmso]", "choices: [water]", 22, "parameters.4.choices", "2"),
        (
            "choices: [water, ethanol, dmso]",
            "choices: [a, a]",
            22,
            "parameters.4.choices",
            "unique",
        ),
        ("    type: integer", "    type: whole", 12, "parameters.2.type", "unknown parameter type"),
        (
            "    value: 7.4\n    units: pH",
            "    value: 7.4",
            26,
            "parameters.6.units",
            "needs units",
        ),
        ("    value: PBS", "    value: [PBS]", 25, "parameters.5.value", "number or a string"),
        ("    value: PBS", "    value: true", 25, "parameters.5.value", "number or a string"),
    ],
)
def test_bad_typed_parameters_name_field_and_line(
    old: str, new: str, line: int, field: str, says: str
) -> None:
    assert old in TYPED
    problems = _problems(TYPED.replace(old, new))
    matching = [p for p in problems if p[1] == field]
    assert matching, problems
    assert matching[0][0] == line
    assert says in matching[0][2]


def test_misspelt_key_of_a_typed_parameter_names_key_and_line() -> None:
    problems = _problems(TYPED.replace("    choices:", "    choises:"))
    assert any(
        (line, field) == (22, "parameters.4.choises") and "unknown field" in message
        for line, field, message in problems
    )


def test_misspelt_key_of_another_parameter_type_gets_that_types_suggestion() -> None:
    text = GOOD.replace(
        "objective:",
        "  - name: solvent\n    type: categorical\n    choises: [water, ethanol]\nobjective:",
    )
    problems = _problems(text)
    assert (9, "parameters.1.choises", "unknown field (did you mean 'choices'?)") in problems


# --- linear constraints --------------------------------------------------------------------

CONSTRAINED = GOOD.replace(
    "objective:\n",
    "  - name: magenta\n    bounds: [0, 10]\n    units: mL\n"
    "  - name: stages\n    type: integer\n    bounds: [1, 4]\n    units: cycles\n"
    "constraints:\n  - cyan + magenta <= 12\nobjective:\n",
)


def test_capped_colour_campaign_loads_with_its_constraint() -> None:
    spec = load_campaign(REPO / "campaigns" / "colour_mixing_capped.yaml").spec
    assert spec.name == "colour-mixing-capped"
    assert spec.budget == 20
    (cap,) = spec.linear_constraints
    assert cap.coefficients == {"cyan": 1.0, "magenta": 1.0, "yellow": 1.0}
    assert (cap.relation, cap.rhs) == ("<=", 12.0)
    assert cap.rhs >= 3.2 + 6.1 + 1.5  # the known optimum is feasible


def test_constraints_default_to_none() -> None:
    assert parse_campaign(GOOD).spec.constraints == []
    assert parse_campaign(CONSTRAINED).spec.linear_constraints[0].rhs == 12.0


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("cyan + stages <= 3", "constraint 0: 'stages' is an integer parameter; only continuous"),
        ("cyan + teal <= 3", "unknown parameter 'teal'; the campaign has ['cyan', 'magenta'"),
        ("cyan + magenta <= -1", "no point within the bounds satisfies"),
        ("cyan magenta <= 1", "cannot read 'magenta'"),
        ("cyan = 1", "exactly one relation"),
    ],
)
def test_bad_constraints_name_the_field_and_line(constraint: str, message: str) -> None:
    problems = _problems(CONSTRAINED.replace("cyan + magenta <= 12", constraint))
    assert len(problems) == 1
    line, field, text = problems[0]
    assert (line, field) == (15, "constraints.0")  # the item's own line
    assert message in text


# --- several objectives and outcome constraints -----------------------------------------------

TWO_OBJECTIVES = GOOD.replace(
    """objective:
  name: colour_error
  direction: minimize
  reading: spectro_colour_error
""",
    """objectives:
  - name: colour_error
    direction: minimize
    reading: spectro_colour_error
    reference: 40
  - name: dye_cost
    direction: minimize
    reading: meter_cost
outcome_constraints:
  - name: clarity
    reading: spectro_transmittance
    min: 0.2
    units: "%"
""",
)


def test_several_objectives_and_an_outcome_constraint_load() -> None:
    spec = parse_campaign(TWO_OBJECTIVES).spec
    assert [o.name for o in spec.all_objectives] == ["colour_error", "dye_cost"]
    assert spec.primary_objective.name == "colour_error"
    assert spec.pareto and spec.multi_objective.method == "pareto"
    assert spec.all_objectives[0].reference == 40.0
    assert spec.outcome_constraints[0].describe() == "clarity >= 0.2"
    assert spec.readings == {
        "colour_error": "spectro_colour_error",
        "dye_cost": "meter_cost",
        "clarity": "spectro_transmittance",
    }
    reloaded = parse_campaign(TWO_OBJECTIVES).spec.model_validate(spec.model_dump(mode="json"))
    assert reloaded == spec


def test_one_objective_is_still_given_as_objective() -> None:
    spec = parse_campaign(GOOD).spec
    assert spec.all_objectives == (spec.objective,)
    assert not spec.pareto and spec.outcome_constraints == []


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            (
                "objectives:",
                "objective:\n  name: a\n  direction: maximize\n  reading: r\nobjectives:",
            ),
            "",
            "not both",
        ),
        (("    min: 0.2\n", ""), "outcome_constraints.0", "needs 'min', 'max' or both"),
        (
            ("    min: 0.2\n", "    min: 0.2\n    max: 0.1\n"),
            "outcome_constraints.0",
            "min 0.2 > max 0.1",
        ),
        (("  - name: clarity", "  - name: dye_cost"), "", "used twice: ['dye_cost']"),
        (
            ("station:", "stopping:\n  target: 1.0\nstation:"),
            "",
            "stopping.target compares one objective",
        ),
        (
            ("    reading: meter_cost\n", "    reading: meter_cost\n    weight: 0\n"),
            "objectives.1.weight",
            "greater than 0",
        ),
    ],
)
def test_bad_objectives_and_outcome_constraints_are_explained(
    edit: tuple[str, str], field: str, message: str
) -> None:
    problems = _problems(TWO_OBJECTIVES.replace(*edit))
    assert any(f == field and message in m for _, f, m in problems), problems


def test_neither_objective_nor_objectives_is_refused() -> None:
    text = GOOD.split("objective:")[0] + "budget: 12\nstation:\n  plugin: colour-bench\n"
    problems = _problems(text)
    assert any("the campaign has no objective" in m for _, _, m in problems), problems
