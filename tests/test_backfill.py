"""EASY backfilling and placement, job by job, against a from-scratch reference.

The reference below shares no code with the engine: at every event time it releases the
jobs that end, queues the arrivals, starts jobs from the head while they fit, then gives
the blocked head a reservation at its shadow time (computed afresh from the running jobs)
and lets later jobs start if they end by then or leave the head's reservation intact.
Placement follows the contract: a job of u <= m units goes to one instance (best-fit: the
fewest free units that fit, then the lowest number; first-fit: the lowest number that
fits); a larger one takes the ceil(u/m) lowest-numbered wholly free instances.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sim.engine import simulate
from sim.montecarlo import build_input, run_replication
from tests.helpers import gpu_pool, od, trace_scenario


def _fit(free, m, u, first_fit):
    """Instances and units a job of u units takes now, or None."""
    if u <= m:
        fits = [i for i, f in enumerate(free) if f >= u]
        if not fits:
            return None
        i = fits[0] if first_fit else min(fits, key=lambda i: (free[i], i))
        return [(i, u)]
    k = -(-u // m)
    whole = [i for i, f in enumerate(free) if f == m]
    return [(i, m) for i in whole[:k]] if len(whole) >= k else None


def _fits(free, m, u):
    if u <= m:
        return any(f >= u for f in free)
    return sum(f == m for f in free) >= -(-u // m)


def easy_reference(rows, instances, m, first_fit=False):
    """Start times of EASY backfilling on ``instances`` instances of ``m`` units."""
    submit = [r[0] for r in rows]
    units = [r[1] for r in rows]
    dur = [r[2] for r in rows]
    start = [math.nan] * len(rows)
    free = [m] * instances
    running = []  # (end, job, alloc)
    queue = []
    order = sorted(range(len(rows)), key=lambda j: (submit[j], j))
    nxt = 0

    def run(j, t, alloc):
        for i, u in alloc:
            free[i] -= u
        start[j] = t
        running.append((t + dur[j], j, alloc))

    while nxt < len(order) or running:
        t = min([e for e, _, _ in running] + ([submit[order[nxt]]] if nxt < len(order) else []))
        for e, j, alloc in [x for x in running if x[0] == t]:
            running.remove((e, j, alloc))
            for i, u in alloc:
                free[i] += u
        while nxt < len(order) and submit[order[nxt]] == t:
            queue.append(order[nxt])
            nxt += 1
        while queue:
            alloc = _fit(free, m, units[queue[0]], first_fit)
            if alloc is None:
                break
            run(queue.pop(0), t, alloc)
        if not queue:
            continue
        head = units[queue[0]]
        at_shadow = list(free)
        shadow = math.inf
        for e, _, alloc in sorted(running):
            if e > shadow:
                break
            for i, u in alloc:
                at_shadow[i] += u
            if shadow == math.inf and _fits(at_shadow, m, head):
                shadow = e
        for j in list(queue[1:]):
            alloc = _fit(free, m, units[j], first_fit)
            if alloc is None:
                continue
            if t + dur[j] > shadow:
                trial = list(at_shadow)
                for i, u in alloc:
                    trial[i] -= u
                if not _fits(trial, m, head):
                    continue
                at_shadow = trial
            queue.remove(j)
            run(j, t, alloc)
    return start


def random_trace(seed, m, n=400):
    """A congested trace on 2-7 instances: sizes around the instance size, times on a grid
    (many jobs arrive and end together, so ties in time and in placement arise)."""
    rng = np.random.default_rng([seed, m])
    instances = int(rng.integers(2, 8)) if m > 1 else int(rng.integers(4, 9))
    sizes = sorted({1, 2, 3, max(1, m // 2), max(1, m - 1), m, m + 1, 2 * m})
    units = rng.choice(sizes, n)
    dur = np.round(rng.exponential(3.0, n) * 2) / 2 + 0.5
    load = rng.uniform(0.8, 1.3)  # offered work / capacity
    gap = np.mean(units * dur) / (load * instances * m)
    submit = np.round(np.cumsum(rng.exponential(gap, n)), 1)
    rows = [(float(s), int(u), float(d)) for s, u, d in zip(submit, units, dur, strict=True)]
    return rows, instances


def engine_starts(tmp_path, rows, instances, m, placement, queue="backfill"):
    sc = trace_scenario(
        tmp_path,
        rows,
        gpu_pool(instances * m, m=m),
        years=(rows[-1][0] + 5000) / 8760,
        policy={"queue": queue, "placement": placement, "backfill_depth": 100000},
    )
    rep = run_replication(sc, 0, 0, record_jobs=True)
    return rep.jobs["start_hours"].to_numpy(), rep.jobs["wait_hours"].to_numpy()


@pytest.mark.parametrize("placement", ["best-fit", "first-fit"])
@pytest.mark.parametrize("m", [1, 4, 16])
@pytest.mark.parametrize("seed", range(16))
def test_backfill_on_instances_matches_a_from_scratch_easy(tmp_path, seed, m, placement):
    rows, instances = random_trace(seed, m)
    got, wait = engine_starts(tmp_path, rows, instances, m, placement)
    ref = np.array(easy_reference(rows, instances, m, placement == "first-fit"))
    assert np.mean(wait > 0) > 0.1  # a congested queue, where backfilling matters
    bad = np.flatnonzero(np.abs(got - ref) > 1e-9)
    assert len(bad) == 0, f"{len(bad)} of {len(rows)} jobs differ; first {bad[:5]}"


@pytest.mark.parametrize("depth", [2, 10, 100000])
@pytest.mark.parametrize("m", [1, 4, 16])
@pytest.mark.parametrize("seed", range(4))
def test_incremental_backfill_books_equal_the_full_recompute_mode(tmp_path, seed, m, depth):
    # the reference mode recomputes the reservation and rescans the window at every pass;
    # the incremental books must give the same schedule, whatever the window depth
    rows, instances = random_trace(100 + seed, m)
    sc = trace_scenario(
        tmp_path,
        rows,
        gpu_pool(instances * m, m=m),
        years=(rows[-1][0] + 5000) / 8760,
        policy={"queue": "backfill", "backfill_depth": depth},
    )
    inp, _, _ = build_input(sc, 0, 0)
    fast = simulate(inp)
    slow = simulate(dataclasses.replace(inp, backfill_reference=True))
    np.testing.assert_array_equal(fast.start_hours, slow.start_hours)
    np.testing.assert_array_equal(fast.held_units, slow.held_units)


@pytest.mark.parametrize("depth", [2, 10, 100000])
@pytest.mark.parametrize("m", [1, 4, 16])
@pytest.mark.parametrize("seed", range(4))
def test_incremental_books_equal_the_full_recompute_when_jobs_leave_for_targets(
    tmp_path, seed, m, depth
):
    # jobs whose wait runs out leave the queue for a target of limited room (the head or
    # one behind it), and come back to it when the target is full: the reservation and the
    # window must follow, as a recomputation at every pass would
    rows, instances = random_trace(200 + seed, m)
    sc = trace_scenario(
        tmp_path,
        rows,
        gpu_pool(instances * m, m=m),
        overflow=[od(capacity=2 * m)],
        max_wait=1.5,
        years=(rows[-1][0] + 5000) / 8760,
        policy={"queue": "backfill", "backfill_depth": depth},
    )
    inp, _, _ = build_input(sc, 0, 0)
    fast = simulate(inp)
    slow = simulate(dataclasses.replace(inp, backfill_reference=True))
    assert 0.05 < np.mean(fast.ran_on > 0) < 0.95  # jobs left for the target, not all
    np.testing.assert_array_equal(fast.start_hours, slow.start_hours)
    np.testing.assert_array_equal(fast.ran_on, slow.ran_on)
    np.testing.assert_array_equal(fast.held_units, slow.held_units)


def test_the_running_books_keep_end_then_job_order_through_ties(tmp_path):
    """Backfill's running jobs are read in (end, job) order: kept as two parallel lists,
    they must hold exactly that order through starts and ends with many equal end times."""
    from sim.engine.core import Engine

    rows, instances = random_trace(3, 4, n=50)
    sc = trace_scenario(
        tmp_path, rows, gpu_pool(instances * 4, m=4), years=1.0, policy={"queue": "backfill"}
    )
    engine = Engine(build_input(sc, 0, 0)[0])
    books = engine.dispatch.queues[0]
    rng = np.random.default_rng(5)
    model: list[tuple[float, int]] = []
    free = list(range(50))
    for _ in range(400):
        if free and (not model or rng.random() < 0.55):
            j = free.pop(int(rng.integers(len(free))))
            end = float(rng.choice([1.0, 2.0, 2.5]))  # few values: ties everywhere
            engine.jobs.end[j] = end
            books.started(j, end)
            model.append((end, j))
        else:
            end, j = model.pop(int(rng.integers(len(model))))
            assert books.completed(j) is False  # no reservation: nothing foreseen
            free.append(j)
        assert list(zip(books.ends, books.enders, strict=True)) == sorted(model)
