"""A pool's capacity books: its reserved level as it changes, and which units are free,
as one fungible count or per instance (:class:`InstanceSets`: the instances at each free
level, ties to the lowest-numbered instance). Fit, take and release work on these books; the
queue policies and demand claims call them, the dispatcher (:mod:`sim.engine.dispatch`) moves
the reserved level."""

from __future__ import annotations

import math
from typing import Final

from librt.vecs import extend, vec
from mypy_extensions import i64

from sim.engine.eventheap import Env
from sim.engine.model import PoolSpec

WORD: Final = 62
"""Instances per word of :class:`InstanceSets`: below 2**62 a word and its lowest bit stay
small integers, compiled (mypyc's tagged ints) and interpreted alike."""


class InstanceSets:
    """For each free level k (0 … m), the set of instances with exactly k units free, as
    bitsets in 62-bit words (instance i is bit ``i % WORD`` of word ``i // WORD``), with the
    size of each set and, per level, a word below which the set is empty.

    Until issue 22 each set was one Python integer (bit i for instance i): a pool of 2,000
    instances made every placement and completion allocate 2,000-bit integers (``1 << i``,
    ``s & -s`` and the result of ``^=``). Words in a typed array are changed in place; a set
    is asked for its lowest member (the tie rule), its highest (retirement), its k lowest
    (gangs of whole instances) and its size, with the same answers as the integers gave.
    """

    def __init__(self, m: int) -> None:
        self.stride: i64 = m + 1  # word w of level k is words[w * stride + k]
        self.nw: i64 = 0
        self.words: vec[i64] = vec[i64]()
        self.count: vec[i64] = vec[i64]([0] * (m + 1))
        """Instances at each level."""
        self.low: vec[i64] = vec[i64]([0] * (m + 1))
        """No word below ``low[k]`` holds an instance at level k."""

    def grow(self, n: int) -> None:
        """Room for instances 0 … n − 1."""
        need: i64 = (n + WORD - 1) // WORD
        if need > self.nw:
            self.words = extend(self.words, [0] * ((need - self.nw) * self.stride))
            self.nw = need

    def change(self, i: int, old: int, new: int) -> None:
        """Instance i goes from level ``old`` to level ``new`` (-1: in no set)."""
        w: i64 = i // WORD
        bit: i64 = 1 << (i % WORD)
        base: i64 = w * self.stride
        words, count = self.words, self.count
        if old >= 0:
            words[base + old] = words[base + old] ^ bit
            count[old] -= 1
        if new >= 0:
            words[base + new] = words[base + new] | bit
            count[new] += 1
            self.low[new] = min(self.low[new], w)

    def move(self, alloc: list[tuple[int, int]], old: int, new: int) -> None:
        """The instances of ``alloc`` (all at level ``old``) go to level ``new``, a word at
        a time (a gang's instances are ascending, as :meth:`lowest_k` gives them)."""
        if not alloc:
            return
        words, stride = self.words, self.stride
        w: i64 = alloc[0][0] // WORD
        lowest: i64 = w
        mask: i64 = 0
        for i, _ in alloc:
            if i // WORD != w:
                words[w * stride + old] = words[w * stride + old] ^ mask
                words[w * stride + new] = words[w * stride + new] | mask
                w = i // WORD
                mask = 0
                lowest = min(lowest, w)
            mask |= 1 << (i % WORD)
        words[w * stride + old] = words[w * stride + old] ^ mask
        words[w * stride + new] = words[w * stride + new] | mask
        self.low[new] = min(self.low[new], lowest)
        self.count[old] -= len(alloc)
        self.count[new] += len(alloc)

    def lowest(self, level: int) -> int:
        """The lowest-numbered instance at ``level``, or -1."""
        if self.count[level] == 0:
            return -1
        words, stride = self.words, self.stride
        w: i64 = self.low[level]
        x: i64 = words[w * stride + level]
        while x == 0:
            w += 1
            x = words[w * stride + level]
        self.low[level] = w
        return int(w * WORD) + int(x & -x).bit_length() - 1

    def highest(self, level: int) -> int:
        """The highest-numbered instance at ``level``, or -1."""
        if self.count[level] == 0:
            return -1
        words, stride = self.words, self.stride
        w: i64 = self.nw - 1
        x: i64 = words[w * stride + level]
        while x == 0:
            w -= 1
            x = words[w * stride + level]
        return int(w * WORD) + int(x).bit_length() - 1

    def lowest_k(self, level: int, k: int) -> list[int]:
        """The k lowest-numbered instances at ``level`` (it holds at least k), ascending."""
        words, stride = self.words, self.stride
        out: list[int] = []
        w: i64 = self.low[level]
        while len(out) < k:
            x: i64 = words[w * stride + level]
            while x != 0 and len(out) < k:
                low: i64 = x & -x
                out.append(int(w * WORD) + int(low).bit_length() - 1)
                x ^= low
            w += 1
        return out

    def lowest_at_least(self, level: int) -> int:
        """The lowest-numbered instance at ``level`` or above, or -1."""
        words, stride, top = self.words, self.stride, self.stride - 1
        start: i64 = self.nw
        for k in range(level, top + 1):
            if self.count[k] and self.low[k] < start:
                start = self.low[k]
        for w in range(start, self.nw):
            base: i64 = w * stride
            x: i64 = 0
            for k in range(level, top + 1):
                x |= words[base + k]
            if x:
                return int(w * WORD) + int(x & -x).bit_length() - 1
        return -1


class PoolBooks:
    """Mutable state of a reserved pool during a run."""

    def __init__(self, spec: PoolSpec, env: Env) -> None:
        self.env = env
        self.m = spec.instance_units
        self.first_fit = False  # placement: the lowest-numbered instance with room
        self.level = 0  # units reserved and paid now, including draining ones
        self.deficit = 0  # units to release as they come free
        self.free = 0.0  # free units (m > 1: the sum over instances)
        # m > 1: free units per instance (-1 retired) and instances by free level (ties go
        # to the lowest-numbered instance at a level, as in Slurm)
        self.inst_free: list[int] = []
        self.sets = InstanceSets(self.m)
        self.change_t: list[float] = []
        self.change_d: list[float] = []
        self.claims: list[tuple[int, int]] = []  # demand claims on instances
        self.claim_units = 0.0  # demand claim on a fungible pool

    def set_inst_free(self, i: int, new: int) -> None:
        old = self.inst_free[i]
        self.sets.change(i, old, new)
        self.inst_free[i] = new
        if old >= 0:
            self.free -= old
        if new >= 0:
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
                    self.sets.grow(len(self.inst_free) + diff // self.m)
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
                while n_whole < need // self.m and self.sets.count[self.m]:
                    self.set_inst_free(self.sets.highest(self.m), -1)
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
            # whole instances (a job larger than one): straight from level 0 to m
            inst_free = self.inst_free
            for i, _ in alloc:
                inst_free[i] = m
            self.sets.move(alloc, 0, m)
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
        sets = self.sets
        if u <= m:
            if self.first_fit:  # the lowest-numbered instance with room
                i = sets.lowest_at_least(u)
                return [(i, u)] if i >= 0 else None
            count = sets.count
            for level in range(u, m + 1):  # the fewest free units that fit, lowest number
                if count[level]:
                    return [(sets.lowest(level), u)]
            return None
        # whole instances: the k lowest-numbered wholly free ones
        k = -(-u // m)
        if sets.count[m] < k:
            return None
        return [(i, m) for i in sets.lowest_k(m, k)]

    def take(self, alloc: object) -> int:
        if self.m == 1:
            assert isinstance(alloc, int)
            self.free -= alloc
            return alloc
        assert isinstance(alloc, list)
        if len(alloc) > 1 and all(u == self.m for _, u in alloc):
            # whole instances, all wholly free now: straight from level m to 0
            inst_free = self.inst_free
            for i, _ in alloc:
                inst_free[i] = 0
            self.sets.move(alloc, self.m, 0)
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
            while need > 0 and self.sets.count[level]:
                i = self.sets.lowest(level)
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
        count = self.sets.count
        whole = count[self.m]
        if whole:
            return int(whole) * self.m
        for level in range(self.m - 1, 0, -1):
            if count[level]:
                return level
        return 0
