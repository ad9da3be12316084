"""EASY backfilling over the capacity books, with its reservation and the rules under
which the incremental books equal a full recomputation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.engine.books import _Shadow
from sim.engine.model import (
    _WAITING,
)

if TYPE_CHECKING:
    from sim.engine.state import EngineState
else:
    EngineState = object


class EasyBackfill(EngineState):
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
