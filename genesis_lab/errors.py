"""The one exception root of genesis-lab and its short tree.

::

    GenesisLabError
    ├── CampaignFileError (ValueError)      a campaign file is unreadable or invalid
    │   └── LabFileError                    a lab file is unreadable or invalid
    ├── DataFileError (ValueError)          a data file (prior results CSV) is invalid
    ├── LabSetupError (ValueError)          a lab's credentials cannot be made as asked
    ├── StationError (LookupError)          a station plugin is missing or misconfigured
    │   ├── DeviceUnreachableError (ConnectionError) a device's instrument cannot be reached
    │   └── StationTakenError (RuntimeError) another worker process serves this station id
    ├── MessageError (ValueError)           a wire message is malformed or of the wrong schema
    ├── BrokerError (ConnectionError)       the MQTT broker cannot be reached or started
    ├── TransportSecurityError (ValueError) TLS or broker credential settings are unusable
    ├── KeyFileError (ValueError)           a signing or trusted key file is missing or unsafe
    ├── SignatureError (ValueError)         a message is unsigned, wrongly signed, old or replayed
    ├── RecordError (RuntimeError)          the campaign record cannot be opened or written
    ├── ReplayError (ValueError)            a recorded campaign cannot be replayed as asked
    ├── PlannerError (RuntimeError)         the planner was used wrongly (unknown trial, ...)
    ├── TrialTimeoutError (TimeoutError)    no worker answered a dispatched trial in time
    ├── EmergencyStopError (RuntimeError)   an e-stop is in force: nothing more may move
    ├── SetpointNotReachedError (RuntimeError) a move reported success, the actuator is elsewhere
    └── MoveTimeoutError (TimeoutError)     a move did not finish within its time-out

Device drivers raise their own errors under ``GenesisLabError`` too (the reference drivers'
``InstrumentError`` family, in ``devices/genesis_lab_devices/_errors.py``).

Every error carries structured fields and a message that says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BrokerError",
    "CampaignFileError",
    "DataFileError",
    "DeviceUnreachableError",
    "EmergencyStopError",
    "FieldProblem",
    "GenesisLabError",
    "KeyFileError",
    "LabFileError",
    "LabSetupError",
    "MessageError",
    "MoveTimeoutError",
    "PlannerError",
    "RecordError",
    "ReplayError",
    "SetpointNotReachedError",
    "SignatureError",
    "StationError",
    "StationTakenError",
    "TransportSecurityError",
    "TrialTimeoutError",
]


class GenesisLabError(Exception):
    """Root of every error genesis-lab raises on purpose."""


@dataclass(frozen=True)
class FieldProblem:
    """One problem found in a campaign file.

    ``field`` is the dotted path (``parameters.0.bounds``); ``line`` is 1-based, or
    ``None`` when the problem has no place in the file (a missing file).
    """

    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        name = f"{self.field}: " if self.field else ""
        return f"{where}{name}{self.message}"


def _problems_text(path: str, problems: list[FieldProblem]) -> str:
    return "\n".join(
        f"{path}:{p.line}: {p.field}: {p.message}" if p.line else f"{path}: {p}" for p in problems
    )


class CampaignFileError(GenesisLabError, ValueError):
    """A campaign file could not be read or does not validate."""

    def __init__(self, path: str, problems: list[FieldProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(_problems_text(path, problems))


class LabFileError(CampaignFileError):
    """A lab file could not be read or does not validate (reported as a campaign file is:
    ``FILE:LINE: field: message`` for every problem)."""


class DataFileError(GenesisLabError, ValueError):
    """A data file (prior results as CSV) could not be read or does not fit the campaign."""

    def __init__(self, path: str, problems: list[FieldProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(_problems_text(path, problems))


class LabSetupError(GenesisLabError, ValueError):
    """A lab's certificates, passwords and broker files cannot be made as asked: a name
    that cannot be a broker username or a topic level, two identities with one name, an
    unknown host name or system user, or an output directory that already holds keys.

    ``setting`` names the option at fault (``lab``, ``station``, ``observer``,
    ``orchestrator``, ``hostname``, ``port``, ``broker_user`` or ``out``).
    """

    def __init__(self, message: str, *, setting: str) -> None:
        self.setting = setting
        super().__init__(message)


class StationError(GenesisLabError, LookupError):
    """A station plugin is not installed, or its options or devices are wrong."""

    def __init__(self, message: str, *, station: str | None = None) -> None:
        self.station = station
        super().__init__(message)


class DeviceUnreachableError(StationError, ConnectionError):
    """A station's device could not be built: its instrument did not answer at ``address``
    (``None`` where its driver takes no address). ``device`` is its name in the station,
    ``driver`` the driver that tried."""

    def __init__(
        self,
        message: str,
        *,
        device: str,
        driver: str,
        address: str | None = None,
        station: str | None = None,
    ) -> None:
        self.device = device
        self.driver = driver
        self.address = address
        super().__init__(message, station=station)


class StationTakenError(StationError, RuntimeError):
    """Another worker process serves this station id on the broker now (``worker`` names
    it, as its presence does): a second one would push it off the broker."""

    def __init__(self, message: str, *, station: str, worker: str) -> None:
        self.worker = worker
        super().__init__(message, station=station)


class MessageError(GenesisLabError, ValueError):
    """A message from the wire is malformed, oversized, or of an unknown schema.

    ``reason`` says which, for counting: ``malformed`` (not JSON, not an object),
    ``oversized``, ``version`` (another ``schema_version``) or ``schema`` (missing, extra
    or wrong-typed fields).
    """

    def __init__(
        self, message: str, *, topic: str | None = None, reason: str = "malformed"
    ) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(message)


class BrokerError(GenesisLabError, ConnectionError):
    """The MQTT broker could not be started, reached, or spoken to."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)


class TransportSecurityError(GenesisLabError, ValueError):
    """The broker connection's TLS or credential settings are missing, unreadable or do not
    fit together (a TLS URL without a CA, a key without its certificate, ...).

    ``setting`` names the one at fault (``ca_file``, ``cert_file``, ``key_file``,
    ``username``, ``password_file`` or ``url``). The message never holds a password.
    """

    def __init__(self, message: str, *, setting: str) -> None:
        self.setting = setting
        super().__init__(message)


class KeyFileError(GenesisLabError, ValueError):
    """A signing key or a trusted public key file is missing, unreadable, not an Ed25519
    key in PEM, or (a private key) readable by others than its owner. The message names the
    file, never the key."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class SignatureError(GenesisLabError, ValueError):
    """A signed message does not hold up: ``reason`` says why, for counting: ``unsigned``,
    ``unknown-key`` (signed by a key not trusted), ``bad-signature`` (altered after signing,
    or not signed by the key it names), ``expired``, ``future`` (its time is ahead of this
    clock), ``replayed`` (its nonce was seen before) or ``replay-cache-full``."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class RecordError(GenesisLabError, RuntimeError):
    """The campaign record could not be opened, read, or written."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class ReplayError(GenesisLabError, ValueError):
    """A recorded campaign cannot be replayed as asked: no such simulator, a simulator that
    does not fit the campaign, nothing to run again, or an output that is the record."""

    def __init__(self, message: str, *, record: str | None = None) -> None:
        self.record = record
        super().__init__(message)


class PlannerError(GenesisLabError, RuntimeError):
    """The planner was asked something it cannot answer (unknown trial, bad outcome)."""

    def __init__(self, message: str, *, trial_id: str | None = None) -> None:
        self.trial_id = trial_id
        super().__init__(message)


class TrialTimeoutError(GenesisLabError, TimeoutError):
    """A dispatched trial was not finished by any worker within its timeout."""

    def __init__(self, message: str, *, trial_id: str, timeout_s: float) -> None:
        self.trial_id = trial_id
        self.timeout_s = timeout_s
        super().__init__(message)


class EmergencyStopError(GenesisLabError, RuntimeError):
    """Raised inside a plan when an emergency stop is in force: nothing more may move."""


class SetpointNotReachedError(GenesisLabError, RuntimeError):
    """A move reported success but the actuator reads back elsewhere (stuck or drifting)."""

    def __init__(self, message: str, *, actuator: str, setpoint: float, readback: object) -> None:
        self.actuator = actuator
        self.setpoint = setpoint
        self.readback = readback
        super().__init__(message)


class MoveTimeoutError(GenesisLabError, TimeoutError):
    """The moves of a trial did not all finish within ``timeout_s`` seconds; ``actuators``
    names those still going (their devices are then stopped)."""

    def __init__(self, message: str, *, actuators: tuple[str, ...], timeout_s: float) -> None:
        self.actuators = actuators
        self.timeout_s = timeout_s
        super().__init__(message)
