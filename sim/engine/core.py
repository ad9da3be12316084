"""The engine: its parts wired together, arrivals, the dated changes of capacity and speed,
strategies' purchases, and :func:`simulate`.

The parts are objects the engine owns, each with its own state, calling each other through
the references they are built with (docs/design.md draws them):

* :class:`~sim.engine.jobs.Jobs`: the job columns every part reads and writes;
* :class:`~sim.engine.books.PoolBooks`, one per pool: its reserved level and free units;
* :class:`~sim.engine.dispatch.Dispatcher`: a queue policy per pool
  (:mod:`sim.engine.policies`), placement passes, starts and ends on reserved units;
* :class:`~sim.engine.overflow.OverflowDesk`: waits that run out, the overflow targets;
* :class:`~sim.engine.demand.DemandClaims`: each hour's demand on pools that run jobs.

Events carry their payload (a job number, or the change they make) to the part that
handles them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple

import numpy as np

from sim.calendar import hours_in_horizon
from sim.engine.books import PoolBooks
from sim.engine.clock import new_env
from sim.engine.demand import DemandClaims, serve_hourly
from sim.engine.dispatch import Dispatcher
from sim.engine.eventheap import Call, Env
from sim.engine.jobs import Jobs
from sim.engine.model import DemandServed, EngineInput, EngineRecord, Purchase
from sim.engine.overflow import OverflowDesk
from sim.engine.states import Priority
from sim.engine.strategies import decide, hourly_usage, level_at
from sim.tranches import with_tranches


class Engine:
    """One replication: the parts, built from the input, and the events that drive them."""

    def __init__(self, inp: EngineInput) -> None:
        self.inp = inp
        self.env: Env = new_env()
        # the handlers as bound methods made once: an event scheduled with self.on_x
        # would allocate a new bound method every time
        self.on_arrive_cb: Callable[[Call], None] = self.on_arrive
        env = self.env
        self.H = inp.horizon_hours
        self.jobs = jobs = Jobs(inp.jobs)
        self.pools: list[PoolBooks] = [PoolBooks(spec, env) for spec in inp.pools]
        for pool, spec in zip(self.pools, inp.pools, strict=True):
            pool.first_fit = (spec.placement or inp.placement) == "first-fit"
        self.dispatch = Dispatcher(env, jobs, self.pools, inp)
        self.desk = OverflowDesk(env, jobs, self.dispatch, inp.targets, len(inp.pools))
        # each pool's reserved schedule as (time, units) change points: the input's, with
        # strategies' purchases added as they are made
        self.schedules: list[list[tuple[float, int]]] = [
            list(spec.capacity_changes) for spec in inp.pools
        ]
        self.bought: list[list[tuple[float, float, float]]] = [[] for _ in inp.pools]
        self.purchases: list[Purchase] = []
        self.has_jobs = [False] * len(inp.pools)
        for p in set(jobs.pool):
            self.has_jobs[p] = True
        self.hours = hours_in_horizon(self.H)
        self.served: list[DemandServed | None] = [None] * len(inp.pools)
        self.demand = DemandClaims(
            env,
            self.pools,
            self.dispatch,
            self.desk,
            self.served,
            [p for p, d in enumerate(inp.demand) if d is not None and self.has_jobs[p]],
            len(self.hours),
        )

    def on_arrive(self, ev: Call) -> None:
        j = ev.n
        jobs = self.jobs
        nxt = j + 1
        if nxt < jobs.n:  # arrivals form a chain: each schedules the next
            env = self.env
            env.call_n(jobs.submit[nxt] - env.now, Priority.ARRIVE, self.on_arrive_cb, nxt)
        p = jobs.pool[j]
        self.dispatch.enqueue(p, j)
        self.desk.watch(j)
        self.dispatch.request_place(p, dirty=False)  # at once unless more is due now

    def on_capacity(self, ev: Call) -> None:
        """A contract-year change: pool ``p`` reserves ``units`` (payload ``(p, units)``)."""
        p, units = ev.arg
        if self.bought[p]:  # purchases move the level: read it from the whole schedule
            units = level_at(self.schedules[p], self.env.now)
        self.dispatch.set_reserved(p, units)

    def on_pool_capacity(self, ev: Call) -> None:
        """A purchase starts or ends: pool ``p`` (payload) takes its schedule's level now."""
        p = ev.n
        self.dispatch.set_reserved(p, level_at(self.schedules[p], self.env.now))

    def on_speed(self, ev: Call) -> None:
        """A hardware generation: pool ``p`` runs at ``speed`` (payload ``(p, speed)``)."""
        p, speed = ev.arg
        self.dispatch.speed[p] = speed

    def serve_demand_only(self, p: int) -> DemandServed:
        """Serve pool p's demand (no jobs) from its schedule as it stands, hour by hour."""
        d = self.inp.demand[p]
        assert d is not None
        targets = [(k, self.inp.targets[k]) for k in self.desk.pool_targets[p]]
        return serve_hourly(d, tuple(self.schedules[p]), targets)

    def run_strategies(self) -> None:
        """Run the simulation epoch by epoch: at each decision the engine has run exactly up
        to it, so a decision sees only the past."""
        decisions = sorted(
            (t, i) for i, s in enumerate(self.inp.strategies) for t in s.epochs if t < self.H
        )
        counts = [0] * len(self.inp.strategies)
        for t, i in decisions:
            if t > self.env.now:
                self.env.run(until=t)
            spec = self.inp.strategies[i]
            p = spec.pool
            t0 = max(0.0, t - spec.lookback_hours)
            usage = self.pool_usage(p, t0, t)
            at = t + spec.lead_hours
            held = level_at(self.schedules[p], at)
            k = self.inp.strategies[i].epochs.index(t)
            buy = decide(spec, i, k, t, usage, held, self.pools[p].m)
            if buy is None:
                continue
            counts[i] += 1
            buy = Purchase(i, counts[i], *astuple(buy)[2:])
            self.purchases.append(buy)
            if buy.units > 0:
                self.add_purchase(p, buy)

    def pool_usage(self, p: int, t0: float, t1: float) -> np.ndarray:
        """Hourly usage of pool p over [t0, t1): its jobs running anywhere, its demand served
        on reserved units and on targets."""
        jobs = self.jobs
        jp = np.asarray(jobs.pool[: jobs.n], dtype=np.int64) if jobs.n else None
        start = np.asarray(jobs.start, dtype=float)
        end = np.minimum(np.asarray(jobs.end, dtype=float), t1)
        mine = (jp == p) & (start < t1) & (end > t0) if jp is not None else np.zeros(0, dtype=bool)
        held = np.asarray(jobs.held, dtype=float)
        served = self.served[p]
        demand = None
        if served is not None:
            demand = served.reserved.copy()
            for series in served.targets.values():
                demand = demand + series
        return hourly_usage(t0, t1, start[mine], end[mine], held[mine], demand)

    def add_purchase(self, p: int, buy: Purchase) -> None:
        """Delivered units join pool p's schedule from ``start`` to ``end``."""
        self.bought[p].append((buy.start_hours, buy.end_hours, buy.units))
        self.schedules[p] = list(
            with_tranches(self.inp.pools[p].capacity_changes, self.bought[p], self.H)
        )
        for when in (buy.start_hours, buy.end_hours):
            if when < self.H:
                self.env.call_n(when - self.env.now, Priority.TICK, self.on_pool_capacity, p)
        if self.inp.demand[p] is not None and not self.has_jobs[p]:
            # a demand-only pool is served hour by hour from its schedule: serve it again
            # (the hours before now are unchanged: the purchase starts later)
            self.served[p] = self.serve_demand_only(p)

    def schedule_changes(self) -> None:
        """The input's dated changes as events, each carrying the change it makes."""
        env, H = self.env, self.H
        for p, spec in enumerate(self.inp.pools):
            for t, units in spec.capacity_changes:
                if t <= 0:
                    self.dispatch.set_reserved(p, units)
                elif t < H:
                    env.call(t, Priority.TICK, self.on_capacity, (p, units))
        for p, spec in enumerate(self.inp.pools):
            for t, speed in spec.speed_changes[1:]:
                if t < H:
                    env.call(t, Priority.TICK, self.on_speed, (p, speed))
        for k, target in enumerate(self.inp.targets):
            for when, cap in target.capacity_changes:
                if when < H:
                    env.call(when, Priority.TICK, self.desk.on_target_capacity, (k, cap))

    def run(self) -> EngineRecord:
        for p, d in enumerate(self.inp.demand):
            if d is None:
                continue
            if self.has_jobs[p]:
                z = np.zeros(len(d))
                self.served[p] = DemandServed(
                    d, z.copy(), {k: z.copy() for k in self.desk.pool_targets[p]}, z.copy()
                )
            else:
                self.served[p] = self.serve_demand_only(p)
        self.schedule_changes()
        if self.demand.tick_pools and len(self.hours):
            self.env.call_n(0.0, Priority.TICK, self.demand.on_tick, 0)
        if self.jobs.n:
            self.env.call_n(self.jobs.submit[0], Priority.ARRIVE, self.on_arrive_cb, 0)
        if self.inp.strategies:
            self.run_strategies()
        self.env.run(until=self.H)
        return self.record()

    def record(self) -> EngineRecord:
        jobs = self.jobs
        return EngineRecord(
            horizon_hours=self.H,
            jobs=self.inp.jobs,
            send_hours=np.asarray(jobs.send, dtype=float),
            start_hours=np.asarray(jobs.start, dtype=float),
            end_hours=np.asarray(jobs.end, dtype=float),
            ran_on=np.asarray(jobs.ran_on, dtype=np.int64),
            held_units=np.asarray(jobs.held, dtype=np.int64),
            expired=np.asarray(jobs.expired, dtype=bool),
            reserved_changes=tuple(
                (np.asarray(pl.change_t, dtype=float), np.asarray(pl.change_d, dtype=float))
                for pl in self.pools
            ),
            demand=tuple(self.served),
            schedule=tuple(tuple(s) for s in self.schedules),
            purchases=tuple(self.purchases),
        )


def simulate(inp: EngineInput) -> EngineRecord:
    """Run one replication and return its records."""
    return Engine(inp).run()
