"""How far the planner beats random search on each simulated laboratory, across seeds and
across the floating-point paths different processors take.

The domain-campaign test (``tests/simulators/test_domain_campaigns.py``) asserts that the
planner's median score over a few seeds clears random search's median by a margin. The
planner's numbers depend on the processor: BLAS and vectorised kernels round differently
on different instruction sets, and a Bayesian-optimisation run amplifies a last-bit
difference into another trajectory. This benchmark measures the distribution the margins
must hold for. It runs the planner offline (``run_offline_campaign``, the same planner the
CLI builds) on every campaign at the test's budget, over ``--seeds``, once per numerical
*variant*: this machine as it is, and the code paths of other processors forced through
``MKL_CBWR`` (MKL's code path: generic, AVX2, AVX-512) and ``ATEN_CPU_CAPABILITY``
(PyTorch's vectorised kernels). Random search runs over seeds 0-99 (it does not depend on
the processor). Each campaign is scored on the model's noise-free truth, as in the test.

Prints a table and writes every score to ``benchmarks/results/domain_planner_vs_random.json``:
per campaign, random's median over the test's seeds, the test's bar, how many planner runs
and how many held-out random runs (seeds 25-99) clear it, the planner's 5 % quantile, and
the margin that 95 % of planner runs clear.

    .venv/bin/python benchmarks/domain_planner_vs_random.py --seeds 0-5 --jobs 2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEST_FILE = REPO / "tests" / "simulators" / "test_domain_campaigns.py"
RESULTS = REPO / "benchmarks" / "results" / "domain_planner_vs_random.json"

#: Numerical environments standing in for other processors (set before torch loads).
VARIANTS: dict[str, dict[str, str]] = {
    "native": {},
    "generic": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
    "avx512": {"MKL_CBWR": "AVX512", "ATEN_CPU_CAPABILITY": "avx512"},
}


def _test_module() -> Any:
    """The domain-campaign test module: its budgets, margins and random seeds are the ones
    measured here."""
    spec = importlib.util.spec_from_file_location("test_domain_campaigns", TEST_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",")]


def _child(campaign: str, planner: str, seeds: list[int]) -> None:
    """Run one campaign's planner (or random search) over ``seeds``; print the scores as JSON."""
    import warnings

    warnings.simplefilter("ignore")  # the planner's optimiser warnings are not figures
    from genesis_lab.planning import BayesianPlanner, RandomPlanner
    from genesis_lab.spec import load_campaign
    from genesis_lab_simulators._domain import campaign_model, campaign_score, run_offline_campaign

    budget = _test_module().DOMAINS[campaign].budget
    spec = load_campaign(REPO / "campaigns" / campaign).spec.model_copy(update={"budget": budget})
    model = campaign_model(spec)
    kind = BayesianPlanner if planner == "bayesian" else RandomPlanner
    scores = []
    for seed in seeds:
        seeded = spec.model_copy(update={"seed": seed})
        trials = run_offline_campaign(model, seeded, kind.from_spec(seeded), seed)
        scores.append(campaign_score(spec, [t.truth for t in trials]))
    print(json.dumps(scores))


def _key(job: tuple[str, str, tuple[int, ...], str]) -> str:
    campaign, planner, seeds, variant = job
    return f"{campaign} {planner} {variant} {seeds[0]}-{seeds[-1]}"


def _load_cache(path: Path) -> dict[str, list[float]]:
    """Scores already measured (one JSON line a run), so an interrupted run carries on."""
    if not path.exists():
        return {}
    lines = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {line["key"]: line["scores"] for line in lines}


def _run_child(campaign: str, planner: str, seeds: tuple[int, ...], variant: str) -> list[float]:
    env = {**os.environ, **VARIANTS[variant], "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    args = [sys.executable, __file__, "--child", campaign, planner, ",".join(map(str, seeds))]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return [float(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-5", help="planner seeds: 0-5 or 1,4,9")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="numerical variants")
    parser.add_argument("--campaigns", default="", help="comma-separated (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--cache",
        type=Path,
        default=RESULTS.with_suffix(".runs.jsonl"),
        help="scores measured so far, one line a run: an interrupted benchmark carries on",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        campaign, planner, seeds = args.child
        _child(campaign, planner, _seeds(seeds))
        return
    test = _test_module()
    campaigns = args.campaigns.split(",") if args.campaigns else sorted(test.DOMAINS)
    seeds, variants = _seeds(args.seeds), args.variants.split(",")
    jobs = [(c, "random", tuple(range(100)), "native") for c in campaigns]
    jobs += [(c, "bayesian", (s,), v) for s in seeds for v in variants for c in campaigns]
    done = _load_cache(args.cache)
    todo = [job for job in jobs if _key(job) not in done]
    print(f"{len(jobs)} runs, {len(jobs) - len(todo)} in {args.cache}", flush=True)
    started = time.perf_counter()

    def run(job: tuple[str, str, tuple[int, ...], str]) -> None:
        scores = _run_child(*job)
        with args.cache.open("a") as cache:
            cache.write(json.dumps({"key": _key(job), "scores": scores}) + "\n")
        done[_key(job)] = scores
        print(f"{len(done)}/{len(jobs)} {_key(job)}: {scores[:3]}", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(run, todo))
    scores = [done[_key(job)] for job in jobs]
    elapsed = time.perf_counter() - started  # of the runs not cached
    results: dict[str, Any] = {}
    for campaign in campaigns:
        random_scores = scores[jobs.index((campaign, "random", tuple(range(100)), "native"))]
        planner = {
            v: [scores[jobs.index((campaign, "bayesian", (s,), v))][0] for s in seeds]
            for v in variants
        }
        bar_spec = test.DOMAINS[campaign]
        median = float(np.median([random_scores[s] for s in test.RANDOM_SEEDS]))
        margin = bar_spec.margin
        bar = None if margin is None else median + margin * abs(median)
        every = np.array([x for v in variants for x in planner[v]])
        in_test = [seeds.index(s) for s in test.PLANNER_SEEDS if s in seeds]
        q05 = float(np.quantile(every, 0.05))
        results[campaign] = {
            "budget": bar_spec.budget,
            "random_median": median,
            "margin": margin,
            "bar": bar,
            "planner_clear": None if bar is None else int((every > bar).sum()),
            "planner_runs": len(every),
            "heldout_random_clear": None
            if bar is None
            else sum(x > bar for x in random_scores[25:]),
            "planner_below_random_median": int((every < median).sum()),
            "test_median_by_variant": {
                v: float(np.median([planner[v][i] for i in in_test])) for v in variants
            },
            "planner_q05": q05,
            "margin_q05": (q05 - median) / abs(median),
            "planner": planner,
            "random": random_scores,
        }
    print(f"{len(seeds)} seeds x {len(variants)} variants ({', '.join(variants)}), {elapsed:.0f} s")
    print(
        f"{'campaign':24} {'budget':>6} {'rnd median':>11} {'margin':>6} "
        f"{'median of test seeds, relative, by variant':>44} {'planner>bar':>11} {'rnd>bar':>8}"
    )
    for campaign, r in results.items():
        relative = " / ".join(
            f"{(x - r['random_median']) / abs(r['random_median']):+.2f}"
            for x in r["test_median_by_variant"].values()
        )
        margin = "none" if r["margin"] is None else f"{r['margin']:g}"
        clear = "-" if r["bar"] is None else f"{r['planner_clear']}/{r['planner_runs']}"
        held = "-" if r["bar"] is None else f"{r['heldout_random_clear']}/75"
        print(
            f"{campaign:24} {r['budget']:>6} {r['random_median']:>11.4g} {margin:>6} "
            f"{relative:>44} {clear:>11} {held:>8}   "
            f"({r['planner_below_random_median']} of {r['planner_runs']} below random's median)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"seeds": seeds, "variants": {v: VARIANTS[v] for v in variants}, "elapsed_s": elapsed}
    args.out.write_text(json.dumps({"meta": meta, "campaigns": results}, indent=1) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
