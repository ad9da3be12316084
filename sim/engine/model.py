"""The engine's input and output (the constants its parts share are in
:mod:`sim.engine.states`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sim.distributions import FloatArray
from sim.workload import IntArray, JobStream


@dataclass(frozen=True)
class PoolSpec:
    """A pool as the engine sees it."""

    name: str
    instance_units: int
    capacity_changes: tuple[tuple[float, int], ...]
    """(time [h], units reserved and delivered from then on), the first at t = 0."""
    speed_changes: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    """(time [h], speed of the pool's hardware from then on), the first at t = 0."""
    queue: str = ""
    """The pool's queue policy (``fifo``, ``priority``, ``backfill``); "": the input's."""
    placement: str = ""
    """The pool's placement (``best-fit``, ``first-fit``); "": the input's."""


@dataclass(frozen=True)
class TargetSpec:
    """An overflow target as the engine sees it (parameters already drawn)."""

    name: str
    pool: int
    capacity: float
    """Most units in use at once [unit]; ``inf`` when unlimited."""
    speed: float
    startup_hours: float
    capacity_changes: tuple[tuple[float, float], ...] = ()
    """(time [h], capacity from then on) after t = 0: windows without new work."""


@dataclass(frozen=True)
class StrategySpec:
    """A purchasing strategy as the engine sees it (fills already drawn)."""

    pool: int
    epochs: tuple[float, ...]
    """Decision times [h], ascending."""
    lookback_hours: float
    cover: float
    """Quantile of hourly usage to cover (-1: the mean)."""
    term_hours: float
    lead_hours: float
    fills: tuple[float, ...]
    """Share delivered of the purchase at each epoch."""
    max_units: float
    initial_units: float | None = None


@dataclass(frozen=True)
class Purchase:
    """What a strategy bought at one decision."""

    strategy: int
    k: int
    """The strategy's k-th purchase (from 1)."""
    decided_hours: float
    start_hours: float
    end_hours: float
    units_ordered: int
    units: int
    """Delivered."""
    usd_per_hour_ordered: float = 0.0
    usd_per_hour: float = 0.0
    """A savings-plan purchase: dollars per hour ordered and delivered."""


@dataclass(frozen=True, eq=False)
class EngineInput:
    """Everything one replication needs."""

    horizon_hours: float
    pools: tuple[PoolSpec, ...]
    targets: tuple[TargetSpec, ...]
    jobs: JobStream
    demand: tuple[FloatArray | None, ...]
    """Per pool, the total hourly demand of its demand workloads [unit], or None."""
    queue: str = "fifo"
    placement: str = "best-fit"
    backfill_depth: int = 100
    """How many queue places behind a blocked head backfilling examines per pass."""
    strategies: tuple[StrategySpec, ...] = ()
    backfill_reference: bool = False
    """Recompute the head's reservation and rescan the queue at every placement pass (the
    plain EASY algorithm), instead of the incremental books: slower, for tests."""


@dataclass(frozen=True, eq=False)
class DemandServed:
    """How one pool's hourly demand was served, hour by hour [unit]."""

    demand: FloatArray
    reserved: FloatArray
    targets: dict[int, FloatArray]
    """Target index → units served there each hour."""
    unserved: FloatArray


@dataclass(frozen=True, eq=False)
class EngineRecord:
    """What happened in one replication: per-job times and capacity change points."""

    horizon_hours: float
    jobs: JobStream
    send_hours: FloatArray
    """When the job left the queue for a target or reserved units (nan: never) [h]."""
    start_hours: FloatArray
    """When it started running, after any target start-up delay (nan: never) [h]."""
    end_hours: FloatArray
    """When it finished or will finish, possibly past the horizon (nan: never started) [h]."""
    ran_on: IntArray
    """-1 never started, 0 the pool's reserved units, k + 1 overflow target k."""
    held_units: IntArray
    """Units held while running: on an instance-granular pool, whole instances for
    jobs larger than one instance [unit]."""
    expired: NDArray[np.bool_] = field(repr=False)
    """True for jobs whose wait ran out (sent, or waiting, for an overflow target)."""
    reserved_changes: tuple[tuple[FloatArray, FloatArray], ...]
    """Per pool, (times [h], change in units held [unit]), starting at t = 0: the schedule,
    plus units still busy after the schedule fell (the overhang) until they drain."""
    demand: tuple[DemandServed | None, ...]
    schedule: tuple[tuple[tuple[float, int], ...], ...] = ()
    """Per pool, the delivered schedule as (time [h], units from then on) change points
    (strategies' purchases included)."""
    purchases: tuple[Purchase, ...] = ()


def level_at_hours(changes: tuple[tuple[float, float], ...], n: int) -> FloatArray:
    """A step level given by (time, level) change points, at the start of each hour."""
    times = np.asarray([t for t, _ in changes], dtype=float)
    levels = np.asarray([v for _, v in changes], dtype=float)
    idx = np.searchsorted(times, np.arange(n, dtype=float), side="right") - 1
    out: FloatArray = levels[np.maximum(idx, 0)]
    return out
