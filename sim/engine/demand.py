"""Demand claims: each hour's fluid demand takes free reserved units, then targets."""

from __future__ import annotations

import math

import numpy as np

from sim.distributions import FloatArray
from sim.engine.clock import Call
from sim.engine.model import (
    TICK,
    DemandServed,
    level_at_hours,
)
from sim.engine.overflow import Overflow


class DemandClaims(Overflow):
    def on_tick(self, ev: Call) -> None:
        h = ev.arg
        if h + 1 < len(self.hours):
            self.at(1.0, TICK, self.on_tick, h + 1)
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
        n = len(demand)
        cap = level_at_hours(tuple(self.schedules[p]), n)
        reserved = np.minimum(demand, cap)
        rest = demand - reserved
        targets = {}
        for k in self.pool_targets[p]:
            t = self.targets[k]
            c = np.minimum(rest, level_at_hours(((0.0, t.capacity), *t.capacity_changes), n))
            targets[k] = c
            rest = rest - c
        return DemandServed(demand, reserved, targets, rest)
