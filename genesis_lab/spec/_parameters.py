"""The five parameter types of a campaign file, chosen by their ``type`` key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
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

from genesis_lab.spec._base import _IDENTIFIER, StrictModel

__all__ = [
    "DISCRETE_MAX_VALUES",
    "AnyParameter",
    "CategoricalParameter",
    "ContinuousParameter",
    "DiscreteParameter",
    "FixedParameter",
    "IntegerParameter",
    "Parameter",
]


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
