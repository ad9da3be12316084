"""The terminal tables of sizing studies: a sweep's frontier and an optimisation's ramp,
with what their decision rules settled and what they left in doubt."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from sim import fmt
from sim.cli.tables import SHOW_HINT, shown


def _certainty_notes(s: dict[str, Any]) -> str:
    """For each chance constraint that the replications used cannot show met with 95 %
    confidence even when every run meets it: how many it would take."""
    from sim.sweep import parse_constraint, replications_for_certainty, wilson

    n = int(s.get("replications", 0) or 0)
    notes = ""
    for text in s.get("constraints", []):
        c = parse_constraint(text)
        if c.kind != "chance":
            continue
        need = replications_for_certainty(c.level)
        if n < need:
            best = wilson(n, n)[0] if n else 0.0
            notes += (
                f"\n{escape(text)}: at {n} replications even {n} of {n} runs give a Wilson "
                f"lower bound of {best:.0%}, below {c.level:g}: it takes {need} to be sure"
            )
    return notes


def sweep_table(result: object, show: Sequence[str] = ()) -> Table:
    """The frontier: objective and key metrics per point, the recommendation marked; the
    mean of each metric matching ``show`` (glob patterns) in a column of its own."""
    from sim.sweep import SweepResult, point_label

    assert isinstance(result, SweepResult)
    s = result.summary
    rec = s["recommended"]
    metric = s.get("objective_metric", "spend_usd.total")
    table = Table(
        title=f"sweep: {s['objective']} of {metric}, "
        + (
            f"{s['decision']['replications_used']} replications in all"
            if "decision" in s
            else f"{s['replications']} replications per point"
        ),
        title_justify="left",
        caption_justify="left",
    )
    for k in result.keys:
        table.add_column(k, justify="right")
    pools = list(s["points"][0].get("reserved_units", {})) if s["points"] else []
    for pool in pools:
        table.add_column(f"{pool} reserved\nyear 1 / peak", justify="right")
    table.add_column("reserved\nspend", justify="right")
    table.add_column(f"{s['objective']}\n{metric}", justify="right")
    table.add_column("95% CI", justify="right")
    for c in s["constraints"]:
        table.add_column(escape(c), justify="center")
    extra = shown(list(s["points"][0]["metrics"]), show) if s["points"] else []
    for m in extra:
        table.add_column(fmt.metric_label(m), justify="right", overflow="fold")
    runs = s.get("decision", {}).get("replications_per_point", {})
    if runs:
        table.add_column("runs", justify="right")
    for p in s["points"]:
        mark = rec is not None and all(p[k] == rec[k] for k in result.keys)
        lo, hi = p["objective_ci95"]
        units = p.get("reserved_units", {})
        row = [str(p[k]) for k in result.keys]
        row += [fmt.year1_and_peak(units[q]) for q in pools]
        row += [
            fmt.usd(p.get("reserved_spend_usd", math.nan)),
            fmt.metric_value(p["objective_value"], metric),
            f"{fmt.metric_value(lo, metric)} – {fmt.metric_value(hi, metric)}",
        ]
        row += [fmt.constraint_check(ch) for ch in p.get("constraints", [])]
        row += [fmt.metric_value(p["metrics"][m]["mean"], m) for m in extra]
        if runs:
            label = point_label(p, result.keys)
            doubt = label in s["decision"]["unsettled"]
            row.append(f"{runs.get(label, '')}{' ?' if doubt else ''}")
        table.add_row(*row, style="bold green" if mark else None)
    table.caption = _sweep_caption(s, result.keys)
    table.caption += "\n" + SHOW_HINT
    if show and not extra:
        table.caption += f"\n--show {', '.join(show)}: matches no metric"
    return table


def _sweep_caption(s: dict[str, Any], keys: Sequence[str]) -> str:
    """Under a sweep's table: the recommendation, its regret and caveats, the value of the
    stochastic solution, reference levels and what the replication rules achieved."""
    rec = s["recommended"]
    metric = s.get("objective_metric", "spend_usd.total")
    caption = ""
    if rec is None:
        caption = "no point meets every constraint"
    else:
        where = ", ".join(f"{k}={rec[k]}" for k in keys)
        units = "; ".join(
            f"{pool} {', '.join(fmt.quantity(u) for u in per)}"
            for pool, per in rec.get("reserved_units", {}).items()
        )
        caption = (
            f"recommended: {where} (reserved per contract year: {units}; reserved spend "
            f"{fmt.usd(rec.get('reserved_spend_usd', math.nan))})\n"
            f"regret against hindsight (what perfect foresight would save): mean "
            f"{fmt.usd(rec['regret_usd']['mean'])}, p95 {fmt.usd(rec['regret_usd']['p95'])}"
        )
        for note in rec.get("caveats", []):
            caption += f"\ncaution: {escape(note)}"
        v = s.get("value_of_stochastic_solution")
        if v is not None:
            choice = ", ".join(f"{k}={val}" for k, val in v["mean_value_choice"].items())
            d = v["vss_usd"]
            caption += (
                f"\nplanning for the average would choose {choice} and cost "
                f"{fmt.metric_change(d['mean'], metric)} more "
                f"(95% CI {fmt.metric_change(d['ci95_low'], metric)} to "
                f"{fmt.metric_change(d['ci95_high'], metric)})"
                + ("" if v["mean_value_choice_feasible"] else ", and it breaks a constraint")
            )
    caption += _certainty_notes(s)
    for pool, nv in s.get("newsvendor", {}).items():
        caption += (
            f"\nnewsvendor reference for {pool}: {fmt.quantity(nv['level_units'])} units "
            f"(demand quantile {nv['critical_ratio']:.2f})"
        )
    if "decision" in s:
        caption += _decision_note(s["decision"])
    if "precision" in s:
        pr = s["precision"]
        caption += (
            f"\nprecision: worst 95% half-width {pr['achieved_pct']:.2f}% of the objective "
            f"(target {pr['target_pct']:g}%) after {pr['replications']} replications: "
            + ("met" if pr["met"] else f"NOT met, cap {pr['cap']} reached")
        )
    return caption


def _decision_note(d: dict[str, Any]) -> str:
    """What ``--until-decided`` settled, and which points are still in doubt (marked ?)."""
    if d["decided"]:
        return (
            f"\ndecided at {d['confidence']:.0%}: every other point is certainly dearer or "
            f"certainly breaks a constraint ({d['replications_used']} replications in all)"
        )
    doubt = "; ".join(f"{escape(p)} ({escape(d['reasons'][p])})" for p in d["unsettled"])
    return f"\nNOT decided: the replication budget ended with points in doubt (?): {doubt}"


def optimize_table(s: dict[str, Any]) -> Table:
    """The optimised ramp against the scenario's own and the best uniform scale."""
    metric = s["objective_metric"]
    table = Table(
        title=f"optimize: {s['objective']} of {metric}, {s['replications']} replications, "
        f"{s['candidates']} candidates",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("ramp")
    for pool, units in s["pools"].items():
        for y in range(len(units)):
            table.add_column(f"{pool}\nyear {y + 1}", justify="right")
    table.add_column(f"{s['objective']} (in sample)", justify="right")
    table.add_column("holdout", justify="right")
    from sim.optimize import compared_ramps

    hold = s.get("holdout", {})
    rows = compared_ramps(s)
    for label, pools, value, held in rows:
        cells = [fmt.quantity(u) for units in pools.values() for u in units]
        table.add_row(
            label,
            *cells,
            fmt.metric_value(value, metric),
            fmt.metric_value(held, metric) if held is not None else "–",
            style="bold green" if label == "optimised" else None,
        )
    where = "on the holdout" if hold else "in sample"
    commit = ""
    if s.get("commitment_searched"):
        commit = (
            f"commitment: {fmt.usd(s['commitment_usd'])} "
            f"(the scenario's own: {fmt.usd(s['baseline']['commitment_usd'])})\n"
        )
    from sim.executive import against_own_ramp

    own_label, own_value, spread = against_own_ramp(s)
    params = s.get("parameters") or {}
    if params:
        own = (s.get("baseline") or {}).get("parameters") or {}
        commit += (
            "chosen: "
            + ", ".join(f"{k} = {v} (the scenario's: {own.get(k, '?')})" for k, v in params.items())
            + "\n"
        )
    table.caption = (
        commit + f"{where}: {own_label} {own_value}" + (f" ({spread})" if spread else "")
    )
    if not s["feasible"]:
        table.caption += "\nno candidate met every constraint: the least-violating one is shown"
    d = s.get("decision")
    if d:
        table.caption += (
            f"\nmoves: {d['moves_taken']} taken (each settled by its paired difference at 95%), "
            f"{d['moves_rejected_as_noise']} that looked better rejected on more runs"
        )
        for m in d["moves_unsettled"]:
            where = "; ".join(
                f"{p} {fmt.quantity(u[0])} every year"
                if len(set(u)) == 1
                else f"{p} {', '.join(fmt.quantity(x) for x in u)}"
                for p, u in m["pools"].items()
            )
            table.caption += (
                f"\nNOT settled (not taken): round {m['round']}, {where or 'a parameter move'}: "
                f"{fmt.metric_change(m['difference_ci'][0], s['objective_metric'])} to "
                f"{fmt.metric_change(m['difference_ci'][1], s['objective_metric'])} after "
                f"{m['replications']} paired runs; more (-n, --confirm-replications) may "
                "settle it"
            )
    return table
