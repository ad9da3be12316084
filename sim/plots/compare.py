"""Figures of a comparison of alternatives (``capsim compare``): the regret matrix, the
spend distribution of each alternative, and the lock-in each leaves past the horizon."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sim import fmt
from sim.plots.look import PALETTE, usd_axis


def regret_matrix(summary: dict[str, Any], ax: Axes) -> Axes:
    """Alternatives × cases, coloured by regret against each case's best (white: the best;
    darker: further from it), the regret written in each cell."""
    alts, cases = summary["alternatives"], summary["cases"]
    metric = summary["objective_metric"]
    r = np.array([[summary["regret"][a][k]["mean"] for k in cases] for a in alts])
    top = float(np.nanmax(r)) if r.size and np.nanmax(r) > 0 else 1.0
    ax.imshow(r / top, cmap="Oranges", vmin=0, vmax=1, aspect="auto")
    for i, a in enumerate(alts):
        for j, k in enumerate(cases):
            text = "best" if summary["best"][k] == a else fmt.metric_change(r[i, j], metric)
            if not summary["cells"][a][k]["feasible"]:
                text += " ✗"
            ax.text(j, i, text, ha="center", va="center", fontsize=10,
                    color="white" if r[i, j] > 0.6 * top else "black")  # fmt: skip
    ax.set_xticks(range(len(cases)), cases, rotation=20, ha="right")
    ax.set_yticks(range(len(alts)), alts)
    ax.set_title(
        f"regret: {summary['objective']} of {fmt.metric_label(metric)} above the case's best"
    )
    ax.grid(False)
    return ax


def spend_by_alternative(cells: pd.DataFrame, summary: dict[str, Any], case: str, ax: Axes) -> Axes:
    """The objective metric's distribution across replications for each alternative in one
    case (box: quartiles; whiskers: P5–P95; dot: the mean)."""
    metric = summary["objective_metric"]
    alts = summary["alternatives"]
    data = [
        cells[(cells["alternative"] == a) & (cells["case"] == case)][metric].dropna().to_numpy()
        for a in alts
    ]
    ax.boxplot(data, whis=(5, 95), showfliers=False, tick_labels=alts)
    ax.scatter(range(1, len(alts) + 1), [d.mean() if len(d) else np.nan for d in data],
               color=PALETTE[3], zorder=3, label="mean")  # fmt: skip
    usd_axis(ax)
    ax.set_ylabel(fmt.metric_label(metric))
    ax.set_title(f"{fmt.metric_label(metric, with_unit=False)} per alternative, case {case}")
    ax.tick_params(axis="x", rotation=15)
    ax.legend(loc="best")
    return ax


def lock_in(summary: dict[str, Any], ax: Axes) -> Axes:
    """Lock-in exposure: the committed dollars still to pay at the start of each contract
    year (base case, mean), per alternative; the last point is what is still committed past
    the horizon."""
    alts = summary["alternatives"]
    first = summary["cases"][0]
    ticks: list[int] = []
    for i, a in enumerate(alts):
        ms = summary["cells"][a][first]["metrics"]
        years = sorted(
            (int(m.rsplit("year", 1)[1]), v["mean"])
            for m, v in ms.items()
            if m.startswith("locked_in_usd.year")
        )
        after = ms.get("commitment_beyond_horizon_usd", {}).get("mean", 0.0)
        xs = [y - 1 for y, _ in years] + [len(years)]
        ys = [v for _, v in years] + [after]
        ax.plot(xs, ys, marker="o", color=PALETTE[i % len(PALETTE)], label=a)
        ticks = xs
    if alts:
        ax.set_xticks(ticks, [f"year {x + 1}" for x in ticks[:-1]] + ["horizon"])
    usd_axis(ax)
    ax.set_xlabel("at the start of each contract year, and at the horizon")
    ax.set_ylabel("committed dollars still to pay (USD)")
    ax.set_title("lock-in exposure: what each alternative has committed to, year by year")
    ax.legend(loc="best")
    return ax


def purchases_over_time(summary: dict[str, Any], ax: Axes) -> Axes:
    """Units the alternatives' strategies bought in each contract year (base case, mean;
    summed over an alternative's strategies)."""
    first = summary["cases"][0]
    bought: dict[str, dict[int, float]] = {}
    for a in summary["alternatives"]:
        per_year: dict[int, float] = {}
        for m, v in summary["cells"][a][first]["metrics"].items():
            if m.startswith("purchased_units."):
                y = int(m.rsplit("year", 1)[1])
                per_year[y] = per_year.get(y, 0.0) + v["mean"]
        if per_year:
            bought[a] = per_year
    width = 0.8 / max(1, len(bought))
    years: set[int] = set()
    for j, (a, per_year) in enumerate(bought.items()):
        ys = sorted(per_year)
        years |= set(ys)
        offset = (j - (len(bought) - 1) / 2) * width
        color = PALETTE[summary["alternatives"].index(a) % len(PALETTE)]
        ax.bar([y + offset for y in ys], [per_year[y] for y in ys], width=width, color=color,
               label=a)  # fmt: skip
    ax.set_xticks(sorted(years), [f"year {y}" for y in sorted(years)])
    ax.set_xlabel("contract year of the decision")
    ax.set_ylabel("units bought (delivered)")
    ax.set_title("what the strategies bought, year by year")
    if bought:
        ax.legend(loc="best")
    return ax
