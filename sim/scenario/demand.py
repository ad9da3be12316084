"""Building workloads from their validated tables (jobs, demand, traces): the pool they
run on, growth per contract year, data files; and the warnings a fitted or replayed
workload deserves."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from sim.calendar import HOURS_PER_YEAR, contract_years
from sim.distributions import (
    Choice,
    Empirical,
    Fixed,
)
from sim.errors import ScenarioError
from sim.scenario.doc_demand import DemandDoc, JobsDoc, TraceDoc
from sim.scenario.files import data_path, read_column, read_trace
from sim.scenario.leaves import bounds_of
from sim.scenario.model import (
    DemandWorkload,
    JobsWorkload,
    OverflowTarget,
    ParamSpec,
    Pool,
    TraceWorkload,
    Workload,
)
from sim.scenario.tables import DataFolder, Reader
from sim.scenario.values import numstr


def _growth(t: Reader, years: float) -> tuple[ParamSpec, ...]:
    """``growth_per_year``: one rate (number or distribution), or a list with one per
    contract year of the horizon (entries past it are ignored)."""
    raw = t.doc.growth_per_year  # type: ignore[attr-defined]
    if not isinstance(raw, list):
        return (t.param("growth_per_year"),)
    n_years = contract_years(years)
    if len(raw) < n_years:
        raise t.err(
            "growth_per_year",
            f"gives {len(raw)} contract years but the horizon has {n_years}; "
            "give one rate per year or a single rate",
        )
    b = bounds_of(type(t.doc), "growth_per_year")
    return tuple(
        t.spec(t.sub(f"growth_per_year[{i}]"), value, b) for i, value in enumerate(raw[:n_years])
    )


def build_workload(
    where: str,
    name: str,
    doc: JobsDoc | DemandDoc | TraceDoc,
    pools: Mapping[str, Pool],
    base_dir: DataFolder,
    years: float,
) -> Workload:
    """A validated ``[workloads.<name>]`` document as the model's workload (its files read)."""
    t = Reader(where, f"workloads.{name}", doc, base_dir)
    t.known_pool(doc.pool, pools)
    if isinstance(doc, TraceDoc):
        return _trace_workload(t, doc, name)
    growth = _growth(t, years)
    if isinstance(doc, JobsDoc):
        return JobsWorkload(
            name=name,
            pool=doc.pool,
            arrivals_per_day=t.param("arrivals_per_day"),
            growth_per_year=growth,
            units=t.dist("units"),
            duration_hours=t.dist("duration_hours"),
            max_wait_hours=t.param("max_wait_hours"),
            priority=doc.priority,
            daily_amplitude=t.param("daily_amplitude"),
            weekly_amplitude=t.param("weekly_amplitude"),
            rate_at_years=doc.rate_at_years,
        )
    if doc.file is not None:
        return _recorded_demand(t, doc, name, growth)
    return DemandWorkload(
        name=name,
        pool=doc.pool,
        demand_units=t.param("demand_units"),
        growth_per_year=growth,
        daily_amplitude=t.param("daily_amplitude"),
        weekly_amplitude=t.param("weekly_amplitude"),
        noise_cv=t.param("noise_cv"),
    )


def _trace_workload(t: Reader, doc: TraceDoc, name: str) -> TraceWorkload:
    cols = read_trace(
        t.where,
        t.sub("file"),
        data_path(t.where, t.sub("file"), t.base_dir, doc.file, t.data.external),
        doc.max_wait_hours,
        doc.priority,
    )
    return TraceWorkload(
        name,
        doc.pool,
        doc.file,
        cols["submit_hours"],
        cols["units"],
        cols["duration_hours"],
        cols["max_wait_hours"],
        cols["priority"],
    )


def _recorded_demand(
    t: Reader, doc: DemandDoc, name: str, growth: tuple[ParamSpec, ...]
) -> DemandWorkload:
    assert doc.file is not None
    recording = read_column(
        t.where,
        t.sub("file"),
        data_path(t.where, t.sub("file"), t.base_dir, doc.file, t.data.external),
        doc.column,
    )
    if np.any(recording < 0):
        bad = int(np.argmax(recording < 0))
        raise ScenarioError(
            str(t.base_dir / doc.file),
            f"line {bad + 2}",
            f"demand must be >= 0, got {recording[bad]}",
        )
    return DemandWorkload(
        name=name,
        pool=doc.pool,
        demand_units=None,
        growth_per_year=growth,
        daily_amplitude=ParamSpec(t.sub("daily_amplitude"), Fixed(0.0)),
        weekly_amplitude=ParamSpec(t.sub("weekly_amplitude"), Fixed(0.0)),
        noise_cv=t.param("noise_cv"),
        file=doc.file,
        recording=recording,
    )


def fit_warnings(
    pools: Mapping[str, Pool],
    targets: tuple[OverflowTarget, ...],
    workloads: Mapping[str, Workload],
) -> list[str]:
    """Jobs too large for the pool and every overflow target they may go to: they can never
    start. A job that waits without limit (``max_wait_hours = "inf"``) never goes to a target,
    so only the pool counts for it."""
    out = []
    for name, w in workloads.items():
        if isinstance(w, JobsWorkload):
            mw = w.max_wait_hours
            waits_forever = mw.is_fixed and math.isinf(mw.dist.mean())
            d = w.units
            if isinstance(d, Choice):
                sizes = np.asarray(d.values)[np.asarray(d.weights) > 0]
            elif isinstance(d, Fixed | Empirical):
                sizes = np.asarray([d.value] if isinstance(d, Fixed) else d.values)
            else:
                continue  # an unbounded distribution: no certain answer
        elif isinstance(w, TraceWorkload):
            sizes = w.units
            waits_forever = bool(np.all(np.isinf(w.max_wait_hours)))
        else:
            continue
        pool = pools[w.pool]
        m = pool.instance_units
        room = max(pool.reserved) if pool.reserved else 0
        caps = [] if waits_forever else [t.capacity.dist for t in targets if t.pool == w.pool]
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
                else f"jobs of {numstr(float(units[never].min()))} units or more need"
            )
            where = (
                f"more than the pool ever reserves ({numstr(room)}), and they wait for it "
                "without limit (max_wait_hours is inf), so no overflow target takes them"
                if waits_forever
                else f"more than the pool ever reserves ({numstr(room)}) or any overflow "
                "target holds"
            )
            out.append(
                f"workloads.{name}: {what} {where}: they can never start and will count as "
                "still queued at the horizon (under a fifo or priority queue, every job behind "
                "them waits too)"
            )
    return out


def trace_warnings(workloads: Mapping[str, Workload], years: float) -> list[str]:
    """Warnings for trace rows submitted at or after the horizon (left out)."""
    out = []
    for name, w in workloads.items():
        if isinstance(w, TraceWorkload):
            late = int(np.sum(w.submit_hours >= years * HOURS_PER_YEAR))
            if late:
                out.append(
                    f"workloads.{name}: {late} of {len(w.submit_hours)} trace rows are "
                    f"submitted at or after the horizon ({numstr(years)} years) and are left out"
                )
    return out
