"""Per-replication inputs: parameter draws, job streams and hourly demand paths.

Everything random in a replication comes from here, through generators seeded by
:func:`stream`: one ``SeedSequence(seed)`` root, a child per replication
(``spawn_key=(replication,)``, the same as ``SeedSequence(seed).spawn(n)[replication]``)
and a grandchild per named component (a workload's arrivals, sizes, durations, demand
noise; each uncertain parameter). Components are keyed by name, not position, so two
scenarios that differ only in contract size, price or policy see exactly the same
demand (common random numbers), whatever the worker count.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.distributions import FloatArray, lognormal_factor
from sim.scenario import (
    HOURS_PER_YEAR,
    DemandWorkload,
    JobsWorkload,
    Scenario,
    TraceWorkload,
)

IntArray = NDArray[np.int64]

# component codes of the seed tree
_PARAM, _ARRIVALS, _UNITS, _DURATIONS, _NOISE = range(5)


def stream(seed: int, replication: int, name: str, component: int) -> np.random.Generator:
    """The generator for one named random component of one replication."""
    key = (replication, zlib.crc32(name.encode()), component)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def draw_params(scenario: Scenario, seed: int, replication: int) -> dict[str, float]:
    """Every per-replication parameter, keyed by its dotted path."""
    return {p.path: p.draw(stream(seed, replication, p.path, _PARAM)) for p in scenario.params()}


@dataclass(frozen=True, eq=False)
class JobStream:
    """All jobs of a replication, sorted by submit time (ties: workload order, then draw)."""

    submit_hours: FloatArray
    units: IntArray
    duration_hours: FloatArray
    """At reference speed 1 [h]."""
    max_wait_hours: FloatArray
    priority: FloatArray
    workload: IntArray
    """Index into the scenario's job workloads."""
    pool: IntArray
    """Index into the scenario's pools."""

    def __len__(self) -> int:
        return len(self.submit_hours)


_BLOCK = 4096  # unit-rate points are drawn in blocks of this size, whatever the rate


def unit_poisson_points(rng: np.random.Generator, total: float) -> FloatArray:
    """Points of a unit-rate Poisson process on [0, total): cumulative sums of Exp(1) draws.

    Drawn in blocks of a fixed size, so the i-th point is the same number whatever
    ``total`` is: a scenario with a higher rate sees the same points, and more of them.
    """
    if total <= 0:
        return np.empty(0)
    parts = []
    last = 0.0
    while True:
        g = last + np.cumsum(rng.standard_exponential(_BLOCK))
        parts.append(g)
        if g[-1] >= total:
            break
        last = float(g[-1])
    points = np.concatenate(parts)
    out: FloatArray = points[points < total]
    return out


def poisson_arrivals(
    rng: np.random.Generator, rate_per_hour: float, growth_per_year: float, horizon_hours: float
) -> FloatArray:
    """Arrival times of a Poisson process with rate ``r0 (1 + g) ** (t / 8760)`` on [0, H).

    A time change of one unit-rate process: the i-th arrival is at ``Λ⁻¹(Γ_i)``, where
    ``Λ`` is the cumulative intensity and ``Γ_i`` the i-th unit-rate point. Exact, and
    common random numbers survive a change of rate or growth: every arrival moves a
    little, none is redrawn, and job i keeps its size and duration.
    """
    if rate_per_hour <= 0 or horizon_hours <= 0:
        return np.empty(0)
    k = math.log1p(growth_per_year) / HOURS_PER_YEAR
    if abs(k) < 1e-15:
        points = unit_poisson_points(rng, rate_per_hour * horizon_hours)
        times: FloatArray = points / rate_per_hour
    else:
        total = rate_per_hour * math.expm1(k * horizon_hours) / k
        points = unit_poisson_points(rng, total)
        times = np.log1p(points * k / rate_per_hour) / k
    return np.minimum(times, np.nextafter(horizon_hours, 0))


def job_stream(
    scenario: Scenario, seed: int, replication: int, params: dict[str, float]
) -> JobStream:
    """Generate the jobs of every ``jobs`` and ``trace`` workload for one replication."""
    horizon = scenario.horizon_hours
    pool_index = {name: i for i, name in enumerate(scenario.pools)}
    parts: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, int, int]] = []
    job_wls = [w for w in scenario.workloads.values() if not isinstance(w, DemandWorkload)]
    for wi, w in enumerate(job_wls):
        if isinstance(w, JobsWorkload):
            rate = params[w.arrivals_per_day.path] / 24.0
            growth = params[w.growth_per_year.path]
            submit = poisson_arrivals(
                stream(seed, replication, w.name, _ARRIVALS), rate, growth, horizon
            )
            n = len(submit)
            units = w.units.sample(stream(seed, replication, w.name, _UNITS), n)
            dur = w.duration_hours.sample(stream(seed, replication, w.name, _DURATIONS), n)
            wait = np.full(n, params[w.max_wait_hours.path])
            prio = np.full(n, float(w.priority))
        else:
            assert isinstance(w, TraceWorkload)
            keep = w.submit_hours < horizon
            order = np.argsort(w.submit_hours[keep], kind="stable")
            submit = w.submit_hours[keep][order]
            units = w.units[keep][order]
            dur = w.duration_hours[keep][order]
            wait = w.max_wait_hours[keep][order]
            prio = w.priority[keep][order]
        parts.append((submit, units, dur, wait, prio, wi, pool_index[w.pool]))
    if not parts:
        empty = np.empty(0)
        ei = np.empty(0, dtype=np.int64)
        return JobStream(empty, ei, empty, empty, empty, ei, ei)
    submit = np.concatenate([p[0] for p in parts])
    order = np.argsort(submit, kind="stable")
    units_all = np.concatenate([p[1] for p in parts])
    units_int = np.maximum(1, np.ceil(units_all - 1e-9)).astype(np.int64)
    return JobStream(
        submit_hours=submit[order],
        units=units_int[order],
        duration_hours=np.maximum(0.0, np.concatenate([p[2] for p in parts]))[order],
        max_wait_hours=np.concatenate([p[3] for p in parts])[order],
        priority=np.concatenate([p[4] for p in parts])[order],
        workload=np.concatenate([np.full(len(p[0]), p[5], dtype=np.int64) for p in parts])[order],
        pool=np.concatenate([np.full(len(p[0]), p[6], dtype=np.int64) for p in parts])[order],
    )


def hours_in_horizon(horizon_hours: float) -> FloatArray:
    """Length of each hour slot [h]: 1, except a fractional last one."""
    n = math.ceil(horizon_hours - 1e-9)
    lengths = np.ones(n)
    if n:
        lengths[-1] = horizon_hours - (n - 1)
    return lengths


def demand_path(
    w: DemandWorkload, seed: int, replication: int, params: dict[str, float], horizon_hours: float
) -> FloatArray:
    """Hourly demand of one ``demand`` workload [unit], one value per hour slot.

    Synthetic: ``D0 (1+g)^(t/8760) (1 + a_d cos(2π(h-14)/24)) (1 + a_w cos(2π(d-2.5)/7))``
    with the daily peak at 14:00 and the weekly peak mid-week, times an independent
    lognormal factor of mean 1 per hour. Recorded: the recording repeated to fill the
    horizon, times the growth and noise factors.
    """
    n = math.ceil(horizon_hours - 1e-9)
    t = np.arange(n, dtype=float)
    growth = (1.0 + params[w.growth_per_year.path]) ** (t / HOURS_PER_YEAR)
    if w.recording is not None:
        reps = math.ceil(n / len(w.recording))
        base = np.tile(w.recording, reps)[:n]
    else:
        assert w.demand_units is not None
        d0 = params[w.demand_units.path]
        a_d = params[w.daily_amplitude.path]
        a_w = params[w.weekly_amplitude.path]
        hour_of_day = t % 24
        day_of_week = (t / 24) % 7
        base = (
            d0
            * (1 + a_d * np.cos(2 * np.pi * (hour_of_day - 14) / 24))
            * (1 + a_w * np.cos(2 * np.pi * (day_of_week - 2.5) / 7))
        )
    noise = lognormal_factor(stream(seed, replication, w.name, _NOISE), params[w.noise_cv.path], n)
    out: FloatArray = np.maximum(base * growth * noise, 0.0)
    return out
