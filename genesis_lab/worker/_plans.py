"""The experiment plan: data, not action. The RunEngine executes it.

One experiment is one Bluesky run: move every actuator to its setpoint (together), then
trigger and read the detectors and the actuators in one event of the ``primary`` stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Movable, Readable
from bluesky.utils import MsgGenerator

__all__ = ["PLAN_NAME", "experiment_plan"]

PLAN_NAME = "genesis_lab_experiment"


def experiment_plan(
    actuators: Mapping[str, Movable],
    setpoints: Mapping[str, float | int | str],
    detectors: Sequence[Readable],
    md: Mapping[str, Any],
) -> MsgGenerator[str]:
    """Set ``actuators`` to ``setpoints`` (actuator name -> value), then read everything once.

    ``md`` goes into the start document (campaign id, trial id, parameters). Yields the
    run's uid as the plan's return value.
    """
    moves: list[Any] = []
    for name, value in setpoints.items():
        moves.extend([actuators[name], value])
    readables: list[Any] = [*detectors, *(actuators[name] for name in setpoints)]
    start_md = {"plan_name": PLAN_NAME, "detectors": [d.name for d in detectors], **md}

    @bpp.run_decorator(md=start_md)
    def _run() -> MsgGenerator[None]:
        yield from bps.mv(*moves)
        yield from bps.trigger_and_read(readables)

    uid = yield from _run()
    return str(uid)
