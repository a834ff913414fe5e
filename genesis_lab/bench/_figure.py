"""The regret-curve figure: one panel per problem, the median and interquartile band of
every planner against the number of experiments.

A PNG drawn by matplotlib when it is installed; otherwise an SVG written directly (no
plotting dependency), with the same panels, log-scaled regret and linear hypervolume.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

from ._problems import Problem
from ._report import quartiles
from ._run import RunResult

__all__ = ["Curve", "curves", "write_figure"]

_COLOURS = {"bayesian": "#1f77b4", "random": "#d62728", "sobol": "#2ca02c"}
_FLOOR = 1e-6  # regret drawn on a log axis: a regret of zero is drawn at this floor

Curve = tuple[str, list[float], list[float], list[float]]
"""``(planner, median, 25th percentile, 75th percentile)`` per experiment count."""


def curves(runs: Sequence[RunResult]) -> list[Curve]:
    """The median and quartile curves of each planner in ``runs`` (one problem)."""
    out: list[Curve] = []
    for planner in dict.fromkeys(run.planner for run in runs):
        mine = [run.metric for run in runs if run.planner == planner]
        budget = min(len(m) for m in mine)
        median, low, high = [], [], []
        for k in range(budget):
            q50, q25, q75 = quartiles([m[k] for m in mine])
            median.append(q50)
            low.append(q25)
            high.append(q75)
        out.append((planner, median, low, high))
    return out


def write_figure(
    problems: Sequence[Problem], runs: Sequence[RunResult], directory: Path, stem: str
) -> Path:
    """Draw every problem's curves into ``directory/stem.png`` (matplotlib) or
    ``directory/stem.svg`` (without it); returns the path written."""
    panels = [(p, curves([r for r in runs if r.problem == p.name])) for p in problems]
    panels = [(p, c) for p, c in panels if c]
    if importlib.util.find_spec("matplotlib") is not None:
        path = directory / f"{stem}.png"
        _matplotlib_png(panels, path)
    else:
        path = directory / f"{stem}.svg"
        path.write_text(_svg(panels))
    return path


def _matplotlib_png(
    panels: Sequence[tuple[Problem, list[Curve]]], path: Path
) -> None:  # pragma: no cover - matplotlib is optional and not installed in CI
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (problem, problem_curves) in zip(axes, panels, strict=True):
        for planner, median, low, high in problem_curves:
            x = list(range(1, len(median) + 1))
            colour = _COLOURS.get(planner)
            if not problem.multi_objective:
                median, low, high = ([max(v, _FLOOR) for v in c] for c in (median, low, high))
            ax.plot(x, median, label=planner, color=colour)
            ax.fill_between(x, low, high, alpha=0.2, color=colour)
        if not problem.multi_objective:
            ax.set_yscale("log")
        ax.axhline(problem.target, color="grey", linestyle=":", linewidth=1)
        ax.set_title(problem.name)
        ax.set_xlabel("experiments")
        ax.set_ylabel("hypervolume" if problem.multi_objective else "simple regret")
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)


def _svg(panels: Sequence[tuple[Problem, list[Curve]]]) -> str:
    """A standalone SVG of the panels: median lines, interquartile bands, target line."""
    width, height, pad_l, pad_r, pad_t, pad_b = 360, 280, 56, 12, 28, 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(panels)}" '
        f'height="{height}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for i, (problem, problem_curves) in enumerate(panels):
        x0 = i * width
        log = not problem.multi_objective
        values = [v for _, m, lo, hi in problem_curves for v in (*m, *lo, *hi)]
        values.append(problem.target)
        if log:
            values = [max(v, _FLOOR) for v in values]
            y_lo = float(math.floor(math.log10(min(values))))
            y_hi = float(math.ceil(math.log10(max(values))))
            y_hi = y_hi if y_hi > y_lo else y_lo + 1.0
        else:
            y_lo, y_hi = min(0.0, min(values)), max(values) * 1.05 or 1.0
        n = max(len(m) for _, m, _, _ in problem_curves)

        def px(k: float, n: int = n, x0: int = x0) -> float:
            return x0 + pad_l + (k - 1) / max(n - 1, 1) * (width - pad_l - pad_r)

        def py(v: float, log: bool = log, y_lo: float = y_lo, y_hi: float = y_hi) -> float:
            t = math.log10(max(v, _FLOOR)) if log else v
            return pad_t + (1 - (t - y_lo) / (y_hi - y_lo)) * (height - pad_t - pad_b)

        parts.append(
            f'<text x="{x0 + width / 2}" y="16" text-anchor="middle" font-weight="bold">'
            f"{escape(problem.name)}</text>"
        )
        parts.append(
            f'<rect x="{x0 + pad_l}" y="{pad_t}" width="{width - pad_l - pad_r}" '
            f'height="{height - pad_t - pad_b}" fill="none" stroke="black"/>'
        )
        ticks = (
            [(10.0**e, f"1e{e}") for e in range(int(y_lo), int(y_hi) + 1)]
            if log
            else [
                (y_lo + j * (y_hi - y_lo) / 4, f"{y_lo + j * (y_hi - y_lo) / 4:.3g}")
                for j in range(5)
            ]
        )
        for value, label in ticks:
            y = py(value)
            parts.append(
                f'<text x="{x0 + pad_l - 4}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
            )
        for k in sorted({1, *range(10, n + 1, 10), n}):
            parts.append(
                f'<text x="{px(k):.1f}" y="{height - pad_b + 14}" text-anchor="middle">{k}</text>'
            )
        parts.append(
            f'<text x="{x0 + (width + pad_l) / 2}" y="{height - 8}" text-anchor="middle">'
            "experiments</text>"
        )
        ylabel = "simple regret (log)" if log else "hypervolume"
        parts.append(
            f'<text transform="translate({x0 + 12},{height / 2}) rotate(-90)" '
            f'text-anchor="middle">{ylabel}</text>'
        )
        target_y = py(problem.target)
        parts.append(
            f'<line x1="{px(1):.1f}" x2="{px(n):.1f}" y1="{target_y:.1f}" y2="{target_y:.1f}" '
            'stroke="grey" stroke-dasharray="3,3"/>'
        )
        for j, (planner, median, low, high) in enumerate(problem_curves):
            colour = _COLOURS.get(planner, "black")
            band = [(px(k + 1), py(v)) for k, v in enumerate(high)]
            band += [(px(k + 1), py(v)) for k, v in reversed(list(enumerate(low)))]
            parts.append(f'<polygon points="{_points(band)}" fill="{colour}" fill-opacity="0.18"/>')
            line = [(px(k + 1), py(v)) for k, v in enumerate(median)]
            parts.append(
                f'<polyline points="{_points(line)}" fill="none" stroke="{colour}" '
                'stroke-width="1.6"/>'
            )
            # Regret falls, so the legend sits top right; hypervolume rises: bottom right.
            ly = pad_t + 14 + 14 * j if log else height - pad_b - 8 - 14 * j
            parts.append(
                f'<line x1="{x0 + width - 100}" x2="{x0 + width - 84}" y1="{ly - 4}" '
                f'y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>'
                f'<text x="{x0 + width - 80}" y="{ly}">{escape(planner)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _points(xy: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
