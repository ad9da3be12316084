"""Time-varying demand: growth by contract year, dated changes and random episodes.

A workload's arrival rate (jobs) or level (demand) at time t is

    base × G(t) × Π_i f_i(t)

where G compounds one growth rate per contract year (continuous at year boundaries) and
each f_i is a dated change (a step, or a linear ramp from ×1 to ×factor, then held) or a
random episode (×factor on [start, end)). Between consecutive breakpoints (year boundaries,
step and episode edges, ramp ends) the rate is ``e^{kt}`` times a polynomial, so the
cumulative intensity is integrated there by Gauss–Legendre quadrature to machine precision,
and arrivals are the exact time change of a unit-rate Poisson process: Λ⁻¹(Γ_i). Job
arrivals may also follow a daily and a weekly cycle (the demand workloads' shape): then the
horizon is cut into 3-hour pieces, on which 16-point quadrature of the smooth rate is exact
to rounding, and each arrival is found by Newton's method. Pure functions; randomness stays
with the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.calendar import HOURS_PER_YEAR
from sim.distributions import FloatArray

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_RAMP_PIECE_HOURS = 24.0  # a ramp is cut into pieces this long for the inversion
_CYCLE_PIECE_HOURS = 3.0  # with a daily or weekly cycle, every piece is this long


@dataclass(frozen=True)
class Factor:
    """A multiplier on [start, ...): ``kind`` "step" (×factor from ``start`` on), "ramp"
    (×1 at ``start`` to ×factor at ``end``, linear, then held) or "episode" (×factor on
    [start, end), ×1 elsewhere). Times in hours."""

    kind: str
    start: float
    end: float
    factor: float

    def at(self, t: FloatArray) -> FloatArray:
        """The multiplier at times ``t``."""
        if self.kind == "step":
            return np.where(t >= self.start, self.factor, 1.0)
        if self.kind == "episode":
            return np.where((t >= self.start) & (t < self.end), self.factor, 1.0)
        span = max(self.end - self.start, 1e-12)
        x = np.clip((t - self.start) / span, 0.0, 1.0)
        out: FloatArray = 1.0 + (self.factor - 1.0) * x
        return out

    def edges(self) -> tuple[float, ...]:
        return (self.start,) if self.kind == "step" else (self.start, self.end)


@dataclass(frozen=True, eq=False)
class Intensity:
    """``base × G(t) × Π factors(t)`` on [0, horizon) [per hour, or units for demand]."""

    base: float
    growth: tuple[float, ...]
    """Growth rate of each contract year (the last one holds for any later year)."""
    factors: tuple[Factor, ...]
    horizon_hours: float
    daily: float = 0.0
    """Relative swing over the day: × (1 + daily cos(2π(h − 14)/24)), h the hour of day."""
    weekly: float = 0.0
    """Relative swing over the week: × (1 + weekly cos(2π(d − 2.5)/7)), d in days."""

    def __post_init__(self) -> None:
        years = max(1, math.ceil(self.horizon_hours / HOURS_PER_YEAR - 1e-9))
        g = [self.growth[min(y, len(self.growth) - 1)] for y in range(years)]
        k = np.log1p(np.asarray(g, dtype=float)) / HOURS_PER_YEAR
        # G at the start of each year: the product of the full years before it
        g0 = np.concatenate([[0.0], np.cumsum(k * HOURS_PER_YEAR)])[:years]
        object.__setattr__(self, "_k", k)
        object.__setattr__(self, "_logg0", g0)
        cuts = {0.0, self.horizon_hours}
        cuts |= {y * HOURS_PER_YEAR for y in range(1, years)}
        for f in self.factors:
            cuts |= {e for e in f.edges() if 0.0 < e < self.horizon_hours}
        for f in self.factors:  # ramps: short pieces, on which the rate is nearly linear
            if f.kind == "ramp" and f.factor != 1.0:
                lo, hi = max(f.start, 0.0), min(f.end, self.horizon_hours)
                if hi > lo:
                    n = math.ceil((hi - lo) / _RAMP_PIECE_HOURS)
                    cuts |= set(np.linspace(lo, hi, n + 1).tolist())
        cycle = self.daily != 0.0 or self.weekly != 0.0
        if cycle:  # a smooth periodic rate: short pieces everywhere, each inverted by Newton
            n = math.ceil(self.horizon_hours / _CYCLE_PIECE_HOURS)
            cuts |= set(
                np.minimum(np.arange(n + 1) * _CYCLE_PIECE_HOURS, self.horizon_hours).tolist()
            )
        b = np.asarray(sorted(c for c in cuts if c <= self.horizon_hours), dtype=float)
        object.__setattr__(self, "_b", b)
        lengths = np.diff(b)
        # Λ at every breakpoint: Gauss–Legendre on each segment (exact for e^{kt} × poly)
        mids, halves = (b[:-1] + b[1:]) / 2, lengths / 2
        nodes = mids[:, None] + halves[:, None] * _NODES[None, :]
        seg = (halves[:, None] * _WEIGHTS[None, :] * self.rate(nodes)).sum(axis=1)
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(seg)]))
        # segments where the rate is e^{kt} × a constant (no ramp moving inside)
        curved = np.full(len(lengths), cycle, dtype=bool)
        for f in self.factors:
            if f.kind == "ramp" and f.factor != 1.0:
                curved |= (b[:-1] < f.end) & (b[1:] > f.start)
        object.__setattr__(self, "_curved", curved)

    # -- the rate and its integral ---------------------------------------------------------
    def growth_factor(self, t: FloatArray) -> FloatArray:
        """G(t): compounded growth since hour 0."""
        k: FloatArray = self._k  # type: ignore[attr-defined]
        g0: FloatArray = self._logg0  # type: ignore[attr-defined]
        y = np.clip((np.asarray(t) // HOURS_PER_YEAR).astype(int), 0, len(k) - 1)
        out: FloatArray = np.exp(g0[y] + k[y] * (t - y * HOURS_PER_YEAR))
        return out

    def multiplier(self, t: FloatArray) -> FloatArray:
        """Π factors(t), times the daily and weekly cycles."""
        out = np.ones(np.shape(t))
        for f in self.factors:
            out = out * f.at(t)
        if self.daily:
            out = out * (1 + self.daily * np.cos(2 * np.pi * (np.mod(t, 24.0) - 14) / 24))
        if self.weekly:
            out = out * (1 + self.weekly * np.cos(2 * np.pi * (np.mod(t / 24, 7.0) - 2.5) / 7))
        return out

    def rate(self, t: FloatArray) -> FloatArray:
        t = np.asarray(t, dtype=float)
        out: FloatArray = self.base * self.growth_factor(t) * self.multiplier(t)
        return out

    def total(self) -> float:
        """Λ(horizon): the expected number of arrivals (or demand unit-hours)."""
        cum: FloatArray = self._cum  # type: ignore[attr-defined]
        return float(cum[-1])

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Λ(t) = ∫₀ᵗ rate."""
        t = np.asarray(t, dtype=float)
        b: FloatArray = self._b  # type: ignore[attr-defined]
        cum: FloatArray = self._cum  # type: ignore[attr-defined]
        j = np.clip(np.searchsorted(b, t, side="right") - 1, 0, len(b) - 2)
        return cum[j] + self._partial(b[j], t)

    def _partial(self, a: FloatArray, t: FloatArray) -> FloatArray:
        """∫ₐᵗ rate, for a and t in one segment (Gauss–Legendre)."""
        mid, half = (a + t) / 2, (t - a) / 2
        nodes = mid[..., None] + half[..., None] * _NODES
        out: FloatArray = (half[..., None] * _WEIGHTS * self.rate(nodes)).sum(axis=-1)
        return out

    def inverse(self, y: FloatArray) -> FloatArray:
        """Λ⁻¹(y) for 0 <= y < Λ(horizon): the time by which y arrivals are expected."""
        y = np.asarray(y, dtype=float)
        b: FloatArray = self._b  # type: ignore[attr-defined]
        cum: FloatArray = self._cum  # type: ignore[attr-defined]
        k: FloatArray = self._k  # type: ignore[attr-defined]
        curved: np.ndarray = self._curved  # type: ignore[attr-defined]
        j = np.clip(np.searchsorted(cum, y, side="right") - 1, 0, len(b) - 2)
        a, hi = b[j], b[j + 1]
        target = y - cum[j]
        r0 = self.rate(a)
        kj = k[np.clip((a // HOURS_PER_YEAR).astype(int), 0, len(k) - 1)]
        # segments without a moving ramp: rate = r0 e^{k (t − a)}, inverted in closed form
        with np.errstate(divide="ignore", invalid="ignore"):
            flat = np.where(
                np.abs(kj) < 1e-15,
                target / r0,
                np.log1p(kj * target / r0) / np.where(kj == 0, 1.0, kj),
            )
        t = np.clip(a + np.nan_to_num(flat, nan=0.0, posinf=0.0), a, hi)
        bent = curved[j]
        if bent.any():
            t[bent] = self._newton(a[bent], hi[bent], target[bent], t[bent])
        return t

    def _newton(
        self, lo: FloatArray, hi: FloatArray, target: FloatArray, t: FloatArray
    ) -> FloatArray:
        """Solve ∫_lo^t rate = target on a short ramp piece [lo, hi].

        Starts from the exact solution for a rate linear across the piece, then refines with
        Newton steps on the exact integral (kept inside the piece).
        """
        ra, rb = self.rate(lo), self.rate(hi)
        slope = (rb - ra) / np.maximum(hi - lo, 1e-12)
        disc = np.sqrt(np.maximum(ra * ra + 2 * slope * target, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(ra + disc > 0, 2 * target / (ra + disc), 0.0)
        t = np.clip(lo + x, lo, hi)
        for _ in range(3):
            r = self.rate(t)
            f = self._partial(lo, t) - target
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.clip(t - np.where(r > 0, f / r, 0.0), lo, hi)
        return t


def intensity(
    base: float,
    growth: Sequence[float],
    factors: Sequence[Factor],
    horizon_hours: float,
    daily: float = 0.0,
    weekly: float = 0.0,
) -> Intensity:
    """A workload's rate (or level) over the horizon."""
    return Intensity(
        float(base),
        tuple(float(g) for g in growth),
        tuple(factors),
        horizon_hours,
        float(daily),
        float(weekly),
    )
