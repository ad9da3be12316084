"""TOML tables read key by key (unknown keys refused with a did-you-mean), and distributions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sim.distributions import (
    Choice,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Normal,
    Uniform,
)
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.files import _data_path, _read_column
from sim.scenario.model import ParamSpec
from sim.scenario.values import _fmt, _number

_SECTIONS = (
    "scenario",
    "pools",
    "overflow",
    "workloads",
    "changes",
    "shocks",
    "policy",
    "contract",
)


_DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "gamma": ("mean", "cv"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "choice": ("values", "weights"),
    "empirical": ("file", "column"),
}


class _Table:
    """A TOML table being read: tracks the key path and refuses unknown keys."""

    def __init__(
        self,
        where: str,
        path: str,
        data: Any,
        allowed: tuple[str, ...],
        base_dir: Path | None = None,
    ) -> None:
        self.base_dir = base_dir if base_dir is not None else Path(".")
        if not isinstance(data, dict):
            raise ScenarioError(where, path, f"must be a table, got {data!r}")
        self.where = where
        self.path = path
        self.data = data
        for key in data:
            if key not in allowed:
                raise ScenarioError(
                    where,
                    self.sub(key),
                    f"unknown key{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}",
                )

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def err(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.where, self.sub(key), message)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = None, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.err(key, "is required")
            return default
        return self.data[key]

    def string(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self.get(key, default, required=default is None)
        if not isinstance(value, str):
            raise self.err(key, f"must be a string, got {value!r}")
        if choices and value not in choices:
            raise self.err(
                key,
                f"must be one of {', '.join(choices)}, got {value!r}{did_you_mean(value, choices)}",
            )
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        low: float = -math.inf,
        high: float = math.inf,
        low_open: bool = False,
        allow_inf: bool = False,
    ) -> float:
        value = self.get(key, default, required=default is None)
        return _number(self.where, self.sub(key), value, low, high, low_open, allow_inf)

    def integer(self, key: str, default: int | None = None, low: int | None = None) -> int:
        value = self.get(key, default, required=default is None)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.err(key, f"must be a whole number, got {value!r}")
        if low is not None and value < low:
            raise self.err(key, f"must be >= {low}, got {value}")
        return value

    def param(
        self,
        key: str,
        default: float | None = None,
        low: float = -math.inf,
        high: float = math.inf,
        low_open: bool = False,
        allow_inf: bool = False,
    ) -> ParamSpec:
        """A number or a distribution drawn once per replication (``allow_inf``: a fixed
        value may also be "inf")."""
        value = self.get(key, default, required=default is None)
        if allow_inf and isinstance(value, str | float) and not isinstance(value, bool):
            number = _number(self.where, self.sub(key), value, low, high, low_open, True)
            return ParamSpec(self.sub(key), Fixed(number), low, high)
        dist = _distribution(self.where, self.sub(key), value, low, high, low_open, self.base_dir)
        return ParamSpec(self.sub(key), dist, low, high)


def _distribution(
    where: str,
    path: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    base_dir: Path | None = None,
) -> Distribution:
    """A number or a ``{dist = ...}`` table. Fixed values are checked against the bounds."""
    if not isinstance(value, dict):
        return Fixed(_number(where, path, value, low, high, low_open))
    if set(value) in ({"times"}, {"plus"}):
        raise ScenarioError(
            where,
            path,
            f"a relative value ({value!r}) belongs in a stress file, merged over a base "
            "(capsim stress, or capsim validate STRESS.toml --base SCENARIO.toml)",
        )
    kind = value.get("dist")
    if kind is None:
        raise ScenarioError(
            where,
            f"{path}.dist",
            f"is required in a distribution; one of {', '.join(_DIST_PARAMS)}",
        )
    if not isinstance(kind, str) or kind not in _DIST_PARAMS:
        raise ScenarioError(
            where,
            f"{path}.dist",
            f"must be one of {', '.join(_DIST_PARAMS)}, got {kind!r}"
            f"{did_you_mean(str(kind), _DIST_PARAMS)}",
        )
    t = _Table(where, path, value, ("dist", *_DIST_PARAMS[kind]), base_dir)

    def pos(key: str) -> float:
        return t.number(key, low=0.0, low_open=True)

    if kind == "fixed":
        return Fixed(t.number("value", low=low, high=high, low_open=low_open))
    if kind == "exponential":
        return Exponential(pos("mean"))
    if kind == "lognormal":
        return Lognormal(pos("median"), t.number("sigma", low=0.0))
    if kind == "gamma":
        return Gamma(pos("mean"), pos("cv"))
    if kind == "uniform":
        lo, hi = t.number("low"), t.number("high")
        if hi < lo:
            raise t.err("high", f"must be >= low ({_fmt(lo)}), got {_fmt(hi)}")
        return Uniform(lo, hi)
    if kind == "normal":
        return Normal(t.number("mean"), t.number("sd", low=0.0))
    if kind == "choice":
        return _choice(t, low, high, low_open)
    return _empirical(t, low, high, low_open, base_dir)


def _choice(t: _Table, low: float, high: float, low_open: bool) -> Choice:
    """``{dist = "choice", values, weights}``: each value checked against the bounds."""
    where, path = t.where, t.path
    values = t.get("values", required=True)
    if not isinstance(values, list) or not values:
        raise t.err("values", f"must be a non-empty list of numbers, got {values!r}")
    vals = tuple(
        _number(where, f"{path}.values[{i}]", v, low, high, low_open) for i, v in enumerate(values)
    )
    weights = t.get("weights", [1.0] * len(vals))
    if not isinstance(weights, list) or len(weights) != len(vals):
        raise t.err("weights", f"must be a list of {len(vals)} numbers, got {weights!r}")
    w = tuple(_number(where, f"{path}.weights[{i}]", x, 0.0) for i, x in enumerate(weights))
    if sum(w) <= 0:
        raise t.err("weights", f"must not all be zero, got {list(w)}")
    return Choice(vals, w)


def _empirical(
    t: _Table, low: float, high: float, low_open: bool, base_dir: Path | None
) -> Empirical:
    """``{dist = "empirical", file, column}``: every recorded value checked against the bounds."""
    where, path = t.where, t.path
    file = t.string("file")
    column = t.string("column", "value")
    values_arr = _read_column(
        where, f"{path}.file", _data_path(where, f"{path}.file", base_dir, file), column
    )
    bad = (values_arr < low) | (values_arr > high) | ((values_arr <= low) if low_open else False)
    if np.any(bad):
        k = int(np.argmax(bad))
        bound = f"> {_fmt(low)}" if low_open else f">= {_fmt(low)}"
        raise ScenarioError(
            where,
            f"{path}.file",
            f"{file!r} row {k + 1} of column {column!r} is {_fmt(float(values_arr[k]))}; "
            f"values must be {bound}" + (f" and <= {_fmt(high)}" if math.isfinite(high) else ""),
        )
    return Empirical(file, column, values_arr)
