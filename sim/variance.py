"""Control variates: the same replications, a tighter confidence interval.

A control is a per-replication quantity with a known expectation of zero that moves with
the metric: here, each pool's offered work minus its expectation *given that replication's
drawn parameters and shock episodes* (so no expectation has to be estimated). The adjusted
mean is the intercept of the least-squares fit ``y_i = μ + βᵀ x_i + e_i``; its standard error
comes from the fit, with ``n − q − 1`` degrees of freedom. Pure functions.
"""

from __future__ import annotations

import math

import numpy as np

from sim.distributions import (
    Choice,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Uniform,
)

CONTROL_PREFIX = "control.offered_work."
"""Replication metrics that are controls: ``control.offered_work.<pool>`` [unit-hours]."""


def t975(dof: int) -> float:
    """The 97.5 % quantile of Student's t with ``dof`` degrees of freedom (scipy is imported
    here, not at start-up: it is the slowest import of a run)."""
    from scipy import stats

    return float(stats.t.ppf(0.975, dof))


def exact_mean_units(d: Distribution) -> float | None:
    """E[units held] for sizes rounded up to whole units (at least 1), where it is exact."""
    if isinstance(d, Fixed):
        return float(max(1.0, math.ceil(d.value - 1e-9)))
    if isinstance(d, Choice | Empirical):
        values = np.maximum(1.0, np.ceil(np.asarray(d.values, dtype=float) - 1e-9))
        if isinstance(d, Empirical):
            return float(values.mean())
        w = np.asarray(d.weights, dtype=float)
        return float(np.sum(values * w) / w.sum())
    return None


def exact_mean_duration(d: Distribution) -> float | None:
    """E[duration] for the families whose draws are never negative (no clipping at 0)."""
    if isinstance(d, Fixed | Exponential | Lognormal | Gamma):
        return max(0.0, d.mean())
    if isinstance(d, Uniform) and d.low >= 0:
        return d.mean()
    if isinstance(d, Choice | Empirical) and min(np.asarray(d.values)) >= 0:
        return d.mean()
    return None


MIN_REPLICATIONS_PER_CONTROL = 10
"""Fewer replications than this per control: the fitted coefficients are too noisy to help."""


def adjusted(y: np.ndarray, controls: np.ndarray) -> dict[str, float] | None:
    """The control-variate estimate of E[y] with its 95 % interval, or None when there are
    too few replications for the controls (10 per control) or nothing to fit."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(controls, dtype=float).reshape(len(y), -1)
    keep = ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    y, x = y[keep], x[keep]
    x = x[:, x.std(axis=0) > 0] if len(x) else x
    n, q = x.shape
    if q == 0 or n < max(q + 3, MIN_REPLICATIONS_PER_CONTROL * q) or np.std(y) == 0:
        return None
    a = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    resid = y - a @ coef
    dof = n - q - 1
    s2 = float(resid @ resid) / dof
    cov = np.linalg.pinv(a.T @ a) * s2
    se = math.sqrt(max(float(cov[0, 0]), 0.0))
    half = t975(dof) * se
    mean = float(coef[0])
    return {"mean": mean, "ci95_low": mean - half, "ci95_high": mean + half, "controls": q}
