"""Distribution tables (a union tagged by ``dist``) and the keys that take a number or a
distribution (:class:`Param`, :class:`PerYear`): fixed and choice values are checked
against the key's bounds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim.errors import did_you_mean
from sim.scenario.leaves import (
    DISTRIBUTION,
    Checked,
    Num,
    Schema,
    Str,
    Table,
    fail,
    house,
    message_of,
)
from sim.scenario.values import checked_number, numstr


@dataclass(frozen=True)
class Param(Num):
    """A number, or a ``{ dist = ... }`` table (drawn once per replication; per job for a
    job's units and duration)."""

    def check(self, value: Any) -> Any:
        if isinstance(value, dict):
            return distribution(value, self)
        allow_inf = (
            self.allow_inf and isinstance(value, str | float) and not isinstance(value, bool)
        )
        return house(
            lambda: checked_number("", "", value, self.low, self.high, self.low_open, allow_inf)
        )

    def schema(self) -> Schema:
        return {"anyOf": [*self.options(), dict(DISTRIBUTION)]}


@dataclass(frozen=True)
class PerYear(Param):
    """A number or distribution, or a list with one per contract year."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, list):
            return super().check(value)
        out = []
        for i, v in enumerate(value):
            try:
                out.append(super().check(v))
            except PydanticCustomError as e:
                sub = (e.context or {}).get("sub", "")
                raise fail(e.message(), f"[{i}]" + (f".{sub}" if sub else "")) from None
        return out

    def schema(self) -> Schema:
        one = super().schema()
        return {"anyOf": [*one["anyOf"], {"type": "array", "items": one}]}


DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "gamma": ("mean", "cv"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "choice": ("values", "weights"),
    "empirical": ("file", "column"),
}
Positive = Annotated[float, Num(low=0.0, low_open=True)]
Real = Annotated[float, Num()]
NonNegative = Annotated[float, Num(low=0.0)]


class FixedDoc(Table):
    """``dist = "fixed"``: always ``value``."""

    dist: Literal["fixed"]
    value: Real


class ExponentialDoc(Table):
    """``dist = "exponential"`` with its mean."""

    dist: Literal["exponential"]
    mean: Positive


class LognormalDoc(Table):
    """``dist = "lognormal"`` with its median and log-scale sigma."""

    dist: Literal["lognormal"]
    median: Positive
    sigma: NonNegative


class GammaDoc(Table):
    """``dist = "gamma"`` with its mean and coefficient of variation."""

    dist: Literal["gamma"]
    mean: Positive
    cv: Positive


class UniformDoc(Table):
    """``dist = "uniform"`` on [low, high]."""

    dist: Literal["uniform"]
    low: Real
    high: Real

    @model_validator(mode="after")
    def _ordered(self) -> UniformDoc:
        if self.high < self.low:
            raise fail(
                f"must be >= low ({numstr(self.low)}), got {numstr(self.high)}",
                "high",
            )
        return self


class NormalDoc(Table):
    """``dist = "normal"`` with its mean and standard deviation."""

    dist: Literal["normal"]
    mean: Real
    sd: NonNegative


def _values(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise fail(f"must be a non-empty list of numbers, got {value!r}")
    return value


_VALUES = (("type", "array"), ("items", {"type": "number"}), ("minItems", 1))
_WEIGHTS = (("type", "array"), ("items", {"type": "number", "minimum": 0}))


class ChoiceDoc(Table):
    """``dist = "choice"``: one of ``values``, with ``weights`` (equal when omitted)."""

    dist: Literal["choice"]
    values: Annotated[list[Any], Checked(_values, _VALUES)]
    weights: Annotated[list[Any] | None, Checked(lambda v: v, _WEIGHTS)] = None

    @model_validator(mode="after")
    def _weights(self) -> ChoiceDoc:
        n = len(self.values)
        weights = self.weights if self.weights is not None else [1.0] * n
        if not isinstance(weights, list) or len(weights) != n:
            raise fail(f"must be a list of {n} numbers, got {weights!r}", "weights")
        w = [
            house(partial(checked_number, "", f"weights[{i}]", x, 0.0))
            for i, x in enumerate(weights)
        ]
        if sum(w) <= 0:
            raise fail(f"must not all be zero, got {w}", "weights")
        object.__setattr__(self, "weights", w)
        return self


class EmpiricalDoc(Table):
    """``dist = "empirical"``: values resampled from a CSV column."""

    dist: Literal["empirical"]
    file: Annotated[str, Str("CSV file, relative to this file")]
    column: Annotated[str, Str()] = "value"


AnyDist = (
    FixedDoc
    | ExponentialDoc
    | LognormalDoc
    | GammaDoc
    | UniformDoc
    | NormalDoc
    | ChoiceDoc
    | EmpiricalDoc
)
_DIST: TypeAdapter[AnyDist] = TypeAdapter(
    Annotated[
        Union[  # noqa: UP007 (tagged members)
            Annotated[FixedDoc, Tag("fixed")],
            Annotated[ExponentialDoc, Tag("exponential")],
            Annotated[LognormalDoc, Tag("lognormal")],
            Annotated[GammaDoc, Tag("gamma")],
            Annotated[UniformDoc, Tag("uniform")],
            Annotated[NormalDoc, Tag("normal")],
            Annotated[ChoiceDoc, Tag("choice")],
            Annotated[EmpiricalDoc, Tag("empirical")],
        ],
        Discriminator(lambda v: v.get("dist")),
    ]
)


def distribution_schema() -> Schema:
    """The JSON Schema of ``{ dist = ..., parameters }``."""
    return _DIST.json_schema(ref_template="#/definitions/{model}")


def distribution(value: dict[str, Any], b: Num) -> AnyDist:
    """A ``{ dist = ... }`` table; fixed and choice values are checked against the key's
    bounds (an empirical file's when the builder reads it)."""
    if set(value) in ({"times"}, {"plus"}):
        raise fail(
            f"a relative value ({value!r}) belongs in a stress file, merged over a base "
            "(capsim stress, or capsim validate STRESS.toml --base SCENARIO.toml)"
        )
    kind = value.get("dist")
    if kind is None:
        raise fail(f"is required in a distribution; one of {', '.join(DIST_PARAMS)}", "dist")
    if not isinstance(kind, str) or kind not in DIST_PARAMS:
        raise fail(
            f"must be one of {', '.join(DIST_PARAMS)}, got {kind!r}"
            f"{did_you_mean(str(kind), DIST_PARAMS)}",
            "dist",
        )
    try:
        doc = _DIST.validate_python(value)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        sub, message = message_of(err)
        keys = [str(x) for x in err["loc"][1:]]  # the first is the tag, not a key
        raise fail(message, ".".join([*keys, sub] if sub else keys)) from None
    lo, hi, lo_open = b.low, b.high, b.low_open
    if isinstance(doc, FixedDoc):
        house(lambda: checked_number("", "value", doc.value, lo, hi, lo_open))
    elif isinstance(doc, ChoiceDoc):
        for i, v in enumerate(doc.values):
            house(partial(checked_number, "", f"values[{i}]", v, lo, hi, lo_open))
    return doc
