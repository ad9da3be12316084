"""Figures of sizing and stress studies: the sweep's frontier and constraints, an
optimised ramp, and stress cases against the base."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from sim import fmt
from sim.plots.look import (
    IDLE,
    PALETTE,
    RESERVED,
    axes_or_new,
    key_label,
    qty_axis,
    tick_digits,
    usd_axis,
)


def sweep_frontier(
    points: pd.DataFrame,
    summary: dict[str, Any],
    key: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Expected spend against contract size with its 95 % band, the tail-risk line, the
    recommended size, and sizes that break a constraint shaded."""
    ax = axes_or_new(ax)
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
    ax.set_xlabel(key_label(key))
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
        ax.set_xlabel(f"{key_label(key)}; below it: {pool} reserved in year 1 / at peak")
    spend = [p.get("reserved_spend_usd") for p in pts]
    if all(isinstance(v, int | float) and math.isfinite(v) for v in spend):
        top = ax.secondary_xaxis("top")
        top.set_xticks(x, [fmt.usd(float(v)) for v in spend], fontsize=9)  # type: ignore[arg-type]
        top.set_xlabel("reserved spend over the term", fontsize=10)


def sweep_constraint(summary: dict[str, Any], key: str, index: int, ax: Axes | None = None) -> Axes:
    """One constraint against contract size: the statistic it is judged on (a chance
    constraint: the share of runs meeting it, with its Wilson 95 % interval) and the limit."""
    ax = axes_or_new(ax)
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
        ax.set_ylabel(fmt.metric_label(c0["metric"]))
    ax.scatter(x[holds], y[holds], color=PALETTE[2], zorder=3, s=50, label="meets it")
    ax.scatter(
        x[~holds], y[~holds], color=PALETTE[3], zorder=3, s=50, marker="x", label="breaks it"
    )
    ax.set_title(f"Constraint {c0['constraint']} against contract size")
    ax.set_xlabel(key_label(key))
    _size_axes(ax, pts, key)
    ax.legend(loc="best", fontsize=10)
    return ax


def optimized_ramp(
    summary: dict[str, Any], pool: str, unit: str = "unit", ax: Axes | None = None
) -> Axes:
    """The optimised reserved level per contract year against the scenario's own ramp and
    the best uniform scale of it."""
    ax = axes_or_new(ax)
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


def stress_comparison(
    summary: dict[str, Any], metric: str = "spend_usd.total", ax: Axes | None = None
) -> Axes:
    """Each case's level of one metric beside the baseline's (dot: mean over runs;
    whiskers: its 95 % CI; dashed: the baseline), each labelled with its paired change
    against the baseline in the metric's units (percentage points for shares)."""
    ax = axes_or_new(ax)
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
        usd_axis(ax, "x", tick_digits([lo_all - pad, hi_all + pad]))
    else:
        qty_axis(ax, "x")
    label = fmt.metric_label(metric)
    n = summary.get("replications", "")
    ax.set_title(f"{label[0].upper()}{label[1:]} per stress case (mean of {n} runs)")
    ax.set_xlabel(f"{label}: mean, 95 % CI whiskers; in brackets the paired change")
    ax.grid(axis="y", visible=False)
    return ax


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
