"""Job and demand accounts: waits (censored at the horizon), unfinished work and unserved
demand."""

from __future__ import annotations

import math

import numpy as np

from sim.calendar import hours_in_horizon
from sim.distributions import FloatArray
from sim.engine import EngineRecord
from sim.metrics.books import Books, Replication
from sim.metrics.terms import WAIT_BIN_EDGES, WAIT_STATS


def job_accounts(r: Replication, b: Books) -> None:
    """Per job workload: waits (censored: a job still queued at the horizon waited horizon −
    submit), counts, and work not done by the horizon."""
    rec, H, started, sent = r.rec, r.H, r.started, r.sent
    jobs, m = rec.jobs, b.m
    all_waits = job_waits(rec)
    for w, wname in enumerate(r.names.job_workloads):
        mine = jobs.workload == w
        waits = all_waits[mine]
        m[f"jobs_censored.{wname}"] = float((mine & ~started).sum())
        b.wait_counts[wname] = np.histogram(np.maximum(waits, 0.0), WAIT_BIN_EDGES)[0].astype(float)
        if len(waits):
            q = np.percentile(waits, [50, 95, 99])
            vals = (float(waits.mean()), float(q[0]), float(q[1]), float(q[2]), float(waits.max()))
        else:
            vals = (math.nan,) * 5
        for stat, v in zip(WAIT_STATS, vals, strict=True):
            m[f"wait_hours.{wname}.{stat}"] = v
        m[f"jobs_arrived.{wname}"] = float(mine.sum())
        m[f"jobs_overflowed.{wname}"] = float((mine & (rec.ran_on > 0) & sent).sum())
        finished = started & (rec.end_hours <= H)
        m[f"jobs_unfinished.{wname}"] = float((mine & ~finished).sum())
        # work (unit-hours at reference speed) not done by the horizon
        m[f"unfinished_unit_hours.{wname}"] = float(_unfinished_work(rec, mine, started, H).sum())


def unserved_accounts(r: Replication, b: Books, paths: dict[str, FloatArray]) -> None:
    """Demand workloads: a pool's unserved demand is shared in proportion to demand."""
    for p in range(len(r.names.pools)):
        served = r.rec.demand[p]
        mine = {w: paths[w] for w, wp in r.names.demand_workloads if wp == p}
        if served is not None and mine:
            for wname, v in split_unserved(served.unserved, mine, r.H).items():
                b.m[f"unserved_unit_hours.{wname}"] = v


def job_waits(rec: EngineRecord) -> FloatArray:
    """Each job's wait [h]: start - submit, or horizon - submit if it had not started by then."""
    H = rec.horizon_hours
    started = rec.start_hours < H
    out: FloatArray = np.where(started, rec.start_hours, H) - rec.jobs.submit_hours
    return out


def _unfinished_work(
    rec: EngineRecord, mine: np.ndarray, started: np.ndarray, H: float
) -> FloatArray:
    """Reference-speed unit-hours of each job of ``mine`` not done by the horizon."""
    jobs = rec.jobs
    units = jobs.units.astype(float)
    dur = jobs.duration_hours
    never = mine & ~started
    running = mine & started & (rec.end_hours > H)
    out = np.zeros(len(jobs))
    out[never] = units[never] * dur[never]
    span = rec.end_hours - rec.start_hours
    left = np.divide(rec.end_hours - H, span, out=np.zeros(len(jobs)), where=span > 0)
    out[running] = (units * dur * left)[running]
    return out[mine]


def split_unserved(
    unserved_hourly: FloatArray, demand_by_workload: dict[str, FloatArray], horizon_hours: float
) -> dict[str, float]:
    """Share a pool's unserved demand among its demand workloads by their demand."""
    hour_len = hours_in_horizon(horizon_hours)
    total = sum(demand_by_workload.values())
    out = {}
    for name, d in demand_by_workload.items():
        share = np.divide(d, total, out=np.zeros_like(d), where=np.asarray(total) > 0)
        out[name] = float(np.sum(unserved_hourly * share * hour_len))
    return out
