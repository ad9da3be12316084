"""Figures for runs, sweeps and stress tests.

Every function takes result frames (and an optional ``ax``), draws on it and returns the
``Axes``; none shows or saves a figure. :func:`style` is the one look of every figure:
slide-sized type, one palette, units on every axis, money as people write it.
"""

from __future__ import annotations

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
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

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
    "axes.prop_cycle": cycler(color=PALETTE),
}


@contextmanager
def style() -> Iterator[None]:
    """The house look, for figures made inside the ``with`` block."""
    with mpl.rc_context(_RC):  # type: ignore[arg-type]
        yield


def usd_axis(ax: Axes, axis: str = "y") -> None:
    """Money on an axis: $1.2B, $340M."""
    f = FuncFormatter(lambda x, _: fmt.usd(x, 3))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(f)


def qty_axis(ax: Axes, axis: str = "y") -> None:
    """Large counts on an axis: 12k, 1.5M."""
    f = FuncFormatter(lambda x, _: fmt.quantity(x, 3))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(f)


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
    # keep the contract and the medians readable: a runaway queue in a few runs may push the
    # upper band far up; clip it and say so
    top = 1.25 * float(max(reserved.max(), used["p95"].max(), demand["p50"].max()))
    if float(demand["p95"].max()) > top:
        ax.set_ylim(0, top)
        ax.annotate(
            "the wanted 5–95 % band runs above the top in some months",
            (1, 0),
            xycoords="axes fraction",
            xytext=(-4, 4),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=9,
            color="#777777",
        )
    else:
        ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", ncols=2)
    return ax


def _contract_year(month: pd.Series) -> pd.Series:
    return (month // 12).astype(int) + 1


def idle_by_year(ts: pd.DataFrame, pool: str, unit: str = "unit", ax: Axes | None = None) -> Axes:
    """Idle reserved unit-hours (bars) and what they cost (labels), by contract year."""
    ax = _ax(ax)
    t = ts[ts["pool"] == pool].assign(year=lambda d: _contract_year(d["month"]))
    per_rep = t.groupby(["year", "replication"])[["idle_unit_hours", "idle_spend_usd"]].sum()
    g = per_rep.groupby("year")
    med = g.median()
    lo, hi = g.quantile(0.05), g.quantile(0.95)
    years = med.index.to_numpy()
    err = np.vstack(
        [
            med["idle_unit_hours"] - lo["idle_unit_hours"],
            hi["idle_unit_hours"] - med["idle_unit_hours"],
        ]
    )
    ax.bar(
        years,
        med["idle_unit_hours"],
        color=IDLE,
        yerr=err,
        capsize=4,
        ecolor="#555555",
        label="idle, median (whiskers 5–95 %)",
    )
    top = float((med["idle_unit_hours"] + err[1]).max() or 1.0)
    _label_bars(ax, years, med["idle_unit_hours"], [fmt.usd(v) for v in med["idle_spend_usd"]])
    ax.set_ylim(0, top * 1.15)
    total = per_rep.groupby("replication")["idle_spend_usd"].sum().median()
    ax.set_title(
        f"{pool}: idle reserved {unit}-hours by contract year — "
        f"median {fmt.usd(total)} paid for idle capacity"
    )
    ax.set_xlabel("contract year")
    ax.set_ylabel(f"idle {unit}-hours per year")
    ax.set_xticks(years)
    qty_axis(ax)
    ax.legend(loc="upper left")
    return ax


def spend_by_year(spend: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Mean spend per contract year, stacked: each pool's reservation, each overflow target,
    transfer fees."""
    ax = _ax(ax)
    s = spend.assign(year=_contract_year(spend["month"]))
    labels = {
        "reserved": "reserved: " + s["pool"],
        "overhang": "overhang (on-demand): " + s["pool"],
        "transfer": "transfers: " + s["target"],
        "shortfall": pd.Series("take-or-pay shortfall", index=s.index),
    }
    part = "overflow: " + s["target"]
    for component, label in labels.items():
        part = part.where(s["component"] != component, label)
    s = s.assign(part=part)
    n = s["replication"].nunique()
    table = s.groupby(["year", "part"])["spend_usd"].sum().unstack().fillna(0.0) / n
    table = table.loc[:, table.sum() > 0]
    order = sorted(
        table.columns, key=lambda c: (not c.startswith("reserved"), c.startswith("transfers"), c)
    )
    table = table[order]
    bottom = np.zeros(len(table))
    for i, col in enumerate(table.columns):
        ax.bar(
            table.index,
            table[col],
            bottom=bottom,
            label=col,
            color=PALETTE[i % len(PALETTE)],
            hatch="//" if col.startswith("transfers") else None,
            edgecolor="white",
            linewidth=0.5,
        )
        bottom += table[col].to_numpy()
    _label_bars(ax, table.index, bottom, [fmt.usd(v) for v in bottom])
    ax.set_ylim(0, bottom.max() * 1.12 if len(bottom) else 1)
    ax.set_title(
        f"Spend by contract year — {fmt.usd(bottom.sum())} over the term (mean of {n} runs)"
    )
    ax.set_xlabel("contract year")
    ax.set_ylabel("spend per year (USD)")
    ax.set_xticks(table.index)
    usd_axis(ax)
    ax.legend(loc="upper left", fontsize=10)
    return ax


def wait_cdf(waits: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Share of jobs that waited at most t hours, by workload (log time), p50/p95 marked."""
    ax = _ax(ax)
    for i, (name, g) in enumerate(waits.groupby("workload", sort=False)):
        counts = g.groupby("wait_high_hours")["jobs"].sum().sort_index()
        total = counts.sum()
        if total <= 0:
            continue
        cdf = counts.cumsum() / total
        x = counts.index.to_numpy().astype(float)
        zero_share = float(cdf.iloc[0])
        finite = np.isfinite(x) & (x >= 0.01)
        color = PALETTE[i % len(PALETTE)]
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
    ax.set_xscale("log")
    ax.set_xlim(0.01, None)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.axhline(0.5, color="#BBBBBB", linewidth=0.8, linestyle=":")
    ax.axhline(0.95, color="#BBBBBB", linewidth=0.8, linestyle=":")
    ax.set_title("How long jobs wait to start (● median, ◆ 95th percentile)")
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
    """Total spend across replications, with P50 and P90 marked."""
    ax = _ax(ax)
    x = replications["spend_usd.total"].to_numpy()
    bins = max(5, min(40, len(x) // 3))
    ax.hist(x, bins=bins, color=PALETTE[0], alpha=0.8, edgecolor="white")
    for q, label, color in ((50, "P50", PALETTE[2]), (90, "P90", PALETTE[3])):
        v = float(np.percentile(x, q))
        ax.axvline(v, color=color, linewidth=2.2)
        ax.annotate(
            f"{label} {fmt.usd(v)}",
            (v, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -16),
            textcoords="offset points",
            color=color,
            fontweight="bold",
        )
    ax.set_title(f"Total spend over the term across {len(x)} runs")
    ax.set_xlabel("total spend (USD)")
    ax.set_ylabel("runs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    usd_axis(ax, "x")
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
    ax.legend(loc="best")
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
    """Each stress case's change against the baseline in one metric (paired mean; whiskers:
    95 % CI of the paired difference), labelled in the metric's own units."""
    ax = _ax(ax)
    cases = [c for c in summary["cases"] if c["case"] != "baseline"]
    base = summary["cases"][0]["metrics"][metric]["mean"]
    money = metric.startswith("spend_usd")
    f = fmt.usd if money else fmt.quantity
    vals = np.array([c["change"][metric]["mean"] for c in cases], dtype=float)
    lows = np.array([c["change"][metric]["ci95_low"] for c in cases], dtype=float)
    highs = np.array([c["change"][metric]["ci95_high"] for c in cases], dtype=float)
    err = np.vstack([np.nan_to_num(vals - lows), np.nan_to_num(highs - vals)])
    colors = [PALETTE[3] if v > 0 else PALETTE[2] for v in vals]
    y = np.arange(len(cases))
    ax.barh(y, vals, color=colors, xerr=err, capsize=4, ecolor="#555555", height=0.6)
    span = float(np.nanmax(np.abs(np.concatenate([vals, lows, highs]))) or 1.0)
    for yi, v, lo_e, hi_e in zip(y, vals, err[0], err[1], strict=True):
        rel = f" ({v / base:+.0%})" if base else ""
        end = v + hi_e if v >= 0 else v - lo_e  # beyond the whisker
        ax.annotate(
            ("+" if v > 0 else "") + f(v) + rel,
            (end, yi),
            xytext=(6 if v >= 0 else -6, 0),
            textcoords="offset points",
            ha="left" if v >= 0 else "right",
            va="center",
            fontweight="bold",
        )
    ax.set_xlim(-1.6 * span, 1.6 * span)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(y, [c["case"] for c in cases])
    ax.invert_yaxis()
    (usd_axis if money else qty_axis)(ax, "x")
    label = _metric_label(metric)
    ax.set_title(f"Change in {label} per stress case (baseline: {f(base)})")
    ax.set_xlabel(f"change against the baseline in {label}")
    ax.grid(axis="y", visible=False)
    return ax


def _metric_label(metric: str) -> str:
    parts = metric.split(".")
    if metric == "spend_usd.total":
        return "total spend (USD)"
    if metric.startswith("wait_hours."):
        return f"{parts[-1]} wait of {'.'.join(parts[1:-1])} (hours)"
    head = parts[0].replace("_unit_hours", " unit-hours").replace("_", " ")
    return f"{head}, {'.'.join(parts[1:])}"


def stress_metrics(summary: dict[str, Any]) -> list[str]:
    """The metrics a stress report draws: spend, idle and overflow per pool, p95 waits."""
    change = summary["cases"][0]["change"]
    return [
        m
        for m in change
        if m == "spend_usd.total"
        or m.startswith(("idle_unit_hours.", "overflow_unit_hours."))
        or (m.startswith("wait_hours.") and m.endswith(".p95"))
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
