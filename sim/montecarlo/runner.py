"""Running replications: one in the process, many on local worker processes in chunks,
and a whole run assembled into a :class:`~sim.results.RunResult`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from sim import engine, executor, metrics
from sim.calendar import HOURS_PER_YEAR
from sim.controls import offered_work_controls
from sim.montecarlo.frames import Replication, assemble, jobs_frame, purchases_rows
from sim.montecarlo.inputs import build_input, names_of, purchase_terms
from sim.results import RunResult
from sim.scenario import Scenario

ProgressFn = Callable[[int], None]
"""Called with the number of replications just finished."""


def purchased_by_year(scenario: Scenario, purchases: Sequence[engine.Purchase]) -> dict[str, float]:
    """``purchased_units.<strategy>.year<k>`` (reserved) or
    ``purchased_usd_per_hour.<strategy>.year<k>`` (savings plans): what each strategy had
    delivered from the purchases it decided in contract year k (what an alternative bought
    over time)."""
    out: dict[str, float] = {}
    years = max(1, math.ceil(scenario.horizon_hours / HOURS_PER_YEAR - 1e-9))
    for i, s in enumerate(scenario.strategies):
        if not any(t < scenario.horizon_hours for t in s.epochs_hours):
            continue
        per_year = [0.0] * years
        for b in purchases:
            if b.strategy == i:
                amount = b.units if s.buys == "reserved" else b.usd_per_hour
                per_year[min(int(b.decided_hours // HOURS_PER_YEAR), years - 1)] += amount
        what = "purchased_units" if s.buys == "reserved" else "purchased_usd_per_hour"
        for k, amount in enumerate(per_year):
            out[f"{what}.{s.name}.year{k + 1}"] = amount
    return out


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
    prices, purchases = purchase_terms(scenario, prices, rec, inp)
    names = names_of(scenario)
    out = metrics.compute(rec, names, prices, paths)
    jobs = jobs_frame(rec, names, replication) if record_jobs else None
    controls = offered_work_controls(scenario, seed, replication, inp, paths)
    bought = purchased_by_year(scenario, purchases)
    return Replication(
        replication,
        {**out.metrics, **bought, **controls},
        out.monthly,
        jobs,
        rec if keep_record else None,
        out.spend,
        out.wait_counts,
        out.contract,
        purchases_rows(purchases, scenario, prices, replication) if scenario.strategies else None,
    )


def _run_chunk(
    scenario: Scenario, seed: int, indices: Sequence[int], record_jobs: bool = False
) -> list[Replication]:
    out = []
    for i in indices:
        with executor.releasing():  # a big replication's heap back before the next one
            out.append(run_replication(scenario, seed, i, record_jobs))
    return out


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
