"""Figures for runs, sweeps, stress tests and fits.

Every function takes result frames (and an optional ``ax``), draws on it and returns the
``Axes``; none shows or saves a figure. :func:`style` is the one look of every figure:
slide-sized type, one palette, units on every axis, money as people write it.

``look`` (the style and shared helpers), ``run`` (one run), ``sizing`` (sweeps, optimised
ramps, stress cases) and ``fitting`` (``capsim fit``).
"""

from __future__ import annotations

from sim.plots.compare import lock_in, purchases_over_time, regret_matrix, spend_by_alternative
from sim.plots.fitting import (
    fit_arrivals,
    fit_demand_ecdf,
    fit_demand_series,
    fit_profile,
    fit_qq,
    fit_sizes,
)
from sim.plots.look import (
    DEMAND,
    IDLE,
    PALETTE,
    RESERVED,
    SERIES,
    USED,
    color_map,
    contract_year_labels,
    qty_axis,
    style,
    usd_axis,
)
from sim.plots.run import (
    commitment_exposure,
    idle_by_year,
    spend_by_year,
    spend_distribution,
    utilization_curves,
    wait_cdf,
)
from sim.plots.sizing import (
    optimized_ramp,
    stress_comparison,
    stress_metrics,
    sweep_constraint,
    sweep_frontier,
)

__all__ = [
    "DEMAND",
    "IDLE",
    "PALETTE",
    "RESERVED",
    "SERIES",
    "USED",
    "color_map",
    "commitment_exposure",
    "contract_year_labels",
    "fit_arrivals",
    "fit_demand_ecdf",
    "fit_demand_series",
    "fit_profile",
    "fit_qq",
    "fit_sizes",
    "idle_by_year",
    "lock_in",
    "optimized_ramp",
    "purchases_over_time",
    "qty_axis",
    "regret_matrix",
    "spend_by_alternative",
    "spend_by_year",
    "spend_distribution",
    "stress_comparison",
    "stress_metrics",
    "style",
    "sweep_constraint",
    "sweep_frontier",
    "usd_axis",
    "utilization_curves",
    "wait_cdf",
]
