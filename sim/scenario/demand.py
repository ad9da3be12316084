"""Building workloads from their tables (jobs, demand, traces), with every check and message,
and the warnings a fitted or replayed workload deserves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.calendar import HOURS_PER_YEAR
from sim.distributions import (
    Choice,
    Empirical,
    Fixed,
)
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.files import _data_path, _read_column, _read_trace
from sim.scenario.model import (
    DemandWorkload,
    JobsWorkload,
    OverflowTarget,
    ParamSpec,
    Pool,
    TraceWorkload,
    Workload,
)
from sim.scenario.tables import _distribution, _Table
from sim.scenario.values import _fmt


def _growth(t: _Table, years: float) -> tuple[ParamSpec, ...]:
    """``growth_per_year``: one rate (number or distribution), or a list with one per
    contract year of the horizon (entries past it are ignored)."""
    raw = t.get("growth_per_year", 0.0)
    if not isinstance(raw, list):
        return (t.param("growth_per_year", 0.0, low=-0.99),)
    n_years = max(1, math.ceil(years - 1e-9))
    if len(raw) < n_years:
        raise t.err(
            "growth_per_year",
            f"gives {len(raw)} contract years but the horizon has {n_years}; "
            "give one rate per year or a single rate",
        )
    out = []
    for i, value in enumerate(raw[:n_years]):
        path = t.sub(f"growth_per_year[{i}]")
        dist = _distribution(t.where, path, value, -0.99, math.inf, False, t.base_dir)
        out.append(ParamSpec(path, dist, -0.99))
    return tuple(out)


_JOBS_KEYS = (
    "arrivals_per_day",
    "growth_per_year",
    "units",
    "duration_hours",
    "max_wait_hours",
    "priority",
    "daily_amplitude",
    "weekly_amplitude",
)
_TRACE_KEYS = ("file", "max_wait_hours", "priority")
_RECORDED_KEYS = ("file", "column", "growth_per_year", "noise_cv")
_DEMAND_KEYS = (
    "demand_units",
    "growth_per_year",
    "daily_amplitude",
    "weekly_amplitude",
    "noise_cv",
)


def _workload_keys(where: str, path: str, kind: str, data: dict[str, Any]) -> tuple[str, ...]:
    """The keys a workload of this kind may have (a recorded demand: no synthetic shape)."""
    if kind == "jobs":
        return _JOBS_KEYS
    if kind == "trace":
        return _TRACE_KEYS
    if "file" not in data:
        return _DEMAND_KEYS
    for synthetic in ("demand_units", "daily_amplitude", "weekly_amplitude"):
        if synthetic in data:
            raise ScenarioError(
                where,
                f"{path}.{synthetic}",
                "is not allowed with 'file': a recorded demand keeps its own shape "
                "(use growth_per_year and noise_cv, or drop 'file')",
            )
    return _RECORDED_KEYS


def _build_workload(
    where: str, name: str, data: Any, pools: Mapping[str, Pool], base_dir: Path, years: float
) -> Workload:
    path = f"workloads.{name}"
    if not isinstance(data, dict):
        raise ScenarioError(where, path, f"must be a table, got {data!r}")
    kinds = ("jobs", "demand", "trace")
    kind = data.get("kind")
    if kind not in kinds:
        raise ScenarioError(
            where,
            f"{path}.kind",
            f"must be one of {', '.join(kinds)}, got {kind!r}{did_you_mean(str(kind), kinds)}",
        )
    keys = _workload_keys(where, path, kind, data)
    t = _Table(where, path, data, ("kind", "pool", *keys), base_dir)
    pool = t.string("pool")
    if pool not in pools:
        raise t.err(
            "pool",
            f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
        )
    growth = _growth(t, years)
    if kind == "jobs":
        return _jobs_workload(t, name, pool, growth, base_dir)
    if kind == "trace":
        return _trace_workload(t, name, pool, base_dir)
    if t.has("file"):
        return _recorded_demand(t, name, pool, growth, base_dir)
    daily = t.param("daily_amplitude", 0.0, low=0.0, high=1.0)  # checked in this order
    weekly = t.param("weekly_amplitude", 0.0, low=0.0, high=1.0)
    return DemandWorkload(
        name=name,
        pool=pool,
        demand_units=t.param("demand_units", low=0.0),
        growth_per_year=growth,
        daily_amplitude=daily,
        weekly_amplitude=weekly,
        noise_cv=t.param("noise_cv", 0.0, low=0.0),
    )


def _jobs_workload(
    t: _Table, name: str, pool: str, growth: tuple[ParamSpec, ...], base_dir: Path
) -> JobsWorkload:
    where = t.where
    return JobsWorkload(
        name=name,
        pool=pool,
        arrivals_per_day=t.param("arrivals_per_day", low=0.0),
        growth_per_year=growth,
        units=_distribution(
            where, t.sub("units"), t.get("units", required=True), 0.0, math.inf, True, base_dir
        ),
        duration_hours=_distribution(
            where,
            t.sub("duration_hours"),
            t.get("duration_hours", required=True),
            0.0,
            math.inf,
            False,
            base_dir,
        ),
        max_wait_hours=t.param("max_wait_hours", math.inf, low=0.0, allow_inf=True),
        priority=t.integer("priority", 0),
        daily_amplitude=t.param("daily_amplitude", 0.0, low=0.0, high=1.0),
        weekly_amplitude=t.param("weekly_amplitude", 0.0, low=0.0, high=1.0),
    )


def _trace_workload(t: _Table, name: str, pool: str, base_dir: Path) -> TraceWorkload:
    where = t.where
    file = t.string("file")
    cols = _read_trace(
        where,
        t.sub("file"),
        _data_path(where, t.sub("file"), base_dir, file),
        t.number("max_wait_hours", math.inf, low=0.0, allow_inf=True),
        t.integer("priority", 0),
    )
    return TraceWorkload(
        name,
        pool,
        file,
        cols["submit_hours"],
        cols["units"],
        cols["duration_hours"],
        cols["max_wait_hours"],
        cols["priority"],
    )


def _recorded_demand(
    t: _Table, name: str, pool: str, growth: tuple[ParamSpec, ...], base_dir: Path
) -> DemandWorkload:
    where = t.where
    file = t.string("file")
    recording = _read_column(
        where,
        t.sub("file"),
        _data_path(where, t.sub("file"), base_dir, file),
        t.string("column", "units"),
    )
    if np.any(recording < 0):
        bad = int(np.argmax(recording < 0))
        raise ScenarioError(
            str(base_dir / file),
            f"line {bad + 2}",
            f"demand must be >= 0, got {recording[bad]}",
        )
    return DemandWorkload(
        name=name,
        pool=pool,
        demand_units=None,
        growth_per_year=growth,
        daily_amplitude=ParamSpec(t.sub("daily_amplitude"), Fixed(0.0)),
        weekly_amplitude=ParamSpec(t.sub("weekly_amplitude"), Fixed(0.0)),
        noise_cv=t.param("noise_cv", 0.0, low=0.0),
        file=file,
        recording=recording,
    )


def _fit_warnings(
    pools: Mapping[str, Pool],
    targets: tuple[OverflowTarget, ...],
    workloads: Mapping[str, Workload],
) -> list[str]:
    """Jobs too large for the pool and every overflow target: they can never start."""
    out = []
    for name, w in workloads.items():
        if isinstance(w, JobsWorkload):
            d = w.units
            if isinstance(d, Choice):
                sizes = np.asarray(d.values)[np.asarray(d.weights) > 0]
            elif isinstance(d, Fixed | Empirical):
                sizes = np.asarray([d.value] if isinstance(d, Fixed) else d.values)
            else:
                continue  # an unbounded distribution: no certain answer
        elif isinstance(w, TraceWorkload):
            sizes = w.units
        else:
            continue
        pool = pools[w.pool]
        m = pool.instance_units
        room = max(pool.reserved) if pool.reserved else 0
        caps = [t.capacity.dist for t in targets if t.pool == w.pool]
        if any(not c.is_fixed for c in caps):
            continue  # a drawn capacity: leave it to the run
        widest = max([room, *[c.mean() for c in caps]])
        units = np.ceil(np.asarray(sizes, dtype=float) - 1e-9)
        need = np.where(units > m, np.ceil(units / m) * m, units)
        never = need > widest
        if never.any():
            what = (
                f"{int(never.sum())} of {len(sizes)} trace rows need"
                if isinstance(w, TraceWorkload)
                else f"jobs of {_fmt(float(units[never].min()))} units or more need"
            )
            out.append(
                f"workloads.{name}: {what} more than the pool ever reserves "
                f"({_fmt(room)}) or any overflow target holds: they can never start and will "
                "count as still queued at the horizon"
            )
    return out


def _trace_warnings(workloads: Mapping[str, Workload], years: float) -> list[str]:
    out = []
    for name, w in workloads.items():
        if isinstance(w, TraceWorkload):
            late = int(np.sum(w.submit_hours >= years * HOURS_PER_YEAR))
            if late:
                out.append(
                    f"workloads.{name}: {late} of {len(w.submit_hours)} trace rows are "
                    f"submitted at or after the horizon ({_fmt(years)} years) and are left out"
                )
    return out
