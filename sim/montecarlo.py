"""Monte Carlo replications of a scenario, on local processes.

Replication ``i`` draws everything from ``SeedSequence(seed, spawn_key=(i, ...))``
(see :mod:`sim.workload`), so results are identical whatever the number of workers
or the order in which replications finish.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from sim import calendar, contract, engine, executor, metrics, variance
from sim.distributions import FloatArray
from sim.results import RunResult
from sim.scenario import DemandWorkload, Generation, JobsWorkload, PricePath, Scenario
from sim.workload import demand_path, draw_params, job_stream, stream, workload_intensity

ProgressFn = Callable[[int], None]
"""Called with the number of replications just finished."""


def names_of(scenario: Scenario) -> metrics.Names:
    """Pool, target and workload names in engine order."""
    pools = tuple(scenario.pools)
    return metrics.Names(
        pools=pools,
        targets=tuple(t.name for t in scenario.overflow),
        target_pool=tuple(pools.index(t.pool) for t in scenario.overflow),
        job_workloads=tuple(
            n for n, w in scenario.workloads.items() if not isinstance(w, DemandWorkload)
        ),
        demand_workloads=tuple(
            (n, pools.index(w.pool))
            for n, w in scenario.workloads.items()
            if isinstance(w, DemandWorkload)
        ),
    )


def build_input(
    scenario: Scenario, seed: int, replication: int
) -> tuple[engine.EngineInput, metrics.Prices, dict[str, FloatArray]]:
    """Draw one replication's parameters, jobs and demand; return the engine's input."""
    params = draw_params(scenario, seed, replication)
    H = scenario.horizon_hours
    pools = tuple(scenario.pools.values())
    names = list(scenario.pools)
    paths = {
        n: demand_path(scenario, n, seed, replication, params)
        for n, w in scenario.workloads.items()
        if isinstance(w, DemandWorkload)
    }
    demand: list[FloatArray | None] = [None] * len(pools)
    for n, w in scenario.workloads.items():
        if isinstance(w, DemandWorkload):
            i = names.index(w.pool)
            prev = demand[i]
            demand[i] = paths[n] if prev is None else prev + paths[n]
    n_months = len(calendar.month_edges(H)) - 1
    inp = engine.EngineInput(
        horizon_hours=H,
        pools=tuple(
            engine.PoolSpec(
                p.name,
                p.instance_units,
                contract.capacity_changes(p.reserved, p.delivery, p.instance_units, H),
                contract.speed_changes(params[p.speed.path], p.generations),
            )
            for p in pools
        ),
        targets=tuple(
            engine.TargetSpec(
                t.name,
                names.index(t.pool),
                _capacity(params[t.capacity.path]),
                params[t.speed.path],
                params[t.startup_hours.path],
                contract.availability_changes(
                    _capacity(params[t.capacity.path]),
                    t.unavailable,
                    params[t.availability.path],
                    H,
                    stream(seed, replication, f"overflow.{t.name}.availability", _AVAILABILITY),
                ),
            )
            for t in scenario.overflow
        ),
        jobs=job_stream(scenario, seed, replication, params),
        demand=tuple(demand),
        queue=scenario.policy.queue,
        placement=scenario.policy.placement,
        backfill_depth=scenario.policy.backfill_depth,
    )
    prices = metrics.Prices(
        pools=tuple(
            metrics.PoolTerms(
                price=_path(
                    p.price_per_unit_hour.path,
                    params,
                    p.price_path,
                    seed,
                    replication,
                    n_months,
                    p.generations,
                ),
                contracted=metrics.by_year(p.reserved),
                credit_fraction=params[p.credit_fraction.path],
                payment=p.payment,
                od_price=(
                    np.full(n_months, params[p.on_demand_price_per_unit_hour.path])
                    if p.on_demand_price_per_unit_hour is not None
                    else None
                ),
                speed=_monthly_speed(
                    contract.speed_changes(params[p.speed.path], p.generations), H, n_months
                ),
                work_per_unit_hour=(
                    params[p.work_per_unit_hour.path] if p.work_per_unit_hour is not None else None
                ),
            )
            for p in pools
        ),
        targets=tuple(
            metrics.TargetTerms(
                price=_path(
                    t.price_per_unit_hour.path, params, t.price_path, seed, replication, n_months
                ),
                transfer=params[t.transfer_usd_per_job.path],
                speed=params[t.speed.path],
                eligible=t.name in scenario.contract.eligible_targets,
            )
            for t in scenario.overflow
        ),
        contract=scenario.contract,
    )
    return inp, prices, paths


_PRICE, _AVAILABILITY = 5, 6  # seed-tree components (see sim.workload)


def _capacity(drawn: float) -> float:
    """An overflow target's capacity: whole units, or inf for unlimited."""
    return drawn if math.isinf(drawn) else float(math.floor(drawn))


def _path(
    key: str,
    params: dict[str, float],
    path: PricePath | None,
    seed: int,
    replication: int,
    n_months: int,
    generations: tuple[Generation, ...] = (),
) -> FloatArray:
    rng = stream(seed, replication, key, _PRICE)
    return contract.price_path(params[key], path, params, n_months, rng, generations)


def _monthly_speed(
    changes: tuple[tuple[float, float], ...], horizon_hours: float, n_months: int
) -> FloatArray:
    """Time-averaged hardware speed in each contract month."""
    edges = calendar.month_edges(horizon_hours)
    starts = np.asarray([t for t, _ in changes], dtype=float)
    ends = np.append(starts[1:], horizon_hours)
    speeds = np.asarray([v for _, v in changes], dtype=float)
    out: FloatArray = metrics.binned_integral(starts, ends, speeds, edges) / np.diff(edges)
    return out


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


def run_replication(
    scenario: Scenario,
    seed: int,
    replication: int,
    record_jobs: bool = False,
    keep_record: bool = False,
) -> Replication:
    """Simulate one replication and compute its metrics."""
    inp, prices, paths = build_input(scenario, seed, replication)
    rec = engine.simulate(inp)
    names = names_of(scenario)
    out = metrics.compute(rec, names, prices, paths)
    jobs = _jobs_frame(rec, names, replication) if record_jobs else None
    controls = offered_work_controls(scenario, seed, replication, inp, paths)
    return Replication(
        replication,
        {**out.metrics, **controls},
        out.monthly,
        jobs,
        rec if keep_record else None,
        out.spend,
        out.wait_counts,
        out.contract,
    )


def _controlled(w: object) -> bool:
    """Whether a workload enters the offered-work controls: demand always; jobs when their
    sizes and durations have exact means; traces never (no randomness)."""
    if isinstance(w, DemandWorkload):
        return True
    return (
        isinstance(w, JobsWorkload)
        and variance.exact_mean_units(w.units) is not None
        and variance.exact_mean_duration(w.duration_hours) is not None
    )


def expected_work_given(
    scenario: Scenario, seed: int, replication: int, params: dict[str, float]
) -> dict[str, float]:
    """Per pool: the expected offered work given a replication's drawn parameters and shock
    episodes [unit-hours at reference speed], over the workloads whose sizes and durations
    have exact means (jobs) and every demand workload; pools with none are left out."""
    out: dict[str, float] = {}
    lengths = calendar.hours_in_horizon(scenario.horizon_hours)
    for name, w in scenario.workloads.items():
        if not _controlled(w):
            continue
        if isinstance(w, JobsWorkload):
            eu = variance.exact_mean_units(w.units)
            ed = variance.exact_mean_duration(w.duration_hours)
            assert eu is not None and ed is not None
            rate = params[w.arrivals_per_day.path] / 24.0
            total = workload_intensity(scenario, w, rate, seed, replication, params).total()
            out[w.pool] = out.get(w.pool, 0.0) + total * eu * ed
        elif isinstance(w, DemandWorkload):
            mean_path = demand_path(scenario, name, seed, replication, params, noise=False)
            out[w.pool] = out.get(w.pool, 0.0) + float(np.sum(mean_path * lengths))
    return out


def offered_work_controls(
    scenario: Scenario,
    seed: int,
    replication: int,
    inp: engine.EngineInput,
    paths: dict[str, FloatArray],
) -> dict[str, float]:
    """Per pool, two controls [unit-hours at reference speed]: the offered work minus its
    expectation given this replication's parameters and shock episodes (mean exactly zero:
    the luck of arrivals, sizes and durations), and that expectation itself
    (``control.expected_work.<pool>``, centred at summary time by its mean over the
    parameter distribution: the luck of the draws). See :mod:`sim.variance`. Job workloads
    whose size or duration has no exact mean, and traces (no randomness), are left out."""
    params = draw_params(scenario, seed, replication)
    expected = expected_work_given(scenario, seed, replication, params)
    realized = dict.fromkeys(expected, 0.0)
    jobs = inp.jobs
    job_names = [n for n, w in scenario.workloads.items() if not isinstance(w, DemandWorkload)]
    lengths = calendar.hours_in_horizon(scenario.horizon_hours)
    for name, w in scenario.workloads.items():
        if not _controlled(w):
            continue
        if isinstance(w, JobsWorkload):
            mine = jobs.workload == job_names.index(name)
            realized[w.pool] += float(np.sum(jobs.units[mine] * jobs.duration_hours[mine]))
        elif isinstance(w, DemandWorkload):
            realized[w.pool] += float(np.sum(paths[name] * lengths))
    out = {f"{variance.CONTROL_PREFIX}{p}": realized[p] - expected[p] for p in expected}
    out.update({f"{variance.EXPECTED_PREFIX}{p}": v for p, v in expected.items()})
    return out


PARAMETER_DRAWS = 400
"""Parameter draws behind the mean of the expected-work controls
(:func:`expected_work_moments`)."""


def expected_work_moments(
    scenario: Scenario, seed: int, draws: int = PARAMETER_DRAWS
) -> tuple[list[str], FloatArray, FloatArray]:
    """The mean over the parameter distribution of each pool's expected offered work, and
    the covariance of that mean's estimate: ``draws`` parameter and shock draws from
    replication indices no run uses (10⁹ + i), so the estimate is independent of the
    replications it centres. Returns (pools, mean, covariance of the mean)."""
    rows = [
        expected_work_given(scenario, seed, 10**9 + i, draw_params(scenario, seed, 10**9 + i))
        for i in range(draws)
    ]
    pools = sorted(rows[0]) if rows else []
    x = np.array([[r[p] for p in pools] for r in rows], dtype=float).reshape(len(rows), -1)
    cov = (
        np.atleast_2d(np.cov(x, rowvar=False)) / max(draws, 1)
        if draws > 1
        else np.zeros((len(pools), len(pools)))
    )
    return pools, x.mean(axis=0), cov


def _jobs_frame(rec: engine.EngineRecord, names: metrics.Names, replication: int) -> pd.DataFrame:
    """One row per job; ``ran_on`` is the pool or target name, empty if it never started.

    A job that had not started by the horizon has empty ``start_hours``/``end_hours`` and
    its censored wait (horizon − submit), as in the summary's wait statistics.
    """
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


def _run_chunk(
    scenario: Scenario, seed: int, indices: Sequence[int], record_jobs: bool = False
) -> list[Replication]:
    return [run_replication(scenario, seed, i, record_jobs) for i in indices]


def chunks(indices: Sequence[int], size: int) -> Iterator[list[int]]:
    """Consecutive batches of ``size`` indices."""
    for i in range(0, len(indices), size):
        yield list(indices[i : i + size])


def default_workers() -> int:
    """All cores this process may use."""
    return executor.cores()


def run_many(
    scenario: Scenario,
    seed: int,
    indices: Sequence[int],
    workers: int = 1,
    record_jobs: bool = False,
    progress: ProgressFn | None = None,
) -> Iterator[Replication]:
    """Yield replications ``indices`` in order, computed on ``workers`` processes.

    Chunks of replications run on local processes with a bounded number in flight (memory
    stays flat for any count); an interrupt stops the workers at once.
    """
    size = max(1, min(16, len(indices) // (max(workers, 1) * 4) or 1))
    parts = chunks(indices, size)  # lazily: a billion replications is not a billion tasks
    workers = executor.clamp_workers(workers, -(-len(indices) // size))
    if workers <= 1:
        for i in indices:
            r = run_replication(scenario, seed, i, record_jobs)
            if progress:
                progress(1)
            yield r
        return
    task = partial(_run_chunk, scenario, seed, record_jobs=record_jobs)
    done: dict[int, list[Replication]] = {}
    following = 0
    for n, batch in executor.unordered(task, parts, workers):  # progress as chunks finish
        done[n] = batch
        if progress:
            progress(len(batch))
        while following in done:  # results in order
            yield from done.pop(following)
            following += 1


def assemble(
    scenario: Scenario, seed: int, reps: Sequence[Replication], record_jobs: bool = False
) -> RunResult:
    """Join replications into tidy frames."""
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
    )


def timeseries_frame(scenario: Scenario, reps: Sequence[Replication]) -> pd.DataFrame:
    """One row per replication × pool × contract month."""
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
    start = pd.Timestamp(scenario.start)
    return (start + pd.to_timedelta(month * calendar.HOURS_PER_MONTH, "h")).dt.floor("D")


def spend_frame(scenario: Scenario, reps: Sequence[Replication]) -> pd.DataFrame:
    """One row per replication × month × spend component (reserved, overflow, transfer)."""
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


def run(
    scenario: Scenario,
    n: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    record_jobs: bool = False,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Run ``n`` replications (default: the scenario's) from one root seed.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    n : int, optional
        Replications; default ``scenario.replications``.
    seed : int, optional
        Root seed; default ``scenario.seed``.
    workers : int, optional
        Local processes; default all cores. Results do not depend on it.
    record_jobs : bool
        Keep one row per job (memory grows with the job count).
    progress : callable, optional
        Called with the number of replications finished since the last call.
    """
    n = scenario.replications if n is None else n
    seed = scenario.seed if seed is None else seed
    workers = default_workers() if workers is None else workers
    reps = list(run_many(scenario, seed, range(n), workers, record_jobs, progress))
    return assemble(scenario, seed, reps, record_jobs)
