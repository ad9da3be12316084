"""``capsim report DIR``: figures (PNG and SVG) and one self-contained HTML page.

Reads a run, sweep or stress directory (never the simulation), draws with
:mod:`sim.plots` and writes ``DIR/figures/*.png|svg`` and ``DIR/report.html`` with every
figure embedded, the key tables and the scenario as run.
"""

from __future__ import annotations

import base64
import html
import io
import math
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

from sim import __version__, fmt, plots, store
from sim.calendar import HOURS_PER_YEAR
from sim.scenario import read_toml

Figure = tuple[str, str, Callable[[Axes], Axes]]  # (file stem, caption, draw)


def _pools(directory: Path) -> dict[str, str]:
    raw = read_toml(directory / "scenario.toml")
    return {name: str(p.get("unit", "unit")) for name, p in raw.get("pools", {}).items()}


def _horizon(directory: Path) -> float:
    raw = read_toml(directory / "scenario.toml")
    return float(raw.get("scenario", {}).get("years", 7)) * HOURS_PER_YEAR


def run_figures(directory: Path) -> list[Figure]:
    """The figures of a run directory, each with a one-line caption."""
    ts = pd.read_parquet(directory / "timeseries.parquet")
    reps = pd.read_parquet(directory / "replications.parquet")
    pools = _pools(directory)
    horizon = _horizon(directory)
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
                f"{pool}: reserved {unit}-hours that sat idle each contract year, labelled with "
                "what they cost.",
                partial(plots.idle_by_year, ts, pool, unit),
            )
        )
    if (directory / "spend.parquet").exists():
        spend = pd.read_parquet(directory / "spend.parquet")
        figs.append(
            (
                "spend-by-year",
                "Mean spend per contract year by component.",
                partial(plots.spend_by_year, spend),
            )
        )
    if (directory / "waits.parquet").exists():
        waits = pd.read_parquet(directory / "waits.parquet")
        if len(waits) and waits["jobs"].sum() > 0:
            figs.append(
                (
                    "waits",
                    "Distribution of job waits by workload, all runs pooled.",
                    partial(plots.wait_cdf, waits),
                )
            )
    raw = read_toml(directory / "scenario.toml")
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
            "Total spend over the term, one value per run.",
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
    return figs


def stress_figures(directory: Path) -> list[Figure]:
    summary = store.read_json(directory / "summary.json")
    return [
        (
            f"stress-{m.replace('.', '_')}",
            f"Change in {m} in each stress case against the baseline (paired replications; "
            "whiskers: 95 % CI of the change).",
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
    rows = [
        [
            m,
            _cell(st["mean"], m),
            f"{_cell(st['ci95_low'], m)} – {_cell(st['ci95_high'], m)}",
            _cell(st["p5"], m),
            _cell(st["p50"], m),
            _cell(st["p95"], m),
        ]
        for m, st in s["metrics"].items()
    ]
    return (
        _headline(s["metrics"]) + f"<p>{s['replications']} runs, seed {s['seed']}, "
        f"capsim {html.escape(str(s['version']))}.</p>"
        + _table(["metric", "mean", "95% CI of mean", "P5", "P50", "P95"], rows)
    )


_HEADLINE = (
    ("spend_usd.total", "Total spend over the term"),
    ("spend_usd.shortfall", "Take-or-pay shortfall"),
    ("npv_usd.total", "Net present value of spend"),
    ("esr", "Effective savings rate vs on-demand"),
)


def _headline(metrics: dict[str, dict[str, float]]) -> str:
    """The few numbers a reader wants first: mean and the P5–P95 range."""
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
            f"<span style='color:#666'>(P5–P95 {_cell(st['p5'], m)} – {_cell(st['p95'], m)})"
            "</span></li>"
        )
    return "<h2>Headline</h2><ul class='headline'>" + "".join(items) + "</ul>"


def sweep_tables(directory: Path) -> str:
    s = store.read_json(directory / "summary.json")
    keys = s["keys"]
    rows = []
    for p in s["points"]:
        lo, hi = p["objective_ci95"]
        rows.append(
            [str(p[k]) for k in keys]
            + [
                fmt.usd(p["objective_value"]),
                f"{fmt.usd(lo or math.nan)} – {fmt.usd(hi or math.nan)}",
                "yes" if p["feasible"] else "no: " + "; ".join(p["violations"]),
            ]
        )
    rec = s.get("recommended")
    text = "<p>No grid point meets every constraint.</p>"
    if rec:
        where = ", ".join(f"{k} = {rec[k]}" for k in keys)
        text = (
            f"<p class='rec'>Recommended: <b>{html.escape(where)}</b>, {s['objective']} spend "
            f"{fmt.usd(rec['objective_value'])}; regret against hindsight: mean "
            f"{fmt.usd(rec['regret_usd']['mean'])}, P95 {fmt.usd(rec['regret_usd']['p95'])}.</p>"
        )
    for pool, nv in s.get("newsvendor", {}).items():
        text += (
            f"<p>Newsvendor reference for {html.escape(pool)}: {fmt.quantity(nv['level_units'])} "
            f"units (the {nv['critical_ratio']:.2f} quantile of hourly demand).</p>"
        )
    return text + _table([*keys, f"{s['objective']} spend", "95% CI", "feasible"], rows)


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
"""


def write_report(directory: Path) -> Path:
    """Figures and ``report.html`` for a run, sweep or stress directory; returns the page."""
    directory = Path(directory)
    kind = store.kind_of(directory)
    figs = {"run": run_figures, "sweep": sweep_figures, "stress": stress_figures}[kind](directory)
    tables = {"run": run_tables, "sweep": sweep_tables, "stress": stress_tables}[kind](directory)
    rendered = render(figs, directory / "figures")
    raw = read_toml(directory / "scenario.toml")
    meta = raw.get("scenario", {})
    name = html.escape(str(meta.get("name", directory.name)))
    desc = html.escape(str(meta.get("description", "")))
    body = [f"<h1>capsim {kind}: {name}</h1>", f"<p>{desc}</p>"]
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
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>capsim {kind}: {name}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )
    store.write_text(page, text)
    return page


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
