"""The one look of every figure: palette, series colours, slide-sized type, axes that
show units and money as people write it, and the small helpers the figures share."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

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


def tick_digits(values: Any) -> int:
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


def colors_for(colors: dict[str, str] | None, names: Sequence[str]) -> dict[str, str]:
    """The colours given when they name every one of ``names``, else the house palette's."""
    if colors is not None and all(n in colors for n in names):
        return colors
    return color_map(sorted(set(names)))


def contract_year_labels(frame: pd.DataFrame) -> dict[int, str]:
    """Contract year → calendar label (``2026–27`` for a year from July, ``2027`` from
    January), from the ``month`` and ``month_start`` columns of a result frame."""
    f = frame[["month", "month_start"]].drop_duplicates("month")
    f = f.assign(year=contract_year(f["month"]))
    out = {}
    for year, start in f.groupby("year")["month_start"].min().items():
        d = pd.Timestamp(start)
        out[int(str(year))] = f"{d.year}" if d.month == 1 else f"{d.year}–{(d.year + 1) % 100:02d}"
    return out


def axes_or_new(ax: Axes | None) -> Axes:
    """The axes given, or those of a new figure."""
    if ax is None:
        _, ax = plt.subplots()
    return ax


def quantile_band(frame: pd.DataFrame, by: str, col: str) -> pd.DataFrame:
    """P5, median and P95 of ``col`` for each value of ``by``."""
    g = frame.groupby(by)[col]
    return pd.DataFrame({"p5": g.quantile(0.05), "p50": g.median(), "p95": g.quantile(0.95)})


def median_and_band(
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


def label_bars(ax: Axes, xs: Any, tops: Any, texts: Sequence[str]) -> None:
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


def month_hours(ts: pd.DataFrame, horizon_hours: float | None) -> pd.Series:
    """Hours in each month of a timeseries frame (the last one cut at the horizon)."""
    months = ts["month"].drop_duplicates().sort_values()
    hours = pd.Series(HOURS_PER_MONTH, index=months.to_numpy())
    if horizon_hours is not None and len(months):
        last = int(months.iloc[-1])
        hours[last] = horizon_hours - last * HOURS_PER_MONTH
    return hours


def contract_year(month: pd.Series) -> pd.Series:
    """Contract year (from 1) of each contract month (from 0)."""
    return (month // 12).astype(int) + 1


def key_label(key: str) -> str:
    """A swept key for an axis, with what its values count."""
    if key.endswith("reserved_scale"):
        return f"{key} (× the contract's reserved schedule)"
    if key.endswith(".reserved"):
        return f"{key} (units reserved)"
    return key
