"""Capacity books: pools of instances (a Python-int bitset per free level, ties to the
lowest-numbered instance), fit/take/release, and the head's reservation (the shadow)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.engine.model import (
    PoolSpec,
)

if TYPE_CHECKING:
    from sim.engine.state import EngineState
else:
    EngineState = object


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


class CapacityBooks(EngineState):
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
            self.queues[p].dirty = True

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
