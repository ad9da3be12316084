"""Contract-size sweeps and risk-aware recommendations.

Every point of the grid runs the same replication indices from the same root seed, so
replication i of every point sees the same arrivals, sizes, durations and demand (common
random numbers): the differences between points are differences of contract, not of luck.

Modules: ``objectives`` (objectives and constraints), ``grid`` (running points) and
``summary`` (the recommendation).
"""

from __future__ import annotations

from sim.sweep.grid import (
    BLOCK,
    SweepResult,
    block_id,
    check_metrics,
    make_blocks,
    mean_value_scenario,
    run_sweep,
)
from sim.sweep.objectives import (
    CONSTRAINT_FORMS,
    OBJECTIVE_FORMS,
    OBJECTIVE_METRIC,
    OBJECTIVES,
    Constraint,
    objective_ci,
    objective_value,
    paired_difference_ci,
    parse_constraint,
    parse_objective,
    replications_for_certainty,
    wilson,
)
from sim.sweep.summary import newsvendor_levels, point_label, reserved_units, summarize_sweep

__all__ = [
    "BLOCK",
    "CONSTRAINT_FORMS",
    "OBJECTIVES",
    "OBJECTIVE_FORMS",
    "OBJECTIVE_METRIC",
    "Constraint",
    "SweepResult",
    "block_id",
    "check_metrics",
    "make_blocks",
    "mean_value_scenario",
    "newsvendor_levels",
    "objective_ci",
    "objective_value",
    "paired_difference_ci",
    "parse_constraint",
    "parse_objective",
    "point_label",
    "replications_for_certainty",
    "reserved_units",
    "run_sweep",
    "summarize_sweep",
    "wilson",
]
