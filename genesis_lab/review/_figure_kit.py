"""What every figure of a report shares: the canvas, the marks, the axes of a parameter.

matplotlib is imported inside the functions that draw (never when this module is
imported), and only through ``Figure`` and ``FigureCanvasAgg``: no pyplot, no backend
switch, no global state.

The marks: a completed trial is a dot coloured by its origin (hollow when it breaks an
outcome constraint), a FAILED trial a red cross, a REJECTED one a black triangle, and a
trial with no result otherwise (abandoned, unfinished) a grey ring.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genesis_lab.review._report_data import ReportTrial
from genesis_lab.spec import CategoricalParameter, ContinuousParameter, Parameter
from genesis_lab.store import TrialState

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "ORIGIN_COLOURS",
    "OTHER_ORIGIN",
    "ReportFigure",
    "axis_for",
    "finish",
    "grid",
    "integer_x",
    "label",
    "mark_without_value",
    "new_figure",
    "plot_trials",
    "position",
    "quiet_fonts",
    "say_empty",
    "text",
    "xy",
]

DPI = 100
"""Pixels per inch of every PNG."""

ORIGIN_COLOURS = {
    "sobol": "#1f77b4",
    "model": "#ff7f0e",
    "prior": "#7f7f7f",
    "manual": "#2ca02c",
    "retry": "#9467bd",
    "rerun": "#9467bd",
    "random": "#8c564b",
}
"""The colour of a completed trial's dot, by the trial's origin."""

OTHER_ORIGIN = "#17becf"
"""The colour of an origin not in :data:`ORIGIN_COLOURS`."""

FAILED_COLOUR = "#d62728"


@dataclass(frozen=True)
class ReportFigure:
    """One figure of a report: ``section`` is the HTML section it belongs to, ``filename``
    the PNG written beside the report, ``png`` its bytes (``width`` x ``height`` pixels)."""

    section: str
    filename: str
    title: str
    caption: str
    png: bytes
    width: int
    height: int


@contextmanager
def quiet_fonts() -> Iterator[None]:
    """A unit or a category in a script the bundled font lacks is drawn as boxes; say
    nothing about it (the HTML tables carry the text)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        yield


def text(value: object) -> str:
    """Record text made safe for matplotlib: a ``$`` would start mathematical notation."""
    return str(value).replace("$", r"\$")


def label(name: str, units: str) -> str:
    """``name (units)`` (or the name alone), safe for matplotlib."""
    return text(f"{name} ({units})" if units else name)


def xy(points: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """``[(x, y), ...]`` as ``([x, ...], [y, ...])``."""
    return [p[0] for p in points], [p[1] for p in points]


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def grid(figure: Figure, count: int, columns: int, **kwargs: Any) -> list[Axes]:
    """``count`` panels in rows of ``columns`` (the cells left over hidden)."""
    rows = math.ceil(count / columns)
    axes = list(figure.subplots(rows, columns, squeeze=False, **kwargs).flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    return axes[:count]


def finish(figure: Figure, section: str, filename: str, title: str, caption: str) -> ReportFigure:
    """Add one legend for every panel's marks under the panels; render the PNG."""
    handles: dict[str, Any] = {}
    for ax in figure.axes:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(name, handle)
    if handles:
        figure.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncols=max(1, min(4, int(figure.get_size_inches()[0] // 2.2))),
            fontsize=8,
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    width, height = (round(v * DPI) for v in figure.get_size_inches())
    return ReportFigure(section, filename, title, caption, buffer.getvalue(), width, height)


def integer_x(ax: Axes) -> None:
    """Ticks at whole numbers only (experiment numbers)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def position(parameter: Parameter, trial: ReportTrial, order: list[str]) -> float | None:
    """Where a trial's value of ``parameter`` sits on an axis: the value, or a categorical
    choice's index in ``order`` (nudged a little by the experiment number so that repeats
    stay visible); None for a value that is not a finite number."""
    value = trial.trial.parameters.get(parameter.name)
    if isinstance(parameter, CategoricalParameter):
        nudge = ((trial.number * 0.618) % 1.0 - 0.5) * 0.3
        return order.index(str(value)) + nudge
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def axis_for(ax: Axes, parameter: Parameter, order: list[str], axis: str) -> None:
    """Label and scale the ``axis`` ("x" or "y") of a parameter: its units, its choices'
    names, a log scale, its bounds as dashed lines."""
    set_ticks = ax.set_xticks if axis == "x" else ax.set_yticks
    set_label = ax.set_xlabel if axis == "x" else ax.set_ylabel
    set_label(label(parameter.name, parameter.units), fontsize=9)
    if isinstance(parameter, CategoricalParameter):
        set_ticks(range(len(order)), [text(c) for c in order], fontsize=8)
        return
    if isinstance(parameter, ContinuousParameter) and parameter.scale == "log":
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    line = ax.axvline if axis == "x" else ax.axhline
    for bound in getattr(parameter, "bounds", ()):
        line(bound, color="#bbbbbb", lw=0.8, ls="--", zorder=1)


def _failed(ax: Axes, points: Sequence[tuple[float, float]], **where: Any) -> None:
    ax.scatter(*xy(points), marker="X", color=FAILED_COLOUR, s=60, label="failed", **where)


def _rejected(ax: Axes, points: Sequence[tuple[float, float]], **where: Any) -> None:
    ax.scatter(*xy(points), marker="v", color="black", s=50, label="rejected (never ran)", **where)


def plot_trials(ax: Axes, points: Sequence[tuple[float, float, ReportTrial]]) -> None:
    """Scatter ``(x, y, trial)`` with the marks of the trial's state and origin."""
    groups: dict[str, list[tuple[float, float, bool]]] = {}
    failed, rejected, no_result = [], [], []
    for x, y, trial in points:
        state = trial.trial.state
        if state is TrialState.COMPLETED:
            groups.setdefault(trial.trial.origin, []).append((x, y, trial.feasible))
        elif state is TrialState.FAILED:
            failed.append((x, y))
        elif state is TrialState.REJECTED:
            rejected.append((x, y))
        else:
            no_result.append((x, y))
    for origin, members in groups.items():
        colour = ORIGIN_COLOURS.get(origin, OTHER_ORIGIN)
        full = [(x, y) for x, y, ok in members if ok]
        hollow = [(x, y) for x, y, ok in members if not ok]
        if full:
            ax.scatter(*xy(full), color=colour, s=30, label=text(origin), zorder=3)
        if hollow:
            name = text(f"{origin}, breaks an outcome constraint")
            ax.scatter(*xy(hollow), facecolors="none", edgecolors=colour, s=30, label=name)
    if failed:
        _failed(ax, failed, zorder=4)
    if rejected:
        _rejected(ax, rejected, zorder=4)
    if no_result:
        ax.scatter(
            *xy(no_result),
            facecolors="none",
            edgecolors="#999999",
            s=36,
            label="no result (abandoned, unfinished)",
        )


NO_VALUE_BAND = 0.12
"""Share of a panel's height, at its foot, kept for the trials that gave no value (failed,
rejected): every measured value is drawn above it, so those marks never cover one."""


def mark_without_value(ax: Axes, points: Sequence[tuple[float, ReportTrial]]) -> None:
    """Failed and rejected trials, which gave no value of the y quantity, drawn at their x
    in a grey band along the foot of the panel that holds no measured value: the y limits
    are widened so that every value (of this panel and of the panels sharing its y axis)
    lies above the band. Call it after everything else of the panel is drawn."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory

    failed = [(x, NO_VALUE_BAND / 2) for x, t in points if t.trial.state is TrialState.FAILED]
    rejected = [(x, NO_VALUE_BAND / 2) for x, t in points if t.trial.state is TrialState.REJECTED]
    if not failed and not rejected:
        return
    siblings = ax.get_shared_y_axes().get_siblings(ax)
    low = min(a.dataLim.y0 for a in siblings)
    high = max(a.dataLim.y1 for a in siblings)
    if math.isfinite(low) and math.isfinite(high):
        pad = (high - low) * 0.05 or max(abs(high) * 0.05, 1.0)
        top, bottom = high + pad, low - pad
        ticks = ax.yaxis.get_major_locator().tick_values(bottom, top)
        ax.set_yticks([t for t in ticks if bottom <= t <= top])  # none beside the band
        ax.set_ylim(bottom - (top - bottom) * NO_VALUE_BAND / (1 - NO_VALUE_BAND), top)
        # the marks' x must be inside the panel too (a blended mark does not widen it)
        xs = [x for x, _ in failed + rejected]
        ax.update_datalim([(min(xs), (low + high) / 2), (max(xs), (low + high) / 2)])
        ax.autoscale_view(scaley=False)
    ax.add_patch(
        Rectangle(
            (0, 0),
            1,
            NO_VALUE_BAND,
            transform=ax.transAxes,
            facecolor="#eeeeee",
            lw=0,
            zorder=0,
            label="band of trials with no value",
        )
    )
    foot = blended_transform_factory(ax.transData, ax.transAxes)
    where = {"transform": foot, "zorder": 4, "clip_on": False}
    if failed:
        _failed(ax, failed, **where)
    if rejected:
        _rejected(ax, rejected, **where)


def say_empty(ax: Axes, message: str) -> None:
    """Write ``message`` in the middle of an empty panel."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="#666666")
