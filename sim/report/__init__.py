"""``capsim report DIR``: figures (PNG and SVG) and one self-contained HTML page.

Reads a run, sweep, stress or optimize directory (never the simulation), draws with
:mod:`sim.plots` and writes ``DIR/figures/*.png|svg`` and ``DIR/report.html`` with every
figure embedded, the key tables and the scenario as run.

Modules: ``figures``, ``tables``, ``page`` (HTML and PDF) and ``fitreport``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: never a window (before any submodule imports pyplot)


from sim.report.figures import (
    Figure,
    optimize_figures,
    render,
    run_figures,
    scenario_colors,
    stress_figures,
    sweep_figures,
    wait_limits,
)
from sim.report.fitreport import write_fit_report
from sim.report.page import CSS, executive_of, write_pdf, write_report
from sim.report.tables import optimize_tables, run_tables, stress_tables, sweep_tables

__all__ = [
    "CSS",
    "Figure",
    "executive_of",
    "optimize_figures",
    "optimize_tables",
    "render",
    "run_figures",
    "run_tables",
    "scenario_colors",
    "stress_figures",
    "stress_tables",
    "sweep_figures",
    "sweep_tables",
    "wait_limits",
    "write_fit_report",
    "write_pdf",
    "write_report",
]
