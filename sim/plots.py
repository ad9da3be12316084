"""Figures for runs, sweeps and stress tests.

Every function takes result frames (and an optional ``ax``), draws on it and returns the
``Axes``; none shows or saves a figure. :func:`style` is the one look of every figure:
slide-sized type, one palette, units on every axis, money as people write it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim import fmt
from sim.calendar import HOURS_PER_MONTH

#: one palette for every figure (colour-blind safe, after Okabe & Ito)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
RESERVED = "#000000"
USED = PALETTE[0]
DEMAND = PALETTE[1]
IDLE = "#9E9E9E"

_RC: dict[str, Any] = {
    "figure.figsize": (10, 5.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 12,
    "axes.titlesize": 15,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 11,
    "text.parse_math": False,  # "$1.2B to $3B" is money, not mathematics
    "axes.prop_cycle": cycler(color=PALETTE),
}


@contextmanager
def style() -> Iterator[None]:
    """The house look, for figures made inside the ``with`` block."""
    with mpl.rc_context(_RC):  # type: ignore[arg-type]
        yield


def _digits(values: Any) -> int:
    """Significant digits that keep ticks over ``values`` apart ($4.031B, $4.034B)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2 or v.max() == v.min():
        return 3
    top = float(np.abs(v).max())
    return int(min(6, 3 + max(0, math.ceil(math.log10(top / (v.max() - v.min()))) - 1)))


def usd_axis(ax: Axes, axis: str = "y", digits: int = 3) -> None:
    """Money on an axis: $1.2B, $340M (``digits`` significant figures)."""
    f = FuncFormatter(lambda x, _: fmt.usd(x, digits))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(f)


def qty_axis(ax: Axes, axis: str = "y") -> None:
    """Large counts on an axis: 12k, 1.5M."""
    f = FuncFormatter(lambda x, _: fmt.quantity(x, 3))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(f)


#: colours for named series (pools, targets, workloads): Okabe & Ito without black and
#: yellow (reserved for the contract line, and too pale on white), then Tol's muted colours
SERIES = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#882255",
    "#44AA99",
    "#999933",
    "#332288",
]


def color_map(names: Sequence[str]) -> dict[str, str]:
    """A fixed colour per name: give it the scenario's pools and overflow targets (or its
    workloads) in the scenario's order, and each name has the same colour in every figure
    and every report of that scenario."""
    return {n: SERIES[i % len(SERIES)] for i, n in enumerate(dict.fromkeys(names))}


def _colors(colors: dict[str, str] | None, names: Sequence[str]) -> dict[str, str]:
    if colors is not None and all(n in colors for n in names):
        return colors
    return color_map(sorted(set(names)))


def contract_year_labels(frame: pd.DataFrame) -> dict[int, str]:
    """Contract year → calendar label (``2026–27`` for a year from July, ``2027`` from
    January), from the ``month`` and ``month_start`` columns of a result frame."""
    f = frame[["month", "month_start"]].drop_duplicates("month")
    f = f.assign(year=_contract_year(f["month"]))
    out = {}
    for year, start in f.groupby("year")["month_start"].min().items():
        d = pd.Timestamp(start)
        out[int(str(year))] = f"{d.year}" if d.month == 1 else f"{d.year}–{(d.year + 1) % 100:02d}"
    return out


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _band(frame: pd.DataFrame, by: str, col: str) -> pd.DataFrame:
    g = frame.groupby(by)[col]
    return pd.DataFrame({"p5": g.quantile(0.05), "p50": g.median(), "p95": g.quantile(0.95)})


def _median_and_band(
    ax: Axes,
    x: Any,
    band: pd.DataFrame,
    color: str,
    label: str,
    band_label: str | None = None,
    alpha: float = 0.2,
    linewidth: float = 2.2,
) -> None:
    """A median line over its 5–95 % band (columns p5, p50, p95 of ``band``)."""
    ax.fill_between(
        x, band["p5"], band["p95"], color=color, alpha=alpha, linewidth=0, label=band_label
    )
    ax.plot(x, band["p50"], color=color, linewidth=linewidth, label=label)


def _label_bars(ax: Axes, xs: Any, tops: Any, texts: Sequence[str]) -> None:
    """A bold label just above each bar."""
    for x, top, text in zip(xs, tops, texts, strict=True):
        ax.annotate(
            text,
            (x, top),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=11,
            fontweight="bold",
        )


def _month_hours(ts: pd.DataFrame, horizon_hours: float | None) -> pd.Series:
    months = ts["month"].drop_duplicates().sort_values()
    hours = pd.Series(HOURS_PER_MONTH, index=months.to_numpy())
    if horizon_hours is not None and len(months):
        last = int(months.iloc[-1])
        hours[last] = horizon_hours - last * HOURS_PER_MONTH
    return hours


def utilization_curves(
    ts: pd.DataFrame,
    pool: str,
    unit: str = "unit",
    horizon_hours: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Reserved capacity (step), units in use and units wanted, month by month.

    Lines are medians across replications; bands the 5–95 % range. Levels are monthly
    averages: unit-hours in the month divided by its hours.
    """
    ax = _ax(ax)
    t = ts[ts["pool"] == pool]
    hours = _month_hours(t, horizon_hours)
    t = t.assign(h=t["month"].map(hours))
    dates = t.groupby("month")["month_start"].first()
    x = pd.to_datetime(dates.to_numpy())
    reserved = (t["reserved_unit_hours"] / t["h"]).groupby(t["month"]).median()
    used = _band(t.assign(v=t["used_unit_hours"] / t["h"]), "month", "v")
    demand = _band(t.assign(v=t["demand_unit_hours"] / t["h"]), "month", "v")
    _median_and_band(
        ax,
        x,
        demand,
        DEMAND,
        "wanted (running + queued), median",
        "wanted, 5–95 %",
        alpha=0.18,
        linewidth=2,
    )
    _median_and_band(ax, x, used, USED, "in use on reserved, median", "in use on reserved, 5–95 %")
    step = x[-1] - x[-2] if len(x) > 1 else pd.Timedelta(days=30)
    edges = mdates.date2num([*x, x[-1] + step])
    ax.stairs(
        reserved.to_numpy(),
        edges,
        color=RESERVED,
        linewidth=2,
        baseline=None,
        label="reserved (contract)",
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
    top = float(max(reserved.max(), used["p95"].max(), demand["p95"].max()))
    ax.set_ylim(0, 1.3 * top if top > 0 else 1.0)
    handles, labels = ax.get_legend_handles_labels()
    overlap = Patch(color=USED, alpha=0.35, label="where both bands overlap")
    ax.legend(
        [*handles, overlap],
        [*labels, "where both bands overlap"],
        loc="upper left",
        ncols=3,
        fontsize=10,
    )
    return ax


def _contract_year(month: pd.Series) -> pd.Series:
    return (month // 12).astype(int) + 1


def idle_by_year(ts: pd.DataFrame, pool: str, unit: str = "unit", ax: Axes | None = None) -> Axes:
    """What idle reserved capacity cost in each contract year (bars: mean over runs, in
    dollars; whiskers: P10–P90 across runs), labelled with the idle unit-hours. The bars add
    up to the mean idle spend of the summary table."""
    ax = _ax(ax)
    t = ts[ts["pool"] == pool].assign(year=lambda d: _contract_year(d["month"]))
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
    _label_bars(ax, years, tops, texts)
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
    return f"overflow: {target}", str(target)


def spend_by_year(
    spend: pd.DataFrame, ax: Axes | None = None, colors: dict[str, str] | None = None
) -> Axes:
    """Mean spend per contract year, stacked: each pool's reservation, each overflow target,
    overhang, transfer fees and the take-or-pay shortfall, each in its pool's or target's
    colour (hatched: overhang, transfers; black: shortfall)."""
    ax = _ax(ax)
    s = spend.assign(year=_contract_year(spend["month"]))
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
    rank = {"reserved": 0, "overflow": 1, "overhang": 2, "transfer": 3, "shortfall": 4}
    order = sorted(table.columns, key=lambda c: (rank.get(parts[c][0], 5), c))
    table = table[order]
    palette = _colors(colors, [parts[c][1] for c in order if parts[c][1]])
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
    _label_bars(ax, table.index, bottom, [fmt.usd(v) for v in bottom])
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
    ax = _ax(ax)
    names = [str(w) for w in waits["workload"].drop_duplicates()]
    palette = _colors(colors, names)
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
    ax.set_title(f"How long jobs wait to start, all {n} runs pooled (● median, ◆ P95)")
    ax.set_xlabel("wait before starting (hours, log scale)")
    ax.set_ylabel("share of started jobs")
    ax.legend(loc="lower right")
    return ax


def commitment_exposure(
    contract: pd.DataFrame, commitment_usd: float, ax: Axes | None = None
) -> Axes:
    """Cumulative eligible spend against the commitment, and the committed dollars not yet
    spent (lock-in exposure), month by month: median and 5–95 % band across runs."""
    ax = _ax(ax)
    c = contract.sort_values(["replication", "month"])
    c = c.assign(cum=c.groupby("replication")["eligible_spend_usd"].cumsum())
    dates = pd.to_datetime(c.groupby("month")["month_start"].first().to_numpy())
    cum = _band(c, "month", "cum")
    left = _band(c, "month", "commitment_remaining_usd")
    _median_and_band(ax, dates, cum, USED, "eligible spend to date (median, 5–95 %)")
    _median_and_band(
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
    ax = _ax(ax)
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
        ax.annotate(
            f"{label} {fmt.usd(v, _digits(x))}",
            (v, y),
            xytext=(5, 0),
            textcoords="offset points",
            color=color,
            fontweight="bold",
            va="center",
        )
    ax.set_title(f"Total spend over the term: {n} runs")
    ax.set_xlabel("total spend (USD)")
    ax.set_ylabel("share of runs at or below")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.04)
    usd_axis(ax, "x", _digits(x))
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


def sweep_frontier(
    points: pd.DataFrame,
    summary: dict[str, Any],
    key: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Expected spend against contract size with its 95 % band, the tail-risk line, the
    recommended size, and sizes that break a constraint shaded."""
    ax = _ax(ax)
    key = key or summary["keys"][0]
    pts = sorted(summary["points"], key=lambda p: p[key])
    x = np.array([p[key] for p in pts], dtype=float)
    stats = points.groupby(key)["spend_usd.total"]
    mean = stats.mean().reindex(x).to_numpy()
    sd = stats.std().reindex(x).to_numpy()
    n = stats.count().reindex(x).to_numpy()
    half = 1.96 * sd / np.sqrt(np.maximum(n, 1))
    ax.fill_between(
        x,
        mean - half,
        mean + half,
        color=PALETTE[0],
        alpha=0.25,
        linewidth=0,
        label="mean, 95 % confidence band",
    )
    ax.plot(x, mean, color=PALETTE[0], linewidth=2.4, marker="o", label="mean spend")
    p95 = stats.quantile(0.95).reindex(x).to_numpy()
    ax.plot(x, p95, color=PALETTE[3], linewidth=1.8, linestyle="--", label="P95 spend (tail risk)")
    width = (x[1] - x[0]) if len(x) > 1 else 1.0
    runs: list[list[float]] = []  # contiguous sizes that break a constraint, shaded as one span
    for p, prev in zip(pts, [None, *pts[:-1]], strict=True):
        if p["feasible"]:
            continue
        if prev is not None and not prev["feasible"] and runs:
            runs[-1][1] = p[key]
        else:
            runs.append([p[key], p[key]])
    for i, (lo, hi) in enumerate(runs):
        ax.axvspan(
            lo - width / 2,
            hi + width / 2,
            color="#D55E00",
            alpha=0.08,
            label="breaks a constraint" if i == 0 else None,
        )
    rec = summary.get("recommended")
    if rec is not None:
        ax.axvline(rec[key], color=PALETTE[2], linewidth=2)
        ax.annotate(
            f"recommended: {rec[key]:g}\n{summary['objective']} {fmt.usd(rec['objective_value'])}",
            (rec[key], 1),
            xycoords=("data", "axes fraction"),
            xytext=(6, -34),
            textcoords="offset points",
            color=PALETTE[2],
            fontweight="bold",
        )
    ax.set_title("Expected total spend against contract size")
    ax.set_xlabel(_key_label(key))
    ax.set_ylabel("total spend over the term (USD)")
    usd_axis(ax)
    _size_axes(ax, pts, key)
    ax.legend(loc="best")
    return ax


def _size_axes(ax: Axes, pts: Sequence[dict[str, Any]], key: str) -> None:
    """Sizes in the planner's units: under each grid value the reserved units of the pool
    that varies (year 1 / peak), and on top the reserved spend in dollars."""
    if not pts or any(p.get("reserved_units") is None for p in pts):
        return
    units: list[dict[str, list[int]]] = [p["reserved_units"] for p in pts]
    x = [float(p[key]) for p in pts]
    varying = [q for q in units[0] if len({tuple(u[q]) for u in units}) > 1]
    if varying:
        pool = varying[0]
        labels = [
            f"{p[key]:g}\n{fmt.year1_and_peak(u[pool])}" for p, u in zip(pts, units, strict=True)
        ]
        ax.set_xticks(x, labels, fontsize=10)
        ax.set_xlabel(f"{_key_label(key)}; below it: {pool} reserved in year 1 / at peak")
    spend = [p.get("reserved_spend_usd") for p in pts]
    if all(isinstance(v, int | float) and math.isfinite(v) for v in spend):
        top = ax.secondary_xaxis("top")
        top.set_xticks(x, [fmt.usd(float(v)) for v in spend], fontsize=9)  # type: ignore[arg-type]
        top.set_xlabel("reserved spend over the term", fontsize=10)


def sweep_constraint(summary: dict[str, Any], key: str, index: int, ax: Axes | None = None) -> Axes:
    """One constraint against contract size: the statistic it is judged on (a chance
    constraint: the share of runs meeting it, with its Wilson 95 % interval) and the limit."""
    ax = _ax(ax)
    pts = sorted(summary["points"], key=lambda p: p[key])
    x = np.array([float(p[key]) for p in pts])
    checks = [p["constraints"][index] for p in pts]
    c0 = checks[0]
    holds = np.array([c["holds"] for c in checks])
    if c0["kind"] == "chance":
        y = np.array([c["share"] for c in checks])
        lo = np.array([c["wilson95"][0] for c in checks])
        hi = np.array([c["wilson95"][1] for c in checks])
        ax.fill_between(
            x, lo, hi, color=PALETTE[0], alpha=0.2, linewidth=0, label="Wilson 95 % interval"
        )
        ax.plot(x, y, color=PALETTE[0], linewidth=2.2, label="share of runs meeting it")
        level = float(c0["constraint"].rsplit(">=", 1)[1])
        ax.axhline(
            level, color=PALETTE[3], linestyle="--", linewidth=1.6, label=f"required {level:.0%}"
        )
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share of runs")
    else:
        y = np.array([c["value"] for c in checks], dtype=float)
        ax.plot(
            x, y, color=PALETTE[0], linewidth=2.2, marker="o", label=c0["kind"] + " across runs"
        )
        limit = float(re.split(r"<=|>=|<|>", c0["constraint"])[-1])
        ax.axhline(limit, color=PALETTE[3], linestyle="--", linewidth=1.6, label=f"limit {limit:g}")
        ax.set_ylabel(_metric_label(c0["metric"]))
    ax.scatter(x[holds], y[holds], color=PALETTE[2], zorder=3, s=50, label="meets it")
    ax.scatter(
        x[~holds], y[~holds], color=PALETTE[3], zorder=3, s=50, marker="x", label="breaks it"
    )
    ax.set_title(f"Constraint {c0['constraint']} against contract size")
    ax.set_xlabel(_key_label(key))
    _size_axes(ax, pts, key)
    ax.legend(loc="best", fontsize=10)
    return ax


def optimized_ramp(
    summary: dict[str, Any], pool: str, unit: str = "unit", ax: Axes | None = None
) -> Axes:
    """The optimised reserved level per contract year against the scenario's own ramp and
    the best uniform scale of it."""
    ax = _ax(ax)
    best = summary["pools"][pool]
    years = np.arange(1, len(best) + 1)
    for label, units, color, style in (
        ("optimised", best, PALETTE[2], "-"),
        ("scenario's own", summary["baseline"]["pools"][pool], RESERVED, "--"),
        (
            f"uniform ×{summary['uniform']['scale']:g}",
            summary["uniform"]["pools"][pool],
            PALETTE[0],
            ":",
        ),
    ):
        ax.step(years, units, where="mid", color=color, linestyle=style, linewidth=2.4, label=label)
        ax.plot(years, units, "o", color=color, markersize=5)
    for y, u in zip(years, best, strict=True):
        ax.annotate(
            fmt.quantity(u),
            (y, u),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=10,
            color=PALETTE[2],
            fontweight="bold",
        )
    hold = summary.get("holdout")
    value = hold["objective_value"] if hold else summary["objective_value"]
    where = "held-out" if hold else "in-sample"
    ax.set_title(
        f"{pool}: optimised reserved {unit}s by contract year — {summary['objective']} "
        f"{fmt.metric_value(value, summary['objective_metric'])} ({where})"
    )
    ax.set_xlabel("contract year")
    ax.set_ylabel(f"reserved {unit}s")
    ax.set_xticks(years)
    ax.set_ylim(bottom=0)
    qty_axis(ax)
    ax.legend(loc="upper left")
    return ax


def _key_label(key: str) -> str:
    if key.endswith("reserved_scale"):
        return f"{key} (× the contract's reserved schedule)"
    if key.endswith(".reserved"):
        return f"{key} (units reserved)"
    return key


def stress_comparison(
    summary: dict[str, Any], metric: str = "spend_usd.total", ax: Axes | None = None
) -> Axes:
    """Each case's level of one metric beside the baseline's (dot: mean over runs;
    whiskers: its 95 % CI; dashed: the baseline), each labelled with its paired change
    against the baseline in the metric's units (percentage points for shares)."""
    ax = _ax(ax)
    cases = summary["cases"]
    levels = np.array([c["metrics"][metric]["mean"] for c in cases], dtype=float)
    lows = np.array([c["metrics"][metric]["ci95_low"] for c in cases], dtype=float)
    highs = np.array([c["metrics"][metric]["ci95_high"] for c in cases], dtype=float)
    lows = np.where(np.isfinite(lows), lows, levels)
    highs = np.where(np.isfinite(highs), highs, levels)
    base = levels[0]
    y = np.arange(len(cases))
    for yi, c, v, lo, hi in zip(y, cases, levels, lows, highs, strict=True):
        color = IDLE if c["case"] == "baseline" else (PALETTE[3] if v > base else PALETTE[2])
        ax.errorbar(
            v,
            yi,
            xerr=[[max(v - lo, 0.0)], [max(hi - v, 0.0)]],
            fmt="o",
            color=color,
            ecolor=color,
            markersize=11,
            capsize=5,
            linewidth=2,
        )
        text = fmt.metric_value(v, metric)
        if c["case"] != "baseline":
            ch = c["change"][metric]
            text += f"  ({fmt.metric_change(ch['mean'], metric)}"
            if base and not fmt.is_rate(metric):
                text += f", {ch['mean'] / base:+.0%}"
            text += ")"
        ax.annotate(
            text,
            (v, yi),
            xytext=(0, 13),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontweight="bold",
            fontsize=11,
        )
    ax.axvline(base, color=RESERVED, linewidth=1, linestyle="--")
    lo_all, hi_all = float(np.nanmin(lows)), float(np.nanmax(highs))
    pad = 0.15 * (hi_all - lo_all) or 0.05 * abs(base) or 1.0
    ax.set_xlim(lo_all - pad, hi_all + pad)
    ax.set_ylim(len(cases) - 0.4, -0.7)  # first case on top, room for the labels
    ax.set_yticks(y, [c["case"] for c in cases])
    if fmt.is_rate(metric):
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    elif metric.startswith(("spend_usd", "idle_spend_usd")):
        usd_axis(ax, "x", _digits([lo_all - pad, hi_all + pad]))
    else:
        qty_axis(ax, "x")
    label = _metric_label(metric)
    n = summary.get("replications", "")
    ax.set_title(f"{label[0].upper()}{label[1:]} per stress case (mean of {n} runs)")
    ax.set_xlabel(f"{label}: mean, 95 % CI whiskers; in brackets the paired change")
    ax.grid(axis="y", visible=False)
    return ax


def _metric_label(metric: str) -> str:
    return fmt.metric_label(metric)


def stress_metrics(summary: dict[str, Any]) -> list[str]:
    """The metrics a stress report draws: total spend, idle dollars and overflow per pool,
    p95 waits; a metric that is zero in every case is left out."""
    change = summary["cases"][0]["change"]
    chosen = [
        m
        for m in change
        if m == "spend_usd.total"
        or m.startswith(("idle_spend_usd.", "overflow_unit_hours."))
        or (m.startswith("wait_hours.") and m.endswith(".p95"))
    ]
    return [
        m for m in chosen if any(abs(c["metrics"][m]["mean"] or 0.0) > 0 for c in summary["cases"])
    ]


# --------------------------------------------------------------------------- fitted history


def fit_arrivals(times: Any, rate: Any, workload: str, ax: Axes | None = None) -> Axes:
    """Jobs submitted per week of a log against the fitted log-linear intensity."""
    ax = _ax(ax)
    t0, t1 = float(rate.t0), float(rate.t1)
    week = 168.0
    edges = np.arange(t0, t1 + week, week)
    counts = np.histogram(times, bins=edges)[0]
    full = edges[1:] <= t1 + 1e-9  # the last week may be cut short by the log's end
    mids = 0.5 * (edges[:-1] + edges[1:]) / 24
    ax.bar(mids[full], counts[full], width=6.2, color=PALETTE[0], alpha=0.55, label="submitted")
    grid = np.linspace(t0, t1, 400)
    ax.plot(grid / 24, rate.intensity(grid) * week, color=PALETTE[3], linewidth=2.4, label="fit")
    ax.set_title(f"{workload}: jobs per week, recorded and fitted")
    ax.set_xlabel("day of the log")
    ax.set_ylabel("jobs per week")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return ax


def fit_qq(data: Any, fits: Sequence[Any], workload: str, ax: Axes | None = None) -> Axes:
    """Quantiles of the data against each candidate law's (log-log): on the diagonal, a fit."""
    ax = _ax(ax)
    x = np.sort(np.asarray(data, dtype=float))
    n = len(x)
    if n > 2000:  # plot 2,000 quantiles: the same picture, a lighter file
        x = np.quantile(x, (np.arange(2000) + 0.5) / 2000)
        n = 2000
    probs = (np.arange(n) + 0.5) / n
    for i, f in enumerate(fits):
        q = f.frozen().ppf(probs)
        best = i == 0
        ax.scatter(
            q,
            x,
            s=10 if best else 5,
            alpha=0.8 if best else 0.35,
            color=PALETTE[i],
            label=f"{f.dist} (KS {f.ks:.3f})",
        )
    lo, hi = max(float(x.min()), 1e-9), float(x.max())
    ax.plot([lo, hi], [lo, hi], color=RESERVED, linewidth=1, linestyle="--", label="perfect fit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo / 2, hi * 2)  # the data's range: a poor law's far quantiles fall outside
    ax.set_ylim(lo / 2, hi * 2)
    ax.set_title(f"{workload}: job durations, recorded against fitted quantiles")
    ax.set_xlabel("fitted quantile (h)")
    ax.set_ylabel("recorded quantile (h)")
    ax.legend(loc="upper left")
    return ax


def fit_sizes(
    sizes: Sequence[float],
    weights: Sequence[float],
    workload: str,
    unit: str = "unit",
    ax: Axes | None = None,
) -> Axes:
    """Share of jobs by size: what the fitted ``choice`` draws."""
    ax = _ax(ax)
    labels = [fmt.quantity(s) for s in sizes]
    xs = np.arange(len(sizes))
    ax.bar(xs, weights, color=PALETTE[0])
    ax.set_xticks(xs, labels, rotation=0 if len(xs) <= 12 else 90)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"{workload}: job sizes (recorded shares = fitted choice)")
    ax.set_xlabel(f"{unit}s per job")
    ax.set_ylabel("share of jobs")
    return ax


def fit_profile(
    profile: Any, title: str, ax: Axes | None = None, *, fitted: Any | None = None
) -> Axes:
    """Relative level by hour of day or day of week, recorded (bars) and fitted (line)."""
    ax = _ax(ax)
    rel = np.asarray(profile.relative)
    xs = np.arange(len(rel))
    ax.bar(xs, rel, color=PALETTE[0], alpha=0.55, label="recorded (1 = average)")
    if fitted is not None:
        ax.plot(xs, fitted, color=PALETTE[3], linewidth=2.4, label="fit")
    ax.axhline(1.0, color=RESERVED, linewidth=1)
    if profile.period == "daily":
        ax.set_xticks(xs[::3], [f"{h:02d}:00" for h in xs[::3]])
        ax.set_xlabel("hour of day")
    else:
        ax.set_xticks(xs, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ax.set_xlabel("day of week")
    top = float(max(rel.max(), 1.0 if fitted is None else np.max(fitted)))
    ax.set_ylim(min(0.0, float(rel.min())), top * 1.15)
    ax.set_title(title)
    ax.set_ylabel("relative to the average")
    ax.legend(loc="lower right")
    return ax


def fit_demand_series(
    hours: Any, values: Any, fitted: Any, column: str, ax: Axes | None = None
) -> Axes:
    """The recorded hourly demand against the fitted noise-free model."""
    ax = _ax(ax)
    days = np.asarray(hours) / 24
    ax.plot(days, values, color=PALETTE[0], linewidth=0.8, alpha=0.8, label="recorded")
    ax.plot(days, fitted, color=PALETTE[3], linewidth=2.0, label="fit (without noise)")
    ax.set_title(f"{column}: hourly demand, recorded and fitted")
    ax.set_xlabel("day of the recording")
    ax.set_ylabel("demand (units)")
    qty_axis(ax)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left")
    return ax


def fit_demand_ecdf(recorded: Any, model: Any, ax: Axes | None = None) -> Axes:
    """Distribution of hourly demand (detrended): the recording against the fitted model."""
    ax = _ax(ax)
    for x, label, color in (
        (recorded, "recorded", PALETTE[0]),
        (model, "fitted model", PALETTE[3]),
    ):
        v = np.sort(np.asarray(x, dtype=float))
        ax.step(
            v, (np.arange(len(v)) + 1) / len(v), where="post", color=color, linewidth=2, label=label
        )
    ax.axhline(0.99, color=IDLE, linewidth=1, linestyle=":")
    ax.set_title("Hourly demand: what sizing sees (share of hours at or below)")
    ax.set_xlabel("demand (units, at the recording's mean level)")
    ax.set_ylabel("share of hours")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    qty_axis(ax, "x")
    ax.legend(loc="upper left")
    return ax
