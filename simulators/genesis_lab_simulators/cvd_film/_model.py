"""Polysilicon CVD from silane in a horizontal cold-wall single-wafer reactor: Grove's model.

Settings: substrate temperature ``T_s`` (degC in the setting, kelvin in the equations),
total pressure ``P`` (Torr), silane flow ``Q_p`` and hydrogen carrier flow ``Q_c`` (sccm).
Readings: the mean growth rate over the wafer (nm/min) and the 1-sigma thickness
non-uniformity of a 49-point line scan along the flow (%).

Grove's model (Grove 1967) puts the gas-phase mass transfer to the wafer, flux
``F_1 = h_g (C_g - C_s)``, in series with a first-order surface reaction, ``F_2 = k_s C_s``.
In steady state ``F_1 = F_2``, and the growth rate is

    G = k_s h_g / (k_s + h_g) * C_g / N                                   (cm/s)

- ``C_g = Y P / (k_B T)`` (cm^-3): silane in the gas, ``Y = Q_p / (Q_p + Q_c)`` its mole
  fraction; ``N = N_SI_CM3`` = 5.0e22 cm^-3, silicon atoms per cm^3 of film.
- ``k_s = K0_CM_S * exp(-EA_EV / (k_B T))`` (cm/s): the surface reaction, which limits
  growth at low temperature. ``EA_EV`` = 1.7 eV is the activation energy of poly-Si
  deposition from silane (Kamins 1998); ``K0_CM_S`` = 1.34e9 cm/s puts the rate at
  10 nm/min at 625 degC and 0.2 Torr of silane, a typical LPCVD poly-Si rate:
  ``k_s = 10 nm/min * N / C_g = 1.667e-8 cm/s * 5e22 / 2.151e15 cm^-3 = 0.3874 cm/s``
  and ``K0 = 0.3874 * exp(1.7 / (8.617e-5 * 898.15)) = 1.34e9 cm/s``.
- ``h_g = D / delta`` (cm/s): the mass transfer through the boundary layer, which limits
  growth at high temperature and pressure. ``D = D0_CM2_S * (T / 273.15 K)**1.75 *
  (760 Torr / P)`` (cm^2/s), silane in hydrogen (the correlation of Fuller, Schettler and
  Giddings 1966 gives the exponent 1.75 and about 0.5 cm^2/s at 0 degC and 1 atm);
  ``delta(x) = sqrt(nu x / U)`` (cm), the boundary layer over a flat plate a distance
  ``x`` from its leading edge (Grove 1967),
  with ``nu = mu / rho`` the kinematic viscosity of hydrogen (``mu = 8.9e-5 poise *
  (T / 300 K)**0.68``, ``rho = P M_H2 / (R T)``) and ``U = Q / (W H)`` the mean gas
  velocity in a channel ``CHANNEL_WIDTH_CM`` wide and ``CHANNEL_HEIGHT_CM`` high, ``Q =
  (Q_p + Q_c) / 60 * (760 / P) * (T / 273.15)`` (cm^3/s at the reactor's P and T).

Across the wafer, three things make the film non-uniform:

1. Depletion (conservation of silane): the gas loses to the wafer what the film gains,
   ``Q dC/dx = -W k_eff(x) C(x)``, so ``C(x) = C_g * exp(-(W / Q) * integral from x0 to x
   of k_eff)``, ``k_eff = k_s h_g / (k_s + h_g)``. The silane fed, ``Q_p / 60 * 2.6868e19``
   molecules/s, equals the silane leaving plus the silicon deposited, ``W N * integral of
   G``. Depletion grows with the deposition rate and falls with the gas flow.
2. The boundary layer thickens downstream (``delta ~ sqrt(x)``), so where transport
   limits (``h_g`` not much above ``k_s``) the leading edge grows faster.
3. The wafer is hotter at its centre than at its edges, ``T(x) = T_s - dT(P) * (2 xi -
   1)**2`` with ``xi = (x - x0) / L``; where the surface reaction limits, a temperature
   error ``dT`` changes the rate by about ``EA / (k_B T^2) * dT`` (2.4 % per kelvin at
   625 degC). The edge drop ``dT(P) = DT_REF_K * (H_RAD + H_GAP) / (H_RAD + H_GAP * P /
   (P + P_KNUDSEN_TORR))`` (K) grows at low pressure, where gas conduction between wafer
   and susceptor fails and radiation alone (``H_RAD``, W/m^2/K) couples them.

The wafer (``WAFER_LENGTH_CM`` = 15 cm, a 150 mm wafer taken as a strip spanning the
channel) starts ``LEADING_EDGE_CM`` = 5 cm downstream of where the boundary layer starts.
The growth rate is the mean of the local rate ``G(x)`` at 49 equally spaced points from
the leading to the trailing edge; the non-uniformity is ``100 * std(G_i, ddof=1) /
mean(G_i)``, the usual 1-sigma of a 49-point map. ``D``, ``nu``, ``U`` and ``C_g`` use
``T_s``; ``k_s`` uses the local ``T(x)``.

Failure region, ``gas_phase_nucleation``: silane decomposes in the gas, nucleates silicon
particles and the film comes out hazy, where its partial pressure ``Y P`` exceeds
``P_crit(T) = GN_P_REF_TORR * exp(GN_E_EV / k_B * (1 / T - 1 / GN_T_REF_K))`` (Torr): the
hotter, the less silane it takes (onset shaped after Murthy et al. 1976; the constants
place it at 1 Torr of silane at 800 degC and are illustrative, not fitted).

Campaign: minimise ``non_uniformity`` subject to ``growth_rate >= GROWTH_RATE_MIN``
(100 nm/min). The constrained optimum ``OPTIMUM_SETTINGS`` (628.7 degC, 42.5 Torr,
200 sccm silane at its upper limit, 4225 sccm hydrogen) gives ``OPTIMUM_READINGS``
(growth 100 nm/min, the constraint active; non-uniformity 1.562 %). It was found by
scipy's ``differential_evolution`` (seed 1, popsize 30) over the whole box with the
constraint and the failure region as penalties, then polished by SLSQP with the growth
constraint explicit; multi-start local searches and a 4,096-point Sobol scan find nothing
better (``tests/simulators/test_cvd_film_model.py``). Without the constraint the most
uniform film (1.264 %, at 642 degC, 43 Torr and both flows at their upper limits) grows
at only 31 nm/min: ``UNCONSTRAINED_OPTIMUM_SETTINGS``.

Measurement (``measure``): the run deposits ``target_thickness_nm`` (200 nm) or stops
after ``MAX_DEPOSITION_S`` (2 h); an ellipsometer reads the 49 thicknesses, each with
Gaussian noise of ``sqrt((0.3 nm)^2 + (0.3 % * t)^2)``, and the run's growth rate carries a
run-to-run factor ``1 + N(0, 1 %)`` (temperature calibration and flow-controller drift);
all scaled by ``noise_scale``. Growth rate is the mean thickness over the deposition time,
non-uniformity the 1-sigma of the measured map.

Duration (``duration_s``): 120 s load and purge, heating from 400 degC idle at 5 K/s, 120 s
stabilisation, the deposition (30 s to 2 h), 300 s cool-down and unload.

Simplified: one dimension along the flow (the round wafer as a strip, no lateral
variation); the boundary layer of a flat plate even where it is as thick as the channel
(a real reactor's flow is then fully developed); gas properties at the substrate
temperature (the cold-wall gas is cooler); hydrogen's properties for the mixture; a
first-order surface reaction with no hydrogen inhibition; no thermal diffusion, natural
convection or susceptor tilt; no silicon deposited upstream of the wafer; the gas-phase
nucleation is a sharp threshold.

Sources: A. S. Grove, *Physics and Technology of Semiconductor Devices*, Wiley, New York,
1967 (ch. 1, the growth-rate model and the boundary layer); J. D. Plummer, M. D. Deal and
P. B. Griffin, *Silicon VLSI Technology: Fundamentals, Practice and Modeling*, Prentice
Hall, 2000 (ch. 9, CVD: reaction- and transport-limited regimes); S. M. Sze (ed.), *VLSI
Technology*, 2nd ed., McGraw-Hill, 1988; T. I. Kamins, *Polycrystalline Silicon for
Integrated Circuits and Displays*, 2nd ed., Kluwer, 1998 (activation energy); E. N.
Fuller, P. D. Schettler and J. C. Giddings, Ind. Eng. Chem. 58(5), 18-27, 1966
(diffusivity); T. U. M. S. Murthy, N. Miyamoto, M. Shimbo and J. Nishizawa, J. Cryst.
Growth 33, 1-7, 1976 (gas-phase nucleation of silane in hydrogen).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from genesis_lab_simulators._domain import (
    DomainModel,
    ExperimentFailed,
    Reading,
    Setting,
    SettingValue,
)

__all__ = [
    "CHANNEL_HEIGHT_CM",
    "CHANNEL_WIDTH_CM",
    "D0_CM2_S",
    "DT_REF_K",
    "EA_EV",
    "GN_E_EV",
    "GN_P_REF_TORR",
    "GN_T_REF_K",
    "GROWTH_RATE_MIN",
    "H_GAP_W_M2K",
    "H_RAD_W_M2K",
    "K0_CM_S",
    "LEADING_EDGE_CM",
    "MAP_POINTS",
    "MAX_DEPOSITION_S",
    "N_SI_CM3",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "P_KNUDSEN_TORR",
    "UNCONSTRAINED_OPTIMUM_READINGS",
    "UNCONSTRAINED_OPTIMUM_SETTINGS",
    "WAFER_LENGTH_CM",
    "CvdFilmModel",
    "WaferProfile",
    "critical_silane_pressure_torr",
    "edge_temperature_drop_K",
]

K_B_EV = 8.617333262e-5  # eV/K
K_B_J = 1.380649e-23  # J/K
TORR_PA = 133.322368  # Pa per Torr
R_ERG = 8.314462618e7  # erg/(mol K)
LOSCHMIDT_CM3 = 2.686780e19  # molecules per cm^3 at 273.15 K and 760 Torr (one "standard cm^3")

#: Silicon atoms per cm^3 of film.
N_SI_CM3 = 5.0e22
#: Activation energy of the surface reaction (eV).
EA_EV = 1.7
#: Pre-exponential factor of the surface rate constant (cm/s).
K0_CM_S = 1.34e9
#: Diffusivity of silane in hydrogen at 273.15 K and 760 Torr (cm^2/s).
D0_CM2_S = 0.5
MU_H2_300K_POISE = 8.9e-5
M_H2_G_MOL = 2.016
#: Reactor channel above the wafer (cm).
CHANNEL_WIDTH_CM = 15.0
CHANNEL_HEIGHT_CM = 2.5
#: Wafer length along the flow and its distance from the boundary layer's origin (cm).
WAFER_LENGTH_CM = 15.0
LEADING_EDGE_CM = 5.0
#: Centre-to-edge temperature drop with full gas contact (K), and its pressure dependence.
DT_REF_K = 1.5
H_RAD_W_M2K = 150.0
H_GAP_W_M2K = 3000.0
P_KNUDSEN_TORR = 5.0
#: Gas-phase nucleation onset: critical silane partial pressure at GN_T_REF_K (Torr).
GN_P_REF_TORR = 1.0
GN_T_REF_K = 1073.15
GN_E_EV = 1.0
#: Thickness points of the line scan along the flow.
MAP_POINTS = 49
_FINE = 8  # integration points per map interval
#: Longest deposition before the run stops (s).
MAX_DEPOSITION_S = 7200.0
MIN_DEPOSITION_S = 30.0
THICKNESS_NOISE_ABS_NM = 0.3
THICKNESS_NOISE_REL = 0.003
RUN_TO_RUN_REL = 0.01
_XI = np.linspace(0.0, 1.0, (MAP_POINTS - 1) * _FINE + 1)  # fraction of the way along the wafer
_X_CM = LEADING_EDGE_CM + WAFER_LENGTH_CM * _XI
_DX_CM = WAFER_LENGTH_CM / (_XI.size - 1)

#: The campaign's outcome constraint: growth_rate >= GROWTH_RATE_MIN (nm/min).
GROWTH_RATE_MIN = 100.0

#: Least non-uniformity with growth_rate >= GROWTH_RATE_MIN (see the module docstring).
OPTIMUM_SETTINGS: Mapping[str, float] = MappingProxyType(
    {
        "cvd_temperature": 628.686,
        "cvd_pressure": 42.52311,
        "cvd_silane_flow": 200.0,
        "cvd_carrier_flow": 4224.555,
    }
)
OPTIMUM_READINGS: Mapping[str, float] = MappingProxyType(
    {"growth_rate": 100.0001, "non_uniformity": 1.562368}
)
#: Least non-uniformity with no constraint on growth.
UNCONSTRAINED_OPTIMUM_SETTINGS: Mapping[str, float] = MappingProxyType(
    {
        "cvd_temperature": 642.313,
        "cvd_pressure": 43.29856,
        "cvd_silane_flow": 200.0,
        "cvd_carrier_flow": 20000.0,
    }
)
UNCONSTRAINED_OPTIMUM_READINGS: Mapping[str, float] = MappingProxyType(
    {"growth_rate": 30.886, "non_uniformity": 1.264322}
)


@dataclass(frozen=True)
class WaferProfile:
    """The state along the wafer, from its leading to its trailing edge, at
    ``(MAP_POINTS - 1) * 8 + 1`` points; every ``8``-th is a map point (``map_index``)."""

    position_cm: NDArray[np.float64]
    temperature_K: NDArray[np.float64]
    k_s_cm_s: NDArray[np.float64]
    h_g_cm_s: NDArray[np.float64]
    silane_cm3: NDArray[np.float64]
    growth_rate_nm_min: NDArray[np.float64]
    gas_flow_cm3_s: float
    feed_molecules_s: float

    @property
    def map_index(self) -> slice:
        return slice(None, None, _FINE)


def critical_silane_pressure_torr(temperature_K: float) -> float:
    """Silane partial pressure (Torr) above which silicon nucleates in the gas."""
    return GN_P_REF_TORR * math.exp(GN_E_EV / K_B_EV * (1.0 / temperature_K - 1.0 / GN_T_REF_K))


def edge_temperature_drop_K(pressure_torr: float) -> float:
    """Centre-to-edge temperature drop of the wafer (K) at ``pressure_torr``."""
    contact = H_GAP_W_M2K * pressure_torr / (pressure_torr + P_KNUDSEN_TORR)
    return DT_REF_K * (H_RAD_W_M2K + H_GAP_W_M2K) / (H_RAD_W_M2K + contact)


class CvdFilmModel(DomainModel):
    """Grove's model of polysilicon CVD in a cold-wall single-wafer reactor (module
    docstring). ``noise_scale`` scales every noise term (0 for none);
    ``target_thickness_nm`` is what a run deposits before it stops."""

    name = "cvd"
    settings = (
        Setting(
            "cvd_temperature",
            units="degC",
            limits=(550.0, 950.0),
            default=650.0,
            description="substrate (susceptor) temperature at the wafer centre",
        ),
        Setting(
            "cvd_pressure",
            units="Torr",
            limits=(0.5, 100.0),
            default=10.0,
            description="total reactor pressure",
        ),
        Setting(
            "cvd_silane_flow",
            units="sccm",
            limits=(5.0, 200.0),
            default=50.0,
            description="silane (SiH4, the precursor) mass-flow setpoint",
        ),
        Setting(
            "cvd_carrier_flow",
            units="sccm",
            limits=(1000.0, 20000.0),
            default=10000.0,
            description="hydrogen carrier gas mass-flow setpoint",
        ),
    )
    readings = (
        Reading("growth_rate", units="nm/min", description="mean growth rate over the wafer"),
        Reading(
            "non_uniformity",
            units="%",
            description="1-sigma thickness non-uniformity of a 49-point map, 100 * std / mean",
        ),
    )
    source = (
        "A. S. Grove, Physics and Technology of Semiconductor Devices, Wiley, 1967; "
        "J. D. Plummer, M. D. Deal, P. B. Griffin, Silicon VLSI Technology, Prentice Hall, 2000"
    )

    def __init__(self, *, noise_scale: float = 1.0, target_thickness_nm: float = 200.0) -> None:
        if noise_scale < 0.0:
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
        if target_thickness_nm <= 0.0:
            raise ValueError(f"target_thickness_nm must be > 0 nm, got {target_thickness_nm}")
        self.noise_scale = noise_scale
        self.target_thickness_nm = target_thickness_nm

    def _settings(self, values: Mapping[str, SettingValue]) -> tuple[float, float, float, float]:
        out = []
        for setting in self.settings:
            if setting.name not in values:
                raise ValueError(f"missing setting {setting.name!r}: give every setting by name")
            value = float(values[setting.name])
            low, high = setting.limits or (-math.inf, math.inf)
            tolerance = 1e-9 * (high - low)
            if not low - tolerance <= value <= high + tolerance:
                raise ValueError(
                    f"{setting.name} = {value} {setting.units} is outside its limits "
                    f"[{low}, {high}]: choose a value inside them"
                )
            out.append(value)
        return out[0], out[1], out[2], out[3]

    def wafer_profile(self, values: Mapping[str, SettingValue]) -> WaferProfile:
        """Temperature, rate constants, silane and growth rate along the wafer (no failure
        check: the profile the film would have)."""
        temperature_C, pressure, silane, carrier = self._settings(values)
        T = temperature_C + 273.15
        x = _X_CM
        T_x = T - edge_temperature_drop_K(pressure) * (2.0 * _XI - 1.0) ** 2
        k_s = K0_CM_S * np.exp(-EA_EV / (K_B_EV * T_x))
        diffusivity = D0_CM2_S * (T / 273.15) ** 1.75 * (760.0 / pressure)
        viscosity = MU_H2_300K_POISE * (T / 300.0) ** 0.68
        density = pressure * TORR_PA * 10.0 * M_H2_G_MOL / (R_ERG * T)  # g/cm^3
        flow = (silane + carrier) / 60.0 * (760.0 / pressure) * (T / 273.15)
        velocity = flow / (CHANNEL_WIDTH_CM * CHANNEL_HEIGHT_CM)
        h_g = diffusivity / np.sqrt(viscosity / density * x / velocity)
        k_eff = k_s * h_g / (k_s + h_g)
        mole_fraction = silane / (silane + carrier)
        c_in = mole_fraction * pressure * TORR_PA / (K_B_J * T) * 1e-6  # cm^-3
        # trapezoid rule for the integral of k_eff from the leading edge to each x
        integral = np.concatenate(([0.0], np.cumsum(0.5 * _DX_CM * (k_eff[1:] + k_eff[:-1]))))
        depleted = integral * CHANNEL_WIDTH_CM / flow
        concentration = c_in * np.exp(-depleted)
        growth = k_eff * concentration / N_SI_CM3 * 1e7 * 60.0  # cm/s -> nm/min
        return WaferProfile(
            position_cm=x.copy(),
            temperature_K=T_x,
            k_s_cm_s=k_s,
            h_g_cm_s=h_g,
            silane_cm3=concentration,
            growth_rate_nm_min=growth,
            gas_flow_cm3_s=flow,
            feed_molecules_s=silane / 60.0 * LOSCHMIDT_CM3,
        )

    def _check_nucleation(self, values: Mapping[str, SettingValue]) -> None:
        temperature_C, pressure, silane, carrier = self._settings(values)
        partial = silane / (silane + carrier) * pressure
        critical = critical_silane_pressure_torr(temperature_C + 273.15)
        if partial > critical:
            raise ExperimentFailed(
                f"gas-phase nucleation: {partial:.3g} Torr of silane at {temperature_C:.0f} degC "
                f"exceeds the onset {critical:.3g} Torr; the film is hazy with particles. "
                "Lower the temperature, the pressure or the silane fraction.",
                mode="gas_phase_nucleation",
            )

    def _map(self, values: Mapping[str, SettingValue]) -> NDArray[np.float64]:
        profile = self.wafer_profile(values)
        return profile.growth_rate_nm_min[profile.map_index]

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        self._check_nucleation(values)
        rates = self._map(values)
        mean = float(np.mean(rates))
        return {
            "growth_rate": mean,
            "non_uniformity": float(100.0 * np.std(rates, ddof=1) / mean),
        }

    def deposition_s(self, values: Mapping[str, SettingValue]) -> float:
        """How long the run deposits (s): to ``target_thickness_nm``, within 30 s to 2 h."""
        mean = float(np.mean(self._map(values)))
        wanted = self.target_thickness_nm / mean * 60.0 if mean > 0.0 else math.inf
        return min(max(wanted, MIN_DEPOSITION_S), MAX_DEPOSITION_S)

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        self._check_nucleation(values)
        rates = self._map(values)
        minutes = self.deposition_s(values) / 60.0
        run_factor = 1.0 + self.noise_scale * RUN_TO_RUN_REL * rng.standard_normal()
        thickness = rates * minutes * run_factor
        sigma = self.noise_scale * np.hypot(THICKNESS_NOISE_ABS_NM, THICKNESS_NOISE_REL * thickness)
        measured = np.maximum(thickness + sigma * rng.standard_normal(thickness.shape), 0.0)
        mean = float(np.mean(measured))
        spread = float(np.std(measured, ddof=1))
        return {
            "growth_rate": mean / minutes,
            # a film thinner than the ellipsometer's floor reads as noise, not as infinity
            "non_uniformity": 100.0 * spread / max(mean, THICKNESS_NOISE_ABS_NM),
        }

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        temperature_C = self._settings(values)[0]
        heat = max(temperature_C - 400.0, 0.0) / 5.0
        return 120.0 + heat + 120.0 + self.deposition_s(values) + 300.0
