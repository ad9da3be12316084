"""Result types and tidy frames.

A :class:`RunResult` is what :func:`sim.montecarlo.run` returns: one row per
replication of every metric, one row per replication × pool × contract month, and
(when asked) one row per job. Statistics across replications come from
:func:`summarize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scenario import Scenario
from sim.variance import CONTROL_PREFIX, EXPECTED_PREFIX, adjusted, t975

if TYPE_CHECKING:  # pandas is imported where frames are made: start-up stays light
    import pandas as pd

STAT_NAMES = ("mean", "sd", "ci95_low", "ci95_high", "p5", "p10", "p50", "p90", "p95")


#: metrics given a control-variate estimate beside the plain one
ADJUSTED = (
    "spend_usd.",
    "idle_unit_hours.",
    "idle_spend_usd.",
    "overflow_unit_hours.",
    "utilization.",
    "esr",
)

#: metrics that are shares, whose confidence interval is clipped to [0, 1]
FRACTIONS = ("utilization.", "coverage.")


def describe(values: np.ndarray, upper: float = math.inf) -> dict[str, float]:
    """Mean, sd, 95% confidence interval of the mean (Student t) and percentiles.

    For a sample with no negative value the interval's lower end is clipped at 0; ``upper``
    clips its upper end (1 for shares).

    NaN values (a statistic that does not exist in a replication, e.g. the wait of a
    workload with no started job) are left out.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return dict.fromkeys(STAT_NAMES, math.nan)
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else 0.0
    half = t975(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    p5, p10, p50, p90, p95 = np.percentile(x, [5, 10, 50, 90, 95])
    low, high = mean - half, min(mean + half, upper)
    if x.min() >= 0:
        low = max(low, 0.0)  # a quantity that cannot be negative: say so, not "-5.6 h"
    return {
        "mean": mean,
        "sd": sd,
        "ci95_low": low,
        "ci95_high": high,
        "p5": float(p5),
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "p95": float(p95),
    }


def summarize(replications: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Statistics of every metric column of a replications frame."""
    return {
        col: describe(replications[col].to_numpy(), 1.0 if col.startswith(FRACTIONS) else math.inf)
        for col in replications.columns
        if col not in ("replication",)
    }


@dataclass(frozen=True, eq=False)
class RunResult:
    """The outcome of ``n`` replications of one scenario."""

    scenario: Scenario
    seed: int
    replications: pd.DataFrame
    """One row per replication: ``replication`` and every metric."""
    timeseries: pd.DataFrame
    """One row per replication × pool × contract month (730 h): unit-hours and USD."""
    spend: pd.DataFrame | None = None
    """One row per replication × contract month × spend component [USD]."""
    waits: pd.DataFrame | None = None
    """One row per replication × job workload × wait bin: how many started jobs waited so long."""
    jobs: pd.DataFrame | None = None
    """One row per job, when recorded."""
    purchases: pd.DataFrame | None = None
    """One row per strategy purchase (``purchases.parquet``); None without strategies."""
    contract: pd.DataFrame | None = None
    """One row per replication × contract month: eligible spend, commitment remaining (lock-in
    exposure), cash paid and its present value [USD]."""

    @property
    def n(self) -> int:
        """Number of replications."""
        return len(self.replications)

    def summary(self) -> dict[str, dict[str, float]]:
        """Statistics of every metric across replications."""
        return summarize(self.replications)

    def summary_frame(self) -> pd.DataFrame:
        """The summary as a frame: one row per metric, one column per statistic."""
        import pandas as pd

        return pd.DataFrame(self.summary()).T[list(STAT_NAMES)]

    def to_json_dict(self, version: str) -> dict[str, Any]:
        """The content of ``summary.json``."""
        return {
            "scenario": self.scenario.name,
            "replications": self.n,
            "seed": self.seed,
            "version": version,
            "metrics": self.summary(),
            "adjusted": self.adjusted(),
        }

    def adjusted(self) -> dict[str, dict[str, float]]:
        """Control-variate estimates (mean, 95 % CI, number of controls) of the spend, idle
        and overflow metrics, where the replications allow (see :mod:`sim.variance`)."""
        return self._adjusted

    @cached_property
    def _adjusted(self) -> dict[str, dict[str, float]]:  # computed once: its control means
        reps = self.replications
        controls = [c for c in reps.columns if c.startswith(CONTROL_PREFIX)]
        expected = [c for c in reps.columns if c.startswith(EXPECTED_PREFIX)]
        if not controls and not expected:
            return {}
        x = reps[controls].to_numpy(dtype=float)
        q0 = len(controls)
        mean_cov = np.zeros((q0, q0))
        if expected and reps[expected].to_numpy(dtype=float).std(axis=0).max() > 0:
            from sim.controls import expected_work_moments

            pools, mu, cov = expected_work_moments(self.scenario, self.seed)
            cols = [f"{EXPECTED_PREFIX}{p}" for p in pools if f"{EXPECTED_PREFIX}{p}" in reps]
            idx = [pools.index(c[len(EXPECTED_PREFIX) :]) for c in cols]
            centred = reps[cols].to_numpy(dtype=float) - mu[idx]
            x = np.column_stack([x, centred])
            q = q0 + len(cols)
            full = np.zeros((q, q))
            full[q0:, q0:] = cov[np.ix_(idx, idx)]
            mean_cov = full
        out = {}
        for col in reps.columns:
            if col.startswith(ADJUSTED) and not col.startswith(("control.",)):
                est = adjusted(reps[col].to_numpy(dtype=float), x, mean_cov)
                if est is not None:
                    out[col] = est
        return out
