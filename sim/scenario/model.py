"""The scenario model: frozen dataclasses a validated scenario is made of."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.calendar import HOURS_PER_YEAR
from sim.distributions import (
    Distribution,
    Fixed,
    FloatArray,
)
from sim.engine.policies import QUEUE_POLICIES  # the registry only (see there)

MAX_MAGNITUDE = 1e15  # no number in a scenario is larger: a bigger one is a typo


MAX_INSTANCES = 1_000_000  # instances of one pool the engine keeps books for


QUEUES = tuple(QUEUE_POLICIES)
"""The queue policies a scenario may name: the engine's registry, defined once there."""


PLACEMENTS = ("best-fit", "first-fit")


@dataclass(frozen=True)
class ParamSpec:
    """A numeric field: fixed, or drawn once per replication from ``dist``.

    ``low``/``high`` are the field's bounds; a draw outside them is clipped to them.
    """

    path: str
    dist: Distribution
    low: float = -math.inf
    high: float = math.inf

    def draw(self, rng: np.random.Generator) -> float:
        """One value for a replication, clipped to the field's bounds."""
        return min(max(self.dist.draw(rng), self.low), self.high)

    @property
    def is_fixed(self) -> bool:
        return self.dist.is_fixed


@dataclass(frozen=True)
class PricePath:
    """How a price moves over the horizon: smooth yearly change, scheduled steps, and a
    geometric Brownian motion around the deterministic path (mean-preserving)."""

    change_per_year: ParamSpec
    """Relative change per year, compounded smoothly (−0.26 = −26 %/yr)."""
    steps: tuple[tuple[float, float], ...] = ()
    """(at [h], factor): the price is multiplied by ``factor`` from the first contract month
    that starts at or after ``at``."""
    volatility: ParamSpec | None = None
    """Annualised volatility of the GBM; ``None`` or 0 for a deterministic path."""


@dataclass(frozen=True)
class Generation:
    """The pool's hardware changes at ``at_hours``: new speed, optionally a new price."""

    at_hours: float
    speed: float
    price_per_unit_hour: float | None


@dataclass(frozen=True)
class Delivery:
    """Only ``fraction`` of the contracted units are delivered in [start, end) [h]."""

    start_hours: float
    end_hours: float
    fraction: float


@dataclass(frozen=True)
class Pool:
    """A reserved pool of capacity."""

    name: str
    unit: str
    instance_units: int
    reserved: tuple[int, ...]
    """Units reserved in each contract year, after ``reserved_scale`` [unit]."""
    price_per_unit_hour: ParamSpec
    """USD per reserved unit-hour, paid used or idle."""
    reserved_scale: float = 1.0
    price_path: PricePath | None = None
    speed: ParamSpec = field(default_factory=lambda: _fixed("speed", 1.0))
    """Work per unit-hour relative to the reference speed of job durations."""
    generations: tuple[Generation, ...] = ()
    delivery: tuple[Delivery, ...] = ()
    credit_fraction: ParamSpec = field(default_factory=lambda: _fixed("credit_fraction", 1.0))
    """Share of the price credited back for contracted units that were not delivered."""
    on_demand_price_per_unit_hour: ParamSpec | None = None
    """Reference price for the effective savings rate and the overhang; default the first
    target's price."""
    work_per_unit_hour: ParamSpec | None = None
    """Units of useful work (e.g. tokens) per unit-hour at reference speed."""
    work_unit: str = "work unit"
    payment: str = "monthly"
    """``monthly``: reserved capacity is paid month by month; ``upfront``: each contract
    year's reservation is paid at the start of that year (for NPV)."""
    queue: str | None = None
    """This pool's queue policy; None: ``[policy] queue``."""
    placement: str | None = None
    """This pool's placement; None: ``[policy] placement``."""


@dataclass(frozen=True)
class OverflowTarget:
    """Capacity beyond the reservation, tried in file order."""

    name: str
    pool: str
    price_per_unit_hour: ParamSpec
    capacity: ParamSpec
    """Most units in use at once; ``inf`` when unlimited [unit] (a draw is rounded down)."""
    speed: ParamSpec
    startup_hours: ParamSpec
    transfer_usd_per_job: ParamSpec
    price_path: PricePath | None = None
    unavailable: tuple[tuple[float, float], ...] = ()
    """Windows [start, end) [h] in which the target takes no new work."""
    availability: ParamSpec = field(default_factory=lambda: _fixed("availability", 1.0))
    """Probability that the target takes new work in a given contract month (each month's
    state drawn per replication)."""


@dataclass(frozen=True)
class Contract:
    """A spend commitment (take-or-pay) and the terms of money over time."""

    period: str = "term"
    """``term``: one commitment over the horizon; ``year``: one per contract year."""
    commitment_usd: tuple[float, ...] = ()
    """Committed eligible spend per period (empty: no commitment) [USD]."""
    eligible_targets: tuple[str, ...] = ()
    """Overflow targets whose spend counts toward the commitment (reserved pools always do)."""
    discount: float = 0.0
    """Private-pricing discount on eligible spend (0.1 = 10 % off list)."""
    discount_rate: float = 0.0
    """Annual rate for the net present value of spend."""
    discount_tiers: tuple[tuple[float, float], ...] = ()
    """(commitment over the term [USD], discount) pairs: a larger commitment buys a larger
    discount; ``discount`` is the tier the commitment reaches."""


@dataclass(frozen=True)
class JobsWorkload:
    """Poisson job arrivals with growth compounded by contract year."""

    name: str
    pool: str
    arrivals_per_day: ParamSpec
    growth_per_year: tuple[ParamSpec, ...]
    """One rate for every year, or one per contract year (compounded piecewise)."""
    units: Distribution
    duration_hours: Distribution
    max_wait_hours: ParamSpec
    """Queue this long for reserved capacity, then overflow (``inf``: never) [h]."""
    priority: int
    kind: str = "jobs"
    daily_amplitude: ParamSpec = field(default_factory=lambda: _fixed("daily_amplitude", 0.0))
    """Relative swing of the arrival rate over the day (peak 14:00), as for demand."""
    weekly_amplitude: ParamSpec = field(default_factory=lambda: _fixed("weekly_amplitude", 0.0))
    """Relative swing over the week (peak 2.5 days after the scenario's start)."""
    rate_at_years: float = 0.0
    """``arrivals_per_day`` is the rate at this time [contract years; < 0: before the start,
    as a fit from a log quotes it where its estimate is uncorrelated with the growth's]; the
    rate at the start is it times (1 + the first year's growth) ^ (−rate_at_years)."""


@dataclass(frozen=True, eq=False)
class TraceWorkload:
    """Recorded jobs replayed as they happened."""

    name: str
    pool: str
    file: str
    submit_hours: FloatArray = field(repr=False)
    units: FloatArray = field(repr=False)
    duration_hours: FloatArray = field(repr=False)
    max_wait_hours: FloatArray = field(repr=False)
    priority: FloatArray = field(repr=False)
    kind: str = "trace"


@dataclass(frozen=True, eq=False)
class DemandWorkload:
    """A fluid demand served hour by hour: synthetic, or a recorded hourly series."""

    name: str
    pool: str
    demand_units: ParamSpec | None
    growth_per_year: tuple[ParamSpec, ...]
    daily_amplitude: ParamSpec
    weekly_amplitude: ParamSpec
    noise_cv: ParamSpec
    file: str | None = None
    recording: FloatArray | None = field(default=None, repr=False)
    kind: str = "demand"


Workload = JobsWorkload | TraceWorkload | DemandWorkload


@dataclass(frozen=True)
class Change:
    """A dated multiplier on the arrival rate (jobs) or level (demand) of some workloads:
    a step at ``start_hours``, or a linear ramp from ×1 at ``start_hours`` to ×factor at
    ``end_hours``, held after."""

    workloads: tuple[str, ...]
    kind: str
    """``step`` or ``ramp``."""
    start_hours: float
    end_hours: float
    factor: ParamSpec
    """Drawn once per replication."""


@dataclass(frozen=True)
class Shock:
    """Random episodes: they start as a Poisson process (``per_year``, drawn once per
    replication); each multiplies demand by its own drawn factor for its drawn duration."""

    name: str
    """``shocks[i]``: names the episode draws in the seed tree."""
    workloads: tuple[str, ...]
    per_year: ParamSpec
    factor: Distribution
    duration_years: Distribution


@dataclass(frozen=True)
class Policy:
    """Queue discipline and placement rule."""

    queue: str = "fifo"
    placement: str = "best-fit"
    backfill_depth: int = 100
    """Queue places behind a blocked head that backfilling examines each time."""


@dataclass(frozen=True)
class Commitment:
    """One [[commitments]] tranche as written (renewals are expanded by the accounts)."""

    name: str
    kind: str
    """``reserved``, ``savings_plan`` or ``owned``."""
    start_hours: float
    term_hours: float
    payment: str = "monthly"
    upfront_fraction: float = 0.0
    """Share of the term's payments made at its start (upfront: 1, monthly: 0)."""
    renew: bool = False
    pool: str | None = None
    units: float = 0.0
    price_per_unit_hour: float | None = None
    discount: float | None = None
    """Fraction off the pool's on-demand reference price in the month a tranche starts."""
    usd_per_hour: float = 0.0
    covers: tuple[tuple[str, float], ...] = ()
    """(target, the plan's price as a fraction of its on-demand price)."""
    capex_usd_per_unit: float = 0.0
    opex_usd_per_unit_hour: float = 0.0

    @property
    def adds_capacity(self) -> bool:
        return self.kind in ("reserved", "owned")


@dataclass(frozen=True)
class Strategy:
    """A [[strategies]] entry: reserved units bought at decision epochs from the usage seen
    over a lookback window (never the future)."""

    name: str
    pool: str | None
    """The pool it buys reserved units of (None: a savings plan)."""
    epochs_hours: tuple[float, ...]
    """Decision times inside the horizon [h]."""
    lookback_hours: float
    cover: float
    """Quantile of hourly usage to cover (-1: the mean)."""
    term_hours: float
    discount: float
    lead_hours: float
    fill: ParamSpec
    """Share of a purchase delivered; its distribution is drawn once per purchase."""
    max_units: float
    """Most units (reserved) or USD per hour (savings plan) bought at one decision."""
    initial_units: float | None = None
    """Bought at t = 0 (units, or USD per hour for a savings plan)."""
    buys: str = "reserved"
    covers: tuple[tuple[str, float], ...] = ()
    """buys = savings_plan: (target, plan price as a fraction of its on-demand price)."""


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    name: str
    description: str
    start: dt.date
    years: float
    replications: int
    seed: int
    pools: dict[str, Pool]
    overflow: tuple[OverflowTarget, ...]
    workloads: dict[str, Workload]
    policy: Policy
    source: str
    """The file it was read from (for messages)."""
    raw: dict[str, Any] = field(repr=False)
    """The scenario as a TOML-ready dict, overrides applied."""
    contract: Contract = field(default_factory=Contract)
    base_dir: Path = Path(".")
    """The folder relative data-file names were resolved against."""
    allow_external_data: bool = False
    """Whether its data files may lie outside ``base_dir`` (``--allow-external-data``)."""
    changes: tuple[Change, ...] = ()
    shocks: tuple[Shock, ...] = ()
    commitments: tuple[Commitment, ...] = ()
    strategies: tuple[Strategy, ...] = ()
    warnings: tuple[str, ...] = ()
    """Things the user should see that do not stop the run (e.g. trace rows past the
    horizon); the command line prints them."""

    @property
    def horizon_hours(self) -> float:
        """``years × 8760`` [h]."""
        return self.years * HOURS_PER_YEAR

    def params(self) -> list[ParamSpec]:
        """Every per-replication parameter of the scenario: each :class:`ParamSpec` among
        the fields of its pools, overflow targets, changes, shocks and workloads (and of
        their nested records, such as a price path), found by walking them, so a new
        uncertain field is drawn without being listed here. A strategy's ``fill`` is drawn
        per decision epoch instead (``montecarlo.inputs``)."""
        out: list[ParamSpec] = []
        parts = (
            *self.pools.values(),
            *self.overflow,
            *self.changes,
            *self.shocks,
            *self.workloads.values(),
        )
        for part in parts:
            out += _param_fields(part)
        return out


def _param_fields(record: object) -> list[ParamSpec]:
    """The :class:`ParamSpec` values among a dataclass's fields, in field order, looking
    into tuples and nested dataclasses."""
    out: list[ParamSpec] = []
    for f in fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, ParamSpec):
                out.append(item)
            elif is_dataclass(item) and not isinstance(item, type):
                out += _param_fields(item)
    return out


def _fixed(path: str, value: float) -> ParamSpec:
    return ParamSpec(path, Fixed(value))
