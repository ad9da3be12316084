"""The discrete-event engine: jobs against reserved pools and overflow targets.

A SimPy :class:`simpy.Environment` holds the clock and the event heap. The engine is
written in SimPy's callback style (an event per arrival, completion, wait expiry and
capacity change, with its own queues) rather than a process per job: the same event
semantics at several times the speed. Events at one instant run in this order, by
SimPy event priority:

1. completions (``_COMPLETE``),
2. contract-year capacity changes and the hourly demand claim (``_TICK``),
3. jobs whose ``max_wait_hours`` has run out, which overflow (``_EXPIRE``),
4. arrivals (``_ARRIVE``),
5. placement on reserved capacity (done inline once nothing else is due at the
   instant, or as a ``_PLACE`` event),
6. jobs with ``max_wait_hours = 0`` that were not placed, which overflow at once.

The engine only moves state and records change points and per-job times; every
metric is computed afterwards by :mod:`sim.metrics`. It never prints or writes.

Reserved capacity that falls at a contract-year boundary is released from free
units at once; units still busy are released as their jobs end (they stay reserved,
and paid, until then). Running jobs are never preempted.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy
from simpy.events import Event

from sim.distributions import FloatArray
from sim.scenario import HOURS_PER_YEAR
from sim.workload import IntArray, JobStream, hours_in_horizon

_COMPLETE, _TICK, _EXPIRE, _ARRIVE, _PLACE, _EXPIRE_NOW = 1, 2, 3, 4, 5, 6
_PENDING, _WAITING, _RUNNING, _DONE = 0, 1, 2, 3
#: how many queued jobs behind a blocked head EASY backfilling examines per pass
BACKFILL_DEPTH = 256


@dataclass(frozen=True)
class PoolSpec:
    """A pool as the engine sees it."""

    name: str
    instance_units: int
    reserved_by_year: tuple[int, ...]
    """Units reserved in each contract year [unit]."""


@dataclass(frozen=True)
class TargetSpec:
    """An overflow target as the engine sees it (parameters already drawn)."""

    name: str
    pool: int
    capacity: float
    """Most units in use at once [unit]; ``inf`` when unlimited."""
    speed: float
    startup_hours: float


@dataclass(frozen=True, eq=False)
class EngineInput:
    """Everything one replication needs."""

    horizon_hours: float
    pools: tuple[PoolSpec, ...]
    targets: tuple[TargetSpec, ...]
    jobs: JobStream
    demand: tuple[FloatArray | None, ...]
    """Per pool, the total hourly demand of its demand workloads [unit], or None."""
    queue: str = "fifo"
    placement: str = "best-fit"


@dataclass(frozen=True, eq=False)
class DemandServed:
    """How one pool's hourly demand was served, hour by hour [unit]."""

    demand: FloatArray
    reserved: FloatArray
    targets: dict[int, FloatArray]
    """Target index → units served there each hour."""
    unserved: FloatArray


@dataclass(frozen=True, eq=False)
class EngineRecord:
    """What happened in one replication: per-job times and capacity change points."""

    horizon_hours: float
    jobs: JobStream
    send_hours: FloatArray
    """When the job left the queue for a target or reserved units (nan: never) [h]."""
    start_hours: FloatArray
    """When it started running, after any target start-up delay (nan: never) [h]."""
    end_hours: FloatArray
    """When it finished or will finish, possibly past the horizon (nan: never started) [h]."""
    ran_on: IntArray
    """-1 never started, 0 the pool's reserved units, k + 1 overflow target k."""
    held_units: IntArray
    """Units held while running: on an instance-granular pool, whole instances for
    jobs larger than one instance [unit]."""
    expired: NDArray_bool = field(repr=False)
    """True for jobs whose wait ran out (sent, or waiting, for an overflow target)."""
    reserved_changes: tuple[tuple[FloatArray, FloatArray], ...]
    """Per pool, (times [h], change in reserved units [unit]), starting at t = 0."""
    demand: tuple[DemandServed | None, ...]


NDArray_bool = np.ndarray


class _Call(Event):
    """An event that calls ``fn(event)``; ``arg`` carries a job or pool index."""

    def __init__(self, env: simpy.Environment, fn: Callable[[_Call], None], arg: int) -> None:
        self.env = env
        self.callbacks = [fn]
        self._value = None
        self._ok = True
        self.arg = arg


class _Pool:
    """Mutable state of a reserved pool during a run."""

    def __init__(self, spec: PoolSpec) -> None:
        self.m = spec.instance_units
        self.level = 0  # units reserved and paid now, including draining ones
        self.deficit = 0  # units to release as they come free
        self.free = 0.0  # m == 1: free units
        # m > 1: free units per instance (-1 retired) and instances by free level
        self.inst_free: list[int] = []
        self.lev: list[set[int]] = [set() for _ in range(self.m + 1)]
        self.change_t: list[float] = []
        self.change_d: list[float] = []
        self.running: dict[int, float] = {}  # job -> end time, on reserved units
        self.claims: list[tuple[int, int]] = []  # demand claims on instances
        self.claim_units = 0.0  # demand claim on a fungible pool


class _Engine:
    def __init__(self, inp: EngineInput) -> None:
        self.inp = inp
        self.env = simpy.Environment()
        self.H = inp.horizon_hours
        jobs = inp.jobs
        n = len(jobs)
        self.submit: list[float] = jobs.submit_hours.tolist()
        self.units: list[int] = jobs.units.tolist()
        self.dur: list[float] = jobs.duration_hours.tolist()
        self.maxwait: list[float] = jobs.max_wait_hours.tolist()
        self.prio: list[float] = jobs.priority.tolist()
        self.jpool: list[int] = jobs.pool.tolist()
        self.state = [_PENDING] * n
        self.send = [math.nan] * n
        self.start = [math.nan] * n
        self.end = [math.nan] * n
        self.ran_on = [-1] * n
        self.held = [0] * n
        self.expired = [False] * n
        self.alloc: list[object] = [None] * n
        self.pools = [_Pool(p) for p in inp.pools]
        self.targets = inp.targets
        self.tfree = [t.capacity for t in inp.targets]
        self.tclaim = [0.0] * len(inp.targets)
        self.pool_targets: list[list[int]] = [[] for _ in inp.pools]
        for k, t in enumerate(inp.targets):
            self.pool_targets[t.pool].append(k)
        self.queue_kind = inp.queue
        self.first_fit = inp.placement == "first-fit"
        self.fifo: list[deque[int]] = [deque() for _ in inp.pools]
        self.heap: list[list[tuple[float, int]]] = [[] for _ in inp.pools]
        self.blist: list[list[int]] = [[] for _ in inp.pools]
        self.owait: list[list[int]] = [[] for _ in inp.pools]
        self.place_due: set[int] = set()
        self.place_event = False
        self.has_jobs = [False] * len(inp.pools)
        for p in set(self.jpool):
            self.has_jobs[p] = True
        self.demand_served: list[DemandServed | None] = [None] * len(inp.pools)
        self.tick_pools = [
            p for p, d in enumerate(inp.demand) if d is not None and self.has_jobs[p]
        ]

    # ------------------------------------------------------------------ scheduling
    def at(self, delay: float, prio: int, fn: Callable[[_Call], None], arg: int) -> None:
        self.env.schedule(_Call(self.env, fn, arg), prio, delay)  # type: ignore[arg-type]

    def request_place(self, p: int) -> None:
        """Run placement for pool p now if nothing else is due at this instant, else later."""
        self.place_due.add(p)
        q = self.env._queue  # SimPy's heap of (time, priority, id, event)
        if q and q[0][0] <= self.env.now and q[0][1] < _PLACE:
            if not self.place_event:
                self.place_event = True
                self.at(0.0, _PLACE, self.on_place, -1)
            return
        self.run_placement()

    def on_place(self, ev: _Call) -> None:
        self.place_event = False
        self.run_placement()

    def run_placement(self) -> None:
        due = sorted(self.place_due)
        self.place_due.clear()
        for p in due:
            if self.queue_kind == "fifo":
                self.place_fifo(p)
            elif self.queue_kind == "priority":
                self.place_priority(p)
            else:
                self.place_backfill(p)

    # ------------------------------------------------------------------ capacity
    def set_inst_free(self, pool: _Pool, i: int, new: int) -> None:
        old = pool.inst_free[i]
        if old >= 0:
            pool.lev[old].discard(i)
        pool.inst_free[i] = new
        if new >= 0:
            pool.lev[new].add(i)

    def record(self, pool: _Pool, delta: float) -> None:
        pool.level += int(delta)
        pool.change_t.append(self.env.now)
        pool.change_d.append(delta)

    def set_reserved(self, p: int, units: int) -> None:
        """Move pool p's nominal reservation to ``units``."""
        pool = self.pools[p]
        diff = units - (pool.level - pool.deficit)
        if diff > 0:
            keep = min(pool.deficit, diff)
            pool.deficit -= keep
            diff -= keep
            if diff:
                self.record(pool, diff)
                if pool.m == 1:
                    pool.free += diff
                else:
                    for _ in range(diff // pool.m):
                        pool.inst_free.append(-1)
                        self.set_inst_free(pool, len(pool.inst_free) - 1, pool.m)
            self.request_place(p)
        elif diff < 0:
            need = -diff
            if pool.m == 1:
                take = min(int(pool.free), need)
                pool.free -= take
            else:
                whole = sorted(pool.lev[pool.m], reverse=True)[: need // pool.m]
                for i in whole:
                    self.set_inst_free(pool, i, -1)
                take = len(whole) * pool.m
            if take:
                self.record(pool, -take)
            pool.deficit += need - take

    def release(self, p: int, alloc: object, units: float) -> None:
        """Give back reserved units; retire them instead while a decrease is pending."""
        pool = self.pools[p]
        if pool.m == 1:
            if pool.deficit:
                r = min(pool.deficit, int(units))
                pool.deficit -= r
                self.record(pool, -r)
                units -= r
            pool.free += units
            return
        assert isinstance(alloc, list)
        for i, u in alloc:
            new = pool.inst_free[i] + u
            if new == pool.m and pool.deficit >= pool.m:
                pool.deficit -= pool.m
                self.set_inst_free(pool, i, -1)
                self.record(pool, -pool.m)
            else:
                self.set_inst_free(pool, i, new)

    def fit(self, pool: _Pool, u: int) -> object:
        """An allocation for u units now, or None. Does not change state."""
        if pool.m == 1:
            return u if u <= pool.free else None
        m = pool.m
        if u <= m:
            if self.first_fit:
                best = -1
                for level in range(u, m + 1):
                    s = pool.lev[level]
                    if s:
                        c = min(s)
                        if best < 0 or c < best:
                            best = c
                return None if best < 0 else [(best, u)]
            for level in range(u, m + 1):
                s = pool.lev[level]
                if s:
                    return [(next(iter(s)), u)]
            return None
        k = -(-u // m)
        s = pool.lev[m]
        if len(s) < k:
            return None
        chosen = sorted(s)[:k] if self.first_fit else [i for i, _ in zip(s, range(k), strict=False)]
        return [(i, m) for i in chosen]

    def take(self, pool: _Pool, alloc: object) -> int:
        if pool.m == 1:
            assert isinstance(alloc, int)
            pool.free -= alloc
            return alloc
        assert isinstance(alloc, list)
        held = 0
        for i, u in alloc:
            self.set_inst_free(pool, i, pool.inst_free[i] - u)
            held += u
        return held

    # ------------------------------------------------------------------ job life
    def on_arrive(self, ev: _Call) -> None:
        j = ev.arg
        nxt = j + 1
        if nxt < len(self.submit):
            self.at(self.submit[nxt] - self.env.now, _ARRIVE, self.on_arrive, nxt)
        p = self.jpool[j]
        self.state[j] = _WAITING
        kind = self.queue_kind
        if kind == "fifo":
            self.fifo[p].append(j)
        elif kind == "priority":
            heapq.heappush(self.heap[p], (self.prio[j], j))
        else:
            self.blist[p].append(j)
        mw = self.maxwait[j]
        if mw == 0.0:
            self.at(0.0, _EXPIRE_NOW, self.on_expire, j)
        elif mw < math.inf:
            self.at(mw, _EXPIRE, self.on_expire, j)
        self.request_place(p)

    def start_reserved(self, p: int, j: int, alloc: object) -> None:
        pool = self.pools[p]
        now = self.env.now
        self.held[j] = self.take(pool, alloc)
        self.alloc[j] = alloc
        self.state[j] = _RUNNING
        self.send[j] = self.start[j] = now
        end = now + self.dur[j]
        self.end[j] = end
        self.ran_on[j] = 0
        pool.running[j] = end
        self.at(self.dur[j], _COMPLETE, self.on_complete, j)

    def try_targets(self, j: int) -> bool:
        u = self.units[j]
        for k in self.pool_targets[self.jpool[j]]:
            if self.tfree[k] >= u:
                t = self.targets[k]
                now = self.env.now
                self.tfree[k] -= u
                self.state[j] = _RUNNING
                self.held[j] = u
                self.send[j] = now
                self.start[j] = now + t.startup_hours
                self.end[j] = self.start[j] + self.dur[j] / t.speed
                self.ran_on[j] = k + 1
                self.at(self.end[j] - now, _COMPLETE, self.on_complete, j)
                return True
        return False

    def on_expire(self, ev: _Call) -> None:
        j = ev.arg
        if self.state[j] != _WAITING:
            return
        self.expired[j] = True
        if not self.try_targets(j):
            self.owait[self.jpool[j]].append(j)

    def on_complete(self, ev: _Call) -> None:
        j = ev.arg
        self.state[j] = _DONE
        p = self.jpool[j]
        where = self.ran_on[j]
        if where == 0:
            del self.pools[p].running[j]
            self.release(p, self.alloc[j], self.held[j])
            self.alloc[j] = None
            self.request_place(p)
        else:
            self.tfree[where - 1] += self.held[j]
            self.retry_overflow(p)

    def retry_overflow(self, p: int) -> None:
        waiting = self.owait[p]
        if not waiting:
            return
        keep = []
        for j in waiting:
            if self.state[j] == _WAITING and not self.try_targets(j):
                keep.append(j)
        self.owait[p] = keep

    # ------------------------------------------------------------------ queues
    def place_fifo(self, p: int) -> None:
        q = self.fifo[p]
        pool = self.pools[p]
        state = self.state
        while q:
            j = q[0]
            if state[j] != _WAITING:
                q.popleft()
                continue
            alloc = self.fit(pool, self.units[j])
            if alloc is None:
                return
            q.popleft()
            self.start_reserved(p, j, alloc)

    def place_priority(self, p: int) -> None:
        h = self.heap[p]
        pool = self.pools[p]
        while h:
            j = h[0][1]
            if self.state[j] != _WAITING:
                heapq.heappop(h)
                continue
            alloc = self.fit(pool, self.units[j])
            if alloc is None:
                return
            heapq.heappop(h)
            self.start_reserved(p, j, alloc)

    def place_backfill(self, p: int) -> None:
        """FIFO with EASY backfilling: later jobs may start if they do not delay the head."""
        q = [j for j in self.blist[p] if self.state[j] == _WAITING]
        pool = self.pools[p]
        i = 0
        while i < len(q):
            alloc = self.fit(pool, self.units[q[i]])
            if alloc is None:
                break
            self.start_reserved(p, q[i], alloc)
            i += 1
        q = q[i:]
        self.blist[p] = q
        if len(q) < 2:
            return
        head = q[0]
        shadow = self.shadow_time(p, head)
        started = []
        now = self.env.now
        for j in q[1 : 1 + BACKFILL_DEPTH]:
            alloc = self.fit(pool, self.units[j])
            if alloc is None:
                continue
            if now + self.dur[j] <= shadow or self.head_fits_at(p, head, shadow, alloc):
                self.start_reserved(p, j, alloc)
                started.append(j)
        if started:
            gone = set(started)
            self.blist[p] = [j for j in q if j not in gone]

    def _free_snapshot(self, pool: _Pool) -> list[int] | float:
        return pool.free if pool.m == 1 else list(pool.inst_free)

    def _fits_snapshot(self, pool: _Pool, snap: list[int] | float, u: int) -> bool:
        if pool.m == 1:
            assert isinstance(snap, float | int)
            return u <= snap
        assert isinstance(snap, list)
        if u <= pool.m:
            return any(f >= u for f in snap)
        return sum(1 for f in snap if f == pool.m) >= -(-u // pool.m)

    def _release_snapshot(self, pool: _Pool, snap: list[int] | float, j: int) -> list[int] | float:
        if pool.m == 1:
            assert isinstance(snap, float | int)
            return snap + self.held[j]
        assert isinstance(snap, list)
        alloc = self.alloc[j]
        assert isinstance(alloc, list)
        for i, u in alloc:
            if snap[i] >= 0:
                snap[i] += u
        return snap

    def shadow_time(self, p: int, head: int) -> float:
        """Earliest time the head fits as running jobs end (inf if it never does)."""
        pool = self.pools[p]
        snap = self._free_snapshot(pool)
        u = self.units[head]
        for end, j in sorted((e, j) for j, e in pool.running.items()):
            snap = self._release_snapshot(pool, snap, j)
            if self._fits_snapshot(pool, snap, u):
                return end
        return math.inf

    def head_fits_at(self, p: int, head: int, shadow: float, alloc: object) -> bool:
        """Whether the head still fits at ``shadow`` if a job takes ``alloc`` now and runs on."""
        if shadow == math.inf:
            return False
        pool = self.pools[p]
        snap = self._free_snapshot(pool)
        if pool.m == 1:
            assert isinstance(alloc, int)
            snap = float(snap) - alloc  # type: ignore[arg-type]
        else:
            assert isinstance(snap, list) and isinstance(alloc, list)
            for i, u in alloc:
                snap[i] -= u
        for j, e in pool.running.items():
            if e <= shadow:
                snap = self._release_snapshot(pool, snap, j)
        return self._fits_snapshot(pool, snap, self.units[head])

    # ------------------------------------------------------------------ demand and years
    def on_year(self, ev: _Call) -> None:
        year = ev.arg
        for p, spec in enumerate(self.inp.pools):
            self.set_reserved(p, spec.reserved_by_year[min(year, len(spec.reserved_by_year) - 1)])

    def on_tick(self, ev: _Call) -> None:
        h = ev.arg
        if h + 1 < len(self.hours):
            self.at(1.0, _TICK, self.on_tick, h + 1)
        for p in self.tick_pools:
            pool = self.pools[p]
            served = self.demand_served[p]
            assert served is not None
            # give back last hour's claims
            if pool.m == 1:
                if pool.claim_units:
                    self.release(p, None, pool.claim_units)
                    pool.claim_units = 0.0
            elif pool.claims:
                self.release(p, pool.claims, 0)
                pool.claims = []
            for k in self.pool_targets[p]:
                self.tfree[k] += self.tclaim[k]
                self.tclaim[k] = 0.0
            want = served.demand[h]
            if pool.m == 1:
                got = min(want, max(pool.free, 0.0))
                pool.free -= got
                pool.claim_units = got
            else:
                need = math.ceil(want - 1e-9)
                got = 0.0
                for level in range(1, pool.m + 1):
                    while need > 0 and pool.lev[level]:
                        i = min(pool.lev[level])
                        c = min(level, need)
                        self.set_inst_free(pool, i, level - c)
                        pool.claims.append((i, c))
                        need -= c
                        got += c
                got = min(got, want)
            served.reserved[h] = got
            rest = want - got
            for k in self.pool_targets[p]:
                c = min(rest, self.tfree[k])
                if c > 0:
                    self.tfree[k] -= c
                    self.tclaim[k] = c
                    served.targets[k][h] = c
                    rest -= c
            served.unserved[h] = rest
            self.request_place(p)
            self.retry_overflow(p)

    def serve_demand_vectorised(self, p: int, demand: FloatArray) -> DemandServed:
        """A pool with demand and no jobs: every hour is independent, so use numpy."""
        spec = self.inp.pools[p]
        n = len(demand)
        year = np.minimum(
            (np.arange(n) // HOURS_PER_YEAR).astype(int), len(spec.reserved_by_year) - 1
        )
        cap = np.asarray(spec.reserved_by_year, dtype=float)[year]
        reserved = np.minimum(demand, cap)
        rest = demand - reserved
        targets = {}
        for k in self.pool_targets[p]:
            c = np.minimum(rest, self.targets[k].capacity)
            targets[k] = c
            rest = rest - c
        return DemandServed(demand, reserved, targets, rest)

    # ------------------------------------------------------------------ run
    def run(self) -> EngineRecord:
        self.hours = hours_in_horizon(self.H)
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
        for p, spec in enumerate(self.inp.pools):
            self.set_reserved(p, spec.reserved_by_year[0])
        for year in range(1, math.ceil(self.H / HOURS_PER_YEAR - 1e-9)):
            self.at(year * HOURS_PER_YEAR, _TICK, self.on_year, year)
        if self.tick_pools and len(self.hours):
            self.at(0.0, _TICK, self.on_tick, 0)
        if self.submit:
            self.at(self.submit[0], _ARRIVE, self.on_arrive, 0)
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
        )


def simulate(inp: EngineInput) -> EngineRecord:
    """Run one replication and return its records."""
    return _Engine(inp).run()
