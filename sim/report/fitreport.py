"""The report of ``capsim fit``: its figures and one page beside the fragment."""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__, plots, store
from sim.report.figures import Figure, render
from sim.report.page import html_page
from sim.report.tables import html_table


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
        "<h2>Fit table</h2>" + html_table(list(columns), [list(r) for r in rows]),
    ]
    for stem, caption, b64 in rendered:
        body.append(
            f"<figure><img alt='{html.escape(stem)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    body.append(f"<h2>The fragment</h2><pre>{html.escape(fragment)}</pre>")
    body.append(f"<p style='color:#888'>Made by capsim {html.escape(__version__)}.</p>")
    page = out / "report.html"
    store.write_text(page, html_page(title, body))
    return page
