"""Nd/Pr separation by solvent extraction in a countercurrent mixer-settler cascade.

A didymium chloride feed (Nd and Pr, ``feed_total_M`` mol/L in all, ``feed_nd_fraction`` of
it Nd) meets an organic phase of PC88A (HEH/EHP, P507: 2-ethylhexyl phosphonic acid
mono-2-ethylhexyl ester) in kerosene in ``N`` countercurrent mixer-settler stages. Nd, the
heavier lanthanide, is extracted more strongly than Pr; the product is the loaded organic
(stripped afterwards), the raffinate carries the Pr-rich remainder.

Equations
---------
Cation exchange with the extractant dimer (Kubota, Goto & Nakashio 1993)::

    RE3+(aq) + 3 (HA)2(org)  <=>  RE(A.HA)3(org) + 3 H+(aq)

so the distribution ratio of element ``i`` (Nd or Pr) is::

    D_i = K_i * [(HA)2]^3 * [H+]^-3,    [(HA)2] = C / 2,    [H+] = 10^-pH

with ``C`` the formal (monomer) PC88A concentration (mol/L), slope 3 in both log C and pH.
The extraction factor of a stage is ``E_i = D_i * O/A``. With constant ``D`` (dilute, far
from saturation) the fraction of ``i`` left in the raffinate after ``N`` countercurrent
stages is the Kremser equation (Kremser 1930)::

    phi_i = (E_i - 1) / (E_i^(N+1) - 1)        (phi_i = 1 / (N + 1) at E_i = 1)

and the readings are::

    recovery = 100 * (1 - phi_Nd)                                          (%)
    purity   = 100 * x (1 - phi_Nd) / (x (1 - phi_Nd) + (1 - x)(1 - phi_Pr))   (%)

with ``x`` the Nd mole fraction of the feed's rare earths. Since ``E_Nd / E_Pr = beta > 1``
the product is always richer in Nd than the feed (purity >= 100 x) and never richer than
``100 beta x / (beta x + 1 - x)`` (the limit as E -> 0), about 81.8 % for the default feed:
an extraction section alone, without scrubbing, cannot make pure Nd.

Failure: the organic loading, rare earths carried by the organic per litre over its
stoichiometric capacity ``C / 6`` (six PC88A per RE(A.HA)3)::

    loading = feed_total_M * (x (1 - phi_Nd) + (1 - x)(1 - phi_Pr)) / (O/A) / (C / 6)

above ``max_loading_fraction`` (default 0.8) the organic gels, forms a third phase and
emulsifies: :class:`ExperimentFailed` with ``mode="third_phase"``. (Rare-earth hydroxide
precipitation needs pH > ~6.5 at these concentrations, outside the settings' range, so it
is not modelled.)

Constants and sources
---------------------
- ``log10 K_Pr = -1.98`` (mol/L basis, dimer convention above): D. Wu, Q. Zhang, B. Bao,
  "Synergistic Effects in Extraction and Separation of Praseodymium(III) and Neodymium(III)
  with 8-Hydroxyquinoline in the Presence of 2-Ethylhexyl Phosphonic Acid Mono-2-Ethylhexyl
  Ester", Ind. Eng. Chem. Res. 46 (2007) 6320-6325 (PrL3.3HL with P507).
- ``beta_Nd/Pr = 1.5``, so ``K_Nd = 1.5 K_Pr``: the middle of the 1.4-1.6 range reported
  for organophosphorus acids in chloride media (1.58 for D2EHPA: RSC Adv. 2015,
  doi:10.1039/C5RA09928E).
- Extraction with the dimer, slope 3 on pH and on [(HA)2]: F. Kubota, M. Goto, F. Nakashio,
  "Extraction of rare earth metals with 2-ethylhexyl phosphonic acid mono-2-ethylhexyl
  ester in the presence of diethylenetriaminepentaacetic acid in aqueous phase", Solvent
  Extr. Ion Exch. 11 (1993) 437-453.
- Countercurrent cascade: A. Kremser, "Theoretical analysis of absorption process", Natl.
  Petroleum News 22(21) (1930) 43-49; in extraction form in R. E. Treybal, Liquid Extraction
  (2nd ed., McGraw-Hill 1963).

Units: pH (dimensionless, the aqueous pH held in every stage); extractant in mol/L PC88A
(monomer); O/A dimensionless volumetric flow ratio; stages a whole number; readings in %;
concentrations in mol/L; durations in s.

Simplified
----------
- Every stage is an equilibrium stage at the same pH: the 3 H+ released per RE extracted are
  taken as neutralised (pre-saponified extractant), so pH is a setting, not a result.
- ``D`` is constant through the cascade: free extractant is taken as the formal ``C / 2``
  dimer (no depletion by loading), activity coefficients are 1, no chloride complexation.
  The loading limit marks where this stops being tenable.
- Two components only (Nd, Pr); no scrub or strip section (stripping is taken as complete).
- Noise: each product concentration assayed by ICP-OES with relative error ``noise_rel``
  plus an absolute floor ``noise_abs_M``; purity and recovery computed from those assays.

Optimum
-------
Both readings depend on the settings only through ``E_Nd`` (hence ``E_Pr = E_Nd / beta``)
and ``N``. More stages always help (at a fixed recovery the purity rises with ``N``), so the
Pareto front is the ``N = 20`` curve swept over ``E_Nd``, and every point of it is reachable
within the limits without reaching the loading limit. :data:`PARETO_SETTINGS` are points of
that curve (``E_Nd`` from 0.2 to 2; ``C`` and ``O/A`` picked so that pH >= 1 and the loading
stays below its limit; pH solved for ``E_Nd`` and rounded to 4 decimals);
:data:`PARETO_READINGS` their readings. The front is flat at ~81.8 % purity up to ~60 %
recovery, has its knee near ``E_Nd = 1`` (95.2 % recovery, 81.1 % purity) and falls to the
feed's 75 % at full recovery. :data:`PARETO_HYPERVOLUME` (770.454 %^2) is its hypervolume
above :data:`REFERENCE_POINT` (74 % purity, 0 % recovery), by the trapezoid rule over 20,001
points of ``log10 E_Nd`` in [-6, 4] (200,001 points over [-8, 6] agree to 0.001). The tests
recompute it independently and check that no feasible point of a dense grid over the whole
box dominates the front.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from genesis_lab_simulators._domain import (
    DomainModel,
    ExperimentFailed,
    Reading,
    Setting,
    SettingValue,
)

__all__ = [
    "BETA_ND_PR",
    "LOG10_K_ND",
    "LOG10_K_PR",
    "MAX_PURITY_PCT",
    "PARETO_HYPERVOLUME",
    "PARETO_READINGS",
    "PARETO_SETTINGS",
    "REFERENCE_POINT",
    "RareEarthSX",
    "kremser_unextracted",
]

#: Separation factor D_Nd / D_Pr for PC88A in chloride media.
BETA_ND_PR = 1.5
#: log10 of the extraction constant of Pr (mol/L basis, dimer mechanism), Wu et al. 2007.
LOG10_K_PR = -1.98
#: log10 of the extraction constant of Nd: K_Pr * BETA_ND_PR.
LOG10_K_ND = LOG10_K_PR + math.log10(BETA_ND_PR)
#: Default feed: 0.10 mol/L rare earths, 75 % of them Nd (a didymium concentrate).
FEED_TOTAL_M = 0.10
FEED_ND_FRACTION = 0.75
#: Six PC88A monomers per extracted RE(A.HA)3.
EXTRACTANT_PER_RE = 6.0
#: Above this fraction of the stoichiometric capacity the organic forms a third phase.
MAX_LOADING_FRACTION = 0.8

#: The supremum of purity (%, default feed): the limit as E -> 0, never reached.
MAX_PURITY_PCT = (
    100.0 * BETA_ND_PR * FEED_ND_FRACTION / (BETA_ND_PR * FEED_ND_FRACTION + 1.0 - FEED_ND_FRACTION)
)


def kremser_unextracted(extraction_factor: float, stages: int) -> float:
    """Fraction of a solute left in the raffinate after ``stages`` countercurrent stages
    with extraction factor ``E``: ``(E - 1) / (E^(N+1) - 1)``, written in ``u = ln E`` so
    that neither E near 1 nor E^(N+1) beyond the float range loses it."""
    if not extraction_factor > 0.0:
        raise ValueError(f"extraction factor must be > 0, got {extraction_factor}")
    if stages < 1:
        raise ValueError(f"stages must be >= 1, got {stages}")
    u = math.log(extraction_factor)
    if u == 0.0:
        return 1.0 / (stages + 1)
    if u > 0.0:
        # (1 - e^-u) e^(-N u) / (1 - e^(-(N+1) u))
        return -math.expm1(-u) * math.exp(-stages * u) / -math.expm1(-(stages + 1) * u)
    return math.expm1(u) / math.expm1((stages + 1) * u)


class RareEarthSX(DomainModel):
    """Nd/Pr solvent-extraction cascade (PC88A, chloride feed): purity vs recovery of Nd.

    Options: the feed (``feed_total_M`` mol/L rare earths, ``feed_nd_fraction`` of them
    Nd), the third-phase limit ``max_loading_fraction`` of the stoichiometric capacity, and
    the assay noise (``noise_rel`` relative, ``noise_abs_M`` mol/L absolute, per product
    concentration).
    """

    name = "ree"
    settings = (
        Setting(
            "ree_ph",
            units="pH",
            limits=(1.0, 4.0),
            default=1.1,
            description="aqueous pH held in every stage (saponified extractant)",
        ),
        Setting(
            "ree_extractant",
            units="mol/L",
            limits=(0.05, 1.5),
            default=0.5,
            description="PC88A (HEH/EHP) concentration in kerosene, as monomer",
        ),
        Setting(
            "ree_oa_ratio",
            units="",
            limits=(0.2, 5.0),
            default=2.0,
            description="organic-to-aqueous volumetric flow ratio O/A",
        ),
        Setting(
            "ree_stages",
            units="stages",
            limits=(1.0, 20.0),
            integer=True,
            default=5.0,
            description="number of countercurrent extraction stages (mixer-settlers)",
        ),
    )
    readings = (
        Reading("purity", units="%", description="Nd / (Nd + Pr) in the loaded organic, mol %"),
        Reading("recovery", units="%", description="fraction of the feed's Nd in the product"),
    )
    source = (
        "Cation exchange D = K [(HA)2]^3 [H+]^-3 (Kubota, Goto & Nakashio, Solvent Extr. Ion "
        "Exch. 11 (1993) 437-453); log K_Pr = -1.98 for P507 (Wu, Zhang & Bao, Ind. Eng. "
        "Chem. Res. 46 (2007) 6320-6325); beta_Nd/Pr = 1.5; countercurrent cascade by the "
        "Kremser equation (Kremser, Natl. Petroleum News 22 (1930) 43-49)"
    )

    def __init__(
        self,
        *,
        feed_total_M: float = FEED_TOTAL_M,
        feed_nd_fraction: float = FEED_ND_FRACTION,
        max_loading_fraction: float = MAX_LOADING_FRACTION,
        noise_rel: float = 0.02,
        noise_abs_M: float = 1e-6,
    ) -> None:
        if not feed_total_M > 0.0:
            raise ValueError(f"feed_total_M must be > 0 mol/L, got {feed_total_M}")
        if not 0.0 < feed_nd_fraction < 1.0:
            raise ValueError(f"feed_nd_fraction must be in (0, 1), got {feed_nd_fraction}")
        if not 0.0 < max_loading_fraction <= 1.0:
            raise ValueError(f"max_loading_fraction must be in (0, 1], got {max_loading_fraction}")
        if noise_rel < 0.0 or noise_abs_M < 0.0:
            raise ValueError("noise_rel and noise_abs_M must be >= 0")
        self.feed_total_M = feed_total_M
        self.feed_nd_fraction = feed_nd_fraction
        self.max_loading_fraction = max_loading_fraction
        self.noise_rel = noise_rel
        self.noise_abs_M = noise_abs_M

    # -- the physics -------------------------------------------------------------------

    def _point(self, values: Mapping[str, SettingValue]) -> tuple[float, float, float, int]:
        """(pH, C mol/L, O/A, N) from ``values``, checked against the limits."""
        out: list[float] = []
        for setting in self.settings:
            if setting.name not in values:
                raise ValueError(f"missing setting {setting.name!r}: give every setting")
            raw = values[setting.name]
            if isinstance(raw, str):
                raise ValueError(f"setting {setting.name!r} must be a number, got {raw!r}")
            value = float(raw)
            low, high = setting.limits or (-math.inf, math.inf)
            if not low - 1e-9 <= value <= high + 1e-9:
                raise ValueError(
                    f"setting {setting.name!r} = {value} is outside its limits [{low}, {high}]"
                )
            if setting.integer:
                if abs(value - round(value)) > 1e-6:
                    raise ValueError(
                        f"setting {setting.name!r} must be a whole number, got {value}"
                    )
                value = float(round(value))
            out.append(value)
        ph, extractant, oa, stages = out
        return ph, extractant, oa, int(stages)

    def distribution_ratios(self, ph: float, extractant_M: float) -> tuple[float, float]:
        """(D_Nd, D_Pr) at ``ph`` and ``extractant_M`` mol/L PC88A."""
        log_common = 3.0 * math.log10(extractant_M / 2.0) + 3.0 * ph
        return 10.0 ** (LOG10_K_ND + log_common), 10.0 ** (LOG10_K_PR + log_common)

    def _extracted(self, values: Mapping[str, SettingValue]) -> tuple[float, float, float]:
        """(fraction of Nd extracted, fraction of Pr extracted, loading fraction)."""
        ph, extractant, oa, stages = self._point(values)
        d_nd, d_pr = self.distribution_ratios(ph, extractant)
        frac_nd = 1.0 - kremser_unextracted(d_nd * oa, stages)
        frac_pr = 1.0 - kremser_unextracted(d_pr * oa, stages)
        x = self.feed_nd_fraction
        organic_M = self.feed_total_M * (x * frac_nd + (1.0 - x) * frac_pr) / oa
        loading = organic_M / (extractant / EXTRACTANT_PER_RE)
        return frac_nd, frac_pr, loading

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        frac_nd, frac_pr, loading = self._extracted(values)
        if loading > self.max_loading_fraction:
            raise ExperimentFailed(
                f"organic loaded to {100 * loading:.0f} % of its capacity (limit "
                f"{100 * self.max_loading_fraction:.0f} %): third phase / emulsion; raise "
                "the extractant concentration or O/A, or lower the pH",
                mode="third_phase",
            )
        x = self.feed_nd_fraction
        nd = x * frac_nd
        pr = (1.0 - x) * frac_pr
        return {"purity": 100.0 * nd / (nd + pr), "recovery": 100.0 * frac_nd}

    def loading_fraction(self, values: Mapping[str, SettingValue]) -> float:
        """Organic loading over its stoichiometric capacity at ``values`` (no failure)."""
        return self._extracted(values)[2]

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        """Readings from assayed product concentrations: each of Nd and Pr in the loaded
        organic (mol/L) gets Gaussian error of sd ``sqrt((noise_rel c)^2 + noise_abs_M^2)``,
        clipped at 0; purity and recovery are computed from the assays (purity 0 if neither
        element is detected)."""
        self.evaluate(values)  # the failure region fails before any assay
        frac_nd, frac_pr, _ = self._extracted(values)
        oa = float(values["ree_oa_ratio"])
        x = self.feed_nd_fraction
        nd_org = self.feed_total_M * x * frac_nd / oa
        pr_org = self.feed_total_M * (1.0 - x) * frac_pr / oa
        assayed = []
        for c in (nd_org, pr_org):
            sd = math.hypot(self.noise_rel * c, self.noise_abs_M)
            assayed.append(max(0.0, c + sd * float(rng.standard_normal())))
        nd_m, pr_m = assayed
        total = nd_m + pr_m
        purity = 100.0 * nd_m / total if total > 0.0 else 0.0
        recovery = 100.0 * nd_m * oa / (self.feed_total_M * x)
        return {"purity": purity, "recovery": recovery}

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        """Start-up (15 min), three displacements of the cascade to reach steady state (per
        stage 2 min mixing and 8 min settling, settling slower by ``1 + C / 2`` as the
        organic gets more viscous), then the ICP-OES assay (20 min)."""
        _, extractant, _, stages = self._point(values)
        stage_s = 120.0 + 480.0 * (1.0 + extractant / 2.0)
        return 900.0 + 3.0 * stages * stage_s + 1200.0


def _pareto_point(e_nd: float, extractant: float, oa: float) -> dict[str, SettingValue]:
    """Settings on the front: N = 20, ``extractant`` mol/L, ``oa``, pH for ``E_Nd = e_nd``."""
    ph = (math.log10(e_nd / oa) - LOG10_K_ND - 3.0 * math.log10(extractant / 2.0)) / 3.0
    return {
        "ree_ph": round(ph, 4),
        "ree_extractant": extractant,
        "ree_oa_ratio": oa,
        "ree_stages": 20.0,
    }


#: Points of the purity-recovery Pareto front: N = 20 and E_Nd = 0.2, 0.6, 0.9, 1.0, 1.1,
#: 1.3, 2.0 (extractant and O/A chosen so that pH >= 1 and the loading stays below limit).
PARETO_SETTINGS: tuple[dict[str, SettingValue], ...] = (
    _pareto_point(0.2, 0.2, 1.0),
    _pareto_point(0.6, 0.5, 2.0),
    _pareto_point(0.9, 0.5, 2.0),
    _pareto_point(1.0, 0.5, 2.0),
    _pareto_point(1.1, 0.5, 2.0),
    _pareto_point(1.3, 0.5, 2.0),
    _pareto_point(2.0, 0.5, 2.0),
)
#: Readings (purity %, recovery %) at :data:`PARETO_SETTINGS`, default model.
PARETO_READINGS: tuple[dict[str, float], ...] = tuple(
    RareEarthSX().evaluate(s) for s in PARETO_SETTINGS
)
#: Hypervolume reference: just below the feed's Nd purity (75 %), nothing recovered.
REFERENCE_POINT: dict[str, float] = {"purity": 74.0, "recovery": 0.0}
#: Hypervolume (%^2) dominated by the true (N = 20) front above :data:`REFERENCE_POINT`,
#: default feed: trapezoid rule over 20,001 points of log10 E_Nd in [-6, 4].
PARETO_HYPERVOLUME = 770.454
