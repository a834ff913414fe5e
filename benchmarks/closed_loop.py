"""Benchmark the closed loop and the planner's sample efficiency on the colour bench.

Prints its figures and writes them to ``benchmarks/results/closed_loop.json``:

- one campaign through the embedded broker and a local worker: wall time per experiment,
  time the planner spends per ``ask`` (Sobol and model phases), documents stored;
- the planner against random search, offline on the simulator's noisy objective, over
  several seeds: best colour error found within the budget.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/closed_loop.py --help``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from genesis_lab.messaging import EmbeddedBroker
from genesis_lab.orchestration import (
    CampaignRunner,
    package_versions,
)
from genesis_lab.planning import (
    BayesianPlanner,
    Planner,
    Proposal,
    RandomPlanner,
    run_offline,
)
from genesis_lab.spec import CampaignSpec, load_campaign
from genesis_lab.station import build_station
from genesis_lab.store import CampaignRecord
from genesis_lab.worker import Worker
from genesis_lab_simulators.colour_bench import OPTIMAL_VALUE, objective

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = REPO / "campaigns" / "colour_mixing.yaml"


class TimedPlanner:
    """Delegates to a planner and records how long each ``ask`` took, by origin."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.ask_s: dict[str, list[float]] = {}

    def ask(self, n: int = 1) -> list[Proposal]:
        start = time.perf_counter()
        proposals = self.planner.ask(n)
        self.ask_s.setdefault(proposals[0].origin, []).append(time.perf_counter() - start)
        return proposals

    def tell(self, trial_id: str, outcomes: Mapping[str, float]) -> None:
        self.planner.tell(trial_id, outcomes)

    def forget(self, trial_id: str) -> None:
        self.planner.forget(trial_id)

    @property
    def best(self) -> tuple[str, dict[str, float], float] | None:
        return self.planner.best


def closed_loop(spec: CampaignSpec) -> dict[str, Any]:
    planner = TimedPlanner(BayesianPlanner.from_spec(spec))
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        station = build_station(spec.station)
        worker = Worker(station, spec.station.station_id, broker.url, plugin=spec.station.plugin)
        worker.start()
        try:
            with CampaignRecord(Path(tmp) / "bench.sqlite") as record:
                runner = CampaignRunner(
                    spec, spec_text="", record=record, broker_url=broker.url, planner=planner
                )
                start = time.perf_counter()
                result = runner.run()
                wall = time.perf_counter() - start
                documents = len(record.documents(result.campaign_id))
        finally:
            worker.stop()
            station.close()
    return {
        "experiments": spec.budget,
        "wall_s": round(wall, 3),
        "wall_per_experiment_s": round(wall / spec.budget, 4),
        "ask_s": {
            origin: {
                "n": len(times),
                "mean": round(statistics.fmean(times), 4),
                "max": round(max(times), 4),
            }
            for origin, times in planner.ask_s.items()
        },
        "documents_stored": documents,
        "states": result.states,
        "best_value": result.best_value,
        "optimal_value": OPTIMAL_VALUE,
    }


def best_found(planner: Planner, spec: CampaignSpec, seed: int) -> float:
    """Best noise-free colour error after ``spec.budget`` noisy experiments."""
    rng = np.random.default_rng(seed)
    noise_std = float(spec.station.options.get("noise_std", 0.0))
    devices = {p.name: p.actuator for p in spec.parameters}

    def volumes(parameters: dict[str, float]) -> dict[str, float]:
        return {devices[name]: value for name, value in parameters.items()}

    trace = run_offline(
        planner,
        lambda parameters: objective(volumes(parameters), rng=rng, noise_std=noise_std),
        budget=spec.budget,
        objective=spec.objective.name,
    )
    return min(objective(volumes(proposal.parameters)) for proposal, _ in trace)


def sample_efficiency(spec: CampaignSpec, seeds: list[int]) -> dict[str, Any]:
    rows = []
    for seed in seeds:
        seeded = spec.model_copy(update={"seed": seed})
        rows.append(
            {
                "seed": seed,
                "bayesian": round(best_found(BayesianPlanner.from_spec(seeded), seeded, seed), 4),
                "random": round(best_found(RandomPlanner.from_spec(seeded), seeded, seed), 4),
            }
        )
    return {
        "budget": spec.budget,
        "per_seed": rows,
        "bayesian_median": statistics.median(r["bayesian"] for r in rows),
        "random_median": statistics.median(r["random"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=30, help="experiments per campaign")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the planner comparison")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results" / "closed_loop.json",
        help="where to write the figures (JSON)",
    )
    args = parser.parse_args()
    spec = load_campaign(CAMPAIGN).spec.model_copy(update={"budget": args.budget})
    figures = {
        "closed_loop": closed_loop(spec),
        "sample_efficiency": sample_efficiency(spec, list(range(args.seeds))),
        "versions": package_versions(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
