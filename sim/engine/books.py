"""Capacity books: fit, take and release whole instances or units on a pool's books
(:mod:`sim.engine.pools`), and the reserved level as it changes."""

from __future__ import annotations

from sim.engine.pools import PoolBooks
from sim.engine.state import EngineState


class CapacityBooks(EngineState):
    def set_inst_free(self, pool: PoolBooks, i: int, new: int) -> None:
        old = pool.inst_free[i]
        bit = 1 << i
        if old >= 0:
            pool.lev[old] ^= bit
            pool.free -= old
        pool.inst_free[i] = new
        if new >= 0:
            pool.lev[new] |= bit
            pool.free += new

    def record(self, pool: PoolBooks, delta: float) -> None:
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

    def fit(self, pool: PoolBooks, u: int) -> object:
        """An allocation for u units now, or None. Does not change state."""
        if pool.m == 1:
            return u if u <= pool.free else None
        m = pool.m
        lev = pool.lev
        if u <= m:
            if pool.first_fit:  # the lowest-numbered instance with room
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

    def take(self, pool: PoolBooks, alloc: object) -> int:
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
    def largest_fit(pool: PoolBooks) -> int:
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
