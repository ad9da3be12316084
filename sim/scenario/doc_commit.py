"""The document's [[commitments]]: reserved tranches, savings plans and owned capacity
(the contract: docs/scenario.md, "Commitments")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import model_validator

from sim.scenario.dists import Param
from sim.scenario.leaves import Flag, MetricName, Num, Str, Table, Words, fail

KINDS = ("reserved", "savings_plan", "owned")
PAYMENTS = ("monthly", "upfront", "partial")

#: the keys each kind takes beyond the common ones
_OWN_KEYS = {
    "reserved": ("pool", "units", "price_per_unit_hour", "discount"),
    "savings_plan": ("usd_per_hour", "covers"),
    "owned": ("pool", "units", "capex_usd_per_unit", "opex_usd_per_unit_hour"),
}
_REQUIRED = {
    "reserved": ("pool", "units"),
    "savings_plan": ("usd_per_hour", "covers"),
    "owned": ("pool", "units", "capex_usd_per_unit"),
}


def _covers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise fail(
            "must be a table of overflow target name = the plan's price as a fraction of its "
            'on-demand price, e.g. { "aws-on-demand-trn2" = 0.72 }'
        )
    out = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
            raise fail(f"must be a fraction in (0, 1], got {v!r}", str(k))
        out[str(k)] = float(v)
    return out


class _Covers(Str):
    def check(self, value: Any) -> dict[str, float]:  # type: ignore[override]
        return _covers(value)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": {
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 1,
            },
        }


class CommitmentDoc(Table):
    """[[commitments]]: one tranche, bought once (renewed at term end with ``renew``)."""

    name: Annotated[str, MetricName("unique; names the tranche's metrics (no dot)")]
    kind: Annotated[str, Words(KINDS, "reserved, savings_plan or owned")]
    start_years: Annotated[float, Num(0.0, desc="when it starts (contract years)")] = 0.0
    term_years: Annotated[
        float, Num(0.0, low_open=True, desc="its term (owned: the service life), years")
    ]
    payment: Annotated[str, Words(PAYMENTS, "monthly, upfront or partial")] = "monthly"
    upfront_fraction: Annotated[
        float | None, Num(0.0, 1.0, desc="with payment = partial: the share paid at start")
    ] = None
    renew: Annotated[bool, Flag("at term end an identical tranche starts, priced then")] = False
    pool: Annotated[str | None, Str("reserved, owned: the pool it adds capacity to")] = None
    units: Annotated[
        float | None, Num(0.0, low_open=True, desc="reserved, owned: units it adds")
    ] = None
    price_per_unit_hour: Annotated[
        float | None, Num(0.0, desc="reserved: USD per unit-hour, used or idle")
    ] = None
    discount: Annotated[
        float | None,
        Num(0.0, 1.0, desc="reserved: fraction off the pool's on-demand price at its start"),
    ] = None
    usd_per_hour: Annotated[
        float | None, Num(0.0, low_open=True, desc="savings_plan: the hourly commitment")
    ] = None
    covers: Annotated[
        dict[str, float] | None,
        _Covers("savings_plan: target name = plan price as a fraction of on-demand"),
    ] = None
    capex_usd_per_unit: Annotated[
        float | None, Num(0.0, desc="owned: purchase price per unit, paid at start")
    ] = None
    opex_usd_per_unit_hour: Annotated[
        float | None, Num(0.0, desc="owned: power, space, operations per unit-hour")
    ] = None

    @model_validator(mode="after")
    def _by_kind(self) -> CommitmentDoc:
        own = _OWN_KEYS[self.kind]
        for kind, keys in _OWN_KEYS.items():
            for key in keys:
                if key not in own and self.has(key):
                    raise fail(f"is a key of kind = {kind!r}, not of {self.kind!r}", key)
        for key in _REQUIRED[self.kind]:
            if not self.has(key):
                raise fail(f"is required for kind = {self.kind!r}", key)
        if self.kind == "reserved" and self.has("price_per_unit_hour") == self.has("discount"):
            raise fail(
                "give price_per_unit_hour or discount (off the pool's on-demand price), not "
                "both or neither",
                "price_per_unit_hour",
            )
        if self.payment == "partial" and self.upfront_fraction is None:
            raise fail("is required with payment = 'partial'", "upfront_fraction")
        if self.payment != "partial" and self.has("upfront_fraction"):
            raise fail("is allowed only with payment = 'partial'", "upfront_fraction")
        if self.kind == "owned" and self.has("payment"):
            raise fail("owned capacity is paid as capex at start and opex while active", "payment")
        return self


def _cover(value: Any) -> float:
    if value == "mean":
        return -1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise fail(f'must be a quantile in (0, 1] or "mean", got {value!r}')
    return float(value)


class _Cover(Str):
    def check(self, value: Any) -> float:  # type: ignore[override]
        return _cover(value)

    def schema(self) -> dict[str, Any]:
        number = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1}
        return {"anyOf": [number, {"enum": ["mean"]}]}


class StrategyDoc(Table):
    """[[strategies]]: purchases decided inside the simulation from usage seen so far."""

    name: Annotated[str, MetricName("unique; names its purchases (no dot)")]
    buys: Annotated[
        str,
        Words(("reserved", "savings_plan"), "reserved units of pool, or savings-plan $/h"),
    ] = "reserved"
    pool: Annotated[str | None, Str("buys = reserved: the pool it buys units of")] = None
    every_years: Annotated[float, Num(0.0, low_open=True, desc="years between decisions")]
    first_years: Annotated[float, Num(0.0, desc="the first decision (years)")] = 0.0
    lookback_days: Annotated[
        float, Num(0.0, 3650.0, True, desc="the usage window it looks at (days)")
    ] = 30.0
    cover: Annotated[float, _Cover('quantile of hourly usage to cover, or "mean"')] = 0.8
    term_years: Annotated[float, Num(0.0, low_open=True, desc="each purchase's term (years)")]
    discount: Annotated[
        float, Num(0.0, 1.0, desc="off the on-demand reference price at the decision")
    ] = 0.0
    lead_years: Annotated[float, Num(0.0, desc="capacity starts this long after the decision")] = (
        0.0
    )
    fill: Annotated[
        Any, Param(0.0, 1.0, desc="share of a purchase delivered, drawn per purchase")
    ] = 1.0
    max_units: Annotated[float, Num(0.0, desc="most units bought at one decision")] = 1e9
    initial_units: Annotated[
        float | None, Num(0.0, desc="bought at a decision at t = 0 (nothing seen yet)")
    ] = None
    initial_usd_per_hour: Annotated[
        float | None, Num(0.0, desc="savings plan: bought at t = 0 (nothing seen yet)")
    ] = None
    covers: Annotated[
        dict[str, float] | None,
        _Covers("buys = savings_plan: target name = plan price as a fraction of on-demand"),
    ] = None

    @model_validator(mode="after")
    def _by_what_it_buys(self) -> StrategyDoc:
        if self.buys == "reserved":
            if self.pool is None:
                raise fail("is required for buys = 'reserved'", "pool")
            for key in ("covers", "initial_usd_per_hour"):
                if self.has(key):
                    raise fail("is a key of buys = 'savings_plan'", key)
        else:
            if self.covers is None:
                raise fail("is required for buys = 'savings_plan'", "covers")
            for key in ("pool", "initial_units", "discount"):
                if self.has(key):
                    raise fail(
                        "is a key of buys = 'reserved' (a plan's prices are its covers)", key
                    )
        return self
