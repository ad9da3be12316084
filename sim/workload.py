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

from sim.calendar import HOURS_PER_YEAR, hours_in_horizon
from sim.distributions import FloatArray, lognormal_factor
from sim.errors import ScenarioError
from sim.intensity import Factor, Intensity, intensity
from sim.scenario import (
    DemandWorkload,
    JobsWorkload,
    Scenario,
    Shock,
    TraceWorkload,
)

IntArray = NDArray[np.int64]

# component codes of the seed tree
_PARAM, _ARRIVALS, _UNITS, _DURATIONS, _NOISE = range(5)
_SHOCK_STARTS, _SHOCK_FACTORS, _SHOCK_DURATIONS = 7, 8, 9  # (5, 6: prices, availability)


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
    number: IntArray | None = None
    """The job's number within its workload: arrival order from 0 for a ``jobs`` workload,
    the CSV data row (1 = the first row after the header) for a trace."""

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


MAX_EPISODES = 1e4
"""Expected episodes of one shock in one replication, at most (each is a step of demand)."""


def shock_episodes(
    shock: Shock,
    seed: int,
    replication: int,
    params: dict[str, float],
    horizon_hours: float,
    source: str = "",
) -> list[Factor]:
    """One replication's episodes of a shock: Poisson starts (a time change of a unit-rate
    process, so a change of ``per_year`` keeps the pairing), each with its own factor and
    duration (episode i keeps them)."""
    rate = params[shock.per_year.path] / HOURS_PER_YEAR
    if rate <= 0 or horizon_hours <= 0:
        return []
    if rate * horizon_hours > MAX_EPISODES:
        raise ScenarioError(
            source,
            shock.per_year.path,
            f"would start about {rate * horizon_hours:.3g} episodes in one replication; capsim "
            f"draws up to {MAX_EPISODES:.0e} per shock (episodes per year, not per hour?)",
        )
    starts = (
        unit_poisson_points(
            stream(seed, replication, shock.name, _SHOCK_STARTS), rate * horizon_hours
        )
        / rate
    )
    n = len(starts)
    factors = np.maximum(
        shock.factor.sample(stream(seed, replication, shock.name, _SHOCK_FACTORS), n), 0.0
    )
    years = shock.duration_years.sample(stream(seed, replication, shock.name, _SHOCK_DURATIONS), n)
    ends = starts + np.maximum(years, 0.0) * HOURS_PER_YEAR
    return [
        Factor("episode", float(a), float(b), float(f))
        for a, b, f in zip(starts, ends, factors, strict=True)
    ]


def workload_factors(
    scenario: Scenario, name: str, seed: int, replication: int, params: dict[str, float]
) -> list[Factor]:
    """The dated changes and the shock episodes that apply to workload ``name``."""
    out = [
        Factor(c.kind, c.start_hours, c.end_hours, params[c.factor.path])
        for c in scenario.changes
        if name in c.workloads
    ]
    for sh in scenario.shocks:
        if name in sh.workloads:
            out += shock_episodes(
                sh, seed, replication, params, scenario.horizon_hours, scenario.source
            )
    return out


def workload_intensity(
    scenario: Scenario,
    w: JobsWorkload | DemandWorkload,
    base: float,
    seed: int,
    replication: int,
    params: dict[str, float],
) -> Intensity:
    """``base`` × the workload's growth by year × its changes and shock episodes."""
    growth = [params[g.path] for g in w.growth_per_year]
    factors = workload_factors(scenario, w.name, seed, replication, params)
    if isinstance(w, JobsWorkload):  # (a demand workload's cycle is in its own path)
        daily, weekly = params[w.daily_amplitude.path], params[w.weekly_amplitude.path]
        return intensity(base, growth, factors, scenario.horizon_hours, daily, weekly)
    return intensity(base, growth, factors, scenario.horizon_hours)


def _plain(scenario: Scenario, w: JobsWorkload | DemandWorkload) -> bool:
    """One growth rate and nothing else shaping the workload: the closed forms apply."""
    shaped = any(w.name in c.workloads for c in scenario.changes) or any(
        w.name in sh.workloads for sh in scenario.shocks
    )
    if isinstance(w, JobsWorkload):
        for a in (w.daily_amplitude, w.weekly_amplitude):
            shaped |= not (a.is_fixed and a.dist.mean() == 0.0)
    return len(w.growth_per_year) == 1 and not shaped


def start_rate(w: JobsWorkload, params: dict[str, float]) -> float:
    """A jobs workload's arrival rate at the scenario's start [per hour]: its
    ``arrivals_per_day`` moved from ``rate_at_years`` by the first year's growth."""
    rate = params[w.arrivals_per_day.path] / 24.0
    if w.rate_at_years:
        rate *= (1.0 + params[w.growth_per_year[0].path]) ** (-w.rate_at_years)
    return rate


MAX_JOBS = 5e7  # expected jobs of one workload in one replication, at most


def _check_job_count(
    scenario: Scenario,
    w: JobsWorkload,
    rate: float,
    seed: int,
    replication: int,
    params: dict[str, float],
) -> None:
    """Refuse, before drawing them, more jobs than a replication can hold."""
    total = workload_intensity(scenario, w, rate, seed, replication, params).total()
    if total > MAX_JOBS:
        raise ScenarioError(
            scenario.source,
            w.arrivals_per_day.path,
            f"would submit about {total:.3g} jobs in one replication; capsim simulates up to "
            f"{MAX_JOBS:.0e} per workload (a typo? a fluid demand workload fits such volumes)",
        )


def check_volumes(scenario: Scenario, seed: int | None = None) -> None:
    """Refuse, before any folder is made or worker started, a scenario whose first
    replication would submit more jobs than capsim simulates (the same check every
    replication makes before drawing its jobs)."""
    seed = scenario.seed if seed is None else seed
    params = draw_params(scenario, seed, 0)
    for sh in scenario.shocks:
        shock_episodes(sh, seed, 0, params, scenario.horizon_hours, scenario.source)
    for w in scenario.workloads.values():
        if isinstance(w, JobsWorkload):
            rate = start_rate(w, params)
            _check_job_count(scenario, w, rate, seed, 0, params)


def job_stream(
    scenario: Scenario, seed: int, replication: int, params: dict[str, float]
) -> JobStream:
    """Generate the jobs of every ``jobs`` and ``trace`` workload for one replication."""
    horizon = scenario.horizon_hours
    pool_index = {name: i for i, name in enumerate(scenario.pools)}
    parts: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, int, int]] = []
    numbers: list[IntArray] = []
    job_wls = [w for w in scenario.workloads.values() if not isinstance(w, DemandWorkload)]
    for wi, w in enumerate(job_wls):
        if isinstance(w, JobsWorkload):
            rate = start_rate(w, params)
            rng = stream(seed, replication, w.name, _ARRIVALS)
            _check_job_count(scenario, w, rate, seed, replication, params)
            if _plain(scenario, w):
                submit = poisson_arrivals(rng, rate, params[w.growth_per_year[0].path], horizon)
            else:
                inten = workload_intensity(scenario, w, rate, seed, replication, params)
                points = unit_poisson_points(rng, inten.total())
                submit = np.minimum(inten.inverse(points), np.nextafter(horizon, 0))
            n = len(submit)
            units = w.units.sample(stream(seed, replication, w.name, _UNITS), n)
            dur = w.duration_hours.sample(stream(seed, replication, w.name, _DURATIONS), n)
            wait = np.full(n, params[w.max_wait_hours.path])
            prio = np.full(n, float(w.priority))
            numbers.append(np.arange(n, dtype=np.int64))
        else:
            assert isinstance(w, TraceWorkload)
            keep = w.submit_hours < horizon
            order = np.argsort(w.submit_hours[keep], kind="stable")
            submit = w.submit_hours[keep][order]
            units = w.units[keep][order]
            dur = w.duration_hours[keep][order]
            wait = w.max_wait_hours[keep][order]
            prio = w.priority[keep][order]
            numbers.append(np.flatnonzero(keep)[order].astype(np.int64) + 1)
        parts.append((submit, units, dur, wait, prio, wi, pool_index[w.pool]))
    if not parts:
        empty = np.empty(0)
        ei = np.empty(0, dtype=np.int64)
        return JobStream(empty, ei, empty, empty, empty, ei, ei, ei)
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
        number=np.concatenate(numbers)[order],
    )


def demand_path(
    scenario: Scenario,
    name: str,
    seed: int,
    replication: int,
    params: dict[str, float],
    noise: bool = True,
) -> FloatArray:
    """Hourly demand of the ``demand`` workload ``name`` [unit], one value per hour slot.

    Synthetic: ``D0 G(t) M(t) (1 + a_d cos(2π(h-14)/24)) (1 + a_w cos(2π(d-2.5)/7))`` with
    the daily peak at 14:00 and the weekly peak mid-week, times an independent lognormal
    factor of mean 1 per hour (``noise=False``: its mean, 1). G compounds the growth by
    contract year and M multiplies the dated changes and shock episodes, both at the start
    of the hour. Recorded: the recording repeated to fill the horizon, times G, M and noise.
    """
    w = scenario.workloads[name]
    assert isinstance(w, DemandWorkload)
    n = math.ceil(scenario.horizon_hours - 1e-9)
    t = np.arange(n, dtype=float)
    if _plain(scenario, w):
        growth = (1.0 + params[w.growth_per_year[0].path]) ** (t / HOURS_PER_YEAR)
    else:
        inten = workload_intensity(scenario, w, 1.0, seed, replication, params)
        growth = inten.growth_factor(t) * inten.multiplier(t)
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
    level = base * growth
    if noise:
        cv = params[w.noise_cv.path]
        level = level * lognormal_factor(stream(seed, replication, w.name, _NOISE), cv, n)
    out: FloatArray = np.maximum(level, 0.0)
    return out


def offered_work_by_year(scenario: Scenario, draws: int = 100) -> dict[str, FloatArray]:
    """Expected offered work of each jobs and demand workload per contract year [unit-hours
    at reference speed], without simulating: arrivals from the exact cumulative intensity
    (jobs: × mean units × mean duration), demand from its noise-free path; averaged over the
    parameter and shock draws of replications 0 .. draws-1 (fixed parameters: exact).
    """
    H = scenario.horizon_hours
    n_years = max(1, math.ceil(H / HOURS_PER_YEAR - 1e-9))
    edges = np.minimum(np.arange(n_years + 1) * HOURS_PER_YEAR, H)
    uncertain = any(not p.is_fixed for p in scenario.params()) or bool(scenario.shocks)
    n = draws if uncertain else 1
    out: dict[str, FloatArray] = {}
    seed = scenario.seed
    for name, w in scenario.workloads.items():
        total = np.zeros(n_years)
        if isinstance(w, JobsWorkload):
            rng = np.random.default_rng(0)
            units = np.maximum(1.0, np.ceil(w.units.sample(rng, 20_000) - 1e-9)).mean()
            per_job = units * w.duration_hours.mean()
            for i in range(n):
                params = draw_params(scenario, seed, i)
                inten = workload_intensity(scenario, w, start_rate(w, params), seed, i, params)
                total += np.diff(inten.cumulative(edges)) * per_job
        elif isinstance(w, DemandWorkload):
            lengths = hours_in_horizon(H)
            year = np.minimum((np.arange(len(lengths)) // HOURS_PER_YEAR).astype(int), n_years - 1)
            for i in range(n):
                params = draw_params(scenario, seed, i)
                path = demand_path(scenario, name, seed, i, params, noise=False)
                total += np.bincount(year, weights=path * lengths, minlength=n_years)
        else:
            assert isinstance(w, TraceWorkload)
            keep = w.submit_hours < H
            year = np.minimum((w.submit_hours[keep] // HOURS_PER_YEAR).astype(int), n_years - 1)
            work = np.maximum(1, np.ceil(w.units[keep] - 1e-9)) * w.duration_hours[keep]
            total = np.bincount(year, weights=work, minlength=n_years).astype(float) * n
        out[name] = total / n
    return out
