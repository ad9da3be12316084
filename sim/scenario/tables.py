"""Validated tables into model values: a key's number or distribution as a
:class:`ParamSpec` (its path and bounds), a distribution document as a
:class:`~sim.distributions.Distribution` (an empirical one read from its file, every value
checked against the key's bounds)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
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
from sim.scenario.dists import (
    ChoiceDoc,
    EmpiricalDoc,
    ExponentialDoc,
    FixedDoc,
    GammaDoc,
    LognormalDoc,
    NormalDoc,
    UniformDoc,
)
from sim.scenario.files import data_path, read_column
from sim.scenario.leaves import Num, Table, bounds_of
from sim.scenario.model import ParamSpec
from sim.scenario.values import numstr


@dataclass(frozen=True)
class DataFolder:
    """Where a scenario's data files are read from, and whether they may lie outside that
    folder (``--allow-external-data``): passed down explicitly, never a global."""

    path: Path
    external: bool = False


class Reader:
    """A validated table with its key path, the file it came from and the data folder."""

    def __init__(self, where: str, path: str, doc: Table, data: DataFolder) -> None:
        self.where = where
        self.path = path
        self.doc = doc
        self.data = data
        self.base_dir = data.path

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def err(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.where, self.sub(key), message)

    def known_pool(self, pool: str, pools: Mapping[str, object]) -> None:
        """The table's ``pool`` must name a pool of the scenario."""
        if pool not in pools:
            raise self.err(
                "pool",
                f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
            )

    def param(self, key: str) -> ParamSpec:
        """The key as a ParamSpec: fixed, or drawn once per replication."""
        b = bounds_of(type(self.doc), key)
        return self.spec(self.sub(key), getattr(self.doc, key), b)

    def optional(self, key: str) -> ParamSpec | None:
        """The key as a ParamSpec if the table gives it, else None."""
        return self.param(key) if getattr(self.doc, key) is not None else None

    def dist(self, key: str) -> Distribution:
        """The key as a distribution (drawn per job or per episode)."""
        b = bounds_of(type(self.doc), key)
        return self.distribution(self.sub(key), getattr(self.doc, key), b)

    def spec(self, path: str, value: Any, b: Num) -> ParamSpec:
        return ParamSpec(path, self.distribution(path, value, b), b.low, b.high)

    def distribution(self, path: str, value: Any, b: Num) -> Distribution:
        if isinstance(value, int | float):
            return Fixed(float(value))
        d = to_distribution(self.where, path, value, b, self.base_dir, self.data.external)
        _mostly_inside(self.where, path, d, b)
        return d


OUTSIDE_SHARE = 0.5
"""A law whose draws fall outside its field's bounds this often is refused (they would be
clipped to the bound: ``normal(mean = -5)`` for durations is a law of zeros)."""


def _mostly_inside(where: str, path: str, d: Distribution, b: Num) -> None:
    """Refuse a distribution most of whose draws lie outside the field's bounds (a draw
    outside is clipped to the bound, silently)."""
    if not (math.isfinite(b.low) or math.isfinite(b.high)):
        return
    x = d.sample(np.random.default_rng(0), 4000)
    outside = (x < b.low) | (x > b.high) | ((x <= b.low) if b.low_open else False)
    share = float(outside.mean())
    if share > OUTSIDE_SHARE:
        bounds = (f"> {numstr(b.low)}" if b.low_open else f">= {numstr(b.low)}") + (
            f" and <= {numstr(b.high)}" if math.isfinite(b.high) else ""
        )
        raise ScenarioError(
            where,
            path,
            f"{share:.0%} of this law's draws fall outside the field's bounds ({bounds}) and "
            "would be clipped to them: check the law's parameters",
        )


def to_distribution(
    where: str, path: str, doc: Any, b: Num, base_dir: Path, external: bool = False
) -> Distribution:
    """A validated ``{ dist = ... }`` document as a distribution."""
    if isinstance(doc, FixedDoc):
        return Fixed(doc.value)
    if isinstance(doc, ExponentialDoc):
        return Exponential(doc.mean)
    if isinstance(doc, LognormalDoc):
        return Lognormal(doc.median, doc.sigma)
    if isinstance(doc, GammaDoc):
        return Gamma(doc.mean, doc.cv)
    if isinstance(doc, UniformDoc):
        return Uniform(doc.low, doc.high)
    if isinstance(doc, NormalDoc):
        return Normal(doc.mean, doc.sd)
    if isinstance(doc, ChoiceDoc):
        assert doc.weights is not None
        return Choice(tuple(float(v) for v in doc.values), tuple(float(w) for w in doc.weights))
    assert isinstance(doc, EmpiricalDoc)
    return _empirical(where, path, doc, b, base_dir, external)


def _empirical(
    where: str, path: str, doc: EmpiricalDoc, b: Num, base_dir: Path, external: bool
) -> Empirical:
    """``{dist = "empirical", file, column}``: every recorded value checked against the bounds."""
    file, column = doc.file, doc.column
    values = read_column(
        where, f"{path}.file", data_path(where, f"{path}.file", base_dir, file, external), column
    )
    low, high = b.low, b.high
    bad = (values < low) | (values > high) | ((values <= low) if b.low_open else False)
    if np.any(bad):
        k = int(np.argmax(bad))
        bound = f"> {numstr(low)}" if b.low_open else f">= {numstr(low)}"
        raise ScenarioError(
            where,
            f"{path}.file",
            f"{file!r} row {k + 1} of column {column!r} is {numstr(float(values[k]))}; "
            f"values must be {bound}" + (f" and <= {numstr(high)}" if math.isfinite(high) else ""),
        )
    return Empirical(file, column, values)
