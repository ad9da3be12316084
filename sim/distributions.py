"""Probability distributions for per-job quantities and uncertain parameters.

Each distribution is a frozen dataclass with :meth:`sample` (vectorised, from a
``numpy.random.Generator``) and an analytic :meth:`mean`, so that tests can compare
the two. A plain number in a scenario becomes :class:`Fixed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Distribution:
    """Base class: a distribution of a real quantity."""

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """Draw ``size`` independent values."""
        raise NotImplementedError

    def mean(self) -> float:
        """The analytic mean."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(self.sample(rng, 1)[0])

    @property
    def is_fixed(self) -> bool:
        """True when every draw gives the same value."""
        return False


@dataclass(frozen=True)
class Fixed(Distribution):
    """Always ``value``."""

    value: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.value, dtype=float)

    def mean(self) -> float:
        return self.value

    def draw(self, rng: np.random.Generator) -> float:
        return self.value

    @property
    def is_fixed(self) -> bool:
        return True


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential with the given ``mean``."""

    mean_value: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.exponential(self.mean_value, size)

    def mean(self) -> float:
        return self.mean_value


@dataclass(frozen=True)
class Lognormal(Distribution):
    """Lognormal with the given ``median`` and log-scale ``sigma``."""

    median: float
    sigma: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.lognormal(math.log(self.median), self.sigma, size)

    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma with the given ``mean`` and coefficient of variation ``cv``."""

    mean_value: float
    cv: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_value / shape, size)

    def mean(self) -> float:
        return self.mean_value


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[low, high)``."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.uniform(self.low, self.high, size)

    def mean(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal with ``mean`` and standard deviation ``sd``."""

    mean_value: float
    sd: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.normal(self.mean_value, self.sd, size)

    def mean(self) -> float:
        return self.mean_value


@dataclass(frozen=True)
class Choice(Distribution):
    """One of ``values`` with probabilities proportional to ``weights``."""

    values: tuple[float, ...]
    weights: tuple[float, ...]

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        p = np.asarray(self.weights, dtype=float)
        idx = rng.choice(len(self.values), size=size, p=p / p.sum())
        return np.asarray(self.values, dtype=float)[idx]

    def mean(self) -> float:
        p = np.asarray(self.weights, dtype=float)
        return float(np.dot(np.asarray(self.values, dtype=float), p / p.sum()))


@dataclass(frozen=True, eq=False)
class Empirical(Distribution):
    """Resampled (with replacement) from recorded values.

    ``file`` and ``column`` say where the values came from (for messages and for
    writing the scenario back out).
    """

    file: str
    column: str
    values: FloatArray = field(repr=False)

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.choice(self.values, size=size, replace=True)

    def mean(self) -> float:
        return float(np.mean(self.values))


def lognormal_factor(rng: np.random.Generator, cv: float, size: int) -> FloatArray:
    """Independent lognormal factors with mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(size)
    s2 = math.log1p(cv * cv)
    return rng.lognormal(-s2 / 2, math.sqrt(s2), size)
