"""From a scenario and a replication's draws to the engine's input: job streams, demand
paths, capacity schedules with deliveries, speeds and prices by month."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from sim import calendar, contract, engine, metrics, tranches
from sim.distributions import FloatArray
from sim.scenario import DemandWorkload, Generation, PricePath, Scenario
from sim.workload import demand_path, draw_params, job_stream, stream


def names_of(scenario: Scenario) -> metrics.Names:
    """Pool, target and workload names in engine order."""
    pools = tuple(scenario.pools)
    return metrics.Names(
        pools=pools,
        targets=tuple(t.name for t in scenario.overflow),
        target_pool=tuple(pools.index(t.pool) for t in scenario.overflow),
        job_workloads=tuple(
            n for n, w in scenario.workloads.items() if not isinstance(w, DemandWorkload)
        ),
        demand_workloads=tuple(
            (n, pools.index(w.pool))
            for n, w in scenario.workloads.items()
            if isinstance(w, DemandWorkload)
        ),
    )


def build_input(
    scenario: Scenario, seed: int, replication: int
) -> tuple[engine.EngineInput, metrics.Prices, dict[str, FloatArray]]:
    """Draw one replication's parameters, jobs and demand; return the engine's input."""
    params = draw_params(scenario, seed, replication)
    H = scenario.horizon_hours
    pools = tuple(scenario.pools.values())
    names = list(scenario.pools)
    paths = {
        n: demand_path(scenario, n, seed, replication, params)
        for n, w in scenario.workloads.items()
        if isinstance(w, DemandWorkload)
    }
    demand: list[FloatArray | None] = [None] * len(pools)
    for n, w in scenario.workloads.items():
        if isinstance(w, DemandWorkload):
            i = names.index(w.pool)
            prev = demand[i]
            demand[i] = paths[n] if prev is None else prev + paths[n]
    n_months = len(calendar.month_edges(H)) - 1
    inp = engine.EngineInput(
        horizon_hours=H,
        pools=tuple(
            engine.PoolSpec(
                p.name,
                p.instance_units,
                tranches.with_tranches(
                    contract.capacity_changes(p.reserved, p.delivery, p.instance_units, H),
                    [
                        (s, e, c.units)
                        for c in scenario.commitments
                        if c.adds_capacity and c.pool == p.name
                        for s, e in tranches.windows(c, H)
                    ],
                    H,
                ),
                contract.speed_changes(params[p.speed.path], p.generations),
                p.queue or "",
                p.placement or "",
            )
            for i, p in enumerate(pools)
        ),
        targets=tuple(
            engine.TargetSpec(
                t.name,
                names.index(t.pool),
                _capacity(params[t.capacity.path]),
                params[t.speed.path],
                params[t.startup_hours.path],
                contract.availability_changes(
                    _capacity(params[t.capacity.path]),
                    t.unavailable,
                    params[t.availability.path],
                    H,
                    stream(seed, replication, f"overflow.{t.name}.availability", _AVAILABILITY),
                ),
            )
            for t in scenario.overflow
        ),
        jobs=job_stream(scenario, seed, replication, params),
        demand=tuple(demand),
        queue=scenario.policy.queue,
        placement=scenario.policy.placement,
        backfill_depth=scenario.policy.backfill_depth,
        strategies=_strategies(scenario, seed, replication),
    )
    prices = _prices(scenario, params, seed, replication, n_months)
    return inp, prices, paths


def _prices(
    scenario: Scenario, params: dict[str, float], seed: int, replication: int, n_months: int
) -> metrics.Prices:
    """The replication's prices by month: pools (with their price paths, speeds and terms),
    targets, and the contract."""
    pools = tuple(scenario.pools.values())
    pools_names = list(scenario.pools)
    pool_prices = [
        _path(
            p.price_per_unit_hour.path,
            params,
            p.price_path,
            seed,
            replication,
            n_months,
            p.generations,
        )
        for p in pools
    ]
    target_prices = [
        _path(t.price_per_unit_hour.path, params, t.price_path, seed, replication, n_months)
        for t in scenario.overflow
    ]
    return metrics.Prices(
        pools=tuple(
            metrics.PoolTerms(
                price=pool_prices[i],
                contracted=metrics.by_year(p.reserved),
                credit_fraction=params[p.credit_fraction.path],
                payment=p.payment,
                od_price=(
                    np.full(n_months, params[p.on_demand_price_per_unit_hour.path])
                    if p.on_demand_price_per_unit_hour is not None
                    else None
                ),
                speed_changes=contract.speed_changes(params[p.speed.path], p.generations),
                work_per_unit_hour=(
                    params[p.work_per_unit_hour.path] if p.work_per_unit_hour is not None else None
                ),
            )
            for i, p in enumerate(pools)
        ),
        targets=tuple(
            metrics.TargetTerms(
                price=target_prices[k],
                transfer=params[t.transfer_usd_per_job.path],
                speed=params[t.speed.path],
                eligible=t.name in scenario.contract.eligible_targets,
            )
            for k, t in enumerate(scenario.overflow)
        ),
        contract=scenario.contract,
        commitments=_commitments(scenario, params, seed, replication, n_months, target_prices),
        references={
            pools_names.index(s.pool): _reference(
                scenario, s.pool, params, seed, replication, n_months
            )
            for s in scenario.strategies
            if s.pool is not None
        },
    )


def _strategies(scenario: Scenario, seed: int, replication: int) -> tuple[engine.StrategySpec, ...]:
    """The strategies as the engine runs them, each purchase's fill drawn in advance (one
    draw per decision epoch, from the strategy's own stream: the same in every sweep point
    and stress case). A savings-plan strategy buys no capacity: the engine runs none of its
    decisions (no epochs); :func:`purchase_terms` makes them from the run's usage."""
    pools = list(scenario.pools)
    out = []
    for s in scenario.strategies:
        rng = stream(seed, replication, f"strategies.{s.name}.fill", _FILL)
        fills = np.clip(s.fill.dist.sample(rng, len(s.epochs_hours)), 0.0, 1.0)
        out.append(
            engine.StrategySpec(
                pool=pools.index(s.pool) if s.pool is not None else 0,
                epochs=s.epochs_hours if s.buys == "reserved" else (),
                lookback_hours=s.lookback_hours,
                cover=s.cover,
                term_hours=s.term_hours,
                lead_hours=s.lead_hours,
                fills=tuple(float(f) for f in fills),
                max_units=s.max_units,
                initial_units=s.initial_units,
            )
        )
    return tuple(out)


def purchase_terms(
    scenario: Scenario,
    prices: metrics.Prices,
    rec: engine.EngineRecord,
    inp: engine.EngineInput,
) -> tuple[metrics.Prices, tuple[engine.Purchase, ...]]:
    """The prices with every strategy's purchases as commitments (one per strategy, a
    tranche per purchase): reserved units priced off the on-demand reference in the month of
    the decision; savings-plan dollars decided here from the run's usage (a plan buys no
    capacity, so its decisions cannot change the run: each sees the hours before it only).
    Returns the prices and every purchase (the engine's and the plans')."""
    if not scenario.strategies:
        return prices, rec.purchases
    pools = list(scenario.pools)
    extra: list[metrics.CommitmentTerms] = []
    purchases = list(rec.purchases)
    for i, s in enumerate(scenario.strategies):
        if not any(t < scenario.horizon_hours for t in s.epochs_hours):
            continue  # it never decides: the run is the scenario's without it
        if s.buys == "savings_plan":
            terms, bought = _plan_strategy(scenario, prices, rec, inp, i, extra)
            extra.append(terms)
            purchases += bought
            continue
        assert s.pool is not None
        mine = [b for b in rec.purchases if b.strategy == i and b.units > 0]
        ref = prices.references.get(pools.index(s.pool))
        tranches = []
        signed = tuple(b.decided_hours for b in mine)
        for b in mine:
            base = _at_month(ref)(b.decided_hours) if ref is not None else 0.0
            price = (1.0 - s.discount) * base
            tranches.append((b.start_hours, b.end_hours, price, float(b.units)))
        extra.append(
            metrics.CommitmentTerms(
                name=s.name,
                kind="reserved",
                pool=pools.index(s.pool),
                tranches=tuple(tranches),
                eligible=True,
                signed=signed,
            )
        )
    return replace(prices, commitments=(*prices.commitments, *extra)), tuple(purchases)


def _plan_strategy(
    scenario: Scenario,
    prices: metrics.Prices,
    rec: engine.EngineRecord,
    inp: engine.EngineInput,
    i: int,
    earlier: list[metrics.CommitmentTerms],
) -> tuple[metrics.CommitmentTerms, list[engine.Purchase]]:
    """A savings-plan strategy's purchases: at each epoch t, the ``cover`` quantile (or mean)
    of what a plan with its covers would have paid each hour over the lookback, less the
    dollars per hour of every plan active at t + lead (the scenario's own, earlier
    strategies' and its own earlier purchases); the share ``fill`` is bought (cents)."""
    s = scenario.strategies[i]
    targets = [t.name for t in scenario.overflow]
    covers = tuple((targets.index(t), f) for t, f in s.covers)
    names = names_of(scenario)
    usage = metrics.plan_usage_by_hour(rec, names, prices, covers)
    plans = [c for c in (*prices.commitments, *earlier) if c.kind == "savings_plan"]
    fills = inp.strategies[i].fills
    bought: list[tuple[float, float, float, float]] = []
    purchases: list[engine.Purchase] = []
    for k, t in enumerate(s.epochs_hours):
        if t >= scenario.horizon_hours:
            break
        at = t + s.lead_hours
        held = sum(
            price for c in plans for a, e, price, _ in c.tranches if a <= at + 1e-9 < e
        ) + sum(price for a, e, price, _ in bought if a <= at + 1e-9 < e)
        if t <= 0 and s.initial_units is not None:
            target = s.initial_units + held
        else:
            window = usage[int(max(0.0, t - s.lookback_hours)) : int(t)]
            if not len(window):
                continue
            target = float(window.mean() if s.cover < 0 else np.quantile(window, s.cover))
        ordered = round(min(max(0.0, target - held), s.max_units), 2)
        if ordered <= 0:
            continue
        delivered = round(ordered * fills[k], 2)
        if delivered > 0:
            bought.append((at, at + s.term_hours, delivered, 0.0))
        purchases.append(
            engine.Purchase(
                i, len(purchases) + 1, t, at, at + s.term_hours, 0, 0, ordered, delivered
            )
        )
    eligible = set(scenario.contract.eligible_targets)
    terms = metrics.CommitmentTerms(
        name=s.name,
        kind="savings_plan",
        pool=-1,
        tranches=tuple(bought),
        covers=covers,
        eligible=any(t in eligible for t, _ in s.covers),
        signed=tuple(p.decided_hours for p in purchases if p.usd_per_hour > 0),
    )
    return terms, purchases


def _commitments(
    scenario: Scenario,
    params: dict[str, float],
    seed: int,
    replication: int,
    n_months: int,
    target_prices: list[FloatArray],
) -> tuple[metrics.CommitmentTerms, ...]:
    """Every commitment's tranches, priced in this replication (a discount is taken off the
    pool's on-demand reference in the month a tranche starts)."""
    if not scenario.commitments:
        return ()
    H = scenario.horizon_hours
    pools = list(scenario.pools)
    targets = [t.name for t in scenario.overflow]
    eligible = set(scenario.contract.eligible_targets)
    out = []
    for c in scenario.commitments:
        reference = None
        if c.pool is not None and c.discount is not None:
            reference = _at_month(_reference(scenario, c.pool, params, seed, replication, n_months))
        tr = tranches.priced(c, H, reference)
        out.append(
            metrics.CommitmentTerms(
                name=c.name,
                kind=c.kind,
                pool=pools.index(c.pool) if c.pool is not None else -1,
                tranches=tuple((t.start, t.end, t.price, t.units) for t in tr),
                units=c.units,
                upfront_fraction=c.upfront_fraction,
                capex_per_unit=c.capex_usd_per_unit,
                covers=tuple((targets.index(t), f) for t, f in c.covers),
                eligible=c.kind == "reserved" or any(t in eligible for t, _ in c.covers),
            )
        )
    return tuple(out)


def _reference(
    scenario: Scenario,
    pool: str,
    params: dict[str, float],
    seed: int,
    replication: int,
    n_months: int,
) -> FloatArray:
    """A pool's on-demand reference price by month: its on_demand_price_per_unit_hour moved
    by the pool's price path (its change, steps and volatility, not its generations), else
    its first overflow target's price."""
    p = scenario.pools[pool]
    if p.on_demand_price_per_unit_hour is not None:
        factor = _path(
            p.price_per_unit_hour.path, params, p.price_path, seed, replication, n_months, base=1.0
        )
        od: FloatArray = params[p.on_demand_price_per_unit_hour.path] * factor
        return od
    k = next(i for i, t in enumerate(scenario.overflow) if t.pool == pool)
    t = scenario.overflow[k]
    return _path(t.price_per_unit_hour.path, params, t.price_path, seed, replication, n_months)


def _at_month(prices: FloatArray) -> Callable[[float], float]:
    def at(hour: float) -> float:
        m = min(int(hour // calendar.HOURS_PER_MONTH), len(prices) - 1)
        return float(prices[max(m, 0)])

    return at


_PRICE, _AVAILABILITY, _FILL = 5, 6, 10  # seed-tree components (see sim.workload)


def _capacity(drawn: float) -> float:
    """An overflow target's capacity: whole units, or inf for unlimited."""
    return drawn if math.isinf(drawn) else float(math.floor(drawn))


def _path(
    key: str,
    params: dict[str, float],
    path: PricePath | None,
    seed: int,
    replication: int,
    n_months: int,
    generations: tuple[Generation, ...] = (),
    base: float | None = None,
) -> FloatArray:
    """The price path of ``key`` by month (from ``base`` instead of its price if given: the
    same draws, as a multiplier)."""
    rng = stream(seed, replication, key, _PRICE)
    start = params[key] if base is None else base
    return contract.price_path(start, path, params, n_months, rng, generations)
