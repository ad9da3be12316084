"""EASY backfilling as a queue policy over the capacity books, with its own books (the jobs
running on the pool in end order, and the head's reservation, :class:`Shadow`) and the
rules under which the incremental books equal a full recomputation."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, ClassVar

from sim.engine.queues import QueuePolicy
from sim.engine.states import WAITING

if TYPE_CHECKING:  # the dispatcher owns the policies: a reference back, not a dependency
    from sim.engine.books import PoolBooks
    from sim.engine.dispatch import Dispatcher


class Shadow:
    """Free capacity at a blocked head's shadow time, kept as changes to the current state.

    ``delta[i]`` is what instance ``i`` (or the single fungible "instance" 0) gets back
    between now and the shadow time. ``whole`` counts instances wholly free then, and
    ``ge`` those with at least the head's units free, so each check is O(1).
    """

    def __init__(self, units: int, pool: PoolBooks) -> None:
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
            count = pool.sets.count
            self.whole = int(count[m])
            self.ge = sum(int(count[level]) for level in range(min(units, m), m + 1))

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


class EasyBackfill(QueuePolicy):
    """FIFO with EASY backfilling: later jobs may start if they do not delay the head.

    The head gets a reservation at its *shadow time*, the earliest time it fits as running
    jobs end (by their known end times). A job among the ``depth`` waiting jobs behind the
    head may start now if it fits and either ends by the shadow time or leaves the head's
    reservation intact; the window is scanned once, in queue order, at every pass.

    The books are incremental but equal to that full recomputation at every pass: the
    reservation is kept while nothing but arrivals, foreseen completions and backfills
    changed (none of these moves the shadow time or the free units at it), and only the new
    arrivals are examined when nothing else changed since a scan that started no job (every
    job it rejected would be rejected again on the same state). Any other change
    recomputes. ``reference`` (``EngineInput.backfill_reference``) recomputes every time.
    """

    name: ClassVar[str] = "backfill"
    summary: ClassVar[str] = (
        "FIFO with EASY backfilling: later jobs start if they do not delay the head"
    )
    tracks_running: ClassVar[bool] = True

    def __init__(self, dispatch: Dispatcher, p: int) -> None:
        super().__init__(dispatch, p)
        self.depth = dispatch.backfill_depth
        self.reference = dispatch.backfill_reference
        # the backfill's own books: the jobs running on the pool's reserved units in the
        # order of (end, job), as two parallel lists (floats compare at C speed; tuples
        # did not), so the shadow reads them in end order without sorting at every pass
        # (the order is sorted()'s over (end, job) pairs: results identical)
        self.ends: list[float] = []
        self.enders: list[int] = []
        self.q: list[int] = []  # waiting jobs in arrival order (left behind once started)
        self.head = 0  # index in q of the first job that may still wait
        self.fresh: list[int] = []  # arrivals since the last pass
        self.freed = False  # units came back as the reservation foresaw
        self.rescan = False  # a job was backfilled: a job rejected before it may fit now
        self.ctx: Shadow | None = None  # the head's reservation
        self.head_job = -1  # the job it is for

    def enqueue(self, j: int) -> None:
        self.q.append(j)
        self.fresh.append(j)

    def left(self, j: int) -> None:
        """Waiting job j left for an overflow target. Unless it was the head, the head and
        the capacity are as they were, so the reservation stands; the window behind the head
        lost a job and may have gained one: rescan it."""
        if self.ctx is None or j == self.head_job:
            self.dirty = True
        else:
            self.rescan = True

    def position(self, end: float, j: int) -> int:
        """Where (end, j) stands, or would stand, in the (end, job) order of the books."""
        ends = self.ends
        lo = bisect_left(ends, end)
        if lo == len(ends) or ends[lo] != end:
            return lo
        return bisect_left(self.enders, j, lo, bisect_right(ends, end, lo))  # a tie: by job

    def started(self, j: int, end: float) -> None:
        i = self.position(end, j)
        self.ends.insert(i, end)
        self.enders.insert(i, j)

    def completed(self, j: int) -> bool:
        i = self.position(self.jobs.end[j], j)  # its end, as started() was told
        del self.ends[i]
        del self.enders[i]
        ctx = self.ctx
        foreseen = ctx is not None and self.dispatch.env.now < ctx.time and not self.pool.deficit
        if foreseen:
            assert ctx is not None
            ctx.forget(self.jobs.alloc[j])
            self.freed = True
        return foreseen

    def place(self) -> None:
        jobs = self.jobs
        pool = self.pool
        q = self.q
        state = jobs.state
        fresh = self.fresh
        self.fresh = []
        freed = self.freed
        self.freed = False
        rescan = self.rescan
        self.rescan = False
        if self.reference:
            self.dirty = True
        if not self.dirty and self.ctx is not None:
            if not freed and not rescan:
                waiting = [j for j in fresh if state[j] == WAITING]
                # waiting jobs behind the head ahead of the first new one: the window holds
                # the first ``depth`` waiting jobs behind the head
                ahead = self.dispatch.nwaiting[self.p] - 1 - len(waiting)
                for r, j in enumerate(waiting):
                    if ahead + r >= self.depth:
                        break
                    self.try_backfill(j)
                return
            # units came back exactly as the reservation foresaw, or a backfill moved where
            # jobs fit: keep the reservation and rescan, unless the head itself fits now
            if pool.fit(jobs.units[q[self.head]]) is None:
                self.scan(self.head)
                return
        self.dirty = False
        i = self.head
        p = self.p
        while i < len(q):
            j = q[i]
            if state[j] != WAITING:
                i += 1
                continue
            alloc = pool.fit(jobs.units[j])
            if alloc is None:
                break
            self.dispatch.start(p, j, alloc)
            i += 1
        if i > 512 and 2 * i > len(q):
            del q[:i]
            i = 0
        self.head = i
        if i >= len(q):
            self.ctx = None
            return
        self.head_job = q[i]
        self.ctx = self.shadow(q[i])
        self.scan(i)

    def scan(self, i: int) -> None:
        """Try the first ``depth`` waiting jobs behind the head (at ``q[i]``), in order."""
        jobs = self.jobs
        pool = self.pool
        q = self.q
        state = jobs.state
        units = jobs.units
        depth = self.depth
        cap = pool.largest_fit()
        if cap <= 0:
            return
        # the window, read in slices (list comprehensions: this is the hot loop of a deep queue)
        end = min(i + 1 + depth, len(q))
        waiting = [j for j in q[i + 1 : end] if state[j] == WAITING]
        while len(waiting) < depth and end < len(q):
            more = q[end : end + depth]
            end += len(more)
            waiting += [j for j in more if state[j] == WAITING]
        if 2 * len(waiting) < end - i - 1:
            q[i + 1 : end] = waiting  # most of what was read has left the queue: drop it
        # a size that did not fit, or would break the reservation, fails again for every
        # later job of that size until a job starts (the state is the same): skip those
        no_fit: set[int] = set()
        no_keep: set[int] = set()
        ctx = self.ctx
        assert ctx is not None
        dispatch = self.dispatch
        now, shadow, speed, dur = dispatch.env.now, ctx.time, dispatch.speed[self.p], jobs.dur
        for j in [j for j in waiting[:depth] if units[j] <= cap]:
            u = units[j]
            if u > cap or u in no_fit:
                continue
            ends = now + dur[j] / speed <= shadow  # as ends_first(j)
            if not ends and u in no_keep:
                continue
            if self.try_backfill(j, ends):
                cap = pool.largest_fit()
                if cap <= 0:
                    return
                no_fit.clear()
                no_keep.clear()
            else:
                (no_fit if ends else no_keep).add(u)

    def shadow(self, head: int) -> Shadow:
        """The head's reservation: when it fits, and the free units at that time."""
        pool = self.pool
        alloc = self.jobs.alloc
        ctx = Shadow(self.jobs.units[head], pool)
        found = math.inf
        ends, enders = self.ends, self.enders
        for k in range(len(ends)):
            end = ends[k]
            if end > found:
                break
            ctx.release(alloc[enders[k]])  # every job ending by the shadow time is released
            if found == math.inf and ctx.fits():
                found = end
        ctx.time = found
        return ctx

    def ends_first(self, j: int) -> bool:
        """Whether job j, started now on the pool's hardware, ends by the shadow time."""
        ctx = self.ctx
        assert ctx is not None
        dispatch = self.dispatch
        return dispatch.env.now + self.jobs.dur[j] / dispatch.speed[self.p] <= ctx.time

    def try_backfill(self, j: int, ends_first: bool | None = None) -> bool:
        """Start job j now if it fits and keeps the head's reservation; say whether it did."""
        pool = self.pool
        ctx = self.ctx
        assert ctx is not None
        u = self.jobs.units[j]
        if ends_first is None:
            ends_first = self.ends_first(j)
        m = pool.m
        if m > 1 and u >= m:
            # whole instances: whether they fit, and whether the head still would, are counts,
            # so decide before choosing instances
            k = -(-u // m)
            if pool.sets.count[m] < k or (not ends_first and not ctx.can_take_whole(k)):
                return False
        alloc = pool.fit(u)
        if alloc is None:
            return False
        if ends_first:
            ctx.lend(alloc)  # gone again by the shadow time
        elif not ctx.take(alloc):
            return False
        self.dispatch.start(self.p, j, alloc)
        self.rescan = True
        return True
