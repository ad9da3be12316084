"""Figures of one run: utilization curves, idle capacity and spend by contract year, waits,
commitment exposure and the distribution of total spend."""

from __future__ import annotations

import math
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim import fmt
from sim.plots.look import (
    DEMAND,
    IDLE,
    PALETTE,
    RESERVED,
    USED,
    axes_or_new,
    colors_for,
    contract_year,
    contract_year_labels,
    label_bars,
    median_and_band,
    month_hours,
    qty_axis,
    quantile_band,
    tick_digits,
    usd_axis,
)


def utilization_curves(
    ts: pd.DataFrame,
    pool: str,
    unit: str = "unit",
    horizon_hours: float | None = None,
    ax: Axes | None = None,
    queues: bool = True,
) -> Axes:
    """Reserved capacity (step), units in use and units wanted, month by month.

    Lines are medians across replications; bands the 5–95 % range. Levels are monthly
    averages: unit-hours in the month divided by its hours. ``queues``: the pool has job
    workloads (wanted = running + queued); a demand-only pool shows its demand, which never
    queues (what reserved units do not serve runs elsewhere or goes unserved), and the range
    of its hourly demand within each month (hatched: the daily cycle's trough to peak). The
    contract line is drawn on top, with a white edge, so bands never hide it.
    """
    ax = axes_or_new(ax)
    t = ts[ts["pool"] == pool]
    hours = month_hours(t, horizon_hours)
    t = t.assign(h=t["month"].map(hours))
    dates = t.groupby("month")["month_start"].first()
    x = pd.to_datetime(dates.to_numpy())
    reserved = (t["reserved_unit_hours"] / t["h"]).groupby(t["month"]).median()
    used = quantile_band(t.assign(v=t["used_unit_hours"] / t["h"]), "month", "v")
    demand = quantile_band(t.assign(v=t["demand_unit_hours"] / t["h"]), "month", "v")
    wanted = "wanted (running + queued)" if queues else "demand (served anywhere or not)"
    median_and_band(
        ax,
        x,
        demand,
        DEMAND,
        f"{wanted}, median",
        f"{wanted.split(' (', maxsplit=1)[0]}, 5–95 %",
        alpha=0.18,
        linewidth=2,
    )
    top_hour = 0.0
    if not queues and "demand_high_units" in t and t["demand_high_units"].notna().any():
        # a month's average hides the daily cycle: its lowest and highest hour (median run)
        # show why a pool can sit idle at night and still send its peaks elsewhere
        low = t.groupby("month")["demand_low_units"].median().to_numpy()
        high = t.groupby("month")["demand_high_units"].median().to_numpy()
        ax.fill_between(
            x, low, high, facecolor="none", edgecolor=DEMAND, hatch="///", linewidth=0.0,
            alpha=0.45, label="demand within the month, lowest to highest hour (median run)",
        )  # fmt: skip
        top_hour = float(np.nanmax(high))
    median_and_band(ax, x, used, USED, "in use on reserved, median", "in use on reserved, 5–95 %")
    step = x[-1] - x[-2] if len(x) > 1 else pd.Timedelta(days=30)
    edges = mdates.date2num([*x, x[-1] + step])
    ax.stairs(
        reserved.to_numpy(),
        edges,
        color=RESERVED,
        linewidth=2.2,
        baseline=None,
        label="reserved (contract)",
        zorder=6,
        path_effects=[patheffects.withStroke(linewidth=4.5, foreground="white")],
    )
    util = (
        t["used_unit_hours"].sum() / t["reserved_unit_hours"].sum()
        if t["reserved_unit_hours"].sum()
        else float("nan")
    )
    ax.set_title(f"{pool}: reserved capacity, use and demand — {fmt.pct(util)} utilized overall")
    ax.set_ylabel(f"{unit}s (monthly average)")
    ax.set_xlabel("month")
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    qty_axis(ax)
    # every band stays inside the plot, with room above for the legend
    top = float(max(reserved.max(), used["p95"].max(), demand["p95"].max(), top_hour))
    ax.set_ylim(0, 1.3 * top if top > 0 else 1.0)
    handles, labels = ax.get_legend_handles_labels()
    overlap = Patch(color=USED, alpha=0.35, label="where both bands overlap")
    ax.legend(
        [*handles, overlap],
        [*labels, "where both bands overlap"],
        loc="upper left",
        ncols=2 if top_hour else 3,
        fontsize=10,
    )
    return ax


def idle_by_year(ts: pd.DataFrame, pool: str, unit: str = "unit", ax: Axes | None = None) -> Axes:
    """What idle reserved capacity cost in each contract year (bars: mean over runs, in
    dollars; whiskers: P10–P90 across runs), labelled with the idle unit-hours. The bars add
    up to the mean idle spend of the summary table."""
    ax = axes_or_new(ax)
    t = ts[ts["pool"] == pool].assign(year=lambda d: contract_year(d["month"]))
    per_rep = t.groupby(["year", "replication"])[["idle_unit_hours", "idle_spend_usd"]].sum()
    g = per_rep.groupby("year")
    mean = g.mean()
    lo, hi = g.quantile(0.10), g.quantile(0.90)
    years = mean.index.to_numpy()
    labels = contract_year_labels(t)
    err = np.vstack(
        [
            np.maximum(mean["idle_spend_usd"] - lo["idle_spend_usd"], 0),
            np.maximum(hi["idle_spend_usd"] - mean["idle_spend_usd"], 0),
        ]
    )
    ax.bar(
        years,
        mean["idle_spend_usd"],
        color=IDLE,
        yerr=err,
        capsize=4,
        ecolor="#555555",
        label="idle spend, mean (whiskers P10–P90 across runs)",
    )
    texts = [
        f"{fmt.usd(v)}\n{fmt.quantity(h)} {unit}-h"
        for v, h in zip(mean["idle_spend_usd"], mean["idle_unit_hours"], strict=True)
    ]
    tops = mean["idle_spend_usd"].to_numpy() + err[1]
    label_bars(ax, years, tops, texts)
    ax.set_ylim(0, float(tops.max() or 1.0) * 1.3)
    n = per_rep.index.get_level_values("replication").nunique()
    total = per_rep.groupby("replication")["idle_spend_usd"].sum().mean()
    ax.set_title(f"{pool}: idle reserved capacity cost {fmt.usd(total)} (mean of {n} runs)")
    ax.set_xlabel("contract year")
    ax.set_ylabel("idle spend per contract year (USD)")
    ax.set_xticks(years, [labels.get(int(y), str(y)) for y in years])
    usd_axis(ax)
    ax.legend(loc="upper left")
    return ax


def _spend_part(component: str, pool: Any, target: Any) -> tuple[str, str]:
    """(legend label, the name whose colour it takes) of one spend component."""
    if component == "reserved":
        return f"reserved: {pool}", str(pool)
    if component == "overhang":
        return f"overhang past the schedule: {pool}", str(pool)
    if component == "transfer":
        return f"transfer fees: {target}", str(target)
    if component == "shortfall":
        return "take-or-pay shortfall", ""
    if component == "commitment":  # a tranche, a strategy's purchases or a savings plan
        kind = "savings plan" if pool == "savings_plan" else f"commitment on {pool}"
        return f"{kind}: {target}", str(target)
    return f"overflow: {target}", str(target)


def spend_by_year(
    spend: pd.DataFrame, ax: Axes | None = None, colors: dict[str, str] | None = None
) -> Axes:
    """Mean spend per contract year, stacked: each pool's reservation, each commitment
    (tranche, strategy purchases, savings plan), each overflow target, overhang, transfer
    fees and the take-or-pay shortfall, each in its pool's or target's
    colour (hatched: overhang, transfers; black: shortfall)."""
    ax = axes_or_new(ax)
    s = spend.assign(year=contract_year(spend["month"]))
    n = s["replication"].nunique()
    keyed = (
        s.assign(pool=s["pool"].fillna(""), target=s["target"].fillna(""))
        .groupby(["component", "pool", "target", "year"])["spend_usd"]
        .sum()
        / n
    )
    parts: dict[str, tuple[str, str]] = {}
    series: dict[str, pd.Series] = {}
    for key, g in keyed.groupby(level=[0, 1, 2]):
        component, pool, target = tuple(key)  # type: ignore[arg-type]
        label, owner = _spend_part(str(component), pool, target)
        parts[label] = (str(component), owner)
        v = g.droplevel([0, 1, 2])
        series[label] = series[label].add(v, fill_value=0) if label in series else v
    table = pd.DataFrame(series).fillna(0.0).sort_index()
    table = table.loc[:, table.sum() > 0.5]  # a cent of rounding is not a component
    # in a long legend, parts too thin to see (under 1 % of the total) are one "other" part
    thin = [c for c in table.columns if table[c].sum() < 0.01 * table.to_numpy().sum()]
    if len(table.columns) > 6 and len(thin) > 1:
        table = table.drop(columns=thin).assign(
            **{f"other ({len(thin)} small parts)": table[thin].sum(axis=1)}
        )
        parts[f"other ({len(thin)} small parts)"] = ("other", "")
    rank = {
        "reserved": 0,
        "commitment": 1,
        "overflow": 2,
        "overhang": 3,
        "transfer": 4,
        "shortfall": 5,
    }
    order = sorted(table.columns, key=lambda c: (rank.get(parts[c][0], 5), c))
    table = table[order]
    palette = colors_for(colors, [parts[c][1] for c in order if parts[c][1]])
    bottom = np.zeros(len(table))
    for col in table.columns:
        component, owner = parts[col]
        color = RESERVED if component == "shortfall" else palette.get(owner, IDLE)
        ax.bar(
            table.index,
            table[col],
            bottom=bottom,
            label=col,
            color=color,
            alpha=0.55 if component == "overflow" else 1.0,
            hatch="//" if component in ("transfer", "overhang", "shortfall") else None,
            edgecolor="white",
            linewidth=0.5,
        )
        bottom += table[col].to_numpy()
    label_bars(ax, table.index, bottom, [fmt.usd(v) for v in bottom])
    ax.set_ylim(0, bottom.max() * 1.12 if len(bottom) else 1)
    ax.set_title(
        f"Spend by contract year — {fmt.usd(bottom.sum())} over the term (mean of {n} runs)"
    )
    labels = contract_year_labels(s)
    ax.set_xlabel("contract year")
    ax.set_ylabel("spend per contract year (USD)")
    ax.set_xticks(table.index, [labels.get(int(y), str(y)) for y in table.index])
    usd_axis(ax)
    ax.legend(loc="upper left", fontsize=10)
    return ax


def run_p95(waits: pd.DataFrame) -> float:
    """The mean over runs of each run's 95th-percentile wait, from one workload's binned
    waits (each run's P95 read at the upper edge of the bin where 95 % is reached; zero
    when 95 % started at once): the statistic the tables show."""
    out = []
    for _, r in waits.groupby("replication"):
        counts = r.groupby("wait_high_hours")["jobs"].sum().sort_index()
        total = counts.sum()
        if total <= 0:
            continue
        cdf = counts.cumsum().to_numpy() / total
        edges = counts.index.to_numpy().astype(float)
        idx = int(np.searchsorted(cdf, 0.95 - 1e-12))
        if idx < len(edges):
            low = r.groupby("wait_high_hours")["wait_low_hours"].first().sort_index().to_numpy()
            out.append(0.0 if low[idx] <= 0 and edges[idx] <= 1e-9 else float(edges[idx]))
    return float(np.mean(out)) if out else math.nan


def wait_cdf(
    waits: pd.DataFrame,
    ax: Axes | None = None,
    limits: dict[str, float] | None = None,
    horizon_hours: float | None = None,
    colors: dict[str, str] | None = None,
) -> Axes:
    """Share of started jobs that waited at most t hours, by workload, all runs pooled (log
    time; ● the pooled median, ◆ the pooled 95th percentile), each workload's
    ``max_wait_hours`` marked (dashed), the axis cut at the horizon."""
    ax = axes_or_new(ax)
    names = [str(w) for w in waits["workload"].drop_duplicates()]
    palette = colors_for(colors, names)
    n = waits["replication"].nunique()
    for name, g in waits.groupby("workload", sort=False):
        counts = g.groupby("wait_high_hours")["jobs"].sum().sort_index()
        total = counts.sum()
        if total <= 0:
            continue
        cdf = counts.cumsum() / total
        x = counts.index.to_numpy().astype(float)
        zero_share = float(cdf.iloc[0])
        finite = np.isfinite(x) & (x >= 0.01)
        color = palette[str(name)]
        ax.step(
            x[finite],
            cdf.to_numpy()[finite],
            where="post",
            color=color,
            linewidth=2,
            label=f"{name} ({fmt.pct(zero_share, 0)} start at once)",
        )
        for q, marker in ((0.5, "o"), (0.95, "D")):
            idx = int(np.searchsorted(cdf.to_numpy(), q))
            if idx < len(x) and np.isfinite(x[idx]):
                ax.plot(max(x[idx], 0.01), q, marker=marker, color=color, markersize=7)
        # the jobs that started at once sit at zero, left of a log axis: drawn at its edge
        ax.plot(0.01, zero_share, marker=">", color=color, markersize=9, clip_on=False)
        # the tables' "wait p95" is each run's P95, averaged: marked on its own (▲)
        per_run = run_p95(g)
        if np.isfinite(per_run):
            ax.plot(max(per_run, 0.01), 0.95, marker="^", color=color, markersize=9,
                    markeredgecolor="black", markeredgewidth=0.6)  # fmt: skip
        limit = (limits or {}).get(str(name))
        if limit is not None and 0 < limit < math.inf:
            ax.axvline(limit, color=color, linewidth=1.2, linestyle="--", alpha=0.8)
            ax.annotate(
                f"{name}: overflow after {limit:g} h",
                (limit, 0.02),
                xytext=(3, 0),
                textcoords="offset points",
                rotation=90,
                va="bottom",
                fontsize=9,
                color=color,
            )
    ax.set_xscale("log")
    ax.set_xlim(0.01, horizon_hours)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.axhline(0.5, color="#BBBBBB", linewidth=0.8, linestyle=":")
    ax.axhline(0.95, color="#BBBBBB", linewidth=0.8, linestyle=":")
    ax.set_title(
        f"How long jobs wait to start, all {n} runs pooled\n● median and ◆ P95 of all jobs; "
        "▲ the runs' P95, averaged, as in the tables; ▸ started at once",
        fontsize=12,
    )
    ax.set_xlabel("wait before starting (hours, log scale)")
    ax.set_ylabel("share of started jobs")
    ax.legend(loc="lower right")
    return ax


def commitment_exposure(
    contract: pd.DataFrame, commitment_usd: float, ax: Axes | None = None
) -> Axes:
    """Cumulative eligible spend against the commitment, and the committed dollars not yet
    spent (lock-in exposure), month by month: median and 5–95 % band across runs."""
    ax = axes_or_new(ax)
    c = contract.sort_values(["replication", "month"])
    c = c.assign(cum=c.groupby("replication")["eligible_spend_usd"].cumsum())
    dates = pd.to_datetime(c.groupby("month")["month_start"].first().to_numpy())
    cum = quantile_band(c, "month", "cum")
    left = quantile_band(c, "month", "commitment_remaining_usd")
    median_and_band(ax, dates, cum, USED, "eligible spend to date (median, 5–95 %)")
    median_and_band(
        ax, dates, left, PALETTE[3], "committed, not yet spent: lock-in exposure", alpha=0.15
    )
    ax.axhline(
        commitment_usd,
        color=RESERVED,
        linewidth=1.5,
        linestyle="--",
        label=f"commitment {fmt.usd(commitment_usd)}",
    )
    met = c[c["cum"] >= commitment_usd].groupby("replication")["month_start"].min()
    share = len(met) / c["replication"].nunique()
    ax.set_title(f"Spend commitment: met in {fmt.pct(share, 0)} of runs by the end of the term")
    ax.set_xlabel("month")
    ax.set_ylabel("USD")
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    usd_axis(ax)
    ax.set_ylim(bottom=0)
    ax.legend(loc="center left")
    return ax


def spend_distribution(replications: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Total spend across runs as an empirical CDF (one step per run) with the mean, P10,
    P50 and P90 marked; a note when there are fewer than 30 runs."""
    ax = axes_or_new(ax)
    x = np.sort(replications["spend_usd.total"].to_numpy())
    n = len(x)
    ax.step(x, (np.arange(n) + 1) / n, where="post", color=PALETTE[0], linewidth=2.2)
    ax.plot(x, (np.arange(n) + 1) / n, "o", color=PALETTE[0], markersize=4 if n > 60 else 6)
    marks = [
        ("P10", float(np.percentile(x, 10)), PALETTE[2], 0.10),
        ("P50", float(np.percentile(x, 50)), PALETTE[5], 0.50),
        ("mean", float(x.mean()), RESERVED, 0.70),
        ("P90", float(np.percentile(x, 90)), PALETTE[3], 0.90),
    ]
    for label, v, color, y in marks:
        ax.axvline(v, color=color, linewidth=1.6, linestyle="-" if label != "mean" else "--")
        # left of its line at its own height the curve is below the label (the share of
        # runs under a quantile is less than it), so the label never sits on the curve
        ax.annotate(
            f"{label} {fmt.usd(v, tick_digits(x))}",
            (v, y),
            xytext=(-5, 0),
            textcoords="offset points",
            color=color,
            fontweight="bold",
            va="center",
            ha="right",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    ax.set_title(f"Total spend over the term: {n} runs")
    ax.set_xlabel("total spend (USD)")
    ax.set_ylabel("share of runs at or below")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.04)
    usd_axis(ax, "x", tick_digits(x))
    if n < 30:
        ax.annotate(
            f"only {n} runs: P10 and P90 are rough; run 30 or more for a planning range",
            (1, 0),
            xycoords="axes fraction",
            xytext=(-4, 4),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=9,
            color="#777777",
        )
    return ax
