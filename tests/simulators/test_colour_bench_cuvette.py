"""The colour-bench drivers' shared cuvette: what a lab file's pumps dispense is what its
spectrophotometer measures; standalone drivers read as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import genesis_lab_simulators.colour_bench as cb
from genesis_lab.errors import StationError
from genesis_lab.spec import load_lab
from genesis_lab.station import build_device, station_from_lab

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def build() -> Iterator[Any]:
    """Build devices through their drivers; close every one after the test."""
    built: list[Any] = []

    def make(driver: str, name: str, **settings: Any) -> Any:
        device = build_device(driver, name, settings)
        built.append(device)
        return device

    yield make
    for device in reversed(built):
        close = getattr(device, "close", None)
        if callable(close):
            close()


def _measure(spectro: Any) -> dict[str, float]:
    spectro.trigger().wait(timeout=5)
    return {key: reading["value"] for key, reading in spectro.read().items()}


def _absorbances(reading: dict[str, float]) -> list[float]:
    return [reading[f"spectro_absorbance_{band}"] for band in cb.BANDS_NM]


def test_the_spectrophotometer_measures_what_the_pumps_on_its_cuvette_dispensed(build) -> None:
    pumps = {
        dye: build("colour-bench-pump", f"pump_{dye}", cuvette="t1", dye=dye) for dye in cb.DYES
    }
    spectro = build("colour-bench-spectrophotometer", "spectro", cuvette="t1", noise_std=0.0)
    empty = _measure(spectro)
    assert _absorbances(empty) == pytest.approx([0.0] * len(cb.BANDS_NM))
    for dye, volume in zip(cb.DYES, cb.TARGET_VOLUMES_ML, strict=True):
        pumps[dye].set(float(volume)).wait(timeout=5)
    at_target = _measure(spectro)
    assert at_target["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)
    pumps["cyan"].set(6.0).wait(timeout=5)
    moved = _measure(spectro)
    expected = cb.absorbances([6.0, *cb.TARGET_VOLUMES_ML[1:]])
    assert _absorbances(moved) == pytest.approx(expected.tolist())
    assert moved["spectro_colour_error"] > 10.0


def test_a_selector_on_the_cuvette_chooses_its_solvent(build) -> None:
    for dye, volume in zip(cb.DYES, cb.TARGET_VOLUMES_ML, strict=True):
        build("colour-bench-pump", f"pump_{dye}", cuvette="t2", dye=dye, init_ml=float(volume))
    selector = build("colour-bench-solvent-selector", "solvent", cuvette="t2")
    spectro = build("colour-bench-spectrophotometer", "spectro", cuvette="t2", noise_std=0.0)
    assert _measure(spectro)["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)
    selector.set("acetone").wait(timeout=5)
    in_acetone = cb.absorbances(cb.TARGET_VOLUMES_ML, "acetone")
    assert _absorbances(_measure(spectro)) == pytest.approx(in_acetone.tolist())


def test_one_pump_per_dye_and_one_selector_per_cuvette(build) -> None:
    build("colour-bench-pump", "pump_a", cuvette="t3", dye="cyan")
    with pytest.raises(cb.CuvetteConflictError, match=r"already has a cyan pump \('pump_a'\)"):
        build("colour-bench-pump", "pump_b", cuvette="t3", dye="cyan")
    build("colour-bench-solvent-selector", "solvent_a", cuvette="t3")
    with pytest.raises(cb.CuvetteConflictError, match="already has a solvent selector"):
        build("colour-bench-solvent-selector", "solvent_b", cuvette="t3")
    build("colour-bench-pump", "pump_c", cuvette="t3-other", dye="cyan")  # another cuvette


def test_closing_its_devices_empties_the_cuvette_and_frees_the_name() -> None:
    pump = build_device("colour-bench-pump", "pump_cyan", {"cuvette": "t4", "dye": "cyan"})
    pump.set(2.0).wait(timeout=5)
    cuvette = cb.shared_cuvette("t4")
    assert cuvette is not None and cuvette.volumes() == [2.0, 0.0, 0.0]
    pump.close()
    assert cb.shared_cuvette("t4") is None
    again = build_device("colour-bench-pump", "pump_cyan", {"cuvette": "t4", "dye": "cyan"})
    try:
        assert cb.shared_cuvette("t4").volumes() == [0.0, 0.0, 0.0]  # type: ignore[union-attr]
    finally:
        again.close()


@pytest.mark.parametrize(
    ("driver", "settings", "message"),
    [
        ("colour-bench-pump", {"cuvette": "t5"}, "say which stock dye the pump holds"),
        ("colour-bench-pump", {"cuvette": "t5", "dye": "black"}, "dye"),
        (
            "colour-bench-spectrophotometer",
            {"cuvette": "t5", "cuvette_ml": {"cyan": 1.0}},
            "leave out cuvette_ml",
        ),
        ("colour-bench-spectrophotometer", {"cuvette": ""}, "cuvette"),
    ],
)
def test_settings_that_contradict_a_shared_cuvette_are_refused(
    driver: str, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(StationError, match=message):
        build_device(driver, "device", settings)
    assert cb.shared_cuvette("t5") is None


def test_standalone_drivers_read_their_own_fixed_cuvette_as_before(build) -> None:
    spectro = build("colour-bench-spectrophotometer", "spectro", noise_std=0.0)
    assert _measure(spectro)["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)
    pump = build("colour-bench-pump", "pump_cyan")
    pump.set(9.0).wait(timeout=5)
    assert _measure(spectro)["spectro_colour_error"] == pytest.approx(0.0, abs=1e-9)


def test_the_shipped_lab_station_is_a_closed_loop() -> None:
    lab = load_lab(REPO / "labs" / "colour_lab.yaml")
    station = station_from_lab(lab.spec.station("colour-bench-a"))
    try:
        [spectro] = station.detectors
        errors = []
        for volumes in ([1.0, 1.0, 1.0], [3.2, 6.1, 1.5], [7.0, 2.0, 5.0]):
            for name, volume in zip(cb.ACTUATOR_NAMES, volumes, strict=True):
                station.actuators[name].set(volume).wait(timeout=5)
            reading = _measure(spectro)
            model = cb.absorbances(volumes)
            assert np.allclose(_absorbances(reading), model, atol=0.01)  # noise 0.002 AU
            errors.append(reading["spectro_colour_error"])
        assert errors[1] < 2.0 < 20.0 < min(errors[0], errors[2])
    finally:
        station.close()
    assert cb.shared_cuvette("A") is None
