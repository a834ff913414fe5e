"""One source for the names that cross the wire and for KEY=VALUE items (issue 16, item
8): a name that passes ``validate`` runs, and every command reads KEY=VALUE alike."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genesis_lab.cli import app
from genesis_lab.errors import CampaignFileError
from genesis_lab.ids import CAMPAIGN_NAME_MAX_LENGTH, ID_MAX_LENGTH, check_id
from genesis_lab.messages import check_topic_segment
from genesis_lab.orchestration import new_campaign_id
from genesis_lab.spec import parse_campaign, parse_key_values

CAMPAIGN = """\
name: {name}
parameters:
  - name: cyan
    device: pump_cyan
    bounds: [0, 10]
    units: mL
objective:
  name: colour_error
  direction: minimize
  reading: spectro_colour_error
budget: 4
initial_design: 2
station:
  plugin: colour-bench
  id: {station}
"""


def _problems(name: str, station: str = "bench") -> list[tuple[int | None, str, str]]:
    with pytest.raises(CampaignFileError) as info:
        parse_campaign(CAMPAIGN.format(name=name, station=station), "c.yaml")
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_a_campaign_name_too_long_for_its_ids_is_refused_at_its_line() -> None:
    """A 130-character name passed validate and then failed 'run' with a raw ValueError
    (its campaign id, NAME-1a2b3c4d, is longer than any id may be)."""
    [(line, field, message)] = _problems("c" * 130)
    assert (line, field) == (1, "name")
    assert message == (
        f"not a valid name: use 1 to {CAMPAIGN_NAME_MAX_LENGTH} letters, digits, '_', '.', "
        "'-', starting with a letter or digit (the campaign's ids add a suffix to it)"
    )


def test_the_longest_campaign_name_makes_ids_that_run_and_replay() -> None:
    name = "c" * CAMPAIGN_NAME_MAX_LENGTH
    spec = parse_campaign(CAMPAIGN.format(name=name, station="bench")).spec
    for campaign_id in (new_campaign_id(spec.name), new_campaign_id(f"{spec.name}-replay")):
        assert check_topic_segment(campaign_id, "campaign id") == campaign_id
    _problems("c" * (CAMPAIGN_NAME_MAX_LENGTH + 1))  # one more is refused


def test_a_station_id_is_an_id_in_files_and_on_the_wire() -> None:
    station = "s" * ID_MAX_LENGTH
    assert parse_campaign(CAMPAIGN.format(name="n", station=station)).spec.station.station_id
    assert check_id(station, "station id") == station
    [(line, field, message)] = _problems("n", "s" * (ID_MAX_LENGTH + 1))
    assert (line, field) == (15, "station.id") and f"use 1 to {ID_MAX_LENGTH} letters" in message
    with pytest.raises(ValueError, match=f"1 to {ID_MAX_LENGTH} letters"):
        check_id("s" * (ID_MAX_LENGTH + 1), "station id")


def test_key_values_keep_their_yaml_types() -> None:
    parsed = parse_key_values(["a=1", "b=0.5", "c=true", "d=[1, 2]", "e=", "f=x=y", " g =z"])
    assert parsed == {"a": 1, "b": 0.5, "c": True, "d": [1, 2], "e": "", "f": "x=y", "g": "z"}


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        (["novalue"], "expected KEY=VALUE"),
        (["=1"], "expected KEY=VALUE"),
        (["a=1", "a=2"], "'a' is given twice"),
        (["a=[1"], "not valid YAML"),
    ],
)
def test_bad_key_values_name_the_item(items: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        parse_key_values(items, "--option")
    assert str(info.value).startswith("--option ")


def test_a_command_with_a_bad_option_value_exits_2_with_one_line() -> None:
    """Before, a value that was not YAML ended 'worker --option' with a traceback."""
    result = CliRunner().invoke(
        app, ["worker", "--station", "colour-bench", "--option", "latency_s=[1"]
    )
    assert result.exit_code == 2, result.output
    assert "--option 'latency_s=[1': the value is not valid YAML" in result.output
    assert "Traceback" not in result.output
