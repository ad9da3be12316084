"""Building a :class:`Scenario` from its TOML tables: the sections in order, scheduled
changes and shocks, and the checks that span sections (the parts are built by
:mod:`sim.scenario.supply` and :mod:`sim.scenario.demand`)."""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.demand import _build_workload, _fit_warnings, _trace_warnings
from sim.scenario.model import (
    PLACEMENTS,
    QUEUES,
    Change,
    OverflowTarget,
    Policy,
    Pool,
    Scenario,
    Shock,
    TraceWorkload,
    Workload,
)
from sim.scenario.supply import _build_contract, _build_pool, _build_target
from sim.scenario.tables import _SECTIONS, _distribution, _Table
from sim.scenario.values import _fmt, _safe_name


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
    scen_kwargs = _scenario_table(top)
    years = scen_kwargs["years"]
    pools_raw = top.get("pools", required=True)
    if not isinstance(pools_raw, dict) or not pools_raw:
        raise top.err("pools", "must hold at least one [pools.NAME] table")
    for n in pools_raw:
        _safe_name(where, f"pools.{n}", n)
    pools = {n: _build_pool(where, n, d, years, base) for n, d in pools_raw.items()}
    over_raw = top.get("overflow", [])
    if not isinstance(over_raw, list):
        raise top.err("overflow", "must be an array of tables: [[overflow]]")
    targets = _targets(top, over_raw, pools, base, years)
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
        **scen_kwargs,
    )


def _scenario_table(top: _Table) -> dict[str, Any]:
    """The [scenario] table's values, checked."""
    where = top.where
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
    return scen_kwargs


def _targets(
    top: _Table, over_raw: list[Any], pools: dict[str, Pool], base: Path, years: float
) -> tuple[OverflowTarget, ...]:
    """The [[overflow]] targets, in order, with names unique among pools and targets."""
    where = top.where
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
    return targets


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
