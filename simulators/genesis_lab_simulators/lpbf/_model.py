"""Laser powder-bed fusion (LPBF) of 316L stainless steel: part density and build rate.

A 10 mm test cube is built with laser power ``P`` (W), scan speed ``v`` (mm/s), hatch
spacing ``h`` (um) and layer thickness ``t`` (um); its relative density is measured by the
Archimedes method. Two readings:

- ``build_rate = v * h * t`` (mm^3/s, reported as cm^3/h: ``3.6e-6 * v[mm/s] * h[um] *
  t[um]``), the volume the laser consolidates per unit time;
- ``density = 100 - phi`` (% of the bulk density), ``phi`` the porosity in %.

The quantities the porosity is built from (SI inside, units as stated):

- volumetric energy density ``E = P / (v * h * t)`` (J/mm^3, with ``h``, ``t`` in mm);
- King et al.'s normalised enthalpy ``K = A * P / (pi * h_s * sqrt(D * v * sigma**3))``
  (dimensionless), ``h_s = rho * c * T_m`` the volumetric enthalpy at melting (J/m^3),
  ``A`` the absorptivity, ``D`` the thermal diffusivity (m^2/s), ``sigma`` the beam radius
  (m), ``v`` in m/s. Keyhole-mode melting (a vapour cavity that collapses and leaves pores)
  sets in above ``K = KEYHOLE_THRESHOLD = 30`` (King et al. found 30 +/- 4 for 316L);
- the melt pool of the conduction-mode (Rosenthal) point source in its fast-moving limit
  (the instantaneous line source): a half-disc of radius
  ``r = sqrt(2 * A * P / (pi * e * rho * c * (T_m - T_0) * v))`` (m), i.e. cross-section
  ``A * P / (e * rho * c * (T_m - T_0) * v)``, width ``W = 2 r`` and depth ``D_mp = r``;
- Tang, Pistorius and Beuth's melt-pool overlap index ``lam = (h / W)**2 + (t / D_mp)**2``
  (dimensionless): every point of a layer is melted when ``lam <= 1``; above it
  lack-of-fusion voids open between tracks and layers.

The porosity (%) is the sum of four terms, each a Hill function
``hill(x, n) = x**n / (1 + x**n)`` (0 far below ``x = 1``, 1/2 at ``x = 1``, 1 far above):

    phi = PHI_RESIDUAL                                       (gas porosity of the powder)
        + PHI_LACK_OF_FUSION * hill(lam / LAM_HALF, 6)       (lack of fusion, Tang et al.)
        + PHI_KEYHOLE * hill(K / K_HALF, 6)                  (keyhole pores, King et al.)
        + PHI_OVERMELT * hill(E / E_HALF, 4)                 (over-melting, Gong et al.)

with ``LAM_HALF = 2`` (0.6 % lack-of-fusion porosity at Tang's boundary ``lam = 1``),
``K_HALF = 1.5 * KEYHOLE_THRESHOLD`` (0.8 % keyhole porosity at King's threshold) and
``E_HALF = 250 J/mm^3``. Density therefore rises with energy input out of the
lack-of-fusion region, has a near-flat top (about 99.8 %) and falls again in the keyhole
and over-melting regions: the process window of Gong et al. (2014).

Failure region (:class:`ExperimentFailed`, mode ``"build_failed"``), where no part comes
out to measure:

- swelling: ``E > E_SWELL = 300 J/mm^3``; overheated layers bulge above the powder bed and
  the recoater blade strikes the part (the build is stopped);
- delamination: ``t >= D_mp``; the melt pool does not reach the layer below, the layers do
  not bond, curl up and catch the recoater.

Material and machine constants (316L, a 400 W fibre laser with a 54 um D4-sigma spot):
``A = 0.4``, ``rho = 7900 kg/m^3``, ``c = 500 J/(kg K)``, ``D = 5.0e-6 m^2/s``,
``T_m = 1700 K``, ``T_0 = 300 K``, ``sigma = 27 um``. With these, King's threshold is
``P / sqrt(v) = 15.8 W/(mm/s)^0.5`` (e.g. 300 W at 360 mm/s), and 200 W at 800 mm/s melts a
pool 130 um wide and 65 um deep.

Sources:

- W. E. King, H. D. Barth, V. M. Castillo, G. F. Gallegos, J. W. Gibbs, D. E. Hahn,
  C. Kamath, A. M. Rubenchik (2014), "Observation of keyhole-mode laser melting in laser
  powder-bed fusion additive manufacturing", Journal of Materials Processing Technology
  214(12), 2915-2925 (normalised enthalpy and keyhole threshold).
- M. Tang, P. C. Pistorius, J. L. Beuth (2017), "Prediction of lack-of-fusion porosity for
  powder bed fusion", Additive Manufacturing 14, 39-48 (overlap criterion).
- D. Rosenthal (1946), "The theory of moving sources of heat and its application to metal
  treatments", Transactions of the ASME 68, 849-866 (melt-pool size).
- H. Gong, K. Rafi, H. Gu, T. Starr, B. Stucker (2014), "Analysis of defect generation in
  Ti-6Al-4V parts made using powder bed fusion additive manufacturing processes", Additive
  Manufacturing 1-4, 87-98 (process window: fully dense, over-melting, incomplete melting).

Simplified: constant material properties (no temperature dependence, no latent heat, no
powder-bed conductivity); the conduction melt pool is used even in keyhole mode (it then
underestimates the depth, which matters only for delamination, far from the keyhole
region); Tang's sharp overlap boundary and the porosity amplitudes (``PHI_*``) and widths
are smooth empirical choices, not fits to one data set; no scan strategy, contour, preheat,
spatter, oxygen content or powder size distribution; the build rate ignores recoating and
jump times (the duration does not).

Noise (:meth:`LpbfModel.measure`): Archimedes density with standard deviation
``sqrt(density_noise_pct**2 + (porosity_noise_rel * phi)**2)`` (% points; 0.1 % + 5 % of
the porosity by default: porous parts soak up the fluid), clipped to at most 100 %; the
build rate is set, not measured, so it has no noise unless ``build_rate_noise_rel > 0``.

Duration: ``SETUP_S`` (powder load, inerting) + scan time ``CUBE_VOLUME / (v h t)`` +
``RECOAT_S`` per layer of the 10 mm cube + ``POST_S`` (cut-off, Archimedes): about 1.1 to
3.4 hours.

Optimum (computed numerically; ``tests/simulators/test_lpbf_model.py`` checks it):
``OPTIMUM_READINGS["density"]`` (99.8177 %) is the highest density in the box, found by
L-BFGS-B from 256 Sobol starts over the four settings scaled to [0, 1] (builds that fail
discarded); a dense grid and local searches find nothing higher. The top is a narrow,
almost flat ridge along ``P / v = 0.11 J/mm`` (the density along it varies by under 0.01 %
points; the keyhole term tips it to the lowest power, 100 W), at the smallest hatch
(50 um) and a 25 um layer. For the two objectives (maximise density, maximise build rate),
``PARETO_POINTS`` were found by the epsilon-constraint method: the highest density at a
fixed build rate, SLSQP from 64 Sobol starts with the failure region as inequality
constraints; settings rounded to 5-6 digits and the readings re-evaluated there.
``REFERENCE_POINT`` (90 %, 0 cm^3/h) is a hypervolume reference dominated by every Pareto
point (the front falls below 90 % density near 40 cm^3/h).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

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
    "ABSORPTIVITY",
    "BEAM_RADIUS_M",
    "BUILD_FAILED",
    "E_SWELL_J_MM3",
    "KEYHOLE_THRESHOLD",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PARETO_POINTS",
    "REFERENCE_POINT",
    "LpbfModel",
    "build_rate",
    "energy_density",
    "failure",
    "melt_pool_radius_um",
    "normalised_enthalpy",
    "overlap_index",
    "porosity",
]

# --- 316L and the machine ------------------------------------------------------------------
ABSORPTIVITY = 0.4
RHO_KG_M3 = 7900.0
HEAT_CAPACITY_J_KG_K = 500.0
DIFFUSIVITY_M2_S = 5.0e-6
T_MELT_K = 1700.0
T_AMBIENT_K = 300.0
BEAM_RADIUS_M = 27e-6

# --- process window --------------------------------------------------------------------------
KEYHOLE_THRESHOLD = 30.0
PHI_RESIDUAL = 0.05
PHI_LACK_OF_FUSION = 40.0
LAM_HALF = 2.0
PHI_KEYHOLE = 10.0
K_HALF = 1.5 * KEYHOLE_THRESHOLD
PHI_OVERMELT = 5.0
E_HALF_J_MM3 = 250.0
E_SWELL_J_MM3 = 300.0
BUILD_FAILED = "build_failed"

# --- the test cube and the build cycle --------------------------------------------------------
CUBE_EDGE_MM = 10.0
SETUP_S = 1800.0
RECOAT_S = 8.0
POST_S = 1200.0

_P = "lpbf_laser_power"
_V = "lpbf_scan_speed"
_H = "lpbf_hatch_spacing"
_T = "lpbf_layer_thickness"


def _frozen(**values: float) -> Mapping[str, float]:
    return MappingProxyType(values)


def _settings(
    power_W: float, speed_mm_s: float, hatch_um: float, layer_um: float
) -> Mapping[str, float]:
    return MappingProxyType({_P: power_W, _V: speed_mm_s, _H: hatch_um, _T: layer_um})


#: Best density (%) in the box and where (settings in their units); see the docstring.
OPTIMUM_SETTINGS: Mapping[str, float] = _settings(100.0, 897.54, 50.0, 24.981)
OPTIMUM_READINGS: Mapping[str, float] = _frozen(density=99.817744, build_rate=4.03586)
#: Hypervolume reference point (density %, build rate cm^3/h), both maximised.
REFERENCE_POINT: Mapping[str, float] = _frozen(density=90.0, build_rate=0.0)
#: Points on the density/build-rate Pareto front, (settings, readings), each the best
#: density at its build rate (10, 20, 25, 30, 35 cm^3/h); the density optimum is the front's
#: low-rate end. Above ~10 cm^3/h the power is at its 400 W limit, the speed at 2000 mm/s
#: and the hatch twice the layer (which minimises the overlap index at a given h * t).
PARETO_POINTS: tuple[tuple[Mapping[str, float], Mapping[str, float]], ...] = (
    (OPTIMUM_SETTINGS, OPTIMUM_READINGS),
    (_settings(247.005, 2000.0, 52.705, 26.352), _frozen(density=99.816143, build_rate=9.999952)),
    (_settings(400.0, 2000.0, 74.536, 37.268), _frozen(density=99.696923, build_rate=20.000215)),
    (_settings(400.0, 2000.0, 83.333, 41.667), _frozen(density=99.194700, build_rate=25.0001)),
    (_settings(400.0, 2000.0, 91.287, 45.644), _frozen(density=97.861763, build_rate=30.000268)),
    (_settings(400.0, 2000.0, 98.601, 49.301), _frozen(density=95.117913, build_rate=35.000121)),
)


def _hill(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    xn = np.power(x, n)
    return np.asarray(xn / (1.0 + xn), dtype=np.float64)


def _array(x: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def energy_density(
    power_W: ArrayLike, speed_mm_s: ArrayLike, hatch_um: ArrayLike, layer_um: ArrayLike
) -> NDArray[np.float64]:
    """Volumetric energy density ``E = P / (v h t)`` (J/mm^3)."""
    return _array(power_W) / (
        _array(speed_mm_s) * _array(hatch_um) * 1e-3 * _array(layer_um) * 1e-3
    )


def normalised_enthalpy(power_W: ArrayLike, speed_mm_s: ArrayLike) -> NDArray[np.float64]:
    """King et al.'s ``A P / (pi h_s sqrt(D v sigma^3))`` (dimensionless)."""
    h_s = RHO_KG_M3 * HEAT_CAPACITY_J_KG_K * T_MELT_K
    v = _array(speed_mm_s) * 1e-3
    return (
        ABSORPTIVITY
        * _array(power_W)
        / (math.pi * h_s * np.sqrt(DIFFUSIVITY_M2_S * v * BEAM_RADIUS_M**3))
    )


def melt_pool_radius_um(power_W: ArrayLike, speed_mm_s: ArrayLike) -> NDArray[np.float64]:
    """Radius (um) of the half-disc conduction melt pool: its depth; its width is twice it."""
    v = _array(speed_mm_s) * 1e-3
    rho_c_dt = RHO_KG_M3 * HEAT_CAPACITY_J_KG_K * (T_MELT_K - T_AMBIENT_K)
    r2 = 2.0 * ABSORPTIVITY * _array(power_W) / (math.pi * math.e * rho_c_dt * v)
    return np.sqrt(r2) * 1e6


def overlap_index(
    power_W: ArrayLike, speed_mm_s: ArrayLike, hatch_um: ArrayLike, layer_um: ArrayLike
) -> NDArray[np.float64]:
    """Tang et al.'s ``(h/W)^2 + (t/D)^2``: full fusion at or below 1."""
    r = melt_pool_radius_um(power_W, speed_mm_s)
    return np.asarray((_array(hatch_um) / (2.0 * r)) ** 2 + (_array(layer_um) / r) ** 2)


def porosity(
    power_W: ArrayLike, speed_mm_s: ArrayLike, hatch_um: ArrayLike, layer_um: ArrayLike
) -> NDArray[np.float64]:
    """Porosity (%) of a part built at these settings (failure region not checked)."""
    lam = overlap_index(power_W, speed_mm_s, hatch_um, layer_um)
    k = normalised_enthalpy(power_W, speed_mm_s)
    e = energy_density(power_W, speed_mm_s, hatch_um, layer_um)
    return (
        PHI_RESIDUAL
        + PHI_LACK_OF_FUSION * _hill(lam / LAM_HALF, 6)
        + PHI_KEYHOLE * _hill(k / K_HALF, 6)
        + PHI_OVERMELT * _hill(e / E_HALF_J_MM3, 4)
    )


def build_rate(
    speed_mm_s: ArrayLike, hatch_um: ArrayLike, layer_um: ArrayLike
) -> NDArray[np.float64]:
    """Build rate ``v h t`` (cm^3/h)."""
    return _array(speed_mm_s) * _array(hatch_um) * _array(layer_um) * 3.6e-6


def failure(power_W: float, speed_mm_s: float, hatch_um: float, layer_um: float) -> str | None:
    """Why the build fails at these settings (a message), or None if it does not."""
    e = float(energy_density(power_W, speed_mm_s, hatch_um, layer_um))
    if e > E_SWELL_J_MM3:
        return (
            f"build failed: energy density {e:.0f} J/mm^3 > {E_SWELL_J_MM3:.0f} J/mm^3, the "
            "part swelled above the powder bed and the recoater struck it; raise the scan "
            "speed, hatch or layer, or lower the power"
        )
    depth = float(melt_pool_radius_um(power_W, speed_mm_s))
    if layer_um >= depth:
        return (
            f"build failed: layer {layer_um:.0f} um >= melt-pool depth {depth:.0f} um, the "
            "layers did not bond and the part delaminated into the recoater; use thinner "
            "layers, more power or a slower scan"
        )
    return None


class LpbfModel(DomainModel):
    """A 316L test cube built by laser powder-bed fusion: density and build rate.

    Options: ``density_noise_pct`` (% points, the Archimedes floor), ``porosity_noise_rel``
    (extra spread as a fraction of the porosity), ``build_rate_noise_rel`` (relative, 0 by
    default: the build rate is set, not measured).
    """

    name = "lpbf"
    source = (
        "King et al. (2014) J. Mater. Process. Technol. 214, 2915 (keyhole normalised "
        "enthalpy); Tang, Pistorius & Beuth (2017) Addit. Manuf. 14, 39 (lack-of-fusion "
        "overlap); Rosenthal (1946) Trans. ASME 68, 849 (melt pool); Gong et al. (2014) "
        "Addit. Manuf. 1-4, 87 (process window)"
    )
    settings = (
        Setting(_P, "W", (100.0, 400.0), default=200.0, description="laser power"),
        Setting(_V, "mm/s", (200.0, 2000.0), default=800.0, description="laser scan speed"),
        Setting(
            _H,
            "um",
            (50.0, 150.0),
            default=100.0,
            description="hatch spacing: distance between adjacent scan tracks",
        ),
        Setting(_T, "um", (20.0, 80.0), default=40.0, description="powder layer thickness"),
    )
    readings = (
        Reading("density", "%", "relative part density (Archimedes), 100 % = bulk 316L"),
        Reading("build_rate", "cm^3/h", "volume consolidated per hour: scan speed x hatch x layer"),
    )

    def __init__(
        self,
        *,
        density_noise_pct: float = 0.1,
        porosity_noise_rel: float = 0.05,
        build_rate_noise_rel: float = 0.0,
    ) -> None:
        for label, value in (
            ("density_noise_pct", density_noise_pct),
            ("porosity_noise_rel", porosity_noise_rel),
            ("build_rate_noise_rel", build_rate_noise_rel),
        ):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
        self.density_noise_pct = density_noise_pct
        self.porosity_noise_rel = porosity_noise_rel
        self.build_rate_noise_rel = build_rate_noise_rel

    def _point(self, values: Mapping[str, SettingValue]) -> tuple[float, float, float, float]:
        point: list[float] = []
        for setting in self.settings:
            if setting.name not in values:
                raise ValueError(f"missing setting {setting.name!r}: give every setting by name")
            value = _to_float(setting.name, values[setting.name])
            low, high = setting.limits or (-math.inf, math.inf)
            slack = 1e-9 * (high - low)
            if not low - slack <= value <= high + slack:
                raise ValueError(
                    f"{setting.name} = {value} {setting.units} is outside its limits "
                    f"[{low}, {high}] {setting.units}"
                )
            point.append(value)
        return point[0], point[1], point[2], point[3]

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        p, v, h, t = self._point(values)
        message = failure(p, v, h, t)
        if message is not None:
            raise ExperimentFailed(message, mode=BUILD_FAILED)
        return {
            "density": float(100.0 - porosity(p, v, h, t)),
            "build_rate": float(build_rate(v, h, t)),
        }

    def density_std(self, values: Mapping[str, SettingValue]) -> float:
        """Standard deviation (% points) of a density measurement at ``values``."""
        p, v, h, t = self._point(values)
        phi = float(porosity(p, v, h, t))
        return math.hypot(self.density_noise_pct, self.porosity_noise_rel * phi)

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        clean = self.evaluate(values)
        density = clean["density"] + self.density_std(values) * rng.standard_normal()
        rate = clean["build_rate"] * (1.0 + self.build_rate_noise_rel * rng.standard_normal())
        return {"density": float(min(density, 100.0)), "build_rate": float(rate)}

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        _, v, h, t = self._point(values)
        volume_mm3 = CUBE_EDGE_MM**3
        scan_s = volume_mm3 / (v * h * 1e-3 * t * 1e-3)
        layers = math.ceil(CUBE_EDGE_MM / (t * 1e-3) - 1e-9)
        return SETUP_S + scan_s + layers * RECOAT_S + POST_S


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, str):
        raise TypeError(f"setting {name!r} is numeric, got the string {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"setting {name!r} must be finite, got {number}")
    return number
