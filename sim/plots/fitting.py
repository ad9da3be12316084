"""Figures of ``capsim fit``: weekly arrivals against the fitted intensity, QQ plots of
the candidate laws, sizes, daily and weekly profiles, a usage series and its ECDF."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from sim import fmt
from sim.plots.look import IDLE, PALETTE, RESERVED, axes_or_new, qty_axis

# --------------------------------------------------------------------------- fitted history


def fit_arrivals(times: Any, rate: Any, workload: str, ax: Axes | None = None) -> Axes:
    """Jobs submitted per week of a log against the fitted log-linear intensity."""
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
    ax = axes_or_new(ax)
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
