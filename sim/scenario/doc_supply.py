"""The document's supply tables: [scenario], [pools.NAME] (price path, generations,
deliveries), [[overflow]], [policy] and [contract]."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from sim.engine.policies import describe
from sim.scenario.dists import Param
from sim.scenario.leaves import (
    Checked,
    Date,
    Flag,
    MetricName,
    Num,
    Numbers,
    SafeName,
    Str,
    Table,
    Whole,
    Words,
    fail,
    list_of,
)
from sim.scenario.model import PLACEMENTS, QUEUES
from sim.scenario.values import numstr

_TABLES = "must be a list of tables"


class MetaDoc(Table):
    """[scenario]: what the scenario is."""

    name: Annotated[str, SafeName()]
    description: Annotated[str, Str()] = ""
    start: Annotated[dt.date, Date()] = dt.date(2026, 1, 1)
    years: Annotated[float, Num(0.0, 50.0, True, desc="horizon in contract years")] = 7.0
    replications: Annotated[int, Whole(1, high=1_000_000)] = 100
    seed: Annotated[int, Whole(0)] = 0
    replace_workloads: Annotated[
        bool, Flag("stress and alternative files: this file's workloads replace the base's")
    ] = False


class PriceStepDoc(Table):
    """A dated price multiplier."""

    at_years: Annotated[float, Num(low=0.0, desc="when, in contract years")]
    factor: Annotated[float, Num(low=0.0, low_open=True, desc="price multiplier from then on")]


class WindowDoc(Table):
    """A window of contract years."""

    start_years: Annotated[float, Num(low=0.0, desc="start, in contract years")]
    end_years: Annotated[float, Num(low=0.0, desc="end, in contract years")]

    @model_validator(mode="after")
    def _ordered(self) -> WindowDoc:
        if self.end_years <= self.start_years:
            raise fail(
                f"must be > start_years ({numstr(self.start_years)}), got {numstr(self.end_years)}",
                "end_years",
            )
        return self


class DeliveryDoc(WindowDoc):
    """A window in which only a fraction of the reservation is delivered."""

    fraction: Annotated[float, Num(0.0, 1.0, desc="share of the reservation delivered")]


class GenerationDoc(Table):
    """New hardware from a date."""

    at_years: Annotated[float, Num(low=0.0, desc="from when, in contract years")]
    speed: Annotated[float, Num(low=0.0, low_open=True, desc="speed of the new hardware")]
    price_per_unit_hour: Annotated[
        float | None, Num(low=0.0, desc="its price (default: unchanged)")
    ] = None


class Priced(Table):
    """The price-path keys a pool and a target share."""

    price_change_per_year: Annotated[
        Any, Param(low=-0.99, desc="smooth change of the price per year (-0.26 = -26 %/yr)")
    ] = 0.0
    price_steps: Annotated[
        list[PriceStepDoc],
        BeforeValidator(list_of("must be a list of { at_years, factor } tables")),
    ] = []  # noqa: RUF012
    price_volatility: Annotated[  # 30 is a typo for 0.30
        Any, Param(0.0, 3.0, desc="annual volatility of the price (GBM), 0-3")
    ] = 0.0


class PoolDoc(Priced):
    """[pools.NAME]: a reserved pool."""

    unit: Annotated[str, Str("what a unit is: chip, gpu, vcpu ...")] = "unit"
    instance_units: Annotated[int, Whole(1, "placement granularity: units per instance")] = 1
    reserved: Annotated[Any, Numbers(0.0, desc="units reserved per contract year, or one number")]
    price_per_unit_hour: Annotated[Any, Param(0.0, desc="USD per reserved unit-hour, used or idle")]
    reserved_scale: Annotated[float, Num(0.0, desc="multiplies every entry of the schedule")] = 1.0
    speed: Annotated[
        Any,
        Param(0.0, low_open=True, desc="work per unit-hour relative to the durations' reference"),
    ] = 1.0
    generations: Annotated[list[GenerationDoc], BeforeValidator(list_of(_TABLES))] = []  # noqa: RUF012
    delivery: Annotated[list[DeliveryDoc], BeforeValidator(list_of(_TABLES))] = []  # noqa: RUF012
    credit_fraction: Annotated[
        Any, Param(0.0, 1.0, desc="share of the price credited for undelivered units")
    ] = 1.0
    on_demand_price_per_unit_hour: Annotated[
        Any, Param(0.0, desc="reference on-demand price (savings rate, overhang)")
    ] = None
    work_per_unit_hour: Annotated[
        Any, Param(0.0, low_open=True, desc="useful work (e.g. tokens) per unit-hour")
    ] = None
    work_unit: Annotated[str, Str("what work_per_unit_hour counts")] = "work unit"
    payment: Annotated[str, Words(("monthly", "upfront"), "when reserved is paid")] = "monthly"
    queue: Annotated[
        str | None, Words(QUEUES, "this pool's queue policy (omit: [policy] queue)")
    ] = None
    placement: Annotated[
        str | None, Words(PLACEMENTS, "this pool's placement (omit: [policy] placement)")
    ] = None


class TargetDoc(Priced):
    """[[overflow]]: an overflow target."""

    name: Annotated[str, MetricName("the target's name (merge key; no dot)")]
    pool: Annotated[str, Str("whose work may run here")]
    price_per_unit_hour: Annotated[Any, Param(0.0, desc="USD per unit-hour")]
    capacity: Annotated[
        Any, Param(0.0, allow_inf=True, desc="most units in use at once (omit: unlimited)")
    ] = math.inf
    speed: Annotated[
        Any, Param(0.0, low_open=True, desc="a job's duration here = duration / speed")
    ] = 1.0
    startup_hours: Annotated[Any, Param(0.0, desc="delay before an overflowed job runs")] = 0.0
    transfer_usd_per_job: Annotated[Any, Param(0.0, desc="one-off cost per job sent here")] = 0.0
    unavailable: Annotated[list[WindowDoc], BeforeValidator(list_of(_TABLES))] = []  # noqa: RUF012
    availability: Annotated[
        Any, Param(0.0, 1.0, desc="chance the target has room in a month (0-1)")
    ] = 1.0


class PolicyDoc(Table):
    """[policy]: the queueing policy."""

    queue: Annotated[str, Words(QUEUES, "; ".join(f"{q}: {describe(q)}" for q in QUEUES))] = "fifo"
    placement: Annotated[str, Words(PLACEMENTS, "which instance a job goes to")] = "best-fit"
    backfill_depth: Annotated[int, Whole(1, "waiting jobs EASY backfilling looks at")] = 100


class TierDoc(Table):
    """A discount tier."""

    commitment_usd: Annotated[float, Num(0.0, desc="commitment over the term")]
    discount: Annotated[float, Num(0.0, 1.0, desc="discount from this commitment up")]


def _target_names(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise fail(f"must be a list of overflow target names, got {value!r}")
    return value


class ContractDoc(Table):
    """[contract]: the spend commitment and money over time."""

    period: Annotated[str, Words(("term", "year"), "what the commitment covers")] = "term"
    commitment_usd: Annotated[Any, Numbers(0.0, desc="committed eligible spend per period")] = None
    eligible_targets: Annotated[
        list[Any],
        Checked(_target_names, (("type", "array"), ("items", {"type": "string"}))),
    ] = []  # noqa: RUF012
    discount: Annotated[float, Num(0.0, 1.0, desc="private-pricing discount")] = 0.0
    discount_rate: Annotated[
        float, Num(-0.99, 10.0, desc="annual rate for the net present value")
    ] = 0.0
    discount_tiers: Annotated[list[TierDoc], BeforeValidator(list_of(_TABLES))] = []  # noqa: RUF012

    @model_validator(mode="after")
    def _tiers_or_discount(self) -> ContractDoc:
        if self.discount_tiers and self.has("discount"):
            raise fail(
                "gives the discount by commitment; drop 'discount' (the tier the commitment "
                "reaches sets it)",
                "discount_tiers",
            )
        return self
