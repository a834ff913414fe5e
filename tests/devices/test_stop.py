"""stop() of every reference driver is best effort: with the instrument gone it warns,
naming the address, and never raises (Ophyd calls it when a Status fails)."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack

import pytest
from ophyd.utils.errors import StatusTimeoutError

from genesis_lab.station import load_driver

SCPI_DRIVERS = [
    "scpi-furnace",
    "scpi-film-probe",
    "scpi-syringe-pump",
    "scpi-robot-arm",
    "scpi-spectrometer",
]


@pytest.mark.parametrize("driver_name", SCPI_DRIVERS)
def test_stop_with_the_instrument_gone_warns_naming_the_address_and_never_raises(
    driver_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver = load_driver(driver_name)
    with ExitStack() as stack:
        simulator = driver.simulator
        assert simulator is not None
        inner = ExitStack()
        settings = inner.enter_context(simulator())
        stack.callback(inner.close)
        device = driver.build("dev", {**settings, "timeout_s": 0.2})
        stack.callback(device.close)
        inner.close()  # the instrument is gone
        caplog.set_level(logging.WARNING, logger="genesis_lab_devices")
        raised: list[BaseException] = []

        def stop() -> None:
            try:
                device.stop()
            except BaseException as exc:
                raised.append(exc)

        stopping = threading.Thread(target=stop)  # it returns, and raises nothing
        stopping.start()
        stopping.join(timeout=60)
        assert not stopping.is_alive(), "stop() did not return with the instrument gone"
        assert raised == []
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("genesis_lab_devices")]
    if device.abort_command is None:  # the film probe sends nothing on stop
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert "dev: could not halt the instrument at" in warnings[0]
        assert settings["address"] in warnings[0]


def test_a_move_failing_after_the_instrument_went_away_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the furnace's hang fault: a move that never settles; Ophyd calls stop() when its
    # Status fails, with the instrument gone by then
    driver = load_driver("scpi-furnace")
    with ExitStack() as stack:
        inner = ExitStack()
        settings = inner.enter_context(driver.simulator_faults["hang"]())
        stack.callback(inner.close)
        furnace = driver.build("furnace", {**settings, "timeout_s": 0.2, "move_timeout_s": 0.5})
        stack.callback(furnace.close)
        caplog.set_level(logging.WARNING)
        status = furnace.set(300.0)
        inner.close()
        with pytest.raises(Exception, match="furnace") as caught:
            status.wait(timeout=10)
        assert not isinstance(caught.value, StatusTimeoutError)  # the driver's own error
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not any(
            "could not halt" in r.getMessage() for r in caplog.records
        ):
            time.sleep(0.01)
    assert any("could not halt the instrument" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
