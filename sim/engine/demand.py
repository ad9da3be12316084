"""Demand claims: each hour's fluid demand takes free reserved units, then targets' room.

A pool with demand and jobs is claimed hour by hour inside the simulation (the claim holds
units its jobs cannot use that hour); a pool with demand only is served with numpy, every
hour being independent of the others."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.distributions import FloatArray
from sim.engine.books import PoolBooks
from sim.engine.dispatch import Dispatcher
from sim.engine.eventheap import Call, Env
from sim.engine.model import DemandServed, TargetSpec, level_at_hours
from sim.engine.overflow import OverflowDesk
from sim.engine.states import Priority


class DemandClaims:
    """Claims each hour's demand on the pools that also run jobs."""

    def __init__(
        self,
        env: Env,
        pools: list[PoolBooks],
        dispatch: Dispatcher,
        desk: OverflowDesk,
        served: list[DemandServed | None],
        tick_pools: list[int],
        nhours: int,
    ) -> None:
        self.env = env
        # the handlers as bound methods made once: an event scheduled with self.on_x
        # would allocate a new bound method every time
        self.on_tick_cb: Callable[[Call], None] = self.on_tick
        self.pools = pools
        self.dispatch = dispatch
        self.desk = desk
        self.served = served
        """Per pool, how its demand is served (filled in hour by hour here)."""
        self.tick_pools = tick_pools
        """Pools with demand and jobs, claimed at every hour's tick."""
        self.nhours = nhours

    def on_tick(self, ev: Call) -> None:
        h = ev.n
        if h + 1 < self.nhours:
            self.env.call_n(1.0, Priority.TICK, self.on_tick_cb, h + 1)
        desk = self.desk
        for p in self.tick_pools:
            pool = self.pools[p]
            served = self.served[p]
            assert served is not None
            pool.release_claim()  # last hour's
            want = served.demand[h]
            got = pool.claim(want)
            served.reserved[h] = got
            rest = want - got
            for k, c in desk.claim(p, rest):
                served.targets[k][h] = c
                rest -= c
            served.unserved[h] = rest
            self.dispatch.request_place(p)
            desk.retry_overflow(p)


def serve_hourly(
    demand: FloatArray,
    schedule: tuple[tuple[float, int], ...],
    targets: list[tuple[int, TargetSpec]],
) -> DemandServed:
    """A pool with demand and no jobs: each hour takes the reserved level of its schedule,
    then each target's capacity, in order (numpy over all hours at once)."""
    n = len(demand)
    reserved = np.minimum(demand, level_at_hours(schedule, n))
    rest = demand - reserved
    served = {}
    for k, t in targets:
        c = np.minimum(rest, level_at_hours(((0.0, t.capacity), *t.capacity_changes), n))
        served[k] = c
        rest = rest - c
    return DemandServed(demand, reserved, served, rest)
