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
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray
from simpy.events import NORMAL, Event, Timeout

from sim.calendar import hours_in_horizon
from sim.distributions import FloatArray
from sim.workload import IntArray, JobStream

_COMPLETE, _TICK, _EXPIRE, _ARRIVE, _PLACE, _EXPIRE_NOW = 1, 2, 3, 4, 5, 6
_PENDING, _WAITING, _RUNNING, _DONE = 0, 1, 2, 3


@dataclass(frozen=True)
class PoolSpec:
    """A pool as the engine sees it."""

    name: str
    instance_units: int
    capacity_changes: tuple[tuple[float, int], ...]
    """(time [h], units reserved and delivered from then on), the first at t = 0."""
    speed_changes: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    """(time [h], speed of the pool's hardware from then on), the first at t = 0."""


@dataclass(frozen=True)
class TargetSpec:
    """An overflow target as the engine sees it (parameters already drawn)."""

    name: str
    pool: int
    capacity: float
    """Most units in use at once [unit]; ``inf`` when unlimited."""
    speed: float
    startup_hours: float
    capacity_changes: tuple[tuple[float, float], ...] = ()
    """(time [h], capacity from then on) after t = 0: windows without new work."""


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
    backfill_depth: int = 100
    """How many queue places behind a blocked head backfilling examines per pass."""
    backfill_reference: bool = False
    """Recompute the head's reservation and rescan the queue at every placement pass (the
    plain EASY algorithm), instead of the incremental books: slower, for tests."""


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
    expired: NDArray[np.bool_] = field(repr=False)
    """True for jobs whose wait ran out (sent, or waiting, for an overflow target)."""
    reserved_changes: tuple[tuple[FloatArray, FloatArray], ...]
    """Per pool, (times [h], change in units held [unit]), starting at t = 0: the schedule,
    plus units still busy after the schedule fell (the overhang) until they drain."""
    demand: tuple[DemandServed | None, ...]
    schedule: tuple[tuple[tuple[float, int], ...], ...] = ()
    """Per pool, the delivered schedule as (time [h], units from then on) change points."""


class _Call(Timeout):
    """A timeout that calls ``fn(event)`` when processed, at the engine's priority ``prio``
    among the events of its instant; ``arg`` carries a job or pool index."""

    def __init__(
        self, env: simpy.Environment, delay: float, prio: int, fn: Callable[[_Call], None], arg: int
    ) -> None:
        self.prio = prio
        self.arg = arg
        _timeout_init(self, env, delay)
        self.callbacks.append(fn)


class _Env(simpy.Environment):
    """SimPy's environment, scheduling each :class:`_Call` at its own priority.

    SimPy orders the events of one instant by priority, then by scheduling order; its
    public ``schedule`` takes the priority, which a timeout otherwise leaves at NORMAL.
    """

    def schedule(self, event: Event, priority: Any = NORMAL, delay: Any = 0) -> None:
        # a timeout asks for NORMAL; every NORMAL event here is a _Call (SimPy's own events,
        # such as run()'s ``until``, are URGENT)
        _schedule(self, event, event.prio if priority is NORMAL else priority, delay)  # type: ignore[attr-defined]


_timeout_init = Timeout.__init__
_schedule = simpy.Environment.schedule


class _Shadow:
    """Free capacity at a blocked head's shadow time, kept as changes to the current state.

    ``delta[i]`` is what instance ``i`` (or the single fungible "instance" 0) gets back
    between now and the shadow time. ``whole`` counts instances wholly free then, and
    ``ge`` those with at least the head's units free, so each check is O(1).
    """

    def __init__(self, units: int, pool: _Pool) -> None:
        self.pool = pool
        self.units = units
        self.time = math.inf
        self.delta: dict[int, float] = {}
        m = pool.m
        if m == 1:
            self.need = float(units)
            self.whole = 0
            self.ge = 0
        else:
            self.need = float(-(-units // m)) if units > m else 1.0
            self.whole = pool.lev[m].bit_count()
            self.ge = sum(pool.lev[level].bit_count() for level in range(min(units, m), m + 1))

    def free_at(self, i: int) -> float:
        pool = self.pool
        base = pool.free if pool.m == 1 else pool.inst_free[i]
        return base + self.delta.get(i, 0.0)

    def _change(self, i: int, du: float) -> None:
        pool = self.pool
        if pool.m > 1 and pool.inst_free[i] < 0:
            return  # retired while draining: gives nothing back
        old = self.free_at(i)
        new = old + du
        self.delta[i] = self.delta.get(i, 0.0) + du
        if pool.m > 1:
            self.whole += (new == pool.m) - (old == pool.m)
            u = min(self.units, pool.m)
            self.ge += (new >= u) - (old >= u)

    def release(self, alloc: object) -> None:
        """A job holding ``alloc`` now will have ended by the shadow time."""
        if isinstance(alloc, list):
            m = self.pool.m
            if alloc[0][1] == m:
                # whole instances, held by this job alone: they come back wholly free. No job
                # placed now can use them, so their per-instance books are never read.
                self.whole += len(alloc)
                self.ge += len(alloc)
                return
            for i, u in alloc:
                self._change(i, u)
        else:
            assert isinstance(alloc, int | float)
            self._change(0, alloc)

    def forget(self, alloc: object) -> None:
        """A job released in these books has ended: its units are now in the live state."""
        if isinstance(alloc, list):
            delta = self.delta
            if alloc[0][1] == self.pool.m:
                return  # whole instances: counted, never booked per instance
            for i, u in alloc:
                delta[i] -= u
        else:
            assert isinstance(alloc, int | float)
            self.delta[0] -= alloc

    def fits(self) -> bool:
        if self.pool.m == 1:
            return self.free_at(0) >= self.need
        return (self.whole if self.units > self.pool.m else self.ge) >= self.need

    def take(self, alloc: object) -> bool:
        """Whether the head still fits if a job takes ``alloc`` now and runs past the shadow
        time; if so, book it (the caller takes the units from the pool right after)."""
        if self.time == math.inf:
            return False
        pool = self.pool
        if pool.m == 1:
            assert isinstance(alloc, int | float)
            return self.free_at(0) - alloc >= self.need
        assert isinstance(alloc, list)
        whole, ge, u = self.whole, self.ge, min(self.units, pool.m)
        if alloc[0][1] == pool.m:
            # whole instances are wholly free now and have no books (nothing on them ends by
            # the shadow time), so each was whole then too: O(1) instead of a loop
            whole -= len(alloc)
            ge -= len(alloc)
        else:
            for i, a in alloc:
                f = self.free_at(i)
                whole -= (f == pool.m) - (f - a == pool.m)
                ge -= (f >= u) - (f - a >= u)
        if (whole if self.units > pool.m else ge) < self.need:
            return False
        self.whole, self.ge = whole, ge
        return True

    def can_take_whole(self, k: int) -> bool:
        """Whether the head still fits if k whole instances are taken past the shadow time."""
        if self.time == math.inf:
            return False
        return (self.whole if self.units > self.pool.m else self.ge) - k >= self.need

    def lend(self, alloc: object) -> None:
        """A job takes ``alloc`` now and gives it back before the shadow time: the free
        units at the shadow time do not change (the books offset the live take)."""
        if isinstance(alloc, list):
            if alloc[0][1] == self.pool.m:
                return  # whole instances: no later candidate can be placed on them before
                # they end, so they need no books (see take and forget)
            for i, u in alloc:
                self.delta[i] = self.delta.get(i, 0.0) + u
        else:
            assert isinstance(alloc, int | float)
            self.delta[0] = self.delta.get(0, 0.0) + alloc


class _Pool:
    """Mutable state of a reserved pool during a run."""

    def __init__(self, spec: PoolSpec) -> None:
        self.m = spec.instance_units
        self.level = 0  # units reserved and paid now, including draining ones
        self.deficit = 0  # units to release as they come free
        self.free = 0.0  # free units (m > 1: the sum over instances)
        # m > 1: free units per instance (-1 retired) and instances by free level
        self.inst_free: list[int] = []
        # bit i of lev[k] is set when instance i has exactly k units free: the lowest set bit
        # is the lowest-numbered instance at that level (ties go to it, as in Slurm)
        self.lev: list[int] = [0] * (self.m + 1)
        self.change_t: list[float] = []
        self.change_d: list[float] = []
        self.running: dict[int, float] = {}  # job -> end time, on reserved units
        # the same jobs as (end, job), kept sorted: the shadow reads them in end order
        # without sorting at every pass (the order is sorted()'s, so results are identical)
        self.by_end: list[tuple[float, int]] = []
        self.claims: list[tuple[int, int]] = []  # demand claims on instances
        self.claim_units = 0.0  # demand claim on a fungible pool


class _Engine:
    def __init__(self, inp: EngineInput) -> None:
        self.inp = inp
        self.env = _Env()
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
        # per target: capacity now (inf: unlimited; 0 while unavailable), whole units held by
        # jobs, units claimed by this hour's demand. Room = capacity − used − claimed: counts
        # are kept apart so that an unlimited target never loses units to rounding.
        self.tcap = [t.capacity for t in inp.targets]
        self.tused = [0] * len(inp.targets)
        self.tclaim = [0.0] * len(inp.targets)
        self.pool_targets: list[list[int]] = [[] for _ in inp.pools]
        for k, t in enumerate(inp.targets):
            self.pool_targets[t.pool].append(k)
        self.queue_kind = inp.queue
        self.first_fit = inp.placement == "first-fit"
        self.depth = inp.backfill_depth
        self.placer = {
            "fifo": self.place_fifo,
            "priority": self.place_priority,
            "backfill": self.place_backfill,
        }[inp.queue]
        self.enqueue = {
            "fifo": self.enqueue_fifo,
            "priority": self.enqueue_priority,
            "backfill": self.enqueue_backfill,
        }[inp.queue]
        self.backfill = inp.queue == "backfill"
        self.njobs = n
        self.fifo: list[deque[int]] = [deque() for _ in inp.pools]
        self.heap: list[list[tuple[float, int]]] = [[] for _ in inp.pools]
        self.blist: list[list[int]] = [[] for _ in inp.pools]
        self.bhead = [0] * len(inp.pools)
        self.dirty = [True] * len(inp.pools)
        self.freed = [False] * len(inp.pools)
        # a job was backfilled since the last scan: a job rejected before it may fit now
        self.rescan = [False] * len(inp.pools)
        self.nwaiting = [0] * len(inp.pools)  # jobs waiting for the pool (backfill's window)
        self.fresh: list[list[int]] = [[] for _ in inp.pools]
        self.ctx: list[_Shadow | None] = [None] * len(inp.pools)
        # jobs waiting for an overflow target: size -> (expiry order, job), per pool
        self.owait: list[dict[int, deque[tuple[int, int]]]] = [{} for _ in inp.pools]
        self.owait_seq = 0
        self.place_due: set[int] = set()
        self.expiries: list[tuple[float, int]] = []
        self.armed = math.inf  # time of the pending expiry event
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
        _Call(self.env, delay, prio, fn, arg)

    def request_place(self, p: int, dirty: bool = True) -> None:
        """Run placement for pool p now if nothing else is due at this instant, else later.

        ``dirty``: capacity or the queue's head may have changed (not just arrivals).
        """
        if dirty:
            self.dirty[p] = True
        env = self.env
        if env.peek() <= env.now:
            # something else is due at this instant: place after it (a _PLACE event runs
            # after completions, capacity changes, expiries and arrivals of the instant)
            self.place_due.add(p)
            if not self.place_event:
                self.place_event = True
                self.at(0.0, _PLACE, self.on_place, -1)
            return
        if self.place_due:
            self.place_due.add(p)
            self.run_placement()
        else:
            self.placer(p)

    def on_place(self, ev: _Call) -> None:
        self.place_event = False
        self.run_placement()

    def run_placement(self) -> None:
        due = sorted(self.place_due)
        self.place_due.clear()
        for p in due:
            self.placer(p)

    # ------------------------------------------------------------------ capacity
    def set_inst_free(self, pool: _Pool, i: int, new: int) -> None:
        old = pool.inst_free[i]
        bit = 1 << i
        if old >= 0:
            pool.lev[old] ^= bit
            pool.free -= old
        pool.inst_free[i] = new
        if new >= 0:
            pool.lev[new] |= bit
            pool.free += new

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
                # retire the highest-numbered wholly free instances
                n_whole = 0
                while n_whole < need // pool.m and pool.lev[pool.m]:
                    self.set_inst_free(pool, pool.lev[pool.m].bit_length() - 1, -1)
                    n_whole += 1
                take = n_whole * pool.m
            if take:
                self.record(pool, -take)
            pool.deficit += need - take
            self.dirty[p] = True

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
        m = pool.m
        if len(alloc) > 1 and not pool.deficit and all(u == m for _, u in alloc):
            # whole instances (a job larger than one): move them back as a set at C speed
            mask = 0
            inst_free = pool.inst_free
            for i, _ in alloc:
                mask |= 1 << i
                inst_free[i] = m
            pool.lev[0] ^= mask
            pool.lev[m] |= mask
            pool.free += m * len(alloc)
            return
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
        lev = pool.lev
        if u <= m:
            if self.first_fit:  # the lowest-numbered instance with room
                s = 0
                for level in range(u, m + 1):
                    s |= lev[level]
                return [((s & -s).bit_length() - 1, u)] if s else None
            for level in range(u, m + 1):  # the fewest free units that fit, lowest number
                s = lev[level]
                if s:
                    return [((s & -s).bit_length() - 1, u)]
            return None
        # whole instances: the k lowest-numbered wholly free ones
        k = -(-u // m)
        s = lev[m]
        if s.bit_count() < k:
            return None
        chosen = []
        for _ in range(k):
            low = s & -s
            chosen.append((low.bit_length() - 1, m))
            s ^= low
        return chosen

    def take(self, pool: _Pool, alloc: object) -> int:
        if pool.m == 1:
            assert isinstance(alloc, int)
            pool.free -= alloc
            return alloc
        assert isinstance(alloc, list)
        if len(alloc) > 1 and all(u == pool.m for _, u in alloc):
            # whole instances, all wholly free now: move them as a set at C speed
            mask = 0
            inst_free = pool.inst_free
            for i, _ in alloc:
                mask |= 1 << i
                inst_free[i] = 0
            pool.lev[pool.m] ^= mask
            pool.lev[0] |= mask
            pool.free -= pool.m * len(alloc)
            return pool.m * len(alloc)
        held = 0
        for i, u in alloc:
            self.set_inst_free(pool, i, pool.inst_free[i] - u)
            held += u
        return held

    # ------------------------------------------------------------------ job life
    def on_arrive(self, ev: _Call) -> None:
        env = self.env
        now = env.now
        j = ev.arg
        nxt = j + 1
        if nxt < self.njobs:  # arrivals form a chain: each schedules the next
            _Call(env, self.submit[nxt] - now, _ARRIVE, self.on_arrive, nxt)
        p = self.jpool[j]
        self.state[j] = _WAITING
        self.nwaiting[p] += 1
        self.enqueue(p, j)
        mw = self.maxwait[j]
        if mw < math.inf:
            if mw == 0.0:
                self.at(0.0, _EXPIRE_NOW, self.on_expire, j)
            else:
                # waits run out in a heap; one event stands for its earliest entry, so jobs
                # that start before their wait runs out (most of them) cost no event at all
                due = now + mw
                heapq.heappush(self.expiries, (due, j))
                if due < self.armed:
                    self.armed = due
                    self.at(mw, _EXPIRE, self.on_expiries, -1)
        if not self.place_due and env.peek() > now:
            self.placer(p)  # nothing else due now: place at once (the common case)
        else:
            self.request_place(p, dirty=False)

    def enqueue_fifo(self, p: int, j: int) -> None:
        self.fifo[p].append(j)

    def enqueue_priority(self, p: int, j: int) -> None:
        heapq.heappush(self.heap[p], (self.prio[j], j))

    def enqueue_backfill(self, p: int, j: int) -> None:
        self.blist[p].append(j)
        self.fresh[p].append(j)

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
        self.state[j] = _RUNNING
        self.nwaiting[p] -= 1
        self.send[j] = self.start[j] = now
        d = self.dur[j] / self.speed[p]
        self.end[j] = now + d
        self.ran_on[j] = 0
        if self.backfill:
            pool.running[j] = now + d
            insort(pool.by_end, (now + d, j))
        _Call(env, d, _COMPLETE, self.on_complete, j)

    def try_targets(self, j: int) -> bool:
        u = self.units[j]
        for k in self.pool_targets[self.jpool[j]]:
            if self.room(k) >= u:
                t = self.targets[k]
                now = self.env.now
                self.tused[k] += u
                self.state[j] = _RUNNING
                self.nwaiting[self.jpool[j]] -= 1
                self.held[j] = u
                self.send[j] = now
                self.start[j] = now + t.startup_hours
                self.end[j] = self.start[j] + self.dur[j] / t.speed
                self.ran_on[j] = k + 1
                self.at(self.end[j] - now, _COMPLETE, self.on_complete, j)
                self.request_place(self.jpool[j])  # it may have been the queue's head
                return True
        return False

    def on_expire(self, ev: _Call) -> None:
        self.expire(ev.arg)

    def expire(self, j: int) -> None:
        if self.state[j] != _WAITING:
            return
        self.expired[j] = True
        p = self.jpool[j]
        if not self.try_targets(j) and self.pool_targets[p]:
            # retried whenever a target frees room (see retry_overflow)
            self.owait_seq += 1
            self.owait[p].setdefault(self.units[j], deque()).append((self.owait_seq, j))

    def on_expiries(self, ev: _Call) -> None:
        now = self.env.now
        if now >= self.armed:
            self.armed = math.inf
        h = self.expiries
        state = self.state
        while h and h[0][0] <= now:
            j = heapq.heappop(h)[1]
            if state[j] == _WAITING:
                self.expire(j)
        while h and state[h[0][1]] != _WAITING:
            heapq.heappop(h)  # started before its wait ran out
        if h and h[0][0] < self.armed:
            self.armed = h[0][0]
            self.at(self.armed - now, _EXPIRE, self.on_expiries, -1)

    def on_complete(self, ev: _Call) -> None:
        j = ev.arg
        self.state[j] = _DONE
        p = self.jpool[j]
        where = self.ran_on[j]
        if where == 0:
            foreseen = False
            if self.backfill:
                pool_ = self.pools[p]
                e = pool_.running.pop(j)
                del pool_.by_end[bisect_left(pool_.by_end, (e, j))]
                ctx = self.ctx[p]
                foreseen = ctx is not None and self.env.now < ctx.time and not self.pools[p].deficit
                if foreseen:
                    assert ctx is not None
                    ctx.forget(self.alloc[j])
                    self.freed[p] = True
            pool = self.pools[p]
            if pool.m == 1 and not pool.deficit:
                pool.free += self.held[j]
            else:
                self.release(p, self.alloc[j], self.held[j])
            self.alloc[j] = None
            self.request_place(p, dirty=not foreseen)
        else:
            self.tused[where - 1] -= self.held[j]
            self.retry_overflow(p)

    def room(self, k: int) -> float:
        """Units target k can take now (inf: unlimited; <= 0 while unavailable)."""
        return self.tcap[k] - self.tused[k] - self.tclaim[k]

    def retry_overflow(self, p: int) -> None:
        """Send waiting jobs to targets that now have room, earliest-expired first.

        Jobs wait in buckets by size, each in expiry order, so a pass costs O(jobs sent ×
        sizes) rather than O(jobs waiting): the next job sent is always the earliest one
        that fits, exactly as a scan of one list in expiry order would pick.
        """
        buckets = self.owait[p]
        if not buckets:
            return
        targets = self.pool_targets[p]
        state = self.state
        room = max(self.room(k) for k in targets)
        while True:
            best_seq, best_u = -1, -1
            for u, dq in buckets.items():
                if u > room:
                    continue
                while dq and state[dq[0][1]] != _WAITING:
                    dq.popleft()  # started on reserved units meanwhile
                if dq and (best_u < 0 or dq[0][0] < best_seq):
                    best_seq, best_u = dq[0][0], u
            if best_u < 0:
                return
            j = buckets[best_u].popleft()[1]
            self.try_targets(j)
            room = max(self.room(k) for k in targets)

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
            u = self.units[j]
            if pool.m == 1:
                if u > pool.free:
                    return
                alloc: object = u
            else:
                alloc = self.fit(pool, u)
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
        """FIFO with EASY backfilling: later jobs may start if they do not delay the head.

        The head gets a reservation at its *shadow time*, the earliest time it fits as
        running jobs end (by their known end times). A job among the ``backfill_depth``
        waiting jobs behind the head may start now if it fits and either ends by the shadow
        time or leaves the head's reservation intact; the window is scanned once, in queue
        order, at every pass.

        The books are incremental but equal to that full recomputation at every pass: the
        reservation is kept while nothing but arrivals, foreseen completions and backfills
        changed (none of these moves the shadow time or the free units at it), and only
        the new arrivals are examined when nothing else changed since a scan that started
        no job (every job it rejected would be rejected again on the same state). Any other
        change recomputes. ``EngineInput.backfill_reference`` recomputes every time.
        """
        pool = self.pools[p]
        q = self.blist[p]
        state = self.state
        fresh = self.fresh[p]
        self.fresh[p] = []
        freed = self.freed[p]
        self.freed[p] = False
        rescan = self.rescan[p]
        self.rescan[p] = False
        if self.inp.backfill_reference:
            self.dirty[p] = True
        if not self.dirty[p] and self.ctx[p] is not None:
            if not freed and not rescan:
                waiting = [j for j in fresh if state[j] == _WAITING]
                # waiting jobs behind the head ahead of the first new one: the window holds
                # the first ``depth`` waiting jobs behind the head
                ahead = self.nwaiting[p] - 1 - len(waiting)
                for r, j in enumerate(waiting):
                    if ahead + r >= self.depth:
                        break
                    self.try_backfill(p, j)
                return
            # units came back exactly as the reservation foresaw, or a backfill moved where
            # jobs fit: keep the reservation and rescan, unless the head itself fits now
            if self.fit(pool, self.units[q[self.bhead[p]]]) is None:
                self.scan_backfill(p, self.bhead[p])
                return
        self.dirty[p] = False
        i = self.bhead[p]
        while i < len(q):
            j = q[i]
            if state[j] != _WAITING:
                i += 1
                continue
            alloc = self.fit(pool, self.units[j])
            if alloc is None:
                break
            self.start_reserved(p, j, alloc)
            i += 1
        if i > 512 and 2 * i > len(q):
            del q[:i]
            i = 0
        self.bhead[p] = i
        if i >= len(q):
            self.ctx[p] = None
            return
        self.ctx[p] = self.shadow(p, q[i])
        self.scan_backfill(p, i)

    def scan_backfill(self, p: int, i: int) -> None:
        """Try the first ``depth`` waiting jobs behind the head (at ``q[i]``), in order."""
        pool = self.pools[p]
        q = self.blist[p]
        state = self.state
        units = self.units
        depth = self.depth
        cap = self.largest_fit(pool)
        if cap <= 0:
            return
        # the window, read in slices (list comprehensions: this is the hot loop of a deep queue)
        end = min(i + 1 + depth, len(q))
        waiting = [j for j in q[i + 1 : end] if state[j] == _WAITING]
        while len(waiting) < depth and end < len(q):
            more = q[end : end + depth]
            end += len(more)
            waiting += [j for j in more if state[j] == _WAITING]
        if 2 * len(waiting) < end - i - 1:
            q[i + 1 : end] = waiting  # most of what was read has left the queue: drop it
        # a size that did not fit, or would break the reservation, fails again for every
        # later job of that size until a job starts (the state is the same): skip those
        no_fit: set[int] = set()
        no_keep: set[int] = set()
        ctx = self.ctx[p]
        assert ctx is not None
        now, shadow, speed, dur = self.env.now, ctx.time, self.speed[p], self.dur
        for j in [j for j in waiting[:depth] if units[j] <= cap]:
            u = units[j]
            if u > cap or u in no_fit:
                continue
            ends = now + dur[j] / speed <= shadow  # as ends_first(p, j)
            if not ends and u in no_keep:
                continue
            if self.try_backfill(p, j, ends):
                cap = self.largest_fit(pool)
                if cap <= 0:
                    return
                no_fit.clear()
                no_keep.clear()
            else:
                (no_fit if ends else no_keep).add(u)

    @staticmethod
    def largest_fit(pool: _Pool) -> int:
        """The largest job that fits now: a job of u units fits iff u <= this."""
        if pool.m == 1:
            return int(pool.free)
        whole = pool.lev[pool.m].bit_count()
        if whole:
            return whole * pool.m
        for level in range(pool.m - 1, 0, -1):
            if pool.lev[level]:
                return level
        return 0

    def shadow(self, p: int, head: int) -> _Shadow:
        """The head's reservation: when it fits, and the free units at that time."""
        pool = self.pools[p]
        u = self.units[head]
        ctx = _Shadow(u, pool)
        found = math.inf
        for end, j in pool.by_end:
            if end > found:
                break
            ctx.release(self.alloc[j])  # every job ending by the shadow time is released
            if found == math.inf and ctx.fits():
                found = end
        ctx.time = found
        return ctx

    def ends_first(self, p: int, j: int) -> bool:
        """Whether job j, started now on the pool's hardware, ends by the shadow time."""
        ctx = self.ctx[p]
        assert ctx is not None
        return self.env.now + self.dur[j] / self.speed[p] <= ctx.time

    def try_backfill(self, p: int, j: int, ends_first: bool | None = None) -> bool:
        """Start job j now if it fits and keeps the head's reservation; say whether it did."""
        pool = self.pools[p]
        ctx = self.ctx[p]
        assert ctx is not None
        u = self.units[j]
        if ends_first is None:
            ends_first = self.ends_first(p, j)
        m = pool.m
        if m > 1 and u >= m:
            # whole instances: whether they fit, and whether the head still would, are counts,
            # so decide before choosing instances
            k = -(-u // m)
            if pool.lev[m].bit_count() < k or (not ends_first and not ctx.can_take_whole(k)):
                return False
        alloc = self.fit(pool, u)
        if alloc is None:
            return False
        if ends_first:
            ctx.lend(alloc)  # gone again by the shadow time
        elif not ctx.take(alloc):
            return False
        self.start_reserved(p, j, alloc)
        self.rescan[p] = True
        return True

    # ------------------------------------------------------------------ demand and years
    def on_capacity(self, ev: _Call) -> None:
        p, units = self.changes[ev.arg]
        self.set_reserved(p, units)

    def on_speed(self, ev: _Call) -> None:
        p, speed = self.speed_events[ev.arg]
        self.speed[p] = speed

    def on_target_capacity(self, ev: _Call) -> None:
        k, cap = self.target_events[ev.arg]
        self.tcap[k] = cap  # running jobs stay: room may go below zero
        self.retry_overflow(self.targets[k].pool)

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
                        s = pool.lev[level]
                        i = (s & -s).bit_length() - 1
                        c = min(level, need)
                        self.set_inst_free(pool, i, level - c)
                        pool.claims.append((i, c))
                        need -= c
                        got += c
                got = min(got, want)
            served.reserved[h] = got
            rest = want - got
            for k in self.pool_targets[p]:
                c = min(rest, self.room(k))
                if c > 0:
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
        cap = _level_at_hours(spec.capacity_changes, n)
        reserved = np.minimum(demand, cap)
        rest = demand - reserved
        targets = {}
        for k in self.pool_targets[p]:
            t = self.targets[k]
            c = np.minimum(rest, _level_at_hours(((0.0, t.capacity), *t.capacity_changes), n))
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
        self.changes = [
            (p, u) for p, spec in enumerate(self.inp.pools) for _, u in spec.capacity_changes
        ]
        i = 0
        for p, spec in enumerate(self.inp.pools):
            for t, units in spec.capacity_changes:
                if t <= 0:
                    self.set_reserved(p, units)
                elif t < self.H:
                    self.at(t, _TICK, self.on_capacity, i)
                i += 1
        self.speed = [spec.speed_changes[0][1] for spec in self.inp.pools]
        self.speed_events = [
            (p, v) for p, spec in enumerate(self.inp.pools) for t, v in spec.speed_changes[1:]
        ]
        i = 0
        for spec in self.inp.pools:
            for t, _ in spec.speed_changes[1:]:
                if t < self.H:
                    self.at(t, _TICK, self.on_speed, i)
                i += 1
        self.target_events = [
            (k, c) for k, t in enumerate(self.targets) for _, c in t.capacity_changes
        ]
        i = 0
        for target in self.targets:
            for when, _ in target.capacity_changes:
                if when < self.H:
                    self.at(when, _TICK, self.on_target_capacity, i)
                i += 1
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
            schedule=tuple(spec.capacity_changes for spec in self.inp.pools),
        )


def _level_at_hours(changes: tuple[tuple[float, float], ...], n: int) -> FloatArray:
    """A step level given by (time, level) change points, at the start of each hour."""
    times = np.asarray([t for t, _ in changes], dtype=float)
    levels = np.asarray([v for _, v in changes], dtype=float)
    idx = np.searchsorted(times, np.arange(n, dtype=float), side="right") - 1
    out: FloatArray = levels[np.maximum(idx, 0)]
    return out


def simulate(inp: EngineInput) -> EngineRecord:
    """Run one replication and return its records."""
    return _Engine(inp).run()
