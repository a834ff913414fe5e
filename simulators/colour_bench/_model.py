"""The physics of the colour bench: pure numpy, no Bluesky, no Ophyd.

Three dye pumps (cyan, magenta, yellow) dispense stock dye, ``v_i`` mL each, into a
cuvette that already holds ``BASE_VOLUME_ML`` of water. Dye ``i`` is then at

    c_i = v_i * STOCK_MM[i] / (BASE_VOLUME_ML + sum_j v_j)        (mM)

A spectrophotometer reads absorbance in ``len(BANDS_NM)`` bands by Beer–Lambert:

    A_b = PATHLENGTH_CM * sum_i ABSORPTIVITY[b, i] * c_i          (absorbance units, AU)

The target colour is the absorbance vector of ``TARGET_VOLUMES_ML``; the reading

    colour_error = 100 * || A_measured - A_target ||_2            ("ΔA×100")

is zero there and nowhere else in the box: volumes -> concentrations is injective
(given ``c``, the total volume is ``T = BASE / (1 - sum_i c_i / STOCK_i)`` and ``v_i =
c_i T / STOCK_i``), and concentrations -> absorbances is linear with a full-column-rank
absorptivity matrix (condition number about 2.2). So ``OPTIMAL_VALUE = 0.0`` is reached
only at ``TARGET_VOLUMES_ML``, which lies inside the pumps' limits, not on a face.

Noise is Gaussian on each band's absorbance with standard deviation ``noise_std`` (AU),
drawn from the ``numpy.random.Generator`` the caller passes, so a seed fixes the stream.
With noise the error at the optimum is not exactly zero: its mean is about
``100 * noise_std * sqrt(len(BANDS_NM))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ABSORPTIVITY",
    "ACTUATOR_NAMES",
    "BANDS_NM",
    "BASE_VOLUME_ML",
    "DYES",
    "OPTIMAL_VALUE",
    "PATHLENGTH_CM",
    "STOCK_MM",
    "TARGET_ABSORBANCES",
    "TARGET_VOLUMES_ML",
    "VOLUME_LIMITS_ML",
    "absorbances",
    "colour_error",
    "error_from_absorbances",
    "measure",
    "objective",
]


def _frozen(values: object) -> NDArray[np.float64]:
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


#: Dyes in the order of every volume vector.
DYES: tuple[str, ...] = ("cyan", "magenta", "yellow")
#: Actuator (Ophyd device) names of the dye pumps, in ``DYES`` order.
ACTUATOR_NAMES: tuple[str, ...] = tuple(f"pump_{dye}" for dye in DYES)
#: Centre wavelengths of the spectrophotometer bands (nm).
BANDS_NM: tuple[int, ...] = (450, 500, 550, 650)
#: Water already in the cuvette before any dye is added (mL).
BASE_VOLUME_ML = 20.0
#: Concentration of each stock dye, in ``DYES`` order (mM).
STOCK_MM = _frozen([0.5, 0.5, 0.5])
#: Optical path length of the cuvette (cm).
PATHLENGTH_CM = 1.0
#: Molar absorptivity, rows = ``BANDS_NM``, columns = ``DYES`` (1/(mM·cm)). Yellow absorbs
#: blue (450 nm), magenta green (550 nm), cyan red (650 nm), with realistic cross-talk.
ABSORPTIVITY = _frozen(
    [
        [1.5, 2.5, 9.0],  # 450 nm
        [2.5, 4.5, 4.0],  # 500 nm
        [3.0, 8.5, 0.8],  # 550 nm
        [8.0, 1.2, 0.2],  # 650 nm
    ]
)
#: Safe range of every pump (mL), inclusive.
VOLUME_LIMITS_ML: tuple[float, float] = (0.0, 10.0)
#: The volumes that make the target colour (mL), in ``DYES`` order: the known optimum.
TARGET_VOLUMES_ML = _frozen([3.2, 6.1, 1.5])
#: ``colour_error`` at ``TARGET_VOLUMES_ML`` without noise (ΔA×100).
OPTIMAL_VALUE = 0.0


def _volumes(volumes_mL: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    v = np.asarray(volumes_mL, dtype=np.float64)
    if v.shape != (len(DYES),):
        raise ValueError(
            f"expected {len(DYES)} dye volumes in the order {DYES}, got shape {v.shape}"
        )
    if not np.all(np.isfinite(v)) or np.any(v < 0.0):
        raise ValueError(f"dye volumes must be finite and >= 0 mL, got {v.tolist()}")
    return v


def absorbances(volumes_mL: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Noise-free absorbance (AU) in each of ``BANDS_NM`` for dye volumes in ``DYES`` order."""
    v = _volumes(volumes_mL)
    concentration_mM = v * STOCK_MM / (BASE_VOLUME_ML + v.sum())
    return np.asarray(PATHLENGTH_CM * (ABSORPTIVITY @ concentration_mM), dtype=np.float64)


#: Absorbance vector of the target colour (AU), one per band in ``BANDS_NM``.
TARGET_ABSORBANCES = _frozen(absorbances(TARGET_VOLUMES_ML))


def measure(
    volumes_mL: Sequence[float] | NDArray[np.float64],
    rng: np.random.Generator | None = None,
    noise_std: float = 0.0,
) -> NDArray[np.float64]:
    """Absorbances (AU) as the spectrophotometer reports them: plus Gaussian noise.

    ``rng`` is required when ``noise_std > 0``; one normal draw per band is taken from it.
    """
    clean = absorbances(volumes_mL)
    if noise_std < 0.0:
        raise ValueError(f"noise_std must be >= 0 AU, got {noise_std}")
    if noise_std == 0.0:
        return clean
    if rng is None:
        raise ValueError("pass a numpy Generator as rng when noise_std > 0")
    return clean + rng.normal(0.0, noise_std, size=clean.shape)


def error_from_absorbances(measured: Sequence[float] | NDArray[np.float64]) -> float:
    """``colour_error`` (ΔA×100) of a measured absorbance vector against the target."""
    a = np.asarray(measured, dtype=np.float64)
    if a.shape != TARGET_ABSORBANCES.shape:
        raise ValueError(f"expected {len(BANDS_NM)} absorbances, got shape {a.shape}")
    return float(100.0 * np.linalg.norm(a - TARGET_ABSORBANCES))


def colour_error(
    volumes_mL: Sequence[float] | NDArray[np.float64],
    rng: np.random.Generator | None = None,
    noise_std: float = 0.0,
) -> float:
    """Distance (ΔA×100) between the colour these volumes make and the target colour."""
    return error_from_absorbances(measure(volumes_mL, rng, noise_std))


def objective(
    volumes: Mapping[str, float],
    *,
    rng: np.random.Generator | None = None,
    noise_std: float = 0.0,
) -> float:
    """``colour_error`` for volumes (mL) keyed by actuator name, for benchmarks without Bluesky.

    ``volumes`` must have exactly the keys ``ACTUATOR_NAMES`` (``pump_cyan``, ...).
    """
    missing = [name for name in ACTUATOR_NAMES if name not in volumes]
    extra = sorted(set(volumes) - set(ACTUATOR_NAMES))
    if missing or extra:
        raise ValueError(
            f"objective needs volumes for exactly {list(ACTUATOR_NAMES)}; "
            f"missing {missing}, unknown {extra}"
        )
    return colour_error([volumes[name] for name in ACTUATOR_NAMES], rng, noise_std)
