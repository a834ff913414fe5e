"""The SnAr reaction of 2,4-difluoronitrobenzene with pyrrolidine in a plug-flow reactor.

The model
---------
2,4-Difluoronitrobenzene (DFNB, species 1) reacts with pyrrolidine (PLDN, 2) in ethanol
to the ortho-substituted product 2-(pyrrolidin-1-yl)-4-fluoronitrobenzene (3, the
desired product), the para-substituted product 4-(pyrrolidin-1-yl)-2-fluoronitrobenzene
(4) and, by a second substitution of either, the bis-substituted
2,4-di(pyrrolidin-1-yl)nitrobenzene (5). Four second-order reactions::

    a:  1 + 2 -> 3        r_a = k_a [1][2]
    b:  1 + 2 -> 4        r_b = k_b [1][2]
    c:  3 + 2 -> 5        r_c = k_c [3][2]
    d:  4 + 2 -> 5        r_d = k_d [4][2]

In an isothermal plug-flow reactor with no axial dispersion the outlet concentrations
are those of a batch reactor after the residence time ``tau``::

    d[1]/dt = -(r_a + r_b)
    d[2]/dt = -(r_a + r_b + r_c + r_d)
    d[3]/dt = r_a - r_c
    d[4]/dt = r_b - r_d
    d[5]/dt = r_c + r_d

integrated over ``0 <= t <= tau`` with :func:`scipy.integrate.solve_ivp` (LSODA with the
analytic Jacobian, rtol 1e-8) from ``[1]_0 = c_DFNB``, ``[2]_0 = equiv * c_DFNB`` and no
products. The rate constants follow Arrhenius' law about a reference temperature::

    k_i(T) = k_i,ref * exp(-(Ea_i / R) * (1/T - 1/T_ref)),   T_ref = 90 degC

    reaction  k_i,ref (1e-2 M^-1 s^-1)  k_i,ref (M^-1 min^-1)  Ea_i (kJ/mol)
    a         57.9                      34.74                  33.3
    b          2.70                      1.62                  35.3
    c          0.865                     0.519                 38.9
    d          1.63                      0.978                 44.8

(the factor 0.6 converts 1e-2 M^-1 s^-1 to M^-1 min^-1), with R = 8.314e-3 kJ/(mol K).
The aromatic ring is conserved, ``[1] + [3] + [4] + [5] = c_DFNB``, and so is
pyrrolidine counted with its substituents, ``[2] + [3] + [4] + 2 [5] = equiv c_DFNB``.

The readings, from the outlet concentrations (mol/L) and molar masses ``M`` (g/mol:
DFNB 159.09, PLDN 71.12, ortho and para products 210.21, bis product 261.33)::

    STY      = 60 * M_3 [3] / tau                   (kg m^-3 h^-1, tau in min; maximise)
    E-factor = (1000 rho_EtOH + sum_{i != 3} M_i [i]) / (M_3 [3])   (kg/kg; minimise)

with ``rho_EtOH = 0.789 g/mL`` (the solvent, at 25 degC, counted entirely as waste). As
in Summit, STY is floored at 1e-6 and the E-factor capped at 1000 (also when no product
forms).

Source
------
Kinetics: C. A. Hone, N. Holmes, G. R. Akien, R. A. Bourne and F. L. Muller, "Rapid
multistep kinetic model generation from transient flow data", React. Chem. Eng., 2017,
2, 103-108, doi:10.1039/C6RE00109B. Benchmark (settings, limits, readings, molar masses,
solvent density): ``SnarBenchmark`` in Summit (K. C. Felton, J. G. Rittig and A. A.
Lapkin, "Summit: benchmarking machine learning methods for reaction optimisation", Chem.
Methods, 2021, 1, 116-122, doi:10.1002/cmtd.202000051), module ``summit.benchmarks.snar``.

Units
-----
Residence time in min, pyrrolidine in equivalents of DFNB (mol/mol), DFNB concentration
at the reactor inlet after mixing in mol/L, temperature in degC (kelvin inside the
Arrhenius law), concentrations in mol/L, rate constants in M^-1 min^-1, STY in
kg m^-3 h^-1, E-factor in kg waste per kg product (dimensionless).

Differences from Summit and simplifications
-------------------------------------------
- Summit converts degC to kelvin with 273.71 rather than 273.15, in every release. Up to
  Summit 0.8.5 its rate of the para product read ``k_a [1][2] - k_d [2][4]``; Hone et
  al.'s scheme (and the conservation of the aromatic ring) needs ``k_b``, which Summit
  0.8.6 to 0.8.8 (the latest release) use (its commit 3823ef0, "Update kinetic
  parameters", 2022). This model uses ``k_b`` and 273.15; ``SnarFlowModel(summit=
  "0.8.8")`` reproduces the current release's choices (``k_b``, 273.71) and
  ``summit="0.8.5"`` those of 0.8.5 and earlier (``k_a``, 273.71). Summit's reactor
  volume (3 mL up to 0.8.2, 5 mL since) cancels out of STY and E-factor.
- Summit integrates with solve_ivp's defaults (RK45, rtol 1e-3) and clamps a reactant to
  zero once below 1e-6 of its inlet value; this model integrates tightly instead, so its
  numbers agree with Summit's to about 1e-3, not exactly.
- Isothermal, ideal plug flow; no heat of reaction, no dispersion, no density change;
  the HF released by each substitution is not scavenged by a second equivalent of
  pyrrolidine (as in Hone et al.'s and Summit's model); the E-factor counts the solvent
  and every species left at the outlet, not work-up.
- Simulator addition, not in Hone et al. or Summit: the failure region ``'clogged'``.
  Each substitution releases HF, held as pyrrolidinium fluoride, sparingly soluble in
  ethanol. If its outlet concentration ``[3] + [4] + 2 [5]`` exceeds the solubility
  ``S(T) = S_30 exp(-(dH_sol / R) (1/T - 1/303.15 K))`` (``S_30 = 0.35 mol/L``,
  ``dH_sol = 25 kJ/mol``; illustrative values) the salt precipitates and blocks the line.
  This happens at high DFNB concentration and low temperature only (above about 52 degC
  it cannot happen within the limits).
- Measurement: the outlet is analysed by HPLC with relative noise ``noise_rel`` (default
  2 %, standard deviation, independent per species) on each concentration, from which
  STY and E-factor are computed, as Summit's ``noise_level`` does (in percent there).

Optimum
-------
The two objectives conflict: a short residence time gives the highest STY, a longer one
at moderate temperature the lowest E-factor. The constants below were computed with
this model (corrected kinetics, clogging on) by ``scipy.optimize.minimize`` (SLSQP in
settings scaled to [0, 1], started from each of the 81 points of a 3^4 grid, ftol 1e-12,
the clogging region as the smooth inequality constraint ``salt <= S(T)``):
``MAX_STY_SETTINGS`` / ``MAX_STY`` (on the clogging boundary), ``MIN_E_FACTOR_SETTINGS``
/ ``MIN_E_FACTOR``, and ``PARETO_POINTS`` by the epsilon-constraint method (least
E-factor subject to STY >= a level). Settings are rounded to 4 decimals (the max-STY
temperature up, into the feasible side) and the readings recomputed there, to 3
decimals. ``REFERENCE_POINT`` is a hypervolume reference that every Pareto point
dominates. ``OPTIMUM_SETTINGS`` / ``OPTIMUM_READINGS`` are the max-STY point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from genesis_lab_simulators._domain._model import (
    DomainModel,
    ExperimentFailed,
    Reading,
    Setting,
    SettingValue,
)

__all__ = [
    "ACTIVATION_ENERGIES_KJ_PER_MOL",
    "K_REF_PER_M_MIN",
    "MAX_STY",
    "MAX_STY_SETTINGS",
    "MIN_E_FACTOR",
    "MIN_E_FACTOR_SETTINGS",
    "MOLAR_MASSES_G_PER_MOL",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "PARETO_POINTS",
    "REFERENCE_POINT",
    "SALT_SOLUBILITY_30C_M",
    "SnarFlowModel",
    "outlet_concentrations",
    "rate_constants",
    "readings_from_outlet",
    "salt_solubility",
]

R_KJ_PER_MOL_K: Final = 8.314e-3
T_REF_C: Final = 90.0
KELVIN: Final = 273.15
SUMMIT_KELVIN: Final = 273.71
#: Summit releases whose kinetics the model reproduces, and the rate constant each forms
#: the para product with (0.8.5 and earlier: k_a; 0.8.6 to 0.8.8, the latest: k_b).
SUMMIT_PARA_RATE: Final = {"0.8.5": "k_a", "0.8.8": "k_b"}
#: k_ref of reactions a, b, c, d (M^-1 min^-1): Hone et al.'s 1e-2 M^-1 s^-1 times 0.6.
K_REF_PER_M_MIN: Final = (0.6 * 57.9, 0.6 * 2.70, 0.6 * 0.865, 0.6 * 1.63)
#: Activation energies of reactions a, b, c, d (kJ/mol), Hone et al.
ACTIVATION_ENERGIES_KJ_PER_MOL: Final = (33.3, 35.3, 38.9, 44.8)
#: DFNB, pyrrolidine, ortho product, para product, bis product (g/mol), as in Summit.
MOLAR_MASSES_G_PER_MOL: Final = (159.09, 71.12, 210.21, 210.21, 261.33)
ETHANOL_DENSITY_G_PER_ML: Final = 0.789
STY_FLOOR: Final = 1e-6
E_FACTOR_CAP: Final = 1e3
#: Solubility of pyrrolidinium fluoride in ethanol at 30 degC (mol/L); simulator addition.
SALT_SOLUBILITY_30C_M: Final = 0.35
#: Its enthalpy of dissolution (kJ/mol), for the van 't Hoff temperature dependence.
SALT_DISSOLUTION_KJ_PER_MOL: Final = 25.0

TAU = "snar_residence_time"
EQUIV = "snar_pyrrolidine_equiv"
CONC = "snar_dfnb_conc"
TEMP = "snar_temperature"


def rate_constants(temperature_C: float, *, kelvin_offset: float = KELVIN) -> NDArray[np.float64]:
    """``[k_a, k_b, k_c, k_d]`` (M^-1 min^-1) at ``temperature_C`` (degC)."""
    t = temperature_C + kelvin_offset
    t_ref = T_REF_C + kelvin_offset
    k_ref = np.asarray(K_REF_PER_M_MIN)
    e_a = np.asarray(ACTIVATION_ENERGIES_KJ_PER_MOL)
    return np.asarray(k_ref * np.exp(-e_a / R_KJ_PER_MOL_K * (1.0 / t - 1.0 / t_ref)))


def outlet_concentrations(
    tau_min: float,
    dfnb_M: float,
    pyrrolidine_M: float,
    temperature_C: float,
    *,
    summit: str | None = None,
) -> NDArray[np.float64]:
    """Concentrations (mol/L) of DFNB, pyrrolidine, ortho, para and bis product at the
    outlet of the plug-flow reactor after ``tau_min`` minutes; with ``summit`` (a key of
    :data:`SUMMIT_PARA_RATE`), as that Summit release's kinetics give them."""
    if summit is not None and summit not in SUMMIT_PARA_RATE:
        raise ValueError(f"summit must be one of {sorted(SUMMIT_PARA_RATE)}, got {summit!r}")
    offset = KELVIN if summit is None else SUMMIT_KELVIN
    k_a, k_b, k_c, k_d = (float(k) for k in rate_constants(temperature_C, kelvin_offset=offset))
    k_para = k_a if summit is not None and SUMMIT_PARA_RATE[summit] == "k_a" else k_b

    def rhs(_t: float, c: NDArray[np.float64]) -> NDArray[np.float64]:
        c1, c2, c3, c4, _ = c
        r_ab = (k_a + k_b) * c1 * c2
        r_c = k_c * c3 * c2
        r_d = k_d * c4 * c2
        return np.array(
            [-r_ab, -r_ab - r_c - r_d, k_a * c1 * c2 - r_c, k_para * c1 * c2 - r_d, r_c + r_d]
        )

    def jac(_t: float, c: NDArray[np.float64]) -> NDArray[np.float64]:
        c1, c2, c3, c4, _ = c
        kab = k_a + k_b
        return np.array(
            [
                [-kab * c2, -kab * c1, 0.0, 0.0, 0.0],
                [-kab * c2, -kab * c1 - k_c * c3 - k_d * c4, -k_c * c2, -k_d * c2, 0.0],
                [k_a * c2, k_a * c1 - k_c * c3, -k_c * c2, 0.0, 0.0],
                [k_para * c2, k_para * c1 - k_d * c4, 0.0, -k_d * c2, 0.0],
                [0.0, k_c * c3 + k_d * c4, k_c * c2, k_d * c2, 0.0],
            ]
        )

    c0 = np.array([dfnb_M, pyrrolidine_M, 0.0, 0.0, 0.0])
    if tau_min <= 0.0:
        return c0
    sol = solve_ivp(rhs, (0.0, tau_min), c0, method="LSODA", jac=jac, rtol=1e-8, atol=1e-12)
    if not sol.success:  # pragma: no cover - LSODA does not fail on this smooth system
        raise RuntimeError(f"SnAr integration failed: {sol.message}")
    return np.asarray(np.clip(sol.y[:, -1], 0.0, None))


def readings_from_outlet(c: NDArray[np.float64], tau_min: float) -> dict[str, float]:
    """STY (kg m^-3 h^-1) and E-factor (kg/kg) from outlet concentrations ``c`` (mol/L:
    DFNB, pyrrolidine, ortho, para, bis) and the residence time (min), as in Summit."""
    m = MOLAR_MASSES_G_PER_MOL
    product_g_per_l = m[2] * float(c[2])
    sty = max(60.0 * product_g_per_l / tau_min, STY_FLOOR)
    if product_g_per_l <= 1e-12:
        return {"sty": sty, "e_factor": E_FACTOR_CAP}
    waste_g_per_l = 1000.0 * ETHANOL_DENSITY_G_PER_ML + sum(
        m[i] * float(c[i]) for i in range(5) if i != 2
    )
    return {"sty": sty, "e_factor": min(waste_g_per_l / product_g_per_l, E_FACTOR_CAP)}


def salt_solubility(temperature_C: float) -> float:
    """Solubility (mol/L) of pyrrolidinium fluoride in ethanol at ``temperature_C``."""
    inv = 1.0 / (temperature_C + KELVIN) - 1.0 / (30.0 + KELVIN)
    return SALT_SOLUBILITY_30C_M * math.exp(-SALT_DISSOLUTION_KJ_PER_MOL / R_KJ_PER_MOL_K * inv)


class SnarFlowModel(DomainModel):
    """SnAr of 2,4-difluoronitrobenzene with pyrrolidine in a flow reactor (Hone et al.
    2017 kinetics, Summit's ``SnarBenchmark``): STY up, E-factor down.

    ``noise_rel``: relative standard deviation of each HPLC concentration (default 0.02).
    ``summit``: reproduce a Summit release's kinetics ("0.8.8": the latest, 0.8.6 to 0.8.8;
    "0.8.5": 0.8.5 and earlier); None (default): Hone et al.'s, with 273.15 K.
    ``clogging``: whether the salt precipitation failure region is active.
    """

    name = "snar"
    settings = (
        Setting(TAU, "min", limits=(0.5, 2.0), default=1.0, description="residence time"),
        Setting(
            EQUIV,
            "equiv",
            limits=(1.0, 5.0),
            default=2.0,
            description="pyrrolidine per DFNB at the reactor inlet (mol/mol)",
        ),
        Setting(
            CONC,
            "mol/L",
            limits=(0.1, 0.5),
            default=0.3,
            description="2,4-difluoronitrobenzene at the reactor inlet, after mixing",
        ),
        Setting(TEMP, "degC", limits=(30.0, 120.0), default=75.0, description="reactor"),
    )
    readings = (
        Reading("sty", "kg m^-3 h^-1", "space-time yield of the ortho product (maximise)"),
        Reading("e_factor", "kg/kg", "E-factor: kg waste per kg ortho product (minimise)"),
    )
    source = (
        "C. A. Hone, N. Holmes, G. R. Akien, R. A. Bourne, F. L. Muller, React. Chem. Eng. "
        "2017, 2, 103-108 (doi:10.1039/C6RE00109B); benchmark as Summit's SnarBenchmark "
        "(Felton, Rittig, Lapkin, Chem. Methods 2021, 1, 116-122)"
    )

    def __init__(
        self,
        *,
        noise_rel: float = 0.02,
        summit: str | None = None,
        clogging: bool = True,
    ) -> None:
        if not noise_rel >= 0.0:
            raise ValueError(f"noise_rel must be >= 0 (a fraction, 0.02 = 2 %), got {noise_rel}")
        self.noise_rel = noise_rel
        if summit is not None and summit not in SUMMIT_PARA_RATE:
            raise ValueError(f"summit must be one of {sorted(SUMMIT_PARA_RATE)}, got {summit!r}")
        self.summit = summit
        self.clogging = clogging

    def outlet(self, values: Mapping[str, SettingValue]) -> NDArray[np.float64]:
        """Outlet concentrations (mol/L: DFNB, pyrrolidine, ortho, para, bis) at
        ``values``, or :class:`ExperimentFailed` if the line clogs."""
        tau, equiv, conc, temp = (float(values[s.name]) for s in self.settings)
        c = outlet_concentrations(tau, conc, equiv * conc, temp, summit=self.summit)
        salt = float(c[2] + c[3] + 2.0 * c[4])
        limit = salt_solubility(temp)
        if self.clogging and salt > limit:
            raise ExperimentFailed(
                f"pyrrolidinium fluoride precipitated ({salt:.3f} mol/L > solubility "
                f"{limit:.3f} mol/L at {temp:.0f} degC) and clogged the line; "
                "raise the temperature or lower the DFNB concentration",
                mode="clogged",
            )
        return c

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        return readings_from_outlet(self.outlet(values), float(values[TAU]))

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        c = self.outlet(values)
        noisy = np.clip(c * (1.0 + self.noise_rel * rng.standard_normal(c.shape)), 0.0, None)
        return readings_from_outlet(noisy, float(values[TAU]))

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        """Heating from 25 degC at 10 K/min, three residence times to steady state, one to
        collect the sample, and a 10-minute HPLC run (about 13 to 28 minutes)."""
        tau = float(values[TAU])
        heat_min = max(float(values[TEMP]) - 25.0, 0.0) / 10.0
        return 60.0 * (heat_min + 4.0 * tau + 10.0)


#: Highest STY (kg m^-3 h^-1) within the limits and outside the clogging region; on the
#: clogging boundary (without it: 11562 at 5 equiv, 31 degC).
MAX_STY_SETTINGS: Final[dict[str, float]] = {TAU: 0.5, EQUIV: 3.4969, CONC: 0.5, TEMP: 42.2134}
MAX_STY: Final = 11517.407
#: Lowest E-factor (kg/kg) within the limits.
MIN_E_FACTOR_SETTINGS: Final[dict[str, float]] = {TAU: 2.0, EQUIV: 1.1839, CONC: 0.5, TEMP: 62.1604}
MIN_E_FACTOR: Final = 8.452
OPTIMUM_SETTINGS: Final = MAX_STY_SETTINGS
OPTIMUM_READINGS: Final = {"sty": MAX_STY, "e_factor": 9.238}
#: (settings, readings) on the Pareto front, by increasing STY: the min-E-factor point,
#: the least E-factor at STY >= 4000, 6000, 8000, 10000, 11000, 11300, 11500, and the
#: max-STY point. Past about 11300 the front leaves the low-equivalents branch for the
#: clogging boundary, where the E-factor rises steeply.
PARETO_POINTS: Final[tuple[tuple[dict[str, float], dict[str, float]], ...]] = (
    (
        {TAU: 2.0, EQUIV: 1.1839, CONC: 0.5, TEMP: 62.1604},
        {"sty": 2857.932, "e_factor": 8.452},
    ),
    (
        {TAU: 1.4249, EQUIV: 1.1916, CONC: 0.5, TEMP: 70.6029},
        {"sty": 3999.871, "e_factor": 8.482},
    ),
    (
        {TAU: 0.9464, EQUIV: 1.1991, CONC: 0.5, TEMP: 81.6153},
        {"sty": 6000.073, "e_factor": 8.519},
    ),
    (
        {TAU: 0.7079, EQUIV: 1.2046, CONC: 0.5, TEMP: 89.8667},
        {"sty": 7999.963, "e_factor": 8.547},
    ),
    (
        {TAU: 0.5651, EQUIV: 1.209, CONC: 0.5, TEMP: 96.5361},
        {"sty": 10000.107, "e_factor": 8.569},
    ),
    (
        {TAU: 0.5133, EQUIV: 1.2109, CONC: 0.5, TEMP: 99.4599},
        {"sty": 10999.067, "e_factor": 8.579},
    ),
    (
        {TAU: 0.5, EQUIV: 1.2385, CONC: 0.5, TEMP: 97.2393},
        {"sty": 11299.985, "e_factor": 8.582},
    ),
    (
        {TAU: 0.5, EQUIV: 3.0329, CONC: 0.5, TEMP: 45.923},
        {"sty": 11499.999, "e_factor": 9.082},
    ),
    (
        {TAU: 0.5, EQUIV: 3.4969, CONC: 0.5, TEMP: 42.2134},
        {"sty": 11517.407, "e_factor": 9.238},
    ),
)
#: Hypervolume reference point (STY maximised, E-factor minimised): every Pareto point
#: dominates it.
REFERENCE_POINT: Final[dict[str, float]] = {"sty": 2000.0, "e_factor": 10.0}
