"""Building a :class:`Scenario`: validate the document (:mod:`sim.scenario.document`),
then build its sections in order with the checks that span sections: names that must
exist, unique target names, schedules as long as the horizon, what a change or shock
selects (the parts are built by :mod:`sim.scenario.supply` and
:mod:`sim.scenario.demand`)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.calendar import HOURS_PER_YEAR
from sim.errors import ScenarioError, did_you_mean
from sim.scenario.commit import build_commitments, build_strategies
from sim.scenario.demand import build_workload, fit_warnings, trace_warnings
from sim.scenario.doc_demand import ChangeDoc, Selected, ShockDoc
from sim.scenario.doc_supply import TargetDoc
from sim.scenario.document import read_document
from sim.scenario.model import (
    Change,
    OverflowTarget,
    Policy,
    Pool,
    Scenario,
    Shock,
    TraceWorkload,
    Workload,
)
from sim.scenario.supply import build_contract, build_pool, build_target
from sim.scenario.tables import DataFolder, Reader


def scenario_from_dict(
    data: dict[str, Any],
    source: str = "<scenario>",
    base_dir: Path | None = None,
    allow_external_data: bool = False,
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
    allow_external_data : bool
        Whether data files may lie outside that folder (``--allow-external-data``); the
        scenario keeps it, so that a scenario derived from it (``with_overrides``) reads
        its files the same way.
    """
    where = source
    base = DataFolder(base_dir if base_dir is not None else Path("."), allow_external_data)
    doc = read_document(data, where)
    meta = doc.scenario
    if meta.replace_workloads:
        raise ScenarioError(
            where,
            "scenario.replace_workloads",
            "is for a stress or alternative file merged over a base (capsim stress, compare, "
            "validate --base): a scenario of its own has no base workloads to replace",
        )
    years = meta.years
    pools = {n: build_pool(where, n, d, years, base) for n, d in doc.pools.items()}
    targets = _targets(where, doc.overflow, pools, base)
    workloads = {
        n: build_workload(where, n, d, pools, base, years) for n, d in doc.workloads.items()
    }
    changes = tuple(
        _build_change(where, i, d, pools, workloads, base) for i, d in enumerate(doc.changes)
    )
    shocks = tuple(
        _build_shock(where, i, d, pools, workloads, base) for i, d in enumerate(doc.shocks)
    )
    policy = Policy(doc.policy.queue, doc.policy.placement, doc.policy.backfill_depth)
    contract = build_contract(where, doc.contract, years, targets)
    commitments = build_commitments(where, doc.commitments, pools, targets)
    strategies = build_strategies(
        where, doc.strategies, pools, targets, years, base, {c.name for c in commitments}
    )
    return Scenario(
        name=meta.name,
        description=meta.description,
        start=meta.start,
        years=years,
        replications=meta.replications,
        seed=meta.seed,
        base_dir=base.path,
        allow_external_data=allow_external_data,
        contract=contract,
        pools=pools,
        overflow=targets,
        workloads=workloads,
        policy=policy,
        source=source,
        raw=copy.deepcopy(data),
        changes=changes,
        shocks=shocks,
        commitments=commitments,
        strategies=strategies,
        warnings=(*trace_warnings(workloads, years), *fit_warnings(pools, targets, workloads)),
    )


def _targets(
    where: str, docs: list[TargetDoc], pools: dict[str, Pool], base: DataFolder
) -> tuple[OverflowTarget, ...]:
    """The [[overflow]] targets, in order, with names unique among pools and targets."""
    targets = tuple(build_target(where, d, pools, base) for d in docs)
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


def _select(
    t: Reader, pools: Mapping[str, Pool], workloads: Mapping[str, Workload]
) -> tuple[str, ...]:
    """The workloads a change or shock applies to: ``pool``, ``workload`` (a name or a
    list), or neither (every jobs and demand workload)."""
    doc = t.doc
    assert isinstance(doc, Selected)
    shaped = [n for n, w in workloads.items() if not isinstance(w, TraceWorkload)]
    if doc.pool is not None:
        t.known_pool(doc.pool, pools)
        return tuple(n for n in shaped if workloads[n].pool == doc.pool)
    if doc.workload is None:
        return tuple(shaped)
    names = doc.workload if isinstance(doc.workload, list) else [doc.workload]
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
    doc: ChangeDoc,
    pools: Mapping[str, Pool],
    workloads: Mapping[str, Workload],
    base: DataFolder,
) -> Change:
    t = Reader(where, f"changes[{i}]", doc, base)
    selected = _select(t, pools, workloads)
    factor = t.param("factor")
    if doc.at_years is not None:
        at = doc.at_years * HOURS_PER_YEAR
        return Change(selected, "step", at, at, factor)
    assert doc.start_years is not None and doc.end_years is not None
    return Change(
        selected,
        "ramp",
        doc.start_years * HOURS_PER_YEAR,
        doc.end_years * HOURS_PER_YEAR,
        factor,
    )


def _build_shock(
    where: str,
    i: int,
    doc: ShockDoc,
    pools: Mapping[str, Pool],
    workloads: Mapping[str, Workload],
    base: DataFolder,
) -> Shock:
    t = Reader(where, f"shocks[{i}]", doc, base)
    selected = _select(t, pools, workloads)
    return Shock(
        f"shocks[{i}]",
        selected,
        t.param("per_year"),
        t.dist("factor"),
        t.dist("duration_years"),
    )
