"""The report's figures, each drawn from :class:`ReportData` into PNG bytes.

The marks and the canvas are :mod:`._figure_kit`'s; matplotlib is imported only there and
only when a figure is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations
from typing import TYPE_CHECKING

from genesis_lab.review._figure_kit import (
    ReportFigure,
    axis_for,
    finish,
    grid,
    integer_x,
    label,
    mark_without_value,
    new_figure,
    plot_trials,
    position,
    quiet_fonts,
    say_empty,
    text,
    xy,
)
from genesis_lab.review._figures_model import hypervolume_figure, model_check_figure
from genesis_lab.review._report_data import ReportData, ReportTrial, categories
from genesis_lab.spec import Objective

if TYPE_CHECKING:
    from genesis_lab.planning import ModelCheck

__all__ = ["draw_figures", "staircase"]


def draw_figures(data: ReportData, check: ModelCheck | None = None) -> list[ReportFigure]:
    """Every figure the campaign's data allow, in report order (none for a campaign
    without trials; the Pareto front and the hypervolume only with several objectives; the
    final model's check only when ``check``, :func:`final_model_check`, is given)."""
    drawn: list[ReportFigure | None] = []
    with quiet_fonts():
        drawn.append(_best_so_far(data))
        drawn.append(_parameters_over_time(data))
        drawn += [_objective_vs_parameters(data, o.name) for o in data.spec.all_objectives]
        drawn.append(_pareto_front(data))
        drawn.append(hypervolume_figure(data))
        drawn.append(_predicted_vs_observed(data))
        drawn.append(model_check_figure(data, check))
    return [figure for figure in drawn if figure is not None]


def _best_so_far(data: ReportData) -> ReportFigure | None:
    if not data.trials:
        return None
    objectives = data.spec.all_objectives
    panels: list[tuple[str, Callable[[ReportTrial], float | None], bool]] = [
        (
            f"{label(o.name, o.units)}\n{o.direction}",
            lambda t, name=o.name: t.values.get(name),  # type: ignore[misc]
            o.direction == "maximize",
        )
        for o in objectives
    ]
    if data.weighted:
        panels.insert(0, ("weighted sum\nmaximize", data.weighted_sum, True))
    figure = new_figure(8.0, 1.0 + 2.6 * len(panels))
    axes = grid(figure, len(panels), 1, sharex=True)
    priors = [t for t in data.trials if t.prior]
    for ax, (ylabel, value_of, maximize) in zip(axes, panels, strict=True):
        pick: Callable[[float, float], float] = max if maximize else min
        best: float | None = None
        steps: list[tuple[float, float]] = []
        points: list[tuple[float, float, ReportTrial]] = []
        for trial in data.trials:  # imported results first: they are the starting point
            value = value_of(trial)
            if value is not None:
                points.append((trial.number, value, trial))
            if trial.feasible and value is not None:
                best = value if best is None else pick(best, value)
            if best is not None and not trial.prior:
                steps.append((trial.number, best))
            elif best is not None and trial is priors[-1]:
                steps.append((0, best))
        if steps:
            ax.step(*xy(steps), where="post", color="black", lw=1.5, label="best so far")
        plot_trials(ax, points)
        target = data.spec.stopping.target
        if target is not None and len(objectives) == 1:
            ax.axhline(target, color="#2ca02c", ls="--", lw=1.2, label="target (stopping rule)")
        mark_without_value(ax, [(t.number, t) for t in data.trials])
        if not points:
            say_empty(ax, "no experiment has completed")
        ax.set_ylabel(ylabel, fontsize=9)
        integer_x(ax)
    axes[-1].set_xlabel("experiment number" + (" (0: imported earlier results)" if priors else ""))
    several = ""
    if data.weighted:
        several = (
            f" The top panel is the one number the planner maximises, "
            f"{data.weighted_formula()}; the others each objective on its own."
        )
    elif len(objectives) > 1:
        several = " Each objective on its own: a Pareto search trades them off."
    if data.spec.stopping.target is not None and len(objectives) == 1:
        several += (
            f" The dashed green line is the campaign's target, {data.spec.stopping.target:g}: "
            "it stops once the best reaches it."
        )
    return finish(
        figure,
        "best-so-far",
        "best_so_far.png",
        "Best so far",
        "The best value of each objective among the results that count (completed, every "
        "outcome constraint met) after each experiment, with every measured value." + several,
    )


def _parameters_over_time(data: ReportData) -> ReportFigure | None:
    searched = data.searched
    if not data.trials or not searched:
        return None
    figure = new_figure(8.0, 0.9 + 1.9 * len(searched))
    axes = grid(figure, len(searched), 1, sharex=True)
    first_model = next((t.number for t in data.trials if t.trial.origin == "model"), None)
    for ax, parameter in zip(axes, searched, strict=True):
        order = categories(parameter, data.trials)
        points = [(t.number, position(parameter, t, order), t) for t in data.trials]
        plot_trials(ax, [(x, y, t) for x, y, t in points if y is not None])
        axis_for(ax, parameter, order, "y")
        if first_model is not None:
            ax.axvline(first_model - 0.5, color="#888888", lw=0.8, ls=":", zorder=1)
        integer_x(ax)
    axes[-1].set_xlabel(
        "experiment number"
        + (" (0: imported earlier results)" if any(t.prior for t in data.trials) else "")
    )
    fixed = [p.name for p in data.spec.parameters if p not in searched]
    return finish(
        figure,
        "parameters-over-time",
        "parameters_over_time.png",
        "Parameter values over time",
        "The value of each searched parameter at each experiment; dashed lines are its "
        "bounds"
        + (
            "; the dotted line is where the model took over from the initial design"
            if first_model
            else ""
        )
        + (f". Fixed and not drawn: {', '.join(fixed)}" if fixed else "")
        + ".",
    )


def _objective_vs_parameters(data: ReportData, name: str) -> ReportFigure | None:
    searched = data.searched
    if not data.trials or not searched:
        return None
    objective = next(o for o in data.spec.all_objectives if o.name == name)
    columns = min(3, len(searched))
    figure = new_figure(3.3 * columns, 0.9 + 2.8 * math.ceil(len(searched) / columns))
    axes = grid(figure, len(searched), columns, sharey=True)
    best = data.summary.best.trial_id if data.summary.best is not None else None
    for ax, parameter in zip(axes, searched, strict=True):
        order = categories(parameter, data.trials)
        xs = [(position(parameter, t, order), t) for t in data.trials]
        with_value = [(x, t.values[name], t) for x, t in xs if x is not None and name in t.values]
        plot_trials(ax, with_value)
        star = [(x, y) for x, y, t in with_value if t.trial.trial_id == best]
        if star and len(data.spec.all_objectives) == 1:
            ax.scatter(
                *xy(star),
                marker="*",
                s=220,
                facecolors="none",
                edgecolors="black",
                zorder=5,
                label="best",
            )
        if not with_value:
            say_empty(ax, "no completed experiment")
        axis_for(ax, parameter, order, "x")
        mark_without_value(ax, [(x, t) for x, t in xs if x is not None])
    for ax in axes[::columns]:
        ax.set_ylabel(f"{label(name, objective.units)}\n{objective.direction}", fontsize=9)
    single = len(data.spec.all_objectives) == 1
    return finish(
        figure,
        "objective-vs-parameters",
        "objective_vs_parameters.png" if single else f"objective_vs_parameters_{name}.png",
        f"{name} against each parameter",
        f"Every measured {name} ({objective.direction}) against each searched parameter; "
        "failed and rejected experiments, which gave no value, are marked in the grey band "
        "along the foot of each panel, below every measured value; dashed lines are a "
        "parameter's bounds" + ("; the star is the best result." if single else "."),
    )


def _pareto_front(data: ReportData) -> ReportFigure | None:
    objectives = data.spec.all_objectives
    if len(objectives) < 2:
        return None
    names = [o.name for o in objectives]
    done = [t for t in data.trials if all(n in t.values for n in names)]
    if not done:
        return None
    front = {t.trial_id for t in data.summary.pareto_front}
    pairs = list(combinations(range(len(objectives)), 2))
    columns = min(3, len(pairs))
    size = 6.0 if len(pairs) == 1 else 3.8
    figure = new_figure(size * columns, 1.0 + size * 0.8 * math.ceil(len(pairs) / columns))
    axes = grid(figure, len(pairs), columns)
    for ax, (i, j) in zip(axes, pairs, strict=True):
        a, b = objectives[i], objectives[j]
        members = [t for t in done if t.trial.trial_id in front]
        others = [t for t in done if t.trial.trial_id not in front]
        ok = [(t.values[a.name], t.values[b.name]) for t in others if t.feasible]
        bad = [(t.values[a.name], t.values[b.name]) for t in others if not t.feasible]
        if ok:
            ax.scatter(*xy(ok), color="#1f77b4", s=24, alpha=0.7, label="dominated")
        if bad:
            ax.scatter(
                *xy(bad),
                facecolors="none",
                edgecolors="#999999",
                s=24,
                label="breaks an outcome constraint",
            )
        if members:
            ranked = sorted((t.values[a.name], t.values[b.name], t.trial.trial_id) for t in members)
            ax.scatter(
                [p[0] for p in ranked],
                [p[1] for p in ranked],
                color="#ff7f0e",
                edgecolors="black",
                s=60,
                zorder=4,
                label="Pareto front",
            )
            if len(pairs) == 1:
                steps = staircase([(p[0], p[1]) for p in ranked], a, b)
                ax.plot(
                    *xy(steps), color="#ff7f0e", lw=1.2, zorder=3, label="attained region's edge"
                )
                if len(ranked) <= 15:
                    for x, y, tid in ranked:
                        ax.annotate(
                            text(tid),
                            (x, y),
                            xytext=(4, 4),
                            textcoords="offset points",
                            fontsize=7,
                        )
        for objective, line in ((a, ax.axvline), (b, ax.axhline)):
            if objective.reference is not None:
                line(objective.reference, color="#888888", ls=":", lw=1, label="reference point")
        ax.set_xlabel(f"{label(a.name, a.units)}, {a.direction}", fontsize=9)
        ax.set_ylabel(f"{label(b.name, b.units)}, {b.direction}", fontsize=9)
    return finish(
        figure,
        "pareto-front",
        "pareto_front.png",
        "Pareto front",
        "Completed results in objective space"
        + (" (each pair of objectives)" if len(pairs) > 1 else "")
        + ": the front is the results meeting every outcome constraint that no other beats "
        "in every objective"
        + (
            "; the staircase through it bounds the region they attain (every point on its "
            "worse side is matched or beaten by a member in both objectives)."
            if len(pairs) == 1
            else "."
        ),
    )


def staircase(
    front: list[tuple[float, float]], a: Objective, b: Objective
) -> list[tuple[float, float]]:
    """The edge of the region two objectives' front attains (what some member is at least as
    good as in both), as a staircase through ``front``'s ``(a, b)`` values: between two
    neighbours it turns at the corner that is the worse of each, given each objective's
    direction; at either end it runs on to the objective's reference, where one is given
    and is worse than that end."""
    if not front:
        return []
    ranked = sorted(front, key=lambda p: -a.sign * p[0])  # best a first, so worst b first
    steps: list[tuple[float, float]] = []
    if b.reference is not None and b.sign * b.reference < b.sign * ranked[0][1]:
        steps.append((ranked[0][0], b.reference))
    for index, point in enumerate(ranked):
        if index:
            steps.append((point[0], ranked[index - 1][1]))  # the worse a, the worse b
        steps.append(point)
    if a.reference is not None and a.sign * a.reference < a.sign * ranked[-1][0]:
        steps.append((a.reference, ranked[-1][1]))
    return steps


def _prediction(trial: ReportTrial, name: str, primary: str) -> tuple[float, float] | None:
    """The model's mean and standard deviation of ``name`` when it chose ``trial``."""
    why = trial.trial.explanation or {}
    if "predicted_mean" not in why:
        return None
    said = trial.prediction.get(name)
    if said is None and name == primary:
        said = {"mean": why.get("predicted_mean"), "std": why.get("predicted_std")}
    if said is None:
        return None
    mean, std = said.get("mean"), said.get("std")
    if not isinstance(mean, int | float) or not math.isfinite(mean):
        return None
    good_std = isinstance(std, int | float) and math.isfinite(std)
    return float(mean), float(std) if good_std else 0.0  # type: ignore[arg-type]


def _predicted_vs_observed(data: ReportData) -> ReportFigure | None:
    primary = data.spec.primary_objective.name
    panels = []
    for name in data.measured:
        pairs = [
            (t.values[name], *prediction, t)
            for t in data.trials
            if name in t.values and (prediction := _prediction(t, name, primary)) is not None
        ]
        if pairs:
            panels.append((name, pairs))
    if not panels:
        return None
    columns = min(2, len(panels))
    figure = new_figure(4.6 * columns, 0.8 + 4.0 * math.ceil(len(panels) / columns))
    axes = grid(figure, len(panels), columns)
    for ax, (name, pairs) in zip(axes, panels, strict=True):
        observed = [p[0] for p in pairs]
        mean = [p[1] for p in pairs]
        bars = [2 * p[2] for p in pairs]
        ax.errorbar(
            observed,
            mean,
            yerr=bars,
            fmt="o",
            color="#ff7f0e",
            ecolor="#555555",
            capsize=3,
            ms=5,
            label="model's prediction ±2σ",
        )
        low = min(min(observed), *(m - e for m, e in zip(mean, bars, strict=True)))
        high = max(max(observed), *(m + e for m, e in zip(mean, bars, strict=True)))
        pad = (high - low) * 0.05 or 1.0
        ax.plot(
            [low - pad, high + pad],
            [low - pad, high + pad],
            color="#888888",
            ls="--",
            lw=1,
            label="predicted = observed",
        )
        inside = sum(abs(o - m) <= e for o, m, e in zip(observed, mean, bars, strict=True))
        ax.set_title(text(f"{name}: {inside} of {len(pairs)} within ±2σ"), fontsize=9)
        units = data.units(name)
        ax.set_xlabel(f"observed {label(name, units)}", fontsize=9)
        ax.set_ylabel(f"predicted {label(name, units)}", fontsize=9)
    return finish(
        figure,
        "predicted-vs-observed",
        "predicted_vs_observed.png",
        "Predicted versus observed",
        "For every completed experiment the model chose: what the model predicted when it "
        "chose it (the mean, with bars of ±2 standard deviations of the modelled function, "
        "observation noise excluded) against what was measured.",
    )
