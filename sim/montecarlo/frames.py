"""What a replication gives, and the tidy frames a run is made of: replications, months,
spend, contract, waits and (on request) jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import calendar, engine, metrics
from sim.calendar import HOURS_PER_YEAR
from sim.distributions import FloatArray
from sim.results import RunResult
from sim.scenario import Scenario

if TYPE_CHECKING:  # pandas is imported where frames are made: start-up stays light
    import pandas as pd


@dataclass(frozen=True, eq=False)
class Replication:
    """One replication's outcome, before it joins the others."""

    index: int
    metrics: dict[str, float]
    monthly: dict[str, dict[str, FloatArray]]
    jobs: pd.DataFrame | None
    record: engine.EngineRecord | None = None
    spend: dict[tuple[str, str, str], FloatArray] | None = None
    wait_counts: dict[str, FloatArray] | None = None
    contract: dict[str, FloatArray] | None = None
    purchases: list[dict[str, float | int | str]] | None = None
    """Strategies' purchases: one row each (see :func:`purchases_rows`)."""


def purchases_rows(
    purchases: Sequence[engine.Purchase],
    scenario: Scenario,
    prices: metrics.Prices,
    replication: int,
) -> list[dict[str, float | int | str]]:
    """One row per purchase: its strategy, k, when it was decided and starts, its term, the
    units (reserved) or USD per hour (savings plan) ordered and delivered, and its price per
    unit-hour (reserved; before the contract discount)."""
    names = [s.name for s in scenario.strategies]
    price_of = {
        (c.name, t[0]): t[2]
        for c in prices.commitments
        if c.name in names and c.kind == "reserved"
        for t in c.tranches
    }
    return [
        {
            "replication": replication,
            "strategy": names[b.strategy],
            "k": b.k,
            "decided_hours": b.decided_hours,
            "start_hours": b.start_hours,
            "term_years": (b.end_hours - b.start_hours) / HOURS_PER_YEAR,
            "units_ordered": b.units_ordered,
            "units": b.units,
            "usd_per_hour_ordered": b.usd_per_hour_ordered,
            "usd_per_hour": b.usd_per_hour,
            "price_per_unit_hour": price_of.get((names[b.strategy], b.start_hours), float("nan")),
        }
        for b in purchases
    ]


def jobs_frame(rec: engine.EngineRecord, names: metrics.Names, replication: int) -> pd.DataFrame:
    """One row per job; ``ran_on`` is the pool or target name, empty if it never started.

    A job that had not started by the horizon has empty ``start_hours``/``end_hours`` and
    its censored wait (horizon − submit), as in the summary's wait statistics.
    """
    import pandas as pd

    j = rec.jobs
    started = rec.start_hours < rec.horizon_hours
    wl = (
        np.asarray(names.job_workloads, dtype=object)[j.workload] if len(j) else np.empty(0, object)
    )
    ran_on = np.full(len(j), "", dtype=object)
    on_res = started & (rec.ran_on == 0)
    ran_on[on_res] = np.asarray(names.pools, dtype=object)[j.pool[on_res]]
    for k, t in enumerate(names.targets):
        ran_on[started & (rec.ran_on == k + 1)] = t
    if j.number is not None:  # arrival order, or a trace's CSV row
        seq = j.number
    else:
        seq = np.zeros(len(j), dtype=np.int64)
        for w in range(len(names.job_workloads)):
            mine = j.workload == w
            seq[mine] = np.arange(int(mine.sum()))
    return pd.DataFrame(
        {
            "replication": np.full(len(j), replication, dtype=np.int64),
            "workload": wl,
            "job": seq,
            "submit_hours": j.submit_hours,
            "start_hours": np.where(started, rec.start_hours, np.nan),
            "end_hours": np.where(started, rec.end_hours, np.nan),
            "wait_hours": metrics.job_waits(rec),
            "units": np.where(started, rec.held_units, j.units),
            "ran_on": ran_on,
        }
    )


def assemble(
    scenario: Scenario, seed: int, reps: Sequence[Replication], record_jobs: bool = False
) -> RunResult:
    """Join replications into tidy frames."""
    import pandas as pd

    rows = [{"replication": r.index, **r.metrics} for r in reps]
    replications = pd.DataFrame(rows)
    replications["replication"] = replications["replication"].astype("int64")
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=replications,
        timeseries=timeseries_frame(scenario, reps),
        spend=spend_frame(scenario, reps),
        waits=waits_frame(reps),
        contract=contract_frame(scenario, reps),
        jobs=pd.concat([r.jobs for r in reps if r.jobs is not None], ignore_index=True)
        if record_jobs
        else None,
        purchases=_purchases_frame(scenario, reps),
    )


_PURCHASE_COLUMNS = (
    "replication",
    "strategy",
    "k",
    "decided_hours",
    "start_hours",
    "term_years",
    "units_ordered",
    "units",
    "usd_per_hour_ordered",
    "usd_per_hour",
    "price_per_unit_hour",
)


def _purchases_frame(scenario: Scenario, reps: Sequence[Replication]) -> pd.DataFrame | None:
    """Every purchase of every replication (None: the scenario has no strategies)."""
    import pandas as pd

    if not scenario.strategies:
        return None
    rows = [row for r in reps for row in (r.purchases or [])]
    frame = pd.DataFrame(rows, columns=list(_PURCHASE_COLUMNS))
    return frame.astype({"replication": "int64", "k": "int64", "units_ordered": "int64",
                         "units": "int64"})  # fmt: skip


def timeseries_frame(scenario: Scenario, reps: Sequence[Replication]) -> pd.DataFrame:
    """One row per replication × pool × contract month."""
    import pandas as pd

    frames = []
    for r in reps:
        for pool, cols in r.monthly.items():
            n = len(next(iter(cols.values())))
            frames.append(
                pd.DataFrame(
                    {
                        "replication": np.full(n, r.index, dtype=np.int64),
                        "pool": pool,
                        "month": np.arange(n, dtype=np.int64),
                        **cols,
                    }
                )
            )
    df = pd.concat(frames, ignore_index=True)
    df.insert(3, "month_start", _month_start(scenario, df["month"]))
    return df


def _month_start(scenario: Scenario, month: pd.Series) -> pd.Series:
    import pandas as pd

    start = pd.Timestamp(scenario.start)
    return (start + pd.to_timedelta(month * calendar.HOURS_PER_MONTH, "h")).dt.floor("D")


def spend_frame(scenario: Scenario, reps: Sequence[Replication]) -> pd.DataFrame:
    """One row per replication × month × spend component (reserved, overflow, transfer)."""
    import pandas as pd

    frames = []
    for r in reps:
        for (pool, component, target), values in (r.spend or {}).items():
            n = len(values)
            frames.append(
                pd.DataFrame(
                    {
                        "replication": np.full(n, r.index, dtype=np.int64),
                        "month": np.arange(n, dtype=np.int64),
                        "pool": pool,
                        "component": component,
                        "target": target,
                        "spend_usd": values,
                    }
                )
            )
    df = pd.concat(frames, ignore_index=True)
    df.insert(2, "month_start", _month_start(scenario, df["month"]))
    return df


def contract_frame(scenario: Scenario, reps: Sequence[Replication]) -> pd.DataFrame:
    """One row per replication × contract month: eligible spend, committed dollars not yet
    spent (lock-in exposure), cash paid and its present value."""
    import pandas as pd

    frames = []
    for r in reps:
        cols = r.contract or {}
        if not cols:
            continue
        n = len(next(iter(cols.values())))
        frames.append(
            pd.DataFrame(
                {
                    "replication": np.full(n, r.index, dtype=np.int64),
                    "month": np.arange(n, dtype=np.int64),
                    **cols,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.insert(2, "month_start", _month_start(scenario, df["month"]))
    return df


def waits_frame(reps: Sequence[Replication]) -> pd.DataFrame:
    """One row per replication × job workload × wait bin: started jobs by wait."""
    import pandas as pd

    lo, hi = metrics.WAIT_BIN_EDGES[:-1], metrics.WAIT_BIN_EDGES[1:]
    frames = [
        pd.DataFrame(
            {
                "replication": np.full(len(lo), r.index, dtype=np.int64),
                "workload": w,
                "wait_low_hours": lo,
                "wait_high_hours": hi,
                "jobs": counts,
            }
        )
        for r in reps
        for w, counts in (r.wait_counts or {}).items()
    ]
    if not frames:
        return pd.DataFrame(
            columns=["replication", "workload", "wait_low_hours", "wait_high_hours", "jobs"]
        )
    return pd.concat(frames, ignore_index=True)
