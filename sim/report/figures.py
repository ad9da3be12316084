"""The figures of each kind of output folder, as (file stem, caption, draw) triples, and
rendering them to PNG and SVG."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from sim import plots, store
from sim.calendar import HOURS_PER_YEAR
from sim.scenario import read_toml

Figure = tuple[str, str, Callable[[Axes], Axes]]  # (file stem, caption, draw)


def _pools(directory: Path) -> dict[str, str]:
    raw = read_toml(directory / "scenario.toml")
    return {name: str(p.get("unit", "unit")) for name, p in raw.get("pools", {}).items()}


def _horizon(directory: Path) -> float:
    raw = read_toml(directory / "scenario.toml")
    return float(raw.get("scenario", {}).get("years", 7)) * HOURS_PER_YEAR


def scenario_colors(raw: dict[str, Any]) -> dict[str, str]:
    """One colour per pool and overflow target, and one per workload, in the scenario's
    order (the two sets never share a figure)."""
    capacity = [*raw.get("pools", {}), *(str(t.get("name", "")) for t in raw.get("overflow", []))]
    return {**plots.color_map(capacity), **plots.color_map(list(raw.get("workloads", {})))}


def wait_limits(raw: dict[str, Any]) -> dict[str, float]:
    """Each jobs workload's ``max_wait_hours`` from the scenario as run (for wait figures)."""
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
    colors = scenario_colors(raw)
    n = len(reps)
    figs: list[Figure] = []
    job_pools = {
        str(w.get("pool"))
        for w in raw.get("workloads", {}).values()
        if isinstance(w, dict) and w.get("kind") in ("jobs", "trace")
    }
    for pool, unit in pools.items():
        queues = pool in job_pools
        wanted = "wanted (running and queued jobs)" if queues else "demand (it never queues)"
        figs.append(
            (
                f"utilization-{pool}",
                f"{pool}: reserved {unit}s (step) against {unit}s in use and {wanted}, by "
                "month (median and 5–95 % band across runs).",
                partial(plots.utilization_curves, ts, pool, unit, horizon, queues=queues),
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
                        limits=wait_limits(raw),
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
    """The figures of a sweep directory's report."""
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
    """The figures of an optimize directory's report."""
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


def stress_figures(directory: Path) -> list[Figure]:
    """The figures of a stress directory's report."""
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


def compare_figures(directory: Path) -> list[Figure]:
    """The figures of a compare directory's report."""
    summary = store.read_json(directory / "summary.json")
    cells = pd.read_parquet(directory / "cells.parquet")
    first = summary["cases"][0]
    return [
        (
            "compare-regret",
            "Each alternative's regret in each case: its objective minus the best "
            "alternative's in that case (paired replications); ✗: breaks a constraint.",
            partial(plots.regret_matrix, summary),
        ),
        (
            "compare-spend",
            f"The objective metric across replications for each alternative, case {first} "
            "(box: quartiles; whiskers: P5–P95; dot: mean).",
            partial(plots.spend_by_alternative, cells, summary, first),
        ),
        (
            "compare-lock-in",
            "Lock-in exposure: the committed dollars each alternative still has to pay at the "
            "start of each contract year (its reserved schedule, and the reserved tranches "
            "and savings plans bought by then), ending with what is committed past the "
            "horizon; base case, mean of the replications.",
            partial(plots.lock_in, summary),
        ),
        *(
            [
                (
                    "compare-purchases",
                    "What each alternative's strategies bought in each contract year (units "
                    "delivered; base case, mean of the replications).",
                    partial(plots.purchases_over_time, summary),
                )
            ]
            if any(
                m.startswith("purchased_units.")
                for a in summary["alternatives"]
                for m in summary["cells"][a][first]["metrics"]
            )
            else []
        ),
    ]


def render(figs: list[Figure], out: Path) -> list[tuple[str, str, str]]:
    """Draw every figure, write PNG and SVG; return (stem, caption, PNG as base64)."""
    store.refuse_foreign(out, "report", suffixes=(".png", ".svg"))  # never through a link
    if out.exists():
        for old in [*out.glob("*.png"), *out.glob("*.svg")]:
            old.unlink()  # figures of an earlier report of this folder
    out.mkdir(parents=True, exist_ok=True)
    (out / store.MARKER).touch()
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
