"""Building the supply side from its tables: pools (generations, deliveries, price paths),
overflow targets and the contract, with every check and message."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.model import (
    MAX_INSTANCES,
    Contract,
    Delivery,
    Generation,
    OverflowTarget,
    Pool,
    PricePath,
)
from sim.scenario.tables import _Table
from sim.scenario.values import _fmt, _number, _safe_name

_PRICE_KEYS = ("price_change_per_year", "price_steps", "price_volatility")


def _price_path(t: _Table, years: float) -> PricePath | None:
    """The optional price-path keys of a pool or target."""
    if not any(t.has(k) for k in _PRICE_KEYS):
        return None
    steps = []
    raw = t.get("price_steps", [])
    if not isinstance(raw, list):
        raise t.err("price_steps", f"must be a list of {{ at_years, factor }} tables, got {raw!r}")
    for i, step in enumerate(raw):
        st = _Table(t.where, t.sub(f"price_steps[{i}]"), step, ("at_years", "factor"))
        at = st.number("at_years", low=0.0)
        steps.append((at * HOURS_PER_YEAR, st.number("factor", low=0.0, low_open=True)))
    vol = (
        t.param("price_volatility", 0.0, low=0.0, high=3.0)  # 30 is a typo for 0.30
        if t.has("price_volatility")
        else None
    )
    return PricePath(t.param("price_change_per_year", 0.0, low=-0.99), tuple(sorted(steps)), vol)


def _windows(t: _Table, key: str, years: float) -> list[tuple[float, float, _Table]]:
    raw = t.get(key, [])
    if not isinstance(raw, list):
        raise t.err(key, f"must be a list of tables, got {raw!r}")
    out = []
    for i, item in enumerate(raw):
        w = _Table(
            t.where,
            t.sub(f"{key}[{i}]"),
            item,
            ("start_years", "end_years", "fraction")
            if key == "delivery"
            else ("start_years", "end_years"),
        )
        start = w.number("start_years", low=0.0)
        end = w.number("end_years", low=0.0, high=math.inf)
        if end <= start:
            raise w.err("end_years", f"must be > start_years ({_fmt(start)}), got {_fmt(end)}")
        out.append((start * HOURS_PER_YEAR, end * HOURS_PER_YEAR, w))
    return out


_POOL_KEYS = (
    "unit",
    "instance_units",
    "reserved",
    "price_per_unit_hour",
    "reserved_scale",
    *_PRICE_KEYS,
    "speed",
    "generations",
    "delivery",
    "credit_fraction",
    "on_demand_price_per_unit_hour",
    "work_per_unit_hour",
    "work_unit",
    "payment",
)


def _reserved_levels(t: _Table, years: float, m: int, scale: float) -> list[int]:
    """The reserved units of every contract year, scaled, checked against instance_units."""
    where = t.where
    raw = t.get("reserved", required=True)
    n_years = max(1, math.ceil(years - 1e-9))
    if isinstance(raw, list):
        if len(raw) < n_years:
            raise t.err(
                "reserved",
                f"gives {len(raw)} contract years but the horizon has {n_years}; "
                "give one entry per year or a single number",
            )
        entries = raw[:n_years]
        paths = [f"reserved[{i}]" for i in range(n_years)]
    else:
        entries = [raw] * n_years
        paths = ["reserved"] * n_years
    reserved = []
    for value, key in zip(entries, paths, strict=True):
        v = t.number(key, low=0.0) if key == "reserved" else _number(where, t.sub(key), value, 0.0)
        if not float(v).is_integer():
            raise t.err(key, f"must be a whole number of units, got {v!r}")
        if int(v) % m:
            raise t.err(
                key,
                f"must be a multiple of instance_units ({m}), got {int(v)}; "
                f"nearest: {int(v) // m * m} or {(int(v) // m + 1) * m}",
            )
        reserved.append(math.floor(v * scale / m + 1e-9) * m)
        if m > 1 and reserved[-1] // m > MAX_INSTANCES:
            raise t.err(
                key,
                f"needs {reserved[-1] // m:,} instances of {m}; capsim places jobs on at most "
                f"{MAX_INSTANCES:,} (use larger instance_units, or instance_units = 1)",
            )
    return reserved


def _generations(t: _Table) -> list[Generation]:
    """The pool's later hardware generations, as listed."""
    where = t.where
    gens = []
    raw_gens = t.get("generations", [])
    if not isinstance(raw_gens, list):
        raise t.err("generations", f"must be a list of tables, got {raw_gens!r}")
    for i, g in enumerate(raw_gens):
        gt = _Table(
            where, t.sub(f"generations[{i}]"), g, ("at_years", "speed", "price_per_unit_hour")
        )
        gp = gt.number("price_per_unit_hour", low=0.0) if gt.has("price_per_unit_hour") else None
        gens.append(
            Generation(
                gt.number("at_years", low=0.0) * HOURS_PER_YEAR,
                gt.number("speed", low=0.0, low_open=True),
                gp,
            )
        )
    return gens


def _build_pool(where: str, name: str, data: Any, years: float, base_dir: Path) -> Pool:
    t = _Table(where, f"pools.{name}", data, _POOL_KEYS, base_dir)
    unit = t.string("unit", "unit")
    m = t.integer("instance_units", 1, low=1)
    scale = t.number("reserved_scale", 1.0, low=0.0)
    reserved = _reserved_levels(t, years, m, scale)
    price = t.param("price_per_unit_hour", low=0.0)
    gens = _generations(t)
    deliveries = [
        Delivery(a, b, w.number("fraction", low=0.0, high=1.0))
        for a, b, w in _windows(t, "delivery", years)
    ]
    work = (
        t.param("work_per_unit_hour", low=0.0, low_open=True)
        if t.has("work_per_unit_hour")
        else None
    )
    od = (
        t.param("on_demand_price_per_unit_hour", low=0.0)
        if t.has("on_demand_price_per_unit_hour")
        else None
    )
    return Pool(
        name,
        unit,
        m,
        tuple(reserved),
        price,
        scale,
        price_path=_price_path(t, years),
        speed=t.param("speed", 1.0, low=0.0, low_open=True),
        generations=tuple(sorted(gens, key=lambda g: g.at_hours)),
        delivery=tuple(deliveries),
        credit_fraction=t.param("credit_fraction", 1.0, low=0.0, high=1.0),
        on_demand_price_per_unit_hour=od,
        work_per_unit_hour=work,
        work_unit=t.string("work_unit", "work unit"),
        payment=t.string("payment", "monthly", ("monthly", "upfront")),
    )


def _build_target(
    where: str, i: int, data: Any, pools: Mapping[str, Pool], base_dir: Path, years: float
) -> OverflowTarget:
    path = f"overflow[{i}]"
    t = _Table(
        where,
        path,
        data,
        (
            "name",
            "pool",
            "price_per_unit_hour",
            "capacity",
            "speed",
            "startup_hours",
            "transfer_usd_per_job",
            *_PRICE_KEYS,
            "unavailable",
            "availability",
        ),
        base_dir,
    )
    name = t.string("name")
    _safe_name(where, t.sub("name"), name)
    t.path = f"overflow.{name}"
    pool = t.string("pool")
    if pool not in pools:
        raise t.err(
            "pool",
            f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
        )
    return OverflowTarget(
        name=name,
        pool=pool,
        price_per_unit_hour=t.param("price_per_unit_hour", low=0.0),
        capacity=t.param("capacity", math.inf, low=0.0, allow_inf=True),
        speed=t.param("speed", 1.0, low=0.0, low_open=True),
        startup_hours=t.param("startup_hours", 0.0, low=0.0),
        transfer_usd_per_job=t.param("transfer_usd_per_job", 0.0, low=0.0),
        price_path=_price_path(t, years),
        unavailable=tuple((a, b) for a, b, _ in _windows(t, "unavailable", years)),
        availability=t.param("availability", 1.0, low=0.0, high=1.0),
    )


def _build_contract(
    where: str, data: Any, years: float, targets: tuple[OverflowTarget, ...]
) -> Contract:
    t = _Table(
        where,
        "contract",
        data,
        (
            "period",
            "commitment_usd",
            "eligible_targets",
            "discount",
            "discount_rate",
            "discount_tiers",
        ),
    )
    period = t.string("period", "term", ("term", "year"))
    n_years = max(1, math.ceil(years - 1e-9))
    commitment: tuple[float, ...] = ()
    if t.has("commitment_usd"):
        raw = t.get("commitment_usd")
        if period == "term":
            commitment = (t.number("commitment_usd", low=0.0),)
        else:
            if not isinstance(raw, list) or len(raw) < n_years:
                raise t.err(
                    "commitment_usd",
                    f'with period = "year" must list at least '
                    f"{n_years} yearly amounts, got {raw!r}",
                )
            commitment = tuple(
                _number(where, t.sub(f"commitment_usd[{i}]"), v, 0.0)
                for i, v in enumerate(raw[:n_years])
            )
    eligible = t.get("eligible_targets", [])
    names = [x.name for x in targets]
    if not isinstance(eligible, list):
        raise t.err(
            "eligible_targets", f"must be a list of overflow target names, got {eligible!r}"
        )
    for i, e in enumerate(eligible):
        if e not in names:
            raise ScenarioError(
                where,
                f"contract.eligible_targets[{i}]",
                f"names no overflow target: {e!r}{did_you_mean(str(e), names)}; "
                f"targets: {', '.join(names)}",
            )
    discount = t.number("discount", 0.0, low=0.0, high=1.0)
    tiers: list[tuple[float, float]] = []
    raw_tiers = t.get("discount_tiers", [])
    if not isinstance(raw_tiers, list):
        raise t.err("discount_tiers", f"must be a list of tables, got {raw_tiers!r}")
    if raw_tiers and t.has("discount"):
        raise t.err(
            "discount_tiers",
            "gives the discount by commitment; drop 'discount' (the tier the commitment "
            "reaches sets it)",
        )
    for i, item in enumerate(raw_tiers):
        tt = _Table(where, t.sub(f"discount_tiers[{i}]"), item, ("commitment_usd", "discount"))
        tiers.append(
            (tt.number("commitment_usd", low=0.0), tt.number("discount", low=0.0, high=1.0))
        )
    tiers.sort()
    if tiers:
        total = sum(commitment)
        reached = [d for c, d in tiers if c <= total + 1e-6]
        discount = reached[-1] if reached else 0.0
    return Contract(
        period,
        commitment,
        tuple(eligible),
        discount,
        t.number("discount_rate", 0.0, low=-0.99, high=10.0),
        tuple(tiers),
    )
