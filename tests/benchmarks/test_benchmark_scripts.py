"""The benchmark scripts still run and write their figures (tiny sizes; no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_closed_loop_benchmark_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "closed_loop.py"),
            "--budget",
            "3",
            "--seeds",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["closed_loop"]["states"] == {"COMPLETED": 3}
    assert figures["closed_loop"]["documents_stored"] == 12
    assert [row["seed"] for row in figures["sample_efficiency"]["per_seed"]] == [0]
    assert f"written to {out}" in result.stdout


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_messaging_benchmark_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "messaging.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "messaging.py"),
            "--trials",
            "5",
            "--broker",
            "embedded",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    embedded = json.loads(out.read_text())["brokers"]["embedded"]
    assert {"p50_ms", "p99_ms"} <= embedded["latency"].keys()
    throughput = embedded["throughput"]
    assert throughput["documents_expected"] == 20
    assert throughput["documents_stored"] == 20
    assert throughput["lost"] == 0
    assert throughput["states"] == {"completed": 5}
    assert "documents_per_s" in throughput
    assert f"written to {out}" in result.stdout


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_estop_latency_benchmark_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "estop.json"
    script = str(REPO / "benchmarks" / "estop_latency.py")
    result = subprocess.run(
        [sys.executable, script, "--rounds", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["rounds"] == 2 and len(figures["stopped_s"]) == 2
    assert figures["stopped_worst_s"] == max(figures["stopped_s"])
    assert f"written to {out}" in result.stdout
