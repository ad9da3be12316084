"""The leaves of the scenario document: numbers with bounds, whole numbers, words, names
and dates as pydantic annotations (``Annotated[float, Num(low=0.0)]``) that check a value
in capsim's own words and say what it is in JSON Schema; and :class:`Table`, the base of
every table (unknown keys refused with a did-you-mean).

A failed check raises :func:`fail`: a pydantic error that carries capsim's message and,
where the problem is below the key (``reserved[1]``, ``duration_hours.median``), the
rest of the key path. Distributions and the keys that take them are
:mod:`sim.scenario.dists`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from sim.errors import ScenarioError, did_you_mean
from sim.scenario.values import checked_number, metric_name, safe_name

Schema = dict[str, Any]
DISTRIBUTION = {"x-capsim": "distribution"}  # a $ref to it, once the schema is assembled


def fail(message: str, sub: str = "") -> PydanticCustomError:
    """A validation error carrying capsim's message; ``sub`` extends the key path."""
    ctx = {"message": message, "sub": sub} if sub else {"message": message}
    return PydanticCustomError("capsim", "{message}", ctx)


def message_of(err: Any) -> tuple[str, str]:
    """(rest of the key path, message) of one pydantic error, in capsim's words."""
    ctx = err.get("ctx") or {}
    kind = err["type"]
    value = err.get("input")
    if kind == "capsim":
        return str(ctx.get("sub", "")), str(ctx["message"])
    if kind == "missing":
        return "", "is required"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "", f"must be a table, got {value!r}"
    if kind == "list_type":
        return "", f"must be a list, got {value!r}"
    return "", f"{err['msg']}, got {value!r}"


def house(check: Callable[[], Any]) -> Any:
    """Run a check that raises ScenarioError (its path: the rest of the key path)."""
    try:
        return check()
    except ScenarioError as e:
        raise fail(e.message, e.path) from None


class Leaf:
    """Annotation metadata: validate with :meth:`check`, describe with :meth:`schema`."""

    desc = ""

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def schema(self) -> Schema:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> Schema:
        s = self.schema()
        return {**s, "description": self.desc} if self.desc else s


@dataclass(frozen=True)
class Num(Leaf):
    """A number within bounds (``allow_inf``: or "inf"); the builder clips draws to them."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    allow_inf: bool = False
    desc: str = ""

    def check(self, value: Any) -> float:
        return house(
            lambda: checked_number(
                "", "", value, self.low, self.high, self.low_open, self.allow_inf
            )
        )

    def number(self) -> Schema:
        s: Schema = {"type": "number"}
        if math.isfinite(self.low):
            s["minimum"] = self.low
            if self.low_open:
                s["exclusiveMinimum"] = True  # draft 4
        if math.isfinite(self.high):
            s["maximum"] = self.high
        return s

    def options(self) -> list[Schema]:
        inf: list[Schema] = [{"enum": ["inf", "infinity"]}] if self.allow_inf else []
        return [self.number(), *inf]

    def schema(self) -> Schema:
        opts = self.options()
        return opts[0] if len(opts) == 1 else {"anyOf": opts}


@dataclass(frozen=True)
class Numbers(Num):
    """One number, or a list of numbers (one per contract year)."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, list):
            return super().check(value)
        return [
            house(partial(checked_number, "", f"[{i}]", v, self.low, self.high))
            for i, v in enumerate(value)
        ]

    def schema(self) -> Schema:
        item = self.number()
        return {"anyOf": [item, {"type": "array", "items": item}]}


@dataclass(frozen=True)
class Whole(Leaf):
    """A whole number (a float with no fraction is taken), at least ``low``."""

    low: int | None = None
    desc: str = ""
    high: int | None = None

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise fail(f"must be a whole number, got {value!r}")
        if self.low is not None and value < self.low:
            raise fail(f"must be >= {self.low}, got {value}")
        if self.high is not None and value > self.high:
            raise fail(f"must be <= {self.high}, got {value}")
        return value

    def schema(self) -> Schema:
        s: Schema = {"type": "integer"}
        if self.low is not None:
            s["minimum"] = self.low
        if self.high is not None:
            s["maximum"] = self.high
        return s


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise fail(f"must be a string, got {value!r}")
    return value


@dataclass(frozen=True)
class Str(Leaf):
    """A string."""

    desc: str = ""

    def check(self, value: Any) -> str:
        return _string(value)

    def schema(self) -> Schema:
        return {"type": "string"}


@dataclass(frozen=True)
class Words(Leaf):
    """One of fixed words."""

    choices: tuple[str, ...] = ()
    desc: str = ""

    def check(self, value: Any) -> str:
        _string(value)
        if value not in self.choices:
            raise fail(
                f"must be one of {', '.join(self.choices)}, got {value!r}"
                f"{did_you_mean(value, self.choices)}"
            )
        return str(value)

    def schema(self) -> Schema:
        return {"enum": list(self.choices)}


@dataclass(frozen=True)
class Flag(Leaf):
    """true or false."""

    desc: str = ""

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise fail(f"must be true or false, got {value!r}")
        return value

    def schema(self) -> Schema:
        return {"type": "boolean"}


@dataclass(frozen=True)
class SafeName(Leaf):
    """A name that ends up in folder and file names."""

    desc: str = "used in paths and reports"

    def check(self, value: Any) -> str:
        _string(value)
        house(lambda: safe_name("", "", value))
        return str(value)

    def schema(self) -> Schema:
        return {"type": "string"}


@dataclass(frozen=True)
class MetricName(SafeName):
    """A name that ends up in metric names too: no dot."""

    desc: str = "used in paths, reports and metric names (no dot)"

    def check(self, value: Any) -> str:
        _string(value)
        house(lambda: metric_name("", "", value))
        return str(value)


@dataclass(frozen=True)
class Date(Leaf):
    """A TOML date (a date-time is taken as its date)."""

    desc: str = "calendar date of hour 0"

    def check(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:  # the date would depend on the zone: say which day
                raise fail(
                    f"must be a calendar date without a time zone, like 2026-07-01, got "
                    f"{value.isoformat()}"
                )
            return value.date()
        if not isinstance(value, dt.date):
            raise fail(f"must be a TOML date like 2026-07-01, got {value!r}")
        return value

    def schema(self) -> Schema:
        return {"type": "string", "format": "date"}


@dataclass(frozen=True)
class Checked(Leaf):
    """Any value a function accepts; a JSON Schema given as is."""

    fn: Callable[[Any], Any] = lambda v: v
    json: tuple[tuple[str, Any], ...] = ()
    desc: str = ""

    def check(self, value: Any) -> Any:
        return self.fn(value)

    def schema(self) -> Schema:
        return dict(self.json)


def list_of(message: str) -> Callable[[Any], Any]:
    """A before-validator: the value must be a list (``message``, got it)."""

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise fail(f"{message}, got {value!r}")
        return value

    return check


def bounds_of(model: type[BaseModel], key: str) -> Num:
    """The bounds declared on a numeric key."""
    for m in model.model_fields[key].metadata:
        if isinstance(m, Num):
            return m
    return Num()


# ---------------------------------------------------------------------- distributions


class Table(BaseModel):
    """A TOML table: unknown keys refused (with a did-you-mean and the allowed keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _a_table(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise fail(f"must be a table, got {data!r}")
        cls._first(data)
        allowed = cls.keys()
        for key in data:
            if key not in allowed:
                raise fail(
                    f"unknown key{did_you_mean(str(key), allowed)}; allowed: {', '.join(allowed)}",
                    str(key),
                )
        return data

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The table's keys: its own first, then those it shares (a pool's price path)."""
        own = [k for k in cls.model_fields if k in inspect.get_annotations(cls)]
        return (*own, *(k for k in cls.model_fields if k not in own))

    @classmethod
    def _first(cls, data: dict[str, Any]) -> None:
        """Checks a table makes before its keys are looked at."""

    def has(self, key: str) -> bool:
        """Whether the file gives this key (rather than its default)."""
        return key in self.model_fields_set
