"""Metrics: pure functions over an :class:`~sim.engine.EngineRecord`.

Levels are integrated over time (busy units × hours), never sampled. Work that runs
past the horizon counts only up to it; what was left is reported as unfinished.

Modules: ``terms`` (names, prices, output, integrals), ``books``, ``pools``, ``jobs`` and
``replication`` (``compute``: the sections in order).
"""

from __future__ import annotations

from sim.metrics.commitments import plan_usage_by_hour
from sim.metrics.jobs import job_waits, split_unserved
from sim.metrics.replication import compute
from sim.metrics.terms import (
    WAIT_BIN_EDGES,
    WAIT_STATS,
    CommitmentTerms,
    Names,
    PoolTerms,
    Prices,
    ReplicationOutput,
    TargetTerms,
    binned_integral,
    by_year,
)

__all__ = [
    "WAIT_BIN_EDGES",
    "WAIT_STATS",
    "CommitmentTerms",
    "Names",
    "PoolTerms",
    "Prices",
    "ReplicationOutput",
    "TargetTerms",
    "binned_integral",
    "by_year",
    "compute",
    "job_waits",
    "plan_usage_by_hour",
    "split_unserved",
]
