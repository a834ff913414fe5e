"""Benchmark the e-stop: from typing ``genesis-lab estop`` to the worker's devices stopped.

A real worker (its own RunEngine, on the embedded broker) serves a colour bench whose
pumps take 20 s per move. Each round sends the station an experiment, waits until its
pumps are moving, then starts ``genesis-lab estop --station ID`` as a new process (as an
operator typing it would: interpreter start, imports, connect, publish) and times until
no pump moves (polled every millisecond), then releases the station for the next round.
The target is under 1 s on a development machine.

Prints p50 and worst of ``--rounds`` (20) and how long the command took to exit, and
writes them to ``benchmarks/results/estop_latency.json``. Run with ``make bench`` (or
``.venv/bin/python benchmarks/estop_latency.py --help``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from genesis_lab.cli._control import send_control
from genesis_lab.messages import ExperimentRequest, encode_message, station_requests_topic
from genesis_lab.messaging import EmbeddedBroker, MqttClient
from genesis_lab.orchestration import package_versions
from genesis_lab.spec import StationRef
from genesis_lab.station import build_station
from genesis_lab.worker import Worker

REPO = Path(__file__).resolve().parents[1]
GENESIS_LAB = str(Path(sys.executable).parent / "genesis-lab")


def _wait(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.001)


def measure(rounds: int) -> dict[str, Any]:
    station_id = f"estop-bench-{uuid.uuid4().hex[:6]}"
    station = build_station(
        StationRef(plugin="colour-bench", id=station_id, options={"pump_latency_s": 20.0})
    )
    pumps = [station.actuators["pump_cyan"], station.actuators["pump_magenta"]]
    stops: list[float] = []
    exits: list[float] = []
    with (
        EmbeddedBroker() as broker,
        Worker(station, station_id, broker.url, plugin="colour-bench"),
        MqttClient(broker.url, client_id=f"bench-{station_id}") as client,
    ):
        for n in range(rounds):
            target = 9.0 if n % 2 == 0 else 1.0  # away from where the last round stopped
            request = ExperimentRequest(
                campaign_id="estop-bench",
                trial_id=f"t{n:04d}",
                station_id=station_id,
                setpoints={"pump_cyan": target, "pump_magenta": target},
                parameters={"round": n},
            )
            client.publish_and_wait(station_requests_topic(station_id), encode_message(request))
            _wait(lambda: all(p.moving for p in pumps), 30, "the pumps to move")  # type: ignore[attr-defined]
            typed = time.monotonic()
            command = subprocess.Popen(
                [GENESIS_LAB, "estop", "--station", station_id, "--broker", broker.url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait(lambda: not any(p.moving for p in pumps), 30, "the pumps to stop")  # type: ignore[attr-defined]
            stops.append(time.monotonic() - typed)
            command.wait(timeout=60)
            exits.append(time.monotonic() - typed)
            send_control("release", broker.url, station=station_id, wait_s=10)
    station.close()
    return {
        "rounds": rounds,
        "stopped_p50_s": statistics.median(stops),
        "stopped_worst_s": max(stops),
        "command_exit_p50_s": statistics.median(exits),
        "target_s": 1.0,
        "stopped_s": stops,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="e-stops to time (default 20)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results" / "estop_latency.json",
        help="where to write the figures (JSON)",
    )
    args = parser.parse_args()
    figures = measure(args.rounds)
    figures["versions"] = package_versions()
    print(
        f"e-stop, typed to devices stopped, {figures['rounds']} rounds: "
        f"p50 {figures['stopped_p50_s']:.3f} s, worst {figures['stopped_worst_s']:.3f} s "
        f"(target < {figures['target_s']:g} s); the command exits after "
        f"{figures['command_exit_p50_s']:.3f} s (p50)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
