"""A pool's capacity books: its reserved level as it changes, and which units are free,
as one fungible count or per instance (a Python-int bitset per free level, ties to the
lowest-numbered instance). Fit, take and release work on these books; the queue policies
and demand claims call them, the dispatcher (:mod:`sim.engine.dispatch`) moves the
reserved level."""

from __future__ import annotations

import math

from sim.engine.clock import Env
from sim.engine.model import PoolSpec


class PoolBooks:
    """Mutable state of a reserved pool during a run."""

    def __init__(self, spec: PoolSpec, env: Env) -> None:
        self.env = env
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
        self.claims: list[tuple[int, int]] = []  # demand claims on instances
        self.claim_units = 0.0  # demand claim on a fungible pool

    def set_inst_free(self, i: int, new: int) -> None:
        old = self.inst_free[i]
        bit = 1 << i
        if old >= 0:
            self.lev[old] ^= bit
            self.free -= old
        self.inst_free[i] = new
        if new >= 0:
            self.lev[new] |= bit
            self.free += new

    def record(self, delta: float) -> None:
        self.level += int(delta)
        self.change_t.append(self.env.now)
        self.change_d.append(delta)

    def set_reserved(self, units: int) -> int:
        """Move the nominal reservation to ``units``; return the change (above zero, units
        may have come free: the pool's queue may start jobs)."""
        change = diff = units - (self.level - self.deficit)
        if diff > 0:
            keep = min(self.deficit, diff)
            self.deficit -= keep
            diff -= keep
            if diff:
                self.record(diff)
                if self.m == 1:
                    self.free += diff
                else:
                    for _ in range(diff // self.m):
                        self.inst_free.append(-1)
                        self.set_inst_free(len(self.inst_free) - 1, self.m)
        elif diff < 0:
            need = -diff
            if self.m == 1:
                take = min(int(self.free), need)
                self.free -= take
            else:
                # retire the highest-numbered wholly free instances
                n_whole = 0
                while n_whole < need // self.m and self.lev[self.m]:
                    self.set_inst_free(self.lev[self.m].bit_length() - 1, -1)
                    n_whole += 1
                take = n_whole * self.m
            if take:
                self.record(-take)
            self.deficit += need - take
        return change

    def release(self, alloc: object, units: float) -> None:
        """Give back reserved units; retire them instead while a decrease is pending."""
        if self.m == 1:
            if self.deficit:
                r = min(self.deficit, int(units))
                self.deficit -= r
                self.record(-r)
                units -= r
            self.free += units
            return
        assert isinstance(alloc, list)
        m = self.m
        if len(alloc) > 1 and not self.deficit and all(u == m for _, u in alloc):
            # whole instances (a job larger than one): move them back as a set at C speed
            mask = 0
            inst_free = self.inst_free
            for i, _ in alloc:
                mask |= 1 << i
                inst_free[i] = m
            self.lev[0] ^= mask
            self.lev[m] |= mask
            self.free += m * len(alloc)
            return
        for i, u in alloc:
            new = self.inst_free[i] + u
            if new == self.m and self.deficit >= self.m:
                self.deficit -= self.m
                self.set_inst_free(i, -1)
                self.record(-self.m)
            else:
                self.set_inst_free(i, new)

    def fit(self, u: int) -> object:
        """An allocation for u units now, or None. Does not change state."""
        if self.m == 1:
            return u if u <= self.free else None
        m = self.m
        lev = self.lev
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

    def take(self, alloc: object) -> int:
        if self.m == 1:
            assert isinstance(alloc, int)
            self.free -= alloc
            return alloc
        assert isinstance(alloc, list)
        if len(alloc) > 1 and all(u == self.m for _, u in alloc):
            # whole instances, all wholly free now: move them as a set at C speed
            mask = 0
            inst_free = self.inst_free
            for i, _ in alloc:
                mask |= 1 << i
                inst_free[i] = 0
            self.lev[self.m] ^= mask
            self.lev[0] |= mask
            self.free -= self.m * len(alloc)
            return self.m * len(alloc)
        held = 0
        for i, u in alloc:
            self.set_inst_free(i, self.inst_free[i] - u)
            held += u
        return held

    def release_claim(self) -> None:
        """Give back the units the last hour's demand claimed."""
        if self.m == 1:
            if self.claim_units:
                self.release(None, self.claim_units)
                self.claim_units = 0.0
        elif self.claims:
            self.release(self.claims, 0)
            self.claims = []

    def claim(self, want: float) -> float:
        """This hour's demand takes up to ``want`` free units (on an instance pool, whole
        units from the instances with the fewest free first, lowest number first); return
        the units it got."""
        if self.m == 1:
            got = min(want, max(self.free, 0.0))
            self.free -= got
            self.claim_units = got
            return got
        need = math.ceil(want - 1e-9)
        got = 0.0
        for level in range(1, self.m + 1):
            while need > 0 and self.lev[level]:
                s = self.lev[level]
                i = (s & -s).bit_length() - 1
                c = min(level, need)
                self.set_inst_free(i, level - c)
                self.claims.append((i, c))
                need -= c
                got += c
        return min(got, want)

    def largest_fit(self) -> int:
        """The largest job that fits now: a job of u units fits iff u <= this."""
        if self.m == 1:
            return int(self.free)
        whole = self.lev[self.m].bit_count()
        if whole:
            return whole * self.m
        for level in range(self.m - 1, 0, -1):
            if self.lev[level]:
                return level
        return 0
