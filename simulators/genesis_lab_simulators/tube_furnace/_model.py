"""The physics of the tube furnace's film anneal: pure math, no sockets.

A thin oxide film is annealed at temperature ``T`` (degC), reached at a ramp rate ``r``
(K/min). Its sheet resistance (ohm/sq), measured in situ by a four-point probe, is

    R(T, r) = R_MIN / (X(T) * L(T) * F(r))

- ``X(T) = 1 / (1 + exp(-(T - CRYSTALLISE_C) / WIDTH_K))``: the crystallised fraction;
- ``L(T) = 1 / (1 + exp((T - DECOMPOSE_C) / WIDTH_K))``: the fraction not decomposed;
- ``F(r) = exp(-(ln(r / BEST_RAMP_K_PER_MIN))**2 / (2 * RAMP_WIDTH**2))``: too fast a
  ramp cracks the film, too slow a one coarsens its grains.

``X * L`` is symmetric about the midpoint of the two transition temperatures and
log-concave, so the unique optimum is at ``OPTIMAL_TEMPERATURE_C`` (600 degC) and
``BEST_RAMP_K_PER_MIN`` (10 K/min), where ``R == OPTIMAL_VALUE`` (about 8.18 ohm/sq).
"""

from __future__ import annotations

import math

__all__ = [
    "BEST_RAMP_K_PER_MIN",
    "CRYSTALLISE_C",
    "DECOMPOSE_C",
    "OPTIMAL_TEMPERATURE_C",
    "OPTIMAL_VALUE",
    "RAMP_WIDTH",
    "R_MIN_OHM_SQ",
    "WIDTH_K",
    "sheet_resistance",
]

R_MIN_OHM_SQ = 8.0
CRYSTALLISE_C = 420.0
DECOMPOSE_C = 780.0
WIDTH_K = 40.0
BEST_RAMP_K_PER_MIN = 10.0
RAMP_WIDTH = 0.7
OPTIMAL_TEMPERATURE_C = (CRYSTALLISE_C + DECOMPOSE_C) / 2.0
#: The lowest sheet resistance (ohm/sq), at OPTIMAL_TEMPERATURE_C and BEST_RAMP_K_PER_MIN.
OPTIMAL_VALUE = R_MIN_OHM_SQ * (1.0 + math.exp(-(DECOMPOSE_C - CRYSTALLISE_C) / (2 * WIDTH_K))) ** 2


def _logistic(x: float) -> float:
    if x < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def sheet_resistance(temperature_C: float, ramp_K_per_min: float) -> float:
    """Noise-free sheet resistance (ohm/sq) of a film annealed at ``temperature_C``."""
    if not ramp_K_per_min > 0.0:
        raise ValueError(f"ramp rate must be > 0 K/min, got {ramp_K_per_min}")
    crystallised = _logistic((temperature_C - CRYSTALLISE_C) / WIDTH_K)
    intact = _logistic((DECOMPOSE_C - temperature_C) / WIDTH_K)
    crack_free = math.exp(
        -(math.log(ramp_K_per_min / BEST_RAMP_K_PER_MIN) ** 2) / (2 * RAMP_WIDTH**2)
    )
    quality = crystallised * intact * crack_free
    return R_MIN_OHM_SQ / max(quality, 1e-9)
