"""EASY backfilling as a queue policy over the capacity books, with its reservation and
the rules under which the incremental books equal a full recomputation."""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from typing import TYPE_CHECKING, ClassVar

from sim.engine.model import (
    WAITING,
)
from sim.engine.pools import Shadow
from sim.engine.queues import QueuePolicy

if TYPE_CHECKING:
    from sim.engine.state import EngineState


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

    tracks_running: ClassVar[bool] = True

    def __init__(self, eng: EngineState, p: int) -> None:
        super().__init__(eng, p)
        self.depth = eng.depth
        self.reference = eng.inp.backfill_reference
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

    def started(self, j: int, end: float) -> None:
        pool = self.pool
        pool.running[j] = end
        insort(pool.by_end, (end, j))

    def completed(self, j: int) -> bool:
        pool = self.pool
        e = pool.running.pop(j)
        del pool.by_end[bisect_left(pool.by_end, (e, j))]
        ctx = self.ctx
        foreseen = ctx is not None and self.eng.env.now < ctx.time and not pool.deficit
        if foreseen:
            assert ctx is not None
            ctx.forget(self.eng.alloc[j])
            self.freed = True
        return foreseen

    def place(self) -> None:
        eng = self.eng
        pool = self.pool
        q = self.q
        state = eng.state
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
                ahead = eng.nwaiting[self.p] - 1 - len(waiting)
                for r, j in enumerate(waiting):
                    if ahead + r >= self.depth:
                        break
                    self.try_backfill(j)
                return
            # units came back exactly as the reservation foresaw, or a backfill moved where
            # jobs fit: keep the reservation and rescan, unless the head itself fits now
            if eng.fit(pool, eng.units[q[self.head]]) is None:
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
            alloc = eng.fit(pool, eng.units[j])
            if alloc is None:
                break
            eng.start_reserved(p, j, alloc)
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
        eng = self.eng
        pool = self.pool
        q = self.q
        state = eng.state
        units = eng.units
        depth = self.depth
        cap = eng.largest_fit(pool)
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
        now, shadow, speed, dur = eng.env.now, ctx.time, eng.speed[self.p], eng.dur
        for j in [j for j in waiting[:depth] if units[j] <= cap]:
            u = units[j]
            if u > cap or u in no_fit:
                continue
            ends = now + dur[j] / speed <= shadow  # as ends_first(j)
            if not ends and u in no_keep:
                continue
            if self.try_backfill(j, ends):
                cap = eng.largest_fit(pool)
                if cap <= 0:
                    return
                no_fit.clear()
                no_keep.clear()
            else:
                (no_fit if ends else no_keep).add(u)

    def shadow(self, head: int) -> Shadow:
        """The head's reservation: when it fits, and the free units at that time."""
        pool = self.pool
        alloc = self.eng.alloc
        ctx = Shadow(self.eng.units[head], pool)
        found = math.inf
        for end, j in pool.by_end:
            if end > found:
                break
            ctx.release(alloc[j])  # every job ending by the shadow time is released
            if found == math.inf and ctx.fits():
                found = end
        ctx.time = found
        return ctx

    def ends_first(self, j: int) -> bool:
        """Whether job j, started now on the pool's hardware, ends by the shadow time."""
        ctx = self.ctx
        assert ctx is not None
        eng = self.eng
        return eng.env.now + eng.dur[j] / eng.speed[self.p] <= ctx.time

    def try_backfill(self, j: int, ends_first: bool | None = None) -> bool:
        """Start job j now if it fits and keeps the head's reservation; say whether it did."""
        eng = self.eng
        pool = self.pool
        ctx = self.ctx
        assert ctx is not None
        u = eng.units[j]
        if ends_first is None:
            ends_first = self.ends_first(j)
        m = pool.m
        if m > 1 and u >= m:
            # whole instances: whether they fit, and whether the head still would, are counts,
            # so decide before choosing instances
            k = -(-u // m)
            if pool.lev[m].bit_count() < k or (not ends_first and not ctx.can_take_whole(k)):
                return False
        alloc = eng.fit(pool, u)
        if alloc is None:
            return False
        if ends_first:
            ctx.lend(alloc)  # gone again by the shadow time
        elif not ctx.take(alloc):
            return False
        eng.start_reserved(self.p, j, alloc)
        self.rescan = True
        return True
