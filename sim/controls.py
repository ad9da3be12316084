"""Control variates: the offered work a replication was expected to see given its drawn
parameters, and the moments of that expectation over the parameters' laws."""

from __future__ import annotations

import numpy as np

from sim import calendar, engine, variance
from sim.distributions import FloatArray
from sim.scenario import DemandWorkload, JobsWorkload, Scenario
from sim.workload import demand_path, draw_params, start_rate, workload_intensity


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
            rate = start_rate(w, params)
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
