"""Pydantic models of a campaign file: what to vary, what to measure, where, how long."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "DISCRETE_MAX_VALUES",
    "AnyParameter",
    "CampaignSpec",
    "CategoricalParameter",
    "ContinuousParameter",
    "DiscreteParameter",
    "FixedParameter",
    "IntegerParameter",
    "LinearConstraint",
    "Objective",
    "Parameter",
    "PlannerSettings",
    "RetryPolicy",
    "StationRef",
    "StoppingRules",
    "StrictModel",
    "parse_broker_url",
    "parse_constraint",
]

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SLUG = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_BROKER_URL = re.compile(r"^mqtt://(?P<host>[A-Za-z0-9_.:\[\]-]+?):(?P<port>[0-9]{1,5})/?$")


class StrictModel(BaseModel):
    """Base of every boundary model: unknown keys are errors, values are not coerced loosely."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def parse_broker_url(url: str) -> tuple[str, int]:
    """Split ``mqtt://HOST:PORT`` into ``(host, port)``; raise ``ValueError`` otherwise."""
    match = _BROKER_URL.match(url)
    if match is None:
        raise ValueError(f"broker must be 'embedded' or 'mqtt://HOST:PORT', got {url!r}")
    port = int(match["port"])
    if not 0 < port < 65536:
        raise ValueError(f"broker port must be 1..65535, got {port}")
    return match["host"].strip("[]"), port


class _ParameterBase(StrictModel):
    """What every parameter has: a name, an optional actuator and a description."""

    name: str = Field(pattern=_IDENTIFIER, description="Name used in proposals and the record.")
    device: str | None = Field(
        default=None,
        pattern=_IDENTIFIER,
        description="Actuator of the station that this parameter sets; defaults to `name`.",
    )
    description: str = ""

    @property
    def actuator(self) -> str:
        """Name of the actuator this parameter sets."""
        return self.device or self.name


def _check_ordered(lower: float, upper: float) -> None:
    if not lower < upper:
        raise ValueError(
            f"lower bound must be below upper bound, got [{lower}, {upper}]; "
            "write them as [lower, upper]"
        )


class ContinuousParameter(_ParameterBase):
    """A real-valued setting searched between two bounds, on a linear or a log scale.

    The default ``type``: a parameter without a ``type`` key is continuous. On a ``log``
    scale the planner searches the logarithm of the value (even coverage of each decade),
    so the lower bound must be above zero.
    """

    type: Literal["continuous"] = "continuous"
    scale: Literal["linear", "log"] = Field(
        default="linear", description="'log' searches log(value) evenly; needs lower > 0."
    )
    bounds: tuple[float, float] = Field(description="[lower, upper], in `units`; lower < upper.")
    units: str = Field(min_length=1, description="Physical units of the value, e.g. 'mL'.")

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        _check_ordered(*bounds)
        if info.data.get("scale") == "log" and bounds[0] <= 0:
            raise ValueError(
                f"a log-scale parameter needs bounds above zero, got lower bound {bounds[0]}; "
                "raise it or use scale: linear"
            )
        return bounds


class IntegerParameter(_ParameterBase):
    """A whole-number setting (a count, a number of cycles) between two bounds, inclusive."""

    type: Literal["integer"]
    bounds: tuple[StrictInt, StrictInt] = Field(
        description="[lower, upper], whole numbers in `units`; lower < upper."
    )
    units: str = Field(min_length=1, description="Physical units of the value, e.g. 'cycles'.")

    @field_validator("bounds", mode="before")
    @classmethod
    def _whole(cls, bounds: Any) -> Any:
        # Accept 3.0 for 3 (YAML and JSON writers do that), refuse 2.5 with a clear message.
        if isinstance(bounds, list | tuple):
            return [int(b) if isinstance(b, float) and b.is_integer() else b for b in bounds]
        return bounds

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        _check_ordered(*bounds)
        return bounds


DISCRETE_MAX_VALUES = 10_000
"""Most values a discrete parameter may take (its grid is listed in memory)."""


class DiscreteParameter(_ParameterBase):
    """A real-valued setting restricted to a grid: ``lower, lower + step, ..., upper``.

    ``upper - lower`` must be a whole number of steps (to within a relative 1e-9).
    """

    type: Literal["discrete"]
    bounds: tuple[float, float] = Field(description="[lower, upper], in `units`; lower < upper.")
    step: float = Field(gt=0, description="Spacing of the allowed values, in `units`.")
    units: str = Field(min_length=1, description="Physical units of the value, e.g. 'degC'.")

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        _check_ordered(*bounds)
        return bounds

    @field_validator("step")
    @classmethod
    def _whole_number_of_steps(cls, step: float, info: ValidationInfo) -> float:
        bounds = info.data.get("bounds")
        if bounds is None:  # bounds already refused
            return step
        lower, upper = bounds
        steps = (upper - lower) / step
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ValueError(
                f"bounds [{lower}, {upper}] are not a whole number of steps of {step}; "
                "move the upper bound onto the grid or change the step"
            )
        if round(steps) + 1 > DISCRETE_MAX_VALUES:
            raise ValueError(
                f"{round(steps) + 1} values is too many for a discrete parameter (at most "
                f"{DISCRETE_MAX_VALUES}); use a larger step or a continuous parameter"
            )
        return step

    @property
    def values(self) -> tuple[float, ...]:
        """Every allowed value, ascending, from ``lower`` to exactly ``upper``."""
        lower, upper = self.bounds
        count = round((upper - lower) / self.step) + 1
        return (*(lower + k * self.step for k in range(count - 1)), upper)


class CategoricalParameter(_ParameterBase):
    """A choice among named options (a solvent, a catalyst); the proposal is the name."""

    type: Literal["categorical"]
    choices: tuple[str, ...] = Field(
        min_length=2, description="The options, at least two, each named once."
    )
    units: str = Field(default="", description="Units, if the options share any; usually empty.")

    @field_validator("choices")
    @classmethod
    def _unique(cls, choices: tuple[str, ...]) -> tuple[str, ...]:
        if any(not choice for choice in choices):
            raise ValueError("a choice must be a non-empty string")
        repeated = sorted({choice for choice in choices if choices.count(choice) > 1})
        if repeated:
            raise ValueError(f"choices must be unique; repeated: {repeated}")
        return choices


def _scalar(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One clear error for a value that is not a number or a string (not one per type)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError(
            "fixed_value",
            "a fixed value must be a number or a string, got {value!r}",
            {"value": value},
        )
    return value


class FixedParameter(_ParameterBase):
    """A setting held at one value for the whole campaign: never searched, always proposed."""

    type: Literal["fixed"]
    value: Annotated[StrictInt | StrictFloat | StrictStr, WrapValidator(_scalar)] = Field(
        description="The value, a number in `units` or a string."
    )
    units: str = Field(
        default="", validate_default=True, description="Physical units of a numeric value."
    )

    @field_validator("units")
    @classmethod
    def _numbers_have_units(cls, units: str, info: ValidationInfo) -> str:
        value = info.data.get("value")
        if value is not None and not isinstance(value, str) and not units:
            raise ValueError(f"the fixed value {value} needs units, e.g. units: mL")
        return units


Parameter: TypeAlias = (
    ContinuousParameter
    | IntegerParameter
    | DiscreteParameter
    | CategoricalParameter
    | FixedParameter
)
"""Any parameter of a campaign, told apart by its ``type`` (default ``continuous``)."""

_PARAMETER_TYPES: dict[str, type[BaseModel]] = {
    "continuous": ContinuousParameter,
    "integer": IntegerParameter,
    "discrete": DiscreteParameter,
    "categorical": CategoricalParameter,
    "fixed": FixedParameter,
}


def _by_type(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate a parameter as the model its ``type`` names (``continuous`` if absent).

    Dispatching here rather than with a pydantic discriminator keeps the error locations
    free of the tag (``parameters.0.bounds``, not ``parameters.0.continuous.bounds``), so
    the loader can point at the field's line.
    """
    if not isinstance(value, Mapping):
        return handler(value)
    kind = value.get("type", "continuous")
    model = _PARAMETER_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ValidationError.from_exception_data(
            "Parameter",
            [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "parameter_type",
                        "unknown parameter type {kind!r}; use one of: {types}",
                        {"kind": kind, "types": ", ".join(_PARAMETER_TYPES)},
                    ),
                    loc=("type",),
                    input=kind,
                )
            ],
        )
    return model.model_validate(value)


AnyParameter = Annotated[Parameter, WrapValidator(_by_type)]
"""``Parameter`` as a field type: dispatches on ``type`` with clean error locations."""


class Objective(StrictModel):
    """The one number a campaign optimises, taken from a detector reading."""

    name: str = Field(pattern=_IDENTIFIER)
    direction: Literal["maximize", "minimize"]
    reading: str = Field(
        min_length=1, description="Data key in the event documents that holds the value."
    )
    units: str = ""


class StationRef(StrictModel):
    """Which instrument station runs the experiments."""

    plugin: str = Field(
        min_length=1, description="Entry point in the 'genesis_lab.stations' group."
    )
    id: str | None = Field(
        default=None,
        pattern=_SLUG,
        description="Station id on the wire (topic names); defaults to the plugin name.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Settings passed to the plugin (validated by it)."
    )

    @property
    def station_id(self) -> str:
        """The id workers and orchestrators use for this station on the wire."""
        return self.id or self.plugin


class StoppingRules(StrictModel):
    """When to end a campaign before its budget is spent. Every rule is optional.

    When a rule fires, no new experiment is dispatched; the ones in flight finish (or time
    out), and the rule that fired is recorded as the reason for stopping.
    """

    target: float | None = Field(
        default=None,
        description="Stop once the best objective value reaches this (<= when minimizing, "
        ">= when maximizing), in the objective's units.",
    )
    no_improvement: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many completed experiments in a row that did not "
        "improve on the best value.",
    )
    max_duration_s: float | None = Field(
        default=None, gt=0, description="Stop dispatching after this many seconds of running."
    )


class RetryPolicy(StrictModel):
    """What to do with a FAILED trial (a device fault, a failed measurement)."""

    max_retries: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Run a failed experiment again, with the same parameters, up to this many "
        "times; each retry is a new trial and counts against the budget.",
    )


class PlannerSettings(StrictModel):
    """Knobs of the acquisition optimiser; the defaults suit a handful of parameters."""

    num_restarts: int = Field(default=8, ge=1, le=64)
    raw_samples: int = Field(default=256, ge=16, le=8192)


class LinearConstraint(StrictModel):
    """``sum(coefficients[name] * value[name]) <relation> rhs``, in the parameters' units.

    Only continuous linear-scale parameters appear, so the constraint stays linear in the
    planner's unit cube. Written in a campaign as e.g. ``"cyan + magenta + yellow <= 12"``.
    """

    coefficients: dict[str, float] = Field(
        min_length=1, description="Parameter name -> its coefficient (per unit of the parameter)."
    )
    relation: Literal["<=", ">=", "=="]
    rhs: float = Field(description="Right-hand side, in the units of the left-hand side.")

    def __str__(self) -> str:
        terms = " + ".join(f"{c:g}*{name}" for name, c in self.coefficients.items())
        return f"{terms} {self.relation} {self.rhs:g}"


_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TERM = re.compile(
    rf"\s*(?P<sign>[+-])?\s*(?:(?P<coef>{_NUMBER})\s*\*\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*"
)
_RELATION = re.compile(r"<=|>=|==|<|>|=")


def parse_constraint(text: str) -> LinearConstraint:
    """Parse ``"2*a - b >= 0.5"``: terms ``[+-] [number *] name``, one relation, a number.

    Raises ``ValueError`` saying what is wrong. A name written twice has its coefficients
    added.
    """
    relations = _RELATION.findall(text)
    if len(relations) != 1 or relations[0] not in ("<=", ">=", "=="):
        raise ValueError(
            f"{text!r} needs exactly one relation, '<=', '>=' or '==' (got {relations or 'none'})"
        )
    lhs, rhs_text = _RELATION.split(text)
    try:
        rhs = float(rhs_text.strip())
    except ValueError:
        raise ValueError(
            f"the right-hand side of {text!r} must be a number, got {rhs_text.strip()!r}; "
            "move every parameter to the left"
        ) from None
    if rhs != rhs or rhs in (float("inf"), float("-inf")):
        raise ValueError(f"the right-hand side of {text!r} must be a finite number")
    coefficients: dict[str, float] = {}
    position = 0
    while position < len(lhs):
        match = _TERM.match(lhs, position)
        if match is None or match.end() == position or (position and match["sign"] is None):
            rest = lhs[position:].strip()
            raise ValueError(
                f"cannot read {rest!r} in {text!r}; write terms as '[+-] [number *] name', "
                "e.g. '2*a - b'"
            )
        coefficient = float(match["coef"] or 1.0) * (-1.0 if match["sign"] == "-" else 1.0)
        name = match["name"]
        coefficients[name] = coefficients.get(name, 0.0) + coefficient
        position = match.end()
    if not coefficients:
        raise ValueError(f"{text!r} has no parameter on the left-hand side")
    return LinearConstraint(coefficients=coefficients, relation=relations[0], rhs=rhs)


def _check_constraint(text: str, parameters: Mapping[str, Parameter]) -> LinearConstraint:
    """Parse ``text`` and check its names against the campaign's ``parameters``."""
    constraint = parse_constraint(text)
    low = high = 0.0
    for name, coefficient in constraint.coefficients.items():
        parameter = parameters.get(name)
        if parameter is None:
            raise ValueError(f"unknown parameter {name!r}; the campaign has {sorted(parameters)}")
        if not isinstance(parameter, ContinuousParameter) or parameter.scale != "linear":
            kind = "log-scale" if isinstance(parameter, ContinuousParameter) else parameter.type
            raise ValueError(
                f"{name!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} parameter; only "
                "continuous linear-scale parameters "
                "may appear in constraints"
            )
        ends = (coefficient * parameter.bounds[0], coefficient * parameter.bounds[1])
        low, high = low + min(ends), high + max(ends)
    relation, rhs = constraint.relation, constraint.rhs
    if (relation != ">=" and low > rhs) or (relation != "<=" and high < rhs):
        raise ValueError(
            f"no point within the bounds satisfies {text!r} (the left-hand side ranges over "
            f"[{low:g}, {high:g}]); change the constraint or widen the bounds"
        )
    return constraint


class CampaignSpec(StrictModel):
    """A whole campaign file."""

    version: Literal[1] = Field(default=1, description="Campaign file format version.")
    name: str = Field(pattern=_SLUG)
    description: str = ""
    parameters: list[AnyParameter] = Field(
        min_length=1, description="What to vary; each item's `type` defaults to continuous."
    )
    objective: Objective
    budget: int = Field(ge=1, le=100_000, description="Number of experiments to run.")
    initial_design: int = Field(
        default=5, ge=1, description="Experiments drawn from a Sobol design before the model."
    )
    seed: int = Field(default=0, ge=0, description="Seed of the design and the acquisition.")
    station: StationRef
    broker: str = Field(default="embedded", description="'embedded' or 'mqtt://HOST:PORT'.")
    trial_timeout_s: float = Field(
        default=600.0, gt=0, description="Seconds a dispatched trial may take, in seconds."
    )
    batch_size: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Experiments in flight at once; each new proposal treats them as pending.",
    )
    stopping: StoppingRules = Field(default_factory=StoppingRules)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    constraints: list[str] = Field(
        default_factory=list,
        description="Linear constraints on continuous linear-scale parameters, in their units, "
        "e.g. 'cyan + magenta + yellow <= 12'; relations '<=', '>=', '=='.",
    )

    @property
    def linear_constraints(self) -> tuple[LinearConstraint, ...]:
        """``constraints`` parsed (they were checked when the campaign was validated)."""
        return tuple(parse_constraint(text) for text in self.constraints)

    @field_validator("constraints")
    @classmethod
    def _parse_constraints(cls, constraints: list[str], info: ValidationInfo) -> list[str]:
        parameters = info.data.get("parameters")
        if parameters is None:  # parameters already refused
            return constraints
        by_name = {parameter.name: parameter for parameter in parameters}
        errors: list[InitErrorDetails] = []
        for index, text in enumerate(constraints):
            try:
                _check_constraint(text, by_name)
            except ValueError as error:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "constraint",
                            "constraint {index}: {why}",
                            {"index": index, "why": str(error)},
                        ),
                        loc=(index,),
                        input=text,
                    )
                )
        if errors:
            raise ValidationError.from_exception_data("constraints", errors)
        return constraints

    @field_validator("broker")
    @classmethod
    def _broker(cls, broker: str) -> str:
        if broker != "embedded":
            parse_broker_url(broker)
        return broker

    @field_validator("parameters")
    @classmethod
    def _unique_names(cls, parameters: list[Parameter]) -> list[Parameter]:
        seen: set[str] = set()
        for parameter in parameters:
            if parameter.name in seen:
                raise ValueError(f"parameter name {parameter.name!r} is used twice")
            seen.add(parameter.name)
        return parameters

    @field_validator("initial_design")
    @classmethod
    def _design_within_budget(cls, initial_design: int, info: ValidationInfo) -> int:
        budget = info.data.get("budget")
        if budget is not None and initial_design > budget:
            raise ValueError(
                f"initial_design ({initial_design}) exceeds budget ({budget}); "
                "lower initial_design or raise budget"
            )
        return initial_design
