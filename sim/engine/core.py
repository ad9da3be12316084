"""The event core: arrivals, starts and completions wired to SimPy, placement requests,
contract-year capacity and speed changes, and :func:`simulate`."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import astuple

import numpy as np

from sim.calendar import hours_in_horizon
from sim.engine.backfill import EasyBackfill
from sim.engine.clock import Call
from sim.engine.demand import DemandClaims
from sim.engine.model import (
    ARRIVE,
    COMPLETE,
    EXPIRE,
    EXPIRE_NOW,
    PLACE,
    RUNNING,
    TICK,
    WAITING,
    DemandServed,
    EngineInput,
    EngineRecord,
    Purchase,
)
from sim.engine.queues import Fifo, Priority, QueuePolicy
from sim.engine.strategies import decide, hourly_usage, level_at
from sim.tranches import with_tranches

POLICIES: dict[str, type[QueuePolicy]] = {
    "fifo": Fifo,
    "priority": Priority,
    "backfill": EasyBackfill,
}


class _Engine(DemandClaims):
    """One simulation: the parts over one state, and a queue policy per pool."""

    def __init__(self, inp: EngineInput) -> None:
        super().__init__(inp)
        self.queues = [
            POLICIES[spec.queue or inp.queue](self, p) for p, spec in enumerate(inp.pools)
        ]
        self.tracking = [q.tracks_running for q in self.queues]

    def at(self, delay: float, prio: int, fn: Callable[[Call], None], arg: int) -> None:
        Call(self.env, delay, prio, fn, arg)

    def request_place(self, p: int, dirty: bool = True) -> None:
        """Run placement for pool p now if nothing else is due at this instant, else later.

        ``dirty``: capacity or the queue's head may have changed (not just arrivals).
        """
        if dirty:
            self.queues[p].dirty = True
        env = self.env
        if env.peek() <= env.now:
            # something else is due at this instant: place after it (a PLACE event runs
            # after completions, capacity changes, expiries and arrivals of the instant)
            self.place_due.add(p)
            if not self.place_event:
                self.place_event = True
                self.at(0.0, PLACE, self.on_place, -1)
            return
        if self.place_due:
            self.place_due.add(p)
            self.run_placement()
        else:
            self.queues[p].place()

    def on_place(self, ev: Call) -> None:
        self.place_event = False
        self.run_placement()

    def run_placement(self) -> None:
        due = sorted(self.place_due)
        self.place_due.clear()
        for p in due:
            self.queues[p].place()

    def on_arrive(self, ev: Call) -> None:
        env = self.env
        now = env.now
        j = ev.arg
        nxt = j + 1
        if nxt < self.njobs:  # arrivals form a chain: each schedules the next
            Call(env, self.submit[nxt] - now, ARRIVE, self.on_arrive, nxt)
        p = self.jpool[j]
        self.state[j] = WAITING
        self.nwaiting[p] += 1
        self.queues[p].enqueue(j)
        mw = self.maxwait[j]
        if mw < math.inf:
            if mw == 0.0:
                self.at(0.0, EXPIRE_NOW, self.on_expire, j)
            else:
                # waits run out in a heap; one event stands for its earliest entry, so jobs
                # that start before their wait runs out (most of them) cost no event at all
                due = now + mw
                heapq.heappush(self.expiries, (due, j))
                if due < self.armed:
                    self.armed = due
                    self.at(mw, EXPIRE, self.on_expiries, -1)
        if not self.place_due and env.peek() > now:
            self.queues[p].place()  # nothing else due now: place at once (the common case)
        else:
            self.request_place(p, dirty=False)

    def start_reserved(self, p: int, j: int, alloc: object) -> None:
        pool = self.pools[p]
        env = self.env
        now = env.now
        if pool.m == 1:
            assert isinstance(alloc, int)
            pool.free -= alloc
            self.held[j] = alloc
        else:
            self.held[j] = self.take(pool, alloc)
        self.alloc[j] = alloc
        self.state[j] = RUNNING
        self.nwaiting[p] -= 1
        self.send[j] = self.start[j] = now
        d = self.dur[j] / self.speed[p]
        self.end[j] = now + d
        self.ran_on[j] = 0
        if self.tracking[p]:
            self.queues[p].started(j, now + d)
        Call(env, d, COMPLETE, self.on_complete, j)

    def on_complete(self, ev: Call) -> None:
        j = ev.arg
        p = self.jpool[j]
        where = self.ran_on[j]
        if where == 0:
            foreseen = self.tracking[p] and self.queues[p].completed(j)
            pool = self.pools[p]
            if pool.m == 1 and not pool.deficit:
                pool.free += self.held[j]
            else:
                self.release(p, self.alloc[j], self.held[j])
            self.alloc[j] = None
            if self.nwaiting[p]:
                self.request_place(p, dirty=not foreseen)
            else:
                # nothing waits for the pool: no pass could start a job; the next one (at the
                # next arrival) recomputes from scratch, which every pass equals anyway
                self.queues[p].dirty = True
        else:
            self.tused[where - 1] -= self.held[j]
            self.retry_overflow(p)

    def on_capacity(self, ev: Call) -> None:
        p, units = self.changes[ev.arg]
        if self.bought[p]:  # purchases move the level: read it from the whole schedule
            units = level_at(self.schedules[p], self.env.now)
        self.set_reserved(p, units)

    def on_pool_capacity(self, ev: Call) -> None:
        """A purchase starts or ends: pool ``ev.arg`` takes its schedule's level now."""
        p = ev.arg
        self.set_reserved(p, level_at(self.schedules[p], self.env.now))

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
        jp = np.asarray(self.jpool[: self.njobs], dtype=np.int64) if self.njobs else None
        start = np.asarray(self.start, dtype=float)
        end = np.minimum(np.asarray(self.end, dtype=float), t1)
        mine = (jp == p) & (start < t1) & (end > t0) if jp is not None else np.zeros(0, dtype=bool)
        held = np.asarray(self.held, dtype=float)
        served = self.demand_served[p]
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
                self.at(when - self.env.now, TICK, self.on_pool_capacity, p)
        d = self.inp.demand[p]
        if d is not None and not self.has_jobs[p]:
            # a demand-only pool is served hour by hour from its schedule: serve it again
            # (the hours before now are unchanged: the purchase starts later)
            self.demand_served[p] = self.serve_demand_vectorised(p, d)

    def on_speed(self, ev: Call) -> None:
        p, speed = self.speed_events[ev.arg]
        self.speed[p] = speed

    def run(self) -> EngineRecord:
        self.hours = hours_in_horizon(self.H)
        self.bought: list[list[tuple[float, float, float]]] = [[] for _ in self.inp.pools]
        self.purchases: list[Purchase] = []
        for p, d in enumerate(self.inp.demand):
            if d is None:
                continue
            if self.has_jobs[p]:
                z = np.zeros(len(d))
                self.demand_served[p] = DemandServed(
                    d, z.copy(), {k: z.copy() for k in self.pool_targets[p]}, z.copy()
                )
            else:
                self.demand_served[p] = self.serve_demand_vectorised(p, d)
        self.changes = [
            (p, u) for p, spec in enumerate(self.inp.pools) for _, u in spec.capacity_changes
        ]
        i = 0
        for p, spec in enumerate(self.inp.pools):
            for t, units in spec.capacity_changes:
                if t <= 0:
                    self.set_reserved(p, units)
                elif t < self.H:
                    self.at(t, TICK, self.on_capacity, i)
                i += 1
        self.speed = [spec.speed_changes[0][1] for spec in self.inp.pools]
        self.speed_events = [
            (p, v) for p, spec in enumerate(self.inp.pools) for t, v in spec.speed_changes[1:]
        ]
        i = 0
        for spec in self.inp.pools:
            for t, _ in spec.speed_changes[1:]:
                if t < self.H:
                    self.at(t, TICK, self.on_speed, i)
                i += 1
        self.target_events = [
            (k, c) for k, t in enumerate(self.targets) for _, c in t.capacity_changes
        ]
        i = 0
        for target in self.targets:
            for when, _ in target.capacity_changes:
                if when < self.H:
                    self.at(when, TICK, self.on_target_capacity, i)
                i += 1
        if self.tick_pools and len(self.hours):
            self.at(0.0, TICK, self.on_tick, 0)
        if self.submit:
            self.at(self.submit[0], ARRIVE, self.on_arrive, 0)
        if self.inp.strategies:
            self.run_strategies()
        self.env.run(until=self.H)
        return EngineRecord(
            horizon_hours=self.H,
            jobs=self.inp.jobs,
            send_hours=np.asarray(self.send, dtype=float),
            start_hours=np.asarray(self.start, dtype=float),
            end_hours=np.asarray(self.end, dtype=float),
            ran_on=np.asarray(self.ran_on, dtype=np.int64),
            held_units=np.asarray(self.held, dtype=np.int64),
            expired=np.asarray(self.expired, dtype=bool),
            reserved_changes=tuple(
                (np.asarray(pl.change_t, dtype=float), np.asarray(pl.change_d, dtype=float))
                for pl in self.pools
            ),
            demand=tuple(self.demand_served),
            schedule=tuple(tuple(s) for s in self.schedules),
            purchases=tuple(self.purchases),
        )


def simulate(inp: EngineInput) -> EngineRecord:
    """Run one replication and return its records."""
    return _Engine(inp).run()
