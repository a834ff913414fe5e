"""Station plugins and device drivers are found and loaded one way (issue 16, item 8): a
plugin that is missing, broken or not a plugin is named in a StationError, never a
traceback. The broken plugins are real distributions on sys.path, found by
importlib.metadata as an installed one would be."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesis_lab.errors import StationError
from genesis_lab.station import (
    available_drivers,
    available_stations,
    load_driver,
    load_station_plugin,
)


def _install(site: Path, name: str, entry_points: str, module: str, code: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (site / f"{module}.py").write_text(code)


@pytest.fixture
def broken_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(
        tmp_path,
        "broken_lab_plugins",
        "[genesis_lab.stations]\n"
        "import-fails = broken_lab_mod:PLUGIN\n"
        "not-a-plugin = broken_lab_ok:NOT_A_PLUGIN\n"
        "[genesis_lab.devices]\n"
        "driver-import-fails = broken_lab_mod:DRIVER\n",
        "broken_lab_mod",
        "raise ImportError('the vendor SDK is not installed')\n",
    )
    (tmp_path / "broken_lab_ok.py").write_text("NOT_A_PLUGIN = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_plugin_that_fails_to_import_is_named(broken_plugins: None) -> None:
    assert "import-fails" in available_stations()
    with pytest.raises(StationError) as info:
        load_station_plugin("import-fails")
    message = str(info.value)
    assert "station plugin 'import-fails' (broken_lab_mod:PLUGIN) cannot be loaded" in message
    assert "the vendor SDK is not installed" in message


def test_a_driver_that_fails_to_import_is_named(broken_plugins: None) -> None:
    assert "driver-import-fails" in available_drivers()
    with pytest.raises(StationError, match=r"device driver 'driver-import-fails'.*cannot be"):
        load_driver("driver-import-fails")


def test_an_entry_point_that_is_not_a_plugin_says_what_it_needs(broken_plugins: None) -> None:
    with pytest.raises(StationError, match="is not a station plugin: it needs 'description'"):
        load_station_plugin("not-a-plugin")


def test_a_missing_plugin_names_what_is_installed() -> None:
    with pytest.raises(StationError, match=r"no station plugin named 'nope'.*colour-bench"):
        load_station_plugin("nope")
    with pytest.raises(StationError, match="no device driver named 'nope'"):
        load_driver("nope")
