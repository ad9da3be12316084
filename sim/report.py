"""``capsim report DIR``: figures (PNG and SVG) and one self-contained HTML page.

Reads a run, sweep, stress or optimize directory (never the simulation), draws with
:mod:`sim.plots` and writes ``DIR/figures/*.png|svg`` and ``DIR/report.html`` with every
figure embedded, the key tables and the scenario as run.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never a window

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages

from sim import __version__, executive, fmt, plots, store
from sim.calendar import HOURS_PER_YEAR
from sim.optimize import compared_ramps
from sim.scenario import read_toml

Figure = tuple[str, str, Callable[[Axes], Axes]]  # (file stem, caption, draw)


def _pools(directory: Path) -> dict[str, str]:
    raw = read_toml(directory / "scenario.toml")
    return {name: str(p.get("unit", "unit")) for name, p in raw.get("pools", {}).items()}


def _horizon(directory: Path) -> float:
    raw = read_toml(directory / "scenario.toml")
    return float(raw.get("scenario", {}).get("years", 7)) * HOURS_PER_YEAR


def _colors(raw: dict[str, Any]) -> dict[str, str]:
    """One colour per pool and overflow target, and one per workload, in the scenario's
    order (the two sets never share a figure)."""
    capacity = [*raw.get("pools", {}), *(str(t.get("name", "")) for t in raw.get("overflow", []))]
    return {**plots.color_map(capacity), **plots.color_map(list(raw.get("workloads", {})))}


def _wait_limits(raw: dict[str, Any]) -> dict[str, float]:
    out = {}
    for name, w in raw.get("workloads", {}).items():
        v = w.get("max_wait_hours")
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[name] = float(v)
    return out


def run_figures(directory: Path) -> list[Figure]:
    """The figures of a run directory, each with a one-line caption."""
    ts = pd.read_parquet(directory / "timeseries.parquet")
    reps = pd.read_parquet(directory / "replications.parquet")
    pools = _pools(directory)
    horizon = _horizon(directory)
    raw = read_toml(directory / "scenario.toml")
    colors = _colors(raw)
    n = len(reps)
    figs: list[Figure] = []
    for pool, unit in pools.items():
        figs.append(
            (
                f"utilization-{pool}",
                f"{pool}: reserved {unit}s (step) against {unit}s in use and wanted, by month "
                "(median and 5–95 % band across runs).",
                partial(plots.utilization_curves, ts, pool, unit, horizon),
            )
        )
        figs.append(
            (
                f"idle-{pool}",
                f"{pool}: what idle reserved {unit}s cost in each contract year (mean of {n} "
                f"runs; whiskers P10–P90 across runs), labelled with the idle {unit}-hours. The "
                "bars add up to the mean idle spend in the table.",
                partial(plots.idle_by_year, ts, pool, unit),
            )
        )
    if (directory / "spend.parquet").exists():
        spend = pd.read_parquet(directory / "spend.parquet")
        figs.append(
            (
                "spend-by-year",
                f"Spend per contract year by component (mean of {n} runs): reservations, "
                "overflow per target, overhang past a falling schedule, transfer fees and the "
                "take-or-pay shortfall.",
                partial(plots.spend_by_year, spend, colors=colors),
            )
        )
    if (directory / "waits.parquet").exists():
        waits = pd.read_parquet(directory / "waits.parquet")
        if len(waits) and waits["jobs"].sum() > 0:
            figs.append(
                (
                    "waits",
                    f"Job waits by workload, all jobs of all {n} runs pooled; dashed: each "
                    "workload's max_wait_hours, after which it overflows. (The table's wait "
                    "p95 is the mean of each run's own p95.)",
                    partial(
                        plots.wait_cdf,
                        waits,
                        limits=_wait_limits(raw),
                        horizon_hours=horizon,
                        colors=colors,
                    ),
                )
            )
    commitment = raw.get("contract", {}).get("commitment_usd")
    if (directory / "contract.parquet").exists() and isinstance(commitment, int | float):
        contract = pd.read_parquet(directory / "contract.parquet")
        figs.append(
            (
                "commitment",
                "Eligible spend to date against the take-or-pay commitment, and the committed "
                "dollars not yet spent (lock-in exposure).",
                partial(plots.commitment_exposure, contract, float(commitment)),
            )
        )
    figs.append(
        (
            "spend-distribution",
            f"Total spend over the term, one step per run ({n} runs), with the mean and the "
            "planner's range P10–P90.",
            partial(plots.spend_distribution, reps),
        )
    )
    return figs


def sweep_figures(directory: Path) -> list[Figure]:
    points = pd.read_parquet(directory / "points.parquet")
    summary = store.read_json(directory / "summary.json")
    figs: list[Figure] = []
    for key in summary["keys"]:
        if pd.api.types.is_numeric_dtype(points[key]):
            figs.append(
                (
                    f"frontier-{key.replace('.', '_')}",
                    f"Spend against {key}: mean with 95 % band, P95, the recommendation, "
                    "and sizes that break a constraint shaded.",
                    partial(plots.sweep_frontier, points, summary, key),
                )
            )
            for i, c in enumerate(summary.get("constraints", [])):
                if summary["points"] and "constraints" in summary["points"][0]:
                    figs.append(
                        (
                            f"constraint-{i + 1}-{key.replace('.', '_')}",
                            f"Constraint {c} against {key}: the statistic it is judged on "
                            "(for a chance constraint, the share of runs meeting it with its "
                            "Wilson 95 % interval) and the limit.",
                            partial(plots.sweep_constraint, summary, key, i),
                        )
                    )
    return figs


def optimize_figures(directory: Path) -> list[Figure]:
    summary = store.read_json(directory / "summary.json")
    units = _pools(directory)
    return [
        (
            f"ramp-{pool}",
            f"{pool}: the optimised reserved level of each contract year against the scenario's "
            "own ramp and its best uniform scale.",
            partial(plots.optimized_ramp, summary, pool, units.get(pool, "unit")),
        )
        for pool in summary["pools"]
    ]


def optimize_tables(directory: Path) -> str:
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
    return text + _table(head, rows)


def stress_figures(directory: Path) -> list[Figure]:
    summary = store.read_json(directory / "summary.json")
    return [
        (
            f"stress-{m.replace('.', '_')}",
            f"{m} in each stress case beside the baseline (mean; whiskers: 95 % CI), with "
            "the paired change against the baseline (same random demand in every case).",
            partial(plots.stress_comparison, summary, m),
        )
        for m in plots.stress_metrics(summary)
    ]


def render(figs: list[Figure], out: Path) -> list[tuple[str, str, str]]:
    """Draw every figure, write PNG and SVG; return (stem, caption, PNG as base64)."""
    if out.exists():
        for old in [*out.glob("*.png"), *out.glob("*.svg")]:
            old.unlink()  # figures of an earlier report of this folder
    out.mkdir(parents=True, exist_ok=True)
    done = []
    with plots.style():
        for stem, caption, draw in figs:
            fig, ax = plt.subplots()
            draw(ax)
            fig.tight_layout()
            fig.savefig(out / f"{stem}.svg")
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            (out / f"{stem}.png").write_bytes(buf.getvalue())
            plt.close(fig)
            done.append((stem, caption, base64.b64encode(buf.getvalue()).decode()))
    return done


def _cell(v: Any, metric: str) -> str:
    return fmt.metric_value(v, metric)


def _signed(v: float, metric: str) -> str:
    return fmt.metric_change(v, metric)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def run_tables(directory: Path) -> str:
    s = store.read_json(directory / "summary.json")
    adj = s.get("adjusted") or {}

    def adjusted(m: str) -> str:
        a = adj.get(m)
        if not a:
            return ""
        return f"{_cell(a['mean'], m)} [{_cell(a['ci95_low'], m)} – {_cell(a['ci95_high'], m)}]"

    rows = [
        [
            m,
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
        _headline(s["metrics"]) + f"<p>{s['replications']} runs, seed {s['seed']}, "
        f"capsim {html.escape(str(s['version']))}.</p>"
        + note
        + _table(
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


def _headline(metrics: dict[str, dict[str, float]]) -> str:
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
    s = store.read_json(directory / "summary.json")
    keys = s["keys"]
    metric = s.get("objective_metric", "spend_usd.total")
    pools = list(s["points"][0].get("reserved_units", {})) if s["points"] else []
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
    ]
    return text + _table(head, rows)


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
    return _table([head] + [c["case"] for c in cases], rows)


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
color:#222;padding:0 1em}
h1{font-size:1.8em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
figure{margin:1.2em 0} figure img{max-width:100%} figcaption{color:#555;font-size:.95em}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}
td,th{padding:.25em .7em;text-align:right;
border-bottom:1px solid #eee} td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em} .rec{font-size:1.1em}
ul.headline{font-size:1.1em;line-height:1.6}
section.exec{border:1px solid #ddd;border-radius:6px;padding:.4em 1.2em 1em;margin:1em 0 2em}
section.exec h2{border:none;margin-top:.6em} ul.decision{font-size:1.05em;line-height:1.6}
table.numbers td{font-size:1.05em;text-align:left;padding:.35em 1em .35em 0}
table.numbers td.big{font-weight:bold;font-size:1.2em} p.plain{font-size:1.1em;line-height:1.5}
p.note{color:#777}
@page{margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10.5pt}
section.exec{page-break-after:always;border:none;padding:0}
figure{page-break-inside:avoid;margin:.4em 0} figure img{max-height:15cm}
h2{page-break-after:avoid} table{page-break-inside:auto} tr{page-break-inside:avoid}
pre{white-space:pre-wrap;font-size:7.5pt;background:none;border:1px solid #ccc}}
"""


def executive_of(directory: Path) -> executive.Executive:
    """The executive page of a run, sweep, stress or optimize directory."""
    directory = Path(directory)
    kind = store.kind_of(directory)
    raw = read_toml(directory / "scenario.toml")
    summary = store.read_json(directory / "summary.json")
    if kind == "run":
        return executive.for_run(raw, pd.read_parquet(directory / "replications.parquet"))
    if kind == "sweep":
        return executive.for_sweep(raw, summary, pd.read_parquet(directory / "points.parquet"))
    if kind == "optimize":
        return executive.for_optimize(raw, summary)
    cases = pd.read_parquet(directory / "cases.parquet")
    base = cases[cases["case"] == "baseline"]
    return executive.for_run(raw, base, stress=summary)


def _executive_html(ex: executive.Executive) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k.label)}</td><td class='big'>{html.escape(k.value)}</td>"
        f"<td>{html.escape(k.range)}</td></tr>"
        for k in ex.numbers
    )
    notes = "".join(f"<p class='note'>{html.escape(t)}</p>" for t in ex.notes)
    return (
        "<section class='exec'>"
        f"<h2>{html.escape(ex.title)}</h2>"
        "<ul class='decision'>"
        + "".join(f"<li>{html.escape(d)}</li>" for d in ex.decision)
        + "</ul>"
        f"<table class='numbers'><tbody>{rows}</tbody></table>"
        + "".join(f"<p class='plain'>{html.escape(t)}</p>" for t in ex.sentences)
        + notes
        + "</section>"
    )


def write_report(directory: Path, pdf: bool = False) -> Path:
    """Figures and ``report.html`` (with ``pdf``: also ``report.pdf``) for a run, sweep or
    stress directory; returns the page."""
    directory = Path(directory)
    kind = store.kind_of(directory)
    figs = {
        "run": run_figures,
        "sweep": sweep_figures,
        "stress": stress_figures,
        "optimize": optimize_figures,
    }[kind](directory)
    tables = {
        "run": run_tables,
        "sweep": sweep_tables,
        "stress": stress_tables,
        "optimize": optimize_tables,
    }[kind](directory)
    ex = executive_of(directory)
    rendered = render(figs, directory / "figures")
    raw = read_toml(directory / "scenario.toml")
    meta = raw.get("scenario", {})
    name = html.escape(str(meta.get("name", directory.name)))
    desc = html.escape(str(meta.get("description", "")))
    body = [f"<h1>capsim {kind}: {name}</h1>", f"<p>{desc}</p>", _executive_html(ex)]
    if kind == "run":
        body.append(_headline(store.read_json(directory / "summary.json")["metrics"]))
    for stem, caption, b64 in rendered:
        body.append(
            f"<figure><img alt='{html.escape(stem)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    body.append("<h2>Key numbers</h2>" + tables)
    scen = (directory / "scenario.toml").read_text()
    body.append(f"<h2>Scenario as run</h2><pre>{html.escape(scen)}</pre>")
    body.append(
        f"<p style='color:#888'>Made by capsim {html.escape(__version__)} "
        f"from {html.escape(str(directory))}.</p>"
    )
    page = directory / "report.html"
    store.write_text(page, _page(f"capsim {kind}: {meta.get('name', directory.name)}", body))
    if pdf:
        write_pdf(directory / "report.pdf", f"capsim {kind}: {meta.get('name', '')}", ex, figs)
    return page


def _wrap(text: str, width: int = 95) -> str:
    return "\n".join(textwrap.wrap(text, width))


def write_pdf(path: Path, title: str, ex: executive.Executive, figs: list[Figure]) -> None:
    """A printable report: the executive page, then one figure per page (A4 landscape,
    which also prints on Letter), with each figure's caption beneath it."""

    def write(tmp: Path) -> None:
        with plots.style(), PdfPages(tmp) as pdf:
            page = plt.figure(figsize=(11.69, 8.27))
            y = 0.93
            page.text(0.06, y, title, fontsize=20, fontweight="bold", parse_math=False)
            y -= 0.06
            page.text(
                0.06, y, ex.title, fontsize=15, fontweight="bold", color="#444444", parse_math=False
            )
            y -= 0.05
            for d in ex.decision:
                page.text(0.08, y, "• " + d, fontsize=11.5, parse_math=False)
                y -= 0.035
            y -= 0.02
            for k in ex.numbers:
                page.text(0.08, y, k.label, fontsize=12, parse_math=False)
                page.text(0.45, y, k.value, fontsize=13, fontweight="bold", parse_math=False)
                page.text(0.62, y, k.range, fontsize=11, color="#555555", parse_math=False)
                y -= 0.04
            y -= 0.02
            for t in [*ex.sentences, *ex.notes]:
                wrapped = _wrap(t)
                page.text(0.06, y, wrapped, fontsize=12, va="top", parse_math=False)
                y -= 0.035 * (wrapped.count("\n") + 1) + 0.015
            pdf.savefig(page)
            plt.close(page)
            for _stem, caption, draw in figs:
                fig, ax = plt.subplots(figsize=(11.69, 8.27))
                draw(ax)
                fig.tight_layout(rect=(0, 0.08, 1, 1))
                fig.text(
                    0.04, 0.03, _wrap(caption, 130), fontsize=10, color="#555555", parse_math=False
                )
                pdf.savefig(fig)
                plt.close(fig)

    store.atomic_write(path, write)


def _page(title: str, body: list[str]) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )


def _fit_figures_jobs(fits: list[Any], unit: str) -> list[Figure]:
    figs: list[Figure] = []
    for f in fits:
        stem = f.workload
        figs.append(
            (
                f"arrivals-{stem}",
                f"{f.workload}: jobs submitted per week (bars) against the fitted log-linear "
                f"Poisson intensity (line); a week cut short by the log's end is left out.",
                partial(plots.fit_arrivals, f.times, f.rate, f.workload),
            )
        )
        figs.append(
            (
                f"durations-qq-{stem}",
                f"{f.workload}: recorded job durations against the quantiles of each fitted law "
                "(log-log; on the dashed line = a perfect fit). KS = Kolmogorov–Smirnov distance.",
                partial(plots.fit_qq, f.durations, f.duration_fits, f.workload),
            )
        )
        figs.append(
            (
                f"sizes-{stem}",
                f"{f.workload}: share of jobs by size; the fitted choice draws these shares.",
                partial(plots.fit_sizes, f.sizes, f.size_weights, f.workload, unit),
            )
        )
        for prof in (f.daily, f.weekly):
            figs.append(
                (
                    f"{prof.period}-{stem}",
                    f"{f.workload}: arrivals by "
                    f"{'hour of day' if prof.period == 'daily' else 'day of week'} over what "
                    "the fitted intensity expects (1 = no profile); "
                    f"chi2 p = {prof.p_value:.2g}.",
                    partial(
                        plots.fit_profile, prof, f"{f.workload}: {prof.period} arrival profile"
                    ),
                )
            )
    return figs


def _fit_figures_demand(fit: Any, workload: str) -> list[Figure]:
    daily = 1 + fit.daily_amplitude.value * np.cos(
        2 * np.pi * ((np.arange(24) + 0.5) - fit.daily_peak_hour) / 24
    )
    weekly = 1 + fit.weekly_amplitude.value * np.cos(
        2 * np.pi * ((np.arange(7) + 0.5) - fit.weekly_peak_day) / 7
    )
    return [
        (
            f"demand-{workload}",
            f"{workload}: the recorded hourly demand against the fitted model without its noise.",
            partial(plots.fit_demand_series, fit.hours, fit.values, fit.fitted, workload),
        ),
        (
            f"daily-{workload}",
            "Demand by hour of day relative to the average (bars: the recording's own means; "
            "line: the fitted daily cycle).",
            partial(
                plots.fit_profile, fit.daily_profile, f"{workload}: daily profile", fitted=daily
            ),
        ),
        (
            f"weekly-{workload}",
            "Demand by day of week relative to the average (bars: the recording; line: the fit).",
            partial(
                plots.fit_profile, fit.weekly_profile, f"{workload}: weekly profile", fitted=weekly
            ),
        ),
        (
            f"distribution-{workload}",
            f"Share of hours at or below each demand, trend removed: the recording against one "
            f"draw of the fitted model (KS distance {fit.ks:.3f}; dotted: the 99th percentile).",
            partial(plots.fit_demand_ecdf, fit.recorded_detrended, fit.model_detrended),
        ),
    ]


def write_fit_report(
    out: Path,
    source: str,
    kind: str,
    rows: Sequence[tuple[str, ...]],
    columns: tuple[str, ...],
    fragment: str,
    jobs_fits: list[Any] | None = None,
    demand_fit: Any = None,
    workload: str = "",
    unit: str = "unit",
) -> Path:
    """``out/report.html`` and ``out/figures`` for a fitted job log (``jobs_fits``) or
    usage series (``demand_fit``); returns the page."""
    figs = (
        _fit_figures_jobs(jobs_fits, unit)
        if jobs_fits is not None
        else _fit_figures_demand(demand_fit, workload)
    )
    rendered = render(figs, out / "figures")
    title = f"capsim fit {kind}: {source}"
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<p>What capsim estimated from the history, how sure it is, and how well each "
        "distribution matches the record. A verdict of <b>poor</b> means the fitted law "
        "misses the record: replay it instead (a trace, or <code>file =</code>).</p>",
        "<h2>Fit table</h2>" + _table(list(columns), [list(r) for r in rows]),
    ]
    for stem, caption, b64 in rendered:
        body.append(
            f"<figure><img alt='{html.escape(stem)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    body.append(f"<h2>The fragment</h2><pre>{html.escape(fragment)}</pre>")
    body.append(f"<p style='color:#888'>Made by capsim {html.escape(__version__)}.</p>")
    page = out / "report.html"
    store.write_text(page, _page(title, body))
    return page
