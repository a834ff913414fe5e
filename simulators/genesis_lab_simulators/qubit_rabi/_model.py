"""Calibrating an X (pi) pulse on a superconducting transmon qubit: pure math, no devices.

One trial plays a single microwave pulse on a qubit that starts in ``|0>`` and reads the
qubit out ``shots`` times; a model-based estimate of the average gate fidelity of the pulse,
taken as an X gate, is reported alongside (in the lab it comes from interleaved randomized
benchmarking, which the trial's duration accounts for).

Settings (``f`` are ordinary frequencies in MHz; angular frequencies are ``2*pi*f`` in
rad/us, times in us inside the formulas):

- ``qubit_rabi_mhz`` ``f_R``: the drive amplitude, as the Rabi frequency it produces
  (``Omega = 2*pi*f_R``);
- ``qubit_detuning_mhz`` ``delta``: drive frequency minus the bare 0-1 qubit frequency;
- ``qubit_duration_ns`` ``t``: the pulse length;
- ``qubit_drag`` ``beta``: the DRAG coefficient (dimensionless; 1 is the first-order DRAG
  quadrature of Motzoi et al., 0 no DRAG).

Constructor options: ``t1_us`` and ``t2_us`` (relaxation and dephasing times, us),
``anharmonicity_mhz`` ``f_a`` (negative for a transmon), ``shots``, the readout assignment
errors ``readout_error_0to1`` ``e01`` = P(read 1 | in 0) and ``readout_error_1to0``
``e10`` = P(read 0 | in 1), and ``fidelity_rel_noise`` (relative spread of the benchmarked
infidelity).

The model, in order:

1. AC Stark shift. The drive couples 1-2 (matrix element sqrt(2)) off-resonantly; second
   order perturbation theory pushes level 1 by ``delta_S = -f_R**2 / (2*f_a)`` (MHz;
   positive for a transmon), so the effective detuning is ``Delta = 2*pi*(delta - delta_S)``.
2. Rabi formula with detuning (Rabi 1937), damped during the pulse (Torrey 1949)::

       Omega_g = sqrt(Omega**2 + Delta**2)
       P_rabi  = Omega**2 / Omega_g**2 * (1 - exp(-Gamma_R*t) * cos(Omega_g*t)) / 2
       Gamma_R = 1/(2*T1) + 1/(2*T2)

   Without decay this is ``Omega**2/Omega_g**2 * sin(Omega_g*t/2)**2``.
3. Leakage to ``|2>`` (Motzoi et al. 2009): the leaked fraction of the excited population
   is ``L = (1 - beta)**2 * (f_R/f_a)**2 / 2 + (f_R/f_a)**4 / 4``. The leaked amplitude is
   linear in the DRAG quadrature and vanishes at first order for ``beta = 1``, hence the
   ``(1 - beta)**2``; the quartic term stands for the higher-order leakage DRAG leaves.
   The population in ``|1>`` is ``P1 = P_rabi * (1 - L)``; a leaked qubit is not read as
   ``|1>`` (three-state discrimination).
4. Readout (Krantz et al. 2019, sec. V): each shot reads "1" with probability
   ``p = e01 * (1 - P1) + (1 - e10) * P1``; the reading ``excited_population`` is the
   fraction of shots read as 1, ``k / shots`` with ``k ~ Binomial(shots, p)``; its
   noise-free value is ``p``.
5. Gate fidelity. The process fidelity of the rotation about the axis
   ``(Omega, 0, Delta)/Omega_g`` by ``Omega_g*t`` against X is
   ``F_coh = Omega**2/Omega_g**2 * sin(Omega_g*t/2)**2``; amplitude and phase damping over
   the pulse give ``D = (1 + exp(-t/T1) + 2*exp(-t/T2)) / 4``; so
   ``F_pro = F_coh * D * (1 - L)`` and the average gate fidelity is
   ``gate_fidelity = (2*F_pro + 1) / 3`` (d = 2). Measured, the infidelity
   ``1 - gate_fidelity`` is scaled by ``exp(N(0, fidelity_rel_noise))``.

Failure (mode ``"readout_lost"``): a drive above ``READOUT_LOST_RABI_MHZ`` leaks through to
the readout resonator and drives it out of its linear (dispersive) regime, and a pulse whose
energy ``f_R**2 * t`` exceeds ``READOUT_LOST_ENERGY_MHZ2_NS`` heats the qubit and its
resonator; either way the readout no longer separates the states.

Sources: I. I. Rabi, "Space quantization in a gyrating magnetic field", Phys. Rev. 51, 652
(1937); H. C. Torrey, "Transient nutations in nuclear magnetic resonance", Phys. Rev. 76,
1059 (1949); F. Motzoi, J. M. Gambetta, P. Rebentrost, F. K. Wilhelm, "Simple pulses for
elimination of leakage in weakly nonlinear qubits", Phys. Rev. Lett. 103, 110501 (2009);
P. Krantz, M. Kjaergaard, F. Yan, T. P. Orlando, S. Gustavsson, W. D. Oliver, "A quantum
engineer's guide to superconducting qubits", Appl. Phys. Rev. 6, 021318 (2019).

Simplified: the pulse is square for the rotation, the Stark shift and the decay (DRAG of a
square pulse would be zero: ``beta`` acts only through the leakage factor, as for a smooth
envelope of the same area); the Stark shift does not depend on ``beta``; the decay of the
Rabi oscillation uses the resonant Torrey rate at every detuning and relaxes towards 1/2;
leakage depends on the drive strength only (not on the oscillating phase of a sudden
switch-off); errors combine multiplicatively, which holds for small errors; the fidelity is
a model estimate, not a simulated benchmarking experiment.

Optimum (default constructor): ``OPTIMUM_SETTINGS`` maximise ``excited_population`` and
``BEST_FIDELITY_SETTINGS`` maximise ``gate_fidelity``. ``beta = 1`` is exact (only the
leakage depends on it); so is zero effective detuning (``delta = delta_S``): a tilted axis
costs ``(Delta/Omega)**2`` while the shorter pulse it allows saves only about
``Gamma_R*pi*Delta**2/(4*Omega**3)``, and a 4-D Nelder-Mead search agrees. The rest was
found numerically: ``scipy.optimize.minimize_scalar`` (bounded, xatol 1e-10) over ``t`` for
each ``f_R``, nested in one over ``f_R`` (xatol 1e-8), which the 4-D search matches. For
the population ``Omega*t = pi - atan(Gamma_R/Omega)`` (just under pi).
Decay favours short strong pulses, the residual leakage long weak ones, so the best pulse
is interior: about 29 MHz for 17 ns (32 MHz for 16 ns for the fidelity). The optimum is
flat in ``f_R`` (1e-5 lower at 25 MHz), far below the shot noise of 1000 shots (~0.007).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from genesis_lab_simulators._domain._model import (
    DomainModel,
    ExperimentFailed,
    Reading,
    Setting,
    SettingValue,
)

__all__ = [
    "BEST_FIDELITY_READINGS",
    "BEST_FIDELITY_SETTINGS",
    "OPTIMUM_READINGS",
    "OPTIMUM_SETTINGS",
    "READOUT_LOST_ENERGY_MHZ2_NS",
    "READOUT_LOST_RABI_MHZ",
    "QubitRabiModel",
]

#: Above this Rabi frequency (MHz) the drive saturates the readout resonator.
READOUT_LOST_RABI_MHZ = 75.0
#: Above this pulse energy f_R**2 * t (MHz**2 ns) the drive heats the qubit out of readout.
READOUT_LOST_ENERGY_MHZ2_NS = 2.0e5

#: Waveform compilation, upload and settling per trial (s).
_OVERHEAD_S = 30.0
#: Readout window per shot (us).
_READOUT_US = 2.0
#: Randomized-benchmarking circuits run to estimate the gate fidelity, their mean number of
#: gates, and the upload time of each (s).
_RB_CIRCUITS = 120
_RB_MEAN_GATES = 150
_RB_UPLOAD_S = 0.5

#: Settings with the highest noise-free ``excited_population`` (default constructor).
OPTIMUM_SETTINGS: dict[str, float] = {
    "qubit_rabi_mhz": 29.40033914,
    "qubit_detuning_mhz": 1.728759883,
    "qubit_duration_ns": 17.00594723,
    "qubit_drag": 1.0,
}
#: The noise-free readings at ``OPTIMUM_SETTINGS``.
OPTIMUM_READINGS: dict[str, float] = {
    "excited_population": 0.9497776438,
    "gate_fidelity": 0.9997697655,
}
#: Settings with the highest noise-free ``gate_fidelity`` (default constructor).
BEST_FIDELITY_SETTINGS: dict[str, float] = {
    "qubit_rabi_mhz": 32.11697077,
    "qubit_detuning_mhz": 2.062999623,
    "qubit_duration_ns": 15.56723397,
    "qubit_drag": 1.0,
}
#: The noise-free readings at ``BEST_FIDELITY_SETTINGS``.
BEST_FIDELITY_READINGS: dict[str, float] = {
    "excited_population": 0.9497738316,
    "gate_fidelity": 0.9997730260,
}


class QubitRabiModel(DomainModel):
    """A transmon X-pulse calibration: Rabi formula with detuning, Stark shift, T1/T2 decay,
    DRAG-suppressed leakage and binomial readout with assignment errors (see the module)."""

    name = "qubit"
    source = (
        "Rabi, Phys. Rev. 51, 652 (1937); Torrey, Phys. Rev. 76, 1059 (1949); "
        "Motzoi, Gambetta, Rebentrost, Wilhelm, Phys. Rev. Lett. 103, 110501 (2009); "
        "Krantz et al., Appl. Phys. Rev. 6, 021318 (2019)"
    )
    settings = (
        Setting(
            name="qubit_rabi_mhz",
            units="MHz",
            limits=(1.0, 100.0),
            default=10.0,
            description="drive amplitude as the Rabi frequency f_R it produces (Omega/2pi)",
        ),
        Setting(
            name="qubit_detuning_mhz",
            units="MHz",
            limits=(-10.0, 10.0),
            default=0.0,
            description="drive frequency minus the bare 0-1 qubit frequency",
        ),
        Setting(
            name="qubit_duration_ns",
            units="ns",
            limits=(2.0, 200.0),
            default=40.0,
            description="length of the (square) drive pulse",
        ),
        Setting(
            name="qubit_drag",
            units="",
            limits=(-1.0, 2.0),
            default=0.0,
            description="DRAG coefficient beta (1: first-order leakage cancellation)",
        ),
    )
    readings = (
        Reading(
            name="excited_population",
            units="fraction",
            description="fraction of the shots read as |1>, readout errors included",
        ),
        Reading(
            name="gate_fidelity",
            units="fraction",
            description="average gate fidelity of the pulse as an X gate (benchmarked)",
        ),
    )

    def __init__(
        self,
        *,
        t1_us: float = 50.0,
        t2_us: float = 40.0,
        anharmonicity_mhz: float = -250.0,
        shots: int = 1000,
        readout_error_0to1: float = 0.02,
        readout_error_1to0: float = 0.05,
        fidelity_rel_noise: float = 0.1,
    ) -> None:
        if not (t1_us > 0.0 and 0.0 < t2_us <= 2.0 * t1_us):
            raise ValueError(f"need T1 > 0 and 0 < T2 <= 2*T1 (us), got {t1_us}, {t2_us}")
        if anharmonicity_mhz == 0.0:
            raise ValueError("anharmonicity must be non-zero (MHz); a transmon's is ~ -250")
        if shots < 1:
            raise ValueError(f"shots must be a positive whole number, got {shots}")
        if not (0.0 <= readout_error_0to1 < 0.5 and 0.0 <= readout_error_1to0 < 0.5):
            raise ValueError("readout assignment errors must lie in [0, 0.5)")
        if fidelity_rel_noise < 0.0:
            raise ValueError(f"fidelity_rel_noise must be >= 0, got {fidelity_rel_noise}")
        self.t1_us = t1_us
        self.t2_us = t2_us
        self.anharmonicity_mhz = anharmonicity_mhz
        self.shots = int(shots)
        self.readout_error_0to1 = readout_error_0to1
        self.readout_error_1to0 = readout_error_1to0
        self.fidelity_rel_noise = fidelity_rel_noise

    # -- the physics, in pieces the tests can check one by one --------------------------

    def stark_shift_mhz(self, rabi_mhz: float) -> float:
        """Drive-induced shift of the 0-1 frequency (MHz): ``-f_R**2 / (2*f_a)``."""
        return -(rabi_mhz**2) / (2.0 * self.anharmonicity_mhz)

    def leakage(self, rabi_mhz: float, drag: float) -> float:
        """Fraction of the excited population leaked to ``|2>`` at the end of the pulse."""
        ratio = rabi_mhz / self.anharmonicity_mhz
        return min(1.0, (1.0 - drag) ** 2 * ratio**2 / 2.0 + ratio**4 / 4.0)

    def rabi_population(self, rabi_mhz: float, detuning_mhz: float, duration_ns: float) -> float:
        """Damped Rabi population of the excited state, before leakage and readout.
        ``detuning_mhz`` is the effective detuning (Stark shift already subtracted)."""
        omega = 2.0 * math.pi * rabi_mhz
        delta = 2.0 * math.pi * detuning_mhz
        t_us = duration_ns * 1e-3
        omega_g = math.hypot(omega, delta)
        gamma_r = 0.5 / self.t1_us + 0.5 / self.t2_us
        amplitude = omega**2 / omega_g**2
        return amplitude * (1.0 - math.exp(-gamma_r * t_us) * math.cos(omega_g * t_us)) / 2.0

    def _check_readout(self, rabi_mhz: float, duration_ns: float) -> None:
        if rabi_mhz > READOUT_LOST_RABI_MHZ:
            raise ExperimentFailed(
                f"readout lost: a {rabi_mhz:.1f} MHz Rabi drive saturates the readout "
                f"resonator (limit {READOUT_LOST_RABI_MHZ:.0f} MHz); lower qubit_rabi_mhz",
                mode="readout_lost",
            )
        energy = rabi_mhz**2 * duration_ns
        if energy > READOUT_LOST_ENERGY_MHZ2_NS:
            raise ExperimentFailed(
                f"readout lost: pulse energy f_R^2 t = {energy:.3g} MHz^2 ns heats the qubit "
                f"(limit {READOUT_LOST_ENERGY_MHZ2_NS:.3g}); shorten or weaken the pulse",
                mode="readout_lost",
            )

    # -- the DomainModel contract -------------------------------------------------------

    def evaluate(self, values: Mapping[str, SettingValue]) -> dict[str, float]:
        rabi_mhz = float(values["qubit_rabi_mhz"])
        detuning_mhz = float(values["qubit_detuning_mhz"])
        duration_ns = float(values["qubit_duration_ns"])
        drag = float(values["qubit_drag"])
        if not (rabi_mhz > 0.0 and duration_ns >= 0.0):
            raise ValueError(
                f"need qubit_rabi_mhz > 0 and qubit_duration_ns >= 0, "
                f"got {rabi_mhz} MHz and {duration_ns} ns"
            )
        self._check_readout(rabi_mhz, duration_ns)

        effective_mhz = detuning_mhz - self.stark_shift_mhz(rabi_mhz)
        leak = self.leakage(rabi_mhz, drag)
        p1 = self.rabi_population(rabi_mhz, effective_mhz, duration_ns) * (1.0 - leak)
        e01, e10 = self.readout_error_0to1, self.readout_error_1to0
        p_read = e01 * (1.0 - p1) + (1.0 - e10) * p1

        omega = 2.0 * math.pi * rabi_mhz
        omega_g = math.hypot(omega, 2.0 * math.pi * effective_mhz)
        t_us = duration_ns * 1e-3
        f_coh = omega**2 / omega_g**2 * math.sin(omega_g * t_us / 2.0) ** 2
        damping = (1.0 + math.exp(-t_us / self.t1_us) + 2.0 * math.exp(-t_us / self.t2_us)) / 4.0
        f_pro = f_coh * damping * (1.0 - leak)
        return {"excited_population": p_read, "gate_fidelity": (2.0 * f_pro + 1.0) / 3.0}

    def measure(
        self, values: Mapping[str, SettingValue], rng: np.random.Generator
    ) -> dict[str, float]:
        """Binomial shot noise on the population; log-normal noise on the infidelity."""
        exact = self.evaluate(values)
        k = rng.binomial(self.shots, exact["excited_population"])
        infidelity = (1.0 - exact["gate_fidelity"]) * math.exp(
            rng.normal(0.0, self.fidelity_rel_noise)
        )
        return {
            "excited_population": float(k) / self.shots,
            "gate_fidelity": max(0.0, 1.0 - infidelity),
        }

    def duration_s(self, values: Mapping[str, SettingValue]) -> float:
        """Overhead, the Rabi shots, and the benchmarking circuits (a few minutes).

        A shot waits 5*T1 for the qubit to reset, plays the pulse (or a benchmarking
        sequence of ``_RB_MEAN_GATES`` pulses) and reads out for ``_READOUT_US``."""
        pulse_us = float(values["qubit_duration_ns"]) * 1e-3
        reset_us = 5.0 * self.t1_us + _READOUT_US
        rabi_s = self.shots * (reset_us + pulse_us) * 1e-6
        rb_shot_s = (reset_us + _RB_MEAN_GATES * pulse_us) * 1e-6
        rb_s = _RB_CIRCUITS * (_RB_UPLOAD_S + self.shots * rb_shot_s)
        return _OVERHEAD_S + rabi_s + rb_s
