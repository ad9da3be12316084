"""Building the supply side from its validated tables: pools (reserved schedule,
generations, deliveries, price paths), overflow targets and the contract, with the checks
that span keys or need the horizon."""

from __future__ import annotations

import math
from collections.abc import Mapping

from sim.calendar import HOURS_PER_YEAR, contract_years
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.doc_supply import ContractDoc, PoolDoc, Priced, TargetDoc
from sim.scenario.model import (
    MAX_INSTANCES,
    Contract,
    Delivery,
    Generation,
    OverflowTarget,
    Pool,
    PricePath,
)
from sim.scenario.tables import DataFolder, Reader


def _price_path(t: Reader) -> PricePath | None:
    """The optional price-path keys of a pool or target."""
    doc = t.doc
    assert isinstance(doc, Priced)
    if not any(doc.has(k) for k in ("price_change_per_year", "price_steps", "price_volatility")):
        return None
    steps = tuple(sorted((s.at_years * HOURS_PER_YEAR, s.factor) for s in doc.price_steps))
    vol = t.param("price_volatility") if doc.has("price_volatility") else None
    return PricePath(t.param("price_change_per_year"), steps, vol)


def _reserved_levels(t: Reader, years: float, m: int, scale: float) -> list[int]:
    """The reserved units of every contract year, scaled, checked against instance_units."""
    raw = t.doc.reserved  # type: ignore[attr-defined]
    n_years = contract_years(years)
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
    for v, key in zip(entries, paths, strict=True):
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


def build_pool(where: str, name: str, doc: PoolDoc, years: float, base_dir: DataFolder) -> Pool:
    """A validated ``[pools.<name>]`` as the model's pool (schedule, generations, prices)."""
    t = Reader(where, f"pools.{name}", doc, base_dir)
    m = doc.instance_units
    gens = [
        Generation(g.at_years * HOURS_PER_YEAR, g.speed, g.price_per_unit_hour)
        for g in doc.generations
    ]
    return Pool(
        name,
        doc.unit,
        m,
        tuple(_reserved_levels(t, years, m, doc.reserved_scale)),
        t.param("price_per_unit_hour"),
        doc.reserved_scale,
        price_path=_price_path(t),
        speed=t.param("speed"),
        generations=tuple(sorted(gens, key=lambda g: g.at_hours)),
        delivery=tuple(
            Delivery(w.start_years * HOURS_PER_YEAR, w.end_years * HOURS_PER_YEAR, w.fraction)
            for w in doc.delivery
        ),
        credit_fraction=t.param("credit_fraction"),
        on_demand_price_per_unit_hour=t.optional("on_demand_price_per_unit_hour"),
        work_per_unit_hour=t.optional("work_per_unit_hour"),
        work_unit=doc.work_unit,
        payment=doc.payment,
        queue=doc.queue,
        placement=doc.placement,
    )


def build_target(
    where: str, doc: TargetDoc, pools: Mapping[str, Pool], base_dir: DataFolder
) -> OverflowTarget:
    """A validated ``[[overflow]]`` entry as the model's overflow target."""
    t = Reader(where, f"overflow.{doc.name}", doc, base_dir)
    t.known_pool(doc.pool, pools)
    return OverflowTarget(
        name=doc.name,
        pool=doc.pool,
        price_per_unit_hour=t.param("price_per_unit_hour"),
        capacity=t.param("capacity"),
        speed=t.param("speed"),
        startup_hours=t.param("startup_hours"),
        transfer_usd_per_job=t.param("transfer_usd_per_job"),
        price_path=_price_path(t),
        unavailable=tuple(
            (w.start_years * HOURS_PER_YEAR, w.end_years * HOURS_PER_YEAR) for w in doc.unavailable
        ),
        availability=t.param("availability"),
    )


def _commitment(where: str, doc: ContractDoc, years: float) -> tuple[float, ...]:
    """The commitment: one amount for the term, or one per contract year."""
    raw = doc.commitment_usd
    if raw is None:
        return ()
    if doc.period == "term":
        if isinstance(raw, list):
            raise ScenarioError(where, "contract.commitment_usd", f"must be a number, got {raw!r}")
        return (raw,)
    n_years = contract_years(years)
    if not isinstance(raw, list) or len(raw) < n_years:
        raise ScenarioError(
            where,
            "contract.commitment_usd",
            f'with period = "year" must list at least {n_years} yearly amounts, got {raw!r}',
        )
    return tuple(raw[:n_years])


def build_contract(
    where: str, doc: ContractDoc, years: float, targets: tuple[OverflowTarget, ...]
) -> Contract:
    """The validated ``[contract]`` as the model's contract (commitment, discount tiers)."""
    commitment = _commitment(where, doc, years)
    names = [x.name for x in targets]
    for i, e in enumerate(doc.eligible_targets):
        if e not in names:
            raise ScenarioError(
                where,
                f"contract.eligible_targets[{i}]",
                f"names no overflow target: {e!r}{did_you_mean(str(e), names)}; "
                f"targets: {', '.join(names)}",
            )
    tiers = sorted((t.commitment_usd, t.discount) for t in doc.discount_tiers)
    discount = doc.discount
    if tiers:
        total = sum(commitment)
        reached = [d for c, d in tiers if c <= total + 1e-6]
        discount = reached[-1] if reached else 0.0
    return Contract(
        doc.period,
        commitment,
        tuple(doc.eligible_targets),
        discount,
        doc.discount_rate,
        tuple(tiers),
    )
