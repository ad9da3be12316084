"""The HTML tables of each kind of output folder: headline figures, sweep points,
stress cases and the optimised ramp."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from sim import fmt, store
from sim.optimize import compared_ramps
from sim.sweep import point_label


def optimize_tables(directory: Path) -> str:
    """The tables of an optimize directory's report, as HTML."""
    s = store.read_json(directory / "summary.json")
    metric = s["objective_metric"]
    hold = s.get("holdout", {})
    rows = []
    for label, pools, value, held in compared_ramps(s):
        ramp = "; ".join(f"{p}: {', '.join(fmt.quantity(u) for u in v)}" for p, v in pools.items())
        rows.append(
            [
                label,
                ramp,
                fmt.metric_value(value, metric),
                fmt.metric_value(held, metric) if held is not None else "–",
            ]
        )
    imp = hold.get("improvement", s["improvement"])
    text = (
        f"<p class='rec'>Improvement over the scenario's own ramp "
        f"{'on the holdout' if hold else 'in sample'}: "
        f"{fmt.metric_value(imp['mean'], metric)} (95% CI "
        f"{fmt.metric_value(imp['ci95_low'], metric)} to "
        f"{fmt.metric_value(imp['ci95_high'], metric)}); {s['candidates']} candidates, "
        f"{s['replications_used']} replications.</p>"
    )
    head = ["ramp", "reserved per contract year", f"{s['objective']} in sample", "held out"]
    return text + html_table(head, rows)


def _cell(v: Any, metric: str) -> str:
    return fmt.metric_value(v, metric)


def _signed(v: float, metric: str) -> str:
    return fmt.metric_change(v, metric)


def html_table(headers: list[str], rows: list[list[str]]) -> str:
    """An HTML table of text cells, escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def run_tables(directory: Path) -> str:
    """The tables of a run directory's report, as HTML."""
    s = store.read_json(directory / "summary.json")
    adj = s.get("adjusted") or {}

    def adjusted(m: str) -> str:
        a = adj.get(m)
        if not a:
            return ""
        return f"{_cell(a['mean'], m)} [{_cell(a['ci95_low'], m)} – {_cell(a['ci95_high'], m)}]"

    rows = [
        [
            fmt.metric_label(m),
            _cell(st["mean"], m),
            f"{_cell(st['ci95_low'], m)} – {_cell(st['ci95_high'], m)}",
            *([adjusted(m)] if adj else []),
            _cell(st.get("p10", math.nan), m),
            _cell(st["p50"], m),
            _cell(st.get("p90", math.nan), m),
        ]
        for m, st in s["metrics"].items()
        if not m.startswith("control.")
    ]
    note = ""
    if adj:
        note = (
            "<p>Adjusted: the control-variate estimate of the mean and its 95% CI (the luck of "
            "arrivals and of the drawn parameters taken out, see docs/scenario.md): the same "
            "replications, a tighter interval.</p>"
        )
    return (
        f"<p>{s['replications']} runs, seed {s['seed']}, "
        f"capsim {html.escape(str(s['version']))}.</p>"
        + note
        + html_table(
            [
                "metric",
                f"mean of {s['replications']} runs",
                "95% CI of mean",
                *(["adjusted mean [95% CI]"] if adj else []),
                "P10",
                "P50",
                "P90",
            ],
            rows,
        )
    )


_HEADLINE = (
    ("spend_usd.total", "Total spend over the term"),
    ("spend_usd.shortfall", "Take-or-pay shortfall"),
    ("npv_usd.total", "Net present value of spend"),
    ("esr", "Effective savings rate vs on-demand"),
)


def headline_html(metrics: dict[str, dict[str, float]]) -> str:
    """The few numbers a reader wants first: mean and the P10–P90 range."""
    items = []
    keys = [k for k, _ in _HEADLINE] + sorted(
        m for m in metrics if m.startswith(("utilization.", "idle_spend_usd."))
    )
    labels = dict(_HEADLINE)
    for m in keys:
        if m not in metrics or metrics[m]["mean"] is None:
            continue
        st = metrics[m]
        label = labels.get(m) or m.replace("idle_spend_usd.", "Idle reserved capacity, ").replace(
            "utilization.", "Utilization, "
        )
        items.append(
            f"<li><b>{html.escape(label)}</b>: {_cell(st['mean'], m)} "
            f"<span style='color:#666'>(P10–P90 {_cell(st.get('p10', math.nan), m)} – "
            f"{_cell(st.get('p90', math.nan), m)})"
            "</span></li>"
        )
    return "<h2>Headline</h2><ul class='headline'>" + "".join(items) + "</ul>"


def sweep_tables(directory: Path) -> str:
    """The tables of a sweep directory's report, as HTML."""
    s = store.read_json(directory / "summary.json")
    keys = s["keys"]
    metric = s.get("objective_metric", "spend_usd.total")
    pools = list(s["points"][0].get("reserved_units", {})) if s["points"] else []
    decision = s.get("decision") or {}
    runs = decision.get("replications_per_point", {})
    rows = []
    for p in s["points"]:
        lo, hi = p["objective_ci95"]
        units = p.get("reserved_units", {})
        checks = [fmt.constraint_check(ch) for ch in p.get("constraints", [])]
        rows.append(
            [str(p[k]) for k in keys]
            + [fmt.year1_and_peak(units[q]) for q in pools]
            + [
                fmt.usd(p.get("reserved_spend_usd", math.nan)),
                fmt.metric_value(p["objective_value"], metric),
                f"{fmt.metric_value(lo or math.nan, metric)} – "
                f"{fmt.metric_value(hi or math.nan, metric)}",
            ]
            + checks
            + ([str(runs.get(point_label(p, keys), ""))] if runs else [])
        )
    rec = s.get("recommended")
    text = "<p>No grid point meets every constraint.</p>"
    if rec:
        where = ", ".join(f"{k} = {rec[k]}" for k in keys)
        units = "; ".join(
            f"{pool}: {', '.join(fmt.quantity(u) for u in per)}"
            for pool, per in rec.get("reserved_units", {}).items()
        )
        text = (
            f"<p class='rec'>Recommended: <b>{html.escape(where)}</b> (reserved per contract "
            f"year: {html.escape(units)}), {s['objective']} of {html.escape(metric)} "
            f"{fmt.metric_value(rec['objective_value'], metric)}. Regret against hindsight (what "
            f"perfect foresight of each run would save, the cheapest size meeting the "
            f"conditions in that run): mean {fmt.usd(rec['regret_usd']['mean'])}, P95 "
            f"{fmt.usd(rec['regret_usd']['p95'])}.</p>"
        )
        for note in rec.get("caveats", []):
            text += f"<p class='note'>Caution: {html.escape(note)}</p>"
        v = s.get("value_of_stochastic_solution")
        if v is not None:
            choice = ", ".join(f"{k} = {val}" for k, val in v["mean_value_choice"].items())
            d = v["vss_usd"]
            text += (
                f"<p>Planning for the average (every uncertain input at its mean) would choose "
                f"{html.escape(choice)} and cost {fmt.metric_change(d['mean'], metric)} more "
                f"(95% CI {fmt.metric_change(d['ci95_low'], metric)} to "
                f"{fmt.metric_change(d['ci95_high'], metric)}): the value of modelling the "
                "uncertainty.</p>"
            )
    for pool, nv in s.get("newsvendor", {}).items():
        text += (
            f"<p>Newsvendor reference for {html.escape(pool)}: {fmt.quantity(nv['level_units'])} "
            f"units (the {nv['critical_ratio']:.2f} quantile of hourly demand).</p>"
        )
    head = [
        *keys,
        *(f"{q} reserved, year 1 / peak" for q in pools),
        "reserved spend",
        f"{s['objective']} of {metric}",
        "95% CI",
        *s.get("constraints", []),
        *(["runs"] if runs else []),
    ]
    if decision:
        doubt = ", ".join(decision.get("unsettled", []))
        text += (
            f"<p>Decided at {decision['confidence']:.0%} after "
            f"{decision['replications_used']} replications: every other size is certainly "
            "dearer or certainly breaks a constraint.</p>"
            if decision["decided"]
            else f"<p class='note'>Not decided: the replication budget ended with "
            f"{html.escape(doubt)} still in doubt against the recommendation.</p>"
        )
    return text + html_table(head, rows)


def stress_tables(directory: Path) -> str:
    """Per metric and case: the level (mean, 95 % CI) and the paired change against the
    baseline with its CI, in the metric's unit (percentage points for shares)."""
    s = store.read_json(directory / "summary.json")
    cases = s["cases"]
    metrics = list(cases[0]["change"])
    n = s.get("replications", "")
    rows = []
    for m in metrics:
        row = [m]
        for c in cases:
            lv, ch = c["metrics"][m], c["change"][m]
            level_ci = fmt.metric_interval(lv["ci95_low"], lv["ci95_high"], m)
            text = f"{_cell(lv['mean'], m)} [{level_ci}]"
            if c["case"] != "baseline":
                ci = fmt.metric_interval(ch["ci95_low"], ch["ci95_high"], m, change=True)
                text += f"; change {_signed(ch['mean'], m)} [{ci}]"
            row.append(text)
        rows.append(row)
    head = f"metric: mean [95% CI]; paired change vs baseline [95% CI], {n} replications"
    return html_table([head] + [c["case"] for c in cases], rows)


def compare_tables(directory: Path) -> str:
    """The matrix as a table: each cell's objective [95 % CI] and regret [95 % CI], the
    regret's cell shaded by its size; then the quoted metrics of each cell."""
    s = store.read_json(directory / "summary.json")
    alts, cases, metric = s["alternatives"], s["cases"], s["objective_metric"]
    top = max([s["regret"][a][k]["mean"] for a in alts for k in cases] + [1e-12])
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["alternative", *cases, "worst case"])
    rows = []
    for a in alts:
        cells = [f"<td>{html.escape(a)}</td>"]
        for k in cases:
            c, r = s["cells"][a][k], s["regret"][a][k]
            shade = max(0.0, min(1.0, r["mean"] / top))
            style = f"background:rgba(230,159,0,{0.75 * shade:.2f})"
            text = f"{_cell(c['objective_value'], metric)}"
            text += " (best)" if s["best"][k] == a else f"; regret {_signed(r['mean'], metric)}"
            if not c["feasible"]:
                text += " ✗"
            cells.append(f"<td style='{style}'>{html.escape(text)}</td>")
        w = s["worst_case_regret"][a]
        cells.append(
            f"<td>{html.escape(_signed(w['mean'], metric))} ({html.escape(w['case'])})</td>"
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    matrix = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    quoted = []
    for a in alts:
        for k in cases:
            ms = s["cells"][a][k]["metrics"]
            quoted.append([a, k] + [_cell(ms[m]["mean"], m) if m in ms else "" for m in _QUOTED])
    return matrix + html_table(["alternative", "case", *_QUOTED], quoted)


_QUOTED = ["spend_usd.total", "npv_usd.total", "commitment_beyond_horizon_usd", "esr"]
