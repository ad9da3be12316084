"""The terminal's tables: a run's summary, offered work, a sweep, an optimisation and a
stress study."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table

from sim import fmt
from sim.results import RunResult
from sim.scenario import Scenario


def summary_table(result: RunResult) -> Table:
    """The headline metrics of a run, for the terminal."""
    s = result.summary()
    sc = result.scenario
    table = Table(
        title=f"{sc.name}: {result.n} replications, {sc.years:g} years, seed {result.seed}",
        title_justify="left",
    )
    adj = result.adjusted()
    columns = [
        ("metric", "left"),
        (f"mean of {result.n} runs", "right"),
        ("95% CI of mean", "right"),
    ]
    if adj:
        columns.append(("adjusted mean [95% CI]", "right"))
    columns.append(("P10 – P90 (range)", "right"))
    for col, just in columns:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    if adj:
        table.caption = (
            "adjusted: control-variate estimate (the luck of arrivals and of the drawn "
            "parameters taken out): the same runs, a tighter interval"
        )
        table.caption_justify = "left"

    def row(label: str, key: str, f: Callable[[float], str]) -> None:
        if key not in s:
            return
        st = s[key]
        ci = "" if math.isnan(st["ci95_low"]) else f"{f(st['ci95_low'])} – {f(st['ci95_high'])}"
        cells = [label, f(st["mean"]), ci]
        if adj:
            a = adj.get(key)
            cells.append(f"{f(a['mean'])} [{f(a['ci95_low'])} – {f(a['ci95_high'])}]" if a else "")
        cells.append(f"{f(st['p10'])} – {f(st['p90'])}")
        table.add_row(*cells)

    row("total spend", "spend_usd.total", fmt.usd)
    row("  reserved", "spend_usd.reserved", fmt.usd)
    for c in sc.commitments:
        if c.kind == "reserved":
            row(f"    {c.name} (tranche)", f"spend_usd.commitment.{c.name}", fmt.usd)
    for st in sc.strategies:
        row(f"    {st.name} (strategy purchases)", f"spend_usd.commitment.{st.name}", fmt.usd)
    if any(c.kind == "owned" for c in sc.commitments):
        row("  owned (capex + opex − residual)", "spend_usd.owned", fmt.usd)
    if any(c.kind == "savings_plan" for c in sc.commitments):
        row("  savings plans", "spend_usd.savings_plans", fmt.usd)
        for c in sc.commitments:
            if c.kind == "savings_plan":
                row(f"    {c.name}: unused commitment", f"sp_unused_usd.{c.name}", fmt.usd)
    row("  overflow", "spend_usd.overflow", fmt.usd)
    for t in sc.overflow:
        row(f"    {t.name}", f"spend_usd.overflow.{t.name}", fmt.usd)
    for p in sc.pools.values():
        if s.get(f"spend_usd.overhang.{p.name}", {}).get("mean", 0.0) > 0:
            row(f"    overhang: {p.name} (on-demand)", f"spend_usd.overhang.{p.name}", fmt.usd)
    if sc.contract.commitment_usd:
        row("  shortfall (take-or-pay)", "spend_usd.shortfall", fmt.usd)
        row("commitment attainment", "commit_attainment", fmt.pct)
    row("commitments beyond the horizon (lock-in)", "commitment_beyond_horizon_usd", fmt.usd)
    row(f"net present value ({sc.contract.discount_rate:.0%}/yr)", "npv_usd.total", fmt.usd)
    row("effective savings rate vs on-demand", "esr", fmt.pct)
    for p in sc.pools.values():
        table.add_section()
        row(f"{p.name}: utilization", f"utilization.{p.name}", fmt.pct)
        row(f"{p.name}: coverage", f"coverage.{p.name}", fmt.pct)
        row(f"{p.name}: idle {p.unit}-hours", f"idle_unit_hours.{p.name}", fmt.quantity)
        row(f"{p.name}: idle spend", f"idle_spend_usd.{p.name}", fmt.usd)
        row(f"{p.name}: overflow {p.unit}-hours", f"overflow_unit_hours.{p.name}", fmt.quantity)
        if p.work_per_unit_hour:
            row(
                f"{p.name}: cost per million {p.work_unit}s",
                f"cost_per_work_unit_usd.{p.name}",
                lambda x: fmt.usd(x * 1e6),
            )
    for name, w in sc.workloads.items():
        table.add_section()
        if w.kind == "demand":
            row(f"{name}: unserved unit-hours", f"unserved_unit_hours.{name}", fmt.quantity)
            continue
        row(f"{name}: jobs", f"jobs_arrived.{name}", fmt.quantity)
        row(f"{name}: wait p50 (h, per run)", f"wait_hours.{name}.p50", fmt.quantity)
        row(f"{name}: wait p95 (h, per run)", f"wait_hours.{name}.p95", fmt.quantity)
        row(f"{name}: overflowed jobs", f"jobs_overflowed.{name}", fmt.quantity)
        row(f"{name}: unfinished at horizon", f"jobs_unfinished.{name}", fmt.quantity)
        row(f"{name}: still queued at horizon", f"jobs_censored.{name}", fmt.quantity)
    return table


def idle_by_year_table(result: RunResult) -> Table | None:
    """Idle reserved capacity by contract year and pool: unit-hours and dollars (mean of the
    runs, P10–P90 of the dollars), the terminal's view of the idle-by-year figure."""
    ts = result.timeseries
    if ts is None or ts.empty or "idle_unit_hours" not in ts:
        return None
    ts = ts.assign(year=ts["month"] // 12 + 1)
    per = ts.groupby(["pool", "year", "replication"])[["idle_unit_hours", "idle_spend_usd"]].sum()
    g = per.groupby(level=["pool", "year"])
    mean = g.mean()
    low: dict[Any, float] = dict(zip(mean.index, g["idle_spend_usd"].quantile(0.1), strict=True))
    high: dict[Any, float] = dict(zip(mean.index, g["idle_spend_usd"].quantile(0.9), strict=True))
    units = {p.name: p.unit for p in result.scenario.pools.values()}
    table = Table(
        title="idle reserved capacity by contract year (mean of the runs)", title_justify="left"
    )
    for col, just in (("pool", "left"), ("year", "right"), ("idle unit-hours", "right"),
                      ("idle spend", "right"), ("P10 – P90", "right")):  # fmt: skip
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    rows = zip(mean.index, mean["idle_unit_hours"], mean["idle_spend_usd"], strict=True)
    for key, hours, dollars in rows:
        pool, year = key
        if hours <= 0 and high[key] <= 0:
            continue
        table.add_row(
            str(pool),
            str(year),
            f"{fmt.quantity(float(hours))} {units.get(str(pool), 'unit')}-h",
            fmt.usd(float(dollars)),
            f"{fmt.usd(low[key])} – {fmt.usd(high[key])}",
        )
    return table if table.row_count else None


def offered_work_table(scenario: Scenario, base: Scenario | None = None) -> Table:
    """Expected offered work per workload and contract year (and the change from a base)."""
    from sim.workload import offered_work_by_year

    work = offered_work_by_year(scenario)
    before = offered_work_by_year(base) if base is not None else None
    n_years = len(next(iter(work.values())))
    table = Table(
        title="expected offered work per contract year (unit-hours at reference speed)"
        + (f"; change from {base.name}" if base is not None else ""),
        title_justify="left",
    )
    table.add_column("workload")
    for y in range(n_years):
        table.add_column(f"year {y + 1}", justify="right")
    for name, w in work.items():
        unit = scenario.pools[scenario.workloads[name].pool].unit
        cells = [fmt.quantity(v) for v in w]
        if before is not None and name in before:
            cells = [
                f"{c} ({(v / b - 1) * 100:+.0f}%)" if b > 0 else c
                for c, v, b in zip(cells, w, before[name], strict=True)
            ]
        table.add_row(f"{name} ({unit})", *cells)
    return table


def case_digest(fp: dict[str, Any]) -> str:
    """One digest of a case: its resolved scenario and the bytes of its data files."""
    import hashlib
    import json

    return hashlib.sha256(
        json.dumps([fp["scenario_sha256"], fp["data_files"]], sort_keys=True).encode()
    ).hexdigest()


SHOW_HINT = (
    "other metrics: --show PATTERN (repeatable, * matches any part, e.g. --show "
    "'utilization.*' --show 'wait_hours.*.p99'); every metric with its interval: "
    "summary.json, the report, or capsim export DIR"
)


def shown(names: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The metrics among ``names`` that match any of the glob ``patterns``, in order."""
    return [m for m in names if any(fnmatch.fnmatchcase(m, p) for p in patterns)]


def stress_tables(summary: dict[str, Any], show: Sequence[str] = ()) -> list[Table]:
    """Two tables of the cases (money; capacity and service) with the headline metrics
    that some case moves: spend and its parts, idle dollars and chip-hours per pool,
    overflow per pool and the p95 wait of every workload; a third with ``show``'s matches.
    Each row: the baseline's levels, then each case's paired change (± half its 95 % CI)."""
    first = summary["cases"][0]["change"]
    names = list(first)
    money = [
        "spend_usd.total", "spend_usd.reserved", "spend_usd.overflow", "spend_usd.shortfall",
        *shown(names, ["idle_spend_usd.*"]), "esr",
    ]  # fmt: skip
    service = shown(names, ["idle_unit_hours.*", "overflow_unit_hours.*", "wait_hours.*.p95"])
    service = [m for m in service if not m.startswith("overflow_unit_hours.target.")]
    groups = [("money", money), ("capacity and service", service)]
    picked = shown(names, show)
    if picked:
        groups.append(("asked for", picked))
    tables = [_stress_table(summary, title, ms) for title, ms in groups]
    tables[-1].caption = SHOW_HINT + (
        f"\n--show {', '.join(show)}: matches no metric (the names are in summary.json)"
        if show and not picked
        else ""
    )
    tables[-1].caption_justify = "left"
    return tables


def _stress_table(summary: dict[str, Any], what: str, wanted: Sequence[str]) -> Table:
    cases = summary["cases"]
    first = cases[0]["change"]
    metrics = [
        m
        for m in wanted
        if m in first
        and not all(c["change"][m]["mean"] == 0 and c["change"][m]["sd"] == 0 for c in cases[1:])
    ]
    table = Table(
        title=(
            f"stress cases, {what}: the baseline's mean, and each case's mean change against "
            f"it (paired replications, {summary.get('replications', '?')} each; ± half the 95% CI)"
        ),
        title_justify="left",
    )
    table.add_column("case", no_wrap=True)
    for m in metrics:
        table.add_column(fmt.metric_label(m), justify="right", overflow="fold")
    table.add_row(
        cases[0]["case"], *[fmt.metric_value(cases[0]["metrics"][m]["mean"], m) for m in metrics]
    )
    for c in cases[1:]:
        cells = []
        for m in metrics:
            ch = c["change"][m]
            half = (ch["ci95_high"] - ch["ci95_low"]) / 2
            spread = (
                ""
                if not half or math.isnan(half)
                else f"\n± {fmt.metric_change(half, m).lstrip('+')}"
            )
            cells.append(fmt.metric_change(ch["mean"], m) + spread)
        table.add_row(c["case"], *cells)
    return table


def compare_table(summary: dict[str, Any]) -> Table:
    """Alternatives × cases: each cell's objective, and under it the alternative's regret
    against that case's best (± half its 95 % CI); a last column with the worst-case regret."""
    alts, cases = summary["alternatives"], summary["cases"]
    metric = summary["objective_metric"]
    objective = summary["objective"]
    table = Table(
        title=(
            f"{objective} of {fmt.metric_label(metric)} per alternative and case; under it, "
            f"regret against the case's best (paired, {summary.get('replications', '?')} "
            "replications; ± half the 95% CI); ✗ breaks a constraint"
        ),
        title_justify="left",
    )
    table.add_column("alternative", no_wrap=True)
    for k in cases:
        table.add_column(k, justify="right", overflow="fold")
    table.add_column("worst-case regret", justify="right", overflow="fold")
    table.add_column("lock-in beyond horizon", justify="right")
    for a in alts:
        cells = []
        for k in cases:
            c = summary["cells"][a][k]
            r = summary["regret"][a][k]
            half = (r["ci95_high"] - r["ci95_low"]) / 2
            mark = "" if c["feasible"] else " ✗"
            best = " (best)" if summary["best"][k] == a else ""
            value = fmt.metric_value(c["objective_value"], metric) + mark
            if best:
                cells.append(f"{value}\n{best.strip()}")
            else:
                tiny = math.isnan(half) or half <= 1e-9 * max(1.0, abs(c["objective_value"]))
                pm = fmt.metric_change(half, metric).lstrip("+")
                spread = "" if tiny else f" ± {pm}"
                cells.append(f"{value}\n{fmt.metric_change(r['mean'], metric)}{spread}")
        w = summary["worst_case_regret"][a]
        cells.append(f"{fmt.metric_change(w['mean'], metric)}\n({w['case']})")
        lock = summary["cells"][a][cases[0]]["metrics"].get("commitment_beyond_horizon_usd", {})
        cells.append(fmt.usd(lock.get("mean", 0.0)))
        table.add_row(a, *cells)
    table.caption = (
        f"best as planned (base case): {summary['best_as_planned']}; least worst-case regret "
        f"(minimax regret): {summary['minimax_regret']}"
    )
    table.caption_justify = "left"
    return table
