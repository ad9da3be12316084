"""A pool's instance books (a Python-int bitset per free level, ties to the
lowest-numbered instance) and the head's reservation (the shadow): the data the capacity
books (:mod:`sim.engine.books`) and EASY backfilling read and write."""

from __future__ import annotations

import math

from sim.engine.model import (
    PoolSpec,
)


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


class PoolBooks:
    """Mutable state of a reserved pool during a run."""

    def __init__(self, spec: PoolSpec) -> None:
        self.m = spec.instance_units
        self.first_fit = False  # placement: the lowest-numbered instance with room
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
