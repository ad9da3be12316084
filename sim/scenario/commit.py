"""Building the [[commitments]]: names unique, pools and covered targets known, whole
instances on instance pools, a discount with a price to take it off. A tranche that starts
at or after the horizon buys nothing (a shortened horizon keeps the file valid)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.doc_commit import CommitmentDoc, StrategyDoc
from sim.scenario.model import Commitment, OverflowTarget, Pool, Strategy
from sim.scenario.tables import DataFolder, Reader


def build_commitments(
    where: str,
    docs: list[CommitmentDoc],
    pools: Mapping[str, Pool],
    targets: tuple[OverflowTarget, ...],
) -> tuple[Commitment, ...]:
    """The tranches in the order written (savings plans apply in that order)."""
    out: list[Commitment] = []
    seen: set[str] = set()
    for i, d in enumerate(docs):
        path = f"commitments[{i}]"

        def err(key: str, message: str, path: str = path) -> ScenarioError:
            return ScenarioError(where, f"{path}.{key}", message)

        if d.name in seen:
            raise err("name", f"must be unique among the commitments, got {d.name!r}")
        seen.add(d.name)
        covers: tuple[tuple[str, float], ...] = ()
        if d.pool is not None:
            if d.pool not in pools:
                raise err(
                    "pool",
                    f"names no pool: {d.pool!r}{did_you_mean(d.pool, pools)}; "
                    f"pools: {', '.join(pools)}",
                )
            pool = pools[d.pool]
            units = float(d.units or 0.0)
            m = pool.instance_units
            if abs(units / m - round(units / m)) > 1e-9:
                raise err(
                    "units",
                    f"must be a whole number of {d.pool}'s instances ({m} units each), "
                    f"got {units:g}",
                )
            if d.discount is not None and not _has_reference(pool, targets):
                raise err(
                    "discount",
                    f"needs an on-demand price to take it off: give pools.{d.pool}."
                    "on_demand_price_per_unit_hour, an overflow target on the pool, or "
                    "price_per_unit_hour instead",
                )
        if d.covers is not None:
            covers = _covered(d.covers, targets, err)
        upfront = {"monthly": 0.0, "upfront": 1.0}.get(d.payment, d.upfront_fraction or 0.0)
        out.append(
            Commitment(
                name=d.name,
                kind=d.kind,
                start_hours=d.start_years * HOURS_PER_YEAR,
                term_hours=d.term_years * HOURS_PER_YEAR,
                payment=d.payment,
                upfront_fraction=upfront if d.kind != "owned" else 1.0,
                renew=d.renew,
                pool=d.pool,
                units=float(d.units or 0.0),
                price_per_unit_hour=d.price_per_unit_hour,
                discount=d.discount,
                usd_per_hour=float(d.usd_per_hour or 0.0),
                covers=covers,
                capex_usd_per_unit=float(d.capex_usd_per_unit or 0.0),
                opex_usd_per_unit_hour=float(d.opex_usd_per_unit_hour or 0.0),
            )
        )
    return tuple(out)


def _covered(
    covers: Mapping[str, float],
    targets: tuple[OverflowTarget, ...],
    err: Callable[[str, str], ScenarioError],
) -> tuple[tuple[str, float], ...]:
    """A savings plan's ``covers``, every target named checked against the scenario's."""
    names = [x.name for x in targets]
    for target in covers:
        if target not in names:
            raise err(
                "covers",
                f"names no overflow target: {target!r}{did_you_mean(target, names)}; "
                f"targets: {', '.join(names) or 'none'}",
            )
    return tuple(covers.items())


def _has_reference(pool: Pool, targets: tuple[OverflowTarget, ...]) -> bool:
    return pool.on_demand_price_per_unit_hour is not None or any(
        t.pool == pool.name for t in targets
    )


def build_strategies(
    where: str,
    docs: list[StrategyDoc],
    pools: Mapping[str, Pool],
    targets: tuple[OverflowTarget, ...],
    years: float,
    base: DataFolder,
    taken: set[str],
) -> tuple[Strategy, ...]:
    """The [[strategies]]: a known pool, a price to take the discount off, names unique
    among strategies and commitments (``taken``); decision epochs inside the horizon."""
    out: list[Strategy] = []
    seen = set(taken)
    horizon = years * HOURS_PER_YEAR
    for i, d in enumerate(docs):
        t = Reader(where, f"strategies[{i}]", d, base)
        if d.name in seen:
            raise t.err("name", f"must be unique among strategies and commitments, got {d.name!r}")
        seen.add(d.name)
        covers: tuple[tuple[str, float], ...] = ()
        if d.buys == "savings_plan":
            assert d.covers is not None
            covers = _covered(d.covers, targets, t.err)
        else:
            assert d.pool is not None
            t.known_pool(d.pool, pools)
        pool = pools[d.pool] if d.pool is not None else None
        if pool is not None and d.discount > 0 and not _has_reference(pool, targets):
            raise t.err(
                "discount",
                f"needs an on-demand price to take it off: give pools.{d.pool}."
                "on_demand_price_per_unit_hour or an overflow target on the pool",
            )
        every, first = d.every_years * HOURS_PER_YEAR, d.first_years * HOURS_PER_YEAR
        count = 0 if first >= horizon else int((horizon - first) / every - 1e-9) + 1
        if count > 10_000:
            raise t.err(
                "every_years",
                f"would decide {count:,} times in the horizon; at most 10,000 (years, not hours?)",
            )
        out.append(
            Strategy(
                name=d.name,
                pool=d.pool,
                epochs_hours=tuple(first + k * every for k in range(count)),
                lookback_hours=d.lookback_days * 24.0,
                cover=d.cover,
                term_hours=d.term_years * HOURS_PER_YEAR,
                discount=d.discount,
                lead_hours=d.lead_years * HOURS_PER_YEAR,
                fill=t.param("fill"),
                max_units=d.max_units,
                initial_units=d.initial_units if d.buys == "reserved" else d.initial_usd_per_hour,
                buys=d.buys,
                covers=covers,
            )
        )
    return tuple(out)


__all__ = ["build_commitments", "build_strategies"]
