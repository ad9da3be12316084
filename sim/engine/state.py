"""The engine's state: every book the parts read and write, set up from the input.

The parts are one chain of classes over this state, each adding its methods:
``EngineState`` → ``CapacityBooks`` (:mod:`~sim.engine.books`) → ``Overflow``
(:mod:`~sim.engine.overflow`) → ``DemandClaims`` (:mod:`~sim.engine.demand`) → ``_Engine``
(:mod:`~sim.engine.core`). A method a part calls but a later part defines is declared
below (raising ``NotImplementedError``: the engine always defines it), so every call can
be followed and type-checked. Single inheritance, not mixins: mypyc compiles native
classes with one base (see docs/design.md, the compiled engine). Queue policies (FIFO,
priority, EASY backfill) are strategy objects, one per pool, in ``queues``."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.distributions import FloatArray
from sim.engine.clock import Call, Env
from sim.engine.model import (
    PENDING,
    DemandServed,
    EngineInput,
    EngineRecord,
)
from sim.engine.pools import PoolBooks

if TYPE_CHECKING:
    from sim.engine.queues import QueuePolicy


class EngineState:
    def __init__(self, inp: EngineInput) -> None:
        self.inp = inp
        self.env = Env()
        self.H = inp.horizon_hours
        jobs = inp.jobs
        n = len(jobs)
        self.submit: list[float] = jobs.submit_hours.tolist()
        self.units: list[int] = jobs.units.tolist()
        self.dur: list[float] = jobs.duration_hours.tolist()
        self.maxwait: list[float] = jobs.max_wait_hours.tolist()
        self.prio: list[float] = jobs.priority.tolist()
        self.jpool: list[int] = jobs.pool.tolist()
        self.state = [PENDING] * n
        self.send = [math.nan] * n
        self.start = [math.nan] * n
        self.end = [math.nan] * n
        self.ran_on = [-1] * n
        self.held = [0] * n
        self.expired = [False] * n
        self.alloc: list[object] = [None] * n
        self.pools = [PoolBooks(p) for p in inp.pools]
        # each pool's reserved schedule as (time, units) change points: the input's, with
        # strategies' purchases added as they are made
        self.schedules: list[list[tuple[float, int]]] = [
            list(spec.capacity_changes) for spec in inp.pools
        ]
        self.targets = inp.targets
        # per target: capacity now (inf: unlimited; 0 while unavailable), whole units held by
        # jobs, units claimed by this hour's demand. Room = capacity − used − claimed: counts
        # are kept apart so that an unlimited target never loses units to rounding.
        self.tcap = [t.capacity for t in inp.targets]
        self.tused = [0] * len(inp.targets)
        self.tclaim = [0.0] * len(inp.targets)
        self.pool_targets: list[list[int]] = [[] for _ in inp.pools]
        for k, t in enumerate(inp.targets):
            self.pool_targets[t.pool].append(k)
        for pool, spec in zip(self.pools, inp.pools, strict=True):
            pool.first_fit = (spec.placement or inp.placement) == "first-fit"
        self.depth = inp.backfill_depth
        self.njobs = n
        # one queue policy per pool (see sim.engine.queues), made by the core
        self.queues: list[QueuePolicy] = []
        self.nwaiting = [0] * len(inp.pools)  # jobs waiting for the pool (backfill's window)
        # jobs waiting for an overflow target: size -> (expiry order, job), per pool
        self.owait: list[dict[int, deque[tuple[int, int]]]] = [{} for _ in inp.pools]
        self.owait_sizes: list[list[int]] = [[] for _ in inp.pools]  # owait's keys, sorted
        self.owait_seq = 0
        self.place_due: set[int] = set()
        self.expiries: list[tuple[float, int]] = []
        self.armed = math.inf  # time of the pending expiry event
        self.place_event = False
        self.has_jobs = [False] * len(inp.pools)
        for p in set(self.jpool):
            self.has_jobs[p] = True
        self.demand_served: list[DemandServed | None] = [None] * len(inp.pools)
        self.tick_pools = [
            p for p, d in enumerate(inp.demand) if d is not None and self.has_jobs[p]
        ]

    # set when the run starts (see core._Engine.run)
    hours: FloatArray
    """Length of each hour slot [h]."""
    changes: list[tuple[int, int]]
    """(pool, units) of each contract-year capacity change, in event order."""
    speed: list[float]
    """Each pool's speed now."""
    speed_events: list[tuple[int, float]]
    target_events: list[tuple[int, float]]

    # ------------------------------------------- defined by a later part of the chain

    def at(self, delay: float, prio: int, fn: Callable[[Call], None], arg: int) -> None:
        raise NotImplementedError

    def request_place(self, p: int, dirty: bool = True) -> None:
        raise NotImplementedError

    def on_place(self, ev: Call) -> None:
        raise NotImplementedError

    def run_placement(self) -> None:
        raise NotImplementedError

    def set_inst_free(self, pool: PoolBooks, i: int, new: int) -> None:
        raise NotImplementedError

    def record(self, pool: PoolBooks, delta: float) -> None:
        raise NotImplementedError

    def set_reserved(self, p: int, units: int) -> None:
        raise NotImplementedError

    def release(self, p: int, alloc: object, units: float) -> None:
        raise NotImplementedError

    def fit(self, pool: PoolBooks, u: int) -> object:
        raise NotImplementedError

    def take(self, pool: PoolBooks, alloc: object) -> int:
        raise NotImplementedError

    def on_arrive(self, ev: Call) -> None:
        raise NotImplementedError

    def start_reserved(self, p: int, j: int, alloc: object) -> None:
        raise NotImplementedError

    def try_targets(self, j: int) -> bool:
        raise NotImplementedError

    def on_expire(self, ev: Call) -> None:
        raise NotImplementedError

    def expire(self, j: int) -> None:
        raise NotImplementedError

    def on_expiries(self, ev: Call) -> None:
        raise NotImplementedError

    def on_complete(self, ev: Call) -> None:
        raise NotImplementedError

    def room(self, k: int) -> float:
        raise NotImplementedError

    def retry_overflow(self, p: int) -> None:
        raise NotImplementedError

    @staticmethod
    def largest_fit(pool: PoolBooks) -> int:
        raise NotImplementedError

    def on_capacity(self, ev: Call) -> None:
        raise NotImplementedError

    def on_speed(self, ev: Call) -> None:
        raise NotImplementedError

    def on_target_capacity(self, ev: Call) -> None:
        raise NotImplementedError

    def on_tick(self, ev: Call) -> None:
        raise NotImplementedError

    def serve_demand_vectorised(self, p: int, demand: FloatArray) -> DemandServed:
        raise NotImplementedError

    def run(self) -> EngineRecord:
        raise NotImplementedError
