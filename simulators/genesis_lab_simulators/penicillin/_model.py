"""Fed-batch penicillin fermentation: the ODE model of Liang and Lai (2021), as in BoTorch.

Source: Q. Liang and L. Lai (2021), "Scalable Bayesian Optimization Accelerates Process
Optimization of Penicillin Production", NeurIPS 2021 AI for Science Workshop; the
simulator of https://github.com/HarryQL/TuRBO-Penicillin, as vectorised in BoTorch's
``botorch.test_functions.multi_objective.Penicillin``. Their kinetics are a reduced form
of G. Birol, C. Ündey and A. Çinar (2002), "A modular simulation package for fed-batch
fermentation: penicillin production", Computers & Chemical Engineering 26(11),
1553-1565, from which the units below are taken.

State (units): culture volume ``V`` (L), biomass ``X`` (g/L), glucose ``S`` (g/L),
penicillin ``P`` (g/L), CO2 evolved ``CO2`` (mmol/L). Held constant over the batch (the
settings): temperature ``T`` (K), substrate feed rate ``F`` (L/h), feed glucose
concentration ``s_f`` (g/L), and pH (``[H+] = 10**-pH`` mol/L). Time ``t`` in hours.
Initial state: ``V``, ``X``, ``S`` from the settings, ``P = CO2 = 0``.

Equations (constants below, named as in BoTorch)::

    F_loss = V * LAMBD * expm1(5 * (T - T_O) / (T_V - T_O))          evaporation, L/h
    dV/dt  = F - F_loss
    mu     = MU_X / (1 + K_1/[H+] + [H+]/K_2) * S / (K_X*X + S)
             * (K_G * exp(-E_G/(R*T)) - K_D * exp(-E_D/(R*T)))       specific growth, 1/h
    dX/dt  = mu*X - (X/V) * dV/dt
    mu_pp  = MU_P * S / (K_P + S + S**2/K_I)                         specific production, 1/h
    dS/dt  = -(mu/Y_XS)*X - (mu_pp/Y_PS)*X - M_X*X + F*s_f/V - (S/V) * dV/dt
    dP/dt  = mu_pp*X - K*P - (P/V) * dV/dt
    dCO2/dt = ALPHA_1 * dX/dt + ALPHA_2*X + ALPHA_3

integrated by explicit Euler with a step of one hour (``t = 1, 2, ...``), all states
updated together from the previous hour's. The batch ends at the first hour ``t`` after
whose update the reactor is over-full (``V > V_MAX``), the glucose is spent (``S < 0``) or
production has stopped (that hour's ``dP/dt < 1e-11`` g/(L h)); that hour's update counts.
Readings: ``titer`` = ``P`` at the end (g/L; maximise), ``co2`` = ``CO2`` at the end
(mmol/L; minimise), ``batch_time`` = the end hour ``t`` (h; minimise). BoTorch's problem
is ``(-titer, co2, batch_time)``, minimised; :func:`simulate_batch` reproduces it to
round-off (the tests check).

Failure region (:class:`ExperimentFailed`): ``mode="culture_failed"`` when the batch ends
before ``starvation_h`` hours (48 h by default): a dense inoculum in too little glucose,
fed too slowly to cover its maintenance, spends the glucose within hours (the Euler step
then leaves the physical bound ``S >= 0``) or production stops (penicillin hydrolysis
outruns synthesis); the culture starves before the production phase and makes at most
about 1.3 g/L. Over the settings' box batch times are bimodal: under ~50 h (starved) or
over ~150 h (a real batch), so the threshold is not delicate. ``mode="batch_overrun"``
when the batch has not ended after ``max_batch_h`` hours (BoTorch's 2,500 h; not reached
in the box, so only a smaller ``max_batch_h`` shows it).

Simplified, relative to Birol et al. (2002): no dissolved oxygen, heat balance, pH or
temperature control loops (T and pH are constant, pH acts only through the growth
inhibition term), constant feed, no acid/base addition, one-hour Euler steps (so the batch
time is a whole number of hours and the last step overshoots ``S`` slightly below 0), and
BoTorch's stopping rules. Biomass is not capped (no oxygen limit), so it climbs to a few
hundred g/L over a long batch, beyond what a real broth holds. The death term sits inside
the substrate factor of ``mu``, as in BoTorch. Measurement noise (``measure``) is ours:
relative Gaussian, ``TITER_REL_NOISE`` (2 %, an HPLC assay) on the titer,
``CO2_REL_NOISE`` (3 %, off-gas analysis) on the CO2, none on the batch time (the
controller logs the hour), all scaled by ``noise_scale``. ``duration_s`` is the batch time
(or the hours until a failed culture was seen to fail).

Optimum. The batch ends at a whole hour, on a threshold (``S < 0``, ``dP/dt < 1e-11``), so
the titer is piecewise smooth in the settings with jumps where the ending hour changes, and
thin slivers of the box (well under 1 % of a setting's range across) where the state hovers
just above a threshold (glucose held near zero by the feed, or production just balancing
hydrolysis) and the batch runs on for tens to hundreds of hours more. The best titers are
on such slivers; where one lies is decided by the last bits of the arithmetic, so the
operations here keep BoTorch's order (the two agree to round-off, except on a sliver's
very edge: about 2 in 100,000 uniform random points). The maximum-yield region: batches ending
on spent glucose reach 12.5-14.7 g/L (17 g/L on slivers) at the lowest temperature (293 K),
the strongest feed (700 g/L) fed fast (~0.4-0.5 L/h), in ~355 h with ~80 mmol/L CO2;
batches ending on stalled production reach 20-24 g/L at 301-303 K with a slow feed
(0.01-0.08 L/h), in 400-650 h with only 20-35 mmol/L CO2, but only on slivers.
``OPTIMUM_SETTINGS`` / ``OPTIMUM_READINGS`` (23.6 g/L, 443 h) is the best found: from
300,000-400,000 uniform random points, the best 100-150 refined by a vectorised (1+60)
to (1+100) evolution strategy (step 5 % of each range, x1.2 on success, x0.8 on failure,
250-300 generations; scoring the worst of each candidate and two copies nudged by 1e-6 of
each range, so as not to stop on a sliver's edge), over several seeds, then polished by
random nudges of 1e-3 to 1e-7 of each range, keeping only points where BoTorch gives the
same readings (scipy's differential evolution stalls near 15 g/L on this landscape). It is
the best known value, not a certified supremum, and a sliver: nudging the settings by
1e-4 of their ranges can drop the titer below 8 g/L. The tests check that a random
search with local refinement finds nothing better. ``ROBUST_OPTIMUM_SETTINGS`` /
``ROBUST_OPTIMUM_READINGS`` (14.7 g/L, 356 h, glucose-limited) is the best found whose
titer holds within 1 % under nudges of 1e-4 of each range (same search): the target a
noisy campaign can actually hold. ``PARETO_POINTS``: the same search with the titer
maximised under a CO2 cap (``PARETO_CO2_CAPS``); the tests check no sampled point
dominates them. ``BOTORCH_REF_POINT`` is BoTorch's ``_ref_point``, in its minimisation
form ``(-titer, co2, batch_time)``; with ``negate=True`` it is ``(-25.935, -57.612,
-935.5)`` for ``(titer, -co2, -batch_time)``. Read literally its titer component
(``-titer <= 25.935``) bounds nothing, as titers are positive; its CO2 (57.612 mmol/L) and
time (935.5 h) components do. ``BOTORCH_MAX_HV`` is BoTorch's ``_max_hv`` for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from genesis_lab_simulators._domain._model import (
    DomainModel,
    ExperimentFailed,
    Reading,
    Setting,
    SettingValue,
)

__all__ = [
    "BOTORCH_MAX_HV",
    "BOTORCH_REF_POINT",
    "CO2_REL_NOISE",
    "END_OVERFULL",
    "END_PRODUCTION_STOPPED",
    "END_RUNNING",
    "END_SUBSTRATE_SPENT",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PARETO_CO2_CAPS",
    "PARETO_POINTS",
    "ROBUST_OPTIMUM_READINGS",
    "ROBUST_OPTIMUM_SETTINGS",
    "SETTING_NAMES",
    "TITER_REL_NOISE",
    "BatchResult",
    "PenicillinModel",
    "simulate_batch",
]

# Kinetic constants of BoTorch's Penicillin (Liang and Lai 2021; units after Birol 2002).
Y_XS = 0.45  # biomass yield on glucose, g/g
Y_PS = 0.90  # penicillin yield on glucose, g/g
K_1 = 1e-10  # growth inhibition constant for low [H+], mol/L
K_2 = 7e-5  # growth inhibition constant for high [H+], mol/L
M_X = 0.014  # maintenance coefficient on glucose, 1/h (g glucose per g biomass per h)
ALPHA_1 = 0.143  # CO2 per biomass grown, mmol/g
ALPHA_2 = 4e-7  # CO2 from biomass maintenance, mmol/(g h)
ALPHA_3 = 1e-4  # CO2 baseline, mmol/(L h)
MU_X = 0.092  # maximum specific growth rate, 1/h
K_X = 0.15  # Contois saturation constant, g glucose / g biomass
MU_P = 0.005  # maximum specific production rate, 1/h
K_P = 0.0002  # production saturation constant, g/L
K_I = 0.10  # substrate inhibition constant of production, g/L
K = 0.04  # penicillin hydrolysis rate, 1/h
K_G = 7.0e3  # Arrhenius factor of growth, dimensionless
E_G = 5100.0  # activation energy of growth, cal/mol
K_D = 1e33  # Arrhenius factor of death, dimensionless
E_D = 50000.0  # activation energy of death, cal/mol
LAMBD = 2.5e-4  # evaporation constant, 1/h
T_V = 273.0  # freezing point of the broth, K
T_O = 373.0  # boiling point of the broth, K
R = 1.9872  # gas constant, cal/(mol K)
V_MAX = 180.0  # reactor working volume, L
#: BoTorch's integration horizon (h): a batch not ended by then is an overrun.
MAX_BATCH_H = 2500
#: Production counts as stopped below this dP/dt, g/(L h) (BoTorch's ``10e-12``).
DP_STOP = 1e-11

#: Why a batch ended (``BatchResult.end``).
END_RUNNING = 0
END_OVERFULL = 1
END_SUBSTRATE_SPENT = 2
END_PRODUCTION_STOPPED = 3

#: The settings in BoTorch's input order.
SETTING_NAMES = (
    "penicillin_culture_volume",
    "penicillin_biomass_concentration",
    "penicillin_temperature",
    "penicillin_glucose_concentration",
    "penicillin_substrate_feed_rate",
    "penicillin_substrate_feed_concentration",
    "penicillin_h_ion_concentration",
)

#: BoTorch's reference point, minimisation form (-titer g/L, co2 mmol/L, batch_time h).
BOTORCH_REF_POINT = (25.935, 57.612, 935.5)
#: BoTorch's maximum hypervolume with respect to BOTORCH_REF_POINT.
BOTORCH_MAX_HV = 2183455.909507436

#: Settings of the highest titer known over the box (see the module docstring).
OPTIMUM_SETTINGS: dict[str, float] = {
    "penicillin_culture_volume": 111.62776973287023,
    "penicillin_biomass_concentration": 17.93530218790383,
    "penicillin_temperature": 302.3355156319493,
    "penicillin_glucose_concentration": 1.9697029445527792,
    "penicillin_substrate_feed_rate": 0.07159735954174612,
    "penicillin_substrate_feed_concentration": 617.2571458944249,
    "penicillin_h_ion_concentration": 5.132649092045218,
}
#: Readings at OPTIMUM_SETTINGS: titer (g/L), co2 (mmol/L), batch_time (h).
OPTIMUM_READINGS: dict[str, float] = {
    "titer": 23.615467907156795,
    "co2": 27.06702312520712,
    "batch_time": 443.0,
}
#: Settings of the highest titer known that holds (within 1 %) when every setting is
#: nudged by up to 1e-4 of its range: the best a noisy campaign can hope to keep.
ROBUST_OPTIMUM_SETTINGS: dict[str, float] = {
    "penicillin_culture_volume": 65.91385073090397,
    "penicillin_biomass_concentration": 14.367231726687105,
    "penicillin_temperature": 293.0000018599066,
    "penicillin_glucose_concentration": 4.504381468821898,
    "penicillin_substrate_feed_rate": 0.4927347233911571,
    "penicillin_substrate_feed_concentration": 700.0,
    "penicillin_h_ion_concentration": 6.314749006965111,
}
#: Readings at ROBUST_OPTIMUM_SETTINGS: titer (g/L), co2 (mmol/L), batch_time (h).
ROBUST_OPTIMUM_READINGS: dict[str, float] = {
    "titer": 14.742053851509663,
    "co2": 80.98793079456034,
    "batch_time": 356.0,
}
#: Points of the trade-off between titer and CO2, as (settings, readings): the highest
#: titer known with no cap on CO2 (the optimum) and with ``co2 <= 20`` mmol/L. No point
#: of the box is known to dominate either.
PARETO_POINTS: tuple[tuple[dict[str, float], dict[str, float]], ...] = (
    (OPTIMUM_SETTINGS, OPTIMUM_READINGS),
    (
        {
            "penicillin_culture_volume": 74.74332313895704,
            "penicillin_biomass_concentration": 15.526729452086744,
            "penicillin_temperature": 302.0890795030424,
            "penicillin_glucose_concentration": 3.922525096169683,
            "penicillin_substrate_feed_rate": 0.04489994439618635,
            "penicillin_substrate_feed_concentration": 607.0595771923925,
            "penicillin_h_ion_concentration": 5.064356478697492,
        },
        {"titer": 17.601087703882044, "co2": 19.964413124684533, "batch_time": 342.0},
    ),
)
#: The CO2 caps (mmol/L) under which PARETO_POINTS have the highest known titer.
PARETO_CO2_CAPS: tuple[float, ...] = (math.inf, 20.0)

#: Relative standard deviation of the titer assay (HPLC), at noise_scale 1.
TITER_REL_NOISE = 0.02
#: Relative standard deviation of the CO2 (off-gas) measurement, at noise_scale 1.
CO2_REL_NOISE = 0.03


@dataclass(frozen=True)
class BatchResult:
    """End states of ``n`` batches: arrays of shape ``(n,)``.

    ``titer`` g/L, ``co2`` mmol/L, ``batch_time`` h (whole hours), ``volume`` L,
    ``biomass`` and ``glucose`` g/L; ``end`` one of the ``END_*`` codes.
    """

    titer: NDArray[np.float64]
    co2: NDArray[np.float64]
    batch_time: NDArray[np.int64]
    volume: NDArray[np.float64]
    biomass: NDArray[np.float64]
    glucose: NDArray[np.float64]
    end: NDArray[np.int64]


def simulate_batch(x: ArrayLike, *, max_batch_h: int = MAX_BATCH_H) -> BatchResult:
    """Run ``n`` batches at once. ``x``: shape ``(n, 7)`` (or ``(7,)``), the settings in
    ``SETTING_NAMES`` order (V L, X g/L, T K, S g/L, F L/h, s_f g/L, pH)."""
    arr = np.array(x, dtype=np.float64, ndmin=2)
    if arr.ndim != 2 or arr.shape[1] != len(SETTING_NAMES):
        raise ValueError(f"x must have shape (n, {len(SETTING_NAMES)}), got {arr.shape}")
    V, X, T, S, F, s_f, ph = (arr[:, i].copy() for i in range(arr.shape[1]))
    n = arr.shape[0]
    H = 10.0**-ph
    P = np.zeros(n)
    CO2 = np.zeros(n)
    t_end = np.full(n, max_batch_h, dtype=np.int64)
    end = np.full(n, END_RUNNING, dtype=np.int64)
    # Constant over the batch, per culture. The operations keep BoTorch's order, to the
    # last rounding: near a needle (module docstring) one ulp can change the batch.
    inhibition = MU_X / (1.0 + K_1 / H + H / K_2)
    arrhenius = K_G * np.exp(-E_G / (R * T)) - K_D * np.exp(-E_D / (R * T))
    evaporation = np.expm1(5.0 * ((T - T_O) / (T_V - T_O)))
    idx = np.arange(n)
    for t in range(1, max_batch_h + 1):
        if idx.size == 0:
            break
        v, xb, s, p = V[idx], X[idx], S[idx], P[idx]
        dv = F[idx] - v * LAMBD * evaporation[idx]
        mu = inhibition[idx] * (s / (K_X * xb + s)) * arrhenius[idx]
        dx = mu * xb - xb / v * dv
        mu_pp = MU_P * (s / (K_P + s + s * s / K_I))
        ds = -(mu / Y_XS) * xb - (mu_pp / Y_PS) * xb - M_X * xb + F[idx] * s_f[idx] / v - s / v * dv
        dp = mu_pp * xb - K * p - p / v * dv
        P[idx] = p + dp
        V[idx] = v + dv
        X[idx] = xb + dx
        S[idx] = s + ds
        CO2[idx] += ALPHA_1 * dx + ALPHA_2 * xb + ALPHA_3
        why = np.zeros(idx.size, dtype=np.int64)
        why[dp < DP_STOP] = END_PRODUCTION_STOPPED
        why[S[idx] < 0.0] = END_SUBSTRATE_SPENT
        why[V[idx] > V_MAX] = END_OVERFULL
        stopped = why > 0
        t_end[idx[stopped]] = t
        end[idx[stopped]] = why[stopped]
        idx = idx[~stopped]
    return BatchResult(P, CO2, t_end, V, X, S, end)


def _simulate_one(x: list[float], max_batch_h: int) -> tuple[float, float, int, int]:
    """One batch in plain floats (the same arithmetic as :func:`simulate_batch`, ~100x
    faster for a single point): titer g/L, co2 mmol/L, batch_time h, end code."""
    V, X, T, S, F, s_f, ph = x
    H = 10.0**-ph
    inhibition = MU_X / (1.0 + K_1 / H + H / K_2)
    arrhenius = K_G * math.exp(-E_G / (R * T)) - K_D * math.exp(-E_D / (R * T))
    evaporation = math.expm1(5.0 * ((T - T_O) / (T_V - T_O)))
    P = CO2 = 0.0
    for t in range(1, max_batch_h + 1):
        dv = F - V * LAMBD * evaporation
        mu = inhibition * (S / (K_X * X + S)) * arrhenius
        dx = mu * X - X / V * dv
        mu_pp = MU_P * (S / (K_P + S + S * S / K_I))
        ds = -(mu / Y_XS) * X - (mu_pp / Y_PS) * X - M_X * X + F * s_f / V - S / V * dv
        dp = mu_pp * X - K * P - P / V * dv
        CO2 += ALPHA_1 * dx + ALPHA_2 * X + ALPHA_3
        P, V, X, S = P + dp, V + dv, X + dx, S + ds
        if V > V_MAX:
            return P, CO2, t, END_OVERFULL
        if S < 0.0:
            return P, CO2, t, END_SUBSTRATE_SPENT
        if dp < DP_STOP:
            return P, CO2, t, END_PRODUCTION_STOPPED
    return P, CO2, max_batch_h, END_RUNNING


class PenicillinModel(DomainModel):
    """A fed-batch penicillin fermenter (Liang and Lai 2021, as in BoTorch's ``Penicillin``).

    Options: ``noise_scale`` multiplies the measurement noise (0: none);
    ``starvation_h`` (h): a batch ending sooner is a failed culture; ``max_batch_h`` (h):
    a batch running longer is an overrun.
    """

    name = "penicillin"
    source = (
        "Q. Liang and L. Lai (2021), Scalable Bayesian Optimization Accelerates Process "
        "Optimization of Penicillin Production, NeurIPS 2021 AI for Science Workshop; as "
        "botorch.test_functions.multi_objective.Penicillin. Kinetics after G. Birol, "
        "C. Undey and A. Cinar (2002), Computers & Chemical Engineering 26(11), 1553-1565."
    )
    settings = (
        Setting(
            "penicillin_culture_volume",
            "L",
            limits=(60.0, 120.0),
            default=90.0,
            description="initial culture volume V",
        ),
        Setting(
            "penicillin_biomass_concentration",
            "g/L",
            limits=(0.05, 18.0),
            default=5.0,
            description="initial biomass concentration X (inoculum)",
        ),
        Setting(
            "penicillin_temperature",
            "K",
            limits=(293.0, 303.0),
            default=298.0,
            description="culture temperature T, held constant",
        ),
        Setting(
            "penicillin_glucose_concentration",
            "g/L",
            limits=(0.05, 18.0),
            default=9.0,
            description="initial glucose concentration S",
        ),
        Setting(
            "penicillin_substrate_feed_rate",
            "L/h",
            limits=(0.01, 0.5),
            default=0.1,
            description="glucose feed flow rate F, constant",
        ),
        Setting(
            "penicillin_substrate_feed_concentration",
            "g/L",
            limits=(500.0, 700.0),
            default=600.0,
            description="glucose concentration s_f of the feed",
        ),
        Setting(
            "penicillin_h_ion_concentration",
            "pH",
            limits=(5.0, 6.5),
            default=5.75,
            description="H+ concentration as pH = -log10([H+] / (mol/L)), held constant",
        ),
    )
    readings = (
        Reading("titer", "g/L", "penicillin yield: concentration at the end of the batch"),
        Reading("co2", "mmol/L", "CO2 evolved over the batch"),
        Reading("batch_time", "h", "fermentation time until the batch ends"),
    )

    def __init__(
        self,
        *,
        noise_scale: float = 1.0,
        starvation_h: float = 48.0,
        max_batch_h: int = MAX_BATCH_H,
    ) -> None:
        if not noise_scale >= 0.0:
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
        if not max_batch_h >= 1:
            raise ValueError(f"max_batch_h must be >= 1 h, got {max_batch_h}")
        self.noise_scale = float(noise_scale)
        self.starvation_h = float(starvation_h)
        self.max_batch_h = int(max_batch_h)
        # One-entry cache: measure() and duration_s() usually follow evaluate() at a point.
        self._last: tuple[tuple[float, ...], tuple[float, float, int, int]] | None = None

    def _vector(self, values: Mapping[str, SettingValue]) -> list[float]:
        missing = [name for name in SETTING_NAMES if name not in values]
        if missing:
            raise KeyError(f"missing settings {missing}; give every one of {SETTING_NAMES}")
        out = []
        for setting in self.settings:
            value = float(values[setting.name])
            low, high = setting.limits or (-math.inf, math.inf)
            if not (low <= value <= high) or math.isnan(value):
                raise ValueError(
                    f"{setting.name} = {value} {setting.units} is outside "
                    f"[{low}, {high}] {setting.units}"
                )
            out.append(value)
        return out

    def _run(self, values: Mapping[str, SettingValue]) -> tuple[float, float, int, int]:
        x = self._vector(values)
        key = tuple(x)
        if self._last is None or self._last[0] != key:
            self._last = (key, _simulate_one(x, self.max_batch_h))
        return self._last[1]

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        """Titer (g/L), CO2 (mmol/L) and batch time (h) at the end of the batch."""
        titer, co2, hours, end = self._run(values)
        if end == END_RUNNING:
            raise ExperimentFailed(
                f"the batch had not ended after {self.max_batch_h} h (no overflow, glucose "
                "left, still producing); raise max_batch_h or feed less",
                mode="batch_overrun",
            )
        if hours < self.starvation_h:
            cause = (
                "the glucose ran out"
                if end == END_SUBSTRATE_SPENT
                else "production stopped"
                if end == END_PRODUCTION_STOPPED
                else "the reactor overflowed"
            )
            raise ExperimentFailed(
                f"the culture failed after {hours} h ({cause}; titer "
                f"{titer:.3g} g/L): feed faster or inoculate less biomass",
                mode="culture_failed",
            )
        return {"titer": titer, "co2": co2, "batch_time": float(hours)}

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        """:meth:`evaluate` with relative Gaussian noise on titer and CO2 (see module)."""
        true = self.evaluate(values)
        scale = self.noise_scale
        titer = true["titer"] * (1.0 + scale * TITER_REL_NOISE * rng.standard_normal())
        co2 = true["co2"] * (1.0 + scale * CO2_REL_NOISE * rng.standard_normal())
        return {"titer": max(titer, 0.0), "co2": max(co2, 0.0), "batch_time": true["batch_time"]}

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        """The fermentation time (until the batch ended, or the culture was seen to fail)."""
        return 3600.0 * float(self._run(values)[2])
