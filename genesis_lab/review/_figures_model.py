"""The report's figures about the campaign as a whole: the hypervolume it attained after
each experiment (several objectives), and its final model checked (which parameters
matter, and leave-one-out predictions against the measurements).

The numbers come from :mod:`genesis_lab.planning` (the planner's own model code, refitted
here on the CPU with the campaign's seed); torch and BoTorch load only when these figures
are drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_lab.review._figure_kit import (
    ReportFigure,
    finish,
    grid,
    integer_x,
    label,
    new_figure,
    text,
    xy,
)
from genesis_lab.review._report_data import ReportData

if TYPE_CHECKING:
    from genesis_lab.planning import ModelCheck

__all__ = ["final_model_check", "hypervolume_figure", "model_check_figure"]


def hypervolume_figure(data: ReportData) -> ReportFigure | None:
    """The hypervolume of the results that count after each experiment, against one fixed
    reference point (several objectives only; None before any such result)."""
    from genesis_lab.planning import hypervolume_reference, hypervolume_trace

    objectives = data.spec.all_objectives
    if len(objectives) < 2:
        return None
    names = [o.name for o in objectives]
    counted = [[t.values[n] for n in names] for t in data.trials if t.feasible]
    if not counted:
        return None
    reference = hypervolume_reference(data.spec, counted)
    trace = hypervolume_trace(
        data.spec,
        [[t.values[n] for n in names] if t.feasible else None for t in data.trials],
        reference,
    )
    steps: list[tuple[float, float]] = []
    for trial, volume in zip(data.trials, trace, strict=True):
        if trial.prior:
            steps = [(0, volume)]
        else:
            steps.append((trial.number, volume))
    figure = new_figure(8.0, 3.4)
    [ax] = grid(figure, 1, 1)
    ax.step(*xy(steps), where="post", color="black", lw=1.5, label="hypervolume attained")
    ax.scatter(*xy(steps), color="black", s=10, zorder=3)
    ax.set_xlabel("experiment number", fontsize=9)
    ax.set_ylabel("hypervolume", fontsize=9)
    integer_x(ax)
    given = [o.reference is not None for o in objectives]
    said = ", ".join(
        f"{o.name} {r:.4g}" + ("" if g else " (inferred)")
        for o, r, g in zip(objectives, reference, given, strict=True)
    )
    how = (
        "given by the campaign"
        if all(given)
        else "where the campaign gives none, inferred from the whole campaign's front as the "
        "planner infers it (BoTorch's infer_reference_point)"
    )
    return finish(
        figure,
        "hypervolume",
        "hypervolume.png",
        "Hypervolume against experiment number",
        "The volume of objective space that the results meeting every outcome constraint "
        "dominate, after each experiment, in units of "
        + " × ".join(f"{n} ({data.units(n)})" if data.units(n) else n for n in names)
        + f", against the reference point {said} ({how}); "
        "a flat stretch is experiments that did not move the front.",
    )


def final_model_check(data: ReportData) -> ModelCheck | None:
    """The planner's model refitted to every result with every objective's value, checked
    (:func:`genesis_lab.planning.check_model`); None with fewer than three results."""
    from genesis_lab.planning import check_model

    if not data.searched:
        return None
    names = [o.name for o in data.spec.all_objectives]
    results = [
        (t.trial.trial_id, t.trial.parameters, t.values)
        for t in data.trials
        if all(n in t.values for n in names)
    ]
    return check_model(data.spec, results)


def model_check_figure(data: ReportData, check: ModelCheck | None) -> ReportFigure | None:
    """Per objective: each parameter's importance (inverse length scale, normalised) and
    the leave-one-out predictions against the measurements, with ±2σ bars."""
    if check is None:
        return None
    rows = len(check.objectives)
    searched = [p.name for p in data.searched]
    figure = new_figure(10.0, 0.8 + 3.6 * rows)
    axes = grid(figure, 2 * rows, 2)
    for index, objective in enumerate(check.objectives):
        bars, loo = axes[2 * index], axes[2 * index + 1]
        shares = [objective.importance[n] for n in searched]
        bars.barh(range(len(searched)), shares, color="#1f77b4")
        bars.set_yticks(range(len(searched)), [text(n) for n in searched], fontsize=8)
        bars.invert_yaxis()
        bars.set_xlim(0, max(1.0, max(shares) * 1.05) if shares else 1.0)
        bars.set_xlabel("importance (1 / length scale, shares sum to 1)", fontsize=8)
        for y, share in enumerate(shares):
            bars.text(share, y, f" {share:.2f}", va="center", fontsize=7)
        bars.set_title(text(f"{objective.name}: parameter importance"), fontsize=9)
        observed, mean = objective.observed, objective.loo_mean
        two = [2 * s for s in objective.loo_std]
        loo.errorbar(
            observed,
            mean,
            yerr=two,
            fmt="o",
            color="#1f77b4",
            ecolor="#555555",
            capsize=3,
            ms=4,
            label="leave-one-out prediction ±2σ",
        )
        low = min(min(observed), *(m - e for m, e in zip(mean, two, strict=True)))
        high = max(max(observed), *(m + e for m, e in zip(mean, two, strict=True)))
        pad = (high - low) * 0.05 or 1.0
        loo.plot(
            [low - pad, high + pad],
            [low - pad, high + pad],
            color="#888888",
            ls="--",
            lw=1,
            label="predicted = observed",
        )
        n = len(observed)
        loo.set_title(
            text(
                f"{objective.name}: {objective.within_two_sd} of {n} within ±2σ "
                f"({100 * objective.within_two_sd / n:.0f} %; calibrated: about 95 %)"
            ),
            fontsize=9,
        )
        units = data.units(objective.name)
        loo.set_xlabel(f"observed {label(objective.name, units)}", fontsize=9)
        loo.set_ylabel(f"predicted without it {label(objective.name, units)}", fontsize=9)
    fitted = (
        f"all {check.n} results"
        if check.n == check.available
        else f"the latest {check.n} of {check.available} results"
    )
    return finish(
        figure,
        "final-model",
        "final_model.png",
        "The final model, checked",
        f"The planner's model of each objective refitted to {fitted} with every objective "
        "measured (its own model code, the campaign's seed). Left: how much each searched "
        "parameter matters to it, the inverse of its fitted length scale (in the parameter's "
        "range) as a share of the total; a long length scale means the objective hardly "
        "changes along that parameter. Right: each result predicted by the model without it "
        "(closed-form leave-one-out with the hyperparameters fitted to every result, so "
        "slightly optimistic), with bars of ±2 standard deviations of an observation, noise "
        "included: a calibrated model has about 95 % of the results within them, far fewer "
        "means it is over-confident.",
    )
