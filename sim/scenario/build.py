"""Building a :class:`Scenario` from its TOML tables: every check, every message."""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.calendar import HOURS_PER_YEAR
from sim.distributions import (
    Choice,
    Empirical,
    Fixed,
)
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.files import _data_path, _read_column, _read_trace
from sim.scenario.model import (
    MAX_INSTANCES,
    PLACEMENTS,
    QUEUES,
    Change,
    Contract,
    Delivery,
    DemandWorkload,
    Generation,
    JobsWorkload,
    OverflowTarget,
    ParamSpec,
    Policy,
    Pool,
    PricePath,
    Scenario,
    Shock,
    TraceWorkload,
    Workload,
)
from sim.scenario.tables import _SECTIONS, _distribution, _Table
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


def _build_pool(where: str, name: str, data: Any, years: float, base_dir: Path) -> Pool:
    t = _Table(where, f"pools.{name}", data, _POOL_KEYS, base_dir)
    unit = t.string("unit", "unit")
    m = t.integer("instance_units", 1, low=1)
    scale = t.number("reserved_scale", 1.0, low=0.0)
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
    price = t.param("price_per_unit_hour", low=0.0)
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


def _growth(t: _Table, years: float) -> tuple[ParamSpec, ...]:
    """``growth_per_year``: one rate (number or distribution), or a list with one per
    contract year of the horizon (entries past it are ignored)."""
    raw = t.get("growth_per_year", 0.0)
    if not isinstance(raw, list):
        return (t.param("growth_per_year", 0.0, low=-0.99),)
    n_years = max(1, math.ceil(years - 1e-9))
    if len(raw) < n_years:
        raise t.err(
            "growth_per_year",
            f"gives {len(raw)} contract years but the horizon has {n_years}; "
            "give one rate per year or a single rate",
        )
    out = []
    for i, value in enumerate(raw[:n_years]):
        path = t.sub(f"growth_per_year[{i}]")
        dist = _distribution(t.where, path, value, -0.99, math.inf, False, t.base_dir)
        out.append(ParamSpec(path, dist, -0.99))
    return tuple(out)


def _build_workload(
    where: str, name: str, data: Any, pools: Mapping[str, Pool], base_dir: Path, years: float
) -> Workload:
    path = f"workloads.{name}"
    if not isinstance(data, dict):
        raise ScenarioError(where, path, f"must be a table, got {data!r}")
    kinds = ("jobs", "demand", "trace")
    kind = data.get("kind")
    if kind not in kinds:
        raise ScenarioError(
            where,
            f"{path}.kind",
            f"must be one of {', '.join(kinds)}, got {kind!r}{did_you_mean(str(kind), kinds)}",
        )
    common = ("kind", "pool")
    keys: tuple[str, ...]
    if kind == "jobs":
        keys = (
            "arrivals_per_day",
            "growth_per_year",
            "units",
            "duration_hours",
            "max_wait_hours",
            "priority",
            "daily_amplitude",
            "weekly_amplitude",
        )
    elif kind == "trace":
        keys = ("file", "max_wait_hours", "priority")
    elif "file" in data:
        keys = ("file", "column", "growth_per_year", "noise_cv")
        for synthetic in ("demand_units", "daily_amplitude", "weekly_amplitude"):
            if synthetic in data:
                raise ScenarioError(
                    where,
                    f"{path}.{synthetic}",
                    "is not allowed with 'file': a recorded demand keeps its own shape "
                    "(use growth_per_year and noise_cv, or drop 'file')",
                )
    else:
        keys = (
            "demand_units",
            "growth_per_year",
            "daily_amplitude",
            "weekly_amplitude",
            "noise_cv",
        )
    t = _Table(where, path, data, (*common, *keys), base_dir)
    pool = t.string("pool")
    if pool not in pools:
        raise t.err(
            "pool",
            f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
        )
    growth = _growth(t, years)
    if kind == "jobs":
        return JobsWorkload(
            name=name,
            pool=pool,
            arrivals_per_day=t.param("arrivals_per_day", low=0.0),
            growth_per_year=growth,
            units=_distribution(
                where, t.sub("units"), t.get("units", required=True), 0.0, math.inf, True, base_dir
            ),
            duration_hours=_distribution(
                where,
                t.sub("duration_hours"),
                t.get("duration_hours", required=True),
                0.0,
                math.inf,
                False,
                base_dir,
            ),
            max_wait_hours=t.param("max_wait_hours", math.inf, low=0.0, allow_inf=True),
            priority=t.integer("priority", 0),
            daily_amplitude=t.param("daily_amplitude", 0.0, low=0.0, high=1.0),
            weekly_amplitude=t.param("weekly_amplitude", 0.0, low=0.0, high=1.0),
        )
    if kind == "trace":
        file = t.string("file")
        cols = _read_trace(
            where,
            t.sub("file"),
            _data_path(where, t.sub("file"), base_dir, file),
            t.number("max_wait_hours", math.inf, low=0.0, allow_inf=True),
            t.integer("priority", 0),
        )
        return TraceWorkload(
            name,
            pool,
            file,
            cols["submit_hours"],
            cols["units"],
            cols["duration_hours"],
            cols["max_wait_hours"],
            cols["priority"],
        )
    if t.has("file"):
        file = t.string("file")
        recording = _read_column(
            where,
            t.sub("file"),
            _data_path(where, t.sub("file"), base_dir, file),
            t.string("column", "units"),
        )
        if np.any(recording < 0):
            bad = int(np.argmax(recording < 0))
            raise ScenarioError(
                str(base_dir / file),
                f"line {bad + 2}",
                f"demand must be >= 0, got {recording[bad]}",
            )
        return DemandWorkload(
            name=name,
            pool=pool,
            demand_units=None,
            growth_per_year=growth,
            daily_amplitude=ParamSpec(t.sub("daily_amplitude"), Fixed(0.0)),
            weekly_amplitude=ParamSpec(t.sub("weekly_amplitude"), Fixed(0.0)),
            noise_cv=t.param("noise_cv", 0.0, low=0.0),
            file=file,
            recording=recording,
        )
    daily = t.param("daily_amplitude", 0.0, low=0.0, high=1.0)
    weekly = t.param("weekly_amplitude", 0.0, low=0.0, high=1.0)
    return DemandWorkload(
        name=name,
        pool=pool,
        demand_units=t.param("demand_units", low=0.0),
        growth_per_year=growth,
        daily_amplitude=daily,
        weekly_amplitude=weekly,
        noise_cv=t.param("noise_cv", 0.0, low=0.0),
    )


def scenario_from_dict(
    data: dict[str, Any], source: str = "<scenario>", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as a dict (as parsed from TOML) and build it.

    Parameters
    ----------
    data : dict
        The parsed TOML.
    source : str
        Name used in error messages (normally the file path).
    base_dir : Path, optional
        Folder that relative data-file paths are resolved against.
    """
    where = source
    base = base_dir if base_dir is not None else Path(".")
    top = _Table(where, "", data, _SECTIONS)
    s = _Table(
        where,
        "scenario",
        top.get("scenario", required=True),
        ("name", "description", "start", "years", "replications", "seed"),
    )
    name = s.string("name")
    _safe_name(where, "scenario.name", name)
    start = s.get("start", dt.date(2026, 1, 1))
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise s.err("start", f"must be a TOML date like 2026-07-01, got {start!r}")
    years = s.number("years", 7.0, low=0.0, low_open=True, high=50.0)
    scen_kwargs = dict(
        name=name,
        description=s.string("description", ""),
        start=start,
        years=years,
        replications=s.integer("replications", 100, low=1),
        seed=s.integer("seed", 0, low=0),
    )
    pools_raw = top.get("pools", required=True)
    if not isinstance(pools_raw, dict) or not pools_raw:
        raise top.err("pools", "must hold at least one [pools.NAME] table")
    for n in pools_raw:
        _safe_name(where, f"pools.{n}", n)
    pools = {n: _build_pool(where, n, d, years, base) for n, d in pools_raw.items()}
    over_raw = top.get("overflow", [])
    if not isinstance(over_raw, list):
        raise top.err("overflow", "must be an array of tables: [[overflow]]")
    targets = tuple(_build_target(where, i, d, pools, base, years) for i, d in enumerate(over_raw))
    seen: set[str] = set()
    for tg in targets:
        if tg.name in seen or tg.name in pools:
            raise ScenarioError(
                where,
                f"overflow.{tg.name}.name",
                f"must be unique among pools and targets, got {tg.name!r}",
            )
        seen.add(tg.name)
    wl_raw = top.get("workloads", required=True)
    if not isinstance(wl_raw, dict) or not wl_raw:
        raise top.err("workloads", "must hold at least one [workloads.NAME] table")
    for n in wl_raw:
        _safe_name(where, f"workloads.{n}", n)
    workloads = {n: _build_workload(where, n, d, pools, base, years) for n, d in wl_raw.items()}
    changes = tuple(
        _build_change(where, i, d, pools, workloads) for i, d in enumerate(_array(top, "changes"))
    )
    shocks = tuple(
        _build_shock(where, i, d, pools, workloads, base)
        for i, d in enumerate(_array(top, "shocks"))
    )
    p = _Table(where, "policy", top.get("policy", {}), ("queue", "placement", "backfill_depth"))
    policy = Policy(
        p.string("queue", "fifo", QUEUES),
        p.string("placement", "best-fit", PLACEMENTS),
        p.integer("backfill_depth", 100, low=1),
    )
    contract = _build_contract(where, top.get("contract", {}), years, targets)
    return Scenario(
        base_dir=base,
        contract=contract,
        pools=pools,
        overflow=targets,
        workloads=workloads,
        policy=policy,
        source=source,
        raw=copy.deepcopy(data),
        changes=changes,
        shocks=shocks,
        warnings=(*_trace_warnings(workloads, years), *_fit_warnings(pools, targets, workloads)),
        **scen_kwargs,  # type: ignore[arg-type]
    )


def _array(top: _Table, key: str) -> list[Any]:
    raw = top.get(key, [])
    if not isinstance(raw, list):
        raise top.err(key, f"must be an array of tables: [[{key}]]")
    return raw


def _select(
    t: _Table, pools: Mapping[str, Pool], workloads: Mapping[str, Workload]
) -> tuple[str, ...]:
    """The workloads a change or shock applies to: ``pool``, ``workload`` (a name or a
    list), or neither (every jobs and demand workload)."""
    if t.has("pool") and t.has("workload"):
        raise t.err("workload", "give pool or workload, not both")
    shaped = [n for n, w in workloads.items() if not isinstance(w, TraceWorkload)]
    if t.has("pool"):
        pool = t.string("pool")
        if pool not in pools:
            raise t.err(
                "pool",
                f"names no pool: {pool!r}{did_you_mean(pool, pools)}; pools: {', '.join(pools)}",
            )
        return tuple(n for n in shaped if workloads[n].pool == pool)
    if not t.has("workload"):
        return tuple(shaped)
    raw = t.get("workload")
    names = raw if isinstance(raw, list) else [raw]
    if not names or not all(isinstance(n, str) for n in names):
        raise t.err("workload", f"must be a workload name or a list of names, got {raw!r}")
    for n in names:
        if n not in workloads:
            raise t.err(
                "workload",
                f"names no workload: {n!r}{did_you_mean(n, workloads)}; "
                f"workloads: {', '.join(workloads)}",
            )
        if isinstance(workloads[n], TraceWorkload):
            raise t.err(
                "workload",
                f"{n!r} replays a trace as recorded: changes and shocks apply to jobs and "
                "demand workloads",
            )
    return tuple(dict.fromkeys(names))


def _build_change(
    where: str,
    i: int,
    data: Any,
    pools: Mapping[str, Pool],
    workloads: Mapping[str, Workload],
) -> Change:
    t = _Table(
        where,
        f"changes[{i}]",
        data,
        ("pool", "workload", "at_years", "start_years", "end_years", "factor"),
    )
    selected = _select(t, pools, workloads)
    factor = t.param("factor", low=0.0)
    if t.has("at_years"):
        for key in ("start_years", "end_years"):
            if t.has(key):
                raise t.err(key, "give at_years (a step) or start_years and end_years (a ramp)")
        at = t.number("at_years", low=0.0) * HOURS_PER_YEAR
        return Change(selected, "step", at, at, factor)
    if not (t.has("start_years") and t.has("end_years")):
        raise t.err(
            "at_years", "is required (a step), or start_years and end_years (a linear ramp)"
        )
    start = t.number("start_years", low=0.0)
    end = t.number("end_years", low=0.0)
    if end <= start:
        raise t.err("end_years", f"must be > start_years ({_fmt(start)}), got {_fmt(end)}")
    return Change(selected, "ramp", start * HOURS_PER_YEAR, end * HOURS_PER_YEAR, factor)


def _build_shock(
    where: str,
    i: int,
    data: Any,
    pools: Mapping[str, Pool],
    workloads: Mapping[str, Workload],
    base_dir: Path,
) -> Shock:
    t = _Table(
        where,
        f"shocks[{i}]",
        data,
        ("pool", "workload", "per_year", "factor", "duration_years"),
        base_dir,
    )
    selected = _select(t, pools, workloads)
    return Shock(
        f"shocks[{i}]",
        selected,
        t.param("per_year", low=0.0),
        _distribution(where, t.sub("factor"), t.get("factor", required=True), 0.0),
        _distribution(
            where,
            t.sub("duration_years"),
            t.get("duration_years", required=True),
            0.0,
            math.inf,
            True,
        ),
    )


def _fit_warnings(
    pools: Mapping[str, Pool],
    targets: tuple[OverflowTarget, ...],
    workloads: Mapping[str, Workload],
) -> list[str]:
    """Jobs too large for the pool and every overflow target: they can never start."""
    out = []
    for name, w in workloads.items():
        if isinstance(w, JobsWorkload):
            d = w.units
            if isinstance(d, Choice):
                sizes = np.asarray(d.values)[np.asarray(d.weights) > 0]
            elif isinstance(d, Fixed | Empirical):
                sizes = np.asarray([d.value] if isinstance(d, Fixed) else d.values)
            else:
                continue  # an unbounded distribution: no certain answer
        elif isinstance(w, TraceWorkload):
            sizes = w.units
        else:
            continue
        pool = pools[w.pool]
        m = pool.instance_units
        room = max(pool.reserved) if pool.reserved else 0
        caps = [t.capacity.dist for t in targets if t.pool == w.pool]
        if any(not c.is_fixed for c in caps):
            continue  # a drawn capacity: leave it to the run
        widest = max([room, *[c.mean() for c in caps]])
        units = np.ceil(np.asarray(sizes, dtype=float) - 1e-9)
        need = np.where(units > m, np.ceil(units / m) * m, units)
        never = need > widest
        if never.any():
            what = (
                f"{int(never.sum())} of {len(sizes)} trace rows need"
                if isinstance(w, TraceWorkload)
                else f"jobs of {_fmt(float(units[never].min()))} units or more need"
            )
            out.append(
                f"workloads.{name}: {what} more than the pool ever reserves "
                f"({_fmt(room)}) or any overflow target holds: they can never start and will "
                "count as still queued at the horizon"
            )
    return out


def _trace_warnings(workloads: Mapping[str, Workload], years: float) -> list[str]:
    out = []
    for name, w in workloads.items():
        if isinstance(w, TraceWorkload):
            late = int(np.sum(w.submit_hours >= years * HOURS_PER_YEAR))
            if late:
                out.append(
                    f"workloads.{name}: {late} of {len(w.submit_hours)} trace rows are "
                    f"submitted at or after the horizon ({_fmt(years)} years) and are left out"
                )
    return out


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
