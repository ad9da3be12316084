"""``capsim optimize``: the reserved level of every contract year of the named pools (and
any ``--vary`` numbers), by a pattern search on common random numbers.

Modules: ``search`` (the :class:`Optimizer`), ``summary`` (what it reports).
"""

from __future__ import annotations

from sim.optimize.search import (
    SHAPES,
    UNIFORM_SCALES,
    Evaluation,
    Optimizer,
    OptimizeResult,
    Ramp,
)
from sim.optimize.summary import compared_ramps, summarize

__all__ = [
    "SHAPES",
    "UNIFORM_SCALES",
    "Evaluation",
    "OptimizeResult",
    "Optimizer",
    "Ramp",
    "compared_ramps",
    "summarize",
]
