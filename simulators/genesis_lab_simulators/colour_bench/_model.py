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

The cuvette's solvent (``SOLVENTS``; water unless a solvent selector says otherwise) changes
the measured colour by solvatochromism, modelled per solvent as a band shift and an
absorbance scale applied to the water absorbances ``A``:

    A_solvent = SOLVENT_SCALE[s] * shift_matrix(SOLVENT_SHIFT[s]) @ A

where a shift ``w > 0`` (bathochromic, towards the red) moves the share ``w`` of each
band's absorbance into the next longer-wavelength band, ``w < 0`` (hypsochromic) into the
next shorter one. Water (``REFERENCE_SOLVENT``) is the identity, so readings in water are
exactly those of the bench without a selector. Only in water can the target be matched:
the shifted absorbances leave the span of the target, and the best ``colour_error`` in each
other solvent is ``SOLVENT_BEST_ERROR`` (ethanol 8.45, glycerol 6.85, acetone 12.38 ΔA×100,
found by a multi-start search over the box), well above the noise floor. The categorical
optimum is therefore water at ``TARGET_VOLUMES_ML``.

Further outcomes, for campaigns with several objectives or outcome constraints:

- ``total_dye(v) = sum_i v_i`` (mL), 10.8 mL at the optimum: less dye gives a worse match
  (any total below 10.8 mL misses the target), so (colour_error, total_dye) has a real
  Pareto front, and so has (colour_error, dye_cost).
- ``dye_cost(v) = sum_i DYE_PRICE_EUR_PER_ML[i] * v_i`` (EUR), 6.49 EUR at the optimum.
- ``min_transmittance(A) = 100 * 10**(-max_b A_b)`` (%), the light the darkest band lets
  through: 9.6 % at the optimum, 3.2 % at the darkest corner of the box, 100 % with no dye.

Failure region (off unless a limit is given): with ``precipitate_above_mL = L`` the dyes
precipitate when ``total_dye(v) > L`` and the measurement fails, the same for every
experiment in that region (:func:`precipitates`); the optimum needs 10.8 mL, so any
``L >= 10.8`` keeps it feasible (``L = 15`` makes half the box fail).

Noise is Gaussian on each band's absorbance with standard deviation ``noise_std`` (AU),
drawn from the ``numpy.random.Generator`` the caller passes, so a seed fixes the stream.
With noise the error at the optimum is not exactly zero: its mean is about
``100 * noise_std * sqrt(len(BANDS_NM))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ABSORPTIVITY",
    "ACTUATOR_NAMES",
    "BANDS_NM",
    "BASE_VOLUME_ML",
    "DYES",
    "DYE_PRICE_EUR_PER_ML",
    "OPTIMAL_VALUE",
    "PATHLENGTH_CM",
    "REFERENCE_SOLVENT",
    "SOLVENTS",
    "SOLVENT_ACTUATOR",
    "SOLVENT_BEST_ERROR",
    "SOLVENT_SCALE",
    "SOLVENT_SHIFT",
    "STOCK_MM",
    "TARGET_ABSORBANCES",
    "TARGET_VOLUMES_ML",
    "VOLUME_LIMITS_ML",
    "absorbances",
    "colour_error",
    "dye_cost",
    "error_from_absorbances",
    "measure",
    "min_transmittance",
    "objective",
    "precipitates",
    "shift_matrix",
    "total_dye",
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
#: Price of each stock dye, in ``DYES`` order (EUR/mL).
DYE_PRICE_EUR_PER_ML = _frozen([0.60, 0.70, 0.20])

#: Ophyd name of the solvent selector (when the bench has one); its data key is the same.
SOLVENT_ACTUATOR = "solvent"
#: Solvents the selector offers; the first is the reference, in which the target was made.
SOLVENTS: tuple[str, ...] = ("water", "ethanol", "glycerol", "acetone")
#: The solvent of a bench without a selector, the selector's default, and the only solvent in
#: which ``colour_error`` reaches ``OPTIMAL_VALUE``.
REFERENCE_SOLVENT = SOLVENTS[0]
#: Solvatochromic band shift of each solvent: the share of a band's absorbance moved to the
#: next longer-wavelength band (> 0, bathochromic) or shorter one (< 0, hypsochromic).
SOLVENT_SHIFT: Mapping[str, float] = MappingProxyType(
    {"water": 0.0, "ethanol": 0.30, "glycerol": -0.15, "acetone": -0.35}
)
#: Absorbance scale of each solvent (hyperchromic > 1, hypochromic < 1).
SOLVENT_SCALE: Mapping[str, float] = MappingProxyType(
    {"water": 1.0, "ethanol": 1.0, "glycerol": 1.30, "acetone": 0.85}
)
#: The lowest noise-free ``colour_error`` (ΔA×100) each solvent reaches in the box, to the
#: precision shown (multi-start L-BFGS-B over [0, 10]^3 mL; checked by the tests).
SOLVENT_BEST_ERROR: Mapping[str, float] = MappingProxyType(
    {"water": 0.0, "ethanol": 8.45, "glycerol": 6.85, "acetone": 12.38}
)


def _volumes(volumes_mL: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    v = np.asarray(volumes_mL, dtype=np.float64)
    if v.shape != (len(DYES),):
        raise ValueError(
            f"expected {len(DYES)} dye volumes in the order {DYES}, got shape {v.shape}"
        )
    if not np.all(np.isfinite(v)) or np.any(v < 0.0):
        raise ValueError(f"dye volumes must be finite and >= 0 mL, got {v.tolist()}")
    return v


def _solvent(solvent: str) -> str:
    if solvent not in SOLVENT_SHIFT:
        raise ValueError(f"unknown solvent {solvent!r}; choose one of: {', '.join(SOLVENTS)}")
    return solvent


def shift_matrix(shift: float) -> NDArray[np.float64]:
    """The band-mixing matrix of a solvatochromic shift (``len(BANDS_NM)`` square).

    Row ``b`` keeps ``1 - |shift|`` of band ``b`` and takes ``|shift|`` of band ``b - 1``
    (``shift > 0``: absorbance moves towards the red) or ``b + 1`` (``shift < 0``). The
    identity when ``shift == 0``.
    """
    if not -1.0 <= shift <= 1.0:
        raise ValueError(f"a band shift is a share within [-1, 1], got {shift}")
    n = len(BANDS_NM)
    matrix = np.eye(n) * (1.0 - abs(shift))
    for band in range(n):
        source = band - 1 if shift > 0 else band + 1
        if 0 <= source < n:
            matrix[band, source] += abs(shift)
    return matrix


def absorbances(
    volumes_mL: Sequence[float] | NDArray[np.float64], solvent: str = REFERENCE_SOLVENT
) -> NDArray[np.float64]:
    """Noise-free absorbance (AU) in each of ``BANDS_NM`` for dye volumes in ``DYES`` order.

    ``solvent`` (one of ``SOLVENTS``) applies its shift and scale; in water the result is
    exactly the Beer–Lambert absorbance.
    """
    v = _volumes(volumes_mL)
    concentration_mM = v * STOCK_MM / (BASE_VOLUME_ML + v.sum())
    water = np.asarray(PATHLENGTH_CM * (ABSORPTIVITY @ concentration_mM), dtype=np.float64)
    if _solvent(solvent) == REFERENCE_SOLVENT:
        return water
    shifted = SOLVENT_SCALE[solvent] * (shift_matrix(SOLVENT_SHIFT[solvent]) @ water)
    return np.asarray(shifted, dtype=np.float64)


#: Absorbance vector of the target colour (AU), one per band in ``BANDS_NM``.
TARGET_ABSORBANCES = _frozen(absorbances(TARGET_VOLUMES_ML))


def measure(
    volumes_mL: Sequence[float] | NDArray[np.float64],
    rng: np.random.Generator | None = None,
    noise_std: float = 0.0,
    *,
    solvent: str = REFERENCE_SOLVENT,
) -> NDArray[np.float64]:
    """Absorbances (AU) as the spectrophotometer reports them: plus Gaussian noise.

    ``rng`` is required when ``noise_std > 0``; one normal draw per band is taken from it
    (whatever the solvent, so a seed fixes the stream).
    """
    clean = absorbances(volumes_mL, solvent)
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
    *,
    solvent: str = REFERENCE_SOLVENT,
) -> float:
    """Distance (ΔA×100) between the colour these volumes make and the target colour."""
    return error_from_absorbances(measure(volumes_mL, rng, noise_std, solvent=solvent))


def total_dye(volumes_mL: Sequence[float] | NDArray[np.float64]) -> float:
    """Dye dispensed in all (mL), for volumes in ``DYES`` order."""
    return float(_volumes(volumes_mL).sum())


def dye_cost(volumes_mL: Sequence[float] | NDArray[np.float64]) -> float:
    """Price of the dye dispensed (EUR), for volumes in ``DYES`` order."""
    return float(DYE_PRICE_EUR_PER_ML @ _volumes(volumes_mL))


def min_transmittance(measured: Sequence[float] | NDArray[np.float64]) -> float:
    """Transmittance (%) of the darkest band, ``100 * 10**(-max(A))``, of measured absorbances."""
    a = np.asarray(measured, dtype=np.float64)
    if a.shape != TARGET_ABSORBANCES.shape:
        raise ValueError(f"expected {len(BANDS_NM)} absorbances, got shape {a.shape}")
    return float(100.0 * 10.0 ** (-a.max()))


def precipitates(
    volumes_mL: Sequence[float] | NDArray[np.float64], precipitate_above_mL: float | None
) -> bool:
    """Whether the dyes precipitate: more than ``precipitate_above_mL`` of dye in all.

    ``None`` (the bench's default) means they never do.
    """
    return precipitate_above_mL is not None and total_dye(volumes_mL) > precipitate_above_mL


def objective(
    volumes: Mapping[str, float | str],
    *,
    rng: np.random.Generator | None = None,
    noise_std: float = 0.0,
) -> float:
    """``colour_error`` for volumes (mL) keyed by actuator name, for benchmarks without Bluesky.

    ``volumes`` must have exactly the keys ``ACTUATOR_NAMES`` (``pump_cyan``, ...), and may
    also name a solvent under ``SOLVENT_ACTUATOR`` (water when absent).
    """
    allowed = {*ACTUATOR_NAMES, SOLVENT_ACTUATOR}
    missing = [name for name in ACTUATOR_NAMES if name not in volumes]
    extra = sorted(set(volumes) - allowed)
    if missing or extra:
        raise ValueError(
            f"objective needs volumes for exactly {list(ACTUATOR_NAMES)} (and optionally "
            f"{SOLVENT_ACTUATOR!r}); missing {missing}, unknown {extra}"
        )
    solvent = volumes.get(SOLVENT_ACTUATOR, REFERENCE_SOLVENT)
    if not isinstance(solvent, str):
        raise ValueError(f"{SOLVENT_ACTUATOR} must name a solvent, got {solvent!r}")
    dyes = [float(volumes[name]) for name in ACTUATOR_NAMES]
    return colour_error(dyes, rng, noise_std, solvent=solvent)
